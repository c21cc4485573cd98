/**
 * What every bench script here shares: servers forked pinned to core 0 and the load generator on core 1
 * (when taskset exists and there are two cores), waiting for a server to answer, and a process's CPU
 * time from /proc.
 */
import { ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const canPin = existsSync('/usr/bin/taskset') && Number(execFileSync('nproc').toString()) >= 2;

export function pinSelf(core: number): void {
  if (canPin) execFileSync('taskset', ['-cp', String(core), String(process.pid)], { stdio: 'ignore' });
}

/** A node script as a child process on core 0, its stdout dropped and its stderr shown. */
export async function start(script: string, env: Record<string, string>, execArgv: string[] = []): Promise<ChildProcess> {
  const child = fork(script, [], { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  if (canPin) execFileSync('taskset', ['-cp', '0', String(child.pid)], { stdio: 'ignore' });
  return child;
}

export async function waitFor(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`server at ${url} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** CPU seconds (user + system) a process has used, from /proc; undefined where /proc is missing. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  const file = `/proc/${pid}/stat`;
  if (!pid || !existsSync(file)) return undefined;
  const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
