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
    for (let i = 0; i < 25; i++) await http(t).get('/api/posts').set(from('198.51.100.2')).set(bearer(generatePat()));
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
    // An app of its own, without the small request budgets of this file: only the failure gate of 20.
    const roomy = await startTestApp({ TRUST_PROXY: 'true', ADDRESS_AUTH_FAILURES: '20' });
    try {
      const user = await createUser(roomy, { twoFactor: true });
      const tokens = [];
      for (let i = 0; i < 3; i++) tokens.push(await createPat(roomy, user, { scopes: ['posts:read'] }));
      for (const { token } of tokens) {
        for (let i = 0; i < 8; i++) expect((await http(roomy).get('/api/posts').set(from('198.51.100.5')).set(bearer(token))).status).toBe(200);
      }
      for (let i = 0; i < 30; i++) expect((await request(roomy.app).get('/healthz').set(from('198.51.100.5'))).status).toBe(200);
      expect((await http(roomy).get('/api/programmatic/catalog').set(from('198.51.100.5'))).status).toBe(200);
    } finally {
      await roomy.close();
    }
  });
});

describe('a user\'s tokens together', () => {
  it('share one aggregate budget: a new token does not buy more requests', async () => {
    const user = await createUser(t, { twoFactor: true });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => createPat(t, user, { scopes: ['posts:read'] })));
    // Every credential of the user counts in the aggregate of 15, the JWTs that enrolled 2FA and made the
    // tokens too. The first answer to a fresh token shows what is left of it: the user's quota is then
    // the one closer to running out, so the RateLimit field describes it.
    const first = await http(t, a!.token).get('/api/posts');
    expect(first.headers['ratelimit-policy']).toBe('"credential";q=10;w=60, "user";q=15;w=60');
    expect(rateLimitOf(first.headers).policy).toEqual([{ name: 'credential', q: 10, w: 60 }, { name: 'user', q: 15, w: 60 }]);
    const { name, r: left } = rateLimitOf(first.headers).state;
    expect(name).toBe('user');
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(9);
    // Three tokens of 10 each would make 30 more requests; together they make exactly what is left.
    const statuses: number[] = [];
    for (const token of [a!, b!, c!]) for (let i = 0; i < 10; i++) statuses.push((await http(t, token.token).get('/api/posts')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(left!);
    // A token minted now gets nothing more.
    const d = await createPat(t, { ...user, jwt: user.jwt }, { scopes: ['posts:read'] }).catch((err: Error) => err);
    expect(d).toBeInstanceOf(Error); // the JWT that would mint it is over the aggregate too
    const refused = await http(t, c!.token).get('/api/posts');
    expectError(refused, 429, 'rate_limited');
    expect(refused.body.error.message).toContain('all credentials of this user together');
  });
});

describe('sign-up, per address', () => {
  it('counts every attempt, taken email or not, and refuses past the limit with Retry-After until the window ends', async () => {
    const limited = await startTestApp({ TRUST_PROXY: 'true', SIGNUP_MAX_PER_ADDRESS: '3', SIGNUP_WINDOW_SECONDS: '3600' });
    try {
      const signUp = (email: string, ip = '203.0.113.7') => http(limited).post('/api/auth/signup', { email, password: 'a-long-enough-passphrase-42' }).set(from(ip));
      const first = `first.${Date.now()}@example.com`;
      expect((await signUp(first)).status).toBe(201);
      expectError(await signUp(first), 409, 'email_taken');
      expect((await signUp(`second.${Date.now()}@example.com`)).status).toBe(201);
      const refused = await signUp(`third.${Date.now()}@example.com`);
      expectError(refused, 429, 'rate_limited');
      expect(refused.body.error.message).toContain('sign-ups');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3000);
      expectError(await signUp(first), 429, 'rate_limited'); // "taken" is no longer answered either
      expect((await signUp(`elsewhere.${Date.now()}@example.com`, '203.0.113.8')).status).toBe(201);
      limited.clock.advance(3601);
      expect((await signUp(`later.${Date.now()}@example.com`)).status).toBe(201);
    } finally {
      await limited.close();
    }
  });
});
