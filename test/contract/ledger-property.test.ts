/**
 * A property test (fast-check): random sequences of sales (some through referral links), refunds,
 * disputes, settlements on the test clock, and transfers that Stripe (a stand-in) pays, refuses or
 * leaves unanswered, all through the HTTP API. After every sequence:
 * - every ledger invariant holds (npm run ledger:check);
 * - every user's money (available, owed, pending, in flight, paid out) equals what an independent model
 *   of fees, shares and reversals says they earned;
 * - the provider's clearing account equals money in minus refunds minus money paid out;
 * - Stripe made each paid transfer exactly once, and nothing else.
 */
import fc from 'fast-check';
import Stripe from 'stripe';
import request from 'supertest';
import { ledgerAccount } from '../../src/db/repositories/ledger.repository';
import { auditLedger } from '../../src/db/repositories/ledger-audit.repository';
import type { MoneyJobs } from '../../src/jobs/money';
import { startTestApp, TestApp } from '../helpers/app';
import { createCheckout, pricedPost } from '../helpers/billing';
import { startStripeStandIn, StripeStandIn } from '../helpers/stripe-standin';
import { createPat, createUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

const FEE_BPS = 1234;
const SHARE_BPS = 777;
const DELAY = 3600;
const WEBHOOK_SECRET = 'whsec_property_0123456789';
const signer = new Stripe('sk_test_property');

let t: TestApp;
let standIn: StripeStandIn;
interface Person { id: string; pat: string }
let people: Person[] = [];
let events = 0;

beforeAll(async () => {
  standIn = await startStripeStandIn();
  t = await startTestApp({
    BILLING_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_test_property', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: String(standIn.port), STRIPE_API_PROTOCOL: 'http',
    PLATFORM_FEE_BPS: String(FEE_BPS), REFERRAL_SHARE_BPS: String(SHARE_BPS), SETTLEMENT_DELAY_SECONDS: String(DELAY), TRANSFER_LEASE_SECONDS: '60',
  });
  for (let i = 0; i < 4; i++) {
    const user = await createUser(t, { twoFactor: true });
    const pat = (await createPat(t, user, { scopes: ['posts:write', 'sharing:manage', 'billing:read', 'billing:checkout', 'payouts:manage', 'transfers:manage'] })).token;
    await http(t, pat).post('/api/payouts/onboarding');
    const accountId = (await t.repos.billing.account(user.id, new Date().toISOString())).stripeAccountId!;
    await sendEvent({ type: 'account.updated', data: { object: { id: accountId, payouts_enabled: true, charges_enabled: true } } });
    people.push({ id: user.id, pat });
  }
});
afterAll(async () => {
  await t.close();
  await standIn.close();
});

function sendEvent(event: Record<string, unknown>) {
  const payload = JSON.stringify({ object: 'event', id: `evt_prop_${(events += 1)}`, ...event });
  return request(t.app).post('/api/webhooks/stripe').set('Content-Type', 'application/json')
    .set('Stripe-Signature', signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET })).send(payload);
}

type Command =
  | { kind: 'sale'; seller: number; buyer: number; referrer: number | null; price: number }
  | { kind: 'refund'; sale: number; amount: number }
  | { kind: 'dispute'; sale: number; amount: number }
  | { kind: 'wait'; seconds: number }
  | { kind: 'transfer'; who: number; amount: number; stripe: 'ok' | 'refuse' | 'fail' }
  | { kind: 'recover' };

