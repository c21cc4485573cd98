/**
 * The MCP endpoint (issue 16) through the real app and database. Invariants:
 * - an agent never sees a tool its token could not call over HTTP, and never does through a tool what
 *   the token could not do over HTTP: every tool call is the HTTP call of its operation, through the
 *   same pipeline (generated below for every PAT operation, with and without the scopes);
 * - what a token can do is re-read on every message: a revocation or a demotion shows at once;
 * - malformed JSON-RPC gets a JSON-RPC error, never a 500.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { STATUS_META } from '../../src/mcp/server';
import { startTestApp, TestApp } from '../helpers/app';
import { asBytes, asText } from '../helpers/bodies';
import { expectError } from '../helpers/errors';
import { http } from '../helpers/typed-http';
import { until } from '../helpers/wait';
import { allScopes, createPat, createUser, freshJwt, type Scope, TestUser } from '../helpers/users';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp();
  owner = await createUser(t, { twoFactor: true });
});
afterAll(() => t.close());

let nextId = 1;
function rpc(token: string | undefined, method: string, params?: object) {
  const req = request(t.app).post('/mcp').set('Accept', 'application/json, text/event-stream');
  if (token) req.set('Authorization', `Bearer ${token}`);
  return req.send({ jsonrpc: '2.0', id: nextId++, method, ...(params ? { params } : {}) });
}
async function listTools(token: string): Promise<Array<Record<string, any>>> {
  const res = await rpc(token, 'tools/list');
  expect(res.status).toBe(200);
  return res.body.result.tools;
}
async function callTool(token: string, name: string, args: object = {}) {
  const res = await rpc(token, 'tools/call', { name, arguments: args });
  expect(res.status).toBe(200);
  return res.body.result as { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: any; _meta: Record<string, number> };
}
/** The operations a token with `grant` may call over HTTP, computed from the contract alone. */
const expectedTools = (grant: readonly string[]) =>
  [...t.contract.operations.values()].filter((op) => op.modes.has('pat') && op.scopes.every((s) => grant.includes(s))).map((op) => op.operationId).sort();

