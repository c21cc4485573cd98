import { Clock } from '../core/clock';

interface Window {
  failures: number;
  startedAt: number;
}

/**
 * Counts failed password and code attempts per key in a fixed window: the pair (account, address), the
 * address, and the account (src/services/accounts.service.ts decides which refuse and which only slow).
 * A key over its limit is refused until its window ends; a success clears the account's counts. The counts live in this process: with several instances each one
 * enforces the limit on its own share of the traffic (documented in docs/authentication.md).
 */
export function createThrottle(clock: Clock, options: { maxFailures: number; windowSeconds: number }) {
  const windows = new Map<string, Window>();

  function current(key: string): Window | undefined {
    const window = windows.get(key);
    if (window && clock().getTime() - window.startedAt >= options.windowSeconds * 1000) {
      windows.delete(key);
      return undefined;
    }
    return window;
  }

  return {
    /** Seconds to wait when any key is over its limit, else 0. */
    retryAfter(keys: Array<{ key: string; limit?: number }>): number {
      let wait = 0;
      for (const { key, limit } of keys) {
        const window = current(key);
        if (window && window.failures >= (limit ?? options.maxFailures)) {
          const left = Math.ceil((window.startedAt + options.windowSeconds * 1000 - clock().getTime()) / 1000);
          wait = Math.max(wait, left, 1);
        }
      }
      return wait;
    },
    fail(keys: string[]): void {
      for (const key of keys) {
        const window = current(key) ?? { failures: 0, startedAt: clock().getTime() };
        window.failures += 1;
        windows.set(key, window);
      }
      if (windows.size > 100_000) this.sweep();
    },
    /** Failures counted for `key` in its current window. */
    failures(key: string): number {
      return current(key)?.failures ?? 0;
    },
    reset(key: string): void {
      windows.delete(key);
    },
    sweep(): void {
      for (const key of windows.keys()) current(key);
    },
  };
}

export type Throttle = ReturnType<typeof createThrottle>;
