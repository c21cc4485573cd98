/**
 * Rotation with a grace overlap (issue 15). Invariants:
 * - a token has at most two working values, its current one and, during a grace period, the one the
 *   last rotation replaced; never a value from an earlier rotation, never any after a revocation;
 * - a replaced value stops at its Sunset, which never passes the token's own expiry;
 * - a replaced value cannot outlive its Sunset through a token it makes or a rotation it asks for.
 */
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { http } from '../helpers/typed-http';
import { until } from '../helpers/wait';
import { createPat, createUser, freshJwt, TestUser } from '../helpers/users';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp();
  owner = await createUser(t, { twoFactor: true });
});
afterAll(() => t.close());
// Tests move the clock by hours: each starts with a JWT fresh at its own time.
beforeEach(async () => {
  owner.jwt = await freshJwt(t, owner.id);
});

const HOUR = 3600;
const manager = { scopes: ['posts:read' as const, 'tokens:manage' as const] };
const works = async (value: string) => (await http(t, value).get('/api/posts')).status === 200;
async function jwt() {
  owner.jwt = await freshJwt(t, owner.id);
  return owner.jwt;
}

it('keeps the replaced value working for the grace period, marked deprecated, and shows its last use', async () => {
  const pat = await createPat(t, owner, { scopes: ['posts:read'] });
  const rotatedAt = t.clock();
  const rotated = await http(t, await jwt()).post(`/api/tokens/${pat.id}/rotate`, { grace_seconds: 2 * HOUR });
  expect(rotated.status).toBe(200);
  expect(rotated.body.id).toBe(pat.id);
  const sunset = new Date(rotatedAt.getTime() + 2 * HOUR * 1000).toISOString();
  expect(rotated.body.previous_value).toEqual({ expires_at: sunset, last_used_at: null, last_used_ip: null });
  expect(rotated.body.rotated_at).toBe(rotatedAt.toISOString());

  t.clock.advance(60);
  const old = await http(t, pat.token).get('/api/posts');
  expect(old.status).toBe(200);
  expect(old.headers.deprecation).toBe(`@${Math.floor(rotatedAt.getTime() / 1000)}`);
  expect(old.headers.sunset).toBe(new Date(sunset).toUTCString());
  expect(old.headers['gpx-token-warning']).toContain(pat.id);
  expect(old.headers['gpx-token-warning']).toContain(sunset);
  // Refusals carry the notice too: the script hears it whatever it calls.
  const refused = await http(t, pat.token).get('/api/balance');
  expect(refused.status).toBe(403);
  expect(refused.headers.sunset).toBe(new Date(sunset).toUTCString());

  const fresh = await http(t, rotated.body.token).get('/api/posts');
  expect(fresh.status).toBe(200);
  expect(fresh.headers.deprecation).toBeUndefined();
  expect(fresh.headers.sunset).toBeUndefined();

  // The owner sees which value is in use: the old one's use is recorded apart from the new one's.
  const listed = (await http(t, owner.jwt).get('/api/tokens')).body.data.find((x: { id: string }) => x.id === pat.id);
  expect(listed.previous_value).toEqual({ expires_at: sunset, last_used_at: t.clock().toISOString(), last_used_ip: expect.any(String) });
  expect(listed.last_used_at).toBe(t.clock().toISOString());

  t.clock.advance(2 * HOUR - 60);
  expectError(await http(t, pat.token).get('/api/posts'), 401, 'invalid_token');
  expect(await works(rotated.body.token)).toBe(true);
  expect((await http(t, await jwt()).get(`/api/tokens/${pat.id}`)).body.previous_value).toBeNull();
});

it('stops the old value at once without a grace period, with or without a body', async () => {
  for (const body of [undefined, {}, { grace_seconds: 0 }]) {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const request = http(t, await jwt()).post(`/api/tokens/${pat.id}/rotate`);
    const rotated = body === undefined ? await request : await request.send(body);
    expect(rotated.status).toBe(200);
    expect(rotated.body.previous_value).toBeNull();
    expectError(await http(t, pat.token).get('/api/posts'), 401, 'invalid_token');
    expect(await works(rotated.body.token)).toBe(true);
  }
});

