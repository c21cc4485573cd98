import { randomBytes } from 'node:crypto';
import { addSeconds, Clock, iso } from '../core/clock';
import type { JwtService } from '../auth/jwt';
import { REAUTHENTICATION_WINDOW_SECONDS } from '../auth/decide';
import { seal, unseal } from '../auth/seal';
import type { Throttle } from '../auth/throttle';
import { newId } from '../core/ids';
import { newTotpSecret, otpauthUrl, verifyTotp } from '../auth/totp';
import { csrfTokenFor, sha256 } from '../auth/session-secrets';
import type { Config } from '../core/config';
import type { Repositories } from '../db/repositories';
import type { UserRecord, UserSecrets } from '../db/repositories/users.repository';
import { ApiError, fail, tooManyRequests } from '../core/errors';
import type { EmailVerificationService } from './email-verification.service';
import type { AuditService } from './audit.service';
import { assertAcceptablePassword } from './password-policy';
import type { PasswordHasher } from './passwords';

export const DEFAULT_ROLE = 'owner';

interface Deps {
  config: Config;
  repos: Repositories;
  jwt: JwtService;
  audit: AuditService;
  throttle: Throttle;
  /** Sign-up attempts per address (each attempt counted as a "failure" of the window). */
  signups: Throttle;
  /** Sign-up mails a verification link in the transaction that makes the account. */
  emailVerification: Pick<EmailVerificationService, 'issue'>;
  passwords: PasswordHasher;
  clock: Clock;
  log: { warn(obj: object, msg: string): void };
}

export interface Caller {
  ip: string | null;
}

const invalidCredentials = () =>
  new ApiError('invalid_credentials', 'The email or password is incorrect.', undefined, {
    'WWW-Authenticate': 'Bearer realm="getpaidx"',
  });
const invalidCode = () =>
  new ApiError('invalid_code', 'The code is incorrect, expired or already used.', undefined, {
    'WWW-Authenticate': 'Bearer realm="getpaidx"',
  });

const emailTaken = () => fail('email_taken', 'An account with this email exists; sign in instead.');

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

