// `npm run contract:release`: records generated/openapi.yaml as the released contract
// (contract/released/openapi.yaml), which `npm run check:breaking` and CI compare every change with.
// Run it when a version ships, after raising info.version for any breaking change, and tag the commit
// (git tag v<version>).
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BUNDLE, bundle, root } from './bundle.mjs';

bundle();
const version = parse(readFileSync(BUNDLE, 'utf8')).info.version;
mkdirSync(join(root, 'contract/released'), { recursive: true });
copyFileSync(BUNDLE, join(root, 'contract/released/openapi.yaml'));
console.log(`contract/released/openapi.yaml is now version ${version}; commit it and tag the commit v${version}.`);
