import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { signInBrowser } from '../helpers/session';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let admin: TestUser;
beforeAll(async () => {
  t = await startTestApp();
});
beforeEach(async () => {
  admin = await createUser(t, { twoFactor: true });
  await t.repos.users.update(admin.id, { is_platform_admin: true }, t.clock().toISOString());
});
afterAll(() => t.close());

describe('platform staff', () => {
  it('list users, without secrets', async () => {
    const res = await http(t, admin.jwt).get('/api/admin/users?limit=100');
    expect(res.status).toBe(200);
    expect(res.body.data.some((u: any) => u.id === admin.id && u.is_platform_admin)).toBe(true);
    expect(JSON.stringify(res.body)).not.toMatch(/password|totp_secret/);
  });

  it('need a 2FA-verified sign-in', async () => {
    const staff = await createUser(t);
    await t.repos.users.update(staff.id, { is_platform_admin: true }, t.clock().toISOString());
    expectError(await http(t, staff.jwt).get('/api/admin/users'), 403, 'two_factor_required');
  });

  it('are the only ones who can use admin routes, even with an owner PAT or session', async () => {
    const member = await createUser(t, { twoFactor: true });
    expectError(await http(t, member.jwt).get('/api/admin/users'), 403, 'admin_required');
    const browser = await signInBrowser(t, member);
    expectError(await http(t, browser).patch(`/api/admin/users/${member.id}`, { role: 'owner' }), 403, 'admin_required');
    const pat = await createPat(t, admin, { role: 'owner' });
    expectError(await http(t, pat.token).get('/api/admin/users'), 403, 'auth_mode_not_allowed');
  });

  it('change roles, and the user\'s next call sees the new role', async () => {
    const user = await createUser(t);
    const res = await http(t, admin.jwt).patch(`/api/admin/users/${user.id}`, { role: 'viewer' });
    expect(res.body.role).toBe('viewer');
    const me = await http(t, user.jwt).get('/api/me');
    expect(me.body.scopes).not.toContain('posts:write');
    expectError(await http(t, user.jwt).post('/api/posts', { title: 'x' }), 403, 'insufficient_scope');
  });

  it('disable users: sessions end at once and an audit event is written', async () => {
    const user = await createUser(t);
    const browser = await signInBrowser(t, user);
    await http(t, admin.jwt).patch(`/api/admin/users/${user.id}`, { disabled: true }).expect(200);
    expectError(await http(t).get('/api/auth/session').set('Cookie', browser.cookie), 401, 'invalid_token');
    const events = await t.database.knex('audit_events').where({ user_id: user.id, type: 'admin.user_updated' });
    expect(events).toHaveLength(1);
  });

  it('cannot disable themselves, and unknown users are 404', async () => {
    expectError(await http(t, admin.jwt).patch(`/api/admin/users/${admin.id}`, { disabled: true }), 409, 'cannot_disable_self');
    expectError(await http(t, admin.jwt).patch('/api/admin/users/usr_Missing000000', { role: 'viewer' }), 404, 'not_found');
    expectError(await request(t.app).patch(`/api/admin/users/${admin.id}`).set(bearer(admin.jwt)).send({ role: 'emperor' }), 400, 'validation_failed');
  });
});
