import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectChallenge, expectError } from '../helpers/errors';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp();
});
// A fresh owner per test: tests move the clock, which would expire a shared JWT.
beforeEach(async () => {
  owner = await createUser(t, { twoFactor: true });
});
afterAll(() => t.close());

async function dumpDatabase(): Promise<string> {
  const tables = ['users', 'personal_access_tokens', 'sessions', 'posts', 'audit_events', 'totp_used_steps'];
  const rows = await Promise.all(tables.map((name) => t.database.knex(name).select('*')));
  return JSON.stringify(rows);
}

describe('creating a token', () => {
  it('returns the raw token once, with Cache-Control: no-store, and stores only its SHA-256', async () => {
    const res = await http(t, owner.jwt).post('/api/tokens', { name: 'ci', scopes: ['posts:read', 'posts:write'] });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.token).toMatch(/^gpx_pat_[0-9A-Za-z]{36}$/);
    expect(res.body).toMatchObject({ name: 'ci', scopes: ['posts:read', 'posts:write'], role: null, created_via: 'jwt', last_used_at: null });
    expect(res.body.display_hint).toBe(`gpx_pat_…${res.body.token.slice(-4)}`);
    expect(await dumpDatabase()).not.toContain(res.body.token);
    const row = await t.database.knex('personal_access_tokens').where({ id: res.body.id }).first();
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);

    for (const path of ['/api/tokens', `/api/tokens/${res.body.id}`]) {
      const read = await request(t.app).get(path).set(bearer(owner.jwt));
      expect(read.status).toBe(200);
      expect(JSON.stringify(read.body)).not.toContain(res.body.token);
      expect(JSON.stringify(read.body)).not.toMatch(/token_hash|"token":/);
    }
  });

  it('refuses an empty grant, an expiry in the past and unknown scopes', async () => {
    expectError(await http(t, owner.jwt).post('/api/tokens', { name: 'x' }), 400, 'empty_grant');
    expectError(await http(t, owner.jwt).post('/api/tokens', { name: 'x', scopes: ['posts:read'], expires_at: '2020-01-01T00:00:00Z' }), 400, 'invalid_expiry');
    expectError(await request(t.app).post('/api/tokens').set(bearer(owner.jwt)).send({ name: 'x', scopes: ['root:all'] }), 400, 'validation_failed');
    expectError(await request(t.app).post('/api/tokens').set(bearer(owner.jwt)).send({ name: 'x', scopes: ['posts:read'], token_hash: 'x' }), 400, 'validation_failed');
  });

  it('refuses a grant beyond the creator, naming the excess scopes', async () => {
    const member = await createUser(t, { twoFactor: true, role: 'member' });
    const before = await dumpDatabase();
    const byRole = await http(t, member.jwt).post('/api/tokens', { name: 'x', role: 'admin' });
    expectError(byRole, 403, 'grant_exceeds_permissions');
    expect(byRole.body.error.details.excess_scopes).toEqual(expect.arrayContaining(['memberships:manage', 'workspaces:manage']));
    const byScope = await http(t, member.jwt).post('/api/tokens', { name: 'x', scopes: ['posts:read', 'billing:manage'] });
    expectError(byScope, 403, 'grant_exceeds_permissions');
    expect(byScope.body.error.details.excess_scopes).toEqual(['billing:manage']);
    expect(await dumpDatabase()).toBe(before);
    const ok = await http(t, member.jwt).post('/api/tokens', { name: 'x', role: 'member' });
    expect(ok.status).toBe(201);
  });

  it('a PAT holding tokens:manage makes tokens within its own grant and lifetime only', async () => {
    const parentExpiry = new Date(t.clock().getTime() + 7 * 86400_000).toISOString();
    const parent = await createPat(t, owner, { scopes: ['tokens:manage', 'posts:read'], expires_at: parentExpiry });
    const child = await http(t, parent.token).post('/api/tokens', { name: 'child', scopes: ['posts:read'] });
    expect(child.status).toBe(201);
    expect(child.body.created_via).toBe('pat');
    expect(child.body.expires_at).toBe(parentExpiry);
    const wider = await http(t, parent.token).post('/api/tokens', { name: 'wider', scopes: ['posts:write'] });
    expectError(wider, 403, 'grant_exceeds_permissions');
    const later = await http(t, parent.token).post('/api/tokens', { name: 'later', scopes: ['posts:read'], expires_at: new Date(t.clock().getTime() + 30 * 86400_000).toISOString() });
    expectError(later, 403, 'expiry_exceeds_parent');
    // Nor can it reveal a stronger token by rotating it.
    const strong = await createPat(t, owner, { scopes: ['posts:write'] });
    expectError(await http(t, parent.token).post(`/api/tokens/${strong.id}/rotate`), 403, 'grant_exceeds_permissions');
  });
});

