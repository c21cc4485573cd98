import { createHash } from 'node:crypto';
import type { components } from '../../generated/openapi';
import { decide, REAUTHENTICATION_WINDOW_SECONDS } from '../auth/decide';
import type { Principal } from '../auth/principal';
import { difference, rolesCovering, union } from '../auth/scopes';
import { AuthMode, X } from '../contract/extensions';
import type { ErrorCode } from '../core/errors';
import { Contract, OperationInfo, resolveRef } from '../contract/spec';

type Json = Record<string, any>;
type CatalogBody = components['schemas']['Catalog'];

// The catalog's shapes are the spec's own (CatalogOperation, CatalogField in openapi.yaml).
export type CatalogField = components['schemas']['CatalogField'];
export type CatalogOperation = components['schemas']['CatalogOperation'];

export interface CatalogFilters {
  scope?: string;
  group?: string;
  auth_mode?: string;
  tag?: string;
  callable?: boolean;
}


/** The errors any operation of this kind can answer, before its own `x-errors`. */
function standardErrors(op: OperationInfo, declared: Set<number>): CatalogOperation['errors'] {
  const errors: Array<{ status: number; code: ErrorCode; when: string }> = [];
  const signedIn = [...op.modes].some((m) => m !== 'public');
  if (declared.has(400)) errors.push({ status: 400, code: 'validation_failed', when: 'A parameter or the body does not match the schema (details.errors says where).' });
  if (signedIn && !op.modes.has('public')) errors.push({ status: 401, code: 'authentication_required', when: 'No credential was sent.' });
  if (signedIn) errors.push({ status: 401, code: 'invalid_token', when: 'The credential is malformed, expired, revoked or of a signed-out session.' });
  if (op.scopes.length > 0) errors.push({ status: 403, code: 'insufficient_scope', when: `The credential lacks ${op.scopes.join(', ')}.` });
  if (op.requiresReauthentication) {
    errors.push({ status: 403, code: 'reauthentication_required', when: `A session or JWT whose password or code was last checked over ${REAUTHENTICATION_WINDOW_SECONDS / 60} minutes ago: call reauthenticate, then retry.` });
  }
  if (signedIn && !op.modes.has('public')) errors.push({ status: 403, code: 'auth_mode_not_allowed', when: `The credential is not one of: ${[...op.modes].join(', ')}.` });
  if (declared.has(404)) errors.push({ status: 404, code: 'not_found', when: 'No such object, or it is not yours.' });
  if (op.creates) {
    errors.push({ status: 409, code: 'idempotency_key_reused', when: 'The Idempotency-Key was used with another request.' });
    errors.push({ status: 409, code: 'idempotency_in_progress', when: 'A request with this Idempotency-Key is still running.' });
  }
  if (declared.has(413)) errors.push({ status: 413, code: 'payload_too_large', when: 'The body is over the size limit.' });
  if (declared.has(415)) errors.push({ status: 415, code: 'unsupported_media_type', when: 'A content type or Content-Encoding this operation does not take.' });
  if (declared.has(429)) errors.push({ status: 429, code: 'rate_limited', when: 'Too many requests; wait Retry-After seconds.' });
  if (declared.has(503)) errors.push({ status: 503, code: 'service_unavailable', when: 'The database is unreachable; retry after Retry-After seconds.' });
  return errors;
}

/**
 * The catalog is a projection of the loaded contract, computed once at start-up: nothing in it is
 * kept by hand, so it cannot drift from what the server enforces.
 */
