/**
 * The security matrix, generated from openapi.yaml: every operation × every kind of credential.
 * Adding an operation to the spec adds its rows here with no test code to write.
 */
import request from 'supertest';
import { createJwtService } from '../../src/auth/jwt';
import { difference } from '../../src/auth/scopes';
import type { OperationInfo } from '../../src/contract/spec';
import { startTestApp, TestApp } from '../helpers/app';
import { testClock } from '../helpers/clock';
import { expectChallenge, expectError } from '../helpers/errors';
import { signInBrowser } from '../helpers/session';
import { databaseSnapshot } from '../helpers/snapshot';
import { operationsInDocument, SPEC_PATH } from '../helpers/spec';
import { bearer, createPat, createUser, freshJwt, TestUser, allScopes, type Scope } from '../helpers/users';
import { http } from '../helpers/typed-http';

const AUTH_REFUSALS = ['authentication_required', 'invalid_token', 'insufficient_scope', 'auth_mode_not_allowed', 'two_factor_required', 'admin_required', 'csrf_failed', 'invalid_request'];

let t: TestApp;
let owner: TestUser;
let revokedPat: string;
let expiredJwt: string;
let pendingToken: string;
const patsByGrant = new Map<string, string>();

// The contract is loaded the same way the app loads it; describe.each needs it before beforeAll runs.
const { loadContract } = jest.requireActual('../../src/contract/spec') as typeof import('../../src/contract/spec');
const contract = loadContract(SPEC_PATH);
const operations = [...contract.operations.values()];
const protectedOps = operations.filter((op) => !op.modes.has('public'));
const patOps = protectedOps.filter((op) => op.modes.has('pat'));
const everyScope = [...contract.scopes.keys()] as Scope[];

function call(op: OperationInfo) {
  const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => ({ tokenId: 'tok_Nonexistent0000', postId: 'post_Nonexistent0000', userId: 'usr_Nonexistent0000' } as Record<string, string>)[name] ?? 'x');
  const item = (contract.document.paths as Record<string, any>)[op.path][op.method.toLowerCase()];
  const example = item.requestBody?.content?.['application/json']?.example;
  const req = (request(t.app) as any)[op.method.toLowerCase()](path);
  return { req, example, send: (r: request.Test) => (example !== undefined ? r.send(example) : r) };
}

async function send(op: OperationInfo, headers: Record<string, string>) {
  const { req, send: withBody } = call(op);
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  return withBody(req);
}

async function patWith(scopes: readonly string[]): Promise<string> {
  const key = [...scopes].sort().join(' ');
  if (!patsByGrant.has(key)) {
    // The matrix moves the clock on as it signs browsers in; keep the owner's 60-minute JWT fresh.
    owner.jwt = await freshJwt(t, owner.id);
    const pat = await createPat(t, owner, { scopes: [...scopes] as Scope[], name: `matrix ${patsByGrant.size}` });
    // Use it once so that the matrix's own calls do not write last_used_at.
    await http(t, pat.token).get('/api/tokens/self');
    patsByGrant.set(key, pat.token);
  }
  return patsByGrant.get(key)!;
}

const snapshot = () => databaseSnapshot(t.database.knex);

beforeAll(async () => {
  t = await startTestApp();
  owner = await createUser(t, { twoFactor: true });
  const revoked = await createPat(t, owner, { scopes: everyScope });
  await http(t, owner.jwt).delete(`/api/tokens/${revoked.id}`);
  revokedPat = revoked.token;
  const past = testClock(new Date(t.clock().getTime() - 2 * 3600_000));
  expiredJwt = (await createJwtService(t.config, past).issueAccess(owner.id, 0, true)).token;
  pendingToken = (await http(t).post('/api/auth/login', { email: owner.email, password: owner.password })).body.pending_token;
});
afterAll(() => t.close());

