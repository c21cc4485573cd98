/**
 * Sudo mode (issue 15). Invariants:
 * - a browser session or JWT whose password or code was last checked more than 10 minutes ago never
 *   creates or rotates a PAT, changes 2FA, moves money or revokes all, and is refused before any work;
 * - only a right password, or a right code used once, opens the window; wrong answers count against the
 *   sign-in limits, so a stolen session cannot guess its way in;
 * - activity does not extend the window: only a check does;
 * - a PAT holding `tokens:manage` keeps the right the seeds give it, whenever it was made.
 */
import { REAUTHENTICATION_WINDOW_SECONDS } from '../../src/auth/decide';
import { rowCount, startTestApp, TestApp } from '../helpers/app';
import { balanceOf, checkoutAndPay, onboardPayouts, pricedPost } from '../helpers/billing';
import { expectError } from '../helpers/errors';
import { BrowserSession, signInBrowser } from '../helpers/session';
import { http } from '../helpers/typed-http';
import { createPat, createUser, freshJwt, totpCode, TestUser } from '../helpers/users';

const SUDO_OPERATIONS = ['createToken', 'rotateToken', 'setUpTwoFactor', 'enableTwoFactor', 'createTransfer', 'revokeAllTokens'];
const MAX_FAILURES = 4;

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp({ AUTH_MAX_FAILURES: String(MAX_FAILURES) });
  owner = await createUser(t, { twoFactor: true });
});
afterAll(() => t.close());

const stale = () => t.clock.advance(REAUTHENTICATION_WINDOW_SECONDS + 1);
const tokenCount = () => rowCount(t, 'personal_access_tokens', { user_id: owner.id });

/** The owner's next TOTP code, a step after the last one used (each code works once). */
function nextCode(user: TestUser = owner): string {
  t.clock.advance(30);
  return totpCode(user.totpSecret!, t.clock());
}

describe('the contract', () => {
  it('marks exactly the sensitive acts, each accepting a session or a JWT, and the catalog says so', async () => {
    const marked = [...t.contract.operations.values()].filter((op) => op.requiresReauthentication).map((op) => op.operationId);
    expect(marked.sort()).toEqual([...SUDO_OPERATIONS].sort());
    const catalog = await http(t).get('/api/programmatic/catalog');
    for (const op of catalog.body.operations) {
      expect(op.requires_reauthentication).toBe(SUDO_OPERATIONS.includes(op.operation_id));
      if (op.requires_reauthentication) expect(op.errors.map((e: { code: string }) => e.code)).toContain('reauthentication_required');
    }
  });

  it('refuses every marked operation to a stale JWT before it reads the body, and lets a fresh one past', async () => {
    const jwt = await freshJwt(t, owner.id);
    stale();
    const fresh = await freshJwt(t, owner.id);
    for (const op of [...t.contract.operations.values()].filter((o) => o.requiresReauthentication)) {
      const url = op.path.replace(/\{\w+\}/g, 'tok_doesnotexist');
      const method = op.method.toLowerCase() as 'post';
      const refused = await (http(t, jwt)[method] as (u: string, b?: object) => any)(url, { not: 'a valid body' });
      expectError(refused, 403, 'reauthentication_required');
      expect(refused.body.error.details).toMatchObject({ operation_id: op.operationId, window_seconds: REAUTHENTICATION_WINDOW_SECONDS });
      expect(refused.body.error.message).toContain('POST /api/auth/reauthenticate');
      // The same request with a fresh check goes on to the next gate (here, body validation).
      const passed = await (http(t, fresh)[method] as (u: string, b?: object) => any)(url, { not: 'a valid body' });
      expect(passed.body.error?.code).not.toBe('reauthentication_required');
    }
  });
});

