import Stripe from 'stripe';
import type { Repositories } from '../db/repositories';
import type { BillingAccountRecord, CheckoutRecord } from '../db/repositories/billing.repository';
import {
  BillingProvider, InvalidProviderSignature, ProviderEvent, ProviderEventBody, ProviderUnavailable, SubscriptionState, TransferOutcome,
} from './provider';

export interface StripeSettings {
  secretKey: string;
  webhookSecret: string;
  /** Where the SDK sends its requests: api.stripe.com in production, a stand-in in tests. */
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
}

const PRODUCT_NAMES: Record<CheckoutRecord['kind'], string> = {
  pro_plan: 'GetPaidX Pro',
  credit_package: 'GetPaidX workspace credits',
  post: 'GetPaidX post',
};

/**
 * A Stripe error is a definite "no" only when Stripe answered that the request itself is wrong (4xx
 * other than 409 and 429): then nothing happened. A network error, a timeout, a 5xx, a rate limit or
 * an idempotency conflict leaves the outcome unknown.
 */
function definiteFailure(err: unknown): string | undefined {
  if (!(err instanceof Stripe.errors.StripeError)) return undefined;
  const status = err.statusCode ?? 0;
  if (status >= 400 && status < 500 && status !== 409 && status !== 429) return `${err.code ?? err.type}: ${err.message}`;
  return undefined;
}

async function call<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ProviderUnavailable) throw err;
    throw new ProviderUnavailable(`Stripe did not complete ${what}: ${(err as Error).message}`);
  }
}

const unixToIso = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null);
const idOf = (value: unknown): string | null => (typeof value === 'string' ? value : (value as { id?: string } | null)?.id ?? null);

function subscriptionState(object: Record<string, any>): SubscriptionState {
  const status = object.status === 'active' || object.status === 'trialing' ? 'active' : object.status === 'canceled' ? 'canceled' : 'other';
  return {
    subscriptionId: object.id,
    status,
    cancelAtPeriodEnd: Boolean(object.cancel_at_period_end),
    // Newer API versions keep the period on the subscription's items.
    currentPeriodEnd: unixToIso(object.current_period_end ?? object.items?.data?.[0]?.current_period_end),
  };
}

/** Stripe's events in our vocabulary (src/billing/provider.ts); what we do not act on is `ignored`. */
export function translateStripeEvent(event: Stripe.Event): ProviderEventBody {
  const object = event.data.object as unknown as Record<string, any>;
  const checkoutId = object.metadata?.checkout_id ?? object.client_reference_id;
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
      if (!checkoutId) return { kind: 'ignored' };
      // Stripe sends .completed for bank debits too, before the money has arrived: only `paid` counts.
      if (object.payment_status !== 'paid') return { kind: 'checkout_unpaid', checkoutId, paymentStatus: String(object.payment_status) };
      return {
        kind: 'checkout_paid', checkoutId, amount: Number(object.amount_total), currency: String(object.currency ?? '').toLowerCase(),
        paymentId: idOf(object.payment_intent) ?? idOf(object.invoice), subscriptionId: idOf(object.subscription),
      };
    case 'checkout.session.async_payment_failed':
      return checkoutId ? { kind: 'checkout_closed', checkoutId, status: 'failed' } : { kind: 'ignored' };
    case 'checkout.session.expired':
      return checkoutId ? { kind: 'checkout_closed', checkoutId, status: 'canceled' } : { kind: 'ignored' };
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted': {
      const subscription = subscriptionState(object);
      if (event.type === 'customer.subscription.deleted') subscription.status = 'canceled';
      return { kind: 'subscription', account: { by: 'stripe_customer_id', id: idOf(object.customer) ?? '' }, subscription };
    }
    case 'account.updated': {
      const disabled = String(object.requirements?.disabled_reason ?? '');
      const payoutsStatus = object.payouts_enabled ? 'enabled'
        : disabled.startsWith('rejected') ? 'blocked'
          : disabled === 'under_review' || (object.details_submitted && disabled) ? 'pending_review' : 'incomplete';
      return { kind: 'payout_account', account: { by: 'stripe_account_id', id: object.id }, payoutsStatus, chargesEnabled: Boolean(object.charges_enabled) };
    }
    case 'charge.refunded': {
      const paymentId = idOf(object.payment_intent) ?? idOf(object.invoice);
      return paymentId ? { kind: 'refund', paymentId, refundedTotal: Number(object.amount_refunded), currency: String(object.currency).toLowerCase() } : { kind: 'ignored' };
    }
    case 'charge.dispute.created': {
      const paymentId = idOf(object.payment_intent);
      return paymentId ? { kind: 'dispute', paymentId, amount: Number(object.amount), currency: String(object.currency).toLowerCase() } : { kind: 'ignored' };
    }
    default:
      return { kind: 'ignored' };
  }
}

/**
 * The `stripe` billing adapter, on the official SDK: hosted Checkout sessions, the customer portal,
 * Connect Express onboarding and transfers, subscription changes, and webhook signature verification.
 * Ids Stripe gives us (customer, connected account, subscription) are kept on the billing account.
 */
