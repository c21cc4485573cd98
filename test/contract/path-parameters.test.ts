/**
 * Path-parameter-only calls are checked by validators compiled at start-up instead of
 * express-openapi-validator's request stage (src/contract/path-parameters.ts). Generated from the spec:
 * for every such operation a PAT may call, a malformed path parameter gets the same 400 from the
 * compiled check as from the validator, and a query string always goes to the validator.
 */
import { request as httpRequest, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { compilePathParameterChecks } from '../../src/contract/path-parameters';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { operationsInDocument } from '../helpers/spec';
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

/** supertest drops an empty query string ("…?"); node:http sends the path exactly as given. */
function rawCall(method: string, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, method, path, headers: bearer(pat) }, (res) => {
      let text = '';
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const send = (method: string, url: string) =>
  (request(t.app) as unknown as Record<string, (url: string) => request.Test>)[method.toLowerCase()]!(url).set(bearer(pat));

describe('compiled path-parameter checks', () => {
  it('cover the parameter-only reads and leave everything else to the validator', () => {
    const checked = new Set(compilePathParameterChecks(t.contract).keys());
    for (const id of ['getPost', 'deletePost', 'getToken', 'getCurrentToken', 'revokeToken', 'getArtifact']) expect(checked).toContain(id);
    // Query parameters, header parameters (Idempotency-Key) or a body: the validator's.
    for (const id of ['listPosts', 'createPost', 'updatePost', 'createToken']) expect(checked).not.toContain(id);
  });

  const operations = () =>
    [...compilePathParameterChecks(t.contract).keys()]
      .map((id) => t.contract.operations.get(id)!)
      .filter((op) => op.path.includes('{') && op.modes.has('pat') && !op.modes.has('admin'));

  it('refuse a malformed path parameter exactly as the validator does', async () => {
    // Every PAT operation with only path parameters (no query, header or body) is compiled, as the document says.
    const deref = (p: Record<string, any>) => (p.$ref ? p.$ref.split('/').slice(1).reduce((n: any, k: string) => n[k], t.contract.document) : p);
    const parameterOnly = (op: Record<string, any>, item: Record<string, any>) => op.requestBody === undefined &&
      [...(op.parameters ?? []), ...(item.parameters ?? [])].every((p: Record<string, any>) => deref(p).in === 'path');
    const listed = operationsInDocument(t.contract.document).filter((op) => {
      const item = t.contract.document.paths[op.path];
      return op.path.includes('{') && op.modes.includes('pat') && !op.modes.includes('admin') && parameterOnly(item[op.method.toLowerCase()], item);
    }).map((op) => op.operationId);
    expect(operations().map((op) => op.operationId).sort()).toEqual(listed.sort());
    for (const op of operations()) {
      const url = op.path.replace(/\{\w+\}/g, 'not-an-id!');
      const compiled = await rawCall(op.method, url);
      // An empty query string sends the same call through the validator's request stage.
      const validator = await rawCall(op.method, `${url}?`);
      const { request_id: _a, ...fromCompiled } = compiled.body.error;
      const { request_id: _b, ...fromValidator } = validator.body.error;
      expect({ op: op.operationId, status: compiled.status, error: fromCompiled }).toEqual({ op: op.operationId, status: 400, error: fromValidator });
      expect(fromCompiled.code).toBe('validation_failed');
      expect(fromCompiled.message).toMatch(/^Invalid request: \/params\/\w+ must match pattern/);
    }
  });

  it('send any query string to the validator, so unknown parameters are still refused', async () => {
    const post = await http(t, pat).post('/api/posts', { title: 'p' });
    expect((await send('GET', `/api/posts/${post.body.id}`)).status).toBe(200);
    const res = await send('GET', `/api/posts/${post.body.id}?expand=all`);
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.details.errors).toEqual([{ path: '/query/expand', message: "Unknown query parameter 'expand'" }]);
    expectError(await send('GET', '/api/tokens/self?x=1'), 400, 'validation_failed');
    expect((await send('GET', '/api/tokens/self')).status).toBe(200);
  });
});
