import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { AuthMode, AuthModeInfo, X } from './extensions';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export interface ScopeInfo {
  readonly name: string;
  readonly description: string;
  readonly group: string;
}

export interface RoleInfo {
  readonly name: string;
  readonly description: string;
  readonly scopes: readonly string[];
}

export interface OperationInfo {
  readonly operationId: string;
  readonly method: string;
  readonly path: string;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly modes: ReadonlySet<AuthMode>;
  /** The contract's auth-mode registry, for messages that name a mode. */
  readonly authModes: ReadonlyMap<AuthMode, AuthModeInfo>;
  readonly scopes: readonly string[];
  readonly requires2fa: boolean;
  /**
   * A personal access token may call it: modes `pat`, or `mcp` (the MCP endpoint, which takes a PAT and
   * authorizes each tool call again as its own operation).
   */
  readonly takesPat: boolean;
  /** Sessions and JWTs need a password or code check within REAUTHENTICATION_WINDOW_SECONDS (sudo mode). */
  readonly requiresReauthentication: boolean;
  /** A POST answering 201: it honours Idempotency-Key. */
  readonly creates: boolean;
  /** Largest body accepted, in bytes (`x-body-limit`, else 1 MB); a JSON body may carry it in base64. */
  readonly bodyLimit: number;
  /** Request media types taken as raw bytes (everything declared except JSON). */
  readonly rawMediaTypes: readonly string[];
  /** Whether the operation takes a request body at all; a body sent to one that does not is a 400. */
  readonly acceptsBody: boolean;
  /** Query parameters declared as integers: their raw text must be a plain decimal integer. */
  readonly integerQueryParameters: readonly string[];
  /** False for the few operations exempt from per-credential rate limits (`x-rate-limit: false`). */
  readonly rateLimited: boolean;
  /** The path in express syntax (`/api/posts/:postId`), as the validator keys its caches. */
  readonly expressRoute: string;
  /** The operation object with its path-level parameters merged in, as the validator expects it. */
  readonly schema: Record<string, any>;
}

export interface Contract {
  /** The parsed document, as express-openapi-validator and the docs see it. */
  readonly document: Record<string, any>;
  readonly operations: ReadonlyMap<string, OperationInfo>;
  readonly scopes: ReadonlyMap<string, ScopeInfo>;
  readonly roles: ReadonlyMap<string, RoleInfo>;
  /** The auth-mode registry (components.schemas.AuthMode `x-modes`). */
  readonly authModes: ReadonlyMap<AuthMode, AuthModeInfo>;
}

/**
 * Reads openapi.yaml once and indexes what authorization needs by operationId. It throws on a spec
 * the lint rules would reject, so a broken contract stops the server at start-up, not on a request.
 */
export function loadContract(specPath: string): Contract {
  const document = parse(readFileSync(specPath, 'utf8')) as Record<string, any>;
  const scopes = readScopeRegistry(document);
  const roles = readRoles(document, scopes);
  const authModes = readAuthModes(document);
  const operations = new Map<string, OperationInfo>();

  for (const [path, item] of Object.entries<Record<string, any>>(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (!op.operationId) throw new Error(`${where} has no operationId`);
      if (operations.has(op.operationId)) throw new Error(`operationId ${op.operationId} is used twice`);
      const modes = op[X.authModes];
      if (!Array.isArray(modes) || modes.length === 0) throw new Error(`${where} has no ${X.authModes}`);
      for (const mode of modes) {
        if (!authModes.has(mode)) throw new Error(`${where} has unknown auth mode "${mode}"`);
      }
      const required = op[X.scopes];
      if (modes.some((m: AuthMode) => authModes.get(m)!.scoped) && !Array.isArray(required)) {
        throw new Error(`${where} accepts ${modes.join(', ')} but declares no ${X.scopes}`);
      }
      for (const scope of required ?? []) {
        if (!scopes.has(scope)) throw new Error(`${where} requires unregistered scope "${scope}"`);
      }
      const requiresReauthentication = op[X.requiresReauthentication] === true;
      if (requiresReauthentication && !modes.some((m: AuthMode) => m === 'session' || m === 'jwt')) {
        throw new Error(`${where} declares ${X.requiresReauthentication} but accepts neither a session nor a JWT`);
      }
      operations.set(op.operationId, {
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        tags: op.tags ?? [],
        summary: op.summary ?? '',
        modes: new Set(modes),
        authModes,
        scopes: [...(required ?? [])],
        requires2fa: op[X.requires2fa] === true,
        takesPat: modes.includes('pat') || modes.includes('mcp'),
        requiresReauthentication,
        creates: method === 'post' && op.responses?.['201'] !== undefined,
        bodyLimit: typeof op[X.bodyLimit] === 'number' ? op[X.bodyLimit] : DEFAULT_BODY_LIMIT,
        rawMediaTypes: Object.keys(requestContent(document, op)).filter((type) => type !== 'application/json'),
        acceptsBody: op.requestBody !== undefined,
        integerQueryParameters: integerQueryParameters(document, [...(op.parameters ?? []), ...(item.parameters ?? [])]),
        rateLimited: op[X.rateLimit] !== false,
        expressRoute: path.replace(/\{(\w+)\}/g, ':$1'),
        schema: operationSchema(document, op, item.parameters ?? []),
      });
    }
  }
  return { document, operations, scopes, roles, authModes };
}

