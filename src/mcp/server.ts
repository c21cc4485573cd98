import type { Request, RequestHandler, Response } from 'express';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema, type CallToolResult, ErrorCode, GetPromptRequestSchema, ListPromptsRequestSchema,
  ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, ListToolsRequestSchema, McpError, ReadResourceRequestSchema,
  JSONRPCMessageSchema, SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import { ExchangeTransport, RequestContext } from './exchange-transport';
import type { ToolAnswer, ToolRequest } from './tool-pass';
import type { Principal } from '../auth/principal';
import { ApiError } from '../core/errors';
import { type Catalog, etagOf } from '../catalog/catalog';
import type { Contract } from '../contract/spec';
import { leastPrivilegePrompt, LEAST_PRIVILEGE_PROMPT } from './prompts';
import { buildTools, requestFor, ToolArgumentError, ToolPlan } from './tools';

const CATALOG_URI = 'gpx://catalog';
const OPERATION_URI = 'gpx://operations/';
/** `_meta` key of a tool result: the HTTP status its operation answered. */
export const STATUS_META = 'getpaidx.com/http_status';

/**
 * Runs a tool call's operation through the app's own stages (authorization, validation, idempotency,
 * handler), on views of the `/mcp` request and response that carry it (tool-pass.ts).
 */
export type Dispatch = (req: Request, res: Response, request: ToolRequest) => Promise<ToolAnswer>;

interface Deps {
  contract: Contract;
  catalog: Catalog;
  /** Late-bound: the app that owns this handler sends the tool calls through itself. */
  dispatch: () => Dispatch;
  version: string;
  /**
   * How long a tool call may take (`MCP_TOOL_TIMEOUT_MS`, 60 s as a workspace run's tool call): past it
   * the agent gets a tool error and its connection back; the operation itself runs to its end.
   */
  toolTimeoutMs: number;
}

/**
 * The MCP endpoint: a stateless Streamable HTTP server on the official SDK. Each POST carries one
 * JSON-RPC message, is answered in JSON, and leaves nothing behind, so a revocation or a role change
 * shows in the very next message (there is no session to notify: see docs/agents.md).
 * Tools are projected once from the contract; a tool call is the HTTP call of its operation, sent
 * through the same pipeline, so it can never do what the token could not do over HTTP.
 */
