/** Idempotency keys, per-credential rate limits, the health check and the metrics endpoint. */
import request from 'supertest';
import { rowCount, startTestApp, TEST_SECRETS, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser, freshJwt, TestUser } from '../helpers/users';
import { rateLimitOf } from '../helpers/rate-limit';
import { http } from '../helpers/typed-http';

let t: TestApp;
let user: TestUser;
let pat: string;
beforeAll(async () => {
  t = await startTestApp();
  user = await createUser(t, { twoFactor: true });
  pat = (await createPat(t, user, { scopes: ['posts:read', 'posts:write', 'tokens:manage', 'memberships:manage'] })).token;
});
afterAll(() => t.close());

const countPosts = async () => Number((await t.database.knex('posts').where({ user_id: user.id }).count({ n: '*' }).first())!.n);

describe('Idempotency-Key', () => {
  it('replays the first response for the same key and body, creating once', async () => {
    const before = await countPosts();
    const first = await http(t, pat).post('/api/posts', { title: 'Once' }).set('Idempotency-Key', 'create-1');
    expect(first.status).toBe(201);
    const again = await http(t, pat).post('/api/posts', { title: 'Once' }).set('Idempotency-Key', 'create-1');
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await countPosts()).toBe(before + 1);
  });

  it('refuses the same key with another body with 409', async () => {
    await http(t, pat).post('/api/posts', { title: 'A' }).set('Idempotency-Key', 'create-2').expect(201);
    expectError(await http(t, pat).post('/api/posts', { title: 'B' }).set('Idempotency-Key', 'create-2'), 409, 'idempotency_key_reused');
  });

  it('keeps keys per account: another user may use the same key', async () => {
    const other = await createUser(t, { twoFactor: true });
    const otherPat = (await createPat(t, other, { scopes: ['posts:write'] })).token;
    await http(t, pat).post('/api/posts', { title: 'Mine' }).set('Idempotency-Key', 'shared').expect(201);
    const theirs = await http(t, otherPat).post('/api/posts', { title: 'Mine' }).set('Idempotency-Key', 'shared');
    expect(theirs.status).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
  });

  it('lets two concurrent requests with one key create once', async () => {
    const before = await countPosts();
    const results = await Promise.all([1, 2, 3].map(() => http(t, pat).post('/api/posts', { title: 'Race' }).set('Idempotency-Key', 'race')));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(await countPosts()).toBe(before + 1);
  });

  it('never stores or replays a secret: a token created with a key replays as 409 naming it', async () => {
    const first = await http(t, pat).post('/api/tokens', { name: 'ci', scopes: ['posts:read'] }).set('Idempotency-Key', 'token-1');
    expect(first.status).toBe(201);
    const row = await t.database.knex('idempotency_keys').where({ key: 'token-1' }).first();
    expect(JSON.stringify(row)).not.toContain(first.body.token);
    const again = await http(t, pat).post('/api/tokens', { name: 'ci', scopes: ['posts:read'] }).set('Idempotency-Key', 'token-1');
    expectError(again, 409, 'idempotent_secret_not_replayable');
    expect(again.body.error.details.resource_id).toBe(first.body.id);
    expect(JSON.stringify(again.body)).not.toContain(first.body.token);
    expect(await rowCount(t, 'personal_access_tokens', { name: 'ci', user_id: user.id })).toBe(1);
  });

  it('replays a refusal too, and frees a key after 24 hours', async () => {
    const bad = await http(t, pat).post('/api/posts', { title: 'x', pricing: { model: 'monthly' } }).set('Idempotency-Key', 'price');
    expectError(bad, 400, 'invalid_pricing');
    const replay = await http(t, pat).post('/api/posts', { title: 'x', pricing: { model: 'monthly' } }).set('Idempotency-Key', 'price');
    expect(replay.status).toBe(400);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    t.clock.advance(24 * 3600 + 1);
    const fresh = (await createPat(t, { ...user, jwt: await freshJwt(t, user.id) }, { scopes: ['posts:write'] })).token;
    const later = await http(t, fresh).post('/api/posts', { title: 'y' }).set('Idempotency-Key', 'price');
    expect(later.status).toBe(201);
  });

  it('ignores the header on operations that do not create', async () => {
    const post = await http(t, pat).post('/api/posts', { title: 'edit me' });
    for (const title of ['one', 'two']) {
      const res = await http(t, pat).patch(`/api/posts/${post.body.id}`, { title }).set('Idempotency-Key', 'patch');
      expect(res.body.title).toBe(title);
    }
  });
});


