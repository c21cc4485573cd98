/**
 * An organization's maximum token lifetime (issue 15). Invariant: once an organization sets a policy, no
 * PAT that lives longer than it (or never expires) does anything on that organization, from the very
 * next request, tokens made before the policy included. Personal tokens elsewhere are unaffected, and
 * only owners and admins set the policy.
 */
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { http } from '../helpers/typed-http';
import { createPat, createUser, freshJwt, TestUser } from '../helpers/users';

let t: TestApp;
let owner: TestUser;
let orgId: string;
const DAY = 86_400_000;
const inDays = (days: number) => new Date(t.clock().getTime() + days * DAY).toISOString();

beforeAll(async () => {
  t = await startTestApp();
  owner = await createUser(t, { twoFactor: true });
  orgId = (await http(t, owner.jwt).post('/api/organizations', { name: 'Acme' })).body.id;
});
afterAll(() => t.close());
beforeEach(async () => {
  owner.jwt = await freshJwt(t, owner.id);
});

it('refuses, on the organization, a PAT living longer than the policy or never expiring, from the next request', async () => {
  const forever = await createPat(t, owner, { scopes: ['memberships:manage', 'posts:read'] });
  const quarter = await createPat(t, owner, { scopes: ['memberships:manage'], expires_at: inDays(90) });
  const year = await createPat(t, owner, { scopes: ['memberships:manage'], expires_at: inDays(365) });
  expect((await http(t, forever.token).get(`/api/organizations/${orgId}`)).status).toBe(200);
  expect((await http(t, forever.token).get(`/api/organizations/${orgId}`)).body.max_token_lifetime_days).toBeNull();

  const set = await http(t, owner.jwt).patch(`/api/organizations/${orgId}`, { max_token_lifetime_days: 90 });
  expect(set.status).toBe(200);
  expect(set.body.max_token_lifetime_days).toBe(90);

  const refused = await http(t, forever.token).get(`/api/organizations/${orgId}/members`);
  expectError(refused, 403, 'token_lifetime_exceeds_policy');
  expect(refused.body.error.details).toEqual({ max_token_lifetime_days: 90 });
  expect(refused.body.error.message).toContain('never expires');
  expectError(await http(t, year.token).get(`/api/organizations/${orgId}`), 403, 'token_lifetime_exceeds_policy');
  expectError(await http(t, year.token).post(`/api/organizations/${orgId}/invitations`, { email: 'x@example.com', role: 'member' }), 403, 'token_lifetime_exceeds_policy');
  expect((await http(t, quarter.token).get(`/api/organizations/${orgId}/members`)).status).toBe(200);

  // Elsewhere, and for sessions and JWTs, nothing changes.
  expect((await http(t, forever.token).get('/api/posts')).status).toBe(200);
  expect((await http(t, owner.jwt).get(`/api/organizations/${orgId}/members`)).status).toBe(200);

  // A refused token cannot lift the policy it is refused by.
  expectError(await http(t, forever.token).patch(`/api/organizations/${orgId}`, { max_token_lifetime_days: null }), 403, 'token_lifetime_exceeds_policy');
  expect((await http(t, owner.jwt).patch(`/api/organizations/${orgId}`, { max_token_lifetime_days: null })).body.max_token_lifetime_days).toBeNull();
  expect((await http(t, forever.token).get(`/api/organizations/${orgId}`)).status).toBe(200);
});

it('lets only owners and admins set it, checks its bounds, and hides it from non-members', async () => {
  const member = await createUser(t, { twoFactor: true });
  const invited = await http(t, owner.jwt).post(`/api/organizations/${orgId}/invitations`, { email: member.email, role: 'member' });
  expect((await http(t, member.jwt).post('/api/invitations/accept', { token: invited.body.token })).status).toBe(200);
  expectError(await http(t, member.jwt).patch(`/api/organizations/${orgId}`, { max_token_lifetime_days: 1 }), 403, 'organization_role_required');
  for (const days of [0, 3651, 1.5, '30']) {
    expectError(await http(t, owner.jwt).patch(`/api/organizations/${orgId}`).send({ max_token_lifetime_days: days }), 400, 'validation_failed');
  }
  expectError(await http(t, owner.jwt).patch(`/api/organizations/${orgId}`).send({}), 400, 'validation_failed');
  const stranger = await createUser(t, { twoFactor: true });
  expectError(await http(t, stranger.jwt).patch(`/api/organizations/${orgId}`, { max_token_lifetime_days: 1 }), 404, 'not_found');
  expect((await http(t, owner.jwt).get(`/api/organizations/${orgId}`)).body.max_token_lifetime_days).toBeNull();
  const renamed = await http(t, owner.jwt).patch(`/api/organizations/${orgId}`, { name: 'Acme Ltd' });
  expect(renamed.body).toMatchObject({ name: 'Acme Ltd', max_token_lifetime_days: null });
});
