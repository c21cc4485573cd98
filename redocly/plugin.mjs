// GetPaidX contract rules: the linter, not reviewers, insists that every operation declares its
// access in the vocabulary of docs/extensions.md. Each rule is tested against a bad spec in
// test/contract/lint-rules.test.ts.

/**
 * The auth-mode registry (components.schemas.AuthMode `x-modes`), read from the document being linted
 * or bundled: the modes, which security schemes carry each, which hold scopes, and their words.
 */
let registry = {};
const AUTH_MODES = () => Object.keys(registry);
const modeInfo = (mode) => registry[mode] ?? {};
function loadRegistry(root, ctx) {
  const node = root?.components?.schemas?.AuthMode;
  const schema = node?.$ref ? ctx.resolve(node).node : node;
  registry = schema?.['x-modes'] ?? {};
}
/** Each rule and decorator starts by reading the registry from the document's root. */
const withRegistry = (visitor) => ({ ...visitor, Root: { enter: (root, ctx) => { loadRegistry(root, ctx); visitor.Root?.enter?.(root, ctx); } } });

function registeredScopes(root) {
  const groups = root?.['x-scope-registry']?.groups;
  if (!Array.isArray(groups)) return undefined;
  return new Set(groups.flatMap((group) => (group.scopes ?? []).map((scope) => scope.name)));
}

/** Operations under `webhooks:` describe what we send, not what we serve: the access rules skip them. */
const isServed = (ctx) => !String(ctx.location.pointer).startsWith('#/webhooks/') && !String(ctx.location.source?.absoluteRef ?? '').includes('/openapi/webhooks/');

function modesOf(operation) {
  const modes = operation['x-auth-modes'];
  return Array.isArray(modes) ? modes : [];
}

function AuthModesDeclared() {
  return withRegistry({
    Operation(operation, ctx) {
      if (!isServed(ctx)) return;
      const modes = operation['x-auth-modes'];
      if (!Array.isArray(modes) || modes.length === 0) {
        ctx.report({ message: 'Every operation must declare a non-empty `x-auth-modes` list.', location: ctx.location });
      }
    },
  });
}

function AuthModesKnown() {
  return withRegistry({
    Operation(operation, ctx) {
      if (!isServed(ctx)) return;
      modesOf(operation).forEach((mode, i) => {
        if (!AUTH_MODES().includes(mode)) {
          ctx.report({
            message: `Unknown auth mode "${mode}"; use one of ${AUTH_MODES().join(', ')} (components.schemas.AuthMode).`,
            location: ctx.location.child(['x-auth-modes', i]),
          });
        }
      });
    },
  });
}

function ScopesDeclared() {
  return withRegistry({
    Operation(operation, ctx) {
      if (!isServed(ctx)) return;
      const scoped = modesOf(operation).filter((mode) => modeInfo(mode).scoped);
      if (scoped.length > 0 && !Array.isArray(operation['x-scopes'])) {
        ctx.report({
          message: `Operations accepting ${scoped.join(', ')} must declare \`x-scopes\` (an empty list means any signed-in caller).`,
          location: ctx.location,
        });
      }
    },
  });
}

function ScopesRegistered() {
  let scopes;
  return withRegistry({
    Root: {
      enter(root, ctx) {
        scopes = registeredScopes(root);
        if (!scopes) ctx.report({ message: 'The root must hold `x-scope-registry.groups`.', location: ctx.location });
        for (const [name, role] of Object.entries(root['x-roles'] ?? {})) {
          (role.scopes ?? []).forEach((scope, i) => {
            if (scopes && !scopes.has(scope)) {
              ctx.report({
                message: `Role ${name} names scope "${scope}", which is not in x-scope-registry.`,
                location: ctx.location.child(['x-roles', name, 'scopes', i]),
              });
            }
          });
        }
      },
    },
    Operation(operation, ctx) {
      if (!isServed(ctx)) return;
      const required = operation['x-scopes'];
      if (!Array.isArray(required) || !scopes) return;
      required.forEach((scope, i) => {
        if (!scopes.has(scope)) {
          ctx.report({
            message: `Scope "${scope}" is not in x-scope-registry.`,
            location: ctx.location.child(['x-scopes', i]),
          });
        }
      });
    },
  });
}

