/**
 * Billing through the local provider: hosted checkout (pay / cancel) with its events applied once,
 * subscription management, the billing portal, payout onboarding and transfers.
 */
import request from 'supertest';
import { rowCount, startTestApp, TestApp } from '../helpers/app';
import { pricedPost } from '../helpers/billing';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let user: TestUser;
let pat: string;
const hostedPath = (url: string) => new URL(url).pathname;
const refusedBody = (body: { error: { details: Record<string, unknown> } }) => body.error.details;

beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: 'https://api.getpaidx.example', WEBHOOKS_ALLOW_PRIVATE: 'true' });
  user = await createUser(t, { twoFactor: true });
  pat = (await createPat(t, user, { scopes: ['billing:read', 'billing:checkout', 'billing:manage', 'payouts:manage', 'transfers:manage', 'posts:write', 'webhooks:manage', 'workspaces:manage', 'workspaces:run', 'posts:read'] })).token;
});
afterAll(() => t.close());

const checkout = (item: Record<string, unknown>, urls: Record<string, string> = {}) => request(t.app).post('/api/billing/checkout').set(bearer(pat))
  .send({ item, success_url: 'https://app.example.com/done', cancel_url: 'https://app.example.com/cancel', ...urls });

describe('billing', () => {
  it('starts on the free plan with no credits', async () => {
    expect((await http(t, pat).get('/api/billing')).body).toEqual({ plan: 'free', subscription_status: 'none', current_period_end: null, credits: 0 });
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
    expect((await http(t, pat).get('/api/billing')).body.credits).toBe(100);
    const events = await t.database.knex('webhook_events').where({ user_id: user.id, type: 'checkout.completed' });
    expect(events).toHaveLength(0); // no endpoint subscribed, so no event rows
  });

  it('returns the browser only to the product site (no open redirect through the hosted checkout)', async () => {
    for (const url of ['https://evil.example/done', 'https://app.example.com.evil.example/x', 'javascript:alert(1)', '//evil.example/x', 'http://app.example.com/done']) {
      const refused = await checkout({ type: 'credit_package', package: 'small' }, { success_url: url });
      expectError(refused, 400, 'invalid_return_url');
      expectError(await checkout({ type: 'credit_package', package: 'small' }, { cancel_url: url }), 400, 'invalid_return_url');
    }
    expect(refusedBody((await checkout({ type: 'credit_package', package: 'small' }, { success_url: 'https://evil.example/' })).body)).toMatchObject({ allowed_origin: 'https://app.example.com' });
    expect(await rowCount(t, 'billing_checkouts', { user_id: user.id })).toBe(1);
  });

  it('refuses items the schema allows but that name nothing to buy, and a post of your own', async () => {
    // The contract says which fields each item type needs (oneOf with a discriminator).
    expectError(await checkout({ type: 'credit_package' }), 400, 'validation_failed');
    expectError(await checkout({ type: 'post' }), 400, 'validation_failed');
    expectError(await checkout({ type: 'pro_plan', post_id: 'post_abc' }), 400, 'validation_failed');
    const mine = await pricedPost(t, pat, 300);
    expectError(await checkout({ type: 'post', post_id: mine }), 409, 'own_post');
  });

  it('cancels a checkout back to cancel_url without charging', async () => {
    const created = await checkout({ type: 'credit_package', package: 'large' });
    const canceled = await request(t.app).post(`${hostedPath(created.body.url)}/cancel`);
    expect(canceled.headers.location).toBe('https://app.example.com/cancel');
    await request(t.app).post(`${hostedPath(created.body.url)}/pay`).expect(303);
    expect((await http(t, pat).get('/api/billing')).body.credits).toBe(100);
  });

  it('subscribes to Pro, cancels at period end, resumes, and changes plan', async () => {
    const created = await checkout({ type: 'pro_plan' });
    await request(t.app).post(`${hostedPath(created.body.url)}/pay`).expect(303);
    let account = (await http(t, pat).get('/api/billing')).body;
    expect(account).toMatchObject({ plan: 'pro', subscription_status: 'active' });
    expect(account.current_period_end).not.toBeNull();
    expectError(await checkout({ type: 'pro_plan' }), 409, 'already_subscribed');
    account = (await http(t, pat).post('/api/billing/subscription/cancel')).body;
    expect(account.subscription_status).toBe('cancels_at_period_end');
    account = (await http(t, pat).post('/api/billing/subscription/resume')).body;
    expect(account.subscription_status).toBe('active');
    expectError(await http(t, pat).post('/api/billing/subscription/resume'), 409, 'nothing_to_resume');
    expect((await http(t, pat).post('/api/billing/subscription/plan', { plan: 'free' })).body.subscription_status).toBe('cancels_at_period_end');
    expect((await http(t, pat).post('/api/billing/subscription/plan', { plan: 'pro' })).body.subscription_status).toBe('active');
  });

  it('opens the billing portal through a short-lived signed link', async () => {
    const link = await http(t, pat).post('/api/billing/portal');
    expect(link.headers['cache-control']).toContain('no-store');
    const portal = await request(t.app).get(hostedPath(link.body.url));
    expect(portal.text).toContain('Plan: <strong>pro</strong>');
    // A middle character of the signature: the last one partly carries padding bits, which a lenient
    // decoder ignores, so flipping it only sometimes changes the bytes.
    const path = hostedPath(link.body.url);
    const middle = path.length - 20;
    const tampered = path.slice(0, middle) + (path[middle] === 'A' ? 'B' : 'A') + path.slice(middle + 1);
    expect((await request(t.app).get(tampered)).status).toBe(404);
    // And a non-canonical spelling of the same signature (its last character's padding bits flipped) is refused too.
    const last = path.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect((await request(t.app).get(path.slice(0, -1) + sibling)).status).toBe(404);
    t.clock.advance(16 * 60);
    expect((await request(t.app).get(hostedPath(link.body.url))).status).toBe(410);
    t.clock.set(new Date());
  });

  it('sells a published, priced post, and fires PURCHASE_SUCCEEDED rules and checkout.completed', async () => {
    const seller = await createUser(t, { twoFactor: true });
    const sellerPat = (await createPat(t, seller, { scopes: ['posts:write'] })).token;
    const post = await http(t, sellerPat).post('/api/posts', { title: 'Paid guide', status: 'published', pricing: { model: 'one_time', amount: 900, currency: 'eur' } });
    const draft = await http(t, sellerPat).post('/api/posts', { title: 'Draft', pricing: { model: 'one_time', amount: 900, currency: 'eur' } });
    expectError(await checkout({ type: 'post', post_id: draft.body.id }), 404, 'not_found');

    await http(t, pat).post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/billing', events: ['checkout.completed'] }).expect(201);
    const ws = (await http(t, pat).post('/api/workspaces', { name: 'On purchase' })).body;
    const rule = await http(t, pat).post(`/api/workspaces/${ws.id}/rules`, { name: 'Thank buyer', trigger: 'PURCHASE_SUCCEEDED', prompt_template: 'Thank for {{event}}' });
    expect(rule.status).toBe(201);

    const created = await checkout({ type: 'post', post_id: post.body.id });
    expect(created.body).toMatchObject({ kind: 'post', amount: 900, currency: 'eur' });
    await request(t.app).post(`${hostedPath(created.body.url)}/pay`).expect(303);
    const events = await t.database.knex('webhook_events').where({ user_id: user.id, type: 'checkout.completed' });
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0].payload).data).toMatchObject({ checkout_id: created.body.id, kind: 'post', post_id: post.body.id });
    const runs = (await http(t, pat).get(`/api/workspaces/${ws.id}/runs?trigger=PURCHASE_SUCCEEDED`)).body.data;
    expect(runs).toHaveLength(1);
    expect(runs[0].prompt).toContain(created.body.id);
  });
});

