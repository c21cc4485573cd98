import type { Logger } from 'pino';
import type { BalanceService } from '../services/balance.service';
import type { TransfersService } from '../services/transfers.service';

/**
 * Background money work, safe with any number of processes: settles sales whose earnings are due
 * (each settles once: a conditional update in the same transaction as its ledger entries) and resolves
 * transfers left pending by a crash or a provider that did not answer (each taken by one worker, with
 * a lease). Balances also settle on read, so a user never waits for this loop to see what is due.
 */
export function createMoneyJobs(deps: { balance: BalanceService; transfers: TransfersService; log: Logger; pollMs: number }) {
  const { balance, transfers, log, pollMs } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function runOnce(): Promise<{ settled: number; transfersResolved: number }> {
    const settled = await balance.settleDue();
    const transfersResolved = await transfers.recoverStale();
    if (settled || transfersResolved) log.info({ settled, transfers_resolved: transfersResolved }, 'money jobs');
    return { settled, transfersResolved };
  }

  return {
    runOnce,
    start(): void {
      timer ??= setInterval(() => {
        if (running) return;
        running = runOnce().then(() => undefined, (err: Error) => log.warn({ err: err.message }, 'money jobs pass failed; the next pass retries'))
          .finally(() => {
            running = undefined;
          });
      }, pollMs);
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type MoneyJobs = ReturnType<typeof createMoneyJobs>;
