/**
 * Many instances act as one (docs/operations.md). Three compiled API processes and a worker, on one
 * fresh PostgreSQL database and one Redis (a redis-server this test starts on its own port), are driven
 * round-robin as a load balancer would. Never, across instances:
 * - a limit multiplied by the number of instances (a credential's budget, an address's failed auths);
 * - a credential that works on one instance only (JWT, PAT), or a revoked one that still works anywhere;
 * - a TOTP code accepted twice, or one Idempotency-Key running its request twice;
 * - a webhook event lost, or delivered by two instances at once; after a kill -9 mid-delivery, anything
 *   but one redelivery of that event (same webhook-id) by another instance;
 * - a 5xx from the survivors while one instance is killed with SIGKILL under load.
 * Needs PostgreSQL (TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres) and
 * redis-server; skipped with the reason on a developer machine without them, never in CI.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import knexFactory from 'knex';
import { generatePat } from '../../src/auth/token-format';
import { httpClient } from '../helpers/api-client';
import { startReceiver } from '../helpers/receiver';
import { freePort, killStartedProcesses, RunningProcess, startCompiledServer, startProcess } from '../helpers/server';
import { TEST_SECRETS } from '../helpers/secrets';
import { createPostgresDatabase, postgresTestUrl, type TestDatabase } from '../helpers/database';
import { toolFor } from '../helpers/tools';
import { until } from '../helpers/wait';
import { totpCode } from '../helpers/users';

const execFileAsync = promisify(execFile);
const redisBinary = toolFor('the cluster tests', 'redis-server');
const baseUrl = postgresTestUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A new database on the PostgreSQL server, or undefined (with the reason printed) when there is none. */
async function freshPostgres(): Promise<TestDatabase | undefined> {
  try {
    return await createPostgresDatabase(baseUrl, 'gpx_cluster_');
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`the cluster tests need PostgreSQL at ${baseUrl}: ${(err as Error).message}`);
    console.log(`skipped: the cluster tests need PostgreSQL at ${baseUrl} (${(err as Error).message}); CI runs them`);
    return undefined;
  }
}

