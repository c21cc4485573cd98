/** Expiry you cannot miss (issue 15): answers to a PAT within 7 days of its expiry say when it ends. */
import type { MoneyJobs } from '../../src/jobs/money';
import { startTestApp, TestApp } from '../helpers/app';
import { http } from '../helpers/typed-http';
import { createPat, createUser, freshJwt, TestUser } from '../helpers/users';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
  owner = await createUser(t, { twoFactor: true });
});
afterAll(() => t.close());

const DAY = 86_400;

it('sends GPX-Token-Expiration once the PAT is within 7 days of its expiry, on successes and refusals alike', async () => {
  const expiresAt = new Date(t.clock().getTime() + 10 * DAY * 1000).toISOString();
  const soon = await createPat(t, owner, { scopes: ['posts:read'], expires_at: expiresAt });
  const never = await createPat(t, owner, { scopes: ['posts:read'] });
  expect((await http(t, soon.token).get('/api/posts')).headers['gpx-token-expiration']).toBeUndefined();

  t.clock.advance(3 * DAY + 1); // 7 days minus a second to go
  const ok = await http(t, soon.token).get('/api/posts');
  expect(ok.status).toBe(200);
  expect(ok.headers['gpx-token-expiration']).toBe(expiresAt);
  const refused = await http(t, soon.token).get('/api/balance'); // no billing:read: 403, still told
  expect(refused.status).toBe(403);
  expect(refused.headers['gpx-token-expiration']).toBe(expiresAt);

  expect((await http(t, never.token).get('/api/posts')).headers['gpx-token-expiration']).toBeUndefined();
  expect((await http(t, await freshJwt(t, owner.id)).get('/api/posts')).headers['gpx-token-expiration']).toBeUndefined();
  t.clock.advance(7 * DAY);
  expect((await http(t, soon.token).get('/api/posts')).status).toBe(401);
});

describe('expiry notices through the outbox', () => {
  const jobs = () => t.app.locals.moneyJobs as MoneyJobs;
  const events = async (id: string) => (await t.database.knex('webhook_events').whereIn('type', ['token.expiring', 'token.expired']).select('type', 'payload'))
    .map((e: { type: string; payload: string }) => ({ type: e.type, data: JSON.parse(e.payload).data }))
    .filter((e: { data: { id: string } }) => e.data.id === id);

  it('sends token.expiring 7 days and 1 day before, then token.expired, each once, on a controllable clock', async () => {
    owner.jwt = await freshJwt(t, owner.id);
    expect((await http(t, owner.jwt).post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/expiry', events: ['token.expiring', 'token.expired'] })).status).toBe(201);
    const expiresAt = new Date(t.clock().getTime() + 10 * DAY * 1000).toISOString();
    const token = await createPat(t, owner, { scopes: ['posts:read'], expires_at: expiresAt, name: 'nightly' });
    const revoked = await createPat(t, owner, { scopes: ['posts:read'], expires_at: expiresAt });
    await http(t, owner.jwt).delete(`/api/tokens/${revoked.id}`);

    await jobs().runOnce();
    expect(await events(token.id)).toEqual([]);
    t.clock.advance(3 * DAY + 60); // within 7 days
    await Promise.all([jobs().runOnce(), jobs().runOnce()]); // two passes at once, as two instances
    expect(await events(token.id)).toEqual([{ type: 'token.expiring', data: { id: token.id, name: 'nightly', expires_at: expiresAt, days_left: 7 } }]);
    t.clock.advance(6 * DAY); // within 1 day
    await jobs().runOnce();
    await jobs().runOnce();
    t.clock.advance(DAY); // expired
    await jobs().runOnce();
    await jobs().runOnce();
    expect((await events(token.id)).map((e: { type: string; data: { days_left?: number } }) => [e.type, e.data.days_left])).toEqual([
      ['token.expiring', 7], ['token.expiring', 1], ['token.expired', undefined],
    ]);
    expect(await events(revoked.id)).toEqual([]);
  });

  it('gives a token found late only the notice that applies now', async () => {
    owner.jwt = await freshJwt(t, owner.id);
    const expiresAt = new Date(t.clock().getTime() + 12 * 3600 * 1000).toISOString();
    const token = await createPat(t, owner, { scopes: ['posts:read'], expires_at: expiresAt });
    await jobs().runOnce();
    expect((await events(token.id)).map((e: { type: string; data: { days_left?: number } }) => [e.type, e.data.days_left])).toEqual([['token.expiring', 1]]);
  });
});
