import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectChallenge, expectError } from '../helpers/errors';
import { bearer, createUser, totpCode } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ AUTH_MAX_FAILURES: '5', AUTH_THROTTLE_WINDOW_SECONDS: '600' });
});
afterAll(() => t.close());

describe('sign-up', () => {
  it('creates an account and never returns its password hash', async () => {
    const res = await http(t).post('/api/auth/signup', { email: 'Ada@Example.com', password: 'correct-horse-battery', name: 'Ada' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: 'ada@example.com', name: 'Ada', role: 'owner', two_factor_enabled: false });
    expect(res.body.id).toMatch(/^usr_/);
    expect(JSON.stringify(res.body)).not.toMatch(/password|hash/i);
    const row = await t.database.knex('users').where({ id: res.body.id }).first();
    expect(row.password_hash).toMatch(/^\$2b\$/);
  });

  it('refuses a second account for the same email, whatever its case', async () => {
    await http(t).post('/api/auth/signup', { email: 'dup@example.com', password: 'correct-horse-battery' });
    const res = await http(t).post('/api/auth/signup', { email: 'DUP@example.com', password: 'another-password' });
    expectError(res, 409, 'email_taken');
  });

  it.each([
    ['a short password', { email: 'a@example.com', password: 'short' }],
    ['a password over 128 characters', { email: 'a@example.com', password: 'x'.repeat(129) }],
    ['a bad email', { email: 'not-an-email', password: 'correct-horse-battery' }],
    ['an unknown property', { email: 'a@example.com', password: 'correct-horse-battery', role: 'owner' }],
    ['a missing password', { email: 'a@example.com' }],
  ])('refuses %s with a 400 and writes nothing', async (_name, body) => {
    const before = await t.database.knex('users').count({ n: '*' }).first();
    const res = await request(t.app).post('/api/auth/signup').send(body);
    expectError(res, 400, 'validation_failed');
    expect(await t.database.knex('users').count({ n: '*' }).first()).toEqual(before);
  });
});

