/**
 * Billing through the local provider: hosted checkout (pay / cancel) with its events applied once,
 * subscription management, the billing portal, payout onboarding and transfers.
 */
import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';

let t: TestApp;
let user: TestUser;
let pat: string;
const hostedPath = (url: string) => new URL(url).pathname;

beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: 'https://api.getpaidx.example', WEBHOOKS_ALLOW_PRIVATE: 'true' });
  user = await createUser(t, { twoFactor: true });
  pat = (await createPat(t, user, { scopes: ['billing:read', 'billing:checkout', 'billing:manage', 'payouts:manage', 'transfers:manage', 'posts:write', 'webhooks:manage', 'workspaces:manage', 'workspaces:run', 'posts:read'] })).token;
});
afterAll(() => t.close());

const checkout = (item: Record<string, unknown>) => request(t.app).post('/api/billing/checkout').set(bearer(pat))
  .send({ item, success_url: 'https://app.example.com/done', cancel_url: 'https://app.example.com/cancel' });

describe('billing', () => {
  it('starts on the free plan with no credits', async () => {
    expect((await request(t.app).get('/api/billing').set(bearer(pat))).body).toEqual({ plan: 'free', subscription_status: 'none', current_period_end: null, credits: 0 });
  });

  it('sells credits through a hosted checkout; paying applies once and returns to success_url', async () => {
    const created = await checkout({ type: 'credit_package', package: 'small' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'open', kind: 'credit_package', amount: 500, currency: 'usd', credits: 100 });
    expect(created.body.url).toBe(`https://api.getpaidx.example/hosted/checkout/${created.body.id}`);
    const pageHtml = await request(t.app).get(hostedPath(created.body.url));
    expect(pageHtml.status).toBe(200);
    expect(pageHtml.text).toContain('100 workspace credits');
    expect(pageHtml.text).toContain('5.00 USD');
    const paid = await request(t.app).post(`${hostedPath(created.body.url)}/pay`);
    expect(paid.status).toBe(303);
    expect(paid.headers.location).toBe(`https://app.example.com/done?checkout_id=${created.body.id}`);
    // The event is applied once: paying again changes nothing.
    await request(t.app).post(`${hostedPath(created.body.url)}/pay`).expect(303);
    expect((await request(t.app).get('/api/billing').set(bearer(pat))).body.credits).toBe(100);
    const events = await t.database.knex('webhook_events').where({ user_id: user.id, type: 'checkout.completed' });
    expect(events).toHaveLength(0); // no endpoint subscribed, so no event rows
  });

  it('cancels a checkout back to cancel_url without charging', async () => {
    const created = await checkout({ type: 'credit_package', package: 'large' });
    const canceled = await request(t.app).post(`${hostedPath(created.body.url)}/cancel`);
    expect(canceled.headers.location).toBe('https://app.example.com/cancel');
    await request(t.app).post(`${hostedPath(created.body.url)}/pay`).expect(303);
    expect((await request(t.app).get('/api/billing').set(bearer(pat))).body.credits).toBe(100);
  });

  it('subscribes to Pro, cancels at period end, resumes, and changes plan', async () => {
    const created = await checkout({ type: 'pro_plan' });
    await request(t.app).post(`${hostedPath(created.body.url)}/pay`).expect(303);
    let account = (await request(t.app).get('/api/billing').set(bearer(pat))).body;
    expect(account).toMatchObject({ plan: 'pro', subscription_status: 'active' });
    expect(account.current_period_end).not.toBeNull();
    expectError(await checkout({ type: 'pro_plan' }), 409, 'already_subscribed');
    account = (await request(t.app).post('/api/billing/subscription/cancel').set(bearer(pat))).body;
    expect(account.subscription_status).toBe('cancels_at_period_end');
    account = (await request(t.app).post('/api/billing/subscription/resume').set(bearer(pat))).body;
    expect(account.subscription_status).toBe('active');
    expectError(await request(t.app).post('/api/billing/subscription/resume').set(bearer(pat)), 409, 'nothing_to_resume');
    expect((await request(t.app).post('/api/billing/subscription/plan').set(bearer(pat)).send({ plan: 'free' })).body.subscription_status).toBe('cancels_at_period_end');
    expect((await request(t.app).post('/api/billing/subscription/plan').set(bearer(pat)).send({ plan: 'pro' })).body.subscription_status).toBe('active');
  });

  it('opens the billing portal through a short-lived signed link', async () => {
    const link = await request(t.app).post('/api/billing/portal').set(bearer(pat));
    expect(link.headers['cache-control']).toContain('no-store');
    const portal = await request(t.app).get(hostedPath(link.body.url));
    expect(portal.text).toContain('Plan: <strong>pro</strong>');
    const tampered = hostedPath(link.body.url).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await request(t.app).get(tampered)).status).toBe(404);
    t.clock.advance(16 * 60);
    expect((await request(t.app).get(hostedPath(link.body.url))).status).toBe(410);
    t.clock.set(new Date());
  });

  it('sells a published, priced post, and fires PURCHASE_SUCCEEDED rules and checkout.completed', async () => {
    const seller = await createUser(t, { twoFactor: true });
    const sellerPat = (await createPat(t, seller, { scopes: ['posts:write'] })).token;
    const post = await request(t.app).post('/api/posts').set(bearer(sellerPat)).send({ title: 'Paid guide', status: 'published', pricing: { model: 'one_time', amount: 900, currency: 'eur' } });
    const draft = await request(t.app).post('/api/posts').set(bearer(sellerPat)).send({ title: 'Draft', pricing: { model: 'one_time', amount: 900, currency: 'eur' } });
    expectError(await checkout({ type: 'post', post_id: draft.body.id }), 404, 'not_found');

    await request(t.app).post('/api/webhooks/endpoints').set(bearer(pat)).send({ url: 'http://127.0.0.1:9/billing', events: ['checkout.completed'] }).expect(201);
    const ws = (await request(t.app).post('/api/workspaces').set(bearer(pat)).send({ name: 'On purchase' })).body;
    const rule = await request(t.app).post(`/api/workspaces/${ws.id}/rules`).set(bearer(pat)).send({ name: 'Thank buyer', trigger: 'PURCHASE_SUCCEEDED', prompt_template: 'Thank for {{event}}' });
    expect(rule.status).toBe(201);

    const created = await checkout({ type: 'post', post_id: post.body.id });
    expect(created.body).toMatchObject({ kind: 'post', amount: 900, currency: 'eur' });
    await request(t.app).post(`${hostedPath(created.body.url)}/pay`).expect(303);
    const events = await t.database.knex('webhook_events').where({ user_id: user.id, type: 'checkout.completed' });
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0].payload).data).toMatchObject({ checkout_id: created.body.id, kind: 'post', post_id: post.body.id });
    const runs = (await request(t.app).get(`/api/workspaces/${ws.id}/runs?trigger=PURCHASE_SUCCEEDED`).set(bearer(pat))).body.data;
    expect(runs).toHaveLength(1);
    expect(runs[0].prompt).toContain(created.body.id);
  });
});

