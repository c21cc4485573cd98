import { X } from '../contract/extensions';
import { Contract, OperationInfo, resolveRef } from '../contract/spec';

type Json = Record<string, any>;

/** A JSON Schema object (MCP asks for `type: "object"` at the top of input and output schemas). */
export type ObjectSchema = { type: 'object'; properties?: Json; required?: string[]; [key: string]: unknown };

/** A tool as MCP's `tools/list` and function-calling APIs show it. */
export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  inputSchema: ObjectSchema;
  outputSchema?: ObjectSchema;
  annotations: { title: string; readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };
}

/** How a tool's arguments become the HTTP request of its operation. */
export interface ToolPlan {
  operation: OperationInfo;
  definition: ToolDefinition;
  pathParams: string[];
  queryParams: string[];
  /** The `body` argument is sent as the JSON body. */
  takesBody: boolean;
  /** The `idempotency_key` argument is sent as the Idempotency-Key header. */
  takesIdempotencyKey: boolean;
}

export const IDEMPOTENCY_ARGUMENT = 'idempotency_key';

/** OpenAPI-only keywords that are not JSON Schema (or mean nothing to a tool caller). */
const DROPPED = new Set(['example', 'discriminator', 'xml', 'externalDocs']);

/**
 * The contract's schema as a self-contained JSON Schema: every `$ref` inlined (a cycle becomes `{}`),
 * OpenAPI's extra keywords and `x-` extensions dropped.
 */
function inline(document: Json, node: unknown, stack: string[] = []): any {
  if (Array.isArray(node)) return node.map((item) => inline(document, item, stack));
  if (!node || typeof node !== 'object') return node;
  const object = node as Json;
  if (typeof object.$ref === 'string') {
    if (stack.includes(object.$ref)) return {};
    const { $ref, ...siblings } = object;
    const resolved = inline(document, resolveRef(document, $ref), [...stack, $ref]);
    return Object.keys(siblings).length > 0 ? { ...resolved, ...inline(document, siblings, stack) } : resolved;
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(object)) {
    if (DROPPED.has(key) || key.startsWith('x-')) continue;
    // `properties` maps names to schemas: its keys are field names, not keywords.
    out[key] = key === 'properties'
      ? Object.fromEntries(Object.entries(value as Json).map(([name, schema]) => [name, inline(document, schema, stack)]))
      : inline(document, value, stack);
  }
  return out;
}

function parametersOf(document: Json, item: Json, op: Json): Json[] {
  const resolve = (p: Json) => (p.$ref ? resolveRef(document, p.$ref) : p);
  const own = (op.parameters ?? []).map(resolve);
  const shared = (item.parameters ?? []).map(resolve).filter((p: Json) => !own.some((o: Json) => o.in === p.in && o.name === p.name));
  return [...shared, ...own];
}

function successSchema(document: Json, op: Json): ObjectSchema | undefined {
  const status = Object.keys(op.responses ?? {}).filter((s) => /^2\d\d$/.test(s)).sort()[0];
  if (!status) return undefined;
  const response = op.responses[status].$ref ? resolveRef(document, op.responses[status].$ref) : op.responses[status];
  const schema = response?.content?.['application/json']?.schema;
  if (!schema) return undefined;
  const inlined = inline(document, schema);
  return inlined?.type === 'object' ? inlined : undefined;
}

function describe(info: OperationInfo, op: Json): string {
  const lines = [info.summary + (info.summary.endsWith('.') ? '' : '.')];
  lines.push(info.scopes.length > 0 ? `Needs the scopes: ${info.scopes.join(', ')}.` : 'Needs no scope.');
  if (info.requires2fa) lines.push('The token\'s creator must have 2FA on.');
  const workflow = op[X.workflow];
  if (workflow?.guidance) lines.push(workflow.guidance);
  if (workflow?.previous?.length) lines.push(`Usually after: ${workflow.previous.join(', ')}.`);
  if (workflow?.next?.length) lines.push(`Then: ${workflow.next.join(', ')}.`);
  return lines.join(' ');
}

