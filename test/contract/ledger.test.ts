/**
 * Money through the API, on the ledger: a sale through a referral link split exactly, settlement on
 * the test clock, transfers only from available money, a 50-way race that never overdraws, retries
 * that never pay twice, and the database refusing to rewrite history. The invariants
 * (npm run ledger:check) are proven again when the file ends (TestApp.close).
 */
import request from 'supertest';
import { auditLedger } from '../../src/db/repositories/ledger-audit.repository';
import { ledgerAccount } from '../../src/db/repositories/ledger.repository';
import { rowCount, startTestApp, TestApp } from '../helpers/app';
import { balanceOf, checkoutAndPay, onboardPayouts, pricedPost } from '../helpers/billing';
import { expectError } from '../helpers/errors';
import { createPat, createUser, allScopes, type Scope } from '../helpers/users';
import { http } from '../helpers/typed-http';

const DAY = 24 * 3600;
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ PLATFORM_FEE_BPS: '1000', REFERRAL_SHARE_BPS: '1500', SETTLEMENT_DELAY_SECONDS: String(DAY) });
});
afterAll(() => t.close());

const MONEY_SCOPES: Scope[] = ['posts:write', 'sharing:manage', 'billing:read', 'billing:checkout', 'payouts:manage', 'transfers:manage'];

async function person() {
  const user = await createUser(t, { twoFactor: true });
  return { user, pat: (await createPat(t, user, { scopes: MONEY_SCOPES })).token };
}

const revenue = () => t.repos.ledger.balance(ledgerAccount.platform('revenue', 'usd'));
const lines = async (pat: string) => (await http(t, pat).get('/api/balance/transactions?limit=100')).body.data as Array<Record<string, any>>;

/** A seller with `amount` of settled, available earnings (one sale at `price`, fee 10 %, past the delay). */
async function sellerWithAvailable(price: number) {
  const seller = await person();
  const buyer = await person();
  const post = await pricedPost(t, seller.pat, price);
  await checkoutAndPay(t, buyer.pat, { type: 'post', post_id: post });
  t.clock.advance(DAY);
  await onboardPayouts(t, seller.pat);
  expect((await balanceOf(t, seller.pat)).available).toBe(price - Math.floor(price / 10));
  return seller;
}

