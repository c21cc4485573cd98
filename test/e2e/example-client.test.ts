/** examples/read-catalog.ts, the typed openapi-fetch client, against a live compiled server. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { httpClient } from '../helpers/api-client';
import { killStartedProcesses, PROJECT_ROOT, startCompiledServer } from '../helpers/server';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'gpx-example-'));
let server: Awaited<ReturnType<typeof startCompiledServer>>;

// test/global-setup.ts compiled dist/ before the run.
beforeAll(async () => {
  server = await startCompiledServer(dir);
});
afterAll(async () => {
  await server?.stop();
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

it('reads the catalog with a PAT and calls a post operation it says is callable', async () => {
  const api = httpClient(server.url);
  const { pat } = await api.userWithPat('example@example.com', ['posts:read', 'posts:write']);
  await api.call('POST', '/api/posts', { token: pat, body: { title: 'From the example' } });
  const { stdout } = await run(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['examples/read-catalog.ts'], {
    cwd: PROJECT_ROOT, env: { ...process.env, GPX_TOKEN: pat, GPX_BASE_URL: server.url },
  });
  expect(stdout).toContain('This token (posts:read, posts:write) can call');
  expect(stdout).toMatch(/GET\s+\/api\/posts\/\{postId\}\s+\(getPost\)/);
  expect(stdout).not.toContain('(listUsers)');
  expect(stdout).toContain('listPosts: 1 post(s); newest: From the example');
}, 60_000);

it('says what is missing when the token cannot list posts', async () => {
  const api = httpClient(server.url);
  const { pat } = await api.userWithPat('example2@example.com', ['billing:read']);
  const result = await run(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['examples/read-catalog.ts'], {
    cwd: PROJECT_ROOT, env: { ...process.env, GPX_TOKEN: pat, GPX_BASE_URL: server.url },
  }).catch((err) => err);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('needs posts:read');
}, 60_000);
