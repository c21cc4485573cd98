import { createHmac, timingSafeEqual } from 'node:crypto';
import { addSeconds, Clock, iso } from '../auth/clock';
import { newId } from '../auth/token-format';
import type { Repositories } from '../db/repositories';
import type { BillingAccountRecord, CheckoutRecord, TransferRecord } from '../db/repositories/billing.repository';
import { ApiError, badRequest, conflict, notFound } from '../errors';
import type { RulesService } from './rules.service';
import type { WebhooksService } from './webhooks.service';
import type { StripeAdapter } from '../billing/stripe';

export const PRO_PLAN = { amount: 1200, currency: 'usd' };
export const CREDIT_PACKAGES = { small: { credits: 100, amount: 500 }, large: { credits: 1000, amount: 4000 } } as const;
const PERIOD_SECONDS = 30 * 24 * 3600;
const LINK_TTL_SECONDS = 15 * 60;

export type CheckoutItem = { type: 'pro_plan' } | { type: 'credit_package'; package: keyof typeof CREDIT_PACKAGES } | { type: 'post'; post_id: string };

/** The subscription as users read it: active, cancels at period end, canceled, or none. */
export function subscriptionState(account: BillingAccountRecord): 'none' | 'active' | 'cancels_at_period_end' | 'canceled' {
  if (account.subscriptionStatus === 'active' && account.cancelAtPeriodEnd) return 'cancels_at_period_end';
  return account.subscriptionStatus;
}

function absoluteUrl(raw: string, name: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.toString();
  } catch {
    // fall through
  }
  throw badRequest('invalid_return_url', `${name} must be an absolute http(s) URL.`);
}

/**
 * Billing through the `local` provider: checkouts, the billing portal and payout onboarding are hosted
 * by this server under /hosted/ (pay / cancel buttons), and completing them applies the same events a
 * real provider would send, each at most once. The Stripe adapter is not built yet.
 */