it('refuses a grace period outside 0 to 7 days, or of the wrong type, and changes nothing', async () => {
  const pat = await createPat(t, owner, { scopes: ['posts:read'] });
  for (const grace of [604_801, -1, 1.5, '3600', null]) {
    const res = await http(t, await jwt()).post(`/api/tokens/${pat.id}/rotate`).send({ grace_seconds: grace });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
  }
  expectError(await http(t, owner.jwt).post(`/api/tokens/${pat.id}/rotate`).send({ grace: 60 }), 400, 'validation_failed');
  expect(await works(pat.token)).toBe(true);
  expect((await http(t, owner.jwt).post(`/api/tokens/${pat.id}/rotate`, { grace_seconds: 604_800 })).status).toBe(200);
});

it('never lets the old value outlive the token itself', async () => {
  const expiresAt = new Date(t.clock().getTime() + HOUR * 1000).toISOString();
  const pat = await createPat(t, owner, { scopes: ['posts:read'], expires_at: expiresAt });
  const rotated = await http(t, await jwt()).post(`/api/tokens/${pat.id}/rotate`, { grace_seconds: 7 * 24 * HOUR });
  expect(rotated.body.previous_value.expires_at).toBe(expiresAt);
  t.clock.advance(HOUR);
  expectError(await http(t, pat.token).get('/api/posts'), 401, 'invalid_token');
  expectError(await http(t, rotated.body.token).get('/api/posts'), 401, 'invalid_token');
});

it('ends the older value at a second rotation, and every value at a revocation', async () => {
  const pat = await createPat(t, owner, { scopes: ['posts:read'] });
  const first = (await http(t, await jwt()).post(`/api/tokens/${pat.id}/rotate`, { grace_seconds: HOUR })).body.token as string;
  const second = (await http(t, owner.jwt).post(`/api/tokens/${pat.id}/rotate`, { grace_seconds: HOUR })).body.token as string;
  expect(await works(pat.token)).toBe(false);
  expect(await works(first)).toBe(true);
  expect(await works(second)).toBe(true);
  expect((await http(t, owner.jwt).delete(`/api/tokens/${pat.id}`)).status).toBe(204);
  expect(await works(first)).toBe(false);
  expect(await works(second)).toBe(false);
});

it('does not let a replaced value make or rotate tokens (it would outlive its Sunset)', async () => {
  const pat = await createPat(t, owner, manager);
  const rotated = await http(t, await jwt()).post(`/api/tokens/${pat.id}/rotate`, { grace_seconds: HOUR });
  expectError(await http(t, pat.token).post('/api/tokens', { name: 'escape', scopes: ['posts:read'] }), 403, 'token_value_replaced');
  expectError(await http(t, pat.token).post(`/api/tokens/${pat.id}/rotate`, { grace_seconds: HOUR }), 403, 'token_value_replaced');
  const tokens = (await http(t, owner.jwt).get('/api/tokens?limit=100')).body.data as Array<{ name: string }>;
  expect(tokens.some((x) => x.name === 'escape')).toBe(false);
  // The new value may.
  expect((await http(t, rotated.body.token).post('/api/tokens', { name: 'child', scopes: ['posts:read'] })).status).toBe(201);
  expect(await works(pat.token)).toBe(true);
});

it('revokes the token when its replaced value is reported leaked during the grace period, not after', async () => {
  const live = await createPat(t, owner, { scopes: ['posts:read'] });
  const liveNew = (await http(t, await jwt()).post(`/api/tokens/${live.id}/rotate`, { grace_seconds: HOUR })).body.token as string;
  expect((await http(t).post('/api/credentials/revoke', { tokens: [live.token] })).status).toBe(202);
  await until('the reported token to be revoked', async () => !(await works(liveNew)));

  const ended = await createPat(t, owner, { scopes: ['posts:read'] });
  const endedNew = (await http(t, await jwt()).post(`/api/tokens/${ended.id}/rotate`, { grace_seconds: 60 })).body.token as string;
  t.clock.advance(61);
  expect((await http(t).post('/api/credentials/revoke', { tokens: [ended.token] })).status).toBe(202);
  expect(await works(endedNew)).toBe(true);
});

it('leaves exactly two working values after concurrent rotations with grace', async () => {
  const pat = await createPat(t, owner, { scopes: ['posts:read'] });
  const token = await jwt();
  const answers = await Promise.all(Array.from({ length: 8 }, () => http(t, token).post(`/api/tokens/${pat.id}/rotate`, { grace_seconds: HOUR })));
  expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
  const values = [pat.token, ...answers.map((a) => a.body.token as string)];
  const working = [];
  for (const value of values) if (await works(value)) working.push(value);
  expect(working).toHaveLength(2);
  expect(working).not.toContain(pat.token);
});
