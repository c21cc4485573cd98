/**
 * Independent conformance: the contract's traffic sent through Stoplight Prism's validating proxy
 * (its own parser and validator, not express-openapi-validator) in front of the compiled server.
 * Any request or response Prism finds out of contract fails the test.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { httpClient } from '../helpers/api-client';
import { freePort, killStartedProcesses, PROJECT_ROOT, startCompiledServer, startProcess } from '../helpers/server';

const dir = mkdtempSync(join(tmpdir(), 'gpx-prism-'));
let proxyUrl = '';
const seen: Array<{ what: string; status: number; violations: string | null }> = [];

beforeAll(async () => {
  const server = await startCompiledServer(dir);
  const port = await freePort();
  await startProcess(join(PROJECT_ROOT, 'node_modules/.bin/prism'), ['proxy', 'generated/openapi.yaml', server.url, '--errors', '-p', String(port), '-h', '127.0.0.1'],
    { ...process.env }, 'Prism is listening', 60_000);
  proxyUrl = `http://127.0.0.1:${port}`;
}, 90_000);
afterAll(() => {
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

it('every request and response of a full walk through the API conforms to openapi.yaml', async () => {
  const api = httpClient(proxyUrl, (res) => {
    seen.push({ what: `${res.method} ${res.path} → ${res.status}`, status: res.status, violations: res.headers.get('sl-violations') });
  });
  const call = api.call;

  const catalog = await call('GET', '/api/programmatic/catalog');
  expect(catalog.status).toBe(200);
  expect((await call('GET', '/api/programmatic/catalog', { headers: { 'if-none-match': catalog.headers.get('etag')! } })).status).toBe(304);
  expect((await call('POST', '/api/programmatic/scopes/minimal', { body: { operations: ['listPosts', 'createPost'] } })).status).toBe(200);

  const { jwt, pat, patId } = await api.userWithPat('prism@example.com', ['posts:read', 'posts:write', 'tokens:manage']);
  expect((await call('GET', '/api/me', { token: jwt })).status).toBe(200);
  expect((await call('GET', '/api/programmatic/catalog?callable=true', { token: pat })).status).toBe(200);
  expect((await call('GET', '/api/programmatic/catalog?format=openapi', { token: pat })).status).toBe(200);

  const post = await call('POST', '/api/posts', { token: pat, body: { title: 'Through Prism', body: 'checked twice' } });
  expect(post.status).toBe(201);
  expect((await call('GET', '/api/posts?limit=5', { token: pat })).status).toBe(200);
  expect((await call('GET', `/api/posts/${post.body.id}`, { token: pat })).status).toBe(200);
  expect((await call('PATCH', `/api/posts/${post.body.id}`, { token: pat, body: { status: 'published' } })).status).toBe(200);
  expect((await call('DELETE', `/api/posts/${post.body.id}`, { token: pat })).status).toBe(204);
  expect((await call('GET', `/api/posts/${post.body.id}`, { token: pat })).status).toBe(404);

  const reader = await call('POST', '/api/tokens', { token: pat, body: { name: 'reader', scopes: ['posts:read'] } });
  expect(reader.status).toBe(201);
  expect((await call('POST', '/api/posts', { token: reader.body.token, body: { title: 'nope' } })).status).toBe(403);
  expect((await call('GET', '/api/tokens', { token: pat })).status).toBe(200);
  expect((await call('GET', `/api/tokens/${patId}`, { token: jwt })).status).toBe(200);
  expect((await call('GET', '/api/tokens/self', { token: pat })).status).toBe(200);
  expect((await call('POST', `/api/tokens/${reader.body.id}/rotate`, { token: jwt })).status).toBe(200);
  expect((await call('DELETE', `/api/tokens/${reader.body.id}`, { token: jwt })).status).toBe(204);
  expect((await call('GET', '/api/audit-events', { token: pat })).status).toBe(200);
  expect((await call('POST', '/api/auth/logout', { token: jwt })).status).toBe(204);

  const violations = seen.filter((s) => s.violations);
  expect(violations).toEqual([]);
  // Prism answers request violations itself (422) and response violations with a 500 under --errors.
  expect(seen.filter((s) => s.status === 422 || s.status >= 500)).toEqual([]);
  expect(seen.length).toBeGreaterThanOrEqual(28);

  // Control: Prism is really validating. An out-of-contract request (limit above its maximum) is
  // answered by Prism itself with a 422, never reaching the server.
  const outOfContract = await httpClient(proxyUrl).call('GET', '/api/posts?limit=1000', { token: pat });
  expect(outOfContract.status).toBe(422);
}, 90_000);

