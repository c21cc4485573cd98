/**
 * npm run bench: req/s and p99 of the hot path (a PAT-authenticated GET /api/posts/{postId}) beside a
 * bare express route returning the same body, in the same run, and their ratio (DESIGN §7).
 * Servers run as child processes pinned to core 0 (when taskset exists); the load generator runs here,
 * pinned to core 1. Beside them, a floor route (scripts/bench-floor.mjs) that does only the work the hot
 * path cannot skip, so the cost of our pipeline's stages shows as a figure of its own. Figures, not
 * assertions: this is not a test.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
// The same new-user walk (sign-up, 2FA, sign-in with a code, a PAT) the e2e tests take.
import { httpClient } from '../test/helpers/api-client';
import { generateKeys } from '../src/core/config';
import { seedScale } from './seed-scale';
import Redis from 'ioredis';
import { canPin, cpuSeconds, median, pinSelf, start, waitFor } from './bench-kit';

const root = resolve(__dirname, '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
/** Each scenario runs this many times and the median run is reported: single runs vary by ±20% here. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/**
 * V8 keeps optimising a server for tens of seconds; measured here, a PAT request costs ~30% less CPU
 * after a minute of traffic than after two seconds. Every scenario is first driven for this long, so
 * the figures are steady-state ones.
 */
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;

interface Baseline { url: string; server: ChildProcess }

/**
 * Warm-up, then the measured runs; the median run by server CPU per request is reported. With a
 * baseline, each run is paired with a run of the baseline just before it and the ratios are the median
 * of the pairs' ratios: this machine's speed drifts by ±30% over minutes, and a baseline measured once
 * at the start would carry that drift into every ratio.
 */
/** A request other than a GET: the MCP scenario POSTs a JSON-RPC message. */
interface Send { method?: 'POST'; body?: string }

async function measure(name: string, url: string, server: ChildProcess, headers: Record<string, string> = {}, baseline?: Baseline, send: Send = {}) {
  await autocannon({ url, connections: CONNECTIONS, duration: WARMUP, headers, ...send });
  const runs = [];
  const rpsRatios: number[] = [];
  const cpuRatios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const base = baseline ? await measureOnce('baseline', baseline.url, baseline.server, {}) : undefined;
    const run = await measureOnce(name, url, server, headers, send);
    runs.push(run);
    if (base) {
      rpsRatios.push(run.rps / base.rps);
      cpuRatios.push(base.cpuUs / run.cpuUs);
    }
  }
  runs.sort((a, b) => a.cpuUs - b.cpuUs);
  const paired = baseline ? { rps: median(rpsRatios), cpu: median(cpuRatios) } : { rps: 1, cpu: 1 };
  return { ...runs[Math.floor(runs.length / 2)]!, spread: runs.map((r) => Math.round(r.cpuUs)).join('/'), paired };
}

async function measureOnce(name: string, url: string, server: ChildProcess, headers: Record<string, string>, send: Send = {}) {
  const cpuBefore = cpuSeconds(server.pid);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers, ...send });
  const cpuAfter = cpuSeconds(server.pid);
  // A 304 is the expected answer of the conditional catalog run; only 4xx, 5xx and errors are bad.
  const bad = result['4xx'] + result['5xx'] + result.errors;
  // CPU per request does not depend on whether the load generator kept the server busy.
  const cpuUs = cpuBefore !== undefined && cpuAfter !== undefined ? ((cpuAfter - cpuBefore) * 1e6) / result.requests.total : NaN;
  return { name, rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, bad, cpuUs };
}

