import nodemailer from 'nodemailer';
import type { OutgoingMail } from '../db/repositories/mail.repository';

/** Where mail from the outbox goes: the log (the default, no server needed) or SMTP (`SMTP_URL`). */
export interface MailTransport {
  readonly name: 'log' | 'smtp';
  send(mail: OutgoingMail): Promise<void>;
}

/**
 * The default: each mail is logged by recipient and subject, never by its text, which may carry a
 * single-use link (a secret). Its text stays in the `mail_outbox` table; in development read it with
 * `npm run mail:last -- <address>`.
 */
export function logTransport(log: { info(obj: object, msg: string): void }): MailTransport {
  return {
    name: 'log',
    async send(mail) {
      log.info({ mail_id: mail.id, to: mail.to, subject: mail.subject }, 'mail (log adapter: read it with npm run mail:last -- <address>)');
    },
  };
}

/** SMTP through nodemailer, e.g. `smtp://user:pass@smtp.example.com:587` or `smtps://…:465`. */
export function smtpTransport(url: string, from: string): MailTransport {
  const transporter = nodemailer.createTransport(url);
  return {
    name: 'smtp',
    async send(mail) {
      await transporter.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, messageId: `<${mail.id}@getpaidx>` });
    },
  };
}
