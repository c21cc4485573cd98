import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { signInBrowser } from '../helpers/session';
import { bearer, createUser, totpCode } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('browser sessions', () => {
  it('set a __Host- cookie that is Secure, HttpOnly, SameSite=Strict, Path=/ and has no Domain', async () => {
    const user = await createUser(t);
    const { setCookie } = await signInBrowser(t, user);
    expect(setCookie).toMatch(/^__Host-gpx_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toMatch(/Domain=/i);
  });

  it('get a new id at every sign-in and store only its hash', async () => {
    const user = await createUser(t);
    const first = await signInBrowser(t, user);
    const second = await signInBrowser(t, user);
    expect(first.cookie).not.toBe(second.cookie);
    const value = second.cookie.split('=')[1]!;
    const dump = JSON.stringify(await t.database.knex('sessions').select('*'));
    expect(dump).not.toContain(value);
  });

  it('need the code when 2FA is on and are then 2FA-verified, so they can create tokens', async () => {
    const user = await createUser(t, { twoFactor: true });
    const noCode = await http(t).post('/api/auth/session', { email: user.email, password: user.password });
    expectError(noCode, 401, 'two_factor_code_required');
    const browser = await signInBrowser(t, user);
    const res = await http(t, browser).post('/api/tokens', { name: 'from the browser', scopes: ['posts:read'] });
    expect(res.status).toBe(201);
    expect(res.body.created_via).toBe('session');
  });

  it('refuse cookie-authenticated writes without the CSRF token or from another origin', async () => {
    const user = await createUser(t);
    const browser = await signInBrowser(t, user);
    const noToken = await http(t).post('/api/posts', { title: 'x' }).set('Cookie', browser.cookie);
    expectError(noToken, 403, 'csrf_failed');
    const foreign = await http(t, browser).post('/api/posts', { title: 'x' }).set('Origin', 'https://evil.example');
    expectError(foreign, 403, 'csrf_failed');
    const ok = await http(t, browser).post('/api/posts', { title: 'x' });
    expect(ok.status).toBe(201);
    expect(await t.database.knex('posts').where({ user_id: user.id })).toHaveLength(1);
    // Reads need no CSRF token.
    expect((await http(t).get('/api/posts').set('Cookie', browser.cookie)).status).toBe(200);
  });

  it('end on sign-out: the old cookie is refused', async () => {
    const user = await createUser(t);
    const browser = await signInBrowser(t, user);
    const out = await http(t, browser).delete('/api/auth/session');
    expect(out.status).toBe(204);
    expect(([] as string[]).concat(out.headers['set-cookie'] ?? [])[0]).toMatch(/__Host-gpx_session=;/);
    expectError(await http(t).get('/api/auth/session').set('Cookie', browser.cookie), 401, 'invalid_token');
  });

  it('expire after 30 idle minutes', async () => {
    const user = await createUser(t);
    const browser = await signInBrowser(t, user);
    t.clock.advance(29 * 60);
    expect((await http(t).get('/api/auth/session').set('Cookie', browser.cookie)).status).toBe(200);
    t.clock.advance(29 * 60);
    expect((await http(t).get('/api/auth/session').set('Cookie', browser.cookie)).status).toBe(200);
    t.clock.advance(31 * 60);
    expectError(await http(t).get('/api/auth/session').set('Cookie', browser.cookie), 401, 'invalid_token');
  });

  it('expire 12 hours after sign-in however active', async () => {
    const user = await createUser(t);
    const browser = await signInBrowser(t, user);
    for (let i = 0; i < 25; i++) {
      t.clock.advance(29 * 60);
      const res = await http(t).get('/api/auth/session').set('Cookie', browser.cookie);
      if (res.status !== 200) {
        expect(i).toBeGreaterThanOrEqual(24);
        return;
      }
    }
    throw new Error('session outlived its absolute lifetime');
  });

  it('a password change ends the other sessions but keeps the current one', async () => {
    const user = await createUser(t);
    const here = await signInBrowser(t, user);
    const elsewhere = await signInBrowser(t, user);
    const res = await http(t, here).post('/api/auth/password', { current_password: user.password, new_password: 'a-whole-new-passphrase' });
    expect(res.status).toBe(204);
    expect((await http(t).get('/api/auth/session').set('Cookie', here.cookie)).status).toBe(200);
    expectError(await http(t).get('/api/auth/session').set('Cookie', elsewhere.cookie), 401, 'invalid_token');
  });

  it('enabling 2FA in the browser makes that session 2FA-verified', async () => {
    const user = await createUser(t);
    const browser = await signInBrowser(t, user);
    const setup = await http(t, browser).post('/api/auth/2fa/setup');
    await http(t, browser).post('/api/auth/2fa/enable', { code: totpCode(setup.body.secret, t.clock()) });
    const session = await http(t).get('/api/auth/session').set('Cookie', browser.cookie);
    expect(session.body.two_factor_verified).toBe(true);
    expect(session.body.user.two_factor_enabled).toBe(true);
  });

  it('refuse a request carrying both a cookie and a bearer token', async () => {
    const user = await createUser(t);
    const browser = await signInBrowser(t, user);
    const res = await http(t).get('/api/me').set('Cookie', browser.cookie).set(bearer(user.jwt));
    expectError(res, 400, 'invalid_request');
  });
});
