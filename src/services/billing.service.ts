import type { Logger } from 'pino';
import type { components } from '../../generated/openapi';
import { addSeconds, Clock, iso } from '../core/clock';
import { HOSTED_LINK_TTL_SECONDS } from '../billing/local';
import { AccountRef, BillingProvider, InvalidProviderSignature, ProviderEvent, ProviderUnavailable, SubscriptionState } from '../billing/provider';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { BillingAccountRecord, CheckoutRecord } from '../db/repositories/billing.repository';
import { ApiError, fail, notFound } from '../core/errors';
import type { BalanceService } from './balance.service';
import type { RulesService } from './rules.service';
import type { WebhooksService } from './webhooks.service';

export const PRO_PLAN = { amount: 1200, currency: 'usd' };
export const CREDIT_PACKAGES = { small: { credits: 100, amount: 500 }, large: { credits: 1000, amount: 4000 } } as const;
const PERIOD_SECONDS = 30 * 24 * 3600;

export type CheckoutInput = components['schemas']['CreateCheckoutRequest'];

export type BillingAccountView = BillingAccountRecord & { credits: number };

/** The subscription as users read it: active, cancels at period end, canceled, or none. */
export function subscriptionState(account: BillingAccountRecord): 'none' | 'active' | 'cancels_at_period_end' | 'canceled' {
  if (account.subscriptionStatus === 'active' && account.cancelAtPeriodEnd) return 'cancels_at_period_end';
  return account.subscriptionStatus;
}

/** An event about something this service has not recorded yet; the provider's retry brings it back. */
class EventNotReady extends Error {}

/** A provider that gives no definite answer is a 503: nothing was decided, try again. */
async function viaProvider<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof ProviderUnavailable)) throw err;
    throw new ApiError('provider_unavailable', `The payment provider did not complete the request: ${err.message}`, undefined, { 'Retry-After': '10' });
  }
}

/**
 * Plans, checkouts and the provider's events. The provider is the truth about payments: nothing is
 * granted before it says paid, each of its events is applied once, in the same transaction as its
 * effects, and subscription changes are asked of it, with local state following its answer.
 */
