import type { components } from '../../../generated/openapi';
import type { Knex } from 'knex';
import { columnsOf } from '../columns';
import { NEWEST_FIRST, Page, pageOf, Window } from '../page';

export interface BillingAccountRecord {
  userId: string;
  plan: components['schemas']['BillingAccount']['plan'];
  subscriptionStatus: 'none' | 'active' | 'canceled';
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: string | null;
  payoutsStatus: components['schemas']['PayoutAccount']['payouts_status'];
  chargesEnabled: boolean;
  stripeCustomerId: string | null;
  stripeAccountId: string | null;
  stripeSubscriptionId: string | null;
  updatedAt: string;
}

export interface CheckoutRecord {
  id: string;
  userId: string;
  kind: 'pro_plan' | 'credit_package' | 'post';
  postId: string | null;
  credits: number;
  amount: number;
  currency: string;
  status: 'open' | 'completed' | 'canceled' | 'failed';
  successUrl: string;
  cancelUrl: string;
  /** A post's seller, fixed when the checkout is created. */
  sellerId: string | null;
  /** The owner of the referral link the buyer came through, when it earns them a share, and the link. */
  referrerId: string | null;
  referralLinkId: string | null;
  /** The provider's payment (Stripe payment intent or invoice), to match refunds and disputes. */
  providerPaymentId: string | null;
  refundedAmount: number;
  disputedAmount: number;
  createdAt: string;
  completedAt: string | null;
}

export interface SaleRecord {
  checkoutId: string;
  postId: string;
  sellerId: string;
  buyerId: string;
  referrerId: string | null;
  referralLinkId: string | null;
  amount: number;
  currency: string;
  sellerAmount: number;
  feeAmount: number;
  referralAmount: number;
  availableAt: string;
  settledAt: string | null;
  createdAt: string;
}

export interface TransferRecord {
  id: string;
  userId: string;
  amount: number;
  currency: string;
  destination: string;
  description: string;
  /** pending: reserved, the provider has not confirmed; paid: settled; failed: reversed to available. */
  status: 'pending' | 'paid' | 'failed';
  failureReason: string | null;
  providerTransferId: string | null;
  attempts: number;
  /** While pending: when a worker may take the transfer over to resolve it (crash recovery). */
  leaseUntil: string | null;
  createdAt: string;
  updatedAt: string;
}

const ACCOUNT_COLUMNS: Record<string, string> = {
  plan: 'plan', subscriptionStatus: 'subscription_status', cancelAtPeriodEnd: 'cancel_at_period_end', currentPeriodEnd: 'current_period_end',
  payoutsStatus: 'payouts_status', chargesEnabled: 'charges_enabled', stripeCustomerId: 'stripe_customer_id', stripeAccountId: 'stripe_account_id',
  stripeSubscriptionId: 'stripe_subscription_id',
};

function toAccount(row: Record<string, any>): BillingAccountRecord {
  return {
    userId: row.user_id,
    plan: row.plan,
    subscriptionStatus: row.subscription_status,
    cancelAtPeriodEnd: Boolean(row.cancel_at_period_end),
    currentPeriodEnd: row.current_period_end ?? null,
    payoutsStatus: row.payouts_status,
    chargesEnabled: Boolean(row.charges_enabled),
    stripeCustomerId: row.stripe_customer_id ?? null,
    stripeAccountId: row.stripe_account_id ?? null,
    stripeSubscriptionId: row.stripe_subscription_id ?? null,
    updatedAt: row.updated_at,
  };
}

function toCheckout(row: Record<string, any>): CheckoutRecord {
  return {
    id: row.id, userId: row.user_id, kind: row.kind, postId: row.post_id ?? null, credits: Number(row.credits), amount: Number(row.amount),
    currency: row.currency, status: row.status, successUrl: row.success_url, cancelUrl: row.cancel_url,
    sellerId: row.seller_id ?? null, referrerId: row.referrer_id ?? null, referralLinkId: row.referral_link_id ?? null, providerPaymentId: row.provider_payment_id ?? null,
    refundedAmount: Number(row.refunded_amount ?? 0), disputedAmount: Number(row.disputed_amount ?? 0),
    createdAt: row.created_at, completedAt: row.completed_at ?? null,
  };
}