/** Keeps the standard `security` in step with x-auth-modes so generic OpenAPI tools read it right. */
function SecurityMatchesModes() {
  return withRegistry({
    Operation(operation, ctx) {
      if (!isServed(ctx)) return;
      const modes = modesOf(operation);
      if (modes.length === 0) return;
      const schemes = new Set((operation.security ?? []).flatMap((requirement) => Object.keys(requirement)));
      const expected = new Set(modes.flatMap((m) => modeInfo(m).schemes ?? []));
      const same = schemes.size === expected.size && [...expected].every((s) => schemes.has(s));
      if (!same || (modes.includes('public') && (operation.security ?? null) === null)) {
        ctx.report({
          message: `\`security\` must list exactly [${[...expected].join(', ') || 'nothing: security: []'}] for x-auth-modes [${modes.join(', ')}].`,
          location: ctx.location.child(['security']),
        });
      }
    },
  });
}

/**
 * Every operation documents a 2xx and each error the server can give it: 400 always (an unknown query
 * parameter, a body where none is taken), 413 and 415 when it takes a body, 401/403 when protected, 404
 * when its path names an object, 429 unless `x-rate-limit: false`, and a `default` error envelope.
 * Bodies carry an example.
 */
function ResponsesDocumented() {
  return withRegistry({
    PathItem: {
      Operation(operation, ctx, parents) {
      if (!isServed(ctx)) return;
        const statuses = Object.keys(operation.responses ?? {});
        const params = [...(parents.PathItem?.parameters ?? []), ...(operation.parameters ?? [])].map((p) => ctx.resolve(p).node ?? p);
        const modes = modesOf(operation);
        const required = ['400', 'default'];
        if (operation['x-rate-limit'] !== false) required.push('429');
        if (operation.requestBody) required.push('413', '415');
        if (modes.length > 0 && !modes.includes('public')) required.push('401', '403');
        if (params.some((p) => p.in === 'path')) required.push('404');
        const missing = required.filter((s) => !statuses.includes(s));
        if (!statuses.some((s) => /^[23]\d\d$/.test(s))) missing.unshift('a 2xx (or a 3xx redirect)');
        if (missing.length > 0) {
          ctx.report({ message: `Document the responses this operation can give: ${missing.join(', ')}.`, location: ctx.location.child(['responses']) });
        }
        const json = operation.requestBody?.content?.['application/json'];
        if (json && json.example === undefined && json.examples === undefined) {
          ctx.report({ message: 'Give the request body an example (the catalog and the docs show it).', location: ctx.location.child(['requestBody']) });
        }
      },
    },
  });
}

/**
 * A POST that creates (answers 201) declares the Idempotency-Key header, so a client that retries after
 * a timeout can do so safely; the server honours the header on exactly these operations.
 */
function IdempotencyKeyDeclared() {
  return withRegistry({
    PathItem: {
      Operation(operation, ctx, parents) {
      if (!isServed(ctx)) return;
        if (ctx.key !== 'post' || !operation.responses?.['201']) return;
        const params = [...(parents.PathItem?.parameters ?? []), ...(operation.parameters ?? [])].map((p) => ctx.resolve(p).node ?? p);
        if (!params.some((p) => p.in === 'header' && String(p.name).toLowerCase() === 'idempotency-key')) {
          ctx.report({ message: 'A creating POST (201) must declare the `Idempotency-Key` header (#/components/parameters/IdempotencyKey).', location: ctx.location.child(['parameters']) });
        }
      },
    },
  });
}

/**
 * Error codes are a closed set (components.schemas.ErrorCode, with each code's status in `x-codes`):
 * every code an operation documents in `x-errors` is in it, with that status, and the enum and the
 * statuses name the same codes.
 */
