import * as OTPAuth from 'otpauth';
import request from 'supertest';
import { createJwtService } from '../../src/auth/jwt';
import type { TestApp } from './app';
import { http, type BodyFor } from './typed-http';

/** What `POST /api/tokens` takes, with the name optional. */
export type TokenGrant = Omit<BodyFor<'post', '/api/tokens'>, 'name'> & { name?: string };

/** A scope the contract defines (the spec's `Scope` enum). */
export type Scope = NonNullable<TokenGrant['scopes']>[number];

/** Every scope the running contract defines: the grant of a token that may call anything. */
export const allScopes = (t: TestApp): Scope[] => [...t.contract.scopes.keys()] as Scope[];

export interface TestUser {
  id: string;
  email: string;
  password: string;
  /** A 60-minute JWT; 2FA-verified when the user has 2FA. */
  jwt: string;
  totpSecret?: string;
}

let counter = 0;

/**
 * TOTP codes come from `otpauth`, a different library from the server's `otplib`, so a shared bug in
 * one library cannot make the tests agree with it.
 */
export function totpCode(secret: string, at: Date): string {
  return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' })
    .generate({ timestamp: at.getTime() });
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Signs up through the API; with `twoFactor`, enrols 2FA and signs in with a code. */
/**
 * The token in the newest verification mail to `email`, from the mail outbox (the log adapter's store),
 * as the person reading that mail would have it.
 */
export async function verificationTokenFor(t: TestApp, email: string): Promise<string> {
  const mail = await t.repos.mail.latestTo(email);
  const token = /#token=(gpx_evt_[A-Za-z0-9]+)/.exec(mail?.text ?? '')?.[1];
  if (!token) throw new Error(`no verification mail to ${email}`);
  return token;
}

/** A user signed up through the API; their email verified through the mailed link unless `unverified`. */
export async function createUser(t: TestApp, options: { twoFactor?: boolean; role?: string; email?: string; unverified?: boolean } = {}): Promise<TestUser> {
  counter += 1;
  const email = options.email ?? `user${counter}.${Date.now()}@example.com`;
  const password = `correct-horse-${counter}-battery`;
  const signup = await http(t).post('/api/auth/signup', { email, password, name: `User ${counter}` });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${JSON.stringify(signup.body)}`);
  const id = signup.body.id as string;
  if (!options.unverified) {
    const verified = await http(t).post('/api/auth/email/verify', { token: await verificationTokenFor(t, email) });
    if (verified.status !== 200) throw new Error(`email verification failed: ${verified.status} ${JSON.stringify(verified.body)}`);
  }
  if (options.role) await t.repos.users.update(id, { role: options.role }, new Date().toISOString());

  const login = await http(t).post('/api/auth/login', { email, password });
  let jwt = login.body.token as string;
  if (!options.twoFactor) return { id, email, password, jwt };

  const setup = await http(t, jwt).post('/api/auth/2fa/setup');
  const totpSecret = setup.body.secret as string;
  const enable = await http(t, jwt).post('/api/auth/2fa/enable', { code: totpCode(totpSecret, t.clock()) });
  if (enable.status !== 200) throw new Error(`2fa enable failed: ${enable.status} ${JSON.stringify(enable.body)}`);
  // Each code works once: move to the next 30-second step before signing in with a new one.
  t.clock.advance(30);
  const pending = await http(t).post('/api/auth/login', { email, password });
  const verified = await request(t.app)
    .post('/api/auth/login/verify')
    .set(bearer(pending.body.pending_token))
    .send({ code: totpCode(totpSecret, t.clock()) });
  if (verified.status !== 200) throw new Error(`verify failed: ${verified.status} ${JSON.stringify(verified.body)}`);
  jwt = verified.body.token;
  return { id, email, password, jwt, totpSecret };
}

/** Creates a PAT through the API with a 2FA-verified JWT. */
export async function createPat(t: TestApp, user: TestUser, grant: TokenGrant) {
  const res = await http(t, user.jwt).post('/api/tokens', { ...grant, name: grant.name ?? 'test token' });
  if (res.status !== 201) throw new Error(`token create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id as string, token: res.body.token as string };
}

/**
 * A new 2FA-verified 60-minute JWT for a user, at the test clock's time: for tests that move the clock
 * past the hour (a sign-in with a code would need the next TOTP step).
 */
export async function freshJwt(t: TestApp, userId: string): Promise<string> {
  const { tokenVersion } = (await t.repos.users.findById(userId))!;
  return (await createJwtService(t.config, t.clock).issueAccess(userId, tokenVersion, true)).token;
}
