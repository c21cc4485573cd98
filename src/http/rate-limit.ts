import { hash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { BEARER_CREDENTIAL, INTERNAL_KEY_PREFIX, sessionCookieName } from '../auth/authenticate';
import { PAT_PREFIX } from '../auth/token-format';
import type { Config } from '../core/config';
import { tooManyRequests } from '../core/errors';
import type { CountResult, LimitCounter, WindowCount } from './limit-counter';

/** What the limits know about a request between its stages (req.limits). */
export interface LimitState {
  credential: string;
  address: string;
  /**
   * The credential has not yet authenticated on this instance: the request counts against its address
   * while it runs, and its user's aggregate is counted after authentication.
   */
  firstSeen: boolean;
}

/** The client's address (after the trust-proxy walk), IPv6 grouped by /56 as express-rate-limit does. */
const addressOf = (req: Request) => ipKeyGenerator(req.ip ?? '');
// 128 bits of SHA-256, base64url: short keys are fewer bytes to send to Redis on every request.
const digest = (value: string) => hash('sha256', value, 'base64url').slice(0, 22);

/**
 * The bucket of the credential a request presents, named before anything is looked up: a digest of
 * the PAT, JWT or session cookie itself (a credential's identity, like its stored hash), or the address
 * for a request that presents none. Undefined for an internal key, which is never rate limited.
 */
function presentedCredential(req: Request, cookieName: string): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const raw = BEARER_CREDENTIAL.exec(header)?.[1] ?? header;
    if (raw.startsWith(INTERNAL_KEY_PREFIX)) return undefined;
    return `${raw.startsWith(PAT_PREFIX) ? 'pat' : 'jwt'}:${digest(raw)}`;
  }
  const cookie = (req.cookies as Record<string, string> | undefined)?.[cookieName];
  return cookie ? `session:${digest(cookie)}` : `ip:${addressOf(req)}`;
}

/** Credentials this instance has seen authenticate, with their user: a credential never changes owner. */
class KnownCredentials {
  private readonly users = new Map<string, string>();
  constructor(private readonly capacity = 50_000) {}
  userOf(credential: string): string | undefined {
    return this.users.get(credential);
  }
  learn(credential: string, userId: string): void {
    if (this.users.has(credential)) return;
    // Oldest first out: a Map iterates in insertion order.
    if (this.users.size >= this.capacity) this.users.delete(this.users.keys().next().value!);
    this.users.set(credential, userId);
  }
}

const userOfAuth = (req: Request): string | undefined => {
  const auth = req.auth;
  return auth && 'user' in auth ? auth.user.id : undefined;
};

/**
 * Rate limits and the failed-authentication gate, in one round trip to the counter per request
 * (docs/conventions.md#rate-limits):
 * - each credential has a bucket (`RATE_LIMIT_REQUESTS`), anonymous callers one per address;
 * - all of a user's credentials share an aggregate bucket (`RATE_LIMIT_USER_REQUESTS`), so minting
 *   tokens or signing in again does not buy more requests;
 * - requests that fail authentication are counted per address (`ADDRESS_AUTH_FAILURES`), and past
 *   that the address is refused before any credential is looked up. A request whose credential this
 *   instance has not yet seen succeed is counted while it runs and stays counted only if it ends in
 *   401, so a burst of unknown tokens sent in parallel is stopped before its lookups are made.
 *
 * `count` runs before authentication: the credential is named by a digest of what was presented, the
 * user by what this instance learnt when that credential last authenticated. For a credential seen
 * here before, that is the only count. The first request of a credential on an instance also counts
 * its user's aggregate after authentication (`countFirstSeenUser`); and a request that ends in 401, or
 * that was counted in flight, settles after its answer (`settle`), off the request's path.
 *
 * The answer carries the IETF `RateLimit-Policy` (the quotas that apply) and `RateLimit` (the one
 * closer to running out) fields; past a limit it is 429 in the error envelope with `Retry-After`;
 * `req.rateLimit` tells GET /api/usage.
 */