describe('tools/list', () => {
  it.each<[string, Scope[]]>([
    ['a reader', ['posts:read']],
    ['a billing clerk', ['billing:read', 'billing:checkout', 'payouts:manage']],
    ['a token manager', ['tokens:manage', 'posts:read', 'posts:write', 'webhooks:manage']],
  ])('shows %s exactly the operations its grant can call', async (_who, scopes) => {
    const pat = await createPat(t, owner, { scopes });
    const names = (await listTools(pat.token)).map((tool) => tool.name).sort();
    expect(names).toEqual(expectedTools(scopes));
  });

  it('follows the creator\'s role and the token\'s revocation on the very next message', async () => {
    const user = await createUser(t, { twoFactor: true });
    const pat = await createPat(t, user, { scopes: ['posts:read', 'posts:write'] });
    expect((await listTools(pat.token)).map((tool) => tool.name)).toContain('createPost');
    await t.repos.users.update(user.id, { role: 'viewer' }, new Date().toISOString());
    const demoted = (await listTools(pat.token)).map((tool) => tool.name);
    expect(demoted).toContain('listPosts');
    expect(demoted).not.toContain('createPost');
    expect((await callTool(pat.token, 'createPost', { body: { title: 'no' } })).isError).toBe(true);

    await http(t, await freshJwt(t, user.id)).delete(`/api/tokens/${pat.id}`);
    const revoked = await rpc(pat.token, 'tools/list');
    expectError(revoked, 401, 'invalid_token');
    expect(revoked.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('describes each tool from the contract, with valid JSON Schemas and honest hints', async () => {
    const pat = await createPat(t, owner, { scopes: allScopes(t) });
    const tools = await listTools(pat.token);
    // Strict, except strictTypes: the contract's own schemas put `unevaluatedProperties` beside `oneOf`.
    const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
    addFormats(ajv);
    for (const tool of tools) {
      const op = t.contract.operations.get(tool.name)!;
      expect(tool.description).toContain(op.scopes.length > 0 ? op.scopes.join(', ') : 'Needs no scope');
      expect(tool.inputSchema.type).toBe('object');
      expect(() => ajv.compile(tool.inputSchema)).not.toThrow();
      if (tool.outputSchema) expect(() => ajv.compile(tool.outputSchema)).not.toThrow();
      for (const name of op.path.match(/\{(\w+)\}/g) ?? []) expect(tool.inputSchema.required).toContain(name.slice(1, -1));
      expect(tool.annotations).toMatchObject({ readOnlyHint: op.method === 'GET', destructiveHint: op.method === 'DELETE' });
      if (['PUT', 'DELETE'].includes(op.method)) expect(tool.annotations.idempotentHint).toBe(true);
    }
    const createPost = tools.find((tool) => tool.name === 'createPost')!;
    expect(createPost.inputSchema.properties.idempotency_key).toBeDefined();
    expect(createPost.annotations.idempotentHint).toBe(true);
  });

  it('gives function-calling APIs the same tools from the catalog, ETag\'d', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const res = await http(t, pat.token).get('/api/programmatic/catalog?format=tools');
    expect(res.status).toBe(200);
    const listed = await listTools(pat.token);
    expect(res.body.tools).toEqual(listed.map((tool) => ({ name: tool.name, description: tool.description, parameters: tool.inputSchema })));
    const again = await request(t.app).get('/api/programmatic/catalog?format=tools').set('Authorization', `Bearer ${pat.token}`).set('If-None-Match', res.headers.etag!);
    expect(again.status).toBe(304);
    const anonymous = await http(t).get('/api/programmatic/catalog?format=tools');
    expect(anonymous.body.tools.length).toBe(expectedTools(allScopes(t)).length);
  });
});

describe('tools/call', () => {
  it('returns structured content that matches the output schema, and honours an idempotency key', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read', 'posts:write'] });
    const created = await callTool(pat.token, 'createPost', { body: { title: 'From an agent' }, idempotency_key: 'agent-1' });
    expect(created.isError).toBeUndefined();
    expect(created._meta[STATUS_META]).toBe(201);
    expect(created.structuredContent).toMatchObject({ title: 'From an agent' });
    const replay = await callTool(pat.token, 'createPost', { body: { title: 'From an agent' }, idempotency_key: 'agent-1' });
    expect(replay.structuredContent.id).toBe(created.structuredContent.id);
    const tool = (await listTools(pat.token)).find((candidate) => candidate.name === 'getPost')!;
    const got = await callTool(pat.token, 'getPost', { postId: created.structuredContent.id });
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    expect(ajv.validate(tool.outputSchema, got.structuredContent)).toBe(true);
  });

  it('answers a non-JSON operation with the same bytes as HTTP: SVG as text, PNG as a base64 resource', async () => {
    const pat = await createPat(t, owner, { scopes: ['sharing:manage'] });
    const link = (await http(t, pat.token).post('/api/referral-links', { target: { type: 'profile' } }).expect(201)).body;
    const svg = await http(t, pat.token).get(`/api/referral-links/${link.id}/qr`).buffer(true).parse(asText);
    const svgTool = await callTool(pat.token, 'getReferralLinkQr', { referralLinkId: link.id });
    expect(svgTool.content).toEqual([{ type: 'text', text: svg.body }]);
    const png = await http(t, pat.token).get(`/api/referral-links/${link.id}/qr?format=png&size=128`).buffer(true).parse(asBytes);
    const pngTool = await callTool(pat.token, 'getReferralLinkQr', { referralLinkId: link.id, format: 'png', size: 128 });
    const resource = pngTool.content[0] as unknown as { type: string; resource: { mimeType: string; blob: string } };
    expect(resource.type).toBe('resource');
    expect(resource.resource.mimeType).toBe('image/png');
    expect(Buffer.from(resource.resource.blob, 'base64').equals(png.body as Buffer)).toBe(true);
  });

  it('keeps the operation\'s own status and headers off the agent\'s HTTP answer', async () => {
    // The operation runs on views of the /mcp request and response (src/mcp/tool-pass.ts): what it sets
    // (a 201, Idempotent-Replayed, an image type and its Cache-Control) belongs in the tool result only.
    const pat = await createPat(t, owner, { scopes: ['posts:write', 'sharing:manage'] });
    const create = () => rpc(pat.token, 'tools/call', { name: 'createPost', arguments: { body: { title: 'Headers' }, idempotency_key: 'headers-1' } });
    await create();
    const replay = await create();
    expect(replay.status).toBe(200);
    expect(replay.body.result._meta[STATUS_META]).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBeUndefined();
    const link = (await http(t, pat.token).post('/api/referral-links', { target: { type: 'profile' } }).expect(201)).body;
    const qr = await rpc(pat.token, 'tools/call', { name: 'getReferralLinkQr', arguments: { referralLinkId: link.id } });
    expect(qr.status).toBe(200);
    expect(qr.headers['content-type']).toMatch(/^application\/json/);
    expect(qr.headers['cache-control']).not.toBe('private, max-age=300');
    expect(qr.body).toMatchObject({ jsonrpc: '2.0', id: expect.any(Number), result: { content: [{ type: 'text' }] } });
    expect(qr.headers['x-request-id']).toMatch(/^req_/);
  });

  it('refuses without the scope, naming what is missing and the minimal set, before any work', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const before = await t.database.knex('posts').count({ n: '*' }).first();
    const refused = await callTool(pat.token, 'createPost', { body: { title: 'Not allowed' } });
    expect(refused.isError).toBe(true);
    expect(refused._meta[STATUS_META]).toBe(403);
    expect(refused.content[0]!.text).toContain('Missing scopes: posts:write');
    expect(refused.content[0]!.text).toContain('minimal scopes for this call: posts:write');
    expect(await t.database.knex('posts').count({ n: '*' }).first()).toEqual(before);
  });

  it('hands a person the hosted link a browser must open', async () => {
    const pat = await createPat(t, owner, { scopes: ['payouts:manage'] });
    const link = await callTool(pat.token, 'createPayoutOnboardingLink');
    expect(link.isError).toBeUndefined();
    expect(link.content[0]!.text).toMatch(/^A person must open this link in a browser to finish: http/);
  });

  it('refuses arguments the tool does not take, and a missing path argument, as tool errors', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    expect((await callTool(pat.token, 'getPost', {})).content[0]!.text).toContain('needs the argument postId');
    expect((await callTool(pat.token, 'listPosts', { surprise: 1 })).content[0]!.text).toContain('does not take: surprise');
  });
});

