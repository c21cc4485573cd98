import type { MoneySettings } from '../core/config';

export type { MoneySettings };

/** How a sale's price is shared; every part in minor units, summing to the price exactly. */
export interface SaleSplit {
  seller: number;
  fee: number;
  referral: number;
}


const BPS = 10_000;

/**
 * ⌊a × b / c⌋ for non-negative integers, exact: a × b can pass 2^53 (a 1,000,000.00 sale refunded in
 * full is 10^16), where floating point would be off by a unit.
 */
export function mulDiv(a: number, b: number, c: number): number {
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

/**
 * The fee and the referral share round down and the seller takes the remainder, so the parts always
 * add up to the price and nobody is paid a fraction of a minor unit.
 */
export function splitSale(amount: number, settings: Pick<MoneySettings, 'platformFeeBps' | 'referralShareBps'>, referred: boolean): SaleSplit {
  const fee = mulDiv(amount, settings.platformFeeBps, BPS);
  const referral = referred ? mulDiv(amount, settings.referralShareBps, BPS) : 0;
  return { seller: amount - fee - referral, fee, referral };
}

/**
 * The parts of a sale taken back once `reversed` of its `amount` has been refunded or disputed in all.
 * Cumulative, so successive partial refunds add up exactly to the whole split at the full amount. The
 * seller's and the referrer's parts round down (they never lose more than their share of the
 * refund); the platform's fee takes the remainder.
 */
export function reversedParts(split: SaleSplit, amount: number, reversed: number): SaleSplit {
  const total = Math.max(0, Math.min(reversed, amount));
  const seller = mulDiv(split.seller, total, amount);
  const referral = mulDiv(split.referral, total, amount);
  return { seller, referral, fee: total - seller - referral };
}

export const minus = (a: SaleSplit, b: SaleSplit): SaleSplit => ({ seller: a.seller - b.seller, fee: a.fee - b.fee, referral: a.referral - b.referral });
