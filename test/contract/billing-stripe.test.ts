/**
 * The `stripe` billing adapter: the official SDK against a local stand-in of Stripe's API, and
 * POST /api/webhooks/stripe verified with the SDK (events signed here with the SDK's test helper).
 * Stripe is the truth: nothing is granted before it says paid, each event applies once with its
 * effects, subscription changes go to Stripe, refunds and disputes reverse earnings, and transfers
 * survive a Stripe that refuses or does not answer without paying twice.
 */
import Stripe from 'stripe';
import request from 'supertest';
import { ledgerAccount } from '../../src/db/repositories/ledger.repository';
import type { MoneyJobs } from '../../src/jobs/money';
import { rowCount, startTestApp, TestApp } from '../helpers/app';
import { balanceOf, createCheckout, pricedPost } from '../helpers/billing';
import { expectError } from '../helpers/errors';
import { startStripeStandIn, StripeStandIn } from '../helpers/stripe-standin';
import { createPat, createUser, TestUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

const WEBHOOK_SECRET = 'whsec_standin_0123456789abcdef';
const DAY = 24 * 3600;
let t: TestApp;
let standIn: StripeStandIn;
let user: TestUser;
let pat: string;
const signer = new Stripe('sk_test_standin');
let eventCounter = 0;

beforeAll(async () => {
  standIn = await startStripeStandIn();
  t = await startTestApp({
    BILLING_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_test_standin', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: String(standIn.port), STRIPE_API_PROTOCOL: 'http',
    PLATFORM_FEE_BPS: '1000', REFERRAL_SHARE_BPS: '0', SETTLEMENT_DELAY_SECONDS: String(DAY), TRANSFER_LEASE_SECONDS: '60',
  });
  user = await createUser(t, { twoFactor: true });
  pat = (await createPat(t, user, { scopes: ['billing:read', 'billing:checkout', 'billing:manage', 'payouts:manage', 'transfers:manage', 'posts:write'] })).token;
});
afterAll(async () => {
  await t.close();
  await standIn.close();
});

function sendEvent(event: Record<string, unknown>, secret = WEBHOOK_SECRET) {
  const payload = JSON.stringify({ object: 'event', ...event });
  const header = signer.webhooks.generateTestHeaderString({ payload, secret });
  return request(t.app).post('/api/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', header).send(payload);
}

const nextEventId = () => `evt_standin_${(eventCounter += 1)}`;
const billing = async (token = pat) => (await http(t, token).get('/api/billing')).body;

/** Stripe's checkout.session.completed for one of our checkouts, paid unless told otherwise. */
function sessionCompleted(checkout: { id: string; amount: number; currency: string }, extra: Record<string, unknown> = {}, type = 'checkout.session.completed') {
  return {
    id: nextEventId(), type,
    data: { object: { object: 'checkout.session', client_reference_id: checkout.id, metadata: { checkout_id: checkout.id }, payment_status: 'paid', amount_total: checkout.amount, currency: checkout.currency, payment_intent: `pi_${checkout.id}`, ...extra } },
  };
}

async function newCheckout(item: Parameters<typeof createCheckout>[2], token = pat) {
  const res = await createCheckout(t, token, item);
  expect(res.status).toBe(201);
  return res.body as { id: string; amount: number; currency: string };
}

describe('checkout', () => {
  it('creates Checkout sessions through the SDK and returns Stripe\'s hosted URL', async () => {
    const res = await createCheckout(t, pat, { type: 'credit_package', package: 'large' });
    expect(res.status).toBe(201);
    expect(res.body.url).toMatch(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_standin\d+$/);
    const call = standIn.requests.find((r) => r.path === '/v1/checkout/sessions')!;
    expect(call.headers.authorization).toBe('Bearer sk_test_standin');
    expect(call.headers['idempotency-key']).toBe(`checkout:${res.body.id}`);
    expect(call.params.get('mode')).toBe('payment');
    expect(call.params.get('client_reference_id')).toBe(res.body.id);
    expect(call.params.get('line_items[0][price_data][unit_amount]')).toBe('4000');
    expect(call.params.get('success_url')).toBe(`https://app.example.com/billing/done?checkout_id=${res.body.id}`);
    expect(call.params.get('customer')).toMatch(/^cus_standin/);
  });

  it('has no local hosted pages: paying there is a 404 and grants nothing', async () => {
    const checkout = await newCheckout({ type: 'pro_plan' });
    for (const path of [`/hosted/checkout/${checkout.id}`, `/hosted/checkout/${checkout.id}/pay`]) {
      const res = path.endsWith('/pay') ? await request(t.app).post(path) : await request(t.app).get(path);
      expect(res.status).toBe(404);
    }
    expect(await billing()).toMatchObject({ plan: 'free', credits: 0 });
  });

  it('grants nothing for an unpaid session, then applies async_payment_succeeded once', async () => {
    const checkout = await newCheckout({ type: 'credit_package', package: 'small' });
    expectError(await sendEvent(sessionCompleted(checkout), 'whsec_wrong_secret'), 401, 'invalid_signature');
    const unpaid = await sendEvent(sessionCompleted(checkout, { payment_status: 'unpaid' }));
    expect(unpaid.body).toEqual({ received: true, applied: true, type: 'checkout.session.completed' });
    expect((await billing()).credits).toBe(0);
    expect((await t.repos.billing.checkout(checkout.id))!.status).toBe('open');

    const succeeded = sessionCompleted(checkout, {}, 'checkout.session.async_payment_succeeded');
    expect((await sendEvent(succeeded)).body.applied).toBe(true);
    expect((await sendEvent(succeeded)).body.applied).toBe(false);
    expect((await billing()).credits).toBe(100);
    // A second, different "paid" event for the same checkout grants nothing more either.
    expect((await sendEvent(sessionCompleted(checkout))).body.applied).toBe(true);
    expect((await billing()).credits).toBe(100);
  });

  it('grants nothing when the paid amount or currency is not the checkout\'s, or the payment failed', async () => {
    const checkout = await newCheckout({ type: 'credit_package', package: 'large' });
    await sendEvent(sessionCompleted(checkout, { amount_total: 1 }));
    await sendEvent(sessionCompleted(checkout, { currency: 'jpy' }));
    expect((await billing()).credits).toBe(100);
    await sendEvent(sessionCompleted(checkout, { payment_status: 'unpaid' }));
    await sendEvent({ id: nextEventId(), type: 'checkout.session.async_payment_failed', data: { object: { object: 'checkout.session', metadata: { checkout_id: checkout.id }, payment_status: 'unpaid' } } });
    expect((await t.repos.billing.checkout(checkout.id))!.status).toBe('failed');
    await sendEvent(sessionCompleted(checkout));
    expect((await billing()).credits).toBe(100);
  });

  it('records an event only with its effects: one that fails half-way is applied by Stripe\'s retry, once', async () => {
    const checkout = await newCheckout({ type: 'credit_package', package: 'small' });
    const event = sessionCompleted(checkout);
    await plantLedgerFailure(true);
    try {
      const failed = await sendEvent(event);
      expectError(failed, 503, 'event_not_applied');
      expect(failed.headers['retry-after']).toBe('30');
    } finally {
      await plantLedgerFailure(false);
    }
    expect(await rowCount(t, 'provider_events', { id: event.id })).toBe(0);
    expect((await t.repos.billing.checkout(checkout.id))!.status).toBe('open');
    expect((await billing()).credits).toBe(100);

    expect((await sendEvent(event)).body.applied).toBe(true);
    expect((await sendEvent(event)).body.applied).toBe(false);
    expect((await billing()).credits).toBe(200);
  });
});

/** Makes every ledger write fail (a database trigger), as a crash or a broken constraint would. */
async function plantLedgerFailure(on: boolean) {
  const k = t.database.knex;
  if (t.testDb.kind === 'postgres') {
    if (on) {
      await k.raw("CREATE FUNCTION planted_failure() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'planted failure'; END $$ LANGUAGE plpgsql");
      await k.raw('CREATE TRIGGER planted_failure BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION planted_failure()');
    } else {
      await k.raw('DROP TRIGGER planted_failure ON ledger_entries');
      await k.raw('DROP FUNCTION planted_failure()');
    }
  } else if (on) {
    await k.raw("CREATE TRIGGER planted_failure BEFORE INSERT ON ledger_entries BEGIN SELECT RAISE(ABORT, 'planted failure'); END");
  } else {
    await k.raw('DROP TRIGGER planted_failure');
  }
}

describe('subscriptions', () => {
  it('subscribes through a paid session, and cancel / resume / change plan ask Stripe, local state following its answer', async () => {
    const checkout = await newCheckout({ type: 'pro_plan' });
    await sendEvent(sessionCompleted(checkout, { subscription: 'sub_standin_pro', payment_intent: null, invoice: 'in_standin_1' }));
    expect(await billing()).toMatchObject({ plan: 'pro', subscription_status: 'active' });

    const cancel = await http(t, pat).post('/api/billing/subscription/cancel');
    expect(cancel.body).toMatchObject({ plan: 'pro', subscription_status: 'cancels_at_period_end', current_period_end: new Date(1900000000 * 1000).toISOString() });
    const calls = () => standIn.requests.filter((r) => r.path === '/v1/subscriptions/sub_standin_pro').map((r) => r.params.get('cancel_at_period_end'));
    expect(calls()).toEqual(['true']);
    expect((await http(t, pat).post('/api/billing/subscription/resume')).body.subscription_status).toBe('active');
    expect((await http(t, pat).post('/api/billing/subscription/plan', { plan: 'free' })).body.subscription_status).toBe('cancels_at_period_end');
    expect(calls()).toEqual(['true', 'false', 'true']);

    const customer = (await t.repos.billing.account(user.id, new Date().toISOString())).stripeCustomerId!;
    await sendEvent({ id: nextEventId(), type: 'customer.subscription.deleted', data: { object: { object: 'subscription', id: 'sub_standin_pro', customer, status: 'canceled' } } });
    expect(await billing()).toMatchObject({ plan: 'free', subscription_status: 'canceled' });
    expectError(await http(t, pat).post('/api/billing/subscription/cancel'), 409, 'no_subscription');
    expect(calls()).toHaveLength(3);
  });

  it('follows subscription events: active, cancels at period end', async () => {
    const customer = (await t.repos.billing.account(user.id, new Date().toISOString())).stripeCustomerId!;
    const periodEnd = Math.floor(Date.now() / 1000) + 30 * 86400;
    await sendEvent({ id: nextEventId(), type: 'customer.subscription.updated', data: { object: { object: 'subscription', id: 'sub_2', customer, status: 'active', cancel_at_period_end: true, current_period_end: periodEnd } } });
    expect(await billing()).toMatchObject({ plan: 'pro', subscription_status: 'cancels_at_period_end', current_period_end: new Date(periodEnd * 1000).toISOString() });
  });
});

describe('refunds and disputes', () => {
  async function sale(price: number) {
    const seller = await createUser(t, { twoFactor: true });
    const sellerPat = (await createPat(t, seller, { scopes: ['posts:write', 'billing:read', 'transfers:manage', 'payouts:manage'] })).token;
    const post = await pricedPost(t, sellerPat, price);
    const checkout = await newCheckout({ type: 'post', post_id: post });
    expect((await sendEvent(sessionCompleted(checkout))).body.applied).toBe(true);
    return { seller, sellerPat, checkout, paymentId: `pi_${checkout.id}` };
  }
  const refunded = (paymentId: string, total: number, currency = 'usd') => ({
    id: nextEventId(), type: 'charge.refunded', data: { object: { object: 'charge', id: `ch_${paymentId}`, payment_intent: paymentId, amount_refunded: total, currency } },
  });
  const revenue = () => t.repos.ledger.balance(ledgerAccount.platform('revenue', 'usd'));

  it('a partial refund before settlement takes from pending; the rest after settlement from available', async () => {
    const { sellerPat, paymentId } = await sale(1000);
    expect(await balanceOf(t, sellerPat)).toMatchObject({ pending: 900, available: 0 });
    const revenueBefore = await revenue();
    const partial = refunded(paymentId, 400);
    await sendEvent(partial);
    expect((await sendEvent(partial)).body.applied).toBe(false);
    expect(await balanceOf(t, sellerPat)).toMatchObject({ pending: 540, available: 0 }); // 900 − ⌊900 × 400/1000⌋
    expect(await revenue()).toBe(revenueBefore - 40);

    t.clock.advance(DAY);
    expect(await balanceOf(t, sellerPat)).toMatchObject({ pending: 0, available: 540 });
    await sendEvent(refunded(paymentId, 1000));
    expect(await balanceOf(t, sellerPat)).toMatchObject({ pending: 0, available: 0, owed: 0 });
    expect(await revenue()).toBe(revenueBefore - 100);
    // An older, smaller running total arriving late changes nothing.
    await sendEvent(refunded(paymentId, 400));
    expect(await balanceOf(t, sellerPat)).toMatchObject({ available: 0, owed: 0 });
    const causes = (await http(t, sellerPat).get('/api/balance/transactions')).body.data.map((l: any) => l.cause);
    expect(causes.filter((c: string) => c === 'refund')).toHaveLength(2);
  });

  it('a refund after the money was paid out leaves the seller owing it, and blocks transfers until repaid', async () => {
    const { seller, sellerPat, paymentId } = await sale(2000);
    t.clock.advance(DAY);
    const accountId = await onboard(seller.id, sellerPat);
    expect(accountId).toMatch(/^acct_/);
    expect((await http(t, sellerPat).post('/api/transfers', { amount: 1800, currency: 'usd' })).status).toBe(201);
    await sendEvent(refunded(paymentId, 2000));
    expect(await balanceOf(t, sellerPat)).toMatchObject({ available: 0, owed: 1800, pending: 0 });
    expectError(await http(t, sellerPat).post('/api/transfers', { amount: 1, currency: 'usd' }), 409, 'insufficient_funds');
  });

  it('a dispute reverses the disputed amount; refunds and disputes together never reverse more than was paid', async () => {
    const { sellerPat, paymentId } = await sale(1000);
    await sendEvent({ id: nextEventId(), type: 'charge.dispute.created', data: { object: { object: 'dispute', id: 'dp_1', payment_intent: paymentId, amount: 700, currency: 'usd' } } });
    expect(await balanceOf(t, sellerPat)).toMatchObject({ pending: 270 }); // 900 − ⌊900 × 700/1000⌋
    await sendEvent(refunded(paymentId, 1000));
    expect(await balanceOf(t, sellerPat)).toMatchObject({ pending: 0, available: 0, owed: 0 });
  });

  it('a refund that arrives before its payment is not recorded, so Stripe\'s retry applies it once the payment is in', async () => {
    const checkout = await newCheckout({ type: 'credit_package', package: 'small' });
    const early = refunded(`pi_${checkout.id}`, 500);
    expectError(await sendEvent(early), 503, 'event_not_applied');
    expect(await rowCount(t, 'provider_events', { id: early.id })).toBe(0);
    const before = (await billing()).credits;
    await sendEvent(sessionCompleted(checkout));
    expect((await billing()).credits).toBe(before + 100);
    expect((await sendEvent(early)).body.applied).toBe(true);
    expect((await billing()).credits).toBe(before);
  });

  it('a refunded credit package takes the credits back', async () => {
    const before = (await billing()).credits;
    const checkout = await newCheckout({ type: 'credit_package', package: 'small' });
    await sendEvent(sessionCompleted(checkout));
    expect((await billing()).credits).toBe(before + 100);
    await sendEvent(refunded(`pi_${checkout.id}`, 500));
    expect((await billing()).credits).toBe(before);
  });
});

/** Connect onboarding through the SDK, finished by Stripe's account.updated; returns the connected account. */
async function onboard(userId: string, token: string): Promise<string> {
  const link = await http(t, token).post('/api/payouts/onboarding');
  expect(link.body.url).toBe('https://connect.stripe.test/setup/e/standin');
  const accountId = (await t.repos.billing.account(userId, new Date().toISOString())).stripeAccountId!;
  await sendEvent({ id: nextEventId(), type: 'account.updated', data: { object: { object: 'account', id: accountId, payouts_enabled: true, charges_enabled: true, requirements: {} } } });
  return accountId;
}

describe('transfers through Stripe', () => {
  let sellerPat: string;
  let accountId: string;
  beforeAll(async () => {
    const seller = await createUser(t, { twoFactor: true });
    sellerPat = (await createPat(t, seller, { scopes: ['posts:write', 'billing:read', 'transfers:manage', 'payouts:manage'] })).token;
    const post = await pricedPost(t, sellerPat, 10_000);
    await sendEvent(sessionCompleted(await newCheckout({ type: 'post', post_id: post })));
    t.clock.advance(DAY);
    expectError(await http(t, sellerPat).post('/api/transfers', { amount: 700, currency: 'usd' }), 409, 'payouts_not_ready');
    accountId = await onboard(seller.id, sellerPat);
    expect(await balanceOf(t, sellerPat)).toMatchObject({ available: 9000 });
  });
  afterEach(() => standIn.setTransferMode('ok'));
  const moneyJobs = () => t.app.locals.moneyJobs as MoneyJobs;
  const transferCalls = (id: string) => standIn.requests.filter((r) => r.method === 'POST' && r.path === '/v1/transfers' && r.params.get('transfer_group') === id);
  const made = (id: string) => standIn.transfers.filter((x) => x.transfer_group === id);

  it('pays to the connected account with the transfer id as idempotency key', async () => {
    const transfer = await http(t, sellerPat).post('/api/transfers', { amount: 700, currency: 'usd' });
    expect(transfer.status).toBe(201);
    const [call] = transferCalls(transfer.body.id);
    expect(call!.params.get('destination')).toBe(accountId);
    expect(call!.params.get('amount')).toBe('700');
    expect(call!.headers['idempotency-key']).toBe(`transfer:${transfer.body.id}`);
    expect(await balanceOf(t, sellerPat)).toMatchObject({ available: 8300, in_flight: 0 });
  });

  it('returns the money to available when Stripe refuses', async () => {
    standIn.setTransferMode('refuse');
    const refused = await http(t, sellerPat).post('/api/transfers', { amount: 1000, currency: 'usd' });
    expectError(refused, 409, 'transfer_failed');
    expect(refused.body.error.details.reason).toContain('balance_insufficient');
    expect(await balanceOf(t, sellerPat)).toMatchObject({ available: 8300, in_flight: 0 });
    const listed = (await http(t, sellerPat).get('/api/transfers')).body.data;
    expect(listed.find((x: { id: string }) => x.id === refused.body.error.details.transfer_id)).toMatchObject({ status: 'failed', failure_reason: expect.stringContaining('balance_insufficient') });
  });

  it('keeps the money in flight when Stripe does not answer, then the worker sends again with the same key and pays once', async () => {
    standIn.setTransferMode('fail');
    const pending = await http(t, sellerPat).post('/api/transfers', { amount: 1300, currency: 'usd' });
    expect(pending.status).toBe(202);
    expect(pending.body.status).toBe('pending');
    expect(await balanceOf(t, sellerPat)).toMatchObject({ available: 7000, in_flight: 1300 });
    standIn.setTransferMode('ok');
    // Before its lease lapses, the request still owns the transfer: the worker leaves it alone.
    await moneyJobs().runOnce();
    expect((await t.repos.billing.transfer(pending.body.id))!.status).toBe('pending');
    t.clock.advance(61);
    expect((await moneyJobs().runOnce()).transfersResolved).toBe(1);
    expect((await t.repos.billing.transfer(pending.body.id))!.status).toBe('paid');
    expect(made(pending.body.id)).toHaveLength(1);
    expect(new Set(transferCalls(pending.body.id).map((c) => c.headers['idempotency-key']))).toEqual(new Set([`transfer:${pending.body.id}`]));
    expect(await balanceOf(t, sellerPat)).toMatchObject({ available: 7000, in_flight: 0 });
  });

  it('finds a transfer Stripe made although we never heard back, and settles it without sending it again', async () => {
    standIn.setTransferMode('record_then_fail');
    const pending = await http(t, sellerPat).post('/api/transfers', { amount: 500, currency: 'usd' });
    expect(pending.status).toBe(202);
    expect(made(pending.body.id)).toHaveLength(1);
    const postsBefore = transferCalls(pending.body.id).length;
    standIn.setTransferMode('ok');
    t.clock.advance(61);
    await moneyJobs().runOnce();
    expect((await t.repos.billing.transfer(pending.body.id))!.status).toBe('paid');
    expect(transferCalls(pending.body.id)).toHaveLength(postsBefore);
    expect(made(pending.body.id)).toHaveLength(1);
    expect(await balanceOf(t, sellerPat)).toMatchObject({ available: 6500, in_flight: 0 });
  });
});

it('answers 503 when Stripe does not answer', async () => {
  await standIn.close();
  const res = await http(t, pat).post('/api/billing/portal');
  expectError(res, 503, 'provider_unavailable');
});
