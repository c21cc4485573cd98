/**
 * The compiled server as production runs it: `node dist/src/server.js` with the zero-setup defaults
 * (SQLite file, secrets generated and persisted on first start), restarted, and shut down by SIGTERM.
 * test/global-setup.ts compiled dist/ before the run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpClient } from '../helpers/api-client';
import { killStartedProcesses, PROJECT_ROOT, startCompiledServer } from '../helpers/server';

const dir = mkdtempSync(join(tmpdir(), 'gpx-e2e-'));
afterAll(() => {
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

// `npm start` on a fresh clone: not production, no keys in the environment.
const ZERO_SETUP = { NODE_ENV: 'development', JWT_SECRET: '', DATA_KEY: '', INTERNAL_API_KEY: '' };

it('refuses to start in production without its keys in the environment, naming what is missing', () => {
  const run = spawnSync(process.execPath, ['dist/src/server.js'], {
    cwd: PROJECT_ROOT, timeout: 20_000,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: `sqlite:${join(dir, 'refused.sqlite3')}`, SECRETS_FILE: join(dir, 'refused.json'), DATA_KEY: 'x'.repeat(43) },
  });
  expect(run.status).toBe(1);
  const said = `${run.stdout}${run.stderr}`;
  expect(said).toContain('missing: JWT_SECRET, INTERNAL_API_KEY');
  expect(said).toContain('npm run keys');
  expect(existsSync(join(dir, 'refused.json'))).toBe(false);
});

it('starts with no setup, keeps its secrets across a restart and stops cleanly on SIGTERM', async () => {
  const first = await startCompiledServer(dir, ZERO_SETUP);
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

  const second = await startCompiledServer(dir, { ...ZERO_SETUP, PORT: String(first.port) });
  try {
    const me = await httpClient(second.url).call('GET', '/api/me', { token: login.body.token });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email: 'e2e@example.com', is_platform_admin: true });
  } finally {
    await second.stop();
  }
}, 60_000);
