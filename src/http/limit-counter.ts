import type Redis from 'ioredis';
import { type Log, redisOrLocal } from './shared-store';

/** A fixed window's count: hits so far (this request included) and milliseconds until it resets. */
export interface WindowCount {
  hits: number;
  resetMs: number;
}

export interface CountRequest {
  /** The address's failed-authentication counter. */
  address: string;
  /** Count this request against the address while it runs (a credential not yet known to be good). */
  inFlight: boolean;
  /** The credential's bucket, and the user's aggregate bucket when the credential's user is known. */
  credential: string;
  user?: string;
}

export type CountResult =
  | { blocked: true; retryAfterMs: number }
  | { blocked: false; own: WindowCount; user?: WindowCount };

/**
 * Every count one request needs, made in one round trip: the address gate (refused while the address's
 * failed authentications reach the limit), the request counted against its address while in flight,
 * and the credential's and user's buckets. `settle` runs after the answer (a 401 counted, an in-flight
 * count released) and `countUser` once per credential an instance has not seen before; neither is on
 * the path of a known credential's request.
 */
export interface LimitCounter {
  count(request: CountRequest): Promise<CountResult>;
  countUser(key: string): Promise<WindowCount>;
  /** `fail`: one more failed authentication for the address; `release`: the in-flight count ends. */
  settle(address: string, outcome: 'fail' | 'release'): Promise<void>;
}

export interface Windows {
  failures: number;
  failureWindowMs: number;
  requestWindowMs: number;
}

/** Fixed windows in this process's memory: one instance, or the fallback while Redis is away. */
export function memoryCounter(windows: Windows, now: () => number = Date.now): LimitCounter & { sweep(): void } {
  const windowsByKey = new Map<string, { hits: number; resetAt: number }>();
  const current = (key: string, windowMs: number, at: number) => {
    let entry = windowsByKey.get(key);
    if (!entry || entry.resetAt <= at) {
      entry = { hits: 0, resetAt: at + windowMs };
      windowsByKey.set(key, entry);
    }
    return entry;
  };
  const add = (key: string, windowMs: number): WindowCount => {
    const at = now();
    const entry = current(key, windowMs, at);
    entry.hits += 1;
    return { hits: entry.hits, resetMs: entry.resetAt - at };
  };
  const sweeper = setInterval(() => sweep(), Math.max(windows.requestWindowMs, windows.failureWindowMs));
  sweeper.unref();
  function sweep() {
    const at = now();
    for (const [key, entry] of windowsByKey) if (entry.resetAt <= at) windowsByKey.delete(key);
  }

  return {
    sweep,
    async count({ address, inFlight, credential, user }) {
      const at = now();
      const gate = windowsByKey.get(address);
      if (gate && gate.resetAt > at && gate.hits >= windows.failures) return { blocked: true, retryAfterMs: gate.resetAt - at };
      if (inFlight) add(address, windows.failureWindowMs);
      return { blocked: false, own: add(credential, windows.requestWindowMs), user: user === undefined ? undefined : add(user, windows.requestWindowMs) };
    },
    async countUser(key) {
      return add(key, windows.requestWindowMs);
    },
    async settle(address, outcome) {
      if (outcome === 'fail') return void add(address, windows.failureWindowMs);
      const entry = windowsByKey.get(address);
      if (entry && entry.hits > 0) entry.hits -= 1;
    },
  };
}

// One script per decision, so the gate, the in-flight count and both buckets are one round trip and
// one atomic step (no other request's count lands between the gate's read and this request's counts).
const COUNT_SCRIPT = `
local function add(key, windowMs)
  local hits = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if hits == 1 or ttl < 0 then redis.call('PEXPIRE', key, windowMs); ttl = tonumber(windowMs) end
  return {hits, ttl}
end
local fails = tonumber(redis.call('GET', KEYS[1]) or '0')
if fails >= tonumber(ARGV[1]) then return {-1, redis.call('PTTL', KEYS[1])} end
if ARGV[4] == '1' then add(KEYS[1], ARGV[2]) end
local own = add(KEYS[2], ARGV[3])
if #KEYS < 3 then return {own[1], own[2]} end
local user = add(KEYS[3], ARGV[3])
return {own[1], own[2], user[1], user[2]}
`;
const ADD_SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {hits, redis.call('PTTL', KEYS[1])}
`;
const RELEASE_SCRIPT = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0
`;

type Scripted = Redis & {
  gpxCount(...args: Array<string | number>): Promise<number[]>;
  gpxAdd(key: string, windowMs: number): Promise<number[]>;
  gpxRelease(key: string): Promise<number>;
};

/**
 * The counts on Redis, shared by every instance (`REDIS_URL`); while Redis does not answer, this
 * instance's memory counts instead (redisOrLocal in shared-store.ts).
 * ioredis sends each script by its SHA once loaded (EVALSHA), so a request costs one short command.
 */
export function redisCounter(redis: Redis, prefix: string, windows: Windows, log: Log): LimitCounter {
  const scripted = redis as Scripted;
  if (!('gpxCount' in redis)) {
    redis.defineCommand('gpxCount', { lua: COUNT_SCRIPT });
    redis.defineCommand('gpxAdd', { numberOfKeys: 1, lua: ADD_SCRIPT });
    redis.defineCommand('gpxRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  }
  const local = memoryCounter(windows);
  const either = redisOrLocal(redis, prefix, log);

  return {
    count: (request) => either(async () => {
      const keys = [prefix + request.address, prefix + request.credential, ...(request.user === undefined ? [] : [prefix + request.user])];
      const reply = await scripted.gpxCount(keys.length, ...keys, windows.failures, windows.failureWindowMs, windows.requestWindowMs, request.inFlight ? 1 : 0);
      if (reply[0] === -1) return { blocked: true as const, retryAfterMs: Math.max(0, reply[1]!) };
      return {
        blocked: false as const,
        own: { hits: reply[0]!, resetMs: reply[1]! },
        user: reply.length > 2 ? { hits: reply[2]!, resetMs: reply[3]! } : undefined,
      };
    }, () => local.count(request)),
    countUser: (key) => either(async () => {
      const [hits, resetMs] = await scripted.gpxAdd(prefix + key, windows.requestWindowMs);
      return { hits: hits!, resetMs: resetMs! };
    }, () => local.countUser(key)),
    settle: (address, outcome) => either(async () => {
      if (outcome === 'fail') await scripted.gpxAdd(prefix + address, windows.failureWindowMs);
      else await scripted.gpxRelease(prefix + address);
    }, () => local.settle(address, outcome)),
  };
}
