// Fails when generated/openapi.d.ts is not what openapi-typescript makes of openapi.yaml today.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const committed = join(root, 'generated/openapi.d.ts');
const dir = mkdtempSync(join(tmpdir(), 'gpx-types-'));
try {
  const fresh = join(dir, 'openapi.d.ts');
  execFileSync(join(root, 'node_modules/.bin/openapi-typescript'), [join(root, 'openapi.yaml'), '-o', fresh], { stdio: 'pipe' });
  let current = '';
  try {
    current = readFileSync(committed, 'utf8');
  } catch {
    console.error('generated/openapi.d.ts is missing: run `npm run gen:types` and commit it.');
    process.exit(1);
  }
  if (readFileSync(fresh, 'utf8') !== current) {
    console.error('generated/openapi.d.ts is stale: run `npm run gen:types` and commit the result.');
    process.exit(1);
  }
  console.log('generated/openapi.d.ts is up to date with openapi.yaml.');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
