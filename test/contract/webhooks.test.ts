/**
 * Outbound webhooks: endpoints, the outbox, Standard Webhooks signatures (checked with the independent
 * `standardwebhooks` package), retries, automatic disabling, the delivery log and the SSRF guard.
 */
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import type { Dispatcher } from '../../src/jobs/dispatcher';
import { retryDelaySeconds } from '../../src/jobs/dispatcher';
import { createSender } from '../../src/webhooks/sender';
import { rowCount, startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { Receiver, startReceiver } from '../helpers/receiver';
import { bearer, createPat, createUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let receiver: Receiver;
let pat: string;
let userId: string;
const dispatcher = () => t.app.locals.dispatcher as Dispatcher;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOK_DISABLE_AFTER_FAILURES: '3', WEBHOOK_MAX_ATTEMPTS: '5', WEBHOOK_RETRY_BASE_SECONDS: '30', WEBHOOK_TIMEOUT_MS: '300' });
  receiver = await startReceiver();
  const user = await createUser(t, { twoFactor: true });
  userId = user.id;
  pat = (await createPat(t, user, { scopes: ['webhooks:manage', 'posts:write', 'posts:read', 'tokens:manage'] })).token;
});
afterAll(async () => {
  await receiver.close();
  await t.close();
});
beforeEach(async () => {
  // Each test starts with no endpoints, so earlier tests' retries never reach this one's receiver.
  await t.database.knex('webhook_endpoints').delete();
  receiver.received.length = 0;
  receiver.answer((_req, res) => res.writeHead(200).end('ok'));
});

async function endpoint(events: string[] = ['post.created'], path = '/hook') {
  const res = await request(t.app).post('/api/webhooks/endpoints').set(bearer(pat)).send({ url: `${receiver.url}${path}`, events });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string };
}

async function deliveries(endpointId: string) {
  return (await http(t, pat).get(`/api/webhooks/endpoints/${endpointId}/deliveries`)).body.data as any[];
}

describe('endpoints', () => {
  it('show the signing secret once, store it sealed, and list, update, disable and delete', async () => {
    const created = await http(t, pat).post('/api/webhooks/endpoints', { url: `${receiver.url}/a`, events: ['post.created', 'token.revoked'], description: 'ops' });
    expect(created.status).toBe(201);
    expect(created.headers['cache-control']).toContain('no-store');
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.body).toMatchObject({ enabled: true, events: ['post.created', 'token.revoked'], description: 'ops', consecutive_failures: 0 });
    const id = created.body.id;
    const read = await http(t, pat).get(`/api/webhooks/endpoints/${id}`);
    expect(read.body.secret).toBeUndefined();
    expect(JSON.stringify(await t.database.knex('webhook_endpoints').where({ id }))).not.toContain(created.body.secret.slice(6));
    expect((await http(t, pat).get('/api/webhooks/endpoints')).body.data.some((e: any) => e.id === id)).toBe(true);
    const off = await http(t, pat).patch(`/api/webhooks/endpoints/${id}`, { enabled: false, events: ['post.deleted'] });
    expect(off.body).toMatchObject({ enabled: false, events: ['post.deleted'] });
    expect((await http(t, pat).delete(`/api/webhooks/endpoints/${id}`)).status).toBe(204);
    expectError(await http(t, pat).get(`/api/webhooks/endpoints/${id}`), 404, 'not_found');
  });

  it('refuse unknown event types and a missing URL', async () => {
    expectError(await request(t.app).post('/api/webhooks/endpoints').set(bearer(pat)).send({ url: `${receiver.url}/a`, events: ['post.exploded'] }), 400, 'validation_failed');
    expectError(await request(t.app).post('/api/webhooks/endpoints').set(bearer(pat)).send({ events: ['post.created'] }), 400, 'validation_failed');
  });
});

