/**
 * Limits an attacker cannot walk around (issue 14): requests that fail authentication are counted per
 * address before any credential is looked up, bursts included; and a user's tokens share one aggregate
 * budget, so minting tokens does not multiply it. Addresses come from X-Forwarded-For (TRUST_PROXY).
 */
import request from 'supertest';
import { generatePat } from '../../src/auth/token-format';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser } from '../helpers/users';
import { rateLimitOf } from '../helpers/rate-limit';
import { http } from '../helpers/typed-http';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ TRUST_PROXY: 'true', ADDRESS_AUTH_FAILURES: '20', RATE_LIMIT_REQUESTS: '10', RATE_LIMIT_USER_REQUESTS: '15' });
});
afterAll(() => t.close());

const from = (ip: string) => ({ 'X-Forwarded-For': ip });

describe('failed authentication, per address', () => {
  it('refuses a flood of unknown, checksum-valid PATs from one address after the limit: 650 sent, 20 looked up', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 650; i++) {
      statuses.push((await http(t).get('/api/posts').set(from('198.51.100.1')).set(bearer(generatePat()))).status);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(630);
    const refused = await http(t).get('/api/posts').set(from('198.51.100.1')).set(bearer(generatePat()));
    expectError(refused, 429, 'rate_limited');
    expect(refused.body.error.message).toContain('failed authentication');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('is checked before the credential: even a valid token from that address waits; other addresses do not', async () => {
    const user = await createUser(t, { twoFactor: true });
    const pat = (await createPat(t, user, { scopes: ['posts:read'] })).token;
    for (let i = 0; i < 25; i++) await http(t).get('/api/posts').set(from('198.51.100.2'));
    expectError(await http(t).get('/api/posts').set(from('198.51.100.2')).set(bearer(pat)), 429, 'rate_limited');
    expect((await http(t).get('/api/posts').set(from('198.51.100.3')).set(bearer(pat))).status).toBe(200);
  });

  it('counts a parallel burst before any of it is answered', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, () => http(t).get('/api/tokens').set(from('198.51.100.4')).set(bearer(generatePat()))));
    const counts = answers.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    expect(counts[401]).toBeLessThanOrEqual(20);
    expect(counts[429]).toBeGreaterThanOrEqual(80);
  });

  it('does not count requests that authenticate, nor public ones', async () => {
    const user = await createUser(t, { twoFactor: true });
    const tokens = await Promise.all([1, 2, 3].map(() => createPat(t, user, { scopes: ['posts:read'] })));
    for (const { token } of tokens) {
      for (let i = 0; i < 5; i++) expect((await http(t).get('/api/posts').set(from('198.51.100.5')).set(bearer(token))).status).toBe(200);
    }
    for (let i = 0; i < 30; i++) expect((await request(t.app).get('/healthz').set(from('198.51.100.5'))).status).toBe(200);
    expect((await http(t).get('/api/programmatic/catalog').set(from('198.51.100.5'))).status).toBe(200);
  });
});

describe('a user\'s tokens together', () => {
  it('share one aggregate budget: a new token does not buy more requests', async () => {
    const user = await createUser(t, { twoFactor: true });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => createPat(t, user, { scopes: ['posts:read'] })));
    // createPat used the user's JWT, which has a bucket of its own; the PATs start at zero.
    for (let i = 0; i < 10; i++) expect((await http(t, a!.token).get('/api/posts')).status).toBe(200);
    const ownRefused = await http(t, a!.token).get('/api/posts');
    expectError(ownRefused, 429, 'rate_limited');
    // a has used 11 of the user's 15; b gets the other 4, then c gets none.
    const fresh = await http(t, b!.token).get('/api/posts');
    expect(fresh.status).toBe(200);
    expect(fresh.headers['ratelimit-policy']).toBe('"credential";q=10;w=60, "user";q=15;w=60');
    expect(rateLimitOf(fresh.headers).policy).toEqual([{ name: 'credential', q: 10, w: 60 }, { name: 'user', q: 15, w: 60 }]);
    // The user's quota is the one closer to running out: the RateLimit field describes it.
    expect(rateLimitOf(fresh.headers).state).toMatchObject({ name: 'user', r: 3 });
    for (let i = 0; i < 3; i++) expect((await http(t, b!.token).get('/api/posts')).status).toBe(200);
    const refused = await http(t, c!.token).get('/api/posts');
    expectError(refused, 429, 'rate_limited');
    expect(refused.body.error.message).toContain('all credentials of this user together');
  });
});
