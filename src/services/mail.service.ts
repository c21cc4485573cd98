import { addSeconds, type Clock, iso } from '../core/clock';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { MailTransport } from '../mail/transport';

/** After this many failed sends a mail stays in the outbox, unsent, for an operator to look at. */
export const MAX_MAIL_ATTEMPTS = 8;
/** How long a sender holds a mail; one that dies mid-send lets another send it after this. */
export const MAIL_LEASE_SECONDS = 120;

/**
 * Mail through an outbox: `enqueue` writes it in the caller's transaction (no mail for a change rolled
 * back, none lost to a crash after the commit), and `flush` sends what is pending through the transport.
 * Each mail is leased to one process (compare-and-set) while it is sent, so instances do not send it at
 * once; a failed send goes back to pending with its error, and a sender killed mid-send lets its lease
 * lapse, so the mail is sent by the next pass after it: at least once, with a stable Message-ID by
 * which a receiver can drop the rare second copy.
 */
export function createMailService(deps: { repos: Repositories; clock: Clock; transport: MailTransport; log: { warn(obj: object, msg: string): void } }) {
  const { repos, clock, transport, log } = deps;
  return {
    transport: transport.name,
    async enqueue(tx: Repositories, mail: { to: string; subject: string; text: string }): Promise<void> {
      await tx.mail.enqueue({ id: newId('mail'), ...mail, createdAt: iso(clock()) });
    },
    /** Sends pending mail; answers how many were sent. */
    async flush(limit = 50): Promise<number> {
      let sent = 0;
      for (const mail of await repos.mail.pending(limit, MAX_MAIL_ATTEMPTS, iso(clock()))) {
        if (!(await repos.mail.claim(mail.id, iso(clock()), iso(addSeconds(clock(), MAIL_LEASE_SECONDS))))) continue;
        try {
          await transport.send(mail);
          await repos.mail.markSent(mail.id, iso(clock()));
          sent += 1;
        } catch (err) {
          await repos.mail.release(mail.id, (err as Error).message);
          log.warn({ mail_id: mail.id, transport: transport.name, err: (err as Error).message }, 'mail not sent; it stays in the outbox');
        }
      }
      return sent;
    },
  };
}

export type MailService = ReturnType<typeof createMailService>;