describe.each(protectedOps.map((op) => [op.operationId, op] as const))('%s', (_id, op) => {
  const signedWebhook = op.modes.size === 1 && op.modes.has('webhook');
  it(signedWebhook ? 'without a signature: refused, nothing queued' : 'without a credential: 401 with a bare Bearer challenge', async () => {
    const before = await snapshot();
    const res = await send(op, {});
    if (signedWebhook) {
      // Signed webhooks carry no bearer credential; an unknown hook or a missing signature is refused.
      expect([400, 401, 404]).toContain(res.status);
      expect(await snapshot()).toBe(before);
      return;
    }
    expectError(res, 401, 'authentication_required');
    expectChallenge(res);
  });

  it.each([
    ['a malformed bearer token', () => 'not-a-token'],
    ['a PAT with a bad checksum', () => 'gpx_pat_000000000000000000000000000000000000'],
    ['a revoked PAT', () => revokedPat],
    ['an expired JWT', () => expiredJwt],
  ])('with %s: 401 invalid_token', async (_name, token) => {
    const res = await send(op, bearer(token()));
    expectError(res, 401, 'invalid_token');
    expectChallenge(res, 'invalid_token');
  });

  it('with a 2FA-pending token: refused unless this is the verify route', async () => {
    const res = await send(op, bearer(pendingToken));
    if (op.modes.has('pending')) {
      expect(AUTH_REFUSALS).not.toContain(res.body?.error?.code);
      expect(res.status).toBeLessThan(500);
    } else expectError(res, 401, 'invalid_token');
  });

  if (op.modes.has('pat') && op.scopes.length > 0) {
    it(`with a PAT lacking ${op.scopes.join(', ')}: 403 insufficient_scope and nothing changed`, async () => {
      const token = await patWith(difference(everyScope, op.scopes));
      const before = await snapshot();
      const res = await send(op, bearer(token));
      expectError(res, 403, 'insufficient_scope');
      expect(res.headers['www-authenticate']).toBe(`Bearer realm="getpaidx", error="insufficient_scope", scope="${op.scopes.join(' ')}"`);
      expect(res.body.error.details).toMatchObject({ operation_id: op.operationId, required_scopes: op.scopes, missing_scopes: op.scopes });
      expect(await snapshot()).toBe(before);
    });
  }

  if (op.takesPat) {
    it(`with a PAT holding exactly ${op.scopes.join(', ') || 'any scope'}: not refused for auth`, async () => {
      const res = await send(op, bearer(await patWith(op.scopes.length > 0 ? op.scopes : ['posts:read'])));
      expect(AUTH_REFUSALS).not.toContain(res.body?.error?.code);
      expect(res.status).toBeLessThan(500);
    });
  } else {
    it('with a PAT holding every scope: 403 auth_mode_not_allowed and nothing changed', async () => {
      const token = await patWith(everyScope);
      const before = await snapshot();
      const res = await send(op, bearer(token));
      expectError(res, 403, 'auth_mode_not_allowed');
      expect(await snapshot()).toBe(before);
    });
  }

  // Allowed calls really run (sign-out, password change…), so each uses a user of its own.
  it('with a browser session: allowed only where the session mode (or admin) is declared', async () => {
    const fresh = await signInBrowser(t, await createUser(t, { twoFactor: true }));
    const res = await send(op, { Cookie: fresh.cookie, 'X-CSRF-Token': fresh.csrf });
    expect(res.status).toBeLessThan(500);
    if (op.modes.has('session')) expect(AUTH_REFUSALS).not.toContain(res.body?.error?.code);
    else if (op.modes.has('admin')) expectError(res, 403, 'admin_required');
    else expectError(res, 403, 'auth_mode_not_allowed');
  });

  it('with a 2FA-verified JWT: allowed only where the jwt mode (or admin) is declared', async () => {
    const res = await send(op, bearer((await createUser(t, { twoFactor: true })).jwt));
    expect(res.status).toBeLessThan(500);
    if (op.modes.has('jwt')) expect(AUTH_REFUSALS).not.toContain(res.body?.error?.code);
    else if (op.modes.has('admin')) expectError(res, 403, 'admin_required');
    else expectError(res, 403, 'auth_mode_not_allowed');
  });

  it('with the internal service key: refused unless the internal mode is declared', async () => {
    const res = await send(op, bearer(t.config.internalApiKey));
    expect(res.status).toBeLessThan(500);
    if (op.modes.has('internal')) expect(AUTH_REFUSALS).not.toContain(res.body?.error?.code);
    else expectError(res, 403, 'auth_mode_not_allowed');
  });
});

describe('the matrix covers the spec', () => {
  it('has rows for every protected operation and PAT rows for every PAT operation, as the document lists them', () => {
    const listed = operationsInDocument(contract.document);
    expect(protectedOps.map((op) => op.operationId).sort()).toEqual(listed.filter((op) => !op.modes.includes('public')).map((op) => op.operationId).sort());
    // Public operations that also take a PAT (the catalog) answer everyone; catalog.test.ts covers their PAT view.
    expect(patOps.map((op) => op.operationId).sort()).toEqual(listed.filter((op) => op.modes.includes('pat') && !op.modes.includes('public')).map((op) => op.operationId).sort());
  });
});
