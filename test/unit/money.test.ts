/** The arithmetic of sharing a sale and taking part of it back: exact to the minor unit, whatever the inputs. */
import fc from 'fast-check';
import { reversedParts, splitSale } from '../../src/billing/money';

const bps = fc.integer({ min: 0, max: 10_000 });
const amount = fc.integer({ min: 1, max: 100_000_000 });

it('splits a price into parts that add up to it, none negative, fee and share rounded down', () => {
  fc.assert(fc.property(amount, bps, bps, fc.boolean(), (price, fee, share, referred) => {
    fc.pre(fee + share <= 10_000);
    const split = splitSale(price, { platformFeeBps: fee, referralShareBps: share }, referred);
    expect(split.seller + split.fee + split.referral).toBe(price);
    expect(Math.min(split.seller, split.fee, split.referral)).toBeGreaterThanOrEqual(0);
    expect(BigInt(split.fee)).toBe((BigInt(price) * BigInt(fee)) / 10_000n);
    expect(BigInt(split.referral)).toBe(referred ? (BigInt(price) * BigInt(share)) / 10_000n : 0n);
  }), { numRuns: 2000 });
});

it('reverses cumulatively: each step sums to what was refunded, the parties\' parts never shrink, and the whole refund gives back the whole split', () => {
  fc.assert(fc.property(amount, bps, bps, fc.array(fc.integer({ min: 0, max: 100_000_000 }), { maxLength: 8 }), (price, fee, share, steps) => {
    fc.pre(fee + share <= 10_000);
    const split = splitSale(price, { platformFeeBps: fee, referralShareBps: share }, true);
    let before = reversedParts(split, price, 0);
    expect(before).toEqual({ seller: 0, fee: 0, referral: 0 });
    let total = 0;
    for (const step of [...steps, price]) {
      total = Math.min(price, total + step);
      const after = reversedParts(split, price, total);
      expect(after.seller + after.fee + after.referral).toBe(total);
      expect(after.seller).toBeGreaterThanOrEqual(before.seller);
      expect(after.referral).toBeGreaterThanOrEqual(before.referral);
      expect(after.seller).toBeLessThanOrEqual(split.seller);
      expect(after.referral).toBeLessThanOrEqual(split.referral);
      before = after;
    }
    expect(before).toEqual(split);
  }), { numRuns: 2000 });
});

it('stays exact where floating point would not: a full refund of 999,999.79 gives back every cent', () => {
  const split = splitSale(99_999_979, { platformFeeBps: 0, referralShareBps: 0 }, false);
  expect(reversedParts(split, 99_999_979, 99_999_979)).toEqual(split);
});

it('never reverses more than the price, however much is refunded and disputed', () => {
  const split = splitSale(1000, { platformFeeBps: 1000, referralShareBps: 500 }, true);
  expect(reversedParts(split, 1000, 5000)).toEqual(split);
  expect(reversedParts(split, 1000, -5)).toEqual({ seller: 0, fee: 0, referral: 0 });
});
