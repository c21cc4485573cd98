import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Config } from '../core/config';
import type { Contract } from '../contract/spec';
import type { Repositories } from '../db/repositories';
import type { UserRecord } from '../db/repositories/users.repository';
import type { TokenRecord } from '../db/repositories/tokens.repository';
import { addSeconds, Clock, iso } from '../core/clock';
import { InvalidJwt, JwtService } from './jwt';
import type { Principal } from './principal';
import type { TokenCache } from './token-cache';
import { csrfTokenFor, sha256 } from './session-secrets';
import { effectiveScopes, grantOf, roleScopes } from './scopes';
import { hashToken, isWellFormedPat, PAT_PREFIX } from './token-format';
import { authenticationRequired, invalidRequest, invalidToken } from './www-authenticate';

export const INTERNAL_KEY_PREFIX = 'gpx_int_';
export const LAST_USED_RESOLUTION_SECONDS = 60;
const QUERY_TOKEN_PARAMS = ['access_token', 'token', 'api_key'];
/** RFC 6750 §2.1: `Authorization: Bearer <token>`; the token is the first group. */
export const BEARER_CREDENTIAL = /^Bearer +([^\s]+) *$/i;

function hasQueryToken(query: Request['query']): boolean {
  return QUERY_TOKEN_PARAMS.some((p) => query[p] !== undefined);
}

export function sessionCookieName(config: Pick<Config, 'cookieSecure'>): string {
  // __Host- binds the cookie to this exact origin (Secure, Path=/, no Domain); browsers refuse it
  // without Secure, so plain-HTTP development uses the unprefixed name.
  return config.cookieSecure ? '__Host-gpx_session' : 'gpx_session';
}

interface Deps {
  config: Config;
  contract: Contract;
  repos: Repositories;
  jwt: JwtService;
  /** Records audit events (the services' audit log), handed down so auth never imports a service. */
  audit: { record(event: { userId: string; type: 'token.first_used'; tokenId: string; ip: string | null }): Promise<void> };
  clock: Clock;
  tokenCache: TokenCache;
}

/**
 * Finds the one credential a request carries and turns it into a principal, or throws the 401/400
 * that explains what is wrong with it. Returns undefined when the request carries none.
 */
