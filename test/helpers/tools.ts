import { execFileSync } from 'node:child_process';

/** Where a command is on PATH, or undefined. */
function commandPath(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Debian-packaged tool some tests need (Chromium, zsh, redis-server): its path. Missing on a developer
 * machine, those tests are skipped with the reason printed; missing in CI, that is an error, since
 * .ci/run installs it.
 */
export function toolFor(tests: string, name: string, debianPackage = name): string | undefined {
  const path = commandPath(name);
  if (path) return path;
  if (process.env.CI === 'true') throw new Error(`${name} is required in CI for ${tests} (apt-get install -y ${debianPackage}); .ci/run installs it.`);
  console.log(`skipped: ${tests} need ${name} (apt-get install -y ${debianPackage}); CI installs it and runs them`);
  return undefined;
}
