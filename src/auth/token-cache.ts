/**
 * PAT lookups (the token with its creator), kept by each instance for at most `ttlMs`, so the hot path
 * skips one database round trip a request (issue 18: on PostgreSQL ~120 µs of ~400, measured by
 * `npm run bench`).
 *
 * The invariant: once a write that narrows what a token may do (a revoke, a rotation, a role change, a
 * disabled account, any change of the creator) has been answered, no instance anywhere serves a
 * request from what it knew before that write. Three rules keep it:
 * 1. The writer calls `changed()` after its transaction commits and answers only when it returns: it
 *    forgets here at once, then waits until every other live instance has acknowledged forgetting
 *    (over Redis), or until `ttlMs` has passed, after which every entry that could predate the commit
 *    has expired anyway. Acknowledgements only make it quicker; the bound alone is enough.
 * 2. "Live" is a lease: an instance caches only while it holds one in Redis's registry (renewed, by the
 *    server's clock, while its subscription to invalidations is up). An instance whose lease lapsed,
 *    by its own clock first (it counts from before the renewal was sent), forgets everything, so an
 *    instance a writer did not see holds nothing older than the writer's commit.
 * 3. A lookup that began before an invalidation is answered but not kept (an epoch counter), so a read
 *    racing a write cannot store the old row after the write was forgotten.
 * On the embedded SQLite store no one needs telling: every process on the file writes through it, and
 * SQLite counts the commits other connections made (`PRAGMA data_version`, ~1 µs on the one
 * connection). Each lookup reads that count first and forgets everything when it moved; this process's
 * own writes call `changed()`. A writer anywhere is thus seen by the very next lookup, and never waits.
 * On PostgreSQL without Redis nothing is kept: there is no one to tell, and no count to read.
 * Unknown hashes are never kept: a new token needs no invalidation.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

export interface TokenCache {
  /** `load`'s answer for this hash, or a fresh enough earlier one (never for a hash that was unknown). */
  lookup<T extends object>(hash: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
  /** After a commit that changes a token or a user: returns once no instance can serve the old state. */
  changed(): Promise<void>;
  close(): Promise<void>;
}

interface Options {
  redisUrl?: string;
  redisPrefix: string;
  ttlMs: number;
  /** Whether this process serves requests from the cache (servers), or only writes (the worker, the CLI). */
  caches: boolean;
  log: { warn(obj: object, msg: string): void };
  /**
   * The embedded SQLite store's commit count by other connections (`PRAGMA data_version` on its one
   * connection), when the database is SQLite: then Redis is not needed, nor used.
   */
  dataVersion?: () => number | undefined;
  /** Monotonic milliseconds; a test may drive it. */
  now?: () => number;
}

/** Renewed three times a lease, so one lost renewal does not lapse it. */
const LEASE_MS = 3000;
const MAX_ENTRIES = 100_000;

// The registry is a sorted set: member = instance id, score = when its lease ends, by Redis's own clock,
// so instances' clocks never have to agree. Sent as EVAL (once a second, and once a change), so the
// rate limits' EVALSHA stays the one script a request costs (test/contract/shared-limits.test.ts).
const RENEW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1`;
const LIVE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')`;

