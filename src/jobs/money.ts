import type { Logger } from 'pino';
import type { BalanceService } from '../services/balance.service';
import type { TokensService } from '../services/tokens.service';
import type { TransfersService } from '../services/transfers.service';
import type { MailService } from '../services/mail.service';
import { periodic } from './periodic';

/**
 * Background money work, safe with any number of processes: settles sales whose earnings are due
 * (each settles once: a conditional update in the same transaction as its ledger entries) and resolves
 * transfers left pending by a crash or a provider that did not answer (each taken by one worker, with
 * a lease). Balances also settle on read, so a user never waits for this loop to see what is due.
 * It also sends tokens' expiry notices (token.expiring, token.expired), each once across processes, and
 * the mail waiting in the outbox.
 */
export function createMoneyJobs(deps: { balance: BalanceService; transfers: TransfersService; tokens: TokensService; mail: MailService; log: Logger; pollMs: number }) {
  const { balance, transfers, tokens, mail, log, pollMs } = deps;

  async function runOnce(): Promise<{ settled: number; transfersResolved: number; expiryNotices: number; mailSent: number }> {
    const settled = await balance.settleDue();
    const transfersResolved = await transfers.recoverStale();
    const expiryNotices = await tokens.announceExpiries();
    const mailSent = await mail.flush();
    if (settled || transfersResolved || expiryNotices || mailSent) log.info({ settled, transfers_resolved: transfersResolved, expiry_notices: expiryNotices, mail_sent: mailSent }, 'background jobs');
    return { settled, transfersResolved, expiryNotices, mailSent };
  }

  return periodic('background jobs', runOnce, log, pollMs);
}

export type MoneyJobs = ReturnType<typeof createMoneyJobs>;