describe('API sign-in', () => {
  it('without 2FA gives a 60-minute JWT that cannot create tokens', async () => {
    const user = await createUser(t);
    const me = await http(t, user.jwt).get('/api/me');
    expect(me.status).toBe(200);
    expect(me.body.credential).toBe('jwt');
    const create = await http(t, user.jwt).post('/api/tokens', { name: 'x', scopes: ['posts:read'] });
    expectError(create, 403, 'two_factor_required');
  });

  it('with 2FA gives a pending token that works only on the verify route', async () => {
    const user = await createUser(t, { twoFactor: true });
    const login = await http(t).post('/api/auth/login', { email: user.email, password: user.password });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ two_factor_required: true });
    expect(login.body.token).toBeUndefined();
    for (const [method, path] of [['get', '/api/me'], ['get', '/api/posts'], ['get', '/api/tokens'], ['post', '/api/auth/logout']] as const) {
      const res = await request(t.app)[method](path).set(bearer(login.body.pending_token));
      expectError(res, 401, 'invalid_token');
      expectChallenge(res, 'invalid_token');
    }
  });

  it('the pending token expires after 5 minutes', async () => {
    const user = await createUser(t, { twoFactor: true });
    t.clock.advance(30);
    const login = await http(t).post('/api/auth/login', { email: user.email, password: user.password });
    t.clock.advance(300 + 6); // past exp and the 5-second clock tolerance
    const res = await http(t, login.body.pending_token).post('/api/auth/login/verify', { code: totpCode(user.totpSecret!, t.clock()) });
    expectError(res, 401, 'invalid_token');
  });

  it('accepts each code once, even when two verifications race', async () => {
    const user = await createUser(t, { twoFactor: true });
    t.clock.advance(30);
    const login = await http(t).post('/api/auth/login', { email: user.email, password: user.password });
    const code = totpCode(user.totpSecret!, t.clock());
    const attempts = await Promise.all([1, 2, 3].map(() =>
      http(t, login.body.pending_token).post('/api/auth/login/verify', { code })));
    expect(attempts.map((r) => r.status).sort()).toEqual([200, 401, 401]);
    const events = await t.database.knex('audit_events').where({ user_id: user.id, type: 'two_factor.code_reused' });
    expect(events).toHaveLength(2);
  });

  it('issues a 2FA-verified JWT with exp − iat = 3600', async () => {
    const user = await createUser(t, { twoFactor: true });
    const payload = JSON.parse(Buffer.from(user.jwt.split('.')[1]!, 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(3600);
    expect(payload.amr).toEqual(['pwd', 'otp']);
  });

  it('gives the same answer for an unknown email and a wrong password', async () => {
    const user = await createUser(t);
    const unknown = await http(t).post('/api/auth/login', { email: 'nobody@example.com', password: 'whatever-password' });
    const wrong = await http(t).post('/api/auth/login', { email: user.email, password: 'wrong-password' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const strip = (b: any) => ({ ...b.error, request_id: undefined });
    expect(strip(unknown.body)).toEqual(strip(wrong.body));
  });

  it('throttles failed attempts per account with 429 and Retry-After, and recovers when the window ends', async () => {
    const user = await createUser(t);
    for (let i = 0; i < 5; i++) {
      expect((await http(t).post('/api/auth/login', { email: user.email, password: 'wrong-password' })).status).toBe(401);
    }
    const blocked = await http(t).post('/api/auth/login', { email: user.email, password: user.password });
    expectError(blocked, 429, 'rate_limited');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    t.clock.advance(601);
    const ok = await http(t).post('/api/auth/login', { email: user.email, password: user.password });
    expect(ok.status).toBe(200);
  });

  it('throttles wrong codes on the verify step too', async () => {
    const user = await createUser(t, { twoFactor: true });
    const login = await http(t).post('/api/auth/login', { email: user.email, password: user.password });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await http(t, login.body.pending_token).post('/api/auth/login/verify', { code: '000000' });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
    t.clock.advance(601);
  });
});

describe('2FA enrolment', () => {
  it('needs setup before enable, refuses a wrong code, and refuses a second setup once on', async () => {
    const user = await createUser(t);
    expectError(await http(t, user.jwt).post('/api/auth/2fa/enable', { code: '123456' }), 409, 'two_factor_setup_required');
    const setup = await http(t, user.jwt).post('/api/auth/2fa/setup');
    expect(setup.status).toBe(200);
    expect(setup.headers['cache-control']).toBe('no-store');
    expect(setup.body.otpauth_url).toMatch(/^otpauth:\/\/totp\/GetPaidX:/);
    expectError(await http(t, user.jwt).post('/api/auth/2fa/enable', { code: '000000' }), 401, 'invalid_code');
    const ok = await http(t, user.jwt).post('/api/auth/2fa/enable', { code: totpCode(setup.body.secret, t.clock()) });
    expect(ok.body).toEqual({ two_factor_enabled: true });
    expectError(await http(t, user.jwt).post('/api/auth/2fa/setup'), 409, 'two_factor_already_enabled');
  });

  it('stores the TOTP seed encrypted', async () => {
    const user = await createUser(t, { twoFactor: true });
    const row = await t.database.knex('users').where({ id: user.id }).first();
    expect(row.totp_secret_enc).toMatch(/^v2\./);
    expect(row.totp_secret_enc).not.toContain(user.totpSecret);
  });
});

describe('ending JWTs', () => {
  it('logout invalidates the user\'s JWTs', async () => {
    const user = await createUser(t);
    expect((await http(t, user.jwt).post('/api/auth/logout')).status).toBe(204);
    const res = await http(t, user.jwt).get('/api/me');
    expectError(res, 401, 'invalid_token');
  });

  it('a password change invalidates JWTs and needs the current password', async () => {
    const user = await createUser(t);
    const wrong = await http(t, user.jwt).post('/api/auth/password', { current_password: 'nope-nope', new_password: 'brand-new-passphrase' });
    expectError(wrong, 401, 'invalid_credentials');
    const ok = await http(t, user.jwt).post('/api/auth/password', { current_password: user.password, new_password: 'brand-new-passphrase' });
    expect(ok.status).toBe(204);
    expectError(await http(t, user.jwt).get('/api/me'), 401, 'invalid_token');
    expect((await http(t).post('/api/auth/login', { email: user.email, password: 'brand-new-passphrase' })).status).toBe(200);
  });

  it('an expired JWT is refused with invalid_token', async () => {
    const user = await createUser(t);
    t.clock.advance(3600 + 6);
    const res = await http(t, user.jwt).get('/api/me');
    expectError(res, 401, 'invalid_token');
    expectChallenge(res, 'invalid_token');
  });
});