export function createRateLimits(config: Pick<Config, 'rateLimit' | 'cookieSecure'>, counter: LimitCounter) {
  const { requests: limit, userRequests: userLimit, windowSeconds } = config.rateLimit;
  const cookieName = sessionCookieName(config);
  const known = new KnownCredentials();
  // The policy fields are the same for every request of a kind: made once.
  const credentialPolicy = `"credential";q=${limit};w=${windowSeconds}`;
  const policies = { credential: `${credentialPolicy}, "user";q=${userLimit};w=${windowSeconds}`, address: `"address";q=${limit};w=${windowSeconds}` };

  function describe(req: Request, res: Response, name: 'credential' | 'user' | 'address', cap: number, count: WindowCount): void {
    const remaining = Math.max(cap - count.hits, 0);
    const resetSeconds = Math.max(0, Math.ceil(count.resetMs / 1000));
    req.rateLimit = { limit: cap, used: count.hits, remaining, resetTime: new Date(Date.now() + count.resetMs) };
    res.setHeader('RateLimit', `"${name}";r=${remaining};t=${resetSeconds}`);
    if (count.hits > cap) {
      const retryAfter = Math.max(1, resetSeconds);
      const whose = name === 'user' ? 'all credentials of this user together' : name === 'address' ? 'this address' : 'this credential';
      throw tooManyRequests(retryAfter, `Rate limit of ${cap} requests per ${windowSeconds} s reached for ${whose}; retry after ${retryAfter} s.`);
    }
  }

  /** The bucket of the two that runs out first, and its name. */
  function tighter(own: WindowCount, user: WindowCount | undefined): ['credential' | 'user', number, WindowCount] {
    return user !== undefined && userLimit - user.hits < limit - own.hits ? ['user', userLimit, user] : ['credential', limit, own];
  }

  /** Before authentication: the gate and every count this request needs, in one round trip. */
  const count: RequestHandler = async (req, res, next) => {
    if (req.operation?.rateLimited === false) return next();
    const address = `authfail:${addressOf(req)}`;
    const credential = presentedCredential(req, cookieName);
    const anonymous = credential === undefined || credential.startsWith('ip:');
    const user = credential === undefined ? undefined : known.userOf(credential);
    const state: LimitState = {
      credential: credential ?? 'internal',
      address,
      firstSeen: !anonymous && user === undefined,
    };
    const result: CountResult = await counter.count({ address, inFlight: state.firstSeen, credential: state.credential, user: user === undefined ? undefined : `all:${user}` });
    if (result.blocked) {
      const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
      throw tooManyRequests(retryAfter, `Too many requests from this address failed authentication; retry after ${retryAfter} s.`);
    }
    req.limits = state;
    // An internal key is never limited; it is counted only for the address gate.
    if (credential === undefined) return next();
    res.setHeader('RateLimit-Policy', anonymous ? policies.address : policies.credential);
    if (anonymous) describe(req, res, 'address', limit, result.own);
    else describe(req, res, ...tighter(result.own, result.user));
    next();
  };

  /** After authentication, on an instance's first request of a credential: its user's aggregate. */
  const countFirstSeenUser: RequestHandler = async (req, res, next) => {
    const state = req.limits;
    const userId = state?.firstSeen ? userOfAuth(req) : undefined;
    if (!state || userId === undefined) return next();
    known.learn(state.credential, userId);
    const user = await counter.countUser(`all:${userId}`);
    if (userLimit - user.hits < limit - (req.rateLimit?.used ?? 0)) describe(req, res, 'user', userLimit, user);
    next();
  };

  /**
   * When the answer has been sent (the request log's `finish` hook, so no listener of its own): a 401
   * counts against the address, an in-flight count that did not fail is released, and a credential
   * that authenticated is remembered with its user. A request cut off before its answer keeps its
   * in-flight count until the window ends.
   */
  function settle(req: Request, res: Response): void {
    const state = req.limits;
    if (!state) return;
    const userId = state.firstSeen ? userOfAuth(req) : undefined;
    if (userId !== undefined) known.learn(state.credential, userId);
    const failed = res.statusCode === 401;
    if (failed === state.firstSeen) return; // counted in flight and failed: it stays; neither: nothing to do
    void counter.settle(state.address, failed ? 'fail' : 'release').catch(() => undefined);
  }

  return { count, countFirstSeenUser, settle };
}