function ErrorCodesRegistered() {
  let codes;
  return withRegistry({
    Root: {
      enter(root, ctx) {
        const schema = root.components?.schemas?.ErrorCode;
        codes = schema?.['x-codes'];
        if (!codes) {
          ctx.report({ message: 'components.schemas.ErrorCode must list every error code with its status in `x-codes`.', location: ctx.location });
          return;
        }
        const named = Object.keys(codes).sort().join(' ');
        if (named !== [...(schema.enum ?? [])].sort().join(' ')) {
          ctx.report({ message: 'ErrorCode: `enum` and `x-codes` must name the same codes.', location: ctx.location.child(['components', 'schemas', 'ErrorCode']) });
        }
      },
    },
    Operation(operation, ctx) {
      if (!isServed(ctx)) return;
      if (!codes) return;
      (operation['x-errors'] ?? []).forEach((error, i) => {
        const known = codes[error.code];
        if (!known) ctx.report({ message: `x-errors names "${error.code}", which is not in the ErrorCode registry.`, location: ctx.location.child(['x-errors', i]) });
        else if (known.status !== error.status) ctx.report({ message: `x-errors gives ${error.code} status ${error.status}; the registry says ${known.status}.`, location: ctx.location.child(['x-errors', i]) });
      });
    },
  });
}

/**
 * Every response declares the headers the server sends with it: X-Request-Id always, the RateLimit
 * headers on rate-limited operations, Idempotent-Replayed where an Idempotency-Key is taken.
 */
function ResponseHeadersDeclared() {
  return withRegistry({
    PathItem: {
      Operation(operation, ctx, parents) {
      if (!isServed(ctx)) return;
        const params = [...(parents.PathItem?.parameters ?? []), ...(operation.parameters ?? [])].map((p) => ctx.resolve(p).node ?? p);
        for (const [status, raw] of Object.entries(operation.responses ?? {})) {
          const expected = Object.keys(standardHeaders(operation, params, status));
          const response = ctx.resolve(raw).node ?? raw;
          const declared = new Set(Object.keys(response?.headers ?? {}));
          const missing = expected.filter((h) => !declared.has(h));
          if (missing.length > 0) {
            ctx.report({ message: `Response ${status} must declare the headers the server sends: ${missing.join(', ')} (#/components/headers).`, location: ctx.location.child(['responses', status]) });
          }
        }
      },
    },
  });
}


/** Docs decorator: every operation's description starts with who may call it and what it needs. */
function AccessLine() {
  return withRegistry({
    Operation: {
      leave(operation, ctx) {
        if (!isServed(ctx)) return;
        const modes = modesOf(operation);
        if (modes.length === 0) return;
        const scopes = Array.isArray(operation['x-scopes']) && operation['x-scopes'].length > 0
          ? operation['x-scopes'].map((s) => `\`${s}\``).join(', ')
          : 'none';
        const twoFactor = (operation['x-requires-2fa'] ? ' A session or JWT must be 2FA-verified.' : '')
          + (operation['x-requires-reauthentication'] ? ' A session or JWT must have checked the password or a code in the last 10 minutes (`reauthenticate`).' : '');
        const line = `**Access:** ${modes.map((m) => modeInfo(m).words ?? m).join(', ')}. **Scopes:** ${scopes}.${twoFactor}`;
        operation.description = operation.description ? `${line}\n\n${operation.description}` : line;
      },
    },
  });
}

/** The `security` requirement that mirrors x-auth-modes, for generic OpenAPI tools. */
export function securityFor(modes) {
  const names = ['bearerAuth', 'cookieAuth'].filter((scheme) => modes.some((m) => (modeInfo(m).schemes ?? []).includes(scheme)));
  const schemes = names.map((scheme) => ({ [scheme]: [] }));
  // A public operation that also takes a credential (the catalog): anonymous is one of the options.
  return modes.includes('public') && schemes.length > 0 ? [{}, ...schemes] : schemes;
}

