// Spec ↔ handler sync without a database: every operationId has a handler and every handler an operation.
import { loadConfig } from '../src/core/config';
import { loadContract } from '../src/contract/spec';
import { buildHandlers } from '../src/handlers';
import type { Services } from '../src/handlers/services';

const config = loadConfig({ ...process.env, JWT_SECRET: 'x'.repeat(43), DATA_KEY: 'y'.repeat(43), INTERNAL_API_KEY: 'gpx_int_check' });
const contract = loadContract(config.specPath);
const stub = new Proxy({}, { get: () => stub }) as unknown as Services;
try {
  const handlers = buildHandlers(contract, { ...stub, config } as Services);
  console.log(`${handlers.size} operations in openapi.yaml, each with exactly one handler.`);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