describe('with a JWT', () => {
  it('allows the acts for 10 minutes after the code step, then refuses them with nothing written', async () => {
    const jwt = await freshJwt(t, owner.id);
    t.clock.advance(REAUTHENTICATION_WINDOW_SECONDS);
    expect((await http(t, jwt).post('/api/tokens', { name: 'at the edge', scopes: ['posts:read'] })).status).toBe(201);
    t.clock.advance(1);
    const before = await tokenCount();
    expectError(await http(t, jwt).post('/api/tokens', { name: 'too late', scopes: ['posts:read'] }), 403, 'reauthentication_required');
    expect(await tokenCount()).toBe(before);
    // Everything else still works with it: sudo mode guards the sensitive acts only.
    expect((await http(t, jwt).get('/api/tokens')).status).toBe(200);
  });

  it('gets a new JWT from a password check; the old one stays refused', async () => {
    const old = await freshJwt(t, owner.id);
    stale();
    const res = await http(t, old).post('/api/auth/reauthenticate', { password: owner.password });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const now = t.clock();
    expect(res.body).toMatchObject({
      reauthenticated_at: now.toISOString(),
      reauthenticated_until: new Date(now.getTime() + REAUTHENTICATION_WINDOW_SECONDS * 1000).toISOString(),
      two_factor_verified: true,
      access_token: { token_type: 'Bearer', two_factor_verified: true },
    });
    const renewed = res.body.access_token.token as string;
    expect((await http(t, renewed).post('/api/tokens', { name: 'after sudo', scopes: ['posts:read'] })).status).toBe(201);
    expectError(await http(t, old).post('/api/tokens', { name: 'old', scopes: ['posts:read'] }), 403, 'reauthentication_required');
    // The window is the check's, not the new token's life: ten minutes on, it is closed again.
    stale();
    expectError(await http(t, renewed).post('/api/tokens', { name: 'later', scopes: ['posts:read'] }), 403, 'reauthentication_required');
    const audit = await t.database.knex('audit_events').where({ user_id: owner.id, type: 'user.reauthenticated' });
    expect(audit.length).toBeGreaterThan(0);
    expect(JSON.parse(audit.at(-1)!.details)).toEqual({ via: 'jwt', method: 'password' });
  });

  it('takes a code once, never twice, and never a code from an account without 2FA', async () => {
    const jwt = await freshJwt(t, owner.id);
    stale();
    const code = nextCode();
    const first = await http(t, jwt).post('/api/auth/reauthenticate', { code });
    expect(first.status).toBe(200);
    expectError(await http(t, jwt).post('/api/auth/reauthenticate', { code }), 403, 'reauthentication_failed');

    const plain = await createUser(t);
    expectError(await http(t, plain.jwt).post('/api/auth/reauthenticate', { code: '123456' }), 403, 'reauthentication_failed');
    // A password-only JWT stays what it was: a password check does not make it 2FA-verified.
    const checked = await http(t, plain.jwt).post('/api/auth/reauthenticate', { password: plain.password });
    expect(checked.body).toMatchObject({ two_factor_verified: false, access_token: { two_factor_verified: false } });
  });

  it('refuses wrong passwords as a failure of the check, not of the credential, and throttles them', async () => {
    const user = await createUser(t, { twoFactor: true });
    const jwt = await freshJwt(t, user.id);
    stale();
    for (let i = 0; i < MAX_FAILURES; i++) {
      const res = await http(t, jwt).post('/api/auth/reauthenticate', { password: `wrong-${i}` });
      expectError(res, 403, 'reauthentication_failed');
      expect(res.headers['www-authenticate']).toBeUndefined();
    }
    // The (account, address) pair is over its limit: even the right password waits now.
    const limited = await http(t, jwt).post('/api/auth/reauthenticate', { password: user.password });
    expectError(limited, 429, 'rate_limited');
    expectError(await http(t, jwt).post('/api/tokens', { name: 'x', scopes: ['posts:read'] }), 403, 'reauthentication_required');
    expect(await rowCount(t, 'audit_events', { user_id: user.id, type: 'user.sign_in_failed' })).toBe(MAX_FAILURES);
  });

  it('takes exactly one of a password or a code', async () => {
    const jwt = await freshJwt(t, owner.id);
    expectError(await http(t, jwt).post('/api/auth/reauthenticate', {}), 400, 'validation_failed');
    expectError(await http(t, jwt).post('/api/auth/reauthenticate', { password: owner.password, code: '123456' }), 400, 'validation_failed');
    expectError(await http(t, jwt).post('/api/auth/reauthenticate', { code: '12345' }), 400, 'validation_failed');
  });
});

