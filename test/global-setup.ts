import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/**
 * Once per test run, before any test file: compile the server (the e2e tests run dist/, as production
 * does) and build the docs (served at /docs). Doing it here, not in each file, keeps parallel test
 * workers from rewriting dist/ under a running server.
 */
export default function globalSetup(): void {
  const root = resolve(__dirname, '..');
  const bin = (name: string) => join(root, 'node_modules/.bin', name);
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  execFileSync(bin('redocly'), ['build-docs', 'openapi.yaml', '--inlineBundle', '-o', 'docs/build/index.html'], {
    cwd: root, stdio: 'pipe', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
}