describe('a sale', () => {
  it('through a referral link splits seller, referrer and platform exactly, pending until it settles', async () => {
    const seller = await person();
    const referrer = await person();
    const buyer = await person();
    const post = await pricedPost(t, seller.pat, 999);
    const link = await http(t, referrer.pat).post('/api/referral-links', { target: { type: 'post', post_id: post }, code: 'promo-999' });
    expect(link.status).toBe(201);
    const visit = await request(t.app).get('/r/promo-999');
    expect(new URL(visit.headers.location!).searchParams.get('ref')).toBe('promo-999');

    const platformBefore = await revenue();
    const checkout = await checkoutAndPay(t, buyer.pat, { type: 'post', post_id: post }, { referral_code: 'promo-999' });
    // 999: fee 10 % → 99, referral share 15 % → 149 (both round down), the seller the remainder, 751.
    expect(await balanceOf(t, seller.pat)).toMatchObject({ available: 0, pending: 751, in_flight: 0, owed: 0 });
    expect(await balanceOf(t, referrer.pat)).toMatchObject({ available: 0, pending: 149 });
    expect(await revenue()).toBe(platformBefore + 99);
    expect(await balanceOf(t, buyer.pat)).toMatchObject({ available: 0, pending: 0 });

    const sellerLines = await lines(seller.pat);
    expect(sellerLines.map((l) => [l.cause, l.amount, l.balance]).reverse()).toEqual([
      ['sale', 999, 'pending'], ['fee', -99, 'pending'], ['referral_share', -149, 'pending'],
    ]);
    expect(new Set(sellerLines.map((l) => l.source.id))).toEqual(new Set([checkout.id]));
    expect((await lines(referrer.pat)).map((l) => [l.cause, l.amount])).toEqual([['referral_share', 149]]);

    // Settlement moves pending to available once the delay has passed on the clock, not before.
    t.clock.advance(DAY - 60);
    expect(await balanceOf(t, seller.pat)).toMatchObject({ available: 0, pending: 751 });
    t.clock.advance(60);
    expect(await balanceOf(t, seller.pat)).toMatchObject({ available: 751, pending: 0 });
    expect(await balanceOf(t, referrer.pat)).toMatchObject({ available: 149, pending: 0 });
    expect((await lines(seller.pat)).slice(0, 2).map((l) => [l.cause, l.amount, l.balance])).toEqual([['settlement', 751, 'available'], ['settlement', -751, 'pending']]);
    // Reading again settles nothing twice.
    expect(await balanceOf(t, seller.pat)).toMatchObject({ available: 751, pending: 0 });
  });

  it('earns no share through the buyer\'s own link or the seller\'s own link', async () => {
    const seller = await person();
    const buyer = await person();
    const post = await pricedPost(t, seller.pat, 1000);
    await http(t, buyer.pat).post('/api/referral-links', { target: { type: 'post', post_id: post }, code: 'self-deal' }).expect(201);
    await http(t, seller.pat).post('/api/referral-links', { target: { type: 'post', post_id: post }, code: 'own-link' }).expect(201);
    const own = await http(t, buyer.pat).post('/api/billing/checkout', { item: { type: 'post', post_id: post }, success_url: 'https://app.example.com/a', cancel_url: 'https://app.example.com/b', referral_code: 'self-deal' });
    expect(own.body.referral_applied).toBe(false);
    const sellers = await http(t, buyer.pat).post('/api/billing/checkout', { item: { type: 'post', post_id: post }, success_url: 'https://app.example.com/a', cancel_url: 'https://app.example.com/b', referral_code: 'own-link' });
    expect(sellers.body.referral_applied).toBe(false);
    await request(t.app).post(`${new URL(own.body.url).pathname}/pay`).expect(303);
    expect(await balanceOf(t, seller.pat)).toMatchObject({ pending: 900 });
    expect(await balanceOf(t, buyer.pat)).toMatchObject({ pending: 0, available: 0 });
  });
});

describe('transfers', () => {
  it('take only available money: beyond it they are refused with nothing written; within it they pay once', async () => {
    const seller = await sellerWithAvailable(2000); // 1800 available after the 10 % fee
    const refused = await http(t, seller.pat).post('/api/transfers', { amount: 1801, currency: 'usd' });
    expectError(refused, 409, 'insufficient_funds');
    expect(refused.body.error.details).toEqual({ available: 1800, requested: 1801, currency: 'usd' });
    expectError(await http(t, seller.pat).post('/api/transfers', { amount: 1, currency: 'eur' }), 409, 'insufficient_funds');
    expect(await rowCount(t, 'transfers', { user_id: seller.user.id })).toBe(0);

    const paid = await http(t, seller.pat).post('/api/transfers', { amount: 1500, currency: 'usd', description: 'rent' });
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ amount: 1500, status: 'paid', failure_reason: null });
    expect(await balanceOf(t, seller.pat)).toMatchObject({ available: 300, in_flight: 0 });
    expect(await rowCount(t, 'local_payouts', { user_id: seller.user.id })).toBe(1);
    expect((await lines(seller.pat)).slice(0, 3).map((l) => [l.cause, l.amount, l.balance])).toEqual([
      ['transfer', -1500, 'in_flight'], ['transfer', 1500, 'in_flight'], ['transfer', -1500, 'available'],
    ]);
  });

  it('replay a retried request (same Idempotency-Key) without paying twice', async () => {
    const seller = await sellerWithAvailable(1000);
    const send = () => http(t, seller.pat).post('/api/transfers', { amount: 600, currency: 'usd' }).set('Idempotency-Key', 'payout-2026-12-01');
    const [first, second] = [await send(), await send()];
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body.id).toBe(first.body.id);
    expect(await rowCount(t, 'local_payouts', { user_id: seller.user.id })).toBe(1);
    expect(await balanceOf(t, seller.pat)).toMatchObject({ available: 300 });
  });

  it('50 in parallel that together exceed the balance pay exactly what it covers, never below zero', async () => {
    const seller = await sellerWithAvailable(10_000); // 9000 available
    const results = await Promise.all(Array.from({ length: 50 }, () =>
      http(t, seller.pat).post('/api/transfers', { amount: 700, currency: 'usd' })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(12); // 12 × 700 = 8400 ≤ 9000 < 13 × 700
    expect(statuses.filter((s) => s === 409)).toHaveLength(38);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('insufficient_funds');
    expect(await balanceOf(t, seller.pat)).toMatchObject({ available: 600, in_flight: 0, owed: 0 });
    expect(await rowCount(t, 'transfers', { user_id: seller.user.id })).toBe(12);
    expect(await rowCount(t, 'local_payouts', { user_id: seller.user.id })).toBe(12);
  });
});

