import type { Options, Store } from 'express-rate-limit';
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
export interface Throttle {
  /** Seconds to wait when any key is over its limit, else 0. */
  retryAfter(keys: Array<{ key: string; limit?: number }>): Promise<number>;
  fail(keys: string[]): Promise<void>;
  /** Failures counted for `key` in its current window. */
  failures(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

export function createThrottle(clock: Clock, options: { maxFailures: number; windowSeconds: number }, store?: Store): Throttle {
  return store ? storeThrottle(options, store) : memoryThrottle(clock, options);
}

/**
 * The same counts in a rate-limit store: with Redis (REDIS_URL) every instance counts the same
 * failures, so N instances do not give an attacker N times each limit.
 */
function storeThrottle(options: { maxFailures: number; windowSeconds: number }, store: Store): Throttle {
  const windowMs = options.windowSeconds * 1000;
  store.init?.({ windowMs } as Options);
  return {
    async retryAfter(keys) {
      let wait = 0;
      for (const { key, limit } of keys) {
        const info = await store.get?.(key);
        if (info && info.totalHits >= (limit ?? options.maxFailures)) {
          const left = Math.ceil(((info.resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000);
          wait = Math.max(wait, left, 1);
        }
      }
      return wait;
    },
    async fail(keys) {
      await Promise.all(keys.map((key) => store.increment(key)));
    },
    async failures(key) {
      return (await store.get?.(key))?.totalHits ?? 0;
    },
    async reset(key) {
      await store.resetKey(key);
    },
  };
}

/** Counts in this process, on the app's clock (tests move it). */
function memoryThrottle(clock: Clock, options: { maxFailures: number; windowSeconds: number }): Throttle {
  const windows = new Map<string, Window>();

  function current(key: string): Window | undefined {
    const window = windows.get(key);
    if (window && clock().getTime() - window.startedAt >= options.windowSeconds * 1000) {
      windows.delete(key);
      return undefined;
    }
    return window;
  }

  function sweep(): void {
    for (const key of windows.keys()) current(key);
  }

  return {
    async retryAfter(keys) {
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
    async fail(keys) {
      for (const key of keys) {
        const window = current(key) ?? { failures: 0, startedAt: clock().getTime() };
        window.failures += 1;
        windows.set(key, window);
      }
      if (windows.size > 100_000) sweep();
    },
    async failures(key) {
      return current(key)?.failures ?? 0;
    },
    async reset(key) {
      windows.delete(key);
    },
  };
}