async function main() {
  pinSelf(1);
  // Always from the current source: a stale dist/ would measure yesterday's code.
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'gpx-bench-'));
  // One set of keys for both app servers, so the PAT made on one is the same credential on the other.
  const keys = generateKeys();
  const children: ChildProcess[] = [];
  try {
    const appPort = '3901';
    const base = `http://127.0.0.1:${appPort}`;
    children.push(await start(join(root, 'dist/src/server.js'), {
      PORT: appPort, NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'bench.sqlite3')}`,
      ...keys, BCRYPT_COST: '4', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      // The bench measures the pipeline, not the limiter's refusals: one token makes ~100k calls.
      RATE_LIMIT_REQUESTS: '100000000',
    }, PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE_DIR, 'app')}`] : []));
    await waitFor(`${base}/api/me`);

    // A user with 2FA, a PAT holding posts:read, and one post to read.
    const api = httpClient(base);
    const { jwt: verified, pat } = await api.userWithPat('bench@example.com', ['posts:read', 'posts:write']);
    const post = (await api.call('POST', '/api/posts', { token: pat, body: { title: 'Benchmark post', body: 'x'.repeat(200), status: 'published' } })).body;

    const barePort = '3902';
    children.push(await start(join(root, 'scripts/bench-bare.mjs'), { PORT: barePort, BENCH_BODY: JSON.stringify(post) },
      PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE_DIR, 'bare')}`] : []));
    await waitFor(`http://127.0.0.1:${barePort}/api/posts/x`);

    // The same bare route on the server `npm start` uses (src/http/server.ts): how much of the app's
    // standing against bare express comes from that server rather than from the pipeline.
    const shapedBarePort = '3904';
    children.push(await start(join(root, 'scripts/bench-bare.mjs'), { PORT: shapedBarePort, BENCH_BODY: JSON.stringify(post), BENCH_SHAPED: '1' }));
    await waitFor(`http://127.0.0.1:${shapedBarePort}/api/posts/x`);

    // The floor reads the app's own database and sends the headers the app sent on the same call.
    const sample = await fetch(`${base}/api/posts/${post.id}`, { headers: { authorization: `Bearer ${pat}` } });
    const SET_BY_EXPRESS_OR_NODE = new Set(['content-type', 'content-length', 'etag', 'date', 'connection', 'keep-alive']);
    const appHeaders = Object.fromEntries([...sample.headers].filter(([name]) => !SET_BY_EXPRESS_OR_NODE.has(name)));
    const floorPort = '3903';
    children.push(await start(join(root, 'scripts/bench-floor.mjs'), { PORT: floorPort, BENCH_DB: join(dir, 'bench.sqlite3'), BENCH_HEADERS: JSON.stringify(appHeaders) }));
    await waitFor(`http://127.0.0.1:${floorPort}/api/posts/x`);

    console.log(`GetPaidX bench: ${CONNECTIONS} connections, median of ${RUNS} runs of ${DURATION}s after a ${WARMUP}s warm-up, each run paired with a bare express run just before it (the ratios are the pairs' median); servers ${canPin ? 'pinned to core 0, load on core 1' : 'not pinned (no taskset or one core)'}.`);
    const [appServer, bareServer, shapedBareServer, floorServer] = children as [ChildProcess, ChildProcess, ChildProcess, ChildProcess];
    const bare: Baseline = { url: `http://127.0.0.1:${barePort}/api/posts/${post.id}`, server: bareServer };
    const catalogEtag = (await fetch(`${base}/api/programmatic/catalog`)).headers.get('etag') ?? '';
    // The same read as an agent makes it: one MCP tools/call (JSON-RPC over POST /mcp).
    const toolCall: Send = { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'getPost', arguments: { postId: post.id } } }) };
    const mcpHeaders = { authorization: `Bearer ${pat}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const scenarios: Array<[string, string, ChildProcess, Record<string, string>, Send?]> = [
      ['bare express 5, same body', `http://127.0.0.1:${barePort}/api/posts/${post.id}`, bareServer, {}],
      ['bare express 5 on our server (src/http/server.ts)', `http://127.0.0.1:${shapedBarePort}/api/posts/${post.id}`, shapedBareServer, {}],
      ['floor: express + only the essential work', `http://127.0.0.1:${floorPort}/api/posts/${post.id}`, floorServer, { authorization: `Bearer ${pat}` }],
      ['PAT GET /api/posts/{postId}', `${base}/api/posts/${post.id}`, appServer, { authorization: `Bearer ${pat}` }],
      ['JWT GET /api/posts/{postId}', `${base}/api/posts/${post.id}`, appServer, { authorization: `Bearer ${verified}` }],
      ['PAT GET /api/tokens/self', `${base}/api/tokens/self`, appServer, { authorization: `Bearer ${pat}` }],
      ['catalog 200 (anonymous)', `${base}/api/programmatic/catalog`, appServer, {}],
      ['catalog 304 (If-None-Match)', `${base}/api/programmatic/catalog`, appServer, { 'if-none-match': catalogEtag }],
      ['MCP tools/call getPost', `${base}/mcp`, appServer, mcpHeaders, toolCall],
      // The MCP floor: an authenticated POST /mcp that the SDK answers without a tool call.
      ['MCP ping', `${base}/mcp`, appServer, mcpHeaders, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) }],
    ];
    // BENCH_ONLY=4 runs only the fourth scenario, the PAT hot path (handy with BENCH_PROFILE_DIR), and
    // BENCH_ONLY=4,9 the fourth and the ninth; the three baselines always run. After the scenarios:
    // 11 the hot path with limits on Redis, 12 on PostgreSQL, 13 the flat-cost checks (on PostgreSQL
    // too with 12; BENCH_SCALE rows, a million by default, 0 to skip).
    const picked = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((n) => Number(n) - 1) : undefined;
    const only = picked?.length === 1 ? picked[0] : undefined;
    const rows: Array<Awaited<ReturnType<typeof measure>>> = [];
    for (const [i, [name, url, server, headers, send]] of scenarios.entries()) {
      if (picked === undefined || picked.includes(i) || i <= 2) rows.push(await measure(name, url, server, headers, i === 0 ? undefined : bare, send));
    }
    // Last, the same app with its rate limits on Redis (REDIS_URL), when one answers: what sharing the
    // limits between instances costs on the hot path. It replaces the first app server on the same
    // database file (two processes on one SQLite file would slow each other's reads).
    let sqliteServer = appServer;
    const wantRedis = picked === undefined || only === scenarios.length;
    const redisUrl = process.env.BENCH_REDIS_URL ?? (wantRedis ? await startOwnRedis(children) : undefined) ?? 'redis://127.0.0.1:6379';
    const withRedis = wantRedis && (await redisAnswers(redisUrl));
    if (withRedis) {
      await stop(appServer);
      children.push(await start(join(root, 'dist/src/server.js'), {
        PORT: appPort, NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'bench.sqlite3')}`, ...keys,
        BCRYPT_COST: '4', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', RATE_LIMIT_REQUESTS: '100000000',
        REDIS_URL: redisUrl, REDIS_PREFIX: `gpx-bench-${process.pid}:`,
      }, PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE_DIR, 'app-redis')}`] : []));
      await waitFor(`${base}/api/me`);
      sqliteServer = children.at(-1)!;
      rows.push(await measure('PAT GET /api/posts/{postId}, limits on Redis', `${base}/api/posts/${post.id}`, sqliteServer, { authorization: `Bearer ${pat}` }, bare));
    }
    // Then the hot path on PostgreSQL, which every multi-instance deployment uses (issue 18): a database
    // of the bench's own on BENCH_PG_URL's server, its own user, token and post. The database backend's
    // CPU is measured too (/proc of its connections), so no cost hides in the database process.
    const wantPg = picked === undefined || picked.includes(scenarios.length + 1);
    // Beside it, the configuration of many instances (REDIS_URL), where PAT lookups are kept in memory
    // (src/auth/token-cache.ts): the same database, limits and lookups shared through Redis.
    const pg = wantPg ? await startOnPostgres(children, keys, (await redisAnswers(redisUrl)) ? redisUrl : undefined) : undefined;
    /** Each PostgreSQL row's backends' CPU a request, by the row's name. */
    const pgBackendUs = new Map<string, number>();
    if (pg) {
      const instances: Array<[string, { url: string; server: ChildProcess }]> = [['PAT GET /api/posts/{postId} on PostgreSQL', pg]];
      if (pg.shared) instances.push(['PAT GET /api/posts/{postId} on PostgreSQL, with REDIS_URL (lookups kept)', pg.shared]);
      else console.log(`No Redis answered at ${redisUrl}: the PostgreSQL hot path with REDIS_URL was not measured.`);
      for (const [name, { url, server }] of instances) {
        rows.push(await measure(name, url, server, pg.headers, bare));
        pgBackendUs.set(name, await backendCpuPerRequest({ ...pg, url }));
        console.log(`${name}: its PostgreSQL backends spent ${Math.round(pgBackendUs.get(name)!)} µs of CPU a request beside the app's own.`);
      }
    } else if (wantPg) console.log('No PostgreSQL answered at BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres): the PostgreSQL hot path was not measured.');
    // p99 under more load (32 connections), SQLite against PostgreSQL.
    const p99At32: Array<[string, number]> = [];
    if (pg) {
      for (const [name, url, headers] of [['SQLite', `${base}/api/posts/${post.id}`, { authorization: `Bearer ${pat}` }], ['PostgreSQL', pg.url, pg.headers]] as const) {
        const result = await autocannon({ url, connections: 32, duration: DURATION, headers });
        p99At32.push([name, result.latency.p99]);
      }
    }
    // One cost against another, each as paired with its bare express runs, so the machine's drift
    // between the two measurements cancels out (the raw CPU figures are in the table).
    const costRatio = (a: { paired: { cpu: number } }, b: { paired: { cpu: number } }, target: string) =>
      `${(b.paired.cpu / a.paired.cpu).toFixed(2)}× the server CPU a request, each against bare express in the same run ${target}`.trim();
    // The cost stays flat (issue 18): the same read at a thousand tokens and at a million tokens with a
    // million posts (seeded in SQL, scripts/seed-scale.ts), and the first and the last PAT operation of
    // the spec, both refused for a scope the token lacks, so both do the same work but for where they sit.
    const scaleTo = Number(process.env.BENCH_SCALE ?? 1_000_000);
    const scaleRows: Array<[string, string]> = [];
    if ((picked === undefined || picked.includes(scenarios.length + 2)) && scaleTo > 0) {
      const catalog = (await (await fetch(`${base}/api/programmatic/catalog`)).json()) as { operations: Array<{ operation_id: string; method: string; path: string; pat_supported: boolean; required_scopes: string[] }> };
      const held = new Set(['posts:read', 'posts:write']);
      const refusable = catalog.operations.filter((op) => op.pat_supported && op.method === 'GET' && !op.path.includes('{') && op.required_scopes.length > 0 && op.required_scopes.every((s) => !held.has(s)));
      const [first, last] = [refusable[0]!, refusable.at(-1)!];
      const positionRows = [];
      for (const op of [first, last]) {
        positionRows.push(await measure(`PAT GET ${op.path} (${op.operation_id}, ${op === first ? 'first' : 'last'} in the spec), refused 403`, `${base}${op.path}`, sqliteServer, { authorization: `Bearer ${pat}` }, bare));
      }
      rows.push(...positionRows);
      scaleRows.push(['first and last PAT operation of the spec, refused alike', costRatio(positionRows[1]!, positionRows[0]!, '(target ≤ 1.1×)')]);
      const targets: Array<[string, string, ChildProcess, Record<string, string>, string]> = [['SQLite', `${base}/api/posts/${post.id}`, sqliteServer, { authorization: `Bearer ${pat}` }, `sqlite:${join(dir, 'bench.sqlite3')}`]];
      if (pg) targets.push(['PostgreSQL', pg.url, pg.server, pg.headers, pg.databaseUrl]);
      for (const [store, url, server, headers, databaseUrl] of targets) {
        const measured = [];
        for (const count of [1_000, scaleTo]) {
          console.log(`Seeding ${store} to ${count} tokens and ${count} posts…`);
          await seedScale(databaseUrl, { tokens: count, posts: count }, (line) => console.log(`  ${line}`));
          const row = await measure(`PAT GET /api/posts/{postId} on ${store}, ${count.toLocaleString('en')} tokens and posts`, url, server, headers, bare);
          rows.push(row);
          measured.push(row);
        }
        scaleRows.push([`${store}, ${scaleTo.toLocaleString('en')} against 1,000 tokens and posts`, costRatio(measured[1]!, measured[0]!, '')]);
      }
    }
    console.log('');
    console.log('| configuration | req/s | × bare express | p50 ms | p99 ms | server CPU µs/req | CPU × bare | runs (CPU µs/req) | 4xx/5xx/errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---|---:|');
    for (const r of rows) {
      console.log(`| ${r.name} | ${Math.round(r.rps)} | ${r.paired.rps.toFixed(2)} | ${r.p50} | ${r.p99} | ${Math.round(r.cpuUs)} | ${r.paired.cpu.toFixed(2)} | ${r.spread} | ${r.bad} |`);
    }
    console.log('');
    const ratio = (name: string) => rows.find((r) => r.name === name);
    const hotPath = ratio('PAT GET /api/posts/{postId}');
    // Two ratios: req/s, and server CPU per request. When the server is not the bottleneck the load
    // generator caps req/s and flatters the slower server, so the CPU ratio is the one to trust.
    const both = (r: { rps: number; cpuUs: number }, base: { rps: number; cpuUs: number }) =>
      `${(r.rps / base.rps).toFixed(2)} by req/s, ${(base.cpuUs / r.cpuUs).toFixed(2)} by server CPU per request`;
    // Against bare express, the paired ratios (each run beside a bare run just before it).
    const ofBare = (r: { paired: { rps: number; cpu: number } }) =>
      `${r.paired.rps.toFixed(2)} by req/s, ${r.paired.cpu.toFixed(2)} by server CPU per request`;
    if (hotPath) console.log(`${hotPath.name}: ${ofBare(hotPath)} of bare express (target ≥ 0.60, later 0.75).`);
    const shapedBare = ratio('bare express 5 on our server (src/http/server.ts)');
    if (hotPath && shapedBare) console.log(`Against the same bare route on our server: ${both(hotPath, shapedBare)}.`);
    const floor = ratio('floor: express + only the essential work');
    if (floor && hotPath) console.log(`The floor (the same reads, hash and headers on our server, no pipeline) costs ${Math.round(floor.cpuUs)} µs; the pipeline's stages cost ${Math.round(hotPath.cpuUs - floor.cpuUs)} µs of CPU a request beyond it.`);
    const onRedis = ratio('PAT GET /api/posts/{postId}, limits on Redis');
    if (onRedis) console.log(`${onRedis.name}: ${ofBare(onRedis)} of bare express (target ≥ 0.60); without Redis: ${hotPath ? ofBare(hotPath) : 'not run'}.`);
    else if (wantRedis && !withRedis) console.log(`No Redis answered at ${redisUrl} (BENCH_REDIS_URL): the hot path with limits on Redis was not measured.`);
    for (const [name, backendUs] of pgBackendUs) {
      const onPg = ratio(name)!;
      console.log(`${name}: ${ofBare(onPg)} of bare express (target ≥ 0.5); with its PostgreSQL backends' CPU, ${(rows[0]!.cpuUs / (onPg.cpuUs + backendUs)).toFixed(2)} of bare express by CPU.`);
    }
    if (p99At32.length === 2) console.log(`p99 at 32 connections: SQLite ${p99At32[0]![1]} ms, PostgreSQL ${p99At32[1]![1]} ms (${(p99At32[1]![1] / Math.max(p99At32[0]![1], 1)).toFixed(1)}×; target < 3×).`);
    const mcp = ratio('MCP tools/call getPost');
    if (mcp && hotPath) console.log(`${mcp.name}: ${(mcp.cpuUs / hotPath.cpuUs).toFixed(2)}× the server CPU of the same read over HTTP (${Math.round(mcp.cpuUs)} against ${Math.round(hotPath.cpuUs)} µs; target ≤ 1.5×).`);
    const mcpPing = ratio('MCP ping');
    // A tools/call no longer goes through the SDK (the pipeline answers it, src/mcp/server.ts toolCalls):
    // ping is the cost of the SDK's protocol layer on an authenticated POST, beside it.
    if (mcpPing && hotPath) console.log(`MCP ping (an authenticated POST /mcp the SDK answers, no tool call): ${(mcpPing.cpuUs / hotPath.cpuUs).toFixed(2)}× the HTTP read (${Math.round(mcpPing.cpuUs)} µs); tools/call costs ${mcp ? Math.round(mcp.cpuUs - mcpPing.cpuUs) : '?'} µs more.`);
    for (const [what, figure] of scaleRows) console.log(`Flat cost, ${what}: ${figure}.`);
    const notModified = ratio('catalog 304 (If-None-Match)');
    if (notModified) console.log(`${notModified.name}: ${ofBare(notModified)} of bare express (target ≥ 0.90).`);
  } finally {
    await Promise.all(children.map(stop));
    for (const cleanup of pgCleanups) await cleanup();
    if (PROFILE_DIR) console.log(`CPU profiles written to ${PROFILE_DIR}/app, ${PROFILE_DIR}/bare and (with Redis) ${PROFILE_DIR}/app-redis (open them in Chrome DevTools).`);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface PgTarget {
  url: string; server: ChildProcess; headers: Record<string, string>; admin: import('pg').Client; database: string; databaseUrl: string;
  /** A second instance on the same database with REDIS_URL, as many instances run: PAT lookups kept in memory. */
  shared?: { url: string; server: ChildProcess };
}

/** The app on a fresh PostgreSQL database of the bench's own, with a user, a PAT and a post; or undefined. */
async function startOnPostgres(children: ChildProcess[], keys: Record<string, string>, redisUrl?: string): Promise<PgTarget | undefined> {
  const { Client } = await import('pg');
  const serverUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  const database = `gpx_bench_${process.pid}`;
  await admin.query(`CREATE DATABASE ${database}`);
  // Dropped when the bench ends, even when the server below fails to start.
  pgCleanups.push(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  /** An app instance on this database; its base URL and process. */
  const instance = async (port: string, profile: string, env: Record<string, string> = {}) => {
    const server = await start(join(root, 'dist/src/server.js'), {
      PORT: port, NODE_ENV: 'production', DATABASE_URL: url.toString(), ...keys, BCRYPT_COST: '4',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', RATE_LIMIT_REQUESTS: '100000000', ...env,
    }, PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE_DIR, profile)}`] : []);
    children.push(server);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/api/me`);
    return { base, server };
  };
  const { base, server } = await instance('3905', 'app-pg');
  const api = httpClient(base);
  const { pat } = await api.userWithPat('bench-pg@example.com', ['posts:read', 'posts:write']);
  const post = (await api.call('POST', '/api/posts', { token: pat, body: { title: 'Benchmark post', body: 'x'.repeat(200), status: 'published' } })).body;
  const shared = redisUrl ? await instance('3906', 'app-pg-redis', { REDIS_URL: redisUrl, REDIS_PREFIX: `gpx-bench-pg-${process.pid}:` }) : undefined;
  return { url: `${base}/api/posts/${post.id}`, server, headers: { authorization: `Bearer ${pat}` }, admin, database, databaseUrl: url.toString(),
    shared: shared && { url: `${shared.base}/api/posts/${post.id}`, server: shared.server } };
}
const pgCleanups: Array<() => Promise<void>> = [];

