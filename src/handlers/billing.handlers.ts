import type { BillingAccountRecord, CheckoutRecord, TransferRecord } from '../db/repositories/billing.repository';
import { subscriptionState } from '../services/billing.service';
import { body, caller, HandlerMap, noStore, pageRequest, sendPage, Schemas } from './kit';
import type { Services } from './services';

const presentAccount = (a: BillingAccountRecord): Schemas['BillingAccount'] => ({
  plan: a.plan, subscription_status: subscriptionState(a), current_period_end: a.currentPeriodEnd, credits: a.credits,
});
const presentCheckout = (c: CheckoutRecord, url: string): Schemas['Checkout'] => ({
  id: c.id, url, status: c.status, kind: c.kind, amount: c.amount, currency: c.currency, credits: c.credits, created_at: c.createdAt,
});
const presentTransfer = (t: TransferRecord): Schemas['Transfer'] => ({
  id: t.id, amount: t.amount, currency: t.currency, destination: t.destination, description: t.description, status: t.status, created_at: t.createdAt,
});

export function billingHandlers({ billing }: Services): HandlerMap {
  return {
    async getBilling(req, res) {
      res.json(presentAccount(await billing.account(caller(req).user.id)));
    },
    async createCheckout(req, res) {
      const { checkout, url } = await billing.createCheckout(caller(req).user.id, body<'createCheckout'>(req) as Parameters<typeof billing.createCheckout>[1]);
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
      res.status(201).json(presentTransfer(await billing.createTransfer(caller(req).user.id, body<'createTransfer'>(req))));
    },
    async receiveStripeEvent(req, res) {
      const raw = (req as { rawBody?: Buffer }).rawBody ?? Buffer.from('');
      const result = await billing.applyStripeEvent(raw, req.get('stripe-signature'));
      res.json({ received: true, applied: result.applied, type: result.type });
    },
    async listTransfers(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await billing.listTransfers(caller(req).user.id, page.offset, page.limit), presentTransfer);
    },
  };
}