function toSale(row: Record<string, any>): SaleRecord {
  return {
    checkoutId: row.checkout_id, postId: row.post_id, sellerId: row.seller_id, buyerId: row.buyer_id, referrerId: row.referrer_id ?? null,
    referralLinkId: row.referral_link_id ?? null, amount: Number(row.amount), currency: row.currency, sellerAmount: Number(row.seller_amount),
    feeAmount: Number(row.fee_amount), referralAmount: Number(row.referral_amount), availableAt: row.available_at, settledAt: row.settled_at ?? null,
    createdAt: row.created_at,
  };
}

function toTransfer(row: Record<string, any>): TransferRecord {
  return {
    id: row.id, userId: row.user_id, amount: Number(row.amount), currency: row.currency, destination: row.destination,
    description: row.description, status: row.status, failureReason: row.failure_reason ?? null, providerTransferId: row.provider_transfer_id ?? null,
    attempts: Number(row.attempts ?? 0), leaseUntil: row.lease_until ?? null, createdAt: row.created_at, updatedAt: row.updated_at ?? row.created_at,
  };
}

const TRANSFER_COLUMNS: Record<string, string> = {
  status: 'status', failureReason: 'failure_reason', providerTransferId: 'provider_transfer_id', leaseUntil: 'lease_until', updatedAt: 'updated_at',
};

