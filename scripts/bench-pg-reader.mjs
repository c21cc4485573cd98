// How the hot-path reader's CPU per query holds up under sustained concurrent load (src/db/hot-reader.ts):
// 10 concurrent readers, 200,000 single-row prepared reads, CPU per query printed every 20,000.
// `node scripts/bench-pg-reader.mjs` for the reader as built (four `max: 1` clients), `POOLED=1` for one
// `max: 4` client of the same driver. BENCH_PG_URL as for `npm run bench`.
import postgres from 'postgres';

const url = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pooled = process.env.POOLED === '1';
const clients = pooled
  ? [postgres(url, { max: 4, prepare: true, onnotice: () => undefined })]
  : Array.from({ length: 4 }, () => postgres(url, { max: 1, prepare: true, onnotice: () => undefined }));
const inFlight = clients.map(() => 0);
const total = Number(process.env.QUERIES ?? 200_000);
const chunk = total / 10;
let done = 0;
let cpu = process.cpuUsage();

async function reader() {
  while (done < total) {
    let i = 0;
    for (let j = 1; j < clients.length; j++) if (inFlight[j] < inFlight[i]) i = j;
    inFlight[i]++;
    await clients[i].unsafe('select $1::int as n', [done], { prepare: true });
    inFlight[i]--;
    if (++done % chunk === 0) {
      const used = process.cpuUsage(cpu);
      console.log(`${done} queries: ${((used.user + used.system) / chunk).toFixed(1)} µs of CPU a query`);
      cpu = process.cpuUsage();
    }
  }
}

console.log(pooled ? 'one postgres client, max: 4' : 'four postgres clients, max: 1 each (src/db/hot-reader.ts)');
await Promise.all(Array.from({ length: 10 }, reader));
await Promise.all(clients.map((sql) => sql.end()));
