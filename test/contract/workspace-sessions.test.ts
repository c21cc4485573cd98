/** Workspace sessions: credits (402), per-user concurrency (409), controller capacity (503), close and close-all. */
import request from 'supertest';
import { buyCredits } from '../helpers/billing';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ WORKSPACE_SESSION_CREDITS: '40', WORKSPACE_MAX_SESSIONS_PER_USER: '2', WORKSPACE_CONTROLLER_CAPACITY: '3' });
});
afterAll(() => t.close());

/** A user with a workspace and, through a paid checkout, `credits` credits. */
async function userWithWorkspace(withCredits: boolean) {
  const user = await createUser(t, { twoFactor: true });
  const pat = (await createPat(t, user, { scopes: ['workspaces:manage', 'billing:checkout', 'billing:read'] })).token;
  if (withCredits) await buyCredits(t, pat);
  const ws = (await http(t, pat).post('/api/workspaces', { name: 'Sessions' })).body;
  return { pat, path: `/api/workspaces/${ws.id}/sessions` };
}

it('costs credits, refuses without them (402), and caps open sessions per user (409)', async () => {
  const broke = await userWithWorkspace(false);
  const noCredits = await request(t.app).post(broke.path).set(bearer(broke.pat));
  expectError(noCredits, 402, 'workspace_credits_required');
  expect(noCredits.body.error.details.credits_required).toBe(40);

  const a = await userWithWorkspace(true);
  const first = await request(t.app).post(a.path).set(bearer(a.pat));
  expect(first.status).toBe(201);
  expect(first.body).toMatchObject({ status: 'open', credits_charged: 40 });
  await request(t.app).post(a.path).set(bearer(a.pat)).expect(201);
  const third = await request(t.app).post(a.path).set(bearer(a.pat));
  expectError(third, 409, 'concurrency_limit');
  expect(third.body.error.message).toMatch(/close/i);
  expect((await http(t, a.pat).get('/api/billing')).body.credits).toBe(20);

  const closed = await request(t.app).post(`${a.path}/${first.body.id}/close`).set(bearer(a.pat));
  expect(closed.body).toMatchObject({ status: 'closed' });
  expect(closed.body.closed_at).not.toBeNull();
  expect((await request(t.app).post(`${a.path}/${first.body.id}/close`).set(bearer(a.pat))).body.status).toBe('closed');
  // 20 credits left: one more start is refused for credits, with nothing opened or spent.
  expectError(await request(t.app).post(a.path).set(bearer(a.pat)), 402, 'workspace_credits_required');
  expect((await http(t, a.pat).get('/api/billing')).body.credits).toBe(20);
  expect((await request(t.app).get(`${a.path}?status=open`).set(bearer(a.pat))).body.data).toHaveLength(1);
});

it('refuses with 503 controllers_busy and Retry-After when every controller is taken; close-all reports counts', async () => {
  const b = await userWithWorkspace(true);
  await request(t.app).post(b.path).set(bearer(b.pat)).expect(201);
  const c = await userWithWorkspace(true);
  await request(t.app).post(c.path).set(bearer(c.pat)).expect(201);
  // Open now: 1 (first test) + 1 + 1 = 3, the capacity.
  const busy = await request(t.app).post(b.path).set(bearer(b.pat));
  expectError(busy, 503, 'controllers_busy');
  expect(busy.headers['retry-after']).toBe('30');
  expect((await http(t, b.pat).get('/api/billing')).body.credits).toBe(60);

  const all = await request(t.app).post(`${b.path}/close-all`).set(bearer(b.pat));
  expect(all.status).toBe(200);
  expect(all.body).toEqual({ closed: 1, failed: 0 });
  expect((await request(t.app).post(`${b.path}/close-all`).set(bearer(b.pat))).body).toEqual({ closed: 0, failed: 0 });
  expect((await request(t.app).post(b.path).set(bearer(b.pat))).status).toBe(201);
});
