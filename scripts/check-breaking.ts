/**
 * npm run check:breaking [-- <old openapi.yaml> [new openapi.yaml]]
 * Compares two versions of the bundled contract: by default the last released one
 * (contract/released/openapi.yaml) with generated/openapi.yaml. Reports what a client of the old one
 * loses: operations, auth modes and scopes (the catalog projections), and every schema change that breaks
 * a request or a reading of an answer or a webhook (src/catalog/schema-breaking.ts).
 * Exits 1 on a breaking change, unless info.version says so (a new major, or a new minor while 0.x);
 * 2 when it cannot compare.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { breakingChanges } from '../src/catalog/breaking';
import { buildCatalog } from '../src/catalog/catalog';
import { schemaBreakingChanges, versionAllowsBreaking } from '../src/catalog/schema-breaking';
import { loadContract } from '../src/contract/spec';

const root = resolve(__dirname, '..');
const [oldPath = resolve(root, 'contract/released/openapi.yaml'), newPath = resolve(root, 'generated/openapi.yaml')] = process.argv.slice(2);
let findings: string[];
let versions: [string, string];
try {
  const [before, after] = [oldPath, newPath].map((p) => parse(readFileSync(resolve(p), 'utf8')) as Record<string, any>);
  versions = [String(before!.info?.version), String(after!.info?.version)];
  findings = [
    ...breakingChanges(buildCatalog(loadContract(resolve(oldPath))).operations, buildCatalog(loadContract(resolve(newPath))).operations),
    ...schemaBreakingChanges(before!, after!),
  ];
} catch (err) {
  console.error(`Cannot compare ${oldPath} with ${newPath}: ${(err as Error).message}`);
  process.exit(2);
}
const from = `${oldPath.replace(`${root}/`, '')} (${versions[0]})`;
const to = `${newPath.replace(`${root}/`, '')} (${versions[1]})`;
if (findings.length === 0) {
  console.log(`No breaking change from ${from} to ${to}.`);
  process.exit(0);
}
console.log(`${findings.length} breaking change${findings.length > 1 ? 's' : ''} from ${from} to ${to}:`);
for (const finding of findings) console.log(`  - ${finding}`);
if (versionAllowsBreaking(versions[0], versions[1])) {
  console.log(`Allowed: info.version ${versions[0]} → ${versions[1]} announces them. Run \`npm run contract:release\` when this version ships.`);
  process.exit(0);
}
console.log(`To ship them, announce them: raise info.version in openapi.yaml (${versions[0]} → a new ${versions[0].startsWith('0.') ? 'minor' : 'major'}), and say what changed in the changelog.`);
process.exit(1);
