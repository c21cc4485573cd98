/**
 * The project's own fuzzer (test/fuzz/), on every operation of the spec with every kind of credential:
 * schema-valid and deliberately broken requests, each answer judged by an independent validator.
 * Budget: FUZZ_REQUESTS (20,000 on SQLite, 5,000 on PostgreSQL by default); seed: FUZZ_SEED, or
 * random and printed. `npm run fuzz` runs the same engine from the command line.
 */
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, TestApp } from '../helpers/app';
import { fuzz, summarise } from '../fuzz/fuzzer';
import { createFuzzTarget } from '../fuzz/target';

let t: TestApp;
let server: Server;
beforeAll(async () => {
  // The fuzzer fails sign-ins by the thousand from one address; its world is rebuilt with sign-ins too.
  // The oracle validates every answer itself, so the app's own response validation (which compiles the
  // whole spec into every validator it builds) is left off.
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn', AUTH_MAX_FAILURES: '1000000', VALIDATE_RESPONSES: 'false' });
  server = await new Promise<Server>((resolve) => {
    const s = t.app.listen(0, '127.0.0.1', () => resolve(s));
  });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

it('answers every generated request within its contract, with no 5xx and no secret', async () => {
  const requests = Number(process.env.FUZZ_REQUESTS ?? (t.testDb.kind === 'postgres' ? 5000 : 20_000));
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
  console.log(`fuzz: ${requests} requests, seed ${seed} (repeat with FUZZ_SEED=${seed})`);
  const report = await fuzz({
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, contract: t.contract, target: createFuzzTarget(t), requests, seed,
  });
  console.log(`fuzz: ${report.sent} requests in ${(report.milliseconds / 1000).toFixed(1)} s; statuses ${JSON.stringify(report.byStatus)}; ${report.findings.length} findings`);
  if (process.env.FUZZ_REPORT) writeFileSync(process.env.FUZZ_REPORT, JSON.stringify(report, null, 2));
  expect(summarise(report.findings)).toEqual([]);
}, 600_000);
