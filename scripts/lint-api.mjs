// `npm run lint:api`: Redocly lint, with our rules, on a fresh bundle of the contract (the rules check
// the document the tools read, including what the bundle-time decorator wrote).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundle, root } from './bundle.mjs';

const dir = mkdtempSync(join(tmpdir(), 'gpx-lint-'));
try {
  const file = bundle(join(dir, 'openapi.yaml'));
  execFileSync(join(root, 'node_modules/.bin/redocly'), ['lint', file, '--config', join(root, 'redocly.yaml')], {
    stdio: 'inherit', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
} catch {
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