export function createAccountsService(deps: Deps) {
  const { config, repos, jwt, audit, throttle, passwords, clock } = deps;
  // An IP gets more room than an account: many people can share one address.
  const ipLimit = config.authThrottle.maxFailures * 5;
  const { maxFailures, slowdownBaseMs, slowdownMaxMs } = config.authThrottle;
  const keys = (account: string, ip: string | null) => ({
    pair: `acct-ip:${account}|${ip ?? 'unknown'}`, address: `ip:${ip ?? 'unknown'}`, account: `acct:${account}`,
  });

  /**
   * Hard limits (429) only where the attacker is: the pair (account, address) and the address. An
   * account's own failures from everywhere never refuse it, or anyone could lock its owner out with
   * wrong passwords; past the limit they slow every attempt on it (progressive delay), which the owner,
   * with the right password and code, merely waits through.
   */
  async function guard(account: string, ip: string | null) {
    const k = keys(account, ip);
    const wait = await throttle.retryAfter([{ key: k.pair }, { key: k.address, limit: ipLimit }]);
    if (wait > 0) throw tooManyRequests(wait, `Too many failed attempts; try again in ${wait} seconds.`);
    const past = (await throttle.failures(k.account)) - maxFailures;
    if (past < 0) return;
    const delayMs = Math.min(slowdownBaseMs * 2 ** Math.min(past, 20), slowdownMaxMs);
    deps.log.warn({ delay_ms: delayMs, account_failures: past + maxFailures }, 'sign-in slowed: many failed attempts on this account');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }

  async function failed(account: string, ip: string | null) {
    const k = keys(account, ip);
    await throttle.fail([k.pair, k.address, k.account]);
  }

  async function succeeded(account: string, ip: string | null) {
    const k = keys(account, ip);
    await Promise.all([throttle.reset(k.pair), throttle.reset(k.account)]);
  }

  /** Password step shared by the API and browser sign-ins; same answer for unknown email and bad password. */
  async function checkPassword(email: string, password: string, caller: Caller): Promise<UserRecord & UserSecrets> {
    const account = normaliseEmail(email);
    await guard(account, caller.ip);
    const user = await repos.users.findWithSecretsByEmail(account);
    const ok = await passwords.verify(password, user?.passwordHash);
    if (!user || !ok || user.disabledAt) {
      await failed(account, caller.ip);
      if (user) await audit.record({ userId: user.id, type: 'user.sign_in_failed', ip: caller.ip, details: { step: 'password' } });
      throw invalidCredentials();
    }
    return user;
  }

  /** Verifies a TOTP code and makes it single-use; the unique key settles concurrent attempts. */
  async function checkCode(user: UserRecord, sealedSecret: string | null, code: string, caller: Caller): Promise<void> {
    const account = user.email;
    await guard(account, caller.ip);
    if (!sealedSecret) throw invalidCode();
    const now = clock();
    const step = await verifyTotp(unseal(config.dataKeys, sealedSecret), code, now);
    if (step === undefined) {
      await failed(account, caller.ip);
      await audit.record({ userId: user.id, type: 'user.sign_in_failed', ip: caller.ip, details: { step: 'code' } });
      throw invalidCode();
    }
    if (!(await repos.totpSteps.claim(user.id, step, iso(now)))) {
      await failed(account, caller.ip);
      deps.log.warn({ userId: user.id, timeStep: step }, 'TOTP code reused');
      await audit.record({ userId: user.id, type: 'two_factor.code_reused', ip: caller.ip });
      throw invalidCode();
    }
    await repos.totpSteps.pruneBefore(user.id, step - 10);
    await succeeded(account, caller.ip);
  }

  return {
    /**
     * Sign-up answers "taken" for a known email, as GitHub does; what keeps that from listing accounts
     * is the limit on attempts per address (SIGNUP_MAX_PER_ADDRESS a window, shared through Redis), each
     * attempt counted before anything is looked up.
     */
    async signUp(input: { email: string; password: string; name?: string }, caller: Caller): Promise<UserRecord> {
      const addressKey = `signup:${caller.ip ?? 'unknown'}`;
      const wait = await deps.signups.retryAfter([{ key: addressKey }]);
      if (wait > 0) throw tooManyRequests(wait, `Too many sign-ups from this address; try again in ${wait} seconds.`);
      await deps.signups.fail([addressKey]);
      const email = normaliseEmail(input.email);
      const now = iso(clock());
      const id = newId('usr');
      if (await repos.users.findWithSecretsByEmail(email)) throw emailTaken();
      await assertAcceptablePassword(input.password, [email, input.name ?? '']);
      const passwordHash = await passwords.hash(input.password);
      await repos.transaction(async (tx) => {
        await tx.users.insert({ id, email, name: input.name ?? null, passwordHash, role: DEFAULT_ROLE, now });
        await audit.record({ userId: id, type: 'user.signed_up', ip: caller.ip }, tx);
        await deps.emailVerification.issue(tx, { id, email });
      }).catch((err) => {
        // Two sign-ups racing for one email: the unique index lets only one through.
        if (/unique|duplicate/i.test(String(err?.message))) throw emailTaken();
        throw err;
      });
      return (await repos.users.findById(id))!;
    },

    async logIn(input: { email: string; password: string }, caller: Caller) {
      const user = await checkPassword(input.email, input.password, caller);
      if (user.totpEnabledAt) {
        const pending = await jwt.issuePending(user.id, user.tokenVersion);
        return { pending_token: pending.token, two_factor_required: true as const, expires_at: iso(pending.expiresAt) };
      }
      await succeeded(user.email, caller.ip);
      await audit.record({ userId: user.id, type: 'user.signed_in', ip: caller.ip, details: { via: 'jwt', two_factor: false } });
      const access = await jwt.issueAccess(user.id, user.tokenVersion, false);
      return { token: access.token, token_type: 'Bearer' as const, expires_at: iso(access.expiresAt), two_factor_verified: false };
    },

    async verifyLogin(userId: string, code: string, caller: Caller) {
      const user = await repos.users.findWithSecretsById(userId);
      if (!user) throw invalidCode();
      await checkCode(user, user.totpSecretEnc, code, caller);
      await audit.record({ userId: user.id, type: 'user.signed_in', ip: caller.ip, details: { via: 'jwt', two_factor: true } });
      const access = await jwt.issueAccess(user.id, user.tokenVersion, true);
      return { token: access.token, token_type: 'Bearer' as const, expires_at: iso(access.expiresAt), two_factor_verified: true };
    },

    async logOut(userId: string, caller: Caller): Promise<void> {
      const now = iso(clock());
      await repos.transaction(async (tx) => {
        await tx.users.bumpTokenVersion(userId, now);
        await audit.record({ userId, type: 'user.signed_out', ip: caller.ip, details: { via: 'jwt' } }, tx);
      });
    },

    async setUpTwoFactor(user: UserRecord) {
      if (user.totpEnabledAt) throw fail('two_factor_already_enabled', '2FA is already enabled for this account.');
      const secret = newTotpSecret();
      await repos.users.update(user.id, { pending_totp_secret_enc: seal(config.dataKeys, secret) }, iso(clock()));
      return { secret, otpauth_url: otpauthUrl(secret, user.email) };
    },

    async enableTwoFactor(user: UserRecord, code: string, caller: Caller, sessionIdHash?: string) {
      if (user.totpEnabledAt) throw fail('two_factor_already_enabled', '2FA is already enabled for this account.');
      const secrets = await repos.users.findWithSecretsById(user.id);
      if (!secrets?.pendingTotpSecretEnc) {
        throw fail('two_factor_setup_required', 'Call POST /api/auth/2fa/setup first, then confirm with a code.');
      }
      await checkCode(user, secrets.pendingTotpSecretEnc, code, caller);
      const now = iso(clock());
      await repos.transaction(async (tx) => {
        await tx.users.update(user.id, {
          totp_secret_enc: secrets.pendingTotpSecretEnc,
          pending_totp_secret_enc: null,
          totp_enabled_at: now,
        }, now);
        // The browser that just proved the code counts as 2FA-verified.
        if (sessionIdHash) await tx.sessions.markTwoFactorVerified(sessionIdHash);
        await audit.record({ userId: user.id, type: 'two_factor.enabled', ip: caller.ip }, tx);
      });
      return { two_factor_enabled: true };
    },

    async changePassword(user: UserRecord, input: { current_password: string; new_password: string }, caller: Caller, keepSessionIdHash?: string) {
      await checkPassword(user.email, input.current_password, caller);
      await assertAcceptablePassword(input.new_password, [user.email, user.name ?? '']);
      const hash = await passwords.hash(input.new_password);
      const now = iso(clock());
      await repos.transaction(async (tx) => {
        await tx.users.update(user.id, { password_hash: hash }, now);
        await tx.users.bumpTokenVersion(user.id, now);
        await tx.sessions.deleteForUser(user.id, keepSessionIdHash);
        await audit.record({ userId: user.id, type: 'user.password_changed', ip: caller.ip }, tx);
      });
    },

    /**
     * Sudo mode: a new password or code check for a signed-in session or JWT. Wrong answers count
     * against the sign-in limits of the account and address, so a stolen session cannot guess the
     * password. A session is marked checked; a JWT cannot change, so its holder gets a new one.
     */
    async reauthenticate(
      principal: { user: UserRecord; twoFactorVerified: boolean } & ({ kind: 'session'; session: { idHash: string } } | { kind: 'jwt' }),
      input: { password?: string; code?: string },
      caller: Caller,
    ) {
      const { user } = principal;
      const withCode = input.code !== undefined;
      try {
        if (withCode) {
          const secrets = await repos.users.findWithSecretsById(user.id);
          await checkCode(user, secrets?.totpSecretEnc ?? null, input.code!, caller);
        } else {
          await checkPassword(user.email, input.password ?? '', caller);
          await succeeded(user.email, caller.ip);
        }
      } catch (err) {
        if (err instanceof ApiError && (err.code === 'invalid_credentials' || err.code === 'invalid_code')) {
          // Not a 401: the credential itself is fine, and a client must not throw it away.
          throw fail('reauthentication_failed', withCode ? 'The code is incorrect, expired or already used.' : 'The password is incorrect.');
        }
        throw err;
      }
      const now = clock();
      const twoFactorVerified = principal.twoFactorVerified || withCode;
      let accessToken: { token: string; token_type: 'Bearer'; expires_at: string; two_factor_verified: boolean } | undefined;
      await repos.transaction(async (tx) => {
        if (principal.kind === 'session') await tx.sessions.markReauthenticated(principal.session.idHash, iso(now), withCode);
        await audit.record({ userId: user.id, type: 'user.reauthenticated', ip: caller.ip, details: { via: principal.kind, method: withCode ? 'code' : 'password' } }, tx);
      });
      if (principal.kind === 'jwt') {
        const access = await jwt.issueAccess(user.id, user.tokenVersion, twoFactorVerified);
        accessToken = { token: access.token, token_type: 'Bearer', expires_at: iso(access.expiresAt), two_factor_verified: twoFactorVerified };
      }
      return {
        reauthenticated_at: iso(now),
        reauthenticated_until: iso(addSeconds(now, REAUTHENTICATION_WINDOW_SECONDS)),
        two_factor_verified: twoFactorVerified,
        ...(accessToken ? { access_token: accessToken } : {}),
      };
    },

    async createSession(input: { email: string; password: string; code?: string }, caller: Caller) {
      const user = await checkPassword(input.email, input.password, caller);
      let twoFactorVerified = false;
      if (user.totpEnabledAt) {
        if (!input.code) {
          throw new ApiError('two_factor_code_required', 'This account has 2FA: send the 6-digit code too.');
        }
        await checkCode(user, user.totpSecretEnc, input.code, caller);
        twoFactorVerified = true;
      }
      await succeeded(user.email, caller.ip);
      // A fresh random id at every sign-in, so a cookie planted before sign-in is worthless (fixation).
      const cookieValue = randomBytes(32).toString('base64url');
      const now = clock();
      const session = {
        idHash: sha256(cookieValue).toString('hex'),
        userId: user.id,
        csrfToken: csrfTokenFor(config.dataKeys, cookieValue),
        twoFactorVerified,
        createdAt: iso(now),
        authenticatedAt: iso(now),
        lastSeenAt: iso(now),
        expiresAt: iso(addSeconds(now, config.sessionAbsoluteSeconds)),
      };
      await repos.transaction(async (tx) => {
        const { csrfToken: _derived, ...stored } = session;
        await tx.sessions.insert({ ...stored, ip: caller.ip });
        await audit.record({ userId: user.id, type: 'session.created', ip: caller.ip, details: { two_factor: twoFactorVerified } }, tx);
      });
      const fresh = (await repos.users.findById(user.id))!;
      return { cookieValue, session, user: fresh };
    },

    async deleteSession(userId: string, idHash: string, caller: Caller): Promise<void> {
      await repos.sessions.delete(idHash);
      await audit.record({ userId, type: 'session.ended', ip: caller.ip });
    },
  };
}

export type AccountsService = ReturnType<typeof createAccountsService>;
