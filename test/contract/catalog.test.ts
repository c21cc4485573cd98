import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { difference } from '../../src/auth/scopes';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser, TestUser, allScopes, type Scope } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp();
  owner = await createUser(t, { twoFactor: true });
});
afterAll(() => t.close());

const catalog = (query = '', headers: Record<string, string> = {}) => {
  const req = request(t.app).get(`/api/programmatic/catalog${query}`);
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  return req;
};

describe('the programmatic catalog', () => {
  it('lists every operation of the spec with its access, hints and errors', async () => {
    const res = await catalog();
    expect(res.status).toBe(200);
    const ids = res.body.operations.map((o: any) => o.operation_id).sort();
    expect(ids).toEqual([...t.contract.operations.keys()].sort());
    expect(res.body.scope_groups.map((g: any) => g.name)).toEqual(['Content', 'Workspace', 'Billing', 'Account']);
    expect(res.body.scope_groups.flatMap((g: any) => g.scopes)).toHaveLength(17);
    expect(res.body.roles.map((r: any) => r.name)).toEqual(['owner', 'admin', 'member', 'billing_admin', 'viewer']);
    expect(res.body.credentials.find((c: any) => c.auth_mode === 'pat').format).toMatch(/^gpx_pat_/);

    const createPost = res.body.operations.find((o: any) => o.operation_id === 'createPost');
    expect(createPost).toMatchObject({
      method: 'POST', path: '/api/posts', group: 'Content', pat_supported: true, browser_session_supported: true,
      required_scopes: ['posts:write'], auth_modes: ['session', 'jwt', 'pat'],
      response: { status: 201, fields: ['id', 'title', 'body', 'status', 'audience_tags', 'pricing', 'publish_at', 'live', 'created_at', 'updated_at'] },
    });
    expect(createPost.request.body.fields).toEqual(expect.arrayContaining([{ name: 'title', type: 'string', required: true }]));
    expect(createPost.request.body.example).toMatchObject({ title: 'Hello', body: 'My first post.', status: 'draft' });
    expect(createPost.errors.map((e: any) => `${e.status} ${e.code}`)).toEqual(expect.arrayContaining(['400 validation_failed', '401 authentication_required', '401 invalid_token', '403 insufficient_scope', '403 auth_mode_not_allowed', '429 rate_limited', '503 service_unavailable']));
    expect(res.body.operations.find((o: any) => o.operation_id === 'signUp').errors.map((e: any) => e.code)).toEqual(expect.arrayContaining(['email_taken', 'idempotency_key_reused']));
    // Every error status an operation declares comes with at least one code that says what it means.
    for (const op of res.body.operations) {
      const declared = Object.keys(t.contract.document.paths[op.path][op.method.toLowerCase()].responses).filter((s) => /^4\d\d$/.test(s)).map(Number);
      for (const status of declared) expect({ op: op.operation_id, status, coded: op.errors.some((e: any) => e.status === status) }).toEqual({ op: op.operation_id, status, coded: true });
    }

    const getPost = res.body.operations.find((o: any) => o.operation_id === 'getPost');
    expect(getPost.request.path_params).toEqual([{ name: 'postId', type: 'string', required: true, pattern: '^post_[A-Za-z0-9]{1,64}$' }]);
    const listPosts = res.body.operations.find((o: any) => o.operation_id === 'listPosts');
    expect(listPosts.request.query_params.map((p: any) => p.name)).toEqual(['page', 'limit', 'status']);

    const createToken = res.body.operations.find((o: any) => o.operation_id === 'createToken');
    expect(createToken.requires_two_factor).toBe(true);
    expect(createToken.workflow.previous).toContain('getMinimalScopes');
    expect(createToken.errors.map((e: any) => e.code)).toContain('grant_exceeds_permissions');

    const admin = res.body.operations.find((o: any) => o.operation_id === 'listUsers');
    expect(admin).toMatchObject({ pat_supported: false, auth_modes: ['admin'] });
  });

  it('is served with an ETag and answers 304 to If-None-Match', async () => {
    const first = await catalog();
    expect(first.headers.etag).toMatch(/^W\/"/);
    const again = await catalog('', { 'If-None-Match': String(first.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.text).toBeFalsy();
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(again.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(again.headers['x-content-type-options']).toBe('nosniff');
    expect(again.headers.vary).toBe('Authorization, Cookie');
    // The anonymous ETag never answers for a caller with a credential or a filter.
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const withToken = await catalog('', { 'If-None-Match': String(first.headers.etag), ...bearer(pat.token) });
    expect(withToken.status).toBe(200);
    expect(withToken.body.caller.token_id).toBe(pat.id);
    const filtered = await catalog('?tag=posts', { 'If-None-Match': String(first.headers.etag) });
    expect(filtered.status).toBe(200);
    const again304 = await catalog('', { 'If-None-Match': String(withToken.headers.etag), ...bearer(pat.token) });
    expect(again304.status).toBe(304);
  });

  it('tells a PAT what it can call and which scopes it lacks', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const res = await catalog('', bearer(pat.token));
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.body.caller).toEqual({ auth_mode: 'pat', scopes: ['posts:read'], token_id: pat.id });
    const byId = Object.fromEntries(res.body.operations.map((o: any) => [o.operation_id, o]));
    expect(byId.listPosts).toMatchObject({ callable: true, missing_scopes: [] });
    expect(byId.createPost).toMatchObject({ callable: false, missing_scopes: ['posts:write'] });
    expect(byId.createSession.callable).toBe(true);
    expect(byId.getSession.callable).toBe(false);
    const callable = await catalog('?callable=true', bearer(pat.token));
    expect(callable.body.operations.every((o: any) => o.callable)).toBe(true);
    expect(callable.body.operations.map((o: any) => o.operation_id)).toContain('getPost');
  });

  it('refuses an invalid credential rather than pretending it is anonymous', async () => {
    expectError(await catalog('', bearer('gpx_pat_000000000000000000000000000000000000')), 401, 'invalid_token');
  });

  it.each([
    ['scope', '?scope=posts:write', (o: any) => o.required_scopes.includes('posts:write')],
    ['group', '?group=Account', (o: any) => o.group === 'Account'],
    ['auth_mode', '?auth_mode=session', (o: any) => o.auth_modes.includes('session')],
    ['tag', '?tag=tokens', (o: any) => o.tags.includes('tokens')],
  ])('filters by %s', async (_name, query, keep) => {
    const res = await catalog(query);
    expect(res.status).toBe(200);
    expect(res.body.operations.length).toBeGreaterThan(0);
    expect(res.body.operations.every(keep)).toBe(true);
  });

  it.each(['?scope=posts:delete', '?group=Nothing', '?auth_mode=magic', '?tag=unknown', '?format=xml', '?unknown=1'])('refuses the unknown filter %s with a 400', async (query) => {
    expectError(await catalog(query), 400, 'validation_failed');
  });

  it('as format=openapi is a valid OpenAPI 3.1 document of what the token can call', async () => {
    const anonymous = await catalog('?format=openapi');
    expect(anonymous.body.openapi).toBe('3.1.0');
    // Valid by Redocly's structural rules (a client generator's view, without our own house rules).
    const dir = mkdtempSync(join(tmpdir(), 'gpx-catalog-'));
    writeFileSync(join(dir, 'redocly.yaml'), 'extends:\n  - minimal\n');
    writeFileSync(join(dir, 'catalog.json'), JSON.stringify(anonymous.body));
    const lint = spawnSync(join(__dirname, '../../node_modules/.bin/redocly'), ['lint', 'catalog.json', '--config', 'redocly.yaml'], {
      cwd: dir, env: { ...process.env, REDOCLY_TELEMETRY: 'off' }, encoding: 'utf8',
    });
    expect(lint.stdout + lint.stderr).toContain('Your API description is valid');
    expect(lint.status).toBe(0);
    const anonymousOps = Object.values(anonymous.body.paths).flatMap((item: any) => Object.values(item).map((op: any) => op.operationId)).filter(Boolean);
    expect(anonymousOps).toContain('createPost');
    expect(anonymousOps).not.toContain('getSession');
    expect(anonymousOps).not.toContain('listUsers');
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const mine = await catalog('?format=openapi', bearer(pat.token));
    const mineOps = Object.values(mine.body.paths).flatMap((item: any) => Object.values(item).map((op: any) => op.operationId)).filter(Boolean);
    expect(mineOps.sort()).toEqual(['callMcp', 'downloadArtifact', 'getArtifact', 'getCatalog', 'getCurrentToken', 'getMe', 'getPost', 'listArtifacts', 'listPosts']);
    expect(mine.body.components.schemas.Post).toBeDefined();
  });
});

describe('minimal scopes', () => {
  it('returns the union of the scopes and the smallest role covering them', async () => {
    const res = await http(t).post('/api/programmatic/scopes/minimal', { operations: ['listPosts', 'createPost', 'getMe'] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      operations: ['listPosts', 'createPost', 'getMe'], scopes: ['posts:read', 'posts:write'], role: 'member',
      roles: ['member', 'admin', 'owner'], pat_supported: true,
    });
    const billing = await http(t).post('/api/programmatic/scopes/minimal', { operations: ['getSession', 'listPosts'] });
    expect(billing.body).toMatchObject({ pat_supported: false, not_pat_supported: ['getSession'] });
  });

  it('names unknown operationIds in a 400', async () => {
    const res = await http(t).post('/api/programmatic/scopes/minimal', { operations: ['listPosts', 'launchRockets'] });
    expectError(res, 400, 'unknown_operations');
    expect(res.body.error.details.unknown_operations).toEqual(['launchRockets']);
  });
});

describe('every catalog claim is true', () => {
  const all = () => [...t.contract.operations.values()];
  const path = (p: string) => p.replace(/\{(\w+)\}/g, (_m, n) => ({ tokenId: 'tok_Missing000000', postId: 'post_Missing000000', userId: 'usr_Missing000000' } as any)[n]);
  const REFUSED = ['authentication_required', 'invalid_token', 'insufficient_scope', 'auth_mode_not_allowed', 'admin_required'];

  it('PAT-supported operations refuse a PAT lacking their scopes and accept one holding exactly them', async () => {
    const entries = (await catalog()).body.operations.filter((o: any) => o.pat_supported);
    const everything = allScopes(t);
    for (const entry of entries) {
      const op = all().find((o) => o.operationId === entry.operation_id)!;
      const example = (op.schema.requestBody as any)?.content?.['application/json']?.example;
      const call = (token: string) => {
        const r = (request(t.app) as any)[entry.method.toLowerCase()](path(entry.path)).set(bearer(token));
        return example ? r.send(example) : r;
      };
      if (entry.required_scopes.length > 0) {
        const lacking = await createPat(t, owner, { scopes: difference(everything, entry.required_scopes) as Scope[] });
        const refused = await call(lacking.token);
        expect([entry.operation_id, refused.body.error?.code]).toEqual([entry.operation_id, 'insufficient_scope']);
      }
      const exact = await createPat(t, owner, { scopes: entry.required_scopes.length ? entry.required_scopes : ['posts:read'] });
      const allowed = await call(exact.token);
      expect([entry.operation_id, REFUSED.includes(allowed.body?.error?.code)]).toEqual([entry.operation_id, false]);
    }
  });

  it('operations that claim no PAT support refuse a PAT holding every scope', async () => {
    const entries = (await catalog()).body.operations.filter((o: any) => !o.pat_supported && !o.auth_modes.includes('public'));
    expect(entries.length).toBeGreaterThan(5);
    const pat = await createPat(t, owner, { role: 'owner' });
    for (const entry of entries) {
      const res = await (request(t.app) as any)[entry.method.toLowerCase()](path(entry.path)).set(bearer(pat.token));
      expect([entry.operation_id, res.status, res.body.error.code]).toEqual([entry.operation_id, 403, 'auth_mode_not_allowed']);
    }
  });
});
