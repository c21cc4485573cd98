/**
 * The rules of src/auth/token-cache.ts, one by one, on a redis-server of this test's own (never the
 * machine's): two caches stand for two instances, with a clock the test moves. The cluster test
 * (test/cluster/cluster.test.ts) shows the same through compiled servers. Skipped, with a message, only
 * when redis-server is missing (never in CI). Then the app on the test database without Redis: on
 * SQLite it keeps lookups and must see another process's writes at once; on PostgreSQL it keeps none.
 */
import { execFileSync } from 'node:child_process';
import { createTokenCache, TokenCache } from '../../src/auth/token-cache';
import { startTestApp, TestApp, testConfig } from '../helpers/app';
import { http } from '../helpers/typed-http';
import { createPat, createUser } from '../helpers/users';
import { freePort, RunningProcess, startProcess } from '../helpers/server';
import { toolFor } from '../helpers/tools';
import { until } from '../helpers/wait';

const binary = toolFor('the token cache tests', 'redis-server');
const describeRedis = binary ? describe : describe.skip;
const quiet = { warn: () => undefined, info: () => undefined };

describeRedis('PAT lookups kept in memory', () => {
  let redis: RunningProcess;
  let redisUrl: string;
  let clock = 0;
  const open: TokenCache[] = [];
  let prefix = 0;

  beforeAll(async () => {
    const port = await freePort();
    redis = await startProcess(binary!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { PATH: process.env.PATH }, 'Ready to accept connections');
    redisUrl = `redis://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await Promise.all(open.map((cache) => cache.close()));
    await redis?.stop();
  });

  /** `n` caches sharing one registry (one deployment), on the test's clock. */
  async function instances(n: number, ttlMs = 60_000) {
    const redisPrefix = `t${++prefix}:`;
    const caches = Array.from({ length: n }, () => createTokenCache({ redisUrl, redisPrefix, ttlMs, caches: true, log: quiet, now: () => clock }));
    open.push(...caches);
    // Each keeps only once it holds its lease: wait until a lookup is kept by every one.
    for (const cache of caches) {
      await until('the lease', async () => {
        await cache.lookup('probe', async () => ({ probe: true }));
        let loaded = false;
        await cache.lookup('probe', async () => { loaded = true; return { probe: true }; });
        return !loaded;
      });
    }
    return caches;
  }

  /** A loader that counts its reads and answers what `row` holds now. */
  function database(row: { role: string } | undefined) {
    const state = { row, reads: 0 };
    return { state, load: async () => { state.reads += 1; return state.row ? { ...state.row } : undefined; } };
  }

  it('keeps a lookup for its TTL, and never an unknown token', async () => {
    const [a] = await instances(1, 1000);
    const db = database({ role: 'owner' });
    await a!.lookup('h1', db.load);
    await a!.lookup('h1', db.load);
    expect(db.state.reads).toBe(1);
    clock += 1000;
    await a!.lookup('h1', db.load);
    expect(db.state.reads).toBe(2);
    const unknown = database(undefined);
    await a!.lookup('h2', unknown.load);
    await a!.lookup('h2', unknown.load);
    expect(unknown.state.reads).toBe(2);
  });

  it('a change on one instance is forgotten by every other before changed() returns', async () => {
    const [a, b, c] = await instances(3);
    const db = database({ role: 'owner' });
    for (const cache of [a, b, c]) expect(await cache!.lookup('h', db.load)).toEqual({ role: 'owner' });
    expect(db.state.reads).toBe(3);
    db.state.row = { role: 'viewer' };
    // The clock stands still: only the acknowledgements can end this wait (the bound is a minute away).
    await a!.changed();
    for (const cache of [a, b, c]) expect(await cache!.lookup('h', db.load)).toEqual({ role: 'viewer' });
  });

  it('a read that began before a change is answered but not kept', async () => {
    const [a, b] = await instances(2);
    let release!: () => void;
    const slow = async () => {
      await new Promise<void>((resolve) => { release = resolve; });
      return { role: 'owner' };
    };
    const racing = b!.lookup('race', slow);
    await a!.changed();
    release();
    expect(await racing).toEqual({ role: 'owner' });
    const db = database({ role: 'viewer' });
    expect(await b!.lookup('race', db.load)).toEqual({ role: 'viewer' });
  });

  it('an instance whose lease lapsed keeps nothing it knew', async () => {
    const [a] = await instances(1);
    const db = database({ role: 'owner' });
    await a!.lookup('lapse', db.load);
    // Three seconds without a renewal, by its own clock (as after a long pause): the registry may have
    // dropped it, and a writer that did not see it would not have waited for it.
    clock += 3000;
    await a!.lookup('lapse', db.load);
    expect(db.state.reads).toBe(2);
  });

  it('shares a kept lookup with no one who could change it', async () => {
    const [a] = await instances(1);
    const kept = await a!.lookup('frozen', async () => ({ token: { scopes: ['posts:read'] } }));
    expect(() => kept!.token.scopes.push('admin')).toThrow(TypeError);
  });

  it('keeps nothing without Redis', async () => {
    const alone = createTokenCache({ redisPrefix: 'x:', ttlMs: 60_000, caches: true, log: quiet, now: () => clock });
    const db = database({ role: 'owner' });
    await alone.lookup('h', db.load);
    await alone.lookup('h', db.load);
    expect(db.state.reads).toBe(2);
    await alone.changed();
    await alone.close();
  });
});

describe('PAT lookups and another process writing to the same database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  /** A statement run by a process of its own on the test database (as the worker or the admin CLI would). */
  function fromAnotherProcess(sql: string, bindings: unknown[]) {
    const script = `const { openDatabase } = require('./dist/src/db/knex');
      const db = openDatabase(process.argv[1]);
      db.knex.raw(process.argv[2], JSON.parse(process.argv[3])).then(() => db.destroy(), (err) => { console.error(err); process.exit(1); });`;
    execFileSync(process.execPath, ['-e', script, t.testDb.url, sql, JSON.stringify(bindings)], { stdio: 'inherit' });
  }

  it('a demotion, then a revoke, written by another process counts on the very next request', async () => {
    const owner = await createUser(t, { twoFactor: true });
    const pat = await createPat(t, owner, { scopes: ['posts:read', 'posts:write'] });
    // Read twice, so a store that keeps lookups (SQLite) holds this one.
    for (let i = 0; i < 2; i++) expect((await http(t, pat.token).post('/api/posts', { title: 'kept?' })).status).toBe(201);
    fromAnotherProcess('UPDATE users SET role = ? WHERE id = ?', ['viewer', owner.id]);
    expect((await http(t, pat.token).post('/api/posts', { title: 'kept?' })).status).toBe(403);
    expect((await http(t, pat.token).get('/api/posts')).status).toBe(200);
    fromAnotherProcess('UPDATE personal_access_tokens SET revoked_at = ? WHERE id = ?', [new Date().toISOString(), pat.id]);
    expect((await http(t, pat.token).get('/api/posts')).status).toBe(401);
  });
});

describe('PAT_CACHE_MS', () => {
  it('is 1000 by default, may be 0 (keep nothing), and is refused above ten seconds, under last use\'s minute', () => {
    expect(testConfig('sqlite::memory:').patCacheMs).toBe(1000);
    expect(testConfig('sqlite::memory:', { PAT_CACHE_MS: '0' }).patCacheMs).toBe(0);
    expect(() => testConfig('sqlite::memory:', { PAT_CACHE_MS: '10001' })).toThrow('PAT_CACHE_MS must be at most 10000');
    expect(() => testConfig('sqlite::memory:', { PAT_CACHE_MS: '-1' })).toThrow('PAT_CACHE_MS must be a non-negative integer');
  });
});
