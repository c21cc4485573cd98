/**
 * Webhook caps (issue 14): endpoints per user, held under concurrent creates, and test sends per minute
 * (429 with Retry-After, counted in the database so the limit holds across instances; the window runs
 * on the test clock).
 */
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { createPat, createUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true', MAX_WEBHOOK_ENDPOINTS_PER_USER: '3', MAX_TEST_SENDS_PER_MINUTE: '4' });
});
afterAll(() => t.close());

async function owner() {
  const user = await createUser(t, { twoFactor: true });
  return (await createPat(t, user, { scopes: ['webhooks:manage'] })).token;
}
const create = (pat: string, i: number) => http(t, pat).post('/api/webhooks/endpoints', { url: `http://127.0.0.1:9/hook-${i}`, events: ['post.created'] });

it('holds endpoints to the cap under 10 concurrent creates, naming the cap', async () => {
  const pat = await owner();
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => create(pat, i)));
  expect(answers.filter((r) => r.status === 201)).toHaveLength(3);
  const refused = answers.find((r) => r.status !== 201)!;
  expectError(refused, 409, 'limit_reached');
  expect(refused.body.error.details).toEqual({ cap: 'webhookEndpoints', limit: 3 });
  // Deleting one makes room for one.
  const [first] = (await http(t, pat).get('/api/webhooks/endpoints')).body.data;
  await http(t, pat).delete(`/api/webhooks/endpoints/${first.id}`).expect(204);
  expect((await create(pat, 99)).status).toBe(201);
});

it('allows so many test sends a minute, then 429 with Retry-After until the oldest leaves the window', async () => {
  const pat = await owner();
  const id = (await create(pat, 0)).body.id;
  const send = () => http(t, pat).post(`/api/webhooks/endpoints/${id}/test`);
  for (let i = 0; i < 4; i++) {
    expect((await send()).status).toBe(202);
    t.clock.advance(5);
  }
  const refused = await send();
  expectError(refused, 429, 'rate_limited');
  // The first send was 20 s ago: it leaves the one-minute window in 40 s.
  expect(refused.headers['retry-after']).toBe('40');
  t.clock.advance(40);
  expect((await send()).status).toBe(202);
  expectError(await send(), 429, 'rate_limited');
  // Another user has a budget of their own.
  const other = await owner();
  const theirs = (await create(other, 1)).body.id;
  expect((await http(t, other).post(`/api/webhooks/endpoints/${theirs}/test`)).status).toBe(202);
});