describe('payouts and transfers', () => {
  it('refuse transfers until payout onboarding is complete, saying why', async () => {
    expect((await request(t.app).get('/api/payouts/account').set(bearer(pat))).body).toEqual({ payouts_status: 'incomplete', charges_enabled: false });
    const refused = await request(t.app).post('/api/transfers').set(bearer(pat)).send({ amount: 2500, currency: 'usd' });
    expectError(refused, 409, 'payouts_not_ready');
    expect(refused.body.error.message).toContain('onboarding is not finished');
    expect(refused.body.error.details.payouts_status).toBe('incomplete');

    const link = await request(t.app).post('/api/payouts/onboarding').set(bearer(pat));
    expect(link.body.url).toMatch(/^https:\/\/api\.getpaidx\.example\/hosted\/onboarding\//);
    await request(t.app).post(`${hostedPath(link.body.url)}/complete`).expect(303);
    expect((await request(t.app).get('/api/payouts/account').set(bearer(pat))).body).toEqual({ payouts_status: 'enabled', charges_enabled: true });

    const transfer = await request(t.app).post('/api/transfers').set(bearer(pat)).send({ amount: 2500, currency: 'usd', description: 'March share' });
    expect(transfer.status).toBe(201);
    expect(transfer.body).toMatchObject({ amount: 2500, currency: 'usd', status: 'paid', description: 'March share' });
    expect((await request(t.app).get('/api/transfers').set(bearer(pat))).body.data.map((x: any) => x.id)).toEqual([transfer.body.id]);
    expectError(await request(t.app).post('/api/transfers').set(bearer(pat)).send({ amount: 0, currency: 'usd' }), 400, 'validation_failed');
  });

  it('need their scopes', async () => {
    const reader = (await createPat(t, user, { scopes: ['billing:read'] })).token;
    expectError(await request(t.app).post('/api/transfers').set(bearer(reader)).send({ amount: 1, currency: 'usd' }), 403, 'insufficient_scope');
    expectError(await request(t.app).post('/api/billing/checkout').set(bearer(reader)).send({ item: { type: 'pro_plan' }, success_url: 'https://a.example', cancel_url: 'https://b.example' }), 403, 'insufficient_scope');
  });
});