/** CPU seconds of every backend process serving the bench database (from /proc). */
async function backendCpu(target: PgTarget): Promise<number> {
  const { rows } = await target.admin.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [target.database]);
  return rows.reduce((sum: number, row: { pid: number }) => sum + (cpuSeconds(row.pid) ?? 0), 0);
}

/** The database backends' CPU per request of the PAT hot path on PostgreSQL, over one run. */
async function backendCpuPerRequest(target: PgTarget): Promise<number> {
  const before = await backendCpu(target);
  const result = await autocannon({ url: target.url, connections: CONNECTIONS, duration: DURATION, headers: target.headers });
  const after = await backendCpu(target);
  return ((after - before) * 1e6) / result.requests.total;
}

function stop(child: ChildProcess): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', done);
    child.kill('SIGTERM');
    // A profiled server writes its profile as it exits: give its graceful shutdown (10 s at most) time.
    setTimeout(() => child.kill('SIGKILL'), PROFILE_DIR ? 15_000 : 5_000).unref();
  });
}

/**
 * A redis-server of the bench's own (when one is installed), pinned beside the load generator on core
 * 1: Redis lives on another machine in a deployment, so it must not take the measured server's core,
 * and an unpinned Redis moves between cores from run to run. Answers its URL, or undefined.
 */
async function startOwnRedis(children: ChildProcess[]): Promise<string | undefined> {
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((path) => existsSync(path));
  if (!binary) return undefined;
  const port = '6391';
  const child = spawn(binary, ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(child);
  if (canPin) execFileSync('taskset', ['-cp', '1', String(child.pid)], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url)) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** Whether a Redis answers PING at `url` within a second. */
async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
