/**
 * The compiled server as production runs it: `node dist/src/server.js` with the zero-setup defaults
 * (SQLite file, secrets generated and persisted on first start), restarted, and shut down by SIGTERM.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'gpx-e2e-'));
let port = 0;
const started: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as { port: number };
      server.close(() => done(p));
    });
  });
}

function startServer(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['dist/src/server.js'], {
    cwd: root,
    env: {
      PATH: process.env.PATH, PORT: String(port), NODE_ENV: 'production', BCRYPT_COST: '4',
      DATABASE_URL: `sqlite:${join(dir, 'api.sqlite3')}`, SECRETS_FILE: join(dir, 'secrets.json'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${output}`)), 20_000);
    child.stdout!.on('data', () => {
      if (output.includes('listening')) {
        clearTimeout(timer);
        done({ child, output: () => output });
      }
    });
    child.on('exit', (code) => fail(new Error(`server exited with ${code}:\n${output}`)));
  });
}

const url = (path: string) => `http://127.0.0.1:${port}${path}`;
const post = (path: string, body: unknown, token?: string) =>
  fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

beforeAll(async () => {
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  port = await freePort();
}, 120_000);
afterAll(() => {
  // Never leave a server behind, even when a test failed half-way.
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

it('starts with no setup, keeps its secrets across a restart and stops cleanly on SIGTERM', async () => {
  const first = await startServer();
  expect(first.output()).toContain(`listening on http://127.0.0.1:${port}`);
  expect(statSync(join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);

  expect((await post('/api/auth/signup', { email: 'e2e@example.com', password: 'an-e2e-passphrase' })).status).toBe(201);
  const login = (await (await post('/api/auth/login', { email: 'e2e@example.com', password: 'an-e2e-passphrase' })).json()) as { token: string };
  const me = await fetch(url('/api/me'), { headers: { authorization: `Bearer ${login.token}` } });
  expect(me.status).toBe(200);

  const exited = new Promise<number | null>((done) => first.child.on('exit', done));
  first.child.kill('SIGTERM');
  expect(await exited).toBe(0);

  // The documented CLI makes the user platform staff in the same database.
  const env = { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'api.sqlite3')}`, SECRETS_FILE: join(dir, 'secrets.json') };
  const granted = execFileSync(process.execPath, ['dist/src/cli/admin.js', 'grant', 'E2E@example.com'], { cwd: root, env }).toString();
  expect(granted).toMatch(/e2e@example.com \(usr_\w+\) is now platform staff/);
  const usage = spawnSync(process.execPath, ['dist/src/cli/admin.js', 'promote'], { cwd: root, env });
  expect(usage.status).toBe(2);
  expect(usage.stderr.toString()).toContain('Usage: npm run admin');

  const second = await startServer();
  try {
    const again = await fetch(url('/api/me'), { headers: { authorization: `Bearer ${login.token}` } });
    expect(again.status).toBe(200);
    const me = (await again.json()) as { user: unknown };
    expect(me.user).toMatchObject({ email: 'e2e@example.com', is_platform_admin: true });
  } finally {
    second.child.kill('SIGTERM');
  }
}, 60_000);
