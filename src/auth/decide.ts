import { timingSafeEqual } from 'node:crypto';
import type { AuthMode } from '../contract/extensions';
import type { OperationInfo } from '../contract/spec';
import { ApiError } from '../core/errors';
import type { Principal } from './principal';
import { difference } from './scopes';
import { authenticationRequired, insufficientScope, invalidToken } from './www-authenticate';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Sudo mode: how long a password or code check lets a session or JWT do `x-requires-reauthentication` acts. */
export const REAUTHENTICATION_WINDOW_SECONDS = 600;

export interface RequestFacts {
  method: string;
  /** Read only for cookie-authenticated writes, so bearer calls never pay for the header lookups. */
  csrf: () => CsrfFacts;
  /** The app's clock, read only for operations that need a recent check. */
  now: () => Date;
}

export interface CsrfFacts {
  /** `X-CSRF-Token` header. */
  header: string | undefined;
  origin: string | undefined;
  /** The origin this server is reached at (scheme://host[:port]). */
  selfOrigin: string;
}

/**
 * The one place that decides whether a principal may call an operation, from the operation's
 * `x-auth-modes`, `x-scopes`, `x-requires-2fa` and `x-requires-reauthentication` alone. Returns the error to send, or undefined.
 */
export function decide(op: OperationInfo, principal: Principal | undefined, facts: RequestFacts): ApiError | undefined {
  if (op.modes.has('public')) return undefined;
  if (!principal) return authenticationRequired();

  // A 2FA-pending token proves only the password; it is refused like an invalid token everywhere
  // but the code-verification route.
  if (principal.kind === 'pending') {
    return op.modes.has('pending') ? undefined : invalidToken('A 2FA-pending token only works on POST /api/auth/login/verify.');
  }
  if (principal.kind === 'internal') {
    return op.modes.has('internal') ? undefined : modeNotAllowed(op, 'internal');
  }

  if (principal.kind === 'session' && !SAFE_METHODS.has(facts.method)) {
    const csrf = checkCsrf(principal.session.csrfToken, facts.csrf());
    if (csrf) return csrf;
  }

  const adminOnly = op.modes.has('admin');
  if (adminOnly && principal.kind !== 'pat') {
    if (!principal.user.isPlatformAdmin) {
      return new ApiError('admin_required', 'This operation is for platform staff only.', { operation_id: op.operationId });
    }
    if (!principal.twoFactorVerified) return twoFactorRequired(op, principal.kind);
    return undefined;
  }
  if (principal.kind === 'pat' ? !op.takesPat : !op.modes.has(principal.kind)) return modeNotAllowed(op, principal.kind);

  const missing = difference(op.scopes, principal.scopes);
  if (missing.length > 0) {
    return insufficientScope({
      operation_id: op.operationId,
      required_scopes: op.scopes,
      granted_scopes: principal.scopes,
      missing_scopes: missing,
    });
  }
  if (op.requires2fa) {
    // A PAT was minted by a 2FA-verified credential; it keeps that strength only while its creator still
    // has 2FA on (money movement and token minting are never weaker than signing in with a code).
    if (principal.kind === 'pat' ? !principal.user.totpEnabledAt : !principal.twoFactorVerified) return twoFactorRequired(op, principal.kind);
  }
  // A PAT cannot re-enter a password: its right to these acts is its scopes (and its creator's 2FA).
  if (op.requiresReauthentication && principal.kind !== 'pat') {
    // In whole seconds, as a JWT's `auth_time` is.
    const age = Math.floor(facts.now().getTime() / 1000) - Math.floor(principal.authenticatedAt.getTime() / 1000);
    if (age > REAUTHENTICATION_WINDOW_SECONDS) return reauthenticationRequired(op, principal.authenticatedAt);
  }
  return undefined;
}

function reauthenticationRequired(op: OperationInfo, authenticatedAt: Date): ApiError {
  return new ApiError('reauthentication_required',
    `${op.operationId} needs your password or a 2FA code from the last ${REAUTHENTICATION_WINDOW_SECONDS / 60} minutes: call POST /api/auth/reauthenticate, then retry.`,
    { operation_id: op.operationId, authenticated_at: authenticatedAt.toISOString(), window_seconds: REAUTHENTICATION_WINDOW_SECONDS },
  );
}

function modeNotAllowed(op: OperationInfo, presented: string): ApiError {
  const allowed = [...op.modes];
  return new ApiError('auth_mode_not_allowed',
    `${op.operationId} does not accept a ${op.authModes.get(presented as AuthMode)?.words ?? presented}; it accepts: ${allowed.join(', ')}.`,
    { operation_id: op.operationId, presented_mode: presented, allowed_modes: allowed },
  );
}

function twoFactorRequired(op: OperationInfo, kind?: string): ApiError {
  return new ApiError('two_factor_required',
    kind === 'pat'
      ? `${op.operationId} needs a token whose creator has 2FA enabled: enable 2FA on the account that made this token.`
      : `${op.operationId} needs a 2FA-verified sign-in: enable 2FA, then sign in with your code.`,
    { operation_id: op.operationId },
  );
}

function checkCsrf(expected: string, facts: CsrfFacts): ApiError | undefined {
  if (facts.origin && facts.origin !== facts.selfOrigin) {
    return new ApiError('csrf_failed', 'Cross-origin writes with a session cookie are refused.');
  }
  const given = Buffer.from(facts.header ?? '');
  const want = Buffer.from(expected);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    return new ApiError('csrf_failed', 'Send the session\'s csrf_token in the X-CSRF-Token header.');
  }
  return undefined;
}
