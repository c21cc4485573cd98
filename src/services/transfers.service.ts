import type { Window } from '../db/page';
import type { Logger } from 'pino';
import { addSeconds, Clock, iso } from '../core/clock';
import type { MoneySettings } from '../billing/money';
import { BillingProvider, ProviderUnavailable, TransferOutcome } from '../billing/provider';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { BillingAccountRecord, TransferRecord } from '../db/repositories/billing.repository';
import { ledgerAccount, LedgerOverdraft } from '../db/repositories/ledger.repository';
import { ApiError, fail } from '../core/errors';
import type { BalanceService } from './balance.service';
import type { WebhooksService } from './webhooks.service';

const NOT_READY: Record<string, string> = {
  incomplete: 'payout onboarding is not finished',
  pending_review: 'the payout account is under review',
  blocked: 'payouts are blocked',
};

/**
 * Transfers to the user's payout account: reserve, call, settle.
 * 1. One transaction moves the amount from `available` to `in_flight` (refused, with nothing written,
 *    when available does not cover it) and records the transfer as pending.
 * 2. The provider is called with the transfer id as its idempotency key.
 * 3. Paid: in_flight → the provider's clearing account. A definite "no": in_flight → back to available.
 *    No answer: the transfer stays pending; when its lease lapses a worker asks the provider what
 *    happened (or sends again, with the same key) and settles or reverses. A crash anywhere leaves a
 *    pending transfer that the worker resolves the same way: never paid twice, never lost.
 */
export function createTransfersService(deps: {
  repos: Repositories; clock: Clock; log: Logger; provider: BillingProvider; balance: BalanceService;
  webhooks: Pick<WebhooksService, 'emit'>; settings: MoneySettings;
}) {
  const { repos, clock, log, provider, balance, webhooks, settings } = deps;
  const now = () => iso(clock());
  const leaseUntil = () => iso(addSeconds(clock(), settings.transferLeaseSeconds));
  const event = (t: TransferRecord) => ({ id: t.id, amount: t.amount, currency: t.currency, destination: t.destination, status: t.status, failure_reason: t.failureReason });

  async function resolve(transfer: TransferRecord, outcome: TransferOutcome): Promise<void> {
    const { id, userId, amount, currency } = transfer;
    const inFlight = ledgerAccount.user(userId, 'in_flight', currency);
    await repos.transaction(async (tx) => {
      if (outcome.status === 'paid') {
        if (!(await tx.billing.resolveTransfer(id, { status: 'paid', providerTransferId: outcome.providerTransferId, updatedAt: now() }))) return;
        await tx.ledger.post({
          key: `transfer_settle:${id}`, kind: 'transfer_settle', reference: { type: 'transfer', id }, now: now(),
          entries: [
            { account: inFlight, amount: -amount, cause: 'transfer' },
            { account: ledgerAccount.platform('clearing', currency), amount, cause: 'transfer' },
          ],
        });
      } else {
        if (!(await tx.billing.resolveTransfer(id, { status: 'failed', failureReason: outcome.reason, updatedAt: now() }))) return;
        await tx.ledger.post({
          key: `transfer_reversal:${id}`, kind: 'transfer_reversal', reference: { type: 'transfer', id }, now: now(),
          entries: [
            { account: inFlight, amount: -amount, cause: 'reversal' },
            { account: ledgerAccount.user(userId, 'available', currency), amount, cause: 'reversal' },
          ],
        });
      }
      await webhooks.emit(tx, userId, outcome.status === 'paid' ? 'transfer.paid' : 'transfer.failed', event((await tx.billing.transfer(id))!));
    });
  }

  /** Asks the provider (looking the transfer up first when it may have been sent before) and records what it said. */
  async function attempt(account: BillingAccountRecord, transfer: TransferRecord, mayHaveBeenSent: boolean): Promise<TransferRecord> {
    try {
      const known = mayHaveBeenSent ? await provider.findTransfer(account, transfer) : undefined;
      await resolve(transfer, known ?? (await provider.sendTransfer(account, transfer)));
    } catch (err) {
      if (!(err instanceof ProviderUnavailable)) throw err;
      log.warn({ transfer_id: transfer.id, err: err.message }, 'transfer outcome unknown; it stays pending until the provider answers');
    }
    return (await repos.billing.transfer(transfer.id))!;
  }

  return {
    async create(userId: string, input: { amount: number; currency: string; destination?: string; description?: string }): Promise<TransferRecord> {
      const account = await repos.billing.account(userId, now());
      if (account.payoutsStatus !== 'enabled') {
        throw fail('payouts_not_ready', `Transfers need a payout account that can receive money: ${NOT_READY[account.payoutsStatus]}. Create an onboarding link (POST /api/payouts/onboarding).`, { payouts_status: account.payoutsStatus });
      }
      await balance.settleDue(userId);
      const at = now();
      const transfer: TransferRecord = {
        id: newId('tr'), userId, amount: input.amount, currency: input.currency, destination: input.destination ?? 'default',
        description: input.description ?? '', status: 'pending', failureReason: null, providerTransferId: null, attempts: 1,
        leaseUntil: leaseUntil(), createdAt: at, updatedAt: at,
      };
      const available = ledgerAccount.user(userId, 'available', input.currency);
      try {
        await repos.transaction(async (tx) => {
          await tx.billing.insertTransfer(transfer);
          await tx.ledger.post({
            key: `transfer_reserve:${transfer.id}`, kind: 'transfer_reserve', reference: { type: 'transfer', id: transfer.id }, now: at,
            entries: [
              { account: available, amount: -transfer.amount, cause: 'transfer' },
              { account: ledgerAccount.user(userId, 'in_flight', input.currency), amount: transfer.amount, cause: 'transfer' },
            ],
          });
          await webhooks.emit(tx, userId, 'transfer.created', event(transfer));
        });
      } catch (err) {
        if (!(err instanceof LedgerOverdraft)) throw err;
        const held = Math.max(0, await repos.ledger.balance(available));
        throw fail('insufficient_funds', `Your available ${input.currency.toUpperCase()} balance is ${held} (minor units); this transfer needs ${input.amount}.`, {
          available: held, requested: input.amount, currency: input.currency,
        });
      }
      return attempt(account, transfer, false);
    },

    /**
     * Resolves pending transfers whose request died or never heard back: each is taken by one worker
     * (a lease), looked up at the provider, and sent again with the same idempotency key only if the
     * provider never received it.
     */
    async recoverStale(limit = 20): Promise<number> {
      let resolved = 0;
      for (let i = 0; i < limit; i++) {
        const transfer = await repos.billing.claimStaleTransfer(now(), leaseUntil());
        if (!transfer) break;
        const account = await repos.billing.account(transfer.userId, now());
        const after = await attempt(account, transfer, true);
        if (after.status !== 'pending') resolved += 1;
        log.info({ transfer_id: transfer.id, status: after.status, attempts: after.attempts }, 'recovered a pending transfer');
      }
      return resolved;
    },

    get: (id: string) => repos.billing.transfer(id),
    list: (userId: string, window: Window) => repos.billing.listTransfers(userId, window),
  };
}

export type TransfersService = ReturnType<typeof createTransfersService>;

/** A transfer the provider refused: the money is back in available. */
export function transferFailed(transfer: TransferRecord): ApiError {
  return fail('transfer_failed', `The payment provider refused the transfer (${transfer.failureReason}); the amount is back in your available balance.`, {
    transfer_id: transfer.id, reason: transfer.failureReason,
  });
}
