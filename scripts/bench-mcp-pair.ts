/**
 * npx tsx scripts/bench-mcp-pair.ts: MCP `tools/call getPost` against the HTTP `GET /api/posts/{postId}`
 * on one compiled server (SQLite, production settings), alternated in pairs of short runs, printing
 * each pair's ratio of server CPU per request and their median. On a machine whose speed drifts by
 * minutes (steal time), adjacent runs on the same server are the comparison that holds. Run
 * `npm run build` first. MCP_PAIRS (10) and MCP_PAIR_SECONDS (3) tune it; MCP_PAIR_SERVER names
 * another build's dist/src/server.js to measure it the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { httpClient } from '../test/helpers/api-client';
import { generateKeys } from '../src/core/config';
import { cpuSeconds, median, pinSelf, start, waitFor } from './bench-kit';

const PAIRS = Number(process.env.MCP_PAIRS ?? 10);
const SECONDS = Number(process.env.MCP_PAIR_SECONDS ?? 3);
const SERVER = process.env.MCP_PAIR_SERVER ?? resolve(__dirname, '../dist/src/server.js');

async function main() {
  pinSelf(1);
  const dir = mkdtempSync(join(tmpdir(), 'gpx-mcp-pair-'));
  const port = '3971';
  const base = `http://127.0.0.1:${port}`;
  const server = await start(SERVER, {
    PORT: port, NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'pair.sqlite3')}`, ...generateKeys(), BCRYPT_COST: '4', LOG_LEVEL: 'info', RATE_LIMIT_REQUESTS: '100000000',
  });
  try {
    await waitFor(`${base}/api/me`);
    const api = httpClient(base);
    const { pat } = await api.userWithPat('pair@example.com', ['posts:read', 'posts:write']);
    const post = (await api.call('POST', '/api/posts', { token: pat, body: { title: 'Benchmark post', body: 'x'.repeat(200), status: 'published' } })).body;
    const headers = { authorization: `Bearer ${pat}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const toolCall = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'getPost', arguments: { postId: post.id } } });
    const run = async (mcp: boolean, seconds: number) => {
      const before = cpuSeconds(server.pid)!;
      const result = await autocannon({
        url: mcp ? `${base}/mcp` : `${base}/api/posts/${post.id}`, connections: 10, duration: seconds, headers,
        ...(mcp ? { method: 'POST' as const, body: toolCall } : {}),
      });
      if (result.non2xx || result.errors) throw new Error(`${result.non2xx} answers were not 2xx and ${result.errors} failed`);
      return ((cpuSeconds(server.pid)! - before) * 1e6) / result.requests.total;
    };
    // Warm both paths up before measuring: V8 keeps optimising for tens of seconds.
    await run(false, 5);
    await run(true, 5);
    const get: number[] = [];
    const call: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      get.push(await run(false, SECONDS));
      call.push(await run(true, SECONDS));
    }
    const ratios = call.map((value, i) => value / get[i]!);
    console.log(`HTTP GET µs/req:      ${get.map((v) => v.toFixed(0)).join(' ')} (median ${median(get).toFixed(0)})`);
    console.log(`MCP tools/call µs/req: ${call.map((v) => v.toFixed(0)).join(' ')} (median ${median(call).toFixed(0)})`);
    console.log(`tools/call ÷ GET by pair: ${ratios.map((v) => v.toFixed(2)).join(' ')}; median ${median(ratios).toFixed(2)}× (target ≤ 1.5×)`);
  } finally {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