describe('rate limits', () => {
  it('count per credential with the IETF RateLimit and RateLimit-Policy fields, then answer 429 with Retry-After', async () => {
    const limited = await startTestApp({ RATE_LIMIT_REQUESTS: '10', RATE_LIMIT_WINDOW_SECONDS: '60' });
    try {
      const u = await createUser(limited, { twoFactor: true });
      const a = (await createPat(limited, u, { scopes: ['posts:read'] })).token;
      const b = (await createPat(limited, u, { scopes: ['posts:read'] })).token;
      const first = await request(limited.app).get('/api/posts').set(bearer(a));
      const fields = rateLimitOf(first.headers);
      expect(fields.policy).toEqual([{ name: 'credential', q: 10, w: 60 }, { name: 'user', q: 20, w: 60 }]);
      expect(fields.state).toMatchObject({ name: 'credential', r: 9 });
      expect(fields.state.t).toBeGreaterThan(0);
      expect(fields.state.t).toBeLessThanOrEqual(60);
      for (let i = 0; i < 9; i++) await request(limited.app).get('/api/posts').set(bearer(a)).expect(200);
      const refused = await request(limited.app).get('/api/posts').set(bearer(a));
      expectError(refused, 429, 'rate_limited');
      expect(rateLimitOf(refused.headers).state).toMatchObject({ name: 'credential', r: 0 });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Another token of the same user has its own budget.
      expect((await request(limited.app).get('/api/posts').set(bearer(b))).status).toBe(200);
      // An anonymous caller is counted by address.
      const anonymous = rateLimitOf((await http(limited).get('/api/programmatic/catalog')).headers);
      expect(anonymous).toMatchObject({ policy: [{ name: 'address', q: 10, w: 60 }], state: { name: 'address' } });
      const next = rateLimitOf((await http(limited).get('/api/programmatic/catalog')).headers);
      expect(next.state.r).toBe(anonymous.state.r! - 1);
      // The health check is never limited.
      for (let i = 0; i < 5; i++) await request(limited.app).get('/healthz').expect(200);
    } finally {
      await limited.close();
    }
  });
});

describe('GET /healthz', () => {
  it('answers 200 while the database answers, 503 in the envelope when it does not', async () => {
    const res = await request(t.app).get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'ok' });
    const broken = await startTestApp();
    await broken.database.destroy();
    const down = await request(broken.app).get('/healthz');
    expectError(down, 503, 'service_unavailable');
    expect(down.headers['retry-after']).toBe('5');
    await broken.testDb.drop();
  });
});

describe('GET /internal/metrics', () => {
  it('needs the internal key', async () => {
    expectError(await request(t.app).get('/internal/metrics'), 401, 'authentication_required');
    expectError(await request(t.app).get('/internal/metrics').set(bearer(pat)), 403, 'auth_mode_not_allowed');
  });

  it('counts requests by operation and status and auth failures by reason, in Prometheus text', async () => {
    await http(t, pat).get('/api/posts').expect(200);
    await http(t, 'gpx_pat_nonsense').get('/api/posts');
    const reader = (await createPat(t, { ...user, jwt: await freshJwt(t, user.id) }, { scopes: ['posts:read'] })).token;
    await http(t, reader).post('/api/posts', { title: 'no' }).expect(403);
    const res = await request(t.app).get('/internal/metrics').set(bearer(TEST_SECRETS.INTERNAL_API_KEY));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^gpx_http_requests_total\{operation_id="listPosts",status="200"\} [1-9]/m);
    expect(res.text).toMatch(/^gpx_auth_failures_total\{reason="invalid_token"\} [1-9]/m);
    expect(res.text).toMatch(/^gpx_auth_failures_total\{reason="insufficient_scope"\} [1-9]/m);
    expect(res.text).toContain('# TYPE gpx_http_requests_total counter');
  });
});
