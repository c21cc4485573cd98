// How the hot-path reader's CPU per query holds up under sustained concurrent load (src/db/hot-reader.ts):
// 10 concurrent readers, 200,000 single-row prepared reads, CPU per query printed every 20,000.
// `node scripts/bench-pg-reader.mjs` measures the reader as built (run `npm run build` first), `POOLED=1`
// one `max: 4` client of the same driver instead. BENCH_PG_URL as for `npm run bench`.
import { existsSync } from 'node:fs';
import postgres from 'postgres';

const url = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const built = new URL('../dist/src/db/hot-reader.js', import.meta.url);
if (!existsSync(built)) {
  console.error('dist/ has no hot reader: run `npm run build` first.');
  process.exit(1);
}
const { createHotReader } = await import(built.href);

const pooled = process.env.POOLED === '1';
const reader = pooled ? pooledClient() : createHotReader(url, 4);
const total = Number(process.env.QUERIES ?? 200_000);
const chunk = total / 10;
let done = 0;
let cpu = process.cpuUsage();

/** The driver's own pool, read the same way, for comparison. */
function pooledClient() {
  const sql = postgres(url, { max: 4, prepare: true, onnotice: () => undefined });
  return { first: async (text, params) => (await sql.unsafe(text, params, { prepare: true }))[0], end: () => sql.end() };
}

async function read() {
  while (done < total) {
    await reader.first('select $1::int as n', [done]);
    if (++done % chunk === 0) {
      const used = process.cpuUsage(cpu);
      console.log(`${done} queries: ${((used.user + used.system) / chunk).toFixed(1)} µs of CPU a query`);
      cpu = process.cpuUsage();
    }
  }
}

console.log(pooled ? 'one postgres client, max: 4' : 'the hot-path reader: four postgres clients, max: 1 each, filled one after the other (src/db/hot-reader.ts)');
await Promise.all(Array.from({ length: 10 }, read));
await reader.end();