describe('objects of another user (BOLA)', () => {
  it('are as invisible through a tool as over HTTP, and unchanged', async () => {
    const victim = await createPat(t, owner, { scopes: ['posts:read', 'posts:write'] });
    const post = await http(t, victim.token).post('/api/posts', { title: 'Mine alone' });
    const attacker = await createUser(t, { twoFactor: true });
    const pat = await createPat(t, attacker, { scopes: ['posts:read', 'posts:write', 'tokens:manage'] });
    for (const [name, args] of [
      ['getPost', { postId: post.body.id }],
      ['updatePost', { postId: post.body.id, body: { title: 'Taken' } }],
      ['deletePost', { postId: post.body.id }],
      ['revokeToken', { tokenId: victim.id }],
    ] as const) {
      const result = await callTool(pat.token, name, args);
      expect([name, result.isError, result._meta[STATUS_META]]).toEqual([name, true, 404]);
    }
    expect((await http(t, victim.token).get(`/api/posts/${post.body.id}`)).body.title).toBe('Mine alone');
  });
});

describe('each PAT operation as a tool gives the same outcome as over HTTP', () => {
  /** Arguments that reach every gate: a path id that does not exist, an empty body. */
  function argumentsFor(operationId: string): Record<string, unknown> {
    const op = t.contract.operations.get(operationId)!;
    const args: Record<string, unknown> = {};
    for (const match of op.path.matchAll(/\{(\w+)\}/g)) args[match[1]!] = 'doesnotexist';
    if (op.acceptsBody && op.rawMediaTypes.length === 0) args.body = {};
    return args;
  }
  function httpFor(token: string, operationId: string, args: Record<string, unknown>) {
    const op = t.contract.operations.get(operationId)!;
    const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => String(args[name]));
    const req = (request(t.app) as any)[op.method.toLowerCase()](path).set('Authorization', `Bearer ${token}`);
    return args.body !== undefined ? req.send(args.body) : req;
  }

  it.each([['with every scope', true], ['with none of the scopes', false]])('%s', async (_label, everything) => {
    // Two users with the same grant, one over HTTP and one through MCP, so each side sees the same state.
    const grant: Scope[] = everything ? allScopes(t) : ['notifications:read'];
    const overHttp = await createPat(t, await createUser(t, { twoFactor: true }), { scopes: grant });
    const overMcp = await createPat(t, await createUser(t, { twoFactor: true }), { scopes: grant });
    const mismatches: string[] = [];
    const ids = [...t.contract.operations.values()].filter((op) => op.modes.has('pat')).map((op) => op.operationId).sort();
    for (const operationId of ids) {
      const args = argumentsFor(operationId);
      const viaHttp = await httpFor(overHttp.token, operationId, args);
      const viaTool = await callTool(overMcp.token, operationId, args);
      const toolCode = viaTool.isError ? JSON.parse(viaTool.content.at(-1)!.text!).error?.code : undefined;
      const httpCode = viaHttp.status >= 400 ? viaHttp.body?.error?.code : undefined;
      if (viaTool._meta[STATUS_META] !== viaHttp.status || toolCode !== httpCode || Boolean(viaTool.isError) !== viaHttp.status >= 400) {
        mismatches.push(`${operationId}: HTTP ${viaHttp.status} ${httpCode ?? ''} / tool ${viaTool._meta[STATUS_META]} ${toolCode ?? ''}`);
      }
      expect(viaHttp.status).toBeLessThan(500);
    }
    expect(mismatches).toEqual([]);
  }, 60_000);
});