export function createMcpEndpoint(deps: Deps) {
  const { contract, catalog } = deps;
  const tools = buildTools(contract);

  /**
   * One SDK server for the process, on a transport that carries each POST's message in and its answer
   * out (exchange-transport.ts): the handlers find the caller's credential by the request's id.
   */
  const transport = new ExchangeTransport();
  const server = new Server(
    { name: 'getpaidx', title: 'GetPaidX API', version: deps.version },
    {
      capabilities: { tools: { listChanged: false }, resources: {}, prompts: {} },
      instructions: 'Each tool is one GetPaidX API operation this token can call. Read gpx://catalog for everything the API offers, and use the least-privilege-token prompt to choose scopes for a new token.',
    },
  );

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({ tools: toolsFor(transport.context(extra.requestId).principal).map((plan) => plan.definition) }));

  // Well-formed calls of known tools never get here (`toolCalls` answers them); the SDK keeps the rest.
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { req, res } = transport.context(extra.requestId);
    const plan = tools.get(request.params.name);
    if (!plan) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}. tools/list names the tools this token can call.`);
    return callTool(plan, request.params.arguments ?? {}, req, res);
  });

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({
    resources: [
      { uri: CATALOG_URI, name: 'catalog', title: 'API catalog', description: 'Every operation, with the scopes it needs and whether this token can call it.', mimeType: 'application/json' },
      ...[...tools.values()].map((plan) => ({
        uri: OPERATION_URI + plan.operation.operationId, name: plan.operation.operationId, title: plan.operation.summary, mimeType: 'text/markdown',
      })),
    ],
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [{ uriTemplate: `${OPERATION_URI}{operationId}`, name: 'operation', title: 'One operation\'s documentation', mimeType: 'text/markdown' }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const { principal } = transport.context(extra.requestId);
    const uri = request.params.uri;
    if (uri === CATALOG_URI) {
      return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(catalog.forCaller(principal, {}).body) }] };
    }
    const entry = uri.startsWith(OPERATION_URI) ? catalog.operations.find((op) => op.operation_id === uri.slice(OPERATION_URI.length)) : undefined;
    if (!entry) throw new McpError(ErrorCode.InvalidParams, `Unknown resource: ${uri}. resources/list names them.`);
    return { contents: [{ uri, mimeType: 'text/markdown', text: operationDoc(entry) }] };
  });

  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: [LEAST_PRIVILEGE_PROMPT] }));
  server.setRequestHandler(GetPromptRequestSchema, async (request) => {
    if (request.params.name !== LEAST_PRIVILEGE_PROMPT.name) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}.`);
    const task = request.params.arguments?.task;
    if (!task) throw new McpError(ErrorCode.InvalidParams, 'The least-privilege-token prompt needs the argument task.');
    return leastPrivilegePrompt(contract, catalog, task);
  });
  void server.connect(transport);

  async function callTool(plan: ToolPlan, args: Record<string, unknown>, req: Request, res: Response): Promise<CallToolResult> {
    let request;
    try {
      request = requestFor(plan, args);
    } catch (err) {
      if (err instanceof ToolArgumentError) return toolError(err.message);
      throw err;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), deps.toolTimeoutMs);
    });
    // The /mcp pass authenticated the token and counted the request; the operation's own pass
    // authorizes it for this operation, validates, applies idempotency and runs the handler.
    res.locals.toolOperationId = plan.operation.operationId;
    const answer = await Promise.race([deps.dispatch()(req, res, request), timeout]).finally(() => clearTimeout(timer));
    if (answer === 'timeout') return toolError(`${plan.operation.operationId} did not answer within ${deps.toolTimeoutMs / 1000} seconds; it may still finish, so read its result back before you retry it.`);
    // The HTTP status rides along, so an agent (and the tests) see the outcome exactly as HTTP gives it.
    return { ...resultOf(plan, answer), _meta: { [STATUS_META]: answer.statusCode } };
  }

  /** The HTTP answer as a tool result: the same outcome, in MCP's shape. */
  function resultOf(plan: ToolPlan, answer: ToolAnswer): CallToolResult {
    const type = String(answer.headers['content-type'] ?? '');
    const textual = type.startsWith('text/') || type.includes('svg');
    // Decoded only when it is text: a binary answer goes out as base64 of its bytes.
    const text = type.includes('json') || textual ? answer.rawPayload.toString('utf8') : '';
    // The value the handler answered with, as is: its text is that value serialised.
    const json = type.includes('json') && text ? (answer.json !== undefined ? answer.json : JSON.parse(text)) : undefined;
    if (answer.statusCode >= 400) return refusal(plan, answer.statusCode, json);
    if (json !== undefined) {
      const content: CallToolResult['content'] = [{ type: 'text', text }];
      const url = json && typeof json === 'object' && typeof json.url === 'string' ? json.url : undefined;
      // Hosted checkout and payout onboarding are for a person: the agent hands the link on.
      if (url && /^https?:/.test(url)) content.unshift({ type: 'text', text: `A person must open this link in a browser to finish: ${url}` });
      const structured = plan.definition.outputSchema && json && typeof json === 'object' && !Array.isArray(json) ? { structuredContent: json } : {};
      return { content, ...structured };
    }
    if (answer.statusCode === 204 || answer.rawPayload.length === 0) return { content: [{ type: 'text', text: `Done (${answer.statusCode}).` }] };
    if (textual) return { content: [{ type: 'text', text }] };
    return {
      content: [{ type: 'resource', resource: { uri: `gpx://results/${plan.operation.operationId}`, mimeType: type || 'application/octet-stream', blob: answer.rawPayload.toString('base64') } }],
    };
  }

  /** A refusal names what is missing and the smallest grant that would allow the call. */
  function refusal(plan: ToolPlan, status: number, json: any): CallToolResult {
    const error = json?.error ?? { code: 'unknown', message: `The operation answered ${status}.` };
    const lines = [`${plan.operation.operationId} was refused (${status} ${error.code}): ${error.message}`];
    const missing: string[] | undefined = error.details?.missing_scopes;
    if (missing?.length) {
      const minimal = catalog.minimalScopes([plan.operation.operationId]).result!;
      lines.push(`Missing scopes: ${missing.join(', ')}. The minimal scopes for this call: ${minimal.scopes.join(', ') || 'none'}${minimal.role ? ` (or the role ${minimal.role})` : ''}. Ask for a token with them (getMinimalScopes, createToken).`);
    }
    return { isError: true, content: [{ type: 'text', text: lines.join('\n') }, { type: 'text', text: JSON.stringify(json ?? { error }) }] };
  }

  /** The tools a principal can call now (all PAT tools for an anonymous caller), in tools/list order. */
  function toolsFor(principal: Principal | undefined): ToolPlan[] {
    if (!principal) return [...tools.values()];
    const callable = catalog.callableBy(principal);
    return [...tools.values()].filter((plan) => callable.has(plan.operation.operationId));
  }

  return {
    /** GET /api/programmatic/catalog?format=tools: the same tools, as function-calling definitions. */
    toolCatalogFor(principal: Principal | undefined) {
      const body = {
        format: 'tools' as const,
        tools: toolsFor(principal).map(({ definition }) => ({ name: definition.name, description: definition.description, parameters: definition.inputSchema })),
      };
      return { body, etag: etagOf(JSON.stringify(body)) };
    },
    /** Handles one POST /mcp whose PAT the pipeline has already authenticated. */
    async handle(req: Request, res: Response): Promise<void> {
      checkTransport(req);
      const message = JSONRPCMessageSchema.safeParse(req.body);
      if (!message.success) throw new ApiError('validation_failed', 'The body is not a JSON-RPC 2.0 request, notification or response.');
      const context: RequestContext = { principal: req.auth as RequestContext['principal'], req, res };
      const answer = await transport.exchange(message.data, context);
      // A notification, or a response to the server, has no answer (Streamable HTTP: 202).
      if (answer === undefined) res.status(202).end();
      else res.json(answer);
    },
    /**
     * The pipeline stage, right after the /mcp body is parsed, that answers a well-formed `tools/call`
     * of a known tool itself: the message is checked here (its method, id, tool name and arguments
     * object), so neither the JSON-RPC schema nor the SDK's protocol layer runs on the path every tool
     * call takes, and the call's operation is the only one validated. Everything else (other methods,
     * unknown tools, malformed calls) goes on to `handle` and the SDK, which answer it as before.
     */
    toolCalls: ((req, res, next) => {
      const call = req.operation?.modes.has('mcp') ? asToolCall(req.body) : undefined;
      const plan = call && tools.get(call.name);
      if (!call || !plan) return next();
      checkTransport(req);
      return callTool(plan, call.args, req, res).then((result) => {
        res.json({ jsonrpc: '2.0', id: call.id, result });
      });
    }) as RequestHandler,
  };
}

