import type { Knex } from 'knex';

export interface OutgoingMail {
  id: string;
  to: string;
  subject: string;
  text: string;
  createdAt: string;
}

export interface EmailVerification {
  userId: string;
  email: string;
}

function toMail(row: Record<string, any>): OutgoingMail {
  return { id: row.id, to: row.to, subject: row.subject, text: row.text, createdAt: row.created_at };
}

/** The mail outbox and the email verifications whose links it carries. */
export function mailRepository(db: Knex) {
  return {
    async enqueue(mail: OutgoingMail): Promise<void> {
      await db('mail_outbox').insert({ id: mail.id, to: mail.to, subject: mail.subject, text: mail.text, created_at: mail.createdAt });
    },
    /** Mail not sent yet and not leased by a sender, oldest first, leaving out mail that failed `maxAttempts` times. */
    async pending(limit: number, maxAttempts: number, now: string): Promise<OutgoingMail[]> {
      const rows = await db('mail_outbox').whereNull('sent_at').andWhere('attempts', '<', maxAttempts)
        .andWhere((q) => q.whereNull('leased_until').orWhere('leased_until', '<', now)).orderBy('created_at').limit(limit);
      return rows.map(toMail);
    },
    /**
     * Compare-and-set: leases the mail to one sender until `leaseUntil`, so two instances never send it at
     * once; a sender that dies mid-send leaves the lease to lapse, and another sends the mail then.
     */
    async claim(id: string, now: string, leaseUntil: string): Promise<boolean> {
      return (await db('mail_outbox').where({ id }).whereNull('sent_at')
        .andWhere((q) => q.whereNull('leased_until').orWhere('leased_until', '<', now))
        .update({ leased_until: leaseUntil, attempts: db.raw('attempts + 1') })) === 1;
    },
    async markSent(id: string, now: string): Promise<void> {
      await db('mail_outbox').where({ id }).update({ sent_at: now, leased_until: null });
    },
    /** A send that failed: back to pending at once, its error kept. */
    async release(id: string, error: string): Promise<void> {
      await db('mail_outbox').where({ id }).update({ leased_until: null, last_error: error.slice(0, 500) });
    },
    /** The newest mail to an address (the `npm run mail:last` command, for the log adapter in development). */
    async latestTo(to: string): Promise<OutgoingMail | undefined> {
      const row = await db('mail_outbox').where({ to }).orderBy('created_at', 'desc').orderBy('id', 'desc').first();
      return row ? toMail(row) : undefined;
    },

    async createVerification(v: { tokenHash: string; userId: string; email: string; createdAt: string; expiresAt: string }): Promise<void> {
      await db('email_verifications').insert({ token_hash: v.tokenHash, user_id: v.userId, email: v.email, created_at: v.createdAt, expires_at: v.expiresAt });
    },
    async lastVerificationSentAt(userId: string): Promise<string | undefined> {
      const row = await db('email_verifications').where({ user_id: userId }).orderBy('created_at', 'desc').first('created_at');
      return row?.created_at;
    },
    /** Single use: marks the token used if it is unused and unexpired, and answers whose it was. */
    async useVerification(tokenHash: string, now: string): Promise<EmailVerification | undefined> {
      const row = await db('email_verifications').where({ token_hash: tokenHash }).whereNull('used_at').andWhere('expires_at', '>', now).first();
      if (!row) return undefined;
      const marked = await db('email_verifications').where({ token_hash: tokenHash }).whereNull('used_at').update({ used_at: now });
      return marked === 1 ? { userId: row.user_id, email: row.email } : undefined;
    },
  };
}