/**
 * One tool per PAT-supported operation, computed once from the loaded contract: the name is the
 * operationId, the input schema merges the path and query parameters with the body (under `body`), and
 * the output schema is the success response's, when it is an object.
 */
export function buildTools(contract: Contract): Map<string, ToolPlan> {
  const document = contract.document as Json;
  const plans = new Map<string, ToolPlan>();
  for (const info of contract.operations.values()) {
    if (!info.modes.has('pat')) continue;
    const item = document.paths[info.path] as Json;
    const op = item[info.method.toLowerCase()] as Json;
    const params = parametersOf(document, item, op);
    const properties: Json = {};
    const required: string[] = [];
    const pathParams: string[] = [];
    const queryParams: string[] = [];
    let takesIdempotencyKey = false;
    for (const p of params) {
      if (p.in === 'path' || p.in === 'query') {
        properties[p.name] = { ...inline(document, p.schema ?? {}), ...(p.description ? { description: p.description } : {}) };
        (p.in === 'path' ? pathParams : queryParams).push(p.name);
        if (p.in === 'path' || p.required) required.push(p.name);
      } else if (p.in === 'header' && p.name.toLowerCase() === 'idempotency-key') {
        takesIdempotencyKey = true;
        properties[IDEMPOTENCY_ARGUMENT] = { ...inline(document, p.schema ?? { type: 'string' }), description: p.description ?? 'Sent as the Idempotency-Key header: a retry with the same key is answered once.' };
      }
    }
    const requestBody = op.requestBody?.$ref ? resolveRef(document, op.requestBody.$ref) : op.requestBody;
    const bodySchema = requestBody?.content?.['application/json']?.schema;
    if (bodySchema) {
      properties.body = { ...inline(document, bodySchema), description: 'The JSON request body.' };
      if (requestBody.required) required.push('body');
    }
    const method = info.method;
    const title = info.summary;
    const definition: ToolDefinition = {
      name: info.operationId,
      title,
      description: describe(info, op),
      inputSchema: { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false },
      annotations: {
        title,
        readOnlyHint: method === 'GET',
        destructiveHint: method === 'DELETE',
        idempotentHint: method === 'GET' || method === 'PUT' || method === 'DELETE' || takesIdempotencyKey,
        // Tools act on this API's own data; only the hosted pages they link to are elsewhere.
        openWorldHint: false,
      },
    };
    const output = successSchema(document, op);
    if (output) definition.outputSchema = output;
    plans.set(info.operationId, { operation: info, definition, pathParams, queryParams, takesBody: Boolean(bodySchema), takesIdempotencyKey });
  }
  return plans;
}

export class ToolArgumentError extends Error {}

/** The HTTP request a tool call stands for; arguments the tool does not take are refused. */
export function requestFor(plan: ToolPlan, args: Json): { method: string; url: string; body?: unknown; idempotencyKey?: string } {
  const known = new Set([...plan.pathParams, ...plan.queryParams, ...(plan.takesBody ? ['body'] : []), ...(plan.takesIdempotencyKey ? [IDEMPOTENCY_ARGUMENT] : [])]);
  const unknown = Object.keys(args).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new ToolArgumentError(`${plan.operation.operationId} does not take: ${unknown.join(', ')}.`);
  let path = plan.operation.path;
  for (const name of plan.pathParams) {
    const value = args[name];
    if (value === undefined || value === null || value === '') throw new ToolArgumentError(`${plan.operation.operationId} needs the argument ${name}.`);
    path = path.replace(`{${name}}`, encodeURIComponent(String(value)));
  }
  const query = new URLSearchParams();
  for (const name of plan.queryParams) {
    const value = args[name];
    if (value === undefined || value === null) continue;
    for (const one of Array.isArray(value) ? value : [value]) query.append(name, typeof one === 'object' ? JSON.stringify(one) : String(one));
  }
  const search = query.toString();
  const key = args[IDEMPOTENCY_ARGUMENT];
  return {
    method: plan.operation.method,
    url: search ? `${path}?${search}` : path,
    ...(plan.takesBody && args.body !== undefined ? { body: args.body } : {}),
    ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
  };
}
