import type { Clock } from '../core/clock';
import { iso } from '../core/clock';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { MailTransport } from '../mail/transport';

/** After this many failed sends a mail stays in the outbox, unsent, for an operator to look at. */
export const MAX_MAIL_ATTEMPTS = 8;

/**
 * Mail through an outbox: `enqueue` writes it in the caller's transaction (no mail for a change rolled
 * back, none lost to a crash after the commit), and `flush` sends what is pending through the transport,
 * each mail claimed by one process (compare-and-set), so several instances never send it twice. A
 * failed send goes back to pending with its error.
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
      for (const mail of await repos.mail.pending(limit, MAX_MAIL_ATTEMPTS)) {
        if (!(await repos.mail.claim(mail.id, iso(clock())))) continue;
        try {
          await transport.send(mail);
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
