import { invalidInput } from '../core/errors';
import type { CheckoutRecord, TransferRecord } from '../db/repositories/billing.repository';
import type { LedgerLine } from '../db/repositories/ledger.repository';
import { BillingAccountView, CheckoutInput, subscriptionState } from '../services/billing.service';
import { transferFailed } from '../services/transfers.service';
import { body, caller, HandlerMap, noStore, pageRequest, sendPage, Schemas } from './kit';
import type { Services } from './services';

const presentAccount = (a: BillingAccountView): Schemas['BillingAccount'] => ({
  plan: a.plan, subscription_status: subscriptionState(a), current_period_end: a.currentPeriodEnd, credits: a.credits,
});
const presentCheckout = (c: CheckoutRecord, url: string): Schemas['Checkout'] => ({
  id: c.id, url, status: c.status, kind: c.kind, amount: c.amount, currency: c.currency, credits: c.credits,
  referral_applied: c.referralLinkId !== null, created_at: c.createdAt,
});
const presentTransfer = (t: TransferRecord): Schemas['Transfer'] => ({
  id: t.id, amount: t.amount, currency: t.currency, destination: t.destination, description: t.description, status: t.status,
  failure_reason: t.failureReason, created_at: t.createdAt, updated_at: t.updatedAt,
});
const presentLine = (l: LedgerLine): Schemas['BalanceTransaction'] => ({
  id: `ble_${l.seq}`, transaction_id: l.transactionId, balance: l.balance, amount: l.amount, currency: l.currency, balance_after: l.balanceAfter,
  cause: l.cause, source: { type: l.reference.type, id: l.reference.id }, created_at: l.createdAt,
});

/** A ledger line's id is `ble_<seq>`; its cursor is the sequence number. */
function lineSeq(id: string): number {
  const seq = /^ble_([1-9][0-9]{0,15})$/.exec(id)?.[1];
  if (!seq) throw invalidInput('/query/starting_after', 'starting_after must be a ledger line id (ble_…).', 'not a ledger line id');
  return Number(seq);
}

export function billingHandlers({ billing, balance, transfers }: Services): HandlerMap {
  return {
    async getBilling(req, res) {
      res.json(presentAccount(await billing.account(caller(req).user.id)));
    },
    async getBalance(req, res) {
      const { currencies, credits } = await balance.balances(caller(req).user.id);
      res.json({
        data: currencies.map((c) => ({ currency: c.currency, available: c.available, owed: c.owed, pending: c.pending, in_flight: c.inFlight })),
        credits,
      });
    },
    async listBalanceTransactions(req, res) {
      const page = pageRequest(req, lineSeq);
      sendPage(res, page, await balance.lines(caller(req).user.id, page), presentLine);
    },
    async createCheckout(req, res) {
      const { checkout, url } = await billing.createCheckout(caller(req).user.id, body<'createCheckout'>(req) as CheckoutInput);
      res.status(201).json(presentCheckout(checkout, url));
    },
    async cancelSubscription(req, res) {
      res.json(presentAccount(await billing.cancelAtPeriodEnd(caller(req).user.id)));
    },
    async resumeSubscription(req, res) {
      res.json(presentAccount(await billing.resume(caller(req).user.id)));
    },
    async changePlan(req, res) {
      res.json(presentAccount(await billing.changePlan(caller(req).user.id, body<'changePlan'>(req).plan)));
    },
    async createBillingPortalLink(req, res) {
      noStore(res).json({ url: await billing.portalLink(caller(req).user.id), expires_at: billing.linkExpiresAt() });
    },
    async createPayoutOnboardingLink(req, res) {
      noStore(res).json({ url: await billing.onboardingLink(caller(req).user.id), expires_at: billing.linkExpiresAt() });
    },
    async getPayoutAccount(req, res) {
      const account = await billing.account(caller(req).user.id);
      res.json({ payouts_status: account.payoutsStatus, charges_enabled: account.chargesEnabled });
    },
    async createTransfer(req, res) {
      const transfer = await transfers.create(caller(req).user.id, body<'createTransfer'>(req));
      if (transfer.status === 'failed') throw transferFailed(transfer);
      // 202: reserved and sent, but the provider has not confirmed yet; GET /api/transfers shows the outcome.
      res.status(transfer.status === 'paid' ? 201 : 202).json(presentTransfer(transfer));
    },
    async receiveStripeEvent(req, res) {
      const raw = (req as { rawBody?: Buffer }).rawBody ?? Buffer.from('');
      const result = await billing.receiveEvent(raw, req.get('stripe-signature'));
      res.json({ received: true, applied: result.applied, type: result.type });
    },
    async listTransfers(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await transfers.list(caller(req).user.id, page), presentTransfer);
    },
  };
}