export function createAuthenticator(deps: Deps) {
  const { config, contract, repos, jwt, clock } = deps;
  const cookieName = sessionCookieName(config);
  const internalKeyDigest = sha256(config.internalApiKey);
  const recentlyTouched = new Map<string, number>();
  // The same few (grant, role) combinations recur on every request: remember their set algebra.
  const grants = new Map<string, { grant: readonly string[]; effective: readonly string[] }>();

  return async function authenticate(req: Request): Promise<Principal | undefined> {
    const header = req.headers.authorization;
    const cookie = (req.cookies as Record<string, string> | undefined)?.[cookieName];
    // req.query re-parses the query string on every read (express 5): look only when there is one.
    const queryToken = req.url.includes('?') && hasQueryToken(req.query);

    // RFC 6750 §2.3 would allow a query token; we never do, because URLs end up in logs and history.
    if (queryToken && (header || cookie)) throw invalidRequest('Send exactly one credential; tokens in the URL are never accepted.');
    if (header && cookie) throw invalidRequest('Send either an Authorization header or the session cookie, not both.');
    if (queryToken) throw authenticationRequired('Tokens in the URL are never accepted; send Authorization: Bearer <token>.');

    if (header) {
      const match = BEARER_CREDENTIAL.exec(header);
      if (!match) throw invalidToken('Use the Bearer scheme: Authorization: Bearer <token>.');
      const raw = match[1]!;
      if (raw.startsWith(PAT_PREFIX)) return resolvePat(req, raw);
      if (raw.startsWith(INTERNAL_KEY_PREFIX)) return resolveInternal(raw);
      return resolveJwt(raw);
    }
    if (cookie) return resolveSession(req, cookie);
    return undefined;
  };

  function effectiveGrant(scopes: readonly string[], tokenRole: string | null, userRole: string) {
    const key = `${scopes.join(' ')}|${tokenRole ?? ''}|${userRole}`;
    let found = grants.get(key);
    if (!found) {
      found = { grant: grantOf(contract, scopes, tokenRole), effective: effectiveScopes(contract, scopes, tokenRole, userRole) };
      if (grants.size > 10_000) grants.clear();
      grants.set(key, found);
    }
    return found;
  }

  function userScopes(user: UserRecord): string[] {
    return roleScopes(contract, user.role);
  }

  function assertActive(user: UserRecord): void {
    if (user.disabledAt) throw invalidToken('This account is disabled.');
  }

  async function resolvePat(req: Request, raw: string): Promise<Principal> {
    if (!isWellFormedPat(raw)) throw invalidToken('The token is malformed or its checksum does not match.');
    const hash = hashToken(raw);
    const current = await deps.tokenCache.lookup(hash, () => repos.tokens.findByHashWithUser(hash));
    // A value a rotation with grace replaced: looked up only when no current value matches.
    const found = current ?? (await repos.tokens.findByPreviousHashWithUser(hash));
    if (!found) throw invalidToken('The token is not recognised.');
    const { token, user } = found;
    const now = clock();
    if (token.revokedAt) throw invalidToken('The token was revoked.');
    if (token.expiresAt && token.expiresAt <= iso(now)) throw invalidToken('The token has expired.');
    const replacedValue = current === undefined;
    if (replacedValue && !(token.previous && token.previous.expiresAt > iso(now))) {
      throw invalidToken('This value was replaced when the token was rotated and its grace period is over; use the new value.');
    }
    assertActive(user);
    if (replacedValue) await recordPreviousUse(token, req, now);
    else await recordUse(token.id, token.userId, token.lastUsedAt, req, now);
    // Never more than the creator may do *now*: a demotion shrinks every token at once.
    const { grant, effective } = effectiveGrant(token.scopes, token.role, user.role);
    return { kind: 'pat', user, token, grant, scopes: effective, twoFactorVerified: false, ...(replacedValue ? { replacedValue: true as const } : {}) };
  }

  /**
   * last_used_at is written at most once a minute per token (DESIGN §7): the in-memory map spares
   * the query, and the conditional UPDATE keeps several instances from writing more often. A value
   * replaced by a rotation with grace has its own last use (key `<id>#previous`), throttled the same.
   */
  async function recordUse(tokenId: string, userId: string, lastUsedAt: string | null, req: Request, now: Date) {
    const touched = await throttledTouch(tokenId, lastUsedAt, req, now, (at, address, staleBefore) => repos.tokens.touch(tokenId, at, address, staleBefore));
    if (touched && touched.first) {
      await deps.audit.record({ userId, type: 'token.first_used', tokenId, ip: touched.address });
    }
  }

  async function recordPreviousUse(token: TokenRecord, req: Request, now: Date) {
    await throttledTouch(`${token.id}#previous`, token.previous?.lastUsedAt ?? null, req, now,
      (at, address, staleBefore) => repos.tokens.touchPrevious(token.id, at, address, staleBefore));
  }

  /** Runs `write` unless this instance, or the stored last use, says it happened within the minute. */
  async function throttledTouch<T>(key: string, lastUsedAt: string | null, req: Request, now: Date,
    write: (at: string, ip: string | null, staleBefore: string) => Promise<T>): Promise<false | (T & { address: string | null })> {
    // Cheapest test first: this instance wrote it within the minute (a number compare, no strings).
    const touchedAt = recentlyTouched.get(key);
    if (touchedAt && touchedAt >= now.getTime() - LAST_USED_RESOLUTION_SECONDS * 1000) return false;
    const staleBefore = iso(addSeconds(now, -LAST_USED_RESOLUTION_SECONDS));
    if (lastUsedAt && lastUsedAt >= staleBefore) return false;
    recentlyTouched.set(key, now.getTime());
    if (recentlyTouched.size > 50_000) recentlyTouched.clear();
    // req.ip walks X-Forwarded-For through the trust-proxy rules: read it only when it is written.
    const address = req.ip ?? null;
    return { ...(await write(iso(now), address, staleBefore)), address };
  }

  async function resolveJwt(raw: string): Promise<Principal> {
    let claims;
    try {
      claims = await jwt.verify(raw);
    } catch (err) {
      if (err instanceof InvalidJwt) throw invalidToken(`The token is not valid (${err.message}).`);
      throw err;
    }
    const user = await repos.users.findById(claims.userId);
    if (!user) throw invalidToken('The token is not valid (unknown subject).');
    assertActive(user);
    if (user.tokenVersion !== claims.tokenVersion) throw invalidToken('The token was signed out.');
    if (claims.kind === 'pending') return { kind: 'pending', user };
    return {
      kind: 'jwt',
      user,
      scopes: userScopes(user),
      twoFactorVerified: claims.twoFactorVerified,
      authenticatedAt: claims.authenticatedAt,
      expiresAt: claims.expiresAt,
    };
  }

  function resolveInternal(raw: string): Principal {
    if (!timingSafeEqual(sha256(raw), internalKeyDigest)) throw invalidToken('The internal key is not valid.');
    return { kind: 'internal' };
  }

  async function resolveSession(req: Request, cookie: string): Promise<Principal> {
    const idHash = sha256(cookie).toString('hex');
    const session = await repos.sessions.find(idHash);
    if (!session) throw invalidToken('The session has ended; sign in again.');
    const now = clock();
    const idleLimit = iso(addSeconds(now, -config.sessionIdleSeconds));
    if (session.expiresAt <= iso(now) || session.lastSeenAt < idleLimit) {
      await repos.sessions.delete(idHash);
      throw invalidToken('The session has expired; sign in again.');
    }
    const user = await repos.users.findById(session.userId);
    if (!user) throw invalidToken('The session has ended; sign in again.');
    assertActive(user);
    if (session.lastSeenAt < iso(addSeconds(now, -LAST_USED_RESOLUTION_SECONDS))) {
      await repos.sessions.touch(idHash, iso(now));
    }
    return {
      kind: 'session',
      user,
      session: { ...session, csrfToken: csrfTokenFor(config.dataKeys, cookie, req.get('x-csrf-token')) },
      scopes: userScopes(user),
      twoFactorVerified: session.twoFactorVerified,
      authenticatedAt: new Date(session.authenticatedAt),
    };
  }
}

export type Authenticate = ReturnType<typeof createAuthenticator>;