export function createStripeProvider(settings: StripeSettings, repos: Repositories, publicUrl: string): BillingProvider {
  const stripe = new Stripe(settings.secretKey, {
    ...(settings.host ? { host: settings.host } : {}),
    ...(settings.port ? { port: settings.port } : {}),
    ...(settings.protocol ? { protocol: settings.protocol } : {}),
    // The SDK retries network failures itself, with the same idempotency key.
    maxNetworkRetries: 1,
    timeout: 15_000,
  });

  async function customerOf(account: BillingAccountRecord, now: string): Promise<string> {
    if (account.stripeCustomerId) return account.stripeCustomerId;
    const customer = await stripe.customers.create({ metadata: { user_id: account.userId } }, { idempotencyKey: `customer:${account.userId}` });
    await repos.billing.updateAccount(account.userId, { stripeCustomerId: customer.id }, now);
    return customer.id;
  }

  async function connectedAccountOf(account: BillingAccountRecord, now: string): Promise<string> {
    if (account.stripeAccountId) return account.stripeAccountId;
    const connected = await stripe.accounts.create({ type: 'express', metadata: { user_id: account.userId } }, { idempotencyKey: `account:${account.userId}` });
    await repos.billing.updateAccount(account.userId, { stripeAccountId: connected.id }, now);
    return connected.id;
  }

  const paid = (transfer: Stripe.Transfer): TransferOutcome => ({ status: 'paid', providerTransferId: transfer.id });

  return {
    name: 'stripe',
    checkoutUrl: (checkout, account, now) => call('the checkout session', async () => {
      const recurring = checkout.kind === 'pro_plan';
      const session = await stripe.checkout.sessions.create({
        mode: recurring ? 'subscription' : 'payment',
        customer: await customerOf(account, now),
        client_reference_id: checkout.id,
        metadata: { checkout_id: checkout.id, user_id: checkout.userId },
        success_url: `${checkout.successUrl}${checkout.successUrl.includes('?') ? '&' : '?'}checkout_id=${checkout.id}`,
        cancel_url: checkout.cancelUrl,
        line_items: [{
          quantity: 1,
          price_data: {
            currency: checkout.currency,
            unit_amount: checkout.amount,
            product_data: { name: checkout.kind === 'credit_package' ? `${checkout.credits} ${PRODUCT_NAMES.credit_package}` : PRODUCT_NAMES[checkout.kind] },
            ...(recurring ? { recurring: { interval: 'month' as const } } : {}),
          },
        }],
      }, { idempotencyKey: `checkout:${checkout.id}` });
      if (!session.url) throw new ProviderUnavailable('Stripe returned a checkout session without a URL');
      return session.url;
    }),
    portalUrl: (account, now) => call('the portal session', async () =>
      (await stripe.billingPortal.sessions.create({ customer: await customerOf(account, now), return_url: `${publicUrl}/settings/api` })).url),
    onboardingUrl: (account, now) => call('the onboarding link', async () => (await stripe.accountLinks.create({
      account: await connectedAccountOf(account, now),
      type: 'account_onboarding',
      refresh_url: `${publicUrl}/settings/api`,
      return_url: `${publicUrl}/settings/api`,
    })).url),

    async sendTransfer(account, transfer) {
      if (!account.stripeAccountId) return { status: 'failed', reason: 'no connected Stripe account' };
      try {
        return paid(await stripe.transfers.create({
          amount: transfer.amount, currency: transfer.currency, destination: account.stripeAccountId,
          description: transfer.description || undefined, metadata: { transfer_id: transfer.id }, transfer_group: transfer.id,
        }, { idempotencyKey: `transfer:${transfer.id}` }));
      } catch (err) {
        const reason = definiteFailure(err);
        if (reason) return { status: 'failed', reason };
        throw new ProviderUnavailable(`Stripe did not confirm the transfer: ${(err as Error).message}`);
      }
    },
    // Idempotency keys last 24 hours at Stripe; the transfer group finds a transfer at any age.
    findTransfer: (account, transfer) => call('the transfer lookup', async () => {
      if (!account.stripeAccountId) return undefined;
      const found = await stripe.transfers.list({ transfer_group: transfer.id, destination: account.stripeAccountId, limit: 1 });
      return found.data[0] ? paid(found.data[0]) : undefined;
    }),
    setCancelAtPeriodEnd: (account, cancel) => call('the subscription change', async () => {
      if (!account.stripeSubscriptionId) throw new ProviderUnavailable('no Stripe subscription is recorded for this account');
      const updated = await stripe.subscriptions.update(account.stripeSubscriptionId, { cancel_at_period_end: cancel });
      return subscriptionState(updated as unknown as Record<string, any>);
    }),

    parseEvent(rawBody: Buffer, signature: string): ProviderEvent {
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(rawBody, signature, settings.webhookSecret);
      } catch (err) {
        throw new InvalidProviderSignature(`The Stripe-Signature header does not verify: ${(err as Error).message}`);
      }
      return { provider: 'stripe', id: event.id, type: event.type, ...translateStripeEvent(event) };
    },
  };
}