/** The shared responses every operation of this kind can get, by status (see ResponsesDocumented). */
export function standardResponses(operation, params) {
  const modes = modesOf(operation);
  const out = { '400': 'BadRequest' };
  if (modes.length > 0 && !modes.includes('public')) Object.assign(out, { '401': 'Unauthorized', '403': 'Forbidden' });
  if (params.some((p) => p.in === 'path')) out['404'] = 'NotFound';
  if (operation.requestBody) Object.assign(out, { '413': 'PayloadTooLarge', '415': 'UnsupportedMediaType' });
  if (operation['x-rate-limit'] !== false) out['429'] = 'TooManyRequests';
  out['503'] = 'ServiceUnavailable';
  out.default = 'UnexpectedError';
  return out;
}

/**
 * The headers an answer of this operation with this status carries (see ResponseHeadersDeclared): a
 * list (one that takes `page`) also sends RFC 8288 `Link` with its success.
 */
export function standardHeaders(operation, params, status) {
  const headers = { 'X-Request-Id': 'XRequestId' };
  if (/^2/.test(status) && params.some((p) => p.in === 'query' && p.name === 'page')) headers.Link = 'Link';
  if (operation['x-rate-limit'] !== false) {
    Object.assign(headers, { RateLimit: 'RateLimit', 'RateLimit-Policy': 'RateLimitPolicy' });
  }
  if (params.some((p) => p.in === 'header' && String(p.name).toLowerCase() === 'idempotency-key')) headers['Idempotent-Replayed'] = 'IdempotentReplayed';
  if (modesOf(operation).includes('pat')) headers['GPX-Token-Expiration'] = 'TokenExpiration';
  return headers;
}

/**
 * Bundle-time decorator (`npm run bundle`): writes what follows mechanically from each operation's own
 * declarations, so the hand-written files hold only what a person decides: the `security` mirror of
 * x-auth-modes, the shared error responses, and the standard response headers. The bundle, which every
 * tool reads, is then explicit for generators; the lint rules check it.
 */
function Mechanical() {
  return withRegistry({
    PathItem: {
      Operation: {
        leave(operation, ctx, parents) {
          if (!isServed(ctx)) return;
          const params = [...(parents.PathItem?.parameters ?? []), ...(operation.parameters ?? [])].map((p) => ctx.resolve(p).node ?? p);
          if (operation.security === undefined) operation.security = securityFor(modesOf(operation));
          operation.responses ??= {};
          for (const [status, name] of Object.entries(standardResponses(operation, params))) {
            operation.responses[status] ??= { $ref: `#/components/responses/${name}` };
          }
          for (const [status, response] of Object.entries(operation.responses)) {
            if (response.$ref) continue;
            const headers = standardHeaders(operation, params, status);
            response.headers ??= {};
            for (const [name, component] of Object.entries(headers)) response.headers[name] ??= { $ref: `#/components/headers/${component}` };
          }
          // Statuses in order, `default` last, as a reader expects them.
          operation.responses = Object.fromEntries(Object.entries(operation.responses).sort(([a], [b]) => (a === 'default' ? 1 : b === 'default' ? -1 : a.localeCompare(b))));
        },
      },
    },
  });
}

export default function gpxPlugin() {
  return {
    id: 'gpx',
    decorators: {
      oas3: { 'access-line': AccessLine, mechanical: Mechanical },
    },
    rules: {
      oas3: {
        'auth-modes-declared': AuthModesDeclared,
        'auth-modes-known': AuthModesKnown,
        'scopes-declared': ScopesDeclared,
        'scopes-registered': ScopesRegistered,
        'security-matches-modes': SecurityMatchesModes,
        'responses-documented': ResponsesDocumented,
        'idempotency-key-declared': IdempotencyKeyDeclared,
        'response-headers-declared': ResponseHeadersDeclared,
        'error-codes-registered': ErrorCodesRegistered,
      },
    },
  };
}
