/**
 * In production the response validator (and the validator's own route scan) is off and our router
 * alone feeds the request validator. The request checks must be exactly as strict there.
 */
import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let token: string;
beforeAll(async () => {
  t = await startTestApp({ VALIDATE_RESPONSES: 'false', NODE_ENV: 'production' });
  const user = await createUser(t, { twoFactor: true });
  token = (await createPat(t, user, { scopes: ['posts:read', 'posts:write', 'tokens:manage'] })).token;
});
afterAll(() => t.close());

describe('request validation without the response validator', () => {
  it.each([
    ['a path parameter breaking its pattern', 'get', '/api/tokens/not-a-token-id', undefined],
    ['a path-level parameter breaking its pattern', 'delete', '/api/posts/bad!id', undefined],
    ['a query parameter of the wrong type', 'get', '/api/posts?limit=abc', undefined],
    ['an unknown query parameter', 'get', '/api/posts?sort=title', undefined],
    ['an unknown body property', 'post', '/api/posts', { title: 'x', owner: 'usr_x' }],
    ['a missing required property', 'post', '/api/tokens', { scopes: ['posts:read'] }],
  ])('refuses %s', async (_name, method, path, body) => {
    const req = (request(t.app) as any)[method](path).set(bearer(token));
    expectError(await (body ? req.send(body) : req), 400, 'validation_failed');
  });

  it('routes literal segments before parameters and answers 404/405 itself', async () => {
    expect((await http(t, token).get('/api/tokens/self')).status).toBe(200);
    expectError(await request(t.app).get('/api/unknown'), 404, 'not_found');
    const res = await request(t.app).put('/api/tokens/self').set(bearer(token));
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET');
    expect((await http(t, token).get('/api/posts/')).status).toBe(200);
  });

  it('serves valid requests', async () => {
    const created = await http(t, token).post('/api/posts', { title: 'ok' });
    expect(created.status).toBe(201);
    expect((await http(t, token).get(`/api/posts/${created.body.id}?`)).status).toBe(200);
  });
});
