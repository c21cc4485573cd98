/**
 * `npm run fuzz [-- --requests 20000 --seed 42 --concurrency 8]`: the project's spec-driven fuzzer
 * (test/fuzz/) against the real app on a fresh database (SQLite, or PostgreSQL when TEST_DATABASE_URL
 * is set). Prints progress, the statuses seen and every finding with a reproduction; exits 1 on any
 * finding. The same engine runs in the test suite (test/contract/fuzz.test.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { fuzz, summarise } from '../test/fuzz/fuzzer';
import { createFuzzTarget } from '../test/fuzz/target';
import { startTestApp } from '../test/helpers/app';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { requests: { type: 'string', default: '20000' }, seed: { type: 'string' }, concurrency: { type: 'string', default: '8' } },
  });
  const requests = Number(values.requests);
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn', AUTH_MAX_FAILURES: '1000000', VALIDATE_RESPONSES: 'false' });
  const server = await new Promise<Server>((ready) => { const s = t.app.listen(0, '127.0.0.1', () => ready(s)); });
  console.log(`fuzzing ${t.contract.operations.size} operations on ${t.testDb.kind}: ${requests} requests, seed ${seed} (repeat with --seed ${seed})`);
  try {
    const report = await fuzz({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, contract: t.contract, target: createFuzzTarget(t),
      requests, seed, concurrency: Number(values.concurrency),
      onProgress: (sent) => process.stdout.write(`  ${sent} / ${requests} sent\r`),
    });
    console.log(`\n${report.sent} requests in ${(report.milliseconds / 1000).toFixed(1)} s (${Math.round(report.sent / (report.milliseconds / 1000))}/s)`);
    console.log(`statuses: ${Object.entries(report.byStatus).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    for (const line of summarise(report.findings)) console.log(`\n${line}`);
    console.log(`\n${report.findings.length} failures`);
    return report.findings.length === 0 ? 0 : 1;
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    await t.close();
  }
}

main().then((code) => process.exit(code), (err) => {
  console.error(`fuzz could not run: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(2);
});
