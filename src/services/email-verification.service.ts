import { addSeconds, Clock, iso } from '../core/clock';
import { ApiError, notFound, tooManyRequests } from '../core/errors';
import { randomBase62 } from '../core/ids';
import { hashToken } from '../auth/token-format';
import type { Repositories } from '../db/repositories';
import type { UserRecord } from '../db/repositories/users.repository';
import type { MailService } from './mail.service';

export const VERIFICATION_PREFIX = 'gpx_evt_';
export const VERIFICATION_TTL_SECONDS = 24 * 3600;
/** A new verification mail at most this often per user. */
export const RESEND_SECONDS = 60;

/** 403 email_unverified: the act needs an email the user has shown they read. */
export function emailUnverified(what: string): ApiError {
  return new ApiError('email_unverified', `${what} needs a verified email. Open the link in the verification mail, or ask for a new one (POST /api/auth/email/verification).`);
}

/**
 * Email verification: a single-use token (stored as its SHA-256) bound to the user and to the address
 * it went to, mailed through the outbox in the transaction that asks for it (sign-up sends one). The
 * link carries the token in its fragment, which browsers never send to a server, so it stays out of
 * access logs; the page posts it to `verifyEmail`.
 */
export function createEmailVerificationService(deps: { repos: Repositories; clock: Clock; mail: MailService; publicUrl: string }) {
  const { repos, clock, mail, publicUrl } = deps;

  async function issue(tx: Repositories, user: Pick<UserRecord, 'id' | 'email'>): Promise<void> {
    const token = `${VERIFICATION_PREFIX}${randomBase62(32)}`;
    const now = clock();
    await tx.mail.createVerification({ tokenHash: hashToken(token), userId: user.id, email: user.email, createdAt: iso(now), expiresAt: iso(addSeconds(now, VERIFICATION_TTL_SECONDS)) });
    await mail.enqueue(tx, {
      to: user.email,
      subject: 'Verify your email for GetPaidX',
      text: [
        'Confirm that this address is yours by opening this link within 24 hours:',
        '',
        `${publicUrl}/verify-email#token=${token}`,
        '',
        `Or from a script: POST ${publicUrl}/api/auth/email/verify with {"token": "${token}"}.`,
        'If you did not sign up for GetPaidX, ignore this mail.',
      ].join('\n'),
    });
  }

  return {
    issue,
    /** A fresh verification mail for the signed-in user, at most one a minute. */
    async request(user: UserRecord): Promise<void> {
      if (user.emailVerifiedAt) return;
      const last = await repos.mail.lastVerificationSentAt(user.id);
      const wait = last ? Math.ceil((Date.parse(last) + RESEND_SECONDS * 1000 - clock().getTime()) / 1000) : 0;
      if (wait > 0) throw tooManyRequests(wait, `A verification mail went out less than a minute ago; try again in ${wait} seconds.`);
      await repos.transaction((tx) => issue(tx, user));
    },
    /** Marks the email verified: the token must be unused, unexpired, and for the user's current email. */
    async verify(token: string): Promise<UserRecord> {
      return repos.transaction(async (tx) => {
        const verification = await tx.mail.useVerification(hashToken(token), iso(clock()));
        const user = verification && (await tx.users.findById(verification.userId));
        if (!verification || !user || user.email !== verification.email) throw notFound('Verification');
        if (!user.emailVerifiedAt) await tx.users.update(user.id, { email_verified_at: iso(clock()) }, iso(clock()));
        return (await tx.users.findById(user.id))!;
      });
    },
  };
}

export type EmailVerificationService = ReturnType<typeof createEmailVerificationService>;