describe('the ledger', () => {
  it('is append-only in the database itself: entries and transactions refuse UPDATE and DELETE', async () => {
    await sellerWithAvailable(500);
    const k = t.database.knex;
    const [entry] = await k('ledger_entries').select('seq', 'amount').limit(1);
    // The driver's errors come from outside Jest's realm, so they are compared as text.
    const refusal = (query: Promise<unknown>) => query.then(() => 'written', (err: unknown) => String(err));
    expect(await refusal(k('ledger_entries').where({ seq: entry.seq }).update({ amount: 1 }))).toMatch(/append-only/);
    expect(await refusal(k('ledger_entries').where({ seq: entry.seq }).delete())).toMatch(/append-only/);
    expect(await refusal(k('ledger_transactions').delete())).toMatch(/append-only/);
    expect(Number((await k('ledger_entries').where({ seq: entry.seq }).first()).amount)).toBe(Number(entry.amount));
  });

  it('refuses unbalanced or mixed-currency transactions before writing anything', async () => {
    const before = await rowCount(t, 'ledger_transactions');
    const base = { kind: 'purchase' as const, reference: { type: 'test', id: 'x' }, now: new Date().toISOString() };
    await expect(t.repos.ledger.post({ ...base, key: 'bad:1', entries: [
      { account: ledgerAccount.platform('clearing', 'usd'), amount: -100, cause: 'purchase' },
      { account: ledgerAccount.platform('revenue', 'usd'), amount: 99, cause: 'purchase' },
    ] })).rejects.toThrow(/does not balance in usd/);
    await expect(t.repos.ledger.post({ ...base, key: 'bad:2', entries: [
      { account: ledgerAccount.platform('clearing', 'usd'), amount: -100, cause: 'purchase' },
      { account: ledgerAccount.platform('revenue', 'eur'), amount: 100, cause: 'purchase' },
    ] })).rejects.toThrow(/does not balance/);
    await expect(t.repos.ledger.post({ ...base, key: 'bad:3', entries: [
      { account: ledgerAccount.platform('clearing', 'usd'), amount: -0.5, cause: 'purchase' },
      { account: ledgerAccount.platform('revenue', 'usd'), amount: 0.5, cause: 'purchase' },
    ] })).rejects.toThrow(/integer/);
    expect(await rowCount(t, 'ledger_transactions')).toBe(before);
  });

  it('ledger:check finds a balance changed behind the ledger\'s back', async () => {
    const seller = await sellerWithAvailable(700);
    const k = t.database.knex;
    const id = ledgerAccount.user(seller.user.id, 'available', 'usd').id;
    expect((await auditLedger(k)).every((c) => c.violations.length === 0)).toBe(true);
    await k('ledger_accounts').where({ id }).update({ balance: k.raw('balance + 1') });
    const broken = (await auditLedger(k)).filter((c) => c.violations.length > 0).map((c) => c.name);
    expect(broken).toEqual(['balances_equal_entries']);
    await k('ledger_accounts').where({ id }).update({ balance: k.raw('balance - 1') });
    expect((await auditLedger(k)).every((c) => c.violations.length === 0)).toBe(true);
  });
});
