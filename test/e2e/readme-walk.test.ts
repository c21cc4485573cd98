/**
 * The README's command-line walk ("A first token, from the command line"), taken from README.md itself
 * between <!-- walk:start --> and <!-- walk:end -->, run as written in bash and zsh against a fresh
 * compiled server. zsh may be missing on a developer machine (the test says so and skips it); CI
 * installs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killStartedProcesses, PROJECT_ROOT, startCompiledServer } from '../helpers/server';
import { toolFor } from '../helpers/tools';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const walk = /<!-- walk:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walk:end -->/.exec(readme)?.[1];

const shells = ['bash', 'zsh'].filter((shell) => toolFor(`the README walk in ${shell}`, shell) !== undefined);

function runWalk(shell: string, api: string, script = walk!): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // -f: a fresh shell without the user's rc files (zsh -f; bash reads none when not interactive).
    const args = shell === 'zsh' ? ['-f', '-c', script] : ['-c', script];
    execFile(shell, args, { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: tmpdir(), API: api }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'gpx-walk-'));
let servers: Array<Awaited<ReturnType<typeof startCompiledServer>>> = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

it('is in the README, between its markers', () => {
  expect(walk).toBeDefined();
  expect(walk).toContain('pick token');
});

describe.each(shells)('in %s', (shell) => {
  it('signs up, enrols 2FA, signs in with a code, creates a token and uses it, as written', async () => {
    const server = await startCompiledServer(join(dir, shell === 'bash' ? 'a' : 'b'));
    servers.push(server);
    const result = await runWalk(shell, server.url);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('true'); // 2FA enabled
    expect(JSON.parse(lines[1]!)).toMatchObject({ pagination: { total: 0 } }); // GET /api/posts with the PAT
    expect(lines[2]!.split(' ')).toEqual(expect.arrayContaining(['listPosts', 'getPost']));
    expect(lines[2]).not.toContain('createPost');
    expect(lines[3]).toMatch(/^signed up usr_\S+; your token is in \$PAT$/);
  }, 90_000);

  it('stops at the first failed step and shows why, instead of going on with an empty value', async () => {
    const server = await startCompiledServer(join(dir, shell === 'bash' ? 'c' : 'd'));
    servers.push(server);
    // The account exists with another password: the sign-in step fails.
    const first = await runWalk(shell, server.url, walk!.replace("PASSWORD='correct-horse-battery'", "PASSWORD='another-long-passphrase'"));
    expect(first.code).toBe(0);
    const result = await runWalk(shell, server.url);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('step failed:');
    expect(result.stderr).toContain('email_taken');
    expect(result.stdout).toBe('');
  }, 90_000);
});