describe('delivery', () => {
  it('signs each event per Standard Webhooks, with a webhook-id stable across redeliveries', async () => {
    const hook = await endpoint(['post.created', 'post.updated', 'post.deleted']);
    const post = await http(t, pat).post('/api/posts', { title: 'Hooked' });
    await http(t, pat).patch(`/api/posts/${post.body.id}`, { title: 'Hooked again' });
    await http(t, pat).delete(`/api/posts/${post.body.id}`);
    expect(await dispatcher().runOnce()).toBe(3);

    const verifier = new Webhook(hook.secret);
    const events = receiver.received.map((r) => verifier.verify(r.body, r.headers) as any);
    expect(events.map((e) => e.type).sort()).toEqual(['post.created', 'post.deleted', 'post.updated']);
    expect(events.find((e) => e.type === 'post.created').data).toMatchObject({ id: post.body.id, title: 'Hooked' });
    expect(receiver.received[0]!.headers['content-type']).toBe('application/json');

    // Tampering with the body or using another secret fails verification.
    const first = receiver.received[0]!;
    expect(() => verifier.verify(first.body.replace('post', 'pwst'), first.headers)).toThrow();
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(first.body, first.headers)).toThrow();

    const log = await deliveries(hook.id);
    expect(log).toHaveLength(3);
    expect(log[0]).toMatchObject({ status: 'succeeded', attempts: 1, last_status_code: 200, last_error: null });
    const redelivered = await http(t, pat).post(`/api/webhooks/deliveries/${log[0].id}/redeliver`);
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ status: 'pending', event_id: log[0].event_id });
    await dispatcher().runOnce();
    expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(log[0].event_id);
  });

  it('writes events in the same transaction as the change: a refused change leaves no event', async () => {
    await endpoint(['post.created', 'token.created', 'token.revoked']);
    const before = await rowCount(t, 'webhook_events', { user_id: userId });
    expectError(await http(t, pat).post('/api/posts', { title: 'x', pricing: { model: 'monthly' } }), 400, 'invalid_pricing');
    expectError(await http(t, pat).delete('/api/tokens/tok_DoesNotExist0000'), 404, 'not_found');
    expect(await rowCount(t, 'webhook_events', { user_id: userId })).toBe(before);
    const token = await http(t, pat).post('/api/tokens', { name: 'hooked', scopes: ['posts:read'] });
    await http(t, pat).delete(`/api/tokens/${token.body.id}`).expect(204);
    const types = (await t.database.knex('webhook_events').where({ user_id: userId }).orderBy('created_at').select('type', 'payload')).slice(-2);
    expect(types.map((e) => e.type)).toEqual(['token.created', 'token.revoked']);
    expect(types.map((e) => e.payload).join()).not.toContain(token.body.token);
  });

  it('sends a test event on request', async () => {
    const hook = await endpoint(['post.deleted']);
    const queued = await http(t, pat).post(`/api/webhooks/endpoints/${hook.id}/test`);
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ event_type: 'webhook.test', status: 'pending' });
    await dispatcher().runOnce();
    expect((new Webhook(hook.secret).verify(receiver.received[0]!.body, receiver.received[0]!.headers) as any).type).toBe('webhook.test');
  });

  it('signs with both secrets for 24 hours after a rotation, then with the new one only', async () => {
    const hook = await endpoint(['post.created']);
    const rotated = await http(t, pat).post(`/api/webhooks/endpoints/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.headers['cache-control']).toContain('no-store');
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect(rotated.body.secret_rotation_ends_at).not.toBeNull();
    await http(t, pat).post('/api/posts', { title: 'during rotation' });
    await dispatcher().runOnce();
    const during = receiver.received.at(-1)!;
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    new Webhook(hook.secret).verify(during.body, during.headers);
    new Webhook(rotated.body.secret).verify(during.body, during.headers);

    // A day later: only the new secret signs (checked at the signing moment, so the clock stays put).
    const saved = t.clock();
    t.clock.advance(24 * 3600 + 1);
    const jwtFree = await http(t, pat).post('/api/posts', { title: 'after rotation' });
    expect(jwtFree.status).toBe(201);
    await dispatcher().runOnce();
    const after = receiver.received.at(-1)!;
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    t.clock.set(saved);
    const now = Math.floor(Date.now() / 1000);
    const reStamped = { ...after.headers, 'webhook-timestamp': String(now) };
    // The package also checks the timestamp against the real time; re-sign is impossible, so check the
    // signature itself: it must fail with the old secret.
    expect(() => new Webhook(hook.secret).verify(after.body, reStamped)).toThrow();
  });
});

describe('retries and failures', () => {
  it('retry 5xx with exponential backoff and jitter, and honour Retry-After on 429', async () => {
    const hook = await endpoint(['post.created']);
    receiver.answer((_req, res) => res.writeHead(503).end());
    await http(t, pat).post('/api/posts', { title: 'fails' });
    await dispatcher().runOnce();
    let [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 503, last_error: 'Answered 503.' });
    const delay = (Date.parse(d.next_attempt_at) - t.clock().getTime()) / 1000;
    expect(delay).toBeGreaterThanOrEqual(30 * 0.75);
    expect(delay).toBeLessThanOrEqual(30 * 1.25);
    expect(await dispatcher().runOnce()).toBe(0); // not due yet

    receiver.answer((_req, res) => res.writeHead(429, { 'Retry-After': '600' }).end());
    t.clock.advance(delay + 1);
    await dispatcher().runOnce();
    [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ attempts: 2, last_status_code: 429 });
    expect((Date.parse(d.next_attempt_at) - t.clock().getTime()) / 1000).toBe(600);

    receiver.answer((_req, res) => res.writeHead(204).end());
    t.clock.advance(601);
    await dispatcher().runOnce();
    [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ status: 'succeeded', attempts: 3, last_status_code: 204 });
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([d.event_id, d.event_id, d.event_id]);
  });

  it('grow the delay exponentially up to 6 hours', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(n, 30, mid, null))).toEqual([30, 60, 120, 240, 480]);
    expect(retryDelaySeconds(20, 30, mid, null)).toBe(6 * 3600);
    expect(retryDelaySeconds(1, 30, () => 0, null)).toBe(23);
    expect(retryDelaySeconds(1, 30, () => 1, null)).toBe(38);
    expect(retryDelaySeconds(1, 30, mid, 90)).toBe(90);
  });

  it('treat a redirect as a failure without following it', async () => {
    const hook = await endpoint(['post.created'], '/moved');
    receiver.answer((req, res) => (req.url === '/moved' ? res.writeHead(302, { Location: `${receiver.url}/elsewhere` }).end() : res.writeHead(200).end()));
    await http(t, pat).post('/api/posts', { title: 'redirected' });
    await dispatcher().runOnce();
    expect(receiver.received.map((r) => r.path)).toEqual(['/moved']);
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'pending', last_status_code: 302, last_error: expect.stringContaining('redirects are not followed') });
  });

  it('time out a receiver that does not answer', async () => {
    const hook = await endpoint(['post.created'], '/slow');
    receiver.answer(() => undefined);
    await http(t, pat).post('/api/posts', { title: 'slow' });
    await dispatcher().runOnce();
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'pending', last_status_code: null, last_error: expect.stringContaining('timed out') });
  });

  it('disable the endpoint on 410 Gone', async () => {
    const hook = await endpoint(['post.created'], '/gone');
    receiver.answer((_req, res) => res.writeHead(410).end());
    await http(t, pat).post('/api/posts', { title: 'gone' });
    await dispatcher().runOnce();
    const state = (await http(t, pat).get(`/api/webhooks/endpoints/${hook.id}`)).body;
    expect(state).toMatchObject({ enabled: false, disabled_reason: 'The endpoint answered 410 Gone.' });
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'failed' });
  });

  it('disable the endpoint after N consecutive failures, saying why; re-enabling starts afresh', async () => {
    const hook = await endpoint(['post.created'], '/broken');
    receiver.answer((_req, res) => res.writeHead(500).end());
    for (let i = 0; i < 3; i++) await http(t, pat).post('/api/posts', { title: `broken ${i}` });
    await dispatcher().runOnce();
    const state = (await http(t, pat).get(`/api/webhooks/endpoints/${hook.id}`)).body;
    expect(state).toMatchObject({ enabled: false, consecutive_failures: 3, last_error: 'Answered 500.' });
    expect(state.disabled_reason).toMatch(/after 3 consecutive failed attempts/);
    // Nothing is sent to a disabled endpoint; its pending deliveries wait.
    t.clock.advance(3600);
    expect(await dispatcher().runOnce()).toBe(0);
    receiver.answer((_req, res) => res.writeHead(200).end());
    const on = await http(t, pat).patch(`/api/webhooks/endpoints/${hook.id}`, { enabled: true });
    expect(on.body).toMatchObject({ enabled: true, consecutive_failures: 0, disabled_reason: null });
    expect(await dispatcher().runOnce()).toBeGreaterThan(0);
  });

  it('give up on a delivery after the maximum number of attempts', async () => {
    const hook = await endpoint(['post.created'], '/never');
    await http(t, pat).patch(`/api/webhooks/endpoints/${hook.id}`, { enabled: true });
    receiver.answer((_req, res) => res.writeHead(500).end());
    await http(t, pat).post('/api/posts', { title: 'never' });
    for (let i = 0; i < 5; i++) {
      await dispatcher().runOnce();
      t.clock.advance(7 * 3600);
      // Keep the endpoint on so that the attempt limit, not the failure limit, ends it.
      await t.database.knex('webhook_endpoints').where({ id: hook.id }).update({ enabled: true, consecutive_failures: 0 });
    }
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'failed', attempts: 5 });
  });
});

describe('two dispatchers', () => {
  it('never send one delivery twice at the same time', async () => {
    const hook = await endpoint(['post.created'], '/once');
    for (let i = 0; i < 5; i++) await http(t, pat).post('/api/posts', { title: `once ${i}` });
    // Two passes at once race for the same due deliveries, as two instances would; the lease decides.
    const [a, b] = await Promise.all([dispatcher().runOnce(), dispatcher().runOnce()]);
    expect(a + b).toBe(5);
    expect(receiver.received.filter((r) => r.path === '/once')).toHaveLength(5);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(5);
    expect((await deliveries(hook.id)).every((d) => d.status === 'succeeded')).toBe(true);
  });
});

describe('SSRF guard', () => {
  let strict: TestApp;
  let strictPat: string;
  beforeAll(async () => {
    strict = await startTestApp();
    const user = await createUser(strict, { twoFactor: true });
    strictPat = (await createPat(strict, user, { scopes: ['webhooks:manage'] })).token;
  });
  afterAll(() => strict.close());

  it.each([
    ['http://example.com/hook', 'invalid_webhook_url'],
    ['ftp://example.com/hook', 'invalid_webhook_url'],
    ['https://user:pass@example.com/hook', 'invalid_webhook_url'],
    ['https://127.0.0.1/hook', 'webhook_url_not_public'],
    ['https://localhost/hook', 'webhook_url_not_public'],
    ['https://10.1.2.3/hook', 'webhook_url_not_public'],
    ['https://172.16.5.4/hook', 'webhook_url_not_public'],
    ['https://192.168.1.1/hook', 'webhook_url_not_public'],
    ['https://169.254.169.254/latest/meta-data', 'webhook_url_not_public'],
    ['https://100.64.0.1/hook', 'webhook_url_not_public'],
    ['https://0.0.0.0/hook', 'webhook_url_not_public'],
    ['https://2130706433/hook', 'webhook_url_not_public'],
    ['https://0x7f.0.0.1/hook', 'webhook_url_not_public'],
    ['https://[::1]/hook', 'webhook_url_not_public'],
    ['https://[::ffff:127.0.0.1]/hook', 'webhook_url_not_public'],
    ['https://[fd00::1]/hook', 'webhook_url_not_public'],
    ['https://[fe80::1]/hook', 'webhook_url_not_public'],
    ['https://[2002:7f00:1::]/hook', 'webhook_url_not_public'],
    ['https://metadata.google.internal.invalid/hook', 'webhook_url_not_public'],
  ])('refuses %s (%s) and stores nothing', async (url, code) => {
    const res = await request(strict.app).post('/api/webhooks/endpoints').set(bearer(strictPat)).send({ url, events: ['post.created'] });
    expectError(res, 400, code);
    expect(await rowCount(strict, 'webhook_endpoints')).toBe(0);
    // One generic reason: what the host resolves to (or that it does not) stays in the server's log.
    if (code === 'webhook_url_not_public') expect(res.body.error.message).toBe('The host is not a public address; webhooks go to public addresses only.');
    expect(res.body.error.message).not.toMatch(/resolves|127\.0\.0\.1|::1|unresolvable/);
  });

  it('logs what a refused host resolved to, for the operator', async () => {
    await request(strict.app).post('/api/webhooks/endpoints').set(bearer(strictPat)).send({ url: 'https://localhost/hook', events: ['post.created'] });
    expect(strict.logs.some((line) => line.includes('webhook URL refused') && /127\.0\.0\.1|::1/.test(line))).toBe(true);
  });

  it('checks the address again at connect time, so a name that now points inside is refused', async () => {
    const send = createSender({ allowPrivate: false, timeoutMs: 1000 });
    const byName = await send(`http://localhost:${receiver.port}/rebound`, {}, '{}');
    expect(byName).toMatchObject({ statusCode: null, error: expect.stringContaining('not a public address'), detail: expect.stringMatching(/localhost resolved to (127\.0\.0\.1|::1)/) });
    expect(byName.error).not.toMatch(/127\.0\.0\.1|::1/);
    const byLiteral = await send(`http://127.0.0.1:${receiver.port}/rebound`, {}, '{}');
    expect(byLiteral.error).toContain('not a public address');
    expect(receiver.received.filter((r) => r.path === '/rebound')).toHaveLength(0);
  });
});