function readAuthModes(document: Record<string, any>): Map<AuthMode, AuthModeInfo> {
  const schema = document.components?.schemas?.AuthMode;
  const registry = schema?.['x-modes'] as Record<string, Omit<AuthModeInfo, 'name'>> | undefined;
  if (!registry) throw new Error('openapi.yaml has no components.schemas.AuthMode with x-modes');
  if (JSON.stringify(Object.keys(registry).sort()) !== JSON.stringify([...schema.enum].sort())) {
    throw new Error('AuthMode: `enum` and `x-modes` must name the same modes');
  }
  return new Map(Object.entries(registry).map(([name, info]) => [name as AuthMode, { name: name as AuthMode, ...info }]));
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

function requestContent(document: Record<string, any>, op: Record<string, any>): Record<string, unknown> {
  const body = op.requestBody?.$ref ? resolveRef(document, op.requestBody.$ref) : op.requestBody;
  return body?.content ?? {};
}

function parameterKey(document: Record<string, any>, param: Record<string, any>): string {
  const resolved = param.$ref ? resolveRef(document, param.$ref) : param;
  return `${resolved?.in}:${resolved?.name}`;
}

export function resolveRef(document: Record<string, any>, ref: string): any {
  return ref.replace(/^#\//, '').split('/').reduce((node: any, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
}

function integerQueryParameters(document: Record<string, any>, parameters: Array<Record<string, any>>): string[] {
  return parameters.map((p) => (p.$ref ? resolveRef(document, p.$ref) : p))
    .filter((p) => p?.in === 'query' && (p.schema?.$ref ? resolveRef(document, p.schema.$ref) : p.schema)?.type === 'integer')
    .map((p) => p.name as string);
}

/**
 * The operation as express-openapi-validator's request stage expects it: path-level parameters merged
 * in (they apply unless the operation redefines them), and a `$ref`'d request body resolved, since the
 * stage silently skips a body it is handed as a reference.
 */
function operationSchema(document: Record<string, any>, op: Record<string, any>, pathLevel: Array<Record<string, any>>): Record<string, any> {
  const own: Array<Record<string, any>> = op.parameters ?? [];
  const ownKeys = new Set(own.map((p) => parameterKey(document, p)));
  return {
    ...op,
    ...(op.requestBody?.$ref ? { requestBody: resolveRef(document, op.requestBody.$ref) } : {}),
    ...(pathLevel.length > 0 ? { parameters: [...own, ...pathLevel.filter((p) => !ownKeys.has(parameterKey(document, p)))] } : {}),
  };
}

function readScopeRegistry(document: Record<string, any>): Map<string, ScopeInfo> {
  const registry = document[X.scopeRegistry];
  if (!registry?.groups) throw new Error(`openapi.yaml has no ${X.scopeRegistry}.groups`);
  const scopes = new Map<string, ScopeInfo>();
  for (const group of registry.groups) {
    for (const scope of group.scopes) {
      scopes.set(scope.name, { name: scope.name, description: scope.description, group: group.name });
    }
  }
  return scopes;
}

function readRoles(document: Record<string, any>, scopes: Map<string, ScopeInfo>): Map<string, RoleInfo> {
  const roles = new Map<string, RoleInfo>();
  for (const [name, role] of Object.entries<Record<string, any>>(document[X.roles] ?? {})) {
    for (const scope of role.scopes) {
      if (!scopes.has(scope)) throw new Error(`role ${name} names unregistered scope "${scope}"`);
    }
    roles.set(name, { name, description: role.description, scopes: role.scopes });
  }
  if (roles.size === 0) throw new Error(`openapi.yaml has no ${X.roles}`);
  return roles;
}