export function createBillingService(deps: {
  repos: Repositories; clock: Clock; log: Logger; provider: BillingProvider; balance: BalanceService;
  webhooks: Pick<WebhooksService, 'emit'>; rules: Pick<RulesService, 'firePurchase'>;
  /** Checkouts may only return the browser to this origin (the product site). */
  siteUrl: string;
}) {
  const { repos, clock, log, provider, balance, webhooks, rules } = deps;
  const siteOrigin = new URL(deps.siteUrl).origin;
  const now = () => iso(clock());

  function returnUrl(raw: string, name: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw fail('invalid_return_url', `${name} must be an absolute URL on ${siteOrigin}.`);
    }
    // Anywhere else would make the hosted checkout an open redirect.
    if (url.origin !== siteOrigin) throw fail('invalid_return_url', `${name} must be on ${siteOrigin} (the product site), not ${url.origin}.`, { allowed_origin: siteOrigin });
    return url.toString();
  }

  async function priceOf(input: CheckoutInput, buyerId: string): Promise<Pick<CheckoutRecord, 'kind' | 'postId' | 'credits' | 'amount' | 'currency' | 'sellerId'>> {
    const { item } = input;
    if (item.type === 'pro_plan') return { kind: 'pro_plan', postId: null, sellerId: null, credits: 0, ...PRO_PLAN };
    if (item.type === 'credit_package') {
      const pack = CREDIT_PACKAGES[item.package];
      return { kind: 'credit_package', postId: null, sellerId: null, credits: pack.credits, amount: pack.amount, currency: 'usd' };
    }
    // A published, priced post is an offer anyone may buy; anything else is not found.
    const post = await repos.posts.findPublishedPriced(item.post_id);
    if (!post || post.pricing.amount === null || post.pricing.currency === null) throw notFound('Post');
    if (post.userId === buyerId) throw fail('own_post', 'You cannot buy your own post.');
    return { kind: 'post', postId: post.id, credits: 0, amount: post.pricing.amount, currency: post.pricing.currency, sellerId: post.userId };
  }

  /**
   * The referral link a sale came through earns its owner a share when it points at the post bought,
   * and its owner is neither the buyer (no buying at a discount through your own link) nor the seller
   * (the share would come back to them anyway). Any other code is ignored, not refused.
   */
  async function referralFor(code: string | undefined, buyerId: string, postId: string | null, sellerId: string | null): Promise<{ referrerId: string; referralLinkId: string } | null> {
    if (!code || !postId) return null;
    const link = await repos.referralLinks.findByCode(code);
    if (!link || link.targetType !== 'post' || link.targetId !== postId || link.userId === buyerId || link.userId === sellerId) return null;
    return { referrerId: link.userId, referralLinkId: link.id };
  }

  async function ownerOf(tx: Repositories, ref: AccountRef): Promise<string | undefined> {
    if (ref.by === 'user') return ref.id;
    return (await tx.billing.accountByStripe(ref.by, ref.id))?.userId;
  }

  async function applySubscription(tx: Repositories, userId: string, state: SubscriptionState): Promise<void> {
    const account = await tx.billing.account(userId, now());
    const ended = state.status === 'canceled';
    await tx.billing.updateAccount(userId, {
      plan: ended ? 'free' : state.status === 'active' ? 'pro' : account.plan,
      subscriptionStatus: ended ? 'canceled' : state.status === 'active' ? 'active' : account.subscriptionStatus,
      cancelAtPeriodEnd: state.cancelAtPeriodEnd && !ended,
      currentPeriodEnd: state.currentPeriodEnd ?? account.currentPeriodEnd,
      stripeSubscriptionId: state.subscriptionId === 'local' ? account.stripeSubscriptionId : state.subscriptionId,
    }, now());
  }

  /** What the provider said paid: grant it, record the money, tell webhooks and rules; all or nothing. */
  async function fulfil(tx: Repositories, event: Extract<ProviderEvent, { kind: 'checkout_paid' }>): Promise<string> {
    const checkout = await tx.billing.checkout(event.checkoutId);
    if (!checkout) return 'ignored: unknown checkout';
    if (event.amount !== checkout.amount || event.currency !== checkout.currency) {
      log.error({ checkout_id: checkout.id, paid: `${event.amount} ${event.currency}`, expected: `${checkout.amount} ${checkout.currency}` }, 'a payment does not match its checkout; nothing granted');
      return `refused: paid ${event.amount} ${event.currency}, expected ${checkout.amount} ${checkout.currency}`;
    }
    if (!(await tx.billing.settleCheckout(checkout.id, 'completed', now(), event.paymentId))) return `ignored: checkout already ${checkout.status}`;
    if (checkout.kind === 'pro_plan') {
      await tx.billing.account(checkout.userId, now());
      await tx.billing.updateAccount(checkout.userId, {
        plan: 'pro', subscriptionStatus: 'active', cancelAtPeriodEnd: false, currentPeriodEnd: iso(addSeconds(clock(), PERIOD_SECONDS)),
        ...(event.subscriptionId ? { stripeSubscriptionId: event.subscriptionId } : {}),
      }, now());
    }
    if (checkout.kind === 'post') {
      await balance.recordSale(tx, checkout);
    } else {
      await balance.recordPurchase(tx, checkout);
    }
    const purchase = { checkout_id: checkout.id, kind: checkout.kind, post_id: checkout.postId, credits: checkout.credits, amount: checkout.amount, currency: checkout.currency };
    await webhooks.emit(tx, checkout.userId, 'checkout.completed', purchase);
    await rules.firePurchase(tx, checkout.userId, purchase);
    return 'applied';
  }

  async function reverse(tx: Repositories, event: Extract<ProviderEvent, { kind: 'refund' | 'dispute' }>): Promise<string> {
    const found = await tx.billing.checkoutByPayment(event.paymentId);
    // Providers do not promise order: a refund may come before its payment's event has been applied.
    // Not recording it makes the provider send it again later, instead of losing it.
    if (!found) throw new EventNotReady(`no completed checkout for payment ${event.paymentId} yet`);
    const checkout = (await tx.billing.lockCheckout(found.id))!;
    if (event.currency !== checkout.currency) return `refused: ${event.currency} against a ${checkout.currency} checkout`;
    const totals = { refundedAmount: checkout.refundedAmount, disputedAmount: checkout.disputedAmount };
    // Stripe reports refunds as a running total, disputes one by one (each event applies once).
    if (event.kind === 'refund') totals.refundedAmount = Math.max(totals.refundedAmount, event.refundedTotal);
    else totals.disputedAmount += event.amount;
    const cap = (t: typeof totals) => Math.min(checkout.amount, t.refundedAmount + t.disputedAmount);
    const before = cap({ refundedAmount: checkout.refundedAmount, disputedAmount: checkout.disputedAmount });
    await tx.billing.setReversed(checkout.id, totals);
    await balance.reverse(tx, checkout, before, cap(totals), event.kind, `${event.kind}:${event.provider}:${event.id}`);
    return 'applied';
  }

  async function applyEffects(tx: Repositories, event: ProviderEvent): Promise<string> {
    switch (event.kind) {
      case 'checkout_paid':
        return fulfil(tx, event);
      case 'checkout_unpaid':
        return `ignored: payment_status ${event.paymentStatus}; waiting for the payment to succeed`;
      case 'checkout_closed':
        return (await tx.billing.settleCheckout(event.checkoutId, event.status, now())) ? 'applied' : 'ignored: checkout not open';
      case 'subscription': {
        const userId = await ownerOf(tx, event.account);
        if (!userId) return 'ignored: unknown customer';
        await applySubscription(tx, userId, event.subscription);
        return 'applied';
      }
      case 'payout_account': {
        const userId = await ownerOf(tx, event.account);
        if (!userId) return 'ignored: unknown account';
        const account = await tx.billing.account(userId, now());
        // A blocked account stays blocked whatever a later hosted page says (local provider).
        if (event.account.by === 'user' && account.payoutsStatus === 'blocked') return 'ignored: payouts blocked';
        await tx.billing.updateAccount(userId, { payoutsStatus: event.payoutsStatus, chargesEnabled: event.chargesEnabled }, now());
        return 'applied';
      }
      case 'refund':
      case 'dispute':
        return reverse(tx, event);
      default:
        return 'ignored';
    }
  }

  /**
   * Applies one provider event exactly once: it is recorded in the same transaction as its effects,
   * so a failure half-way records nothing and the provider's retry applies it; a repeat is skipped.
   */
  async function applyEvent(event: ProviderEvent): Promise<{ applied: boolean; outcome: string }> {
    try {
      return await repos.transaction(async (tx) => {
        if (!(await tx.billing.recordEvent(event.provider, event.id, event.type, 'applying', now()))) return { applied: false, outcome: 'duplicate' };
        const outcome = await applyEffects(tx, event);
        await tx.billing.recordEventOutcome(event.provider, event.id, outcome);
        return { applied: true, outcome };
      });
    } catch (err) {
      const early = err instanceof EventNotReady;
      log[early ? 'warn' : 'error']({ provider: event.provider, event_id: event.id, type: event.type, err: (err as Error).message }, 'a provider event was not applied; nothing was recorded, a retry will apply it');
      throw new ApiError('event_not_applied', `The event could not be applied right now${early ? ` (${(err as Error).message})` : ''}; nothing was recorded, so a retry will apply it.`, { event_id: event.id }, { 'Retry-After': '30' });
    }
  }

  async function account(userId: string): Promise<BillingAccountView> {
    const record = await repos.billing.account(userId, now());
    return { ...record, credits: await balance.credits(userId) };
  }

  async function setCancelAtPeriodEnd(userId: string, cancel: boolean): Promise<BillingAccountView> {
    const current = await repos.billing.account(userId, now());
    const state = await viaProvider(() => provider.setCancelAtPeriodEnd(current, cancel));
    await repos.transaction((tx) => applySubscription(tx, userId, state));
    return account(userId);
  }

  return {
    provider,
    account,
    applyEvent,

    async createCheckout(userId: string, input: CheckoutInput) {
      const price = await priceOf(input, userId);
      const referral = await referralFor(input.referral_code, userId, price.postId, price.sellerId);
      const current = await repos.billing.account(userId, now());
      if (price.kind === 'pro_plan' && current.subscriptionStatus === 'active') {
        throw fail('already_subscribed', 'You are on the Pro plan already; resume it instead if it is set to cancel.');
      }
      const checkout: CheckoutRecord = {
        id: newId('chk'), userId, ...price, status: 'open',
        successUrl: returnUrl(input.success_url, 'success_url'), cancelUrl: returnUrl(input.cancel_url, 'cancel_url'),
        referrerId: referral?.referrerId ?? null, referralLinkId: referral?.referralLinkId ?? null,
        providerPaymentId: null, refundedAmount: 0, disputedAmount: 0, createdAt: now(), completedAt: null,
      };
      await repos.billing.insertCheckout(checkout);
      const url = await viaProvider(() => provider.checkoutUrl(checkout, current, now()));
      return { checkout, url };
    },

    checkout: (id: string) => repos.billing.checkout(id),

    async cancelAtPeriodEnd(userId: string): Promise<BillingAccountView> {
      const current = await repos.billing.account(userId, now());
      if (current.subscriptionStatus !== 'active') throw fail('no_subscription', 'There is no active subscription to cancel.');
      return setCancelAtPeriodEnd(userId, true);
    },
    async resume(userId: string): Promise<BillingAccountView> {
      const current = await repos.billing.account(userId, now());
      if (current.subscriptionStatus !== 'active' || !current.cancelAtPeriodEnd) {
        throw fail('nothing_to_resume', 'Only a subscription set to cancel at the end of its period can be resumed.');
      }
      return setCancelAtPeriodEnd(userId, false);
    },
    async changePlan(userId: string, plan: components['schemas']['ChangePlanRequest']['plan']): Promise<BillingAccountView> {
      const current = await repos.billing.account(userId, now());
      if (plan === 'free') return current.subscriptionStatus === 'active' && !current.cancelAtPeriodEnd ? setCancelAtPeriodEnd(userId, true) : account(userId);
      if (current.subscriptionStatus === 'active') return current.cancelAtPeriodEnd ? setCancelAtPeriodEnd(userId, false) : account(userId);
      throw fail('checkout_required', 'Moving to Pro needs a payment: create a checkout for the pro_plan item.');
    },

    async portalLink(userId: string): Promise<string> {
      const current = await repos.billing.account(userId, now());
      return viaProvider(() => provider.portalUrl(current, now()));
    },
    linkExpiresAt: () => iso(addSeconds(clock(), HOSTED_LINK_TTL_SECONDS)),
    async onboardingLink(userId: string): Promise<string> {
      const current = await repos.billing.account(userId, now());
      return viaProvider(() => provider.onboardingUrl(current, now()));
    },

    /** `POST /api/webhooks/stripe` (or any provider with signed events): verify, translate, apply once. */
    async receiveEvent(rawBody: Buffer, signature: string | undefined): Promise<{ applied: boolean; type: string }> {
      if (!provider.parseEvent) throw notFound(`Provider events (BILLING_PROVIDER is ${provider.name})`);
      let event: ProviderEvent;
      try {
        event = provider.parseEvent(rawBody, signature ?? '');
      } catch (err) {
        if (err instanceof InvalidProviderSignature) throw new ApiError('invalid_signature', err.message);
        throw err;
      }
      const result = await applyEvent(event);
      return { applied: result.applied, type: event.type };
    },
  };
}

export type BillingService = ReturnType<typeof createBillingService>;