const person = fc.integer({ min: 0, max: 3 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sale' as const), seller: person, buyer: person, referrer: fc.option(person, { nil: null }), price: fc.integer({ min: 50, max: 50_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refund' as const), sale: fc.nat(), amount: fc.integer({ min: 1, max: 50_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dispute' as const), sale: fc.nat(), amount: fc.integer({ min: 1, max: 50_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 2 * DELAY }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('transfer' as const), who: person, amount: fc.integer({ min: 1, max: 40_000 }), stripe: fc.constantFrom('ok' as const, 'refuse' as const, 'fail' as const) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'recover' as const }) },
);

/** The model: what each party should hold, from the price arithmetic alone. */
interface ModelSale { id: string; amount: number; seller: number; referrer: number | null; parts: { seller: number; referral: number }; refunded: number; disputed: number }

const partOf = (part: number, amount: number, reversed: number) => Number((BigInt(part) * BigInt(Math.min(reversed, amount))) / BigInt(amount));

/** Resolves every transfer left pending (Stripe answering again), as the worker would. */
async function resolvePending(): Promise<void> {
  standIn.setTransferMode('ok');
  t.clock.advance(61);
  await (t.app.locals.moneyJobs as MoneyJobs).runOnce();
}

async function run(commands: Command[]): Promise<void> {
  // Each sequence is judged on what it changed, from a settled start (an earlier, shrunk run may have
  // stopped half-way).
  await resolvePending();
  const before = await snapshot();
  const sales: ModelSale[] = [];
  for (const c of commands) {
    switch (c.kind) {
      case 'sale': {
        if (c.seller === c.buyer) break;
        const post = await pricedPost(t, people[c.seller]!.pat, c.price);
        let code: string | undefined;
        if (c.referrer !== null) {
          const link = await http(t, people[c.referrer]!.pat).post('/api/referral-links', { target: { type: 'post', post_id: post } });
          code = link.body.code;
        }
        const checkout = await createCheckout(t, people[c.buyer]!.pat, { type: 'post', post_id: post }, code ? { referral_code: code } : {});
        const referred = c.referrer !== null && c.referrer !== c.buyer && c.referrer !== c.seller;
        expect(checkout.body.referral_applied).toBe(referred);
        await sendEvent({ type: 'checkout.session.completed', data: { object: { metadata: { checkout_id: checkout.body.id }, payment_status: 'paid', amount_total: c.price, currency: 'usd', payment_intent: `pi_${checkout.body.id}` } } });
        const fee = Number((BigInt(c.price) * BigInt(FEE_BPS)) / 10_000n);
        const referral = referred ? Number((BigInt(c.price) * BigInt(SHARE_BPS)) / 10_000n) : 0;
        sales.push({ id: checkout.body.id, amount: c.price, seller: c.seller, referrer: referred ? c.referrer : null, parts: { seller: c.price - fee - referral, referral }, refunded: 0, disputed: 0 });
        break;
      }
      case 'refund': {
        const sale = sales[c.sale % Math.max(1, sales.length)];
        if (!sale) break;
        // Stripe reports the running total refunded on the charge, never above what was paid.
        sale.refunded = Math.min(sale.amount, sale.refunded + c.amount);
        await sendEvent({ type: 'charge.refunded', data: { object: { payment_intent: `pi_${sale.id}`, amount_refunded: sale.refunded, currency: 'usd' } } });
        break;
      }
      case 'dispute': {
        const sale = sales[c.sale % Math.max(1, sales.length)];
        if (!sale) break;
        const amount = Math.min(sale.amount, c.amount);
        sale.disputed += amount;
        await sendEvent({ type: 'charge.dispute.created', data: { object: { payment_intent: `pi_${sale.id}`, amount, currency: 'usd' } } });
        break;
      }
      case 'wait':
        // Time passes and everyone looks at their balance, which settles what is due.
        t.clock.advance(c.seconds);
        for (const p of people) expect((await http(t, p.pat).get('/api/balance')).status).toBe(200);
        break;
      case 'transfer': {
        standIn.setTransferMode(c.stripe);
        const res = await http(t, people[c.who]!.pat).post('/api/transfers', { amount: c.amount, currency: 'usd' });
        expect([201, 202, 409]).toContain(res.status);
        standIn.setTransferMode('ok');
        break;
      }
      case 'recover':
        t.clock.advance(61);
        await (t.app.locals.moneyJobs as MoneyJobs).runOnce();
        break;
    }
  }
  // Let every transfer left pending be resolved, then compare with the model.
  await resolvePending();
  await expectModel(sales, before);
}

/** Each person's money in all its states, plus what was paid out to them; the clearing account; all paid out. */
async function snapshot() {
  const k = t.database.knex;
  const paidOut = await Promise.all(people.map(async (p) => Number((await k('transfers').where({ user_id: p.id, status: 'paid' }).sum({ s: 'amount' }).first())?.s ?? 0)));
  const net = await Promise.all(people.map(async (p, i) => {
    const balances = await t.repos.ledger.userBalances(p.id);
    const held = balances.filter((b) => b.currency === 'usd').reduce((sum, b) => sum + b.balance, 0);
    return held + paidOut[i]!;
  }));
  return { clearing: await t.repos.ledger.balance(ledgerAccount.platform('clearing', 'usd')), net, paidOut: paidOut.reduce((a, b) => a + b, 0) };
}

async function expectModel(sales: ModelSale[], before: Awaited<ReturnType<typeof snapshot>>) {
  const broken = (await auditLedger(t.database.knex)).filter((c) => c.violations.length > 0);
  expect(broken).toEqual([]);

  const now = await snapshot();
  const expectedNet = people.map(() => 0);
  let moneyIn = 0;
  for (const sale of sales) {
    const reversed = Math.min(sale.amount, sale.refunded + sale.disputed);
    moneyIn += sale.amount - reversed;
    expectedNet[sale.seller]! += sale.parts.seller - partOf(sale.parts.seller, sale.amount, reversed);
    if (sale.referrer !== null) expectedNet[sale.referrer]! += sale.parts.referral - partOf(sale.parts.referral, sale.amount, reversed);
  }
  expect(now.net.map((n, i) => n - before.net[i]!)).toEqual(expectedNet);
  // Clearing goes down by what buyers paid (net of refunds) and up by what was paid out.
  expect(now.clearing - before.clearing).toBe(-moneyIn + (now.paidOut - before.paidOut));
  expect(await t.database.knex('transfers').where({ status: 'pending' }).count({ n: '*' }).first().then((r) => Number(r?.n))).toBe(0);

  const paidIds = (await t.database.knex('transfers').where({ status: 'paid' }).select('id')).map((r) => r.id as string).sort();
  expect([...standIn.transfers.map((x) => x.transfer_group!)].sort()).toEqual(paidIds);
}

it('random sales, refunds, disputes, settlements and transfers never break an invariant', async () => {
  await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 18 }), run), { numRuns: 60 });
}, 240_000);
