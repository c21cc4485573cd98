import type { Knex } from 'knex';
import { columnsOf } from '../columns';
import { NEWEST_FIRST, Page, pageOf } from '../page';

export interface BillingAccountRecord {
  userId: string;
  plan: 'free' | 'pro';
  subscriptionStatus: 'none' | 'active' | 'canceled';
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: string | null;
  credits: number;
  payoutsStatus: 'incomplete' | 'pending_review' | 'enabled' | 'blocked';
  chargesEnabled: boolean;
  stripeCustomerId: string | null;
  stripeAccountId: string | null;
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
  status: 'open' | 'completed' | 'canceled';
  successUrl: string;
  cancelUrl: string;
  createdAt: string;
  completedAt: string | null;
}

export interface TransferRecord {
  id: string;
  userId: string;
  amount: number;
  currency: string;
  destination: string;
  description: string;
  status: 'paid';
  createdAt: string;
}

const ACCOUNT_COLUMNS: Record<string, string> = {
  plan: 'plan', subscriptionStatus: 'subscription_status', cancelAtPeriodEnd: 'cancel_at_period_end', currentPeriodEnd: 'current_period_end',
  payoutsStatus: 'payouts_status', chargesEnabled: 'charges_enabled', stripeCustomerId: 'stripe_customer_id', stripeAccountId: 'stripe_account_id',
};

function toAccount(row: Record<string, any>): BillingAccountRecord {
  return {
    userId: row.user_id,
    plan: row.plan,
    subscriptionStatus: row.subscription_status,
    cancelAtPeriodEnd: Boolean(row.cancel_at_period_end),
    currentPeriodEnd: row.current_period_end ?? null,
    credits: Number(row.credits),
    payoutsStatus: row.payouts_status,
    chargesEnabled: Boolean(row.charges_enabled),
    stripeCustomerId: row.stripe_customer_id ?? null,
    stripeAccountId: row.stripe_account_id ?? null,
    updatedAt: row.updated_at,
  };
}

function toCheckout(row: Record<string, any>): CheckoutRecord {
  return {
    id: row.id, userId: row.user_id, kind: row.kind, postId: row.post_id ?? null, credits: Number(row.credits), amount: Number(row.amount),
    currency: row.currency, status: row.status, successUrl: row.success_url, cancelUrl: row.cancel_url, createdAt: row.created_at,
    completedAt: row.completed_at ?? null,
  };
}

function toTransfer(row: Record<string, any>): TransferRecord {
  return {
    id: row.id, userId: row.user_id, amount: Number(row.amount), currency: row.currency, destination: row.destination,
    description: row.description, status: row.status, createdAt: row.created_at,
  };
}

export function billingRepository(db: Knex) {
  return {
    /** The account's billing row, created on first use with the free plan and no credits. */
    async account(userId: string, now: string): Promise<BillingAccountRecord> {
      await db('billing_accounts').insert({ user_id: userId, plan: 'free', subscription_status: 'none', credits: 0, updated_at: now })
        .onConflict('user_id').ignore();
      return toAccount(await db('billing_accounts').where({ user_id: userId }).first());
    },
    async updateAccount(userId: string, patch: Partial<BillingAccountRecord>, now: string): Promise<void> {
      await db('billing_accounts').where({ user_id: userId }).update({ ...columnsOf(patch, ACCOUNT_COLUMNS), updated_at: now });
    },
    async addCredits(userId: string, credits: number, now: string): Promise<void> {
      await db('billing_accounts').where({ user_id: userId }).update({ credits: db.raw('credits + ?', [credits]), updated_at: now });
    },
    /** Spends credits only if the balance covers them (one statement, so two spends never overdraw). */
    async spendCredits(userId: string, credits: number, now: string): Promise<boolean> {
      const changed = await db('billing_accounts').where({ user_id: userId }).andWhere('credits', '>=', credits)
        .update({ credits: db.raw('credits - ?', [credits]), updated_at: now });
      return changed > 0;
    },
    async insertCheckout(c: CheckoutRecord): Promise<void> {
      await db('billing_checkouts').insert({
        id: c.id, user_id: c.userId, kind: c.kind, post_id: c.postId, credits: c.credits, amount: c.amount, currency: c.currency,
        status: c.status, success_url: c.successUrl, cancel_url: c.cancelUrl, created_at: c.createdAt,
      });
    },
    async checkout(id: string): Promise<CheckoutRecord | undefined> {
      const row = await db('billing_checkouts').where({ id }).first();
      return row ? toCheckout(row) : undefined;
    },
    /** Settles an open checkout; false when it was settled already (events are applied once). */
    async settleCheckout(id: string, status: 'completed' | 'canceled', now: string): Promise<boolean> {
      return (await db('billing_checkouts').where({ id, status: 'open' }).update({ status, completed_at: now })) > 0;
    },
    async accountByStripe(column: 'stripe_customer_id' | 'stripe_account_id', id: string): Promise<BillingAccountRecord | undefined> {
      const row = await db('billing_accounts').where({ [column]: id }).first();
      return row ? toAccount(row) : undefined;
    },
    /** Records a provider event as applied; false when it was applied before (providers retry). */
    async rememberEvent(id: string, type: string, now: string): Promise<boolean> {
      const inserted = await db('stripe_events').insert({ id, type, received_at: now }).onConflict('id').ignore().returning('id');
      return inserted.length === 1;
    },
    async insertTransfer(t: TransferRecord): Promise<void> {
      await db('transfers').insert({
        id: t.id, user_id: t.userId, amount: t.amount, currency: t.currency, destination: t.destination, description: t.description,
        status: t.status, created_at: t.createdAt,
      });
    },
    listTransfers(userId: string, offset: number, limit: number): Promise<Page<TransferRecord>> {
      return pageOf(() => db('transfers').where({ user_id: userId }), ['*'], NEWEST_FIRST, offset, limit, toTransfer);
    },
  };
}
