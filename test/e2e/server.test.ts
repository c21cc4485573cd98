/**
 * The compiled server as production runs it: `node dist/src/server.js` with the zero-setup defaults
 * (SQLite file, secrets generated and persisted on first start), restarted, and shut down by SIGTERM.
 * test/global-setup.ts compiled dist/ before the run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpClient } from '../helpers/api-client';
import { killStartedProcesses, PROJECT_ROOT, startCompiledServer } from '../helpers/server';

const dir = mkdtempSync(join(tmpdir(), 'gpx-e2e-'));
afterAll(() => {
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

it('starts with no setup, keeps its secrets across a restart and stops cleanly on SIGTERM', async () => {
  const first = await startCompiledServer(dir);
  expect(first.output()).toContain(`listening on http://127.0.0.1:${first.port}`);
  expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
  const api = httpClient(first.url);
  expect((await api.call('POST', '/api/auth/signup', { body: { email: 'e2e@example.com', password: 'an-e2e-passphrase' } })).status).toBe(201);
  const login = await api.call('POST', '/api/auth/login', { body: { email: 'e2e@example.com', password: 'an-e2e-passphrase' } });
  expect((await api.call('GET', '/api/me', { token: login.body.token })).status).toBe(200);
  expect(await first.stop()).toBe(0);

  // The documented CLI makes the user platform staff in the same database.
  const granted = execFileSync(process.execPath, ['dist/src/cli/admin.js', 'grant', 'E2E@example.com'], { cwd: PROJECT_ROOT, env: first.env }).toString();
  expect(granted).toMatch(/e2e@example.com \(usr_\w+\) is now platform staff/);
  const usage = spawnSync(process.execPath, ['dist/src/cli/admin.js', 'promote'], { cwd: PROJECT_ROOT, env: first.env });
  expect(usage.status).toBe(2);
  expect(usage.stderr.toString()).toContain('Usage: npm run admin');

  const second = await startCompiledServer(dir, { PORT: String(first.port) });
  try {
    const me = await httpClient(second.url).call('GET', '/api/me', { token: login.body.token });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email: 'e2e@example.com', is_platform_admin: true });
  } finally {
    await second.stop();
  }
}, 60_000);