describe('using a token', () => {
  it('is refused before any lookup when the checksum is wrong', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const corrupted = pat.token.slice(0, -1) + (pat.token.endsWith('a') ? 'b' : 'a');
    const spy = jest.spyOn(t.repos.tokens, 'findByHashWithUser');
    const res = await http(t, corrupted).get('/api/posts');
    expectError(res, 401, 'invalid_token');
    expectChallenge(res, 'invalid_token');
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it('is never accepted in the query string', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const alone = await http(t).get(`/api/posts?access_token=${pat.token}`);
    expectError(alone, 401, 'authentication_required');
    expectChallenge(alone);
    const both = await http(t, pat.token).get(`/api/posts?access_token=${pat.token}`);
    expectError(both, 400, 'invalid_request');
  });

  it('records last use at most once a minute', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const spy = jest.spyOn(t.repos.tokens, 'touch');
    for (let i = 0; i < 5; i++) await http(t, pat.token).get('/api/posts').expect(200);
    expect(spy).toHaveBeenCalledTimes(1);
    const first = await http(t, owner.jwt).get(`/api/tokens/${pat.id}`);
    expect(first.body.last_used_at).toBe(t.clock().toISOString());
    expect(first.body.last_used_ip).toBeTruthy();
    t.clock.advance(61);
    await http(t, pat.token).get('/api/posts').expect(200);
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
    const events = await http(t, owner.jwt).get('/api/audit-events');
    expect(events.body.data.filter((e: any) => e.type === 'token.first_used' && e.token_id === pat.id)).toHaveLength(1);
  });

  it('stops at its expiry', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'], expires_at: new Date(t.clock().getTime() + 3600_000).toISOString() });
    await http(t, pat.token).get('/api/posts').expect(200);
    t.clock.advance(3601);
    expectError(await http(t, pat.token).get('/api/posts'), 401, 'invalid_token');
  });

  it('reports itself and its effective scopes at /api/tokens/self', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'], role: 'viewer' });
    const res = await http(t, pat.token).get('/api/tokens/self');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: pat.id, user_id: owner.id, role: 'viewer' });
    expect(res.body.effective_scopes).toEqual(['billing:read', 'notifications:read', 'places:read', 'posts:read', 'tokens:manage']);
  });
});