/** The checks of the MCP transport itself, made before any message is looked at. */
function checkTransport(req: Request): void {
  if (req.auth?.kind !== 'pat') throw new Error('callMcp reached without a PAT');
  // The MCP transport's DNS-rebinding guard: a page of another origin must not reach the endpoint.
  const origin = req.get('origin');
  if (origin !== undefined && origin !== `${req.protocol}://${req.get('host')}`) {
    throw new ApiError('origin_not_allowed', 'The MCP endpoint takes requests from agents and from pages of this origin only.');
  }
  // Checked here rather than by the SDK, so the refusal carries this API's error code as well.
  const accept = req.get('accept') ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
    throw new ApiError('not_acceptable', 'Send Accept: application/json, text/event-stream (the MCP Streamable HTTP transport asks for both).');
  }
  const version = req.get('mcp-protocol-version');
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    throw new ApiError('validation_failed', `Unsupported MCP-Protocol-Version ${version}; this server speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}.`);
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A JSON-RPC 2.0 `tools/call` request as MCP defines it, or undefined for anything else. */
function asToolCall(body: unknown): { id: string | number; name: string; args: Record<string, unknown> } | undefined {
  if (!isPlainObject(body) || body.jsonrpc !== '2.0' || body.method !== 'tools/call') return undefined;
  const { id, params } = body;
  if (!(typeof id === 'string' || Number.isSafeInteger(id)) || !isPlainObject(params) || typeof params.name !== 'string') return undefined;
  const args = params.arguments;
  if (args !== undefined && !isPlainObject(args)) return undefined;
  return { id: id as string | number, name: params.name, args: args ?? {} };
}

export type McpEndpoint = ReturnType<typeof createMcpEndpoint>;

function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

function operationDoc(entry: Catalog['operations'][number]): string {
  const lines = [
    `# ${entry.operation_id}`, '', `\`${entry.method} ${entry.path}\``, '', entry.summary, '',
    `- Scopes: ${entry.required_scopes.join(', ') || 'none'}`,
    `- Credentials: ${entry.auth_modes.join(', ')}`,
  ];
  if (entry.request.path_params.length) lines.push(`- Path: ${entry.request.path_params.map((p) => p.name).join(', ')}`);
  if (entry.request.query_params.length) lines.push(`- Query: ${entry.request.query_params.map((p) => p.name).join(', ')}`);
  if (entry.request.body) lines.push(`- Body fields: ${entry.request.body.fields.map((f) => f.name + (f.required ? ' (required)' : '')).join(', ')}`);
  if (entry.workflow?.guidance) lines.push('', entry.workflow.guidance);
  lines.push('', '## Errors', ...entry.errors.map((e) => `- ${e.status} \`${e.code}\`: ${e.when}`));
  lines.push('', `Full reference: /docs#operation/${entry.operation_id}`);
  return lines.join('\n');
}