export function createTokenCache(options: Options): TokenCache {
  const now = options.now ?? (() => performance.now());
  const { ttlMs } = options;
  /** Servers keep lookups; writers that serve no request (the worker, the CLI) only announce changes. */
  const keeps = options.caches && ttlMs > 0;
  const entries = new Map<string, { value: object; expiresAt: number }>();
  let epoch = 0;
  /** Until when (monotonic) this instance may serve from its entries: its lease, as it counts it. */
  let usableUntil = 0;
  const { dataVersion } = options;
  let seenVersion: number | undefined;
  const peers = !dataVersion && options.redisUrl ? connectPeers(options.redisUrl) : undefined;

  function forgetAll() {
    epoch += 1;
    entries.clear();
  }

  function usable(at: number) {
    if (dataVersion) {
      if (!keeps) return false;
      // Another process committed since the last lookup: it may have changed any token or user.
      const version = dataVersion();
      if (version === undefined) return false;
      if (version !== seenVersion) {
        forgetAll();
        seenVersion = version;
      }
      return true;
    }
    if (at < usableUntil) return true;
    if (entries.size > 0) forgetAll();
    return false;
  }

  function connectPeers(url: string) {
    const id = randomBytes(9).toString('base64url');
    const registry = `${options.redisPrefix}pat-cache:peers`;
    const invalidations = `${options.redisPrefix}pat-cache:invalidate`;
    const acksTo = (peer: string) => `${options.redisPrefix}pat-cache:ack:${peer}`;
    const connect = () => new Redis(url, {
      enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500, connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    const command = connect();
    const subscriber = connect();
    command.on('error', () => undefined);
    subscriber.on('error', () => undefined);
    const waiting = new Map<string, { pending: Set<string>; done: () => void }>();
    let subscribed = false;
    let renewing = false;
    // Acknowledgements come on this process's own channel: a writer publishes only once it listens.
    const listening: Promise<void> = new Promise((resolve) => {
      subscriber.on('ready', () => {
        subscriber.subscribe(invalidations, acksTo(id)).then(() => {
          subscribed = true;
          resolve();
          void renew();
        }, () => undefined);
      });
    });
    // A lost subscription may miss an invalidation: stop serving from memory at once.
    subscriber.on('close', () => {
      subscribed = false;
      usableUntil = 0;
      forgetAll();
    });
    subscriber.on('message', (channel: string, message: string) => {
      const [nonce, from] = message.split(' ');
      if (!nonce || !from) return;
      if (channel === invalidations) {
        if (from === id) return;
        forgetAll();
        command.publish(acksTo(from), `${nonce} ${id}`).catch(() => undefined);
      } else {
        const wait = waiting.get(nonce);
        wait?.pending.delete(from);
        if (wait && wait.pending.size === 0) wait.done();
      }
    });

    async function renew() {
      if (!keeps || !subscribed || renewing) return;
      renewing = true;
      const sentAt = now();
      try {
        await command.eval(RENEW, 1, registry, LEASE_MS, id);
        // Lapsed before this renewal: what it holds, or is reading, may predate a change no one told it
        // about (the registry did not list it), so that is forgotten, in-flight reads included.
        if (sentAt >= usableUntil) forgetAll();
        if (subscribed) usableUntil = sentAt + LEASE_MS;
      } catch {
        // Not renewed: the lease runs out by itself, and with it this instance's entries.
      } finally {
        renewing = false;
      }
    }
    const timer = setInterval(() => void renew(), LEASE_MS / 3);
    timer.unref();

    return {
      /** Tells every other live instance to forget; resolves when all have said so, or at `deadline`. */
      async invalidate(deadline: number): Promise<void> {
        let live: string[];
        try {
          // A process that just started (the admin CLI) may not be connected yet; its commands fail fast.
          if (command.status !== 'ready') await byDeadline(deadline, new Promise((resolve) => command.once('ready', resolve)));
          live = ((await command.eval(LIVE, 1, registry)) as string[]).filter((peer) => peer !== id);
        } catch {
          return byDeadline(deadline);
        }
        if (live.length === 0) return;
        if (!subscribed) await byDeadline(deadline, listening);
        const nonce = randomBytes(9).toString('base64url');
        const acknowledged = new Promise<void>((resolve) => waiting.set(nonce, { pending: new Set(live), done: resolve }));
        try {
          await command.publish(invalidations, `${nonce} ${id}`);
        } catch {
          // Unsent: no one will answer; the deadline stands.
        }
        await byDeadline(deadline, acknowledged);
        const silent = waiting.get(nonce)?.pending;
        waiting.delete(nonce);
        if (silent && silent.size > 0) {
          options.log.warn({ instances: [...silent], waited_ms: ttlMs }, 'instances did not acknowledge a change to a token or user; it was answered once PAT_CACHE_MS had passed');
        }
      },
      async close() {
        clearInterval(timer);
        usableUntil = 0;
        await Promise.all([command.quit().catch(() => undefined), subscriber.quit().catch(() => undefined)]);
      },
    };
  }

  /** Until `promise` settles or the deadline comes (without one, the deadline); no timer outlives it. */
  async function byDeadline(deadline: number, promise?: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const due = new Promise((resolve) => { timer = setTimeout(resolve, Math.max(0, deadline - now())); });
    try {
      await (promise ? Promise.race([promise, due]) : due);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async lookup(hash, load) {
      const startedAt = now();
      if (!usable(startedAt)) return load();
      const kept = entries.get(hash);
      if (kept && kept.expiresAt > startedAt) return kept.value as Awaited<ReturnType<typeof load>>;
      const startedEpoch = epoch;
      const value = await load();
      if (kept) entries.delete(hash);
      // Kept only if nothing was forgotten since the read began, and the lease held when it began.
      if (value && epoch === startedEpoch) {
        if (entries.size >= MAX_ENTRIES) entries.clear();
        entries.set(hash, { value: deepFreeze(value), expiresAt: startedAt + ttlMs });
      }
      return value;
    },
    async changed() {
      forgetAll();
      if (!peers || ttlMs <= 0) return;
      await peers.invalidate(now() + ttlMs);
    },
    async close() {
      forgetAll();
      await peers?.close();
    },
  };
}

/** A kept lookup is shared by every request that hits it: none may change it for the others. */
function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner && typeof inner === 'object' && !Object.isFrozen(inner)) deepFreeze(inner);
  }
  return Object.freeze(value);
}
