/**
 * npm run check:breaking -- <old openapi.yaml> [new openapi.yaml]
 * Compares the catalog projections of two versions of the contract (the new one defaults to ./openapi.yaml)
 * and exits 1 on a breaking change, printing each finding.
 */
import { resolve } from 'node:path';
import { breakingChanges } from '../src/catalog/breaking';
import { buildCatalog } from '../src/catalog/catalog';
import { loadContract } from '../src/contract/spec';

const [oldPath, newPath = resolve(__dirname, '../generated/openapi.yaml')] = process.argv.slice(2);
if (!oldPath) {
  console.error('Usage: npm run check:breaking -- <old openapi.yaml> [new openapi.yaml]\n  e.g. git show origin/main:generated/openapi.yaml > /tmp/old.yaml && npm run check:breaking -- /tmp/old.yaml');
  process.exit(2);
}
let findings: string[];
try {
  const before = buildCatalog(loadContract(resolve(oldPath))).operations;
  const after = buildCatalog(loadContract(resolve(newPath))).operations;
  findings = breakingChanges(before, after);
} catch (err) {
  console.error(`Cannot compare: ${(err as Error).message}`);
  process.exit(2);
}
if (findings.length === 0) {
  console.log(`No breaking change from ${oldPath} to ${newPath}.`);
} else {
  console.log(`${findings.length} breaking change${findings.length > 1 ? 's' : ''} from ${oldPath} to ${newPath}:`);
  for (const finding of findings) console.log(`  - ${finding}`);
  process.exit(1);
}