export function billingRepository(db: Knex) {
  return {
    /** The account's billing row, created on first use with the free plan and no credits. */
    async account(userId: string, now: string): Promise<BillingAccountRecord> {
      await db('billing_accounts').insert({ user_id: userId, plan: 'free', subscription_status: 'none', updated_at: now })
        .onConflict('user_id').ignore();
      return toAccount(await db('billing_accounts').where({ user_id: userId }).first());
    },
    async updateAccount(userId: string, patch: Partial<BillingAccountRecord>, now: string): Promise<void> {
      await db('billing_accounts').where({ user_id: userId }).update({ ...columnsOf(patch, ACCOUNT_COLUMNS), updated_at: now });
    },
    async insertCheckout(c: CheckoutRecord): Promise<void> {
      await db('billing_checkouts').insert({
        id: c.id, user_id: c.userId, kind: c.kind, post_id: c.postId, credits: c.credits, amount: c.amount, currency: c.currency,
        status: c.status, success_url: c.successUrl, cancel_url: c.cancelUrl,
        seller_id: c.sellerId, referrer_id: c.referrerId, referral_link_id: c.referralLinkId, created_at: c.createdAt,
      });
    },
    async checkout(id: string): Promise<CheckoutRecord | undefined> {
      const row = await db('billing_checkouts').where({ id }).first();
      return row ? toCheckout(row) : undefined;
    },
    /** Settles an open checkout; false when it was settled already (events are applied once). */
    async settleCheckout(id: string, status: 'completed' | 'canceled' | 'failed', now: string, providerPaymentId: string | null = null): Promise<boolean> {
      return (await db('billing_checkouts').where({ id, status: 'open' }).update({ status, completed_at: now, provider_payment_id: providerPaymentId })) > 0;
    },
    async checkoutByPayment(providerPaymentId: string): Promise<CheckoutRecord | undefined> {
      const row = await db('billing_checkouts').where({ provider_payment_id: providerPaymentId, status: 'completed' }).first();
      return row ? toCheckout(row) : undefined;
    },
    /**
     * Reads a checkout, holding its row locked for the rest of the transaction: refunds, disputes and
     * the settlement of one sale all take this lock first, so they never interleave.
     */
    async lockCheckout(id: string): Promise<CheckoutRecord | undefined> {
      await db('billing_checkouts').where({ id }).update({ refunded_amount: db.raw('refunded_amount') });
      const row = await db('billing_checkouts').where({ id }).first();
      return row ? toCheckout(row) : undefined;
    },
    async setReversed(id: string, totals: { refundedAmount: number; disputedAmount: number }): Promise<void> {
      await db('billing_checkouts').where({ id }).update({ refunded_amount: totals.refundedAmount, disputed_amount: totals.disputedAmount });
    },
    async accountByStripe(column: 'stripe_customer_id' | 'stripe_account_id' | 'stripe_subscription_id', id: string): Promise<BillingAccountRecord | undefined> {
      const row = await db('billing_accounts').where({ [column]: id }).first();
      return row ? toAccount(row) : undefined;
    },
    /** Records a provider event as applied; false when it was applied before (providers retry). */
    async recordEvent(provider: string, id: string, type: string, outcome: string, now: string): Promise<boolean> {
      const inserted = await db('provider_events').insert({ provider, id, type, outcome: outcome.slice(0, 200), received_at: now })
        .onConflict(['provider', 'id']).ignore().returning('id');
      return inserted.length === 1;
    },
    async recordEventOutcome(provider: string, id: string, outcome: string): Promise<void> {
      await db('provider_events').where({ provider, id }).update({ outcome: outcome.slice(0, 200) });
    },

    async insertSale(sale: SaleRecord): Promise<void> {
      await db('sales').insert({
        checkout_id: sale.checkoutId, post_id: sale.postId, seller_id: sale.sellerId, buyer_id: sale.buyerId, referrer_id: sale.referrerId,
        referral_link_id: sale.referralLinkId, amount: sale.amount, currency: sale.currency, seller_amount: sale.sellerAmount,
        fee_amount: sale.feeAmount, referral_amount: sale.referralAmount, available_at: sale.availableAt, settled_at: null, created_at: sale.createdAt,
      });
    },
    async sale(checkoutId: string): Promise<SaleRecord | undefined> {
      const row = await db('sales').where({ checkout_id: checkoutId }).first();
      return row ? toSale(row) : undefined;
    },
    /** Sales whose pending earnings are due to become available (all users, or one user's as seller or referrer). */
    async dueSales(now: string, limit: number, userId?: string): Promise<SaleRecord[]> {
      const query = db('sales').whereNull('settled_at').andWhere('available_at', '<=', now);
      if (userId) query.andWhere((q) => q.where('seller_id', userId).orWhere('referrer_id', userId));
      return (await query.orderBy('available_at').limit(limit)).map(toSale);
    },
    /** Marks a sale settled; false when another pass settled it first. */
    async markSettled(checkoutId: string, now: string): Promise<boolean> {
      return (await db('sales').where({ checkout_id: checkoutId }).whereNull('settled_at').update({ settled_at: now })) > 0;
    },

    async localPayout(key: string): Promise<{ amount: number; currency: string } | undefined> {
      const row = await db('local_payouts').where({ idempotency_key: key }).first();
      return row ? { amount: Number(row.amount), currency: row.currency } : undefined;
    },
    async insertLocalPayout(key: string, userId: string, amount: number, currency: string, now: string): Promise<void> {
      await db('local_payouts').insert({ idempotency_key: key, user_id: userId, amount, currency, created_at: now }).onConflict('idempotency_key').ignore();
    },

    async insertTransfer(t: TransferRecord): Promise<void> {
      await db('transfers').insert({
        id: t.id, user_id: t.userId, amount: t.amount, currency: t.currency, destination: t.destination, description: t.description,
        status: t.status, attempts: t.attempts, lease_until: t.leaseUntil, created_at: t.createdAt, updated_at: t.updatedAt,
      });
    },
    async transfer(id: string): Promise<TransferRecord | undefined> {
      const row = await db('transfers').where({ id }).first();
      return row ? toTransfer(row) : undefined;
    },
    /** Moves a pending transfer to its outcome; false when it was resolved already (by a worker or the request). */
    async resolveTransfer(id: string, patch: Partial<TransferRecord>): Promise<boolean> {
      return (await db('transfers').where({ id, status: 'pending' }).update({ ...columnsOf(patch, TRANSFER_COLUMNS), lease_until: null })) > 0;
    },
    /**
     * Takes over one pending transfer whose lease has lapsed (its request died or timed out), holding it
     * until `leaseUntil`; one worker wins each transfer.
     */
    async claimStaleTransfer(now: string, leaseUntil: string): Promise<TransferRecord | undefined> {
      const candidates = await db('transfers').where({ status: 'pending' }).andWhere('lease_until', '<', now).orderBy('lease_until').limit(5).select('id');
      for (const { id } of candidates) {
        const claimed = await db('transfers').where({ id, status: 'pending' }).andWhere('lease_until', '<', now)
          .update({ lease_until: leaseUntil, attempts: db.raw('attempts + 1'), updated_at: now });
        if (claimed > 0) return toTransfer(await db('transfers').where({ id }).first());
      }
      return undefined;
    },
    listTransfers(userId: string, window: Window): Promise<Page<TransferRecord>> {
      return pageOf(() => db('transfers').where({ user_id: userId }), ['*'], NEWEST_FIRST, window, toTransfer);
    },
  };
}