describe('revoking and rotating', () => {
  it('a revoked token is refused on the very next request', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    await http(t, pat.token).get('/api/posts').expect(200);
    expect((await http(t, owner.jwt).delete(`/api/tokens/${pat.id}`)).status).toBe(204);
    const res = await http(t, pat.token).get('/api/posts');
    expectError(res, 401, 'invalid_token');
    expect(res.body.error.message).toMatch(/revoked/);
    expectError(await http(t, owner.jwt).delete(`/api/tokens/${pat.id}`), 404, 'not_found');
    expectError(await http(t, owner.jwt).get(`/api/tokens/${pat.id}`), 404, 'not_found');
  });

  it('requests racing a revoke either succeed before it or fail after it, never after', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const racing = Array.from({ length: 10 }, () => http(t, pat.token).get('/api/posts'));
    await http(t, owner.jwt).delete(`/api/tokens/${pat.id}`).expect(204);
    const statuses = (await Promise.all(racing)).map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 401)).toBe(true);
    expect((await http(t, pat.token).get('/api/posts')).status).toBe(401);
  });

  it('rotation returns a new secret once and the old one stops working', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const rotated = await http(t, owner.jwt).post(`/api/tokens/${pat.id}/rotate`);
    expect(rotated.status).toBe(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    expect(rotated.body.id).toBe(pat.id);
    expect(rotated.body.token).not.toBe(pat.token);
    expectError(await http(t, pat.token).get('/api/posts'), 401, 'invalid_token');
    expect((await http(t, rotated.body.token).get('/api/posts')).status).toBe(200);
  });

  it('another user\'s token is not found, never revoked', async () => {
    const other = await createUser(t, { twoFactor: true });
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    for (const [method, path] of [['get', `/api/tokens/${pat.id}`], ['delete', `/api/tokens/${pat.id}`], ['post', `/api/tokens/${pat.id}/rotate`]] as const) {
      expectError(await request(t.app)[method](path).set(bearer(other.jwt)), 404, 'not_found');
    }
    expect((await http(t, pat.token).get('/api/posts')).status).toBe(200);
  });
});

describe('the creator bounds the token', () => {
  it('a demotion shrinks the token at once; a disable stops tokens, JWTs and sessions', async () => {
    const user = await createUser(t, { twoFactor: true });
    const pat = await createPat(t, user, { scopes: ['posts:read', 'posts:write'] });
    await http(t, pat.token).post('/api/posts', { title: 'before' }).expect(201);

    const admin = await createUser(t, { twoFactor: true });
    await t.repos.users.update(admin.id, { is_platform_admin: true }, t.clock().toISOString());
    await http(t, admin.jwt).patch(`/api/admin/users/${user.id}`, { role: 'viewer' }).expect(200);
    const refused = await http(t, pat.token).post('/api/posts', { title: 'after' });
    expectError(refused, 403, 'insufficient_scope');
    expect(refused.body.error.details.missing_scopes).toEqual(['posts:write']);
    await http(t, pat.token).get('/api/posts').expect(200);

    await http(t, admin.jwt).patch(`/api/admin/users/${user.id}`, { disabled: true }).expect(200);
    expectError(await http(t, pat.token).get('/api/posts'), 401, 'invalid_token');
    expectError(await http(t, user.jwt).get('/api/me'), 401, 'invalid_token');
    expectError(await http(t).post('/api/auth/login', { email: user.email, password: user.password }), 401, 'invalid_credentials');

    await http(t, admin.jwt).patch(`/api/admin/users/${user.id}`, { disabled: false, role: 'owner' }).expect(200);
    await http(t, pat.token).post('/api/posts', { title: 'restored' }).expect(201);
  });
});

describe('the audit log', () => {
  it('records token creation, rotation and revocation for the user only', async () => {
    const user = await createUser(t, { twoFactor: true });
    const pat = await createPat(t, user, { scopes: ['posts:read'] });
    await http(t, user.jwt).post(`/api/tokens/${pat.id}/rotate`).expect(200);
    await http(t, user.jwt).delete(`/api/tokens/${pat.id}`).expect(204);
    const res = await http(t, user.jwt).get('/api/audit-events?limit=100');
    const types = res.body.data.map((e: any) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user.signed_up', 'two_factor.enabled', 'user.signed_in', 'token.created', 'token.rotated', 'token.revoked']));
    expect(res.body.data.every((e: any) => e.token_id === null || e.token_id === pat.id)).toBe(true);
    expect(JSON.stringify(res.body)).not.toContain(pat.token);
  });
});
