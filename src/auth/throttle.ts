import type { Options, Store } from 'express-rate-limit';
import { Clock } from '../core/clock';

/**
 * Counts failed password and code attempts per key in a fixed window: the pair (account, address), the
 * address, and the account (src/services/accounts.service.ts decides which refuse and which only slow).
 * A key over its limit is refused until its window ends; a success clears the account's counts. With a
 * store (Redis, when REDIS_URL is set) every instance counts the same failures; without one the counts
 * live in this process, on the app's clock (documented in docs/authentication.md).
 */
export interface Throttle {
  /** Seconds to wait when any key is over its limit, else 0. */
  retryAfter(keys: Array<{ key: string; limit?: number }>): Promise<number>;
  fail(keys: string[]): Promise<void>;
  /** Failures counted for `key` in its current window. */
  failures(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

/** Where the counts live: a key's failures in its current window, and the seconds until that window ends. */
interface Counts {
  get(key: string): Promise<{ failures: number; secondsLeft: number } | undefined>;
  add(key: string): Promise<void>;
  clear(key: string): Promise<void>;
}

type ThrottleOptions = { maxFailures: number; windowSeconds: number };

export function createThrottle(clock: Clock, options: ThrottleOptions, store?: Store): Throttle {
  const counts = store ? storeCounts(options, store) : memoryCounts(clock, options);
  return {
    async retryAfter(keys) {
      let wait = 0;
      for (const { key, limit } of keys) {
        const window = await counts.get(key);
        if (window && window.failures >= (limit ?? options.maxFailures)) wait = Math.max(wait, window.secondsLeft, 1);
      }
      return wait;
    },
    async fail(keys) {
      await Promise.all(keys.map((key) => counts.add(key)));
    },
    async failures(key) {
      return (await counts.get(key))?.failures ?? 0;
    },
    reset: (key) => counts.clear(key),
  };
}

/** In a rate-limit store: with Redis, N instances do not give an attacker N times each limit. */
function storeCounts(options: ThrottleOptions, store: Store): Counts {
  const windowMs = options.windowSeconds * 1000;
  store.init?.({ windowMs } as Options);
  return {
    async get(key) {
      const info = await store.get?.(key);
      if (!info) return undefined;
      return { failures: info.totalHits, secondsLeft: Math.ceil(((info.resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000) };
    },
    async add(key) {
      await store.increment(key);
    },
    async clear(key) {
      await store.resetKey(key);
    },
  };
}

/** In this process, on the app's clock (tests move it). */
function memoryCounts(clock: Clock, options: ThrottleOptions): Counts {
  const windowMs = options.windowSeconds * 1000;
  const windows = new Map<string, { failures: number; startedAt: number }>();

  function current(key: string) {
    const window = windows.get(key);
    if (window && clock().getTime() - window.startedAt >= windowMs) {
      windows.delete(key);
      return undefined;
    }
    return window;
  }

  return {
    async get(key) {
      const window = current(key);
      return window && { failures: window.failures, secondsLeft: Math.ceil((window.startedAt + windowMs - clock().getTime()) / 1000) };
    },
    async add(key) {
      const window = current(key) ?? { failures: 0, startedAt: clock().getTime() };
      window.failures += 1;
      windows.set(key, window);
      if (windows.size > 100_000) for (const old of windows.keys()) current(old);
    },
    async clear(key) {
      windows.delete(key);
    },
  };
}
