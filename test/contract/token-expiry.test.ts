/** Expiry you cannot miss (issue 15): answers to a PAT within 7 days of its expiry say when it ends. */
import { startTestApp, TestApp } from '../helpers/app';
import { http } from '../helpers/typed-http';
import { createPat, createUser, freshJwt, TestUser } from '../helpers/users';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp();
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