describe('payouts and transfers', () => {
  it('refuse transfers until payout onboarding is complete, saying why', async () => {
    expect((await http(t, pat).get('/api/payouts/account')).body).toEqual({ payouts_status: 'incomplete', charges_enabled: false });
    const refused = await http(t, pat).post('/api/transfers', { amount: 2500, currency: 'usd' });
    expectError(refused, 409, 'payouts_not_ready');
    expect(refused.body.error.message).toContain('onboarding is not finished');
    expect(refused.body.error.details.payouts_status).toBe('incomplete');

    const link = await http(t, pat).post('/api/payouts/onboarding');
    expect(link.body.url).toMatch(/^https:\/\/api\.getpaidx\.example\/hosted\/onboarding\//);
    await request(t.app).post(`${hostedPath(link.body.url)}/complete`).expect(303);
    expect((await http(t, pat).get('/api/payouts/account')).body).toEqual({ payouts_status: 'enabled', charges_enabled: true });

    // Onboarded, but nothing earned: the transfer is refused, naming what is available, and nothing is written or sent.
    const broke = await http(t, pat).post('/api/transfers', { amount: 100000000, currency: 'usd', description: 'March share' });
    expectError(broke, 409, 'insufficient_funds');
    expect(broke.body.error.details).toEqual({ available: 0, requested: 100000000, currency: 'usd' });
    expect(await rowCount(t, 'transfers', { user_id: user.id })).toBe(0);
    expect(await rowCount(t, 'local_payouts')).toBe(0);
    expect((await http(t, pat).get('/api/transfers')).body.data).toEqual([]);
    expectError(await http(t, pat).post('/api/transfers', { amount: 0, currency: 'usd' }), 400, 'validation_failed');
  });

  it('move money only with a 2FA-verified sign-in, or a PAT whose creator has 2FA on', async () => {
    const jwtOnly = await createUser(t);
    const refused = await http(t, jwtOnly.jwt).post('/api/transfers', { amount: 1, currency: 'usd' });
    expectError(refused, 403, 'two_factor_required');
    // A PAT made while 2FA was on loses the right to move money when its creator turns 2FA off.
    const holder = await createUser(t, { twoFactor: true });
    const moneyPat = (await createPat(t, holder, { scopes: ['transfers:manage'] })).token;
    expectError(await http(t, moneyPat).post('/api/transfers', { amount: 1, currency: 'usd' }), 409, 'payouts_not_ready');
    await t.repos.users.update(holder.id, { totp_enabled_at: null, totp_secret_enc: null }, new Date().toISOString());
    const afterOff = await http(t, moneyPat).post('/api/transfers', { amount: 1, currency: 'usd' });
    expectError(afterOff, 403, 'two_factor_required');
    expect(afterOff.body.error.message).toContain('creator has 2FA enabled');
    expect(await rowCount(t, 'transfers', { user_id: holder.id })).toBe(0);
  });

  it('need their scopes', async () => {
    const reader = (await createPat(t, user, { scopes: ['billing:read'] })).token;
    expectError(await http(t, reader).post('/api/transfers', { amount: 1, currency: 'usd' }), 403, 'insufficient_scope');
    expectError(await http(t, reader).post('/api/billing/checkout', { item: { type: 'pro_plan' }, success_url: 'https://a.example', cancel_url: 'https://b.example' }), 403, 'insufficient_scope');
  });
});
