import type { Window } from '../db/page';
import { addSeconds, Clock, iso } from '../core/clock';
import { MoneySettings, minus, mulDiv, reversedParts, SaleSplit, splitSale } from '../billing/money';
import type { Repositories } from '../db/repositories';
import type { CheckoutRecord, SaleRecord } from '../db/repositories/billing.repository';
import { CREDITS, EntryInput, ledgerAccount, LedgerOverdraft, UserBalanceKind } from '../db/repositories/ledger.repository';

export interface CurrencyBalance {
  currency: string;
  available: number;
  /** What the user owes: a refund or dispute took back money already paid out. */
  owed: number;
  pending: number;
  inFlight: number;
}

const splitOf = (sale: SaleRecord): SaleSplit => ({ seller: sale.sellerAmount, fee: sale.feeAmount, referral: sale.referralAmount });
const nonZero = (entries: EntryInput[]) => entries.filter((e) => e.amount !== 0);

/**
 * Every movement of money and credits goes through here into the ledger (src/db/repositories/
 * ledger.repository.ts enforces the invariants): sales and purchases when the provider says paid,
 * settlement of pending earnings, refunds and disputes, credits spent. Postings take the caller's
 * transaction, so a movement lands together with the change that causes it, or not at all.
 */
export function createBalanceService(repos: Repositories, clock: Clock, settings: MoneySettings) {
  const now = () => iso(clock());
  const user = ledgerAccount.user;
  const platform = ledgerAccount.platform;

  /** The parts of a sale and the entries that record it: the buyer's money through clearing, split three ways. */
  async function recordSale(tx: Repositories, checkout: CheckoutRecord): Promise<SaleRecord> {
    const split = splitSale(checkout.amount, settings, checkout.referrerId !== null);
    const at = clock();
    const sale: SaleRecord = {
      checkoutId: checkout.id, postId: checkout.postId!, sellerId: checkout.sellerId!, buyerId: checkout.userId,
      referrerId: checkout.referrerId, referralLinkId: checkout.referralLinkId, amount: checkout.amount, currency: checkout.currency,
      sellerAmount: split.seller, feeAmount: split.fee, referralAmount: split.referral,
      availableAt: iso(addSeconds(at, settings.settlementDelaySeconds)), settledAt: null, createdAt: iso(at),
    };
    await tx.billing.insertSale(sale);
    const c = checkout.currency;
    const sellerPending = user(sale.sellerId, 'pending', c);
    await tx.ledger.post({
      key: `sale:${checkout.id}`, kind: 'sale', reference: { type: 'checkout', id: checkout.id }, now: sale.createdAt,
      entries: nonZero([
        { account: platform('clearing', c), amount: -checkout.amount, cause: 'sale' },
        { account: sellerPending, amount: checkout.amount, cause: 'sale' },
        { account: sellerPending, amount: -split.fee, cause: 'fee' },
        { account: platform('revenue', c), amount: split.fee, cause: 'fee' },
        ...(sale.referrerId ? [
          { account: sellerPending, amount: -split.referral, cause: 'referral_share' as const },
          { account: user(sale.referrerId, 'pending', c), amount: split.referral, cause: 'referral_share' as const },
        ] : []),
      ]),
    });
    return sale;
  }

  /** The Pro plan and credit packages are the platform's revenue; credits are issued to the buyer. */
  async function recordPurchase(tx: Repositories, checkout: CheckoutRecord): Promise<void> {
    const c = checkout.currency;
    await tx.ledger.post({
      key: `purchase:${checkout.id}`, kind: 'purchase', reference: { type: 'checkout', id: checkout.id }, now: now(),
      entries: [
        { account: platform('clearing', c), amount: -checkout.amount, cause: 'purchase' },
        { account: platform('revenue', c), amount: checkout.amount, cause: 'purchase' },
        ...(checkout.credits > 0 ? [
          { account: platform('credits_issued', CREDITS), amount: -checkout.credits, cause: 'credits_purchased' as const },
          { account: user(checkout.userId, 'credits', CREDITS), amount: checkout.credits, cause: 'credits_purchased' as const },
        ] : []),
      ],
    });
  }

  /**
   * A refund or dispute raised the checkout's reversed total from `before` to `after` (both capped at
   * its amount): take back the difference. A sale's parts come from pending until it settles, from
   * available after; available (and credits) may then go below zero, which shows as owed.
   */
  async function reverse(tx: Repositories, checkout: CheckoutRecord, before: number, after: number, cause: 'refund' | 'dispute', key: string): Promise<void> {
    const amount = after - before;
    if (amount <= 0) return;
    const c = checkout.currency;
    const entries: EntryInput[] = [{ account: platform('clearing', c), amount, cause }];
    if (checkout.kind === 'post') {
      const sale = (await tx.billing.sale(checkout.id))!;
      const parts = minus(reversedParts(splitOf(sale), sale.amount, after), reversedParts(splitOf(sale), sale.amount, before));
      const from: UserBalanceKind = sale.settledAt ? 'available' : 'pending';
      entries.push(
        { account: user(sale.sellerId, from, c), amount: -parts.seller, cause },
        { account: platform('revenue', c), amount: -parts.fee, cause },
      );
      if (sale.referrerId) entries.push({ account: user(sale.referrerId, from, c), amount: -parts.referral, cause });
    } else {
      entries.push({ account: platform('revenue', c), amount: -amount, cause });
      const credits = mulDiv(checkout.credits, after, checkout.amount) - mulDiv(checkout.credits, before, checkout.amount);
      if (credits > 0) {
        entries.push(
          { account: user(checkout.userId, 'credits', CREDITS), amount: -credits, cause },
          { account: platform('credits_issued', CREDITS), amount: credits, cause },
        );
      }
    }
    await tx.ledger.post({
      key, kind: cause, reference: { type: 'checkout', id: checkout.id }, now: now(), entries: nonZero(entries), mayOverdraw: ['available', 'credits'],
    });
  }

  /** Moves what is left of a sale's pending earnings to available, once. */
  async function settle(sale: SaleRecord): Promise<boolean> {
    return repos.transaction(async (tx) => {
      // The checkout row is the lock a refund of this sale also takes, so the two never interleave.
      const checkout = (await tx.billing.lockCheckout(sale.checkoutId))!;
      if (!(await tx.billing.markSettled(sale.checkoutId, now()))) return false;
      const reversed = Math.min(sale.amount, checkout.refundedAmount + checkout.disputedAmount);
      const left = minus(splitOf(sale), reversedParts(splitOf(sale), sale.amount, reversed));
      const c = sale.currency;
      const entries = nonZero([
        { account: user(sale.sellerId, 'pending', c), amount: -left.seller, cause: 'settlement' },
        { account: user(sale.sellerId, 'available', c), amount: left.seller, cause: 'settlement' },
        ...(sale.referrerId ? [
          { account: user(sale.referrerId, 'pending', c), amount: -left.referral, cause: 'settlement' as const },
          { account: user(sale.referrerId, 'available', c), amount: left.referral, cause: 'settlement' as const },
        ] : []),
      ]);
      if (entries.length > 0) {
        await tx.ledger.post({ key: `settlement:${sale.checkoutId}`, kind: 'settlement', reference: { type: 'checkout', id: sale.checkoutId }, now: now(), entries });
      }
      return true;
    });
  }

  return {
    recordSale,
    recordPurchase,
    reverse,

    /** Settles every sale whose earnings are due (of one user, as seller or referrer, or of everyone). */
    async settleDue(userId?: string, limit = 200): Promise<number> {
      let settled = 0;
      for (const sale of await repos.billing.dueSales(now(), limit, userId)) {
        if (await settle(sale)) settled += 1;
      }
      return settled;
    },

    /** Spends credits in the caller's transaction; false (nothing written) when the balance does not cover them. */
    async spendCredits(tx: Repositories, userId: string, credits: number, reference: { type: string; id: string }): Promise<boolean> {
      try {
        await tx.ledger.post({
          key: `credits_spent:${reference.type}:${reference.id}`, kind: 'credits_spent', reference, now: now(),
          entries: [
            { account: user(userId, 'credits', CREDITS), amount: -credits, cause: 'credits_spent' },
            { account: platform('credits_spent', CREDITS), amount: credits, cause: 'credits_spent' },
          ],
        });
        return true;
      } catch (err) {
        if (err instanceof LedgerOverdraft) return false;
        throw err;
      }
    },

    credits: (userId: string) => repos.ledger.balance(user(userId, 'credits', CREDITS)),

    /** Available, owed, pending and in-flight money per currency, after settling what is due. */
    async balances(userId: string): Promise<{ currencies: CurrencyBalance[]; credits: number }> {
      await this.settleDue(userId);
      const byCurrency = new Map<string, CurrencyBalance>();
      let credits = 0;
      for (const { kind, currency, balance } of await repos.ledger.userBalances(userId)) {
        if (currency === CREDITS) {
          credits = balance;
          continue;
        }
        const row = byCurrency.get(currency) ?? { currency, available: 0, owed: 0, pending: 0, inFlight: 0 };
        if (kind === 'available') {
          row.available = Math.max(0, balance);
          row.owed = Math.max(0, -balance);
        } else if (kind === 'pending') row.pending = balance;
        else if (kind === 'in_flight') row.inFlight = balance;
        byCurrency.set(currency, row);
      }
      return { currencies: [...byCurrency.values()], credits };
    },

    async lines(userId: string, window: Window) {
      await this.settleDue(userId);
      return repos.ledger.userLines(userId, window);
    },
  };
}

export type BalanceService = ReturnType<typeof createBalanceService>;
