// Fails when what is generated from the contract is stale: the bundle (generated/openapi.yaml), the
// types (generated/openapi.d.ts, with openapi-typescript's own --check), and the error codes
// (generated/error-codes.ts, docs/errors.md).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundle, BUNDLE, root } from './bundle.mjs';

const dir = mkdtempSync(join(tmpdir(), 'gpx-generated-'));
let stale = false;
try {
  const fresh = bundle(join(dir, 'openapi.yaml'));
  if (!existsSync(BUNDLE) || readFileSync(fresh, 'utf8') !== readFileSync(BUNDLE, 'utf8')) {
    console.error('generated/openapi.yaml is stale: run `npm run gen:types` and commit the result.');
    stale = true;
  } else {
    try {
      execFileSync(join(root, 'node_modules/.bin/openapi-typescript'), [BUNDLE, '-o', join(root, 'generated/openapi.d.ts'), '--check'], { stdio: 'pipe' });
    } catch {
      console.error('generated/openapi.d.ts is stale: run `npm run gen:types` and commit the result.');
      stale = true;
    }
    try {
      execFileSync(process.execPath, [join(root, 'scripts/gen-error-codes.mjs'), '--check'], { stdio: 'inherit' });
    } catch {
      stale = true;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (stale) process.exit(1);
console.log('generated/ (bundle, types, error codes) and docs/errors.md are up to date with openapi.yaml and openapi/.');
