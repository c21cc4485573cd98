import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let token: string;
beforeAll(async () => {
  t = await startTestApp();
  const user = await createUser(t, { twoFactor: true });
  token = (await createPat(t, user, { scopes: ['posts:read', 'posts:write'] })).token;
});
afterAll(() => t.close());

const postCount = async () => Number((await t.database.knex('posts').count({ n: '*' }).first())?.n);

describe('HTTP edges, all in the one envelope and never a 500', () => {
  it('an unknown path is a 404', async () => {
    expectError(await request(t.app).get('/api/nothing-here'), 404, 'not_found');
    expectError(await request(t.app).get('/nothing-here'), 404, 'not_found');
  });

  it('the root sends a browser to sign in, or to its settings when a session is signed in', async () => {
    const signedOut = await request(t.app).get('/');
    expect(signedOut.status).toBe(302);
    expect(signedOut.headers.location).toBe('/login');
    expect((await request(t.app).get('/').set('Cookie', 'gpx_session=not-a-session')).headers.location).toBe('/login');
    const page = await request(t.app).get('/settings/api');
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/login?next=%2Fsettings%2Fapi');
    const user = await createUser(t);
    const login = await http(t).post('/api/auth/session', { email: user.email, password: user.password });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/gpx_session=/);
    expect((await request(t.app).get('/').set('Cookie', cookie)).headers.location).toBe('/settings/api');
    const settings = await request(t.app).get('/settings/api').set('Cookie', cookie);
    expect(settings.status).toBe(200);
    expect(settings.text).toContain('data-page="api"');
  });

  it('an undeclared method is a 405 with Allow', async () => {
    const res = await request(t.app).put('/api/posts').set(bearer(token));
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toMatch(/GET/);
    expect(res.headers.allow).toMatch(/POST/);
    expectError(await request(t.app).trace('/api/posts'), 405, 'method_not_allowed');
  });

  it('malformed JSON is a 400 and writes nothing', async () => {
    const before = await postCount();
    const res = await request(t.app).post('/api/posts').set(bearer(token)).set('Content-Type', 'application/json').send('{"title": ');
    expectError(res, 400, 'invalid_json');
    expect(await postCount()).toBe(before);
  });

  it('a body over 1 MB is a 413', async () => {
    const res = await http(t, token).post('/api/posts', { title: 'x', body: 'y'.repeat(1_100_000) });
    expectError(res, 413, 'payload_too_large');
  });

  it('a wrong content type is a 415', async () => {
    const res = await request(t.app).post('/api/posts').set(bearer(token)).set('Content-Type', 'text/plain').send('title=x');
    expectError(res, 415, 'unsupported_media_type');
  });

  it('a missing body is a 400 or 415, never a 500', async () => {
    const res = await http(t, token).post('/api/posts');
    expect([400, 415]).toContain(res.status);
  });

  it('a PAT lacking the scope is refused before its body is even parsed', async () => {
    const user = await createUser(t, { twoFactor: true });
    const reader = (await createPat(t, user, { scopes: ['posts:read'] })).token;
    const res = await request(t.app).post('/api/posts').set(bearer(reader)).set('Content-Type', 'application/json').send('{broken');
    expectError(res, 403, 'insufficient_scope');
  });

  it('sends secure headers and no X-Powered-By', async () => {
    const res = await http(t, token).get('/api/posts');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-request-id']).toMatch(/^req_/);
  });

  it('a non-Bearer Authorization header is refused with invalid_token', async () => {
    expectError(await http(t).get('/api/posts').set('Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`), 401, 'invalid_token');
  });
});
