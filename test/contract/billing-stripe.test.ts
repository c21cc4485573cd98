/**
 * The `stripe` billing adapter: the official SDK against a local stand-in of Stripe's API, and
 * POST /api/webhooks/stripe verified with the SDK (events signed here with the SDK's test helper).
 */
import Stripe from 'stripe';
import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { startStripeStandIn } from '../helpers/stripe-standin';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';

const WEBHOOK_SECRET = 'whsec_standin_0123456789abcdef';
let t: TestApp;
let standIn: Awaited<ReturnType<typeof startStripeStandIn>>;
let user: TestUser;
let pat: string;
const signer = new Stripe('sk_test_standin');

beforeAll(async () => {
  standIn = await startStripeStandIn();
  t = await startTestApp({
    BILLING_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_test_standin', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: String(standIn.port), STRIPE_API_PROTOCOL: 'http',
  });
  user = await createUser(t, { twoFactor: true });
  pat = (await createPat(t, user, { scopes: ['billing:read', 'billing:checkout', 'billing:manage', 'payouts:manage', 'transfers:manage'] })).token;
});
afterAll(async () => {
  await t.close();
  await standIn.close();
});

function sendEvent(event: Record<string, unknown>, secret = WEBHOOK_SECRET) {
  const payload = JSON.stringify(event);
  const header = signer.webhooks.generateTestHeaderString({ payload, secret });
  return request(t.app).post('/api/webhooks/stripe').set('Content-Type', 'application/json').set('Stripe-Signature', header).send(payload);
}

it('creates Checkout sessions through the SDK and returns Stripe\'s hosted URL', async () => {
  const res = await request(t.app).post('/api/billing/checkout').set(bearer(pat))
    .send({ item: { type: 'credit_package', package: 'large' }, success_url: 'https://app.example.com/ok', cancel_url: 'https://app.example.com/no' });
  expect(res.status).toBe(201);
  expect(res.body.url).toMatch(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_standin\d+$/);
  const call = standIn.requests.find((r) => r.path === '/v1/checkout/sessions')!;
  expect(call.headers.authorization).toBe('Bearer sk_test_standin');
  expect(call.params.get('mode')).toBe('payment');
  expect(call.params.get('client_reference_id')).toBe(res.body.id);
  expect(call.params.get('metadata[checkout_id]')).toBe(res.body.id);
  expect(call.params.get('line_items[0][price_data][unit_amount]')).toBe('4000');
  expect(call.params.get('success_url')).toBe(`https://app.example.com/ok?checkout_id=${res.body.id}`);
  expect(call.params.get('customer')).toMatch(/^cus_standin/);
});

it('applies a verified checkout.session.completed once, and refuses a bad signature', async () => {
  const checkout = await request(t.app).post('/api/billing/checkout').set(bearer(pat))
    .send({ item: { type: 'credit_package', package: 'small' }, success_url: 'https://app.example.com/ok', cancel_url: 'https://app.example.com/no' });
  const event = { id: 'evt_standin_1', object: 'event', type: 'checkout.session.completed', data: { object: { object: 'checkout.session', client_reference_id: checkout.body.id, metadata: { checkout_id: checkout.body.id } } } };
  expectError(await sendEvent(event, 'whsec_wrong_secret'), 400, 'invalid_signature');
  expect((await request(t.app).get('/api/billing').set(bearer(pat))).body.credits).toBe(0);
  const first = await sendEvent(event);
  expect(first.body).toEqual({ received: true, applied: true, type: 'checkout.session.completed' });
  expect((await sendEvent(event)).body.applied).toBe(false);
  expect((await request(t.app).get('/api/billing').set(bearer(pat))).body.credits).toBe(100);
});

it('follows subscription events: active, cancels at period end, canceled', async () => {
  const customer = (await t.repos.billing.account(user.id, new Date().toISOString())).stripeCustomerId!;
  const periodEnd = Math.floor(Date.now() / 1000) + 30 * 86400;
  await sendEvent({ id: 'evt_sub_1', object: 'event', type: 'customer.subscription.updated', data: { object: { object: 'subscription', customer, status: 'active', cancel_at_period_end: true, current_period_end: periodEnd } } });
  expect((await request(t.app).get('/api/billing').set(bearer(pat))).body).toMatchObject({ plan: 'pro', subscription_status: 'cancels_at_period_end', current_period_end: new Date(periodEnd * 1000).toISOString() });
  await sendEvent({ id: 'evt_sub_2', object: 'event', type: 'customer.subscription.deleted', data: { object: { object: 'subscription', customer, status: 'canceled' } } });
  expect((await request(t.app).get('/api/billing').set(bearer(pat))).body).toMatchObject({ plan: 'free', subscription_status: 'canceled' });
});

it('onboards payouts through Connect, follows account.updated, and transfers through the SDK', async () => {
  const link = await request(t.app).post('/api/payouts/onboarding').set(bearer(pat));
  expect(link.body.url).toBe('https://connect.stripe.test/setup/e/standin');
  expect(standIn.requests.find((r) => r.path === '/v1/accounts')!.params.get('type')).toBe('express');
  expectError(await request(t.app).post('/api/transfers').set(bearer(pat)).send({ amount: 700, currency: 'usd' }), 409, 'payouts_not_ready');
  const accountId = (await t.repos.billing.account(user.id, new Date().toISOString())).stripeAccountId!;
  await sendEvent({ id: 'evt_acct_1', object: 'event', type: 'account.updated', data: { object: { object: 'account', id: accountId, payouts_enabled: false, charges_enabled: false, details_submitted: true, requirements: { disabled_reason: 'under_review' } } } });
  expect((await request(t.app).get('/api/payouts/account').set(bearer(pat))).body).toEqual({ payouts_status: 'pending_review', charges_enabled: false });
  await sendEvent({ id: 'evt_acct_2', object: 'event', type: 'account.updated', data: { object: { object: 'account', id: accountId, payouts_enabled: true, charges_enabled: true, requirements: {} } } });
  expect((await request(t.app).get('/api/payouts/account').set(bearer(pat))).body).toEqual({ payouts_status: 'enabled', charges_enabled: true });
  const transfer = await request(t.app).post('/api/transfers').set(bearer(pat)).send({ amount: 700, currency: 'usd' });
  expect(transfer.status).toBe(201);
  const call = standIn.requests.find((r) => r.path === '/v1/transfers')!;
  expect(call.params.get('destination')).toBe(accountId);
  expect(call.params.get('amount')).toBe('700');
  expect(call.headers['idempotency-key']).toBe(transfer.body.id);
});

it('answers 503 when Stripe does not answer', async () => {
  await standIn.close();
  const res = await request(t.app).post('/api/billing/portal').set(bearer(pat));
  expectError(res, 503, 'provider_unavailable');
});