describe('the endpoint', () => {
  it('takes only a PAT, refused like any PAT route', async () => {
    const none = await rpc(undefined, 'tools/list');
    expectError(none, 401, 'authentication_required');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    expectError(await rpc(await freshJwt(t, owner.id), 'tools/list'), 403, 'auth_mode_not_allowed');
    expectError(await rpc('gpx_pat_000000000000000000000000000000000000', 'tools/list'), 401, 'invalid_token');
  });

  it('answers malformed JSON-RPC with JSON-RPC errors, never a 500', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const send = (body: string) => request(t.app).post('/mcp').set('Authorization', `Bearer ${pat.token}`)
      .set('Accept', 'application/json, text/event-stream').set('Content-Type', 'application/json').send(body);
    const notJson = await send('{"jsonrpc": "2.0", ');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const notRpc = await send('{"hello": "world"}');
    expect(notRpc.status).toBe(400);
    expect(notRpc.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600 } });
    const unknownMethod = await rpc(pat.token, 'tools/explode');
    expect(unknownMethod.body.error.code).toBe(-32601);
    const unknownTool = await rpc(pat.token, 'tools/call', { name: 'launchRockets', arguments: {} });
    expect(unknownTool.body.error.code).toBe(-32602);
    const badParams = await rpc(pat.token, 'tools/call', { arguments: 'nope' });
    expect(badParams.status).toBeLessThan(500);
    expect(badParams.body).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
    const noAccept = await request(t.app).post('/mcp').set('Authorization', `Bearer ${pat.token}`).send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(noAccept.status).toBe(406);
    expect(noAccept.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600, data: { code: 'not_acceptable' } } });
    // A notification has no answer.
    const notification = await request(t.app).post('/mcp').set('Authorization', `Bearer ${pat.token}`)
      .set('Accept', 'application/json, text/event-stream').send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(notification.status).toBe(202);
  });

  it('refuses a page of another origin (DNS rebinding)', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const res = await request(t.app).post('/mcp').set('Authorization', `Bearer ${pat.token}`).set('Origin', 'http://evil.example')
      .set('Accept', 'application/json, text/event-stream').send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expectError(res, 403, 'origin_not_allowed');
  });

  it('serves the catalog and each operation\'s docs as resources, and the least-privilege prompt', async () => {
    const pat = await createPat(t, owner, { scopes: ['posts:read'] });
    const resources = (await rpc(pat.token, 'resources/list')).body.result.resources as Array<{ uri: string }>;
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['gpx://catalog', 'gpx://operations/getPost']));
    const catalog = (await rpc(pat.token, 'resources/read', { uri: 'gpx://catalog' })).body.result.contents[0];
    expect(JSON.parse(catalog.text).caller).toMatchObject({ auth_mode: 'pat', token_id: pat.id });
    const doc = (await rpc(pat.token, 'resources/read', { uri: 'gpx://operations/getPost' })).body.result.contents[0];
    expect(doc.text).toContain('GET /api/posts/{postId}');
    expect((await rpc(pat.token, 'resources/read', { uri: 'gpx://nothing' })).body.error.code).toBe(-32602);

    const prompt = (await rpc(pat.token, 'prompts/get', { name: 'least-privilege-token', arguments: { task: 'export my posts every night' } })).body.result;
    const text = prompt.messages[0].content.text as string;
    expect(text).toContain('listPosts');
    expect(text).toContain('Minimal scopes: posts:read');
  });
});