/** The pid among `pids` that owns the local TCP socket on `port` (found through /proc, Linux only). */
function ownerOfPort(port: number, pids: number[]): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${hexPort}`)) inodes.add(fields[9]!);
    }
  }
  return pids.find((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
          return inodes.has(target.slice('socket:['.length, -1));
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

type Instance = Awaited<ReturnType<typeof startCompiledServer>>;
type Client = ReturnType<typeof httpClient>;

const LIMIT = 30;
const FAILURES = 12;
const dir = mkdtempSync(join(tmpdir(), 'gpx-cluster-'));
let database: Awaited<ReturnType<typeof freshPostgres>>;
let redis: RunningProcess | undefined;
let instances: Instance[] = [];
let clients: Client[] = [];
let worker: RunningProcess | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  if (!redisBinary) return;
  database = await freshPostgres();
  if (!database) return;
  const redisPort = await freePort();
  redis = await startProcess(redisBinary, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { PATH: process.env.PATH }, 'Ready to accept connections');
  receiver = await startReceiver();
  const env = {
    DATABASE_URL: database.url, REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    // Each scenario speaks from its own address (X-Forwarded-For), as clients behind a balancer do.
    TRUST_PROXY: 'true',
    RATE_LIMIT_REQUESTS: String(LIMIT), RATE_LIMIT_USER_REQUESTS: '100000', ADDRESS_AUTH_FAILURES: String(FAILURES), SIGNUP_MAX_PER_ADDRESS: '100000',
    PAT_CACHE_MS: '4000', WORKER_IN_PROCESS: 'false', WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOK_LEASE_SECONDS: '2', WEBHOOK_POLL_MS: '100', WEBHOOK_TIMEOUT_MS: '30000',
  };
  // The first instance migrates the new database; the others start together on it.
  instances = [await startCompiledServer(dir, { ...env, SECRETS_FILE: join(dir, 'none-a.json') })];
  instances.push(...await Promise.all(['b', 'c'].map((n) => startCompiledServer(dir, { ...env, SECRETS_FILE: join(dir, `none-${n}.json`) }))));
  worker = await startProcess(process.execPath, ['dist/src/cli/worker.js'], { ...instances[0]!.env, ...env }, 'polling every');
  clients = instances.map((i) => httpClient(i.url));
}, 90_000);

afterAll(async () => {
  killStartedProcesses();
  await receiver?.close();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const live = () => Boolean(redisBinary && database);
const clusterIt = (name: string, fn: () => Promise<void>, timeout?: number) => it(name, async () => {
  if (!live()) return;
  await fn();
}, timeout);

let address = 0;
/** A fresh client address (X-Forwarded-For), so each scenario's per-address limits start at zero. */
const newAddress = () => ({ 'x-forwarded-for': `203.0.113.${++address}` });

/** The instances' clients, all speaking from one new address. */
const fromNewAddress = () => {
  const from = newAddress();
  return instances.map((i) => httpClient(i.url, undefined, from));
};

/** A user signed up on instance `on` (from an address of its own), with a 2FA JWT and a PAT. */
async function userOn(on: number, scopes: string[]) {
  const email = `cluster${++address}.${Date.now()}@example.com`;
  const { jwt, pat, patId } = await fromNewAddress()[on]!.userWithPat(email, scopes);
  return { email, jwt, pat, patId };
}

describe('three API instances, one worker, one PostgreSQL and one Redis', () => {
  clusterIt('a JWT and a PAT made on one instance work on every other', async () => {
    const { jwt, pat } = await userOn(0, ['posts:read']);
    for (const client of clients) {
      expect((await client.call('GET', '/api/tokens', { token: jwt })).status).toBe(200);
      expect((await client.call('GET', '/api/posts', { token: pat })).status).toBe(200);
    }
  });

  clusterIt('a credential gets its limit once, not once per instance', async () => {
    const { pat } = await userOn(1, ['posts:read']);
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 15; i++) statuses.push((await clients[i % 3]!.call('GET', '/api/posts', { token: pat })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
    expect(statuses.slice(LIMIT).every((s) => s === 429)).toBe(true);
  });

  clusterIt('failed authentications from one address are counted once across instances, before any lookup', async () => {
    const from = newAddress();
    const statuses: number[] = [];
    for (let i = 0; i < FAILURES * 3; i++) statuses.push((await clients[i % 3]!.call('GET', '/api/posts', { token: generatePat(), headers: from })).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(FAILURES);
    expect(statuses.slice(FAILURES).every((s) => s === 429)).toBe(true);
    // Another address is not affected.
    expect((await clients[0]!.call('GET', '/api/posts', { token: generatePat(), headers: newAddress() })).status).toBe(401);
  });

  clusterIt('a PAT revoked on one instance is refused by every instance on the very next request', async () => {
    const { jwt, pat, patId } = await userOn(2, ['posts:read']);
    for (const client of clients) expect((await client.call('GET', '/api/posts', { token: pat })).status).toBe(200);
    expect((await clients[1]!.call('DELETE', `/api/tokens/${patId}`, { token: jwt })).status).toBe(204);
    for (const client of clients) expect((await client.call('GET', '/api/posts', { token: pat })).status).toBe(401);
  });

  // The instances keep PAT lookups in memory (src/auth/token-cache.ts, PAT_CACHE_MS=4000 here): each test
  // below reads through every instance first, so each holds the token, then changes it on one instance.
  // A change that waited out the 4 s bound instead of the instances' acknowledgements would overrun
  // jest's 5 s, so these also show that the acknowledgements arrive.
  clusterIt('a rotated value, then a revoke-all, is refused by every instance on the very next request', async () => {
    // An address of its own: the refusals below count against the address's failed authentications.
    const c = fromNewAddress();
    const { jwt, pat, patId } = await userOn(0, ['posts:read']);
    for (const client of c) expect((await client.call('GET', '/api/posts', { token: pat })).status).toBe(200);
    const rotated = await c[1]!.call('POST', `/api/tokens/${patId}/rotate`, { token: jwt });
    expect(rotated.status).toBe(200);
    for (const client of c) {
      expect((await client.call('GET', '/api/posts', { token: pat })).status).toBe(401);
      expect((await client.call('GET', '/api/posts', { token: rotated.body.token })).status).toBe(200);
    }
    expect((await c[2]!.call('POST', '/api/tokens/revoke-all', { token: jwt })).status).toBe(200);
    for (const client of c) expect((await client.call('GET', '/api/posts', { token: rotated.body.token })).status).toBe(401);
  });

  clusterIt('a demotion or a disabled account, made on one instance, binds the PAT on every instance on the very next request', async () => {
    // An address of its own: the refusals below count against the address's failed authentications.
    const c = fromNewAddress();
    const staff = await userOn(0, ['posts:read']);
    // Made staff by the admin CLI, a process that changes users but serves no request.
    await execFileAsync(process.execPath, ['dist/src/cli/admin.js', 'grant', staff.email], { env: { ...instances[0]!.env } });
    const holder = await userOn(1, ['posts:read', 'posts:write']);
    const holderId = (await c[0]!.call('GET', '/api/me', { token: holder.pat })).body.user.id;
    const write = (i: number) => c[i]!.call('POST', '/api/posts', { token: holder.pat, body: { title: 'cached?' } });
    const read = (i: number) => c[i]!.call('GET', '/api/posts', { token: holder.pat });
    for (const i of [0, 1, 2]) expect((await write(i)).status).toBe(201);
    const demoted = await c[2]!.call('PATCH', `/api/admin/users/${holderId}`, { token: staff.jwt, body: { role: 'viewer' } });
    expect([demoted.status, demoted.body]).toEqual([200, expect.objectContaining({ role: 'viewer' })]);
    for (const i of [0, 1, 2]) {
      expect((await write(i)).status).toBe(403);
      expect((await read(i)).status).toBe(200);
    }
    expect((await c[1]!.call('PATCH', `/api/admin/users/${holderId}`, { token: staff.jwt, body: { disabled: true } })).status).toBe(200);
    for (const i of [0, 1, 2]) expect((await read(i)).status).toBe(401);
  });

  clusterIt('an instance frozen (SIGSTOP) while a PAT is revoked refuses it when it wakes; the revoke waits out PAT_CACHE_MS for it', async () => {
    // An address of its own: the refusals below count against the address's failed authentications.
    const c = fromNewAddress();
    const { jwt, pat, patId } = await userOn(0, ['posts:read']);
    for (const client of c) expect((await client.call('GET', '/api/posts', { token: pat })).status).toBe(200);
    const frozen = instances[2]!.child.pid!;
    process.kill(frozen, 'SIGSTOP');
    try {
      const began = performance.now();
      expect((await c[0]!.call('DELETE', `/api/tokens/${patId}`, { token: jwt })).status).toBe(204);
      // A lower bound, not a speed: the frozen instance could not say it forgot, so the revoke may be
      // answered only once anything it kept has expired (4 s).
      expect(performance.now() - began).toBeGreaterThanOrEqual(3950);
      // And the writer says so in its log (written a moment after the answer).
      await until('the warning', () => instances[0]!.output().includes('instances did not acknowledge a change to a token or user'), 5_000);
    } finally {
      process.kill(frozen, 'SIGCONT');
    }
    for (const client of c) expect((await client.call('GET', '/api/posts', { token: pat })).status).toBe(401);
  }, 20_000);

  clusterIt('while a PAT is read through every instance, no request sent after its revoke was answered is served', async () => {
    // An address of its own: the refusals below count against the address's failed authentications.
    const c = fromNewAddress();
    const { jwt, pat, patId } = await userOn(1, ['posts:read']);
    const sent: Array<{ at: number; status: number }> = [];
    let revokedAt = Infinity;
    // Three readers, one an instance, each three reads before the revoke and three after (the
    // credential's limit is 30 a minute).
    const reader = async (i: number) => {
      for (let n = 0; n < 6; n++) {
        if (n === 3) await until('the revoke', () => revokedAt < Infinity);
        const at = performance.now();
        sent.push({ at, status: (await c[i]!.call('GET', '/api/posts', { token: pat })).status });
      }
    };
    const readers = [0, 1, 2].map(reader);
    await until('three reads on each instance', () => sent.length >= 6);
    expect((await c[2]!.call('DELETE', `/api/tokens/${patId}`, { token: jwt })).status).toBe(204);
    revokedAt = performance.now();
    await Promise.all(readers);
    expect(sent.filter((r) => r.at < revokedAt && r.status === 200).length).toBeGreaterThanOrEqual(6);
    const after = sent.filter((r) => r.at > revokedAt);
    expect(after).toHaveLength(9);
    expect(after.map((r) => r.status)).toEqual(Array(9).fill(401));
  });

  clusterIt('a TOTP code is accepted once, even when sent to two instances at the same moment', async () => {
    const email = `totp${++address}@example.com`;
    const password = 'a-long-cluster-passphrase';
    const clients = fromNewAddress();
    await clients[0]!.call('POST', '/api/auth/signup', { body: { email, password } });
    const jwt = (await clients[0]!.call('POST', '/api/auth/login', { body: { email, password } })).body.token;
    const { secret } = (await clients[1]!.call('POST', '/api/auth/2fa/setup', { token: jwt })).body;
    expect((await clients[2]!.call('POST', '/api/auth/2fa/enable', { token: jwt, body: { code: totpCode(secret, new Date()) } })).status).toBe(200);
    const pending = await Promise.all([0, 1, 2].map((i) => clients[i]!.call('POST', '/api/auth/login', { body: { email, password } })));
    // The next step's code (one step of drift is allowed), sent to all three at once.
    const code = totpCode(secret, new Date(Date.now() + 30_000));
    const results = await Promise.all(pending.map((p, i) => clients[i]!.call('POST', '/api/auth/login/verify', { token: p.body.pending_token, body: { code } })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401]);
  });

  clusterIt('one Idempotency-Key runs its request once, whichever instances the retries reach', async () => {
    const { pat } = await userOn(0, ['posts:read', 'posts:write']);
    const key = `cluster-${randomBytes(6).toString('hex')}`;
    const send = (i: number) => clients[i % 3]!.call('POST', '/api/posts', { token: pat, body: { title: key }, headers: { 'idempotency-key': key } });
    const burst = await Promise.all([0, 1, 2, 3, 4, 5].map(send));
    const created = burst.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    // The rest were told to retry (still in progress) or replayed the same answer; nothing else.
    for (const r of burst) expect([201, 409]).toContain(r.status);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    const replays = await Promise.all([0, 1, 2].map(send));
    for (const r of replays) expect(r).toMatchObject({ status: 201, body: { id: created[0]!.body.id } });
    const list = await clients[2]!.call('GET', '/api/posts?limit=100', { token: pat });
    expect(list.body.data.filter((p: { title: string }) => p.title === key)).toHaveLength(1);
  });

  clusterIt('webhook events are delivered once by the three dispatchers; after a kill -9 mid-delivery, once more by another', async () => {
    const { pat } = await userOn(1, ['posts:write', 'webhooks:manage']);
    let hang = false;
    // Which process sent each delivery, read while its connection is still open.
    const senders: Array<number | undefined> = [];
    receiver.answer((req, res) => {
      senders.push(ownerOfPort(req.socket.remotePort!, instances.map((i) => i.child.pid!)));
      if (!hang) res.writeHead(200).end('ok');
    });
    const endpoint = await clients[0]!.call('POST', '/api/webhooks/endpoints', { token: pat, body: { url: `${receiver.url}/cluster`, events: ['post.created'] } });
    expect(endpoint.status).toBe(201);
    const seen = () => receiver.received.filter((r) => r.path === '/cluster');
    for (let i = 0; i < 12; i++) expect((await clients[i % 3]!.call('POST', '/api/posts', { token: pat, body: { title: `event ${i}` } })).status).toBe(201);
    await until('12 deliveries', () => seen().length >= 12);
    await new Promise((r) => setTimeout(r, 500)); // time for any duplicate to show
    const ids = seen().map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);

    // The next delivery hangs; the instance sending it is killed with SIGKILL.
    hang = true;
    expect((await clients[0]!.call('POST', '/api/posts', { token: pat, body: { title: 'in flight at the crash' } })).status).toBe(201);
    const inFlight = await until('the hanging delivery', () => seen()[12]);
    const owner = await until('the sender of the hanging delivery', () => senders[12]);
    const victim = instances.find((i) => i.child.pid === owner)!;
    hang = false;
    victim.child.kill('SIGKILL');
    await new Promise((r) => victim.child.once('exit', r));
    instances = instances.filter((i) => i !== victim);
    clients = instances.map((i) => httpClient(i.url));

    // The lease lapses (2 s) and a surviving instance sends the same event again, once.
    const again = await until('the redelivery', () => seen()[13], 20_000);
    expect(again.headers['webhook-id']).toBe(inFlight.headers['webhook-id']);
    expect(instances.map((i) => i.child.pid)).toContain(senders[13]);
    await new Promise((r) => setTimeout(r, 1000));
    expect(seen()).toHaveLength(14);
  }, 60_000);

  clusterIt('runs queued through every instance are each run once, by the worker process', async () => {
    const { pat, patId } = await userOn(1, ['workspaces:manage', 'workspaces:run', 'posts:read']);
    const workspace = await clients[0]!.call('POST', '/api/workspaces', { token: pat, body: { name: 'cluster', default_prompt: 'Summarise.' } });
    expect(workspace.status).toBe(201);
    expect((await clients[1]!.call('PUT', `/api/workspaces/${workspace.body.id}/binding`, { token: pat, body: { token_id: patId } })).status).toBe(200);
    const queued = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => clients[i % clients.length]!.call('POST', `/api/workspaces/${workspace.body.id}/runs`, { token: pat, body: {} })));
    for (const run of queued) expect(run.status).toBe(201);
    const finished = await until('every run to finish', async () => {
      const list = await clients[0]!.call('GET', `/api/workspaces/${workspace.body.id}/runs?limit=100`, { token: pat });
      const runs = list.body.data as Array<{ status: string; attempts: number }>;
      return runs.length === 6 && runs.every((r) => r.status === 'SUCCEEDED' || r.status === 'FAILED') && runs;
    }, 30_000);
    for (const run of finished) expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
  }, 60_000);

  clusterIt('under load, an instance killed with kill -9 and restarted loses no write that got a 2xx, and nothing answers 5xx', async () => {
    // Eight writers, each a PAT with a budget of LIMIT per window: 240 writes in all, within every budget.
    const writers: Array<Awaited<ReturnType<typeof userOn>>> = [];
    for (let i = 0; i < 8; i++) writers.push(await userOn(i % instances.length, ['posts:read', 'posts:write']));
    // A third instance again, to kill under load and start again on the same port.
    const port = await freePort();
    const extraEnv = { ...instances[0]!.env as Record<string, string>, PORT: String(port), SECRETS_FILE: join(dir, 'none-d.json') };
    let extra = await startCompiledServer(dir, extraEnv);
    const urls = [...instances.map((i) => i.url), extra.url];
    const written: Array<{ id: string; writer: number }> = [];
    const outcomes: Array<{ target: number; status: number | 'cut off' }> = [];
    let sent = 0;
    let restarted: Promise<unknown> | undefined;
    const writer = async (w: number) => {
      for (let n = 0; n < 30; n++) {
        const target = sent % urls.length;
        sent += 1;
        if (sent === 80) extra.child.kill('SIGKILL');
        if (sent === 160) restarted = startCompiledServer(dir, extraEnv).then((again) => (extra = again));
        try {
          const res = await httpClient(urls[target]!).call('POST', '/api/posts', { token: writers[w]!.pat, body: { title: `load ${w}.${n}` } });
          outcomes.push({ target, status: res.status });
          if (res.status === 201) written.push({ id: res.body.id, writer: w });
        } catch {
          outcomes.push({ target, status: 'cut off' });
        }
      }
    };
    await Promise.all(writers.map((_, w) => writer(w)));
    await restarted;
    expect(outcomes).toHaveLength(240);
    expect(outcomes.filter((o) => typeof o.status === 'number' && o.status >= 500)).toEqual([]);
    // The kill cut requests off (in flight, or refused while it was down), and only the killed instance
    // did; everything else was written.
    const cutOff = outcomes.filter((o) => o.status === 'cut off');
    expect(cutOff.length).toBeGreaterThan(0);
    expect(cutOff.every((o) => o.target === urls.length - 1)).toBe(true);
    expect(outcomes.filter((o) => o.status !== 201 && o.status !== 'cut off')).toEqual([]);
    expect(written.length).toBe(outcomes.filter((o) => o.status === 201).length);
    // Every write that got a 201 is in the database…
    const db = knexFactory({ client: 'pg', connection: database!.url, pool: { min: 0, max: 1 } });
    try {
      const stored = await db('posts').whereIn('id', written.map((w) => w.id)).count<{ count: string }[]>({ count: '*' });
      expect(Number(stored[0]!.count)).toBe(written.length);
    } finally {
      await db.destroy();
    }
    // …and reads back through every instance, the restarted one too (with the writers' JWTs: each PAT
    // spent its budget on the writes).
    const readers = [...instances.map((i) => httpClient(i.url)), httpClient(extra.url)];
    for (const [k, { id, writer: w }] of written.slice(0, 24).entries()) {
      expect((await readers[k % readers.length]!.call('GET', `/api/posts/${id}`, { token: writers[w]!.jwt })).status).toBe(200);
    }
  }, 90_000);
});
