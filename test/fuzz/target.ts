import { createJwtService } from '../../src/auth/jwt';
import type { TestApp } from '../helpers/app';
import { createOwnedObjects } from '../helpers/fixtures';
import { signInBrowser } from '../helpers/session';
import { createPasswordHasher } from '../../src/services/passwords';
import { bearer, createPat, createUser, freshJwt, TestUser, allScopes, type Scope } from '../helpers/users';
import { http } from '../helpers/typed-http';

export interface Credential {
  headers: Record<string, string>;
  /** Appended to the query string (a token where it must not be). */
  query?: string;
}

/** Every kind of credential, valid and broken, by name; refreshed when the fuzzer has used them up. */
export const CREDENTIAL_KINDS = [
  'none', 'pat_all', 'pat_one', 'jwt', 'jwt_no_2fa', 'admin_jwt', 'session', 'session_no_csrf', 'internal', 'pending',
  'malformed', 'bad_checksum', 'revoked_pat', 'expired_jwt', 'two_credentials', 'basic', 'query_token',
] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/**
 * The world the fuzzer plays in: users, one credential of every kind, and one of every object the
 * users own (so path ids sometimes name real things). The fuzzer revokes, deletes and signs out as it
 * goes; `refresh` builds a new world.
 */
export function createFuzzTarget(t: TestApp) {
  let credentials = new Map<CredentialKind, Credential>();
  let fixtures: Record<string, string> = {};
  let secrets: string[] = [];

  let people: { owner: TestUser; plain: TestUser; admin: TestUser; all: { id: string; token: string }; one: { id: string; token: string }; revoked: { id: string; token: string } } | undefined;
  const hasher = createPasswordHasher(4);

  /** A new world: users, tokens, fixtures. */
  async function refresh(): Promise<void> {
    const owner = await createUser(t, { twoFactor: true });
    const plain = await createUser(t);
    const admin = await createUser(t, { twoFactor: true });
    await t.repos.users.update(admin.id, { is_platform_admin: true }, new Date().toISOString());
    const all = await createPat(t, owner, { scopes: allScopes(t) });
    const one = await createPat(t, owner, { scopes: ['posts:read'] });
    const revoked = await createPat(t, owner, { scopes: ['posts:read'] });
    await http(t, owner.jwt).delete(`/api/tokens/${revoked.id}`);
    people = { owner, plain, admin, all, one, revoked };
    await renew();
    fixtures = await createOwnedObjects(t, owner, all.token, (await signInBrowser(t, owner)));
  }

  /**
   * New sign-ins for the same people, after the fuzzer signed out, changed a password or had staff
   * disable someone: cheaper than a new world, and the world's objects stay.
   */
  async function renew(): Promise<void> {
    const { owner, plain, admin, all, one, revoked } = people!;
    const now = new Date().toISOString();
    for (const user of [owner, plain, admin]) {
      await t.repos.users.update(user.id, { disabled_at: null, role: 'owner', password_hash: await hasher.hash(user.password), is_platform_admin: user === admin }, now);
      user.jwt = await freshJwt(t, user.id);
    }
    // A JWT of the plain user without 2FA: like a sign-in with the password alone.
    const { tokenVersion: plainVersion } = (await t.repos.users.findById(plain.id))!;
    plain.jwt = (await createJwtService(t.config, t.clock).issueAccess(plain.id, plainVersion, false)).token;
    const browser = await signInBrowser(t, owner);
    const pending = (await http(t).post('/api/auth/login', { email: owner.email, password: owner.password })).body.pending_token as string;
    const past = new Date(t.clock().getTime() - 2 * 3600_000);
    const { tokenVersion } = (await t.repos.users.findById(owner.id))!;
    const expired = (await createJwtService(t.config, () => past).issueAccess(owner.id, tokenVersion, true)).token;
    const flipped = all.token.slice(0, -1) + (all.token.endsWith('A') ? 'B' : 'A');
    credentials = new Map<CredentialKind, Credential>([
      ['none', { headers: {} }],
      ['pat_all', { headers: bearer(all.token) }],
      ['pat_one', { headers: bearer(one.token) }],
      ['jwt', { headers: bearer(owner.jwt) }],
      ['jwt_no_2fa', { headers: bearer(plain.jwt) }],
      ['admin_jwt', { headers: bearer(admin.jwt) }],
      ['session', { headers: { Cookie: browser.cookie, 'X-CSRF-Token': browser.csrf } }],
      ['session_no_csrf', { headers: { Cookie: browser.cookie } }],
      ['internal', { headers: bearer(t.config.internalApiKey) }],
      ['pending', { headers: bearer(pending) }],
      ['malformed', { headers: { Authorization: 'Bearer not a token' } }],
      ['bad_checksum', { headers: bearer(flipped) }],
      ['revoked_pat', { headers: bearer(revoked.token) }],
      ['expired_jwt', { headers: bearer(expired) }],
      ['two_credentials', { headers: { ...bearer(all.token), Cookie: browser.cookie, 'X-CSRF-Token': browser.csrf } }],
      ['basic', { headers: { Authorization: 'Basic dXNlcjpwYXNzd29yZA==' } }],
      ['query_token', { headers: {}, query: `access_token=${all.token}` }],
    ]);
    // Values that must never come back in an answer (each was minted before the fuzzing began).
    secrets = [
      all.token, one.token, revoked.token, owner.jwt, plain.jwt, admin.jwt, pending, expired, t.config.internalApiKey,
      browser.cookie.split('=')[1]!, owner.password, plain.password, admin.password, owner.totpSecret!, admin.totpSecret!,
    ];
  }

  return {
    refresh,
    renew,
    credential: (kind: CredentialKind) => credentials.get(kind)!,
    fixture: (name: string): string | undefined => fixtures[name],
    secrets: () => secrets,
  };
}

export type FuzzTarget = ReturnType<typeof createFuzzTarget>;