export function createBillingService(deps: {
  repos: Repositories; clock: Clock; webhooks: Pick<WebhooksService, 'emit'>; rules: Pick<RulesService, 'firePurchase'>;
  publicUrl: string; linkKey: Buffer;
  /** The Stripe adapter when BILLING_PROVIDER=stripe; the local provider otherwise. */
  stripe?: StripeAdapter;
}) {
  const { repos, clock, webhooks, rules, publicUrl, linkKey, stripe } = deps;

  /** A provider that does not answer is a 503: nothing was decided, try again. */
  async function viaProvider<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new ApiError(503, 'provider_unavailable', `The payment provider did not complete the request: ${(err as Error).message}`, undefined, { 'Retry-After': '10' });
    }
  }
  const now = () => iso(clock());

  /** A short-lived link that stands for one user on a hosted page (HMAC-signed, like a provider's session URL). */
  function signedLink(kind: string, userId: string): string {
    const expires = Math.floor(addSeconds(clock(), LINK_TTL_SECONDS).getTime() / 1000);
    const mac = createHmac('sha256', linkKey).update(`${kind}:${userId}:${expires}`).digest('base64url');
    return `${publicUrl}/hosted/${kind}/${userId}.${expires}.${mac}`;
  }

  function verifyLink(kind: string, token: string): string {
    const [userId, expires, mac] = token.split('.');
    const expected = createHmac('sha256', linkKey).update(`${kind}:${userId}:${expires}`).digest();
    const given = Buffer.from(mac ?? '', 'base64url');
    if (!userId || given.length !== expected.length || !timingSafeEqual(given, expected)) throw notFound('Link');
    if (Number(expires) * 1000 < clock().getTime()) throw new ApiError(410, 'link_expired', 'This link has expired; ask for a new one.');
    return userId;
  }

  async function priceOf(item: CheckoutItem): Promise<Pick<CheckoutRecord, 'kind' | 'postId' | 'credits' | 'amount' | 'currency'>> {
    if (item.type === 'pro_plan') return { kind: 'pro_plan', postId: null, credits: 0, ...PRO_PLAN };
    if (item.type === 'credit_package') {
      const pack = CREDIT_PACKAGES[item.package];
      return { kind: 'credit_package', postId: null, credits: pack.credits, amount: pack.amount, currency: 'usd' };
    }
    // A published, priced post is an offer anyone may buy; anything else is not found.
    const post = await repos.posts.findPublishedPriced(item.post_id);
    if (!post || post.pricing.amount === null || post.pricing.currency === null) throw notFound('Post');
    return { kind: 'post', postId: post.id, credits: 0, amount: post.pricing.amount, currency: post.pricing.currency };
  }

  return {
    account: (userId: string) => repos.billing.account(userId, now()),

    async createCheckout(userId: string, input: { item: CheckoutItem; success_url: string; cancel_url: string }) {
      const price = await priceOf(input.item);
      const account = await repos.billing.account(userId, now());
      if (price.kind === 'pro_plan' && account.subscriptionStatus === 'active') {
        throw conflict('already_subscribed', 'You are on the Pro plan already; resume it instead if it is set to cancel.');
      }
      const checkout: CheckoutRecord = {
        id: newId('chk'), userId, ...price, status: 'open',
        successUrl: absoluteUrl(input.success_url, 'success_url'), cancelUrl: absoluteUrl(input.cancel_url, 'cancel_url'),
        createdAt: now(), completedAt: null,
      };
      await repos.billing.insertCheckout(checkout);
      const url = stripe
        ? await viaProvider(() => stripe.checkoutUrl(checkout, account, now()))
        : `${publicUrl}/hosted/checkout/${checkout.id}`;
      return { checkout, url };
    },

    checkout: (id: string) => repos.billing.checkout(id),

    /**
     * The provider's `checkout.session.completed`: applied once (a settled checkout is left alone), with
     * its effects, the checkout.completed webhook event and PURCHASE_SUCCEEDED rules in one transaction.
     */
    async completeCheckout(id: string): Promise<CheckoutRecord> {
      const checkout = await repos.billing.checkout(id);
      if (!checkout) throw notFound('Checkout');
      await repos.transaction(async (tx) => {
        if (!(await tx.billing.settleCheckout(id, 'completed', now()))) return;
        await tx.billing.account(checkout.userId, now());
        if (checkout.kind === 'pro_plan') {
          await tx.billing.updateAccount(checkout.userId, {
            plan: 'pro', subscriptionStatus: 'active', cancelAtPeriodEnd: false, currentPeriodEnd: iso(addSeconds(clock(), PERIOD_SECONDS)),
          }, now());
        }
        if (checkout.credits > 0) await tx.billing.addCredits(checkout.userId, checkout.credits, now());
        const purchase = { checkout_id: id, kind: checkout.kind, post_id: checkout.postId, credits: checkout.credits, amount: checkout.amount, currency: checkout.currency };
        await webhooks.emit(tx, checkout.userId, 'checkout.completed', purchase);
        await rules.firePurchase(tx, checkout.userId, purchase);
      });
      return (await repos.billing.checkout(id))!;
    },

    async cancelCheckout(id: string): Promise<CheckoutRecord> {
      const checkout = await repos.billing.checkout(id);
      if (!checkout) throw notFound('Checkout');
      await repos.billing.settleCheckout(id, 'canceled', now());
      return (await repos.billing.checkout(id))!;
    },

    async cancelAtPeriodEnd(userId: string): Promise<BillingAccountRecord> {
      const account = await repos.billing.account(userId, now());
      if (account.subscriptionStatus !== 'active') throw conflict('no_subscription', 'There is no active subscription to cancel.');
      await repos.billing.updateAccount(userId, { cancelAtPeriodEnd: true }, now());
      return repos.billing.account(userId, now());
    },
    async resume(userId: string): Promise<BillingAccountRecord> {
      const account = await repos.billing.account(userId, now());
      if (account.subscriptionStatus !== 'active' || !account.cancelAtPeriodEnd) {
        throw conflict('nothing_to_resume', 'Only a subscription set to cancel at the end of its period can be resumed.');
      }
      await repos.billing.updateAccount(userId, { cancelAtPeriodEnd: false }, now());
      return repos.billing.account(userId, now());
    },
    async changePlan(userId: string, plan: 'free' | 'pro'): Promise<BillingAccountRecord> {
      const account = await repos.billing.account(userId, now());
      if (plan === 'free') return account.subscriptionStatus === 'active' && !account.cancelAtPeriodEnd ? this.cancelAtPeriodEnd(userId) : account;
      if (account.subscriptionStatus === 'active') return account.cancelAtPeriodEnd ? this.resume(userId) : account;
      throw conflict('checkout_required', 'Moving to Pro needs a payment: create a checkout for the pro_plan item.');
    },

    async portalLink(userId: string): Promise<string> {
      if (!stripe) return signedLink('portal', userId);
      const account = await repos.billing.account(userId, now());
      return viaProvider(() => stripe.portalUrl(account, now()));
    },
    linkExpiresAt: () => iso(addSeconds(clock(), LINK_TTL_SECONDS)),
    portalUser: (token: string) => verifyLink('portal', token),
    async onboardingLink(userId: string): Promise<string> {
      if (!stripe) return signedLink('onboarding', userId);
      const account = await repos.billing.account(userId, now());
      return viaProvider(() => stripe.onboardingUrl(account, now()));
    },
    onboardingUser: (token: string) => verifyLink('onboarding', token),
    /** The provider's `account.updated` after onboarding: payouts and charges enabled (local provider). */
    async completeOnboarding(userId: string): Promise<BillingAccountRecord> {
      const account = await repos.billing.account(userId, now());
      if (account.payoutsStatus !== 'blocked') await repos.billing.updateAccount(userId, { payoutsStatus: 'enabled', chargesEnabled: true }, now());
      return repos.billing.account(userId, now());
    },

    async createTransfer(userId: string, input: { amount: number; currency: string; destination?: string; description?: string }): Promise<TransferRecord> {
      const account = await repos.billing.account(userId, now());
      if (account.payoutsStatus !== 'enabled') {
        const reason = { incomplete: 'payout onboarding is not finished', pending_review: 'the payout account is under review', blocked: 'payouts are blocked' }[account.payoutsStatus as 'incomplete'];
        throw conflict('payouts_not_ready', `Transfers need a payout account that can receive money: ${reason}. Create an onboarding link (POST /api/payouts/onboarding).`, { payouts_status: account.payoutsStatus });
      }
      const transfer: TransferRecord = {
        id: newId('tr'), userId, amount: input.amount, currency: input.currency, destination: input.destination ?? 'default',
        description: input.description ?? '', status: 'paid', createdAt: now(),
      };
      if (stripe) await viaProvider(() => stripe.transfer(account, transfer));
      await repos.transaction(async (tx) => {
        await tx.billing.insertTransfer(transfer);
        await webhooks.emit(tx, userId, 'transfer.created', { id: transfer.id, amount: transfer.amount, currency: transfer.currency, destination: transfer.destination });
      });
      return transfer;
    },
    /**
     * `POST /api/webhooks/stripe`: verified with the SDK, each event applied once (Stripe retries),
     * checkout completion through the same path as the local provider's pay button.
     */
    async applyStripeEvent(rawBody: Buffer, signature: string | undefined): Promise<{ applied: boolean; type: string }> {
      if (!stripe) throw notFound('Stripe webhooks (BILLING_PROVIDER is local)');
      let event;
      try {
        event = stripe.parseEvent(rawBody, signature ?? '');
      } catch (err) {
        throw new ApiError(400, 'invalid_signature', `The Stripe-Signature header does not verify: ${(err as Error).message}`);
      }
      if (!(await repos.billing.rememberEvent(event.id, event.type, now()))) return { applied: false, type: event.type };
      const object = event.data.object as unknown as Record<string, any>;
      switch (event.type) {
        case 'checkout.session.completed': {
          const checkoutId = object.metadata?.checkout_id ?? object.client_reference_id;
          if (checkoutId) await this.completeCheckout(checkoutId);
          break;
        }
        case 'customer.subscription.updated':
        case 'customer.subscription.deleted': {
          const account = await repos.billing.accountByStripe('stripe_customer_id', object.customer);
          if (!account) break;
          const ended = event.type === 'customer.subscription.deleted' || object.status === 'canceled';
          await repos.billing.updateAccount(account.userId, {
            plan: ended ? 'free' : 'pro',
            subscriptionStatus: ended ? 'canceled' : object.status === 'active' || object.status === 'trialing' ? 'active' : account.subscriptionStatus,
            cancelAtPeriodEnd: Boolean(object.cancel_at_period_end) && !ended,
            currentPeriodEnd: object.current_period_end ? new Date(object.current_period_end * 1000).toISOString() : account.currentPeriodEnd,
          }, now());
          break;
        }
        case 'account.updated': {
          const account = await repos.billing.accountByStripe('stripe_account_id', object.id);
          if (!account) break;
          const disabled = String(object.requirements?.disabled_reason ?? '');
          const payoutsStatus = object.payouts_enabled ? 'enabled'
            : disabled.startsWith('rejected') ? 'blocked'
              : disabled === 'under_review' || (object.details_submitted && disabled) ? 'pending_review' : 'incomplete';
          await repos.billing.updateAccount(account.userId, { payoutsStatus, chargesEnabled: Boolean(object.charges_enabled) }, now());
          break;
        }
        default:
          break;
      }
      return { applied: true, type: event.type };
    },
    listTransfers: (userId: string, offset: number, limit: number) => repos.billing.listTransfers(userId, offset, limit),
  };
}

export type BillingService = ReturnType<typeof createBillingService>;
