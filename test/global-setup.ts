import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');

/** The newest modification time among files under `dir` (recursively) and the given files. */
function newest(paths: string[]): number {
  let latest = 0;
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else latest = Math.max(latest, stat.mtimeMs);
  };
  paths.forEach(visit);
  return latest;
}

const mtime = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : 0);

/**
 * Once per test run, before any test file: compile the server (the e2e tests run dist/, as production
 * does) and build the docs (served at /docs), unless what is there is already newer than its sources
 * (CI builds once, then runs the suite twice). Doing it here, not in each file, keeps parallel test
 * workers from rewriting dist/ under a running server.
 */
export default function globalSetup(): void {
  const bin = (name: string) => join(root, 'node_modules/.bin', name);
  const sources = newest(['src', 'generated', 'tsconfig.json', 'tsconfig.build.json'].map((p) => join(root, p)));
  if (mtime(join(root, 'dist/src/server.js')) < sources) {
    execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
  if (mtime(join(root, 'docs/build/index.html')) < mtime(join(root, 'generated/openapi.yaml'))) {
    // The same build as `npm run docs:build` (it also inlines Redoc's badge logo), not a copy of it.
    execFileSync(process.execPath, [join(root, 'scripts/build-docs.mjs')], { cwd: root, stdio: 'pipe' });
  }
}
