import type { SessionRecord } from '../db/repositories/sessions.repository';
import type { TokenRecord } from '../db/repositories/tokens.repository';
import type { UserRecord } from '../db/repositories/users.repository';

interface UserPrincipal {
  user: UserRecord;
  /** What this credential may do right now. */
  scopes: readonly string[];
  twoFactorVerified: boolean;
}

/** A credential a person signs in with: `authenticatedAt` is its last password or code check (sudo mode). */
interface SignInPrincipal extends UserPrincipal {
  authenticatedAt: Date;
}

export type Principal =
  | (SignInPrincipal & { kind: 'session'; session: SessionRecord })
  | (SignInPrincipal & { kind: 'jwt'; expiresAt: Date })
  /**
   * `replacedValue`: the request presented the value a rotation with grace replaced (still in its
   * overlap): it works, answers say it is deprecated, and it may not make or rotate tokens.
   */
  | (UserPrincipal & { kind: 'pat'; token: TokenRecord; grant: readonly string[]; replacedValue?: true })
  | { kind: 'pending'; user: UserRecord }
  | { kind: 'internal' };

export type UserPrincipalKind = 'session' | 'jwt' | 'pat';
export type SignedInPrincipal = Extract<Principal, { kind: UserPrincipalKind }>;

export function isSignedIn(p: Principal | undefined): p is SignedInPrincipal {
  return p !== undefined && (p.kind === 'session' || p.kind === 'jwt' || p.kind === 'pat');
}
