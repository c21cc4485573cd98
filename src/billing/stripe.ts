import Stripe from 'stripe';
import type { Repositories } from '../db/repositories';
import type { BillingAccountRecord, CheckoutRecord, TransferRecord } from '../db/repositories/billing.repository';

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
 * The `stripe` billing adapter, on the official SDK: hosted Checkout sessions, the customer portal,
 * Connect Express onboarding and transfers, and webhook signature verification. Ids Stripe gives us
 * (customer, connected account) are kept on the billing account.
 */
export function createStripeAdapter(settings: StripeSettings, repos: Repositories, publicUrl: string) {
  const stripe = new Stripe(settings.secretKey, {
    ...(settings.host ? { host: settings.host } : {}),
    ...(settings.port ? { port: settings.port } : {}),
    ...(settings.protocol ? { protocol: settings.protocol } : {}),
    maxNetworkRetries: 1,
    timeout: 15_000,
  });

  async function customerOf(account: BillingAccountRecord, now: string): Promise<string> {
    if (account.stripeCustomerId) return account.stripeCustomerId;
    const customer = await stripe.customers.create({ metadata: { user_id: account.userId } });
    await repos.billing.updateAccount(account.userId, { stripeCustomerId: customer.id }, now);
    return customer.id;
  }

  async function connectedAccountOf(account: BillingAccountRecord, now: string): Promise<string> {
    if (account.stripeAccountId) return account.stripeAccountId;
    const connected = await stripe.accounts.create({ type: 'express', metadata: { user_id: account.userId } });
    await repos.billing.updateAccount(account.userId, { stripeAccountId: connected.id }, now);
    return connected.id;
  }

  return {
    async checkoutUrl(checkout: CheckoutRecord, account: BillingAccountRecord, now: string): Promise<string> {
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
      });
      if (!session.url) throw new Error('Stripe returned a checkout session without a URL');
      return session.url;
    },
    async portalUrl(account: BillingAccountRecord, now: string): Promise<string> {
      const session = await stripe.billingPortal.sessions.create({ customer: await customerOf(account, now), return_url: `${publicUrl}/settings/api` });
      return session.url;
    },
    async onboardingUrl(account: BillingAccountRecord, now: string): Promise<string> {
      const link = await stripe.accountLinks.create({
        account: await connectedAccountOf(account, now),
        type: 'account_onboarding',
        refresh_url: `${publicUrl}/settings/api`,
        return_url: `${publicUrl}/settings/api`,
      });
      return link.url;
    },
    async transfer(account: BillingAccountRecord, transfer: TransferRecord): Promise<void> {
      if (!account.stripeAccountId) throw new Error('no connected account');
      await stripe.transfers.create({
        amount: transfer.amount, currency: transfer.currency, destination: account.stripeAccountId,
        description: transfer.description || undefined, metadata: { transfer_id: transfer.id },
      }, { idempotencyKey: transfer.id });
    },
    /** Verifies `Stripe-Signature` over the raw body with the SDK; throws when it does not hold. */
    parseEvent(rawBody: Buffer, signature: string): Stripe.Event {
      return stripe.webhooks.constructEvent(rawBody, signature, settings.webhookSecret);
    },
  };
}

export type StripeAdapter = ReturnType<typeof createStripeAdapter>;
