/**
 * The MCP endpoint with the official SDK client over real HTTP, against the compiled server: what three
 * grants see, a call that succeeds and one that is refused, each matching HTTP, revocation on the next
 * call, and examples/agent-tools.ts run as a user would.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { httpClient } from '../helpers/api-client';
import { killStartedProcesses, PROJECT_ROOT, startCompiledServer } from '../helpers/server';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'gpx-mcp-'));
let server: Awaited<ReturnType<typeof startCompiledServer>>;
let api: ReturnType<typeof httpClient>;
const clients: Client[] = [];

beforeAll(async () => {
  server = await startCompiledServer(dir);
  api = httpClient(server.url);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await server?.stop();
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'gpx-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', server.url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return client;
}

let counter = 0;
const person = (scopes: string[]) => api.userWithPat(`mcp${++counter}.${Date.now()}@example.com`, scopes);

it('lists exactly what each of three grants may call', async () => {
  const catalog = (await api.call('GET', '/api/programmatic/catalog')).body as { operations: Array<{ operation_id: string; auth_modes: string[]; required_scopes: string[] }> };
  for (const scopes of [['posts:read'], ['billing:read', 'payouts:manage'], ['webhooks:manage', 'posts:write', 'posts:read']]) {
    const { pat } = await person(scopes);
    const { tools } = await (await connect(pat)).listTools();
    const expected = catalog.operations.filter((op) => op.auth_modes.includes('pat') && op.required_scopes.every((s) => scopes.includes(s))).map((op) => op.operation_id);
    expect(tools.map((tool) => tool.name).sort()).toEqual(expected.sort());
  }
}, 60_000);

it('calls a tool as HTTP would answer, refuses one outside the grant, and stops at revocation', async () => {
  const { pat, patId, jwt } = await person(['posts:read', 'posts:write']);
  const client = await connect(pat);
  // The SDK client checks structuredContent against the tool's outputSchema itself.
  const created = await client.callTool({ name: 'createPost', arguments: { body: { title: 'By MCP' } } });
  expect(created.isError).toBeFalsy();
  const id = (created.structuredContent as { id: string }).id;
  const overHttp = await api.call('GET', `/api/posts/${id}`, { token: pat });
  const viaTool = await client.callTool({ name: 'getPost', arguments: { postId: id } });
  expect(viaTool.structuredContent).toEqual(overHttp.body);

  const refused = await client.callTool({ name: 'getBalance', arguments: {} });
  expect(refused.isError).toBe(true);
  expect((refused.content as Array<{ text: string }>)[0]!.text).toContain('Missing scopes: billing:read');
  expect((await api.call('GET', '/api/balance', { token: pat })).status).toBe(403);

  expect((await api.call('DELETE', `/api/tokens/${patId}`, { token: jwt })).status).toBe(204);
  await expect(client.callTool({ name: 'getPost', arguments: { postId: id } })).rejects.toThrow(/invalid_token.*revoked/);
}, 60_000);

it('runs examples/agent-tools.ts', async () => {
  const { pat } = await person(['posts:read', 'posts:write']);
  await api.call('POST', '/api/posts', { token: pat, body: { title: 'For the agent' } });
  const { stdout } = await run(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['examples/agent-tools.ts'], {
    cwd: PROJECT_ROOT, env: { ...process.env, GPX_TOKEN: pat, GPX_BASE_URL: server.url },
  });
  expect(stdout).toMatch(/This token can use \d+ tools:/);
  expect(stdout).toContain('listPosts: 1 post(s); newest: For the agent');
  expect(stdout).toContain('getBalance refused: Missing scopes: billing:read');
}, 60_000);