describe('with a browser session', () => {
  let browser: BrowserSession;
  beforeEach(async () => {
    browser = await signInBrowser(t, owner);
  });

  it('counts the sign-in as a check; activity does not extend it, a reauthenticate does', async () => {
    const session = await http(t, browser).get('/api/auth/session');
    expect(session.body.authenticated_at).toBe(t.clock().toISOString());
    expect((await http(t, browser).post('/api/tokens', { name: 'from the page', scopes: ['posts:read'] })).status).toBe(201);

    // Busy for 11 minutes: the session stays alive, the window does not.
    for (let minute = 0; minute < 11; minute++) {
      t.clock.advance(60);
      expect((await http(t, browser).get('/api/tokens')).status).toBe(200);
    }
    const before = await tokenCount();
    expectError(await http(t, browser).post('/api/tokens', { name: 'stale', scopes: ['posts:read'] }), 403, 'reauthentication_required');
    expect(await tokenCount()).toBe(before);

    const res = await http(t, browser).post('/api/auth/reauthenticate', { password: owner.password });
    expect(res.status).toBe(200);
    // A session is marked in place; no new credential is handed out.
    expect(res.body.access_token).toBeUndefined();
    expect((await http(t, browser).get('/api/auth/session')).body.authenticated_at).toBe(t.clock().toISOString());
    expect((await http(t, browser).post('/api/tokens', { name: 'checked', scopes: ['posts:read'] })).status).toBe(201);
  });

  it('needs the CSRF token to reauthenticate, like any write', async () => {
    stale();
    expectError(await http(t, { cookie: browser.cookie, csrf: 'forged' }).post('/api/auth/reauthenticate', { password: owner.password }), 403, 'csrf_failed');
    expectError(await http(t, browser).post('/api/tokens/revoke-all'), 403, 'reauthentication_required');
  });

  it('guards revoke-all and 2FA set-up until checked', async () => {
    const user = await createUser(t);
    const page = await signInBrowser(t, user);
    stale();
    expectError(await http(t, page).post('/api/auth/2fa/setup'), 403, 'reauthentication_required');
    const secrets = await t.repos.users.findWithSecretsById(user.id);
    expect(secrets!.pendingTotpSecretEnc).toBeNull();
    expect((await http(t, page).post('/api/auth/reauthenticate', { password: user.password })).status).toBe(200);
    expect((await http(t, page).post('/api/auth/2fa/setup')).status).toBe(200);
  });
});

describe('money', () => {
  it('a stale JWT moves nothing; after a check the same transfer pays', async () => {
    const scopes = ['posts:write', 'billing:checkout', 'payouts:manage', 'transfers:manage', 'billing:read'] as const;
    const seller = await createUser(t, { twoFactor: true });
    const buyer = await createUser(t, { twoFactor: true });
    const sellerPat = (await createPat(t, seller, { scopes: [...scopes] })).token;
    const buyerPat = (await createPat(t, buyer, { scopes: [...scopes] })).token;
    const post = await pricedPost(t, sellerPat, 2000);
    await checkoutAndPay(t, buyerPat, { type: 'post', post_id: post });
    t.clock.advance(30 * 24 * 3600);
    await onboardPayouts(t, sellerPat);
    const before = await balanceOf(t, sellerPat);
    expect(before.available).toBeGreaterThan(0);

    const jwt = await freshJwt(t, seller.id);
    stale();
    expectError(await http(t, jwt).post('/api/transfers', { amount: before.available, currency: 'usd' }), 403, 'reauthentication_required');
    expect(await balanceOf(t, sellerPat)).toEqual(before);
    expect(await rowCount(t, 'transfers', { user_id: seller.id })).toBe(0);

    const renewed = (await http(t, jwt).post('/api/auth/reauthenticate', { code: nextCode(seller) })).body.access_token.token;
    expect((await http(t, renewed).post('/api/transfers', { amount: before.available, currency: 'usd' })).status).toBe(201);
    expect((await balanceOf(t, sellerPat)).available).toBe(0);
  });
});

describe('a PAT', () => {
  it('holding tokens:manage creates and rotates tokens within its grant however long ago anyone signed in', async () => {
    owner.jwt = await freshJwt(t, owner.id);
    const manager = await createPat(t, owner, { scopes: ['posts:read', 'tokens:manage'] });
    t.clock.advance(30 * 24 * 3600);
    const child = await http(t, manager.token).post('/api/tokens', { name: 'child', scopes: ['posts:read'] });
    expect(child.status).toBe(201);
    expect((await http(t, manager.token).post(`/api/tokens/${child.body.id}/rotate`)).status).toBe(200);
    // It cannot enter the sudo check itself: that is for people.
    expectError(await http(t, manager.token).post('/api/auth/reauthenticate', { password: owner.password }), 403, 'auth_mode_not_allowed');
  });
});