describe('rate limits', () => {
  it('count a tool call as the API call it is, besides the /mcp request that carries it', async () => {
    const limited = await startTestApp({ RATE_LIMIT_REQUESTS: '6', RATE_LIMIT_USER_REQUESTS: '1000' });
    try {
      const user = await createUser(limited, { twoFactor: true });
      const pat = await createPat(limited, user, { scopes: ['posts:read'] });
      const call = () => request(limited.app).post('/mcp').set('Authorization', `Bearer ${pat.token}`)
        .set('Accept', 'application/json, text/event-stream').send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'listPosts', arguments: {} } });
      // Six requests a window: each tool call is two (the /mcp POST and listPosts), so three fit.
      for (let i = 0; i < 3; i++) expect((await call()).body.result.isError).toBeUndefined();
      const fourth = await call();
      expectError(fourth, 429, 'rate_limited');
      expect(fourth.headers['retry-after']).toBeDefined();
    } finally {
      await limited.close();
    }
  });
});

describe('the tool timeout', () => {
  it('answers a tool call that outlasts MCP_TOOL_TIMEOUT_MS with a tool error, and the operation still runs to its end', async () => {
    const slow = await startTestApp({ MCP_TOOL_TIMEOUT_MS: '300' });
    const knex = slow.database.knex;
    try {
      const user = await createUser(slow, { twoFactor: true });
      const pat = await createPat(slow, user, { scopes: ['posts:read', 'posts:write'] });
      const post = await http(slow, pat.token).post('/api/posts', { title: 'Before' });
      const call = (name: string, args: object) => request(slow.app).post('/mcp').set('Authorization', `Bearer ${pat.token}`)
        .set('Accept', 'application/json, text/event-stream').send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } });
      expect((await call('getPost', { postId: post.body.id })).body.result.isError).toBeUndefined();
      // The update cannot finish while this transaction holds the post: on PostgreSQL a row lock, on
      // SQLite the one connection the app writes through. It waits, deterministically, until released.
      const holder = await knex.transaction();
      let answer;
      try {
        await holder('posts').where({ id: post.body.id }).forUpdate().select('id');
        answer = await call('updatePost', { postId: post.body.id, body: { title: 'After' } });
      } finally {
        await holder.rollback();
      }
      expect(answer.status).toBe(200);
      expect(answer.body.result.isError).toBe(true);
      expect(answer.body.result.content[0].text).toMatch(/^updatePost did not answer within 0\.3 seconds; it may still finish/);
      // Released, the update completes: the timeout gave the agent its answer, it did not cut the write.
      await until('the update lands', async () => (await http(slow, pat.token).get(`/api/posts/${post.body.id}`)).body.title === 'After');
    } finally {
      await slow.close();
    }
  });
});
