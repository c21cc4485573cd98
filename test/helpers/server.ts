import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { TEST_SECRETS } from './secrets';

export const PROJECT_ROOT = resolve(__dirname, '../..');

export function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<number | null>;
}

const started: ChildProcess[] = [];

/** Starts a process and resolves once its output contains `ready`; it is killed if the test run ends first. */
export function startProcess(command: string, args: string[], env: Record<string, string | undefined>, ready: string | RegExp, timeoutMs = 30_000): Promise<RunningProcess> {
  const child = spawn(command, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  const stop = () => new Promise<number | null>((done) => {
    // Already gone (exited, or killed by a signal, as a test's kill -9 does): nothing to wait for.
    if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
    child.once('exit', (code) => done(code));
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${command} did not become ready:\n${output}`)), timeoutMs);
    const check = (chunk: Buffer) => {
      output += chunk;
      if (typeof ready === 'string' ? output.includes(ready) : ready.test(output)) {
        clearTimeout(timer);
        done({ child, output: () => output, stop });
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${command} exited with ${code}:\n${output}`));
    });
  });
}

/** The compiled server (`npm run build` first), on a free port with its own SQLite file. */
export async function startCompiledServer(dir: string, extraEnv: Record<string, string> = {}) {
  const port = extraEnv.PORT ? Number(extraEnv.PORT) : await freePort();
  const env = {
    PATH: process.env.PATH, PORT: String(port), NODE_ENV: 'production', BCRYPT_COST: '4',
    DATABASE_URL: `sqlite:${resolve(dir, 'api.sqlite3')}`, SECRETS_FILE: resolve(dir, 'secrets.json'),
    // Production takes its keys from the environment, as every instance of a deployment must.
    RATE_LIMIT_REQUESTS: '100000', ADDRESS_AUTH_FAILURES: '100000', SIGNUP_MAX_PER_ADDRESS: '100000', ...TEST_SECRETS, ...extraEnv,
  };
  const server = await startProcess(process.execPath, ['dist/src/server.js'], env, 'listening');
  return { ...server, port, url: `http://127.0.0.1:${port}`, env };
}

/** Never leave a process behind, even when a test failed half-way. */
export function killStartedProcesses(): void {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
}
