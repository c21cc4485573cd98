import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from 'express-rate-limit';
import { MemoryStore } from 'express-rate-limit';
import Redis from 'ioredis';
import { RedisStore } from 'rate-limit-redis';

export interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * The Redis connection that several instances share limits through (`REDIS_URL`). Commands fail fast
 * instead of queueing while Redis is away (no offline queue, a 250 ms command timeout), so a request
 * never waits on it; the client keeps reconnecting in the background. Auto-pipelining sends the commands
 * of every request answered in one event-loop turn as one write: measured by `npm run bench`, it took the
 * Redis-limited hot path from ~330 to ~210 µs of CPU a request, level with limits in memory.
 */
export function connectRedis(url: string, log: Log): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    commandTimeout: 250,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  // ioredis reports every failed reconnect; the stores below say what it means for requests.
  redis.on('error', () => undefined);
  redis.on('ready', () => log.info({}, 'Redis connected: rate limits are shared by every instance'));
  return redis;
}

/**
 * Runs a count on Redis while it answers, and on this instance's memory while it does not: limits then
 * hold per instance, never open, and never fail a request. A warning is logged when that starts (at most
 * every 30 s) and when Redis answers again. One place for every store and counter that shares through
 * Redis (the sign-in throttle's store below, the rate limits in limit-counter.ts).
 */
export function redisOrLocal(redis: Redis, name: string, log: Log) {
  let degradedSince = 0;
  let lastWarning = 0;

  function degraded(err: unknown) {
    const now = Date.now();
    if (degradedSince === 0) degradedSince = now;
    if (now - lastWarning >= 30_000) {
      lastWarning = now;
      log.warn({ store: name, err: (err as Error)?.message }, 'Redis is not answering: rate limits are counted by this instance alone until it is back');
    }
  }
  function recovered() {
    if (degradedSince === 0) return;
    log.info({ store: name, seconds: Math.round((Date.now() - degradedSince) / 1000) }, 'Redis answers again: rate limits are shared once more');
    degradedSince = 0;
    lastWarning = 0;
  }
  return async function either<T>(onRedis: () => Promise<T>, onLocal: () => Promise<T> | T): Promise<T> {
    if (redis.status === 'ready') {
      try {
        const value = await onRedis();
        recovered();
        return value;
      } catch (err) {
        degraded(err);
      }
    } else {
      degraded(new Error(`connection ${redis.status}`));
    }
    return onLocal();
  };
}

/**
 * A rate-limit store on Redis (rate-limit-redis: one script, one round trip per count) that falls back
 * to this instance's own memory while Redis does not answer (redisOrLocal).
 */
export function sharedStore(redis: Redis, prefix: string, log: Log): Store {
  const shared = new RedisStore({ prefix, sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as never });
  const local = new MemoryStore();
  const either = redisOrLocal(redis, prefix, log);

  // rate-limit-redis loads its scripts once, at init; loaded while Redis was away, they would stay
  // failed. They are loaded again whenever the connection is (re)established.
  function loadScripts() {
    if (shared.windowMs === undefined) return;
    shared.incrementScriptSha = shared.loadIncrementScript();
    shared.getScriptSha = shared.loadGetScript();
    shared.incrementScriptSha.catch(() => undefined);
    shared.getScriptSha.catch(() => undefined);
  }
  redis.on('ready', loadScripts);

  return {
    init(options: Options) {
      shared.windowMs = options.windowMs;
      loadScripts();
      local.init(options);
    },
    increment: (key: string): Promise<IncrementResponse> => either(() => shared.increment(key), () => local.increment(key)),
    decrement: (key: string): Promise<void> => either(() => shared.decrement(key), () => local.decrement(key)),
    resetKey: (key: string): Promise<void> => either(() => shared.resetKey(key), () => local.resetKey(key)),
    get: (key: string): Promise<ClientRateLimitInfo | undefined> => either(() => shared.get(key), () => local.get(key)),
  };
}
