/**
 * Regressions from fuzzing (ours and an outside one): each class of request that once got a 500, or a
 * status or header the contract did not declare, now gets a declared 4xx in the error envelope.
 */
import { request as httpRequest, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser, allScopes, type Scope } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let pat: string;
let server: Server;
beforeAll(async () => {
  t = await startTestApp();
  const user = await createUser(t, { twoFactor: true });
  pat = (await createPat(t, user, { scopes: allScopes(t) })).token;
  server = await new Promise<Server>((ready) => { const s = t.app.listen(0, '127.0.0.1', () => ready(s)); });
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
  await t.close();
});

/** The request exactly as written: supertest and fetch would normalise paths and refuse some bodies. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const req = httpRequest({
      host: '127.0.0.1', port: (server.address() as AddressInfo).port, method, path,
      headers: { ...headers, ...(payload ? { 'Content-Length': String(payload.length) } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const json = { 'Content-Type': 'application/json' };
const postBody = JSON.stringify({ title: 'x' });

describe('bodies that do not decode', () => {
  it.each(['gzip', 'deflate', 'br'])('a body that claims %s but is not: 400 invalid_body', async (encoding) => {
    const res = await raw('POST', '/api/posts', { ...json, ...bearer(pat), 'Content-Encoding': encoding }, 'not compressed at all');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_body' });
  });

  it('an unknown Content-Encoding: 415', async () => {
    const res = await raw('POST', '/api/posts', { ...json, ...bearer(pat), 'Content-Encoding': 'x-fuzz' }, postBody);
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_media_type');
  });

  it('a real gzip body is read', async () => {
    const res = await raw('POST', '/api/posts', { ...json, ...bearer(pat), 'Content-Encoding': 'gzip' }, gzipSync(postBody));
    expect(res.status).toBe(201);
  });

  it('a body on an operation that takes none: 400 body_not_allowed, whatever its encoding', async () => {
    for (const headers of [{}, { 'Content-Encoding': 'gzip' }, { 'Content-Encoding': 'x-fuzz' }] as Array<Record<string, string>>) {
      const res = await raw('GET', '/api/posts', { ...json, ...bearer(pat), ...headers }, 'garbage');
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('body_not_allowed');
    }
  });

  it('a body in a content type the operation does not take: 415', async () => {
    expectError(await request(t.app).post('/api/posts').set(bearer(pat)).set('Content-Type', 'text/plain').send(postBody), 415, 'unsupported_media_type');
  });
});

describe('request bodies behind a $ref are validated', () => {
  let postId: string;
  beforeAll(async () => {
    postId = (await http(t, pat).post('/api/posts', { title: 'with files' })).body.id;
  });
  it.each([
    ['a missing field', { name: 'a.txt', content_type: 'text/plain' }],
    ['a null', { name: null, content_type: 'text/plain', content_base64: 'aGk=' }],
    ['a wrong type', { name: { nested: true }, content_type: 'text/plain', content_base64: 'aGk=' }],
    ['a 100 KB name', { name: 'n'.repeat(100_000), content_type: 'text/plain', content_base64: 'aGk=' }],
    ['an extra property', { name: 'a.txt', content_type: 'text/plain', content_base64: 'aGk=', owner: 'me' }],
  ])('an artifact upload with %s: 400, nothing stored', async (_what, body) => {
    expectError(await request(t.app).post(`/api/posts/${postId}/artifacts`).set(bearer(pat)).send(body), 400, 'validation_failed');
    expect((await http(t, pat).get(`/api/posts/${postId}/artifacts`)).body.data).toEqual([]);
  });
  it('an artifact in a type the contract does not list (text/html): 415', async () => {
    expectError(await request(t.app).post(`/api/posts/${postId}/artifacts?filename=x.html`).set(bearer(pat)).set('Content-Type', 'text/html').send('<script>1</script>'), 415, 'unsupported_media_type');
  });
});

describe('date-times the code cannot represent', () => {
  it.each(['2027-10-09T23:59:60Z', '2027-10-09T10:00:00+25:00', '0000-00-00T00:00:00Z', '2027-02-30T00:00:00Z'])('%s: 400 on token and post creation', async (when) => {
    expectError(await http(t, pat).post('/api/tokens', { name: 'x', scopes: ['posts:read'], expires_at: when }), 400, 'validation_failed');
    expectError(await http(t, pat).post('/api/posts', { title: 'x', publish_at: when }), 400, 'validation_failed');
  });
});

describe('bodies the schema allows only in full', () => {
  it.each([{ type: 'post' }, { type: 'credit_package' }, { type: 'pro_plan', package: 'small' }])('checkout item %j: 400', async (item) => {
    expectError(await request(t.app).post('/api/billing/checkout').set(bearer(pat))
      .send({ item, success_url: 'https://app.example.com/a', cancel_url: 'https://app.example.com/b' }), 400, 'validation_failed');
  });
});

describe('create and update requests share their field schemas, and refuse anything else', () => {
  it('an unknown property, on create or update: 400', async () => {
    expectError(await request(t.app).post('/api/posts').set(bearer(pat)).send({ title: 'x', owner: 'me' }), 400, 'validation_failed');
    const post = await http(t, pat).post('/api/posts', { title: 'x' });
    expectError(await request(t.app).patch(`/api/posts/${post.body.id}`).set(bearer(pat)).send({ title: 'y', owner: 'me' }), 400, 'validation_failed');
    expectError(await http(t, pat).patch(`/api/posts/${post.body.id}`, {}), 400, 'validation_failed');
    expect((await http(t, pat).patch(`/api/posts/${post.body.id}`, { title: 'y' })).status).toBe(200);
  });
  it('a rule\'s trigger is set at creation only', async () => {
    const ws = (await request(t.app).post('/api/workspaces').set(bearer(pat)).send({ name: 'w', unknown: 1 }));
    expectError(ws, 400, 'validation_failed');
    const workspace = (await http(t, pat).post('/api/workspaces', { name: 'w' })).body;
    const rule = await http(t, pat).post(`/api/workspaces/${workspace.id}/rules`, { name: 'r', trigger: 'WEBHOOK_EVENT', prompt_template: 'p' });
    expect(rule.status).toBe(201);
    expectError(await request(t.app).patch(`/api/workspaces/${workspace.id}/rules/${rule.body.id}`).set(bearer(pat)).send({ trigger: 'SCHEDULE' }), 400, 'validation_failed');
  });
});

describe('paths that do not decode, outside and inside the API', () => {
  it.each([
    ['/hosted/checkout/%zz', [400]], ['/web/assets/%zz', [400]], ['/web/assets/../../package.json', [404]], ['/web/assets/%2e%2e/%2e%2e/package.json', [404]],
    ['/api/posts/%zz', [400, 401]], ['/r/%zz', [400]],
  ])('%s: a 4xx in the envelope', async (path, statuses) => {
    const res = await raw('GET', path, path.startsWith('/api/') ? {} : {});
    expect(statuses).toContain(res.status);
    expect(res.body.error.code).toEqual(expect.any(String));
    expect(JSON.stringify(res.body)).not.toContain('"name":"getpaidx-api"');
  });
});

describe('queries', () => {
  it.each(['page=1e400', 'page=1.5', 'limit=0x10', 'page=%20'])('%s: 400', async (query) => {
    expectError(await http(t, pat).get(`/api/referral-links?${query}`), 400, 'validation_failed');
  });
});

describe('the NUL character, which PostgreSQL text cannot hold', () => {
  it.each([
    ['POST', '/api/posts', { title: 'a\u0000b' }],
    ['POST', '/api/posts', { title: 'ok', body: 'x', 'a\u0000b': 1 }],
    ['POST', '/api/workspaces', { name: 'w', description: 'a\u0000b' }],
  ])('in a JSON string (%s %s %j): 400 validation_failed, on either database', async (method, path, body) => {
    const res = await raw(method, path, { ...json, ...bearer(pat) }, JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringContaining('NUL') });
  });

  it('an escaped backslash before u0000 is text, not NUL, and is stored', async () => {
    const res = await raw('POST', '/api/posts', { ...json, ...bearer(pat) }, JSON.stringify({ title: 'a\\u0000b' }));
    expect(res.status).toBe(201);
    expect(res.body.title).toBe('a\\u0000b');
  });

  it.each(['/api/places?q=a%00b', '/api/posts/pst_a%00b', '/r/a%00b', '/hosted/checkout/a%00b', '/api/tokens/tok_a%00b/rotate'])('%s: 400 invalid_path', async (path) => {
    const res = await raw(path.endsWith('/rotate') ? 'POST' : 'GET', path, bearer(pat));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_path');
  });
});

describe('what the contract declares the server sends', () => {
  it('only the catalog answers conditional GETs: If-None-Match: * on another GET is a 200', async () => {
    const res = await http(t, pat).get('/api/me').set('If-None-Match', '*');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBeUndefined();
  });

  it('the catalog answers 304 to its ETag even with Cache-Control: no-cache (what fetch sends)', async () => {
    const first = await http(t).get('/api/programmatic/catalog');
    for (const headers of [{}, { 'Cache-Control': 'no-cache' }, { Authorization: `Bearer ${pat}`, 'Cache-Control': 'no-cache' }]) {
      const etag = headers.Authorization ? (await http(t).get('/api/programmatic/catalog').set(headers)).headers.etag : first.headers.etag;
      const again = await http(t).get('/api/programmatic/catalog').set({ ...headers, 'If-None-Match': `W/"other", ${etag}` });
      expect(again.status).toBe(304);
    }
  });

  it('a well-formed X-Request-Id is honoured and echoed; anything else is replaced', async () => {
    const mine = await http(t, pat).get('/api/posts/post_missing0000').set('X-Request-Id', 'trace-4bf92f3577b34da6');
    expect(mine.headers['x-request-id']).toBe('trace-4bf92f3577b34da6');
    expect(mine.body.error.request_id).toBe('trace-4bf92f3577b34da6');
    const hostile = await http(t, pat).get('/api/me').set('X-Request-Id', 'has spaces and "quotes"');
    expect(hostile.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
  });

  it('an idempotent replay carries this request\'s id, not the first one\'s', async () => {
    const send = (id: string) => http(t, pat).post('/api/posts', { title: 'once' }).set('Idempotency-Key', 'replay-ids').set('X-Request-Id', id);
    const first = await send('first-request-0001');
    const replay = await send('second-request-002');
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.headers['x-request-id']).toBe('second-request-002');
    const refused = await http(t, pat).post('/api/posts', { title: 'other' }).set('Idempotency-Key', 'replay-ids').set('X-Request-Id', 'third-request-0003');
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'idempotency_key_reused', request_id: 'third-request-0003' });
    // A stored error answer, replayed: the envelope names the replaying request.
    const missing = (id: string) => http(t, pat).post('/api/posts/post_missing0000/artifacts', { name: 'a.txt', content_type: 'text/plain', content_base64: 'aGk=' }).set('Idempotency-Key', 'replay-error').set('X-Request-Id', id);
    expect((await missing('error-request-0001')).body.error.request_id).toBe('error-request-0001');
    const again = await missing('error-request-0002');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.error).toMatchObject({ code: 'not_found', request_id: 'error-request-0002' });
  });
});