export function buildCatalog(contract: Contract) {
  const doc = contract.document;
  const deref = (node: any): any => (node && typeof node === 'object' && node.$ref ? deref(resolveRef(doc, node.$ref)) : node);

  /** Properties of an object schema, following $ref and allOf. */
  function properties(schema: any): { props: Record<string, any>; required: string[] } {
    const s = deref(schema) ?? {};
    let props: Record<string, any> = { ...(s.properties ?? {}) };
    let required: string[] = [...(s.required ?? [])];
    for (const part of s.allOf ?? []) {
      const inner = properties(part);
      props = { ...props, ...inner.props };
      required = [...required, ...inner.required];
    }
    return { props, required };
  }

  function typeOf(schema: any): string {
    const s = deref(schema) ?? {};
    if (s.oneOf) return s.oneOf.map(typeOf).join(' | ');
    if (s.allOf) return 'object';
    const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type ?? 'any';
    if (type === 'array') return `array<${typeOf(s.items)}>`;
    return s.format ? `${type} (${s.format})` : type;
  }

  function field(name: string, schema: any, required: boolean, description?: string): CatalogField {
    const s = deref(schema) ?? {};
    const out: CatalogField = { name, type: typeOf(s), required };
    const values = s.enum ?? (s.type === 'array' ? deref(s.items)?.enum : undefined);
    if (values) out.enum = values;
    if (s.pattern) out.pattern = s.pattern;
    if (description ?? s.description) out.description = description ?? s.description;
    return out;
  }

  function project(op: OperationInfo): CatalogOperation {
    const raw = op.schema;
    const params = (raw.parameters ?? []).map(deref);
    const bodyContent = deref(raw.requestBody)?.content?.['application/json'];
    const statuses = Object.keys(raw.responses ?? {}).map(Number);
    const success = statuses.filter((s) => s >= 200 && s < 300).sort()[0] ?? 200;
    const successSchema = deref(raw.responses?.[String(success)])?.content?.['application/json']?.schema;
    const responseFields = successSchema ? Object.keys(properties(successSchema).props) : [];
    const firstScope = op.scopes[0] ? contract.scopes.get(op.scopes[0]) : undefined;
    const entry: CatalogOperation = {
      operation_id: op.operationId,
      method: op.method,
      path: op.path,
      summary: op.summary,
      tags: [...op.tags],
      group: firstScope?.group ?? null,
      auth_modes: [...op.modes],
      pat_supported: op.takesPat,
      browser_session_supported: op.modes.has('session') || op.modes.has('admin'),
      required_scopes: [...op.scopes],
      requires_two_factor: op.requires2fa || op.modes.has('admin'),
      requires_reauthentication: op.requiresReauthentication,
      request: {
        path_params: params.filter((p: Json) => p.in === 'path').map((p: Json) => field(p.name, p.schema, true, p.description)),
        query_params: params.filter((p: Json) => p.in === 'query').map((p: Json) => field(p.name, p.schema, Boolean(p.required), p.description)),
      },
      response: { status: success, fields: responseFields },
      errors: [...standardErrors(op, new Set(statuses)), ...(raw[X.errors] ?? [])],
    };
    if (bodyContent) {
      const { props, required } = properties(bodyContent.schema);
      entry.request.body = {
        content_type: 'application/json',
        fields: Object.entries(props).map(([name, schema]) => field(name, schema, required.includes(name))),
        ...(bodyContent.example !== undefined ? { example: bodyContent.example } : {}),
      };
    }
    if (raw[X.workflow]) entry.workflow = raw[X.workflow];
    return entry;
  }

  const operations = [...contract.operations.values()].map(project);
  const base = {
    api: { title: doc.info.title, version: doc.info.version, openapi_url: '/openapi.yaml', docs_url: '/docs' },
    // How to present each credential a caller may hold, from the auth-mode registry.
    credentials: ['pat', 'jwt', 'session', 'pending', 'public'].map((name) => {
      const mode = contract.authModes.get(name as AuthMode)!;
      return { auth_mode: mode.name, how: mode.how, ...(mode.format ? { format: mode.format } : {}) };
    }),
    scope_groups: doc[X.scopeRegistry].groups.map((g: Json) => ({
      name: g.name,
      description: g.description,
      scopes: g.scopes.map((s: Json) => ({ name: s.name, description: s.description })),
    })),
    roles: [...contract.roles.values()].map((r) => ({ name: r.name, description: r.description, scopes: [...r.scopes] })),
    operations,
  };
  // The catalog is assembled from the loaded contract (scope and role names as strings the loader has
  // checked against its registries); its shape is the spec's Catalog schema, which tests validate.
  const anonymous = { body: base as CatalogBody, etag: etagOf(JSON.stringify(base)) };

  /**
   * Whether a principal could call the operation as far as authorization goes, and what it lacks: the
   * one decision engine (auth/decide.ts), for a session as if it sent its own CSRF token.
   */
  function access(op: CatalogOperation, principal: Principal): { callable: boolean; missing: string[] } {
    const info = contract.operations.get(op.operation_id)!;
    const refusal = decide(info, principal, {
      method: info.method,
      csrf: () => ({ header: principal.kind === 'session' ? principal.session.csrfToken : undefined, origin: undefined, selfOrigin: '' }),
      // "Callable" is about right, not time: as if the check were just made, so a sudo-mode operation
      // stays callable and the catalog (and its ETag) does not change as the 10 minutes run out.
      now: () => ('authenticatedAt' in principal ? principal.authenticatedAt : new Date()),
    });
    const missing = 'scopes' in principal && !(info.modes.has('admin') && principal.kind !== 'pat') ? difference(op.required_scopes, principal.scopes) : [];
    return { callable: refusal === undefined, missing };
  }

  function filtered(filters: CatalogFilters, principal: Principal | undefined): CatalogOperation[] {
    return operations
      .filter((op) => !filters.scope || op.required_scopes.includes(filters.scope))
      .filter((op) => !filters.group || op.required_scopes.some((s) => contract.scopes.get(s)?.group === filters.group))
      .filter((op) => !filters.auth_mode || op.auth_modes.includes(filters.auth_mode as AuthMode))
      .filter((op) => !filters.tag || op.tags.includes(filters.tag))
      .map((op) => {
        if (!principal) return op;
        const { callable, missing } = access(op, principal);
        return { ...op, callable, missing_scopes: missing };
      })
      .filter((op) => filters.callable === undefined || !principal || op.callable === filters.callable);
  }

  return {
    operations,
    /** The catalog for a caller; the anonymous, unfiltered one is computed once. */
    forCaller(principal: Principal | undefined, filters: CatalogFilters): { body: CatalogBody; etag: string } {
      const unfiltered = Object.values(filters).every((v) => v === undefined);
      if (!principal && unfiltered) return anonymous;
      const body: Json = { ...base, operations: filtered(filters, principal) };
      if (principal) body.caller = describeCaller(principal);
      return { body: body as CatalogBody, etag: etagOf(JSON.stringify(body)) };
    },

    /** An OpenAPI 3.1 document of the PAT-supported operations (those the caller can call, when known). */
    openApiFor(principal: Principal | undefined): { body: components['schemas']['OpenApiDocument']; etag: string } {
      const keep = new Set(
        filtered({}, principal).filter((op) => op.pat_supported && (op.callable ?? true)).map((op) => `${op.method} ${op.path}`),
      );
      const paths: Json = {};
      for (const [path, item] of Object.entries<Json>(doc.paths)) {
        const kept: Json = {};
        for (const [key, value] of Object.entries(item)) {
          if (key === 'parameters') kept[key] = value;
          else if (keep.has(`${key.toUpperCase()} ${path}`)) kept[key] = { ...value, security: [{ bearerAuth: [] }] };
        }
        if (Object.keys(kept).some((k) => k !== 'parameters')) paths[path] = kept;
      }
      const body: components['schemas']['OpenApiDocument'] = Object.assign({ openapi: doc.openapi as string, info: doc.info, paths }, { ...doc, paths, security: [{ bearerAuth: [] }] });
      return { body, etag: etagOf(JSON.stringify(body)) };
    },

    /** The operationIds a principal can call now, by the one decision engine (MCP's tools/list). */
    callableBy(principal: Principal): Set<string> {
      return new Set(operations.filter((op) => access(op, principal).callable).map((op) => op.operation_id));
    },

    /** The smallest scope set for a list of operationIds, and the smallest role that holds it. */
    minimalScopes(operationIds: string[]) {
      const unknown = operationIds.filter((id) => !contract.operations.has(id));
      if (unknown.length > 0) return { unknown };
      const ops = operationIds.map((id) => contract.operations.get(id)!);
      const scopes = ops.reduce<string[]>((acc, op) => union(acc, op.scopes), []);
      const roles = rolesCovering(contract, scopes);
      const notPat = ops.filter((op) => !op.takesPat && !op.modes.has('public')).map((op) => op.operationId);
      return {
        result: {
          operations: [...new Set(operationIds)],
          scopes,
          role: roles[0] ?? null,
          roles,
          pat_supported: notPat.length === 0,
          ...(notPat.length > 0 ? { not_pat_supported: notPat } : {}),
        },
      };
    },
  };
}

function describeCaller(principal: Principal) {
  if (principal.kind === 'pending' || principal.kind === 'internal') return { auth_mode: principal.kind, scopes: [] };
  return {
    auth_mode: principal.kind,
    scopes: [...principal.scopes],
    ...(principal.kind === 'pat' ? { token_id: principal.token.id } : {}),
  };
}

export function etagOf(json: string): string {
  return `W/"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
}

export type Catalog = ReturnType<typeof buildCatalog>;
