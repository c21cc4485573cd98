import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, MemoryStore, type Options, type Store } from 'express-rate-limit';
import type { Config } from '../core/config';
import { tooManyRequests } from '../core/errors';

/** One bucket per credential: a token, a browser session, a user's JWTs; addresses for the anonymous. */
export function rateLimitKey(req: Request): string {
  const auth = req.auth;
  switch (auth?.kind) {
    case 'pat': return `pat:${auth.token.id}`;
    case 'session': return `session:${auth.session.idHash}`;
    case 'jwt':
    case 'pending': return `user:${auth.user.id}`;
    default: return `ip:${addressOf(req)}`;
  }
}

/** The aggregate bucket of a credential that is one of several a user may hold (tokens, sessions). */
function userKey(req: Request): string | undefined {
  const auth = req.auth;
  return auth?.kind === 'pat' || auth?.kind === 'session' ? `all:${auth.user.id}` : undefined;
}

/** The client's address (after the trust-proxy walk), IPv6 grouped by /56 as express-rate-limit does. */
const addressOf = (req: Request) => ipKeyGenerator(req.ip ?? '');

/** When a store's window ends: its reset time, or (a store that gives none) a window from now. */
const resetOf = (resetTime: Date | undefined, windowMs: number) => resetTime ?? new Date(Date.now() + windowMs);
const secondsUntil = (at: Date) => Math.max(0, Math.ceil((at.getTime() - Date.now()) / 1000));

/**
 * Per-credential limits with the IETF `RateLimit` and `RateLimit-Policy` fields
 * (draft-ietf-httpapi-ratelimit-headers, Structured Fields). Runs after authorization, so the bucket is
 * the caller's credential; a PAT or browser session also counts against its user's aggregate bucket
 * (`RATE_LIMIT_USER_REQUESTS`), so that minting more tokens does not buy more requests. A request over
 * either limit gets 429 in the error envelope with `Retry-After`; `RateLimit-Policy` lists the quotas
 * that apply and `RateLimit` describes the one closer to running out; `req.rateLimit` tells GET /api/usage.
 *
 * The counting is express-rate-limit's store (its fixed window, expiry sweep and Store interface, so a
 * shared store such as rate-limit-redis can replace the in-memory one). Its middleware is not used:
 * around one Map update it awaited five times, ran its misconfiguration checks and read `req.ip` for a
 * debug line on every request, 15 µs of a ~155 µs hot path; this one costs ~2 µs (`npm run bench`).
 */
export function perCredentialRateLimit(config: Pick<Config, 'rateLimit'>, store: Store = new MemoryStore()): RequestHandler {
  const { requests: limit, userRequests: userLimit, windowSeconds } = config.rateLimit;
  const windowMs = windowSeconds * 1000;
  store.init?.({ windowMs } as Options);
  // The policy fields are the same for every request of a kind: made once.
  const credentialPolicy = `"credential";q=${limit};w=${windowSeconds}`;
  const policies = {
    credential: credentialPolicy,
    withUser: `${credentialPolicy}, "user";q=${userLimit};w=${windowSeconds}`,
    address: `"address";q=${limit};w=${windowSeconds}`,
  };

  return async (req, res, next) => {
    if (req.operation?.rateLimited === false || req.auth?.kind === 'internal') return next();
    const own = await store.increment(rateLimitKey(req));
    const aggregate = userKey(req);
    const all = aggregate === undefined ? undefined : await store.increment(aggregate);
    // The bucket that runs out first is the one the RateLimit field describes.
    const ownLeft = limit - own.totalHits;
    const tighter = all !== undefined && userLimit - all.totalHits < ownLeft;
    const [cap, hits, resetTime] = tighter ? [userLimit, all!.totalHits, all!.resetTime] : [limit, own.totalHits, own.resetTime];
    // The memory store gives each window a new Date, so it is safe to keep.
    const resetAt = resetOf(resetTime, windowMs);
    const resetSeconds = secondsUntil(resetAt);
    const remaining = Math.max(cap - hits, 0);
    req.rateLimit = { limit: cap, used: hits, remaining, resetTime: resetAt };
    const name = tighter ? 'user' : req.auth === undefined ? 'address' : 'credential';
    res.setHeader('RateLimit-Policy', aggregate !== undefined ? policies.withUser : req.auth === undefined ? policies.address : policies.credential);
    res.setHeader('RateLimit', `"${name}";r=${remaining};t=${resetSeconds}`);
    if (hits > cap) {
      const retryAfter = Math.max(1, resetSeconds);
      const whose = tighter ? 'all credentials of this user together' : req.auth === undefined ? 'this address' : 'this credential';
      throw tooManyRequests(retryAfter, `Rate limit of ${cap} requests per ${windowSeconds} s reached for ${whose}; retry after ${retryAfter} s.`);
    }
    next();
  };
}

/**
 * Requests that fail authentication, per address, refused before any credential is looked up: without
 * it, a flood of unknown (but checksum-valid) PATs costs a database read each and is never limited,
 * since it never reaches a credential's bucket. Every request counts while it runs and stays counted
 * only if it ends in 401, so a burst sent in parallel is counted before any of it is answered; past
 * `ADDRESS_AUTH_FAILURES` in the window the address gets 429 with `Retry-After` until the window ends.
 */
export function perAddressAuthFailures(config: Pick<Config, 'addressLimit'>, store: Store = new MemoryStore()): RequestHandler {
  const { failures: limit, windowSeconds } = config.addressLimit;
  const windowMs = windowSeconds * 1000;
  store.init?.({ windowMs } as Options);

  return async (req, res, next) => {
    if (req.operation?.rateLimited === false) return next();
    const key = `authfail:${addressOf(req)}`;
    const { totalHits, resetTime } = await store.increment(key);
    if (totalHits > limit) {
      const retryAfter = Math.max(1, secondsUntil(resetOf(resetTime, windowMs)));
      throw tooManyRequests(retryAfter, `Too many requests from this address failed authentication; retry after ${retryAfter} s.`);
    }
    res.once('close', () => {
      if (res.statusCode !== 401) void Promise.resolve(store.decrement(key)).catch(() => undefined);
    });
    next();
  };
}
