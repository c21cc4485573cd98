import type { RequestHandler } from 'express';
import { ApiError } from '../core/errors';
import type { Contract, OperationInfo } from './spec';
import { HTTP_METHODS } from './spec';

export interface RouteMatch {
  operation: OperationInfo;
  pathParams: Record<string, string>;
}

interface ParamRoute {
  regex: RegExp;
  names: string[];
  byMethod: Map<string, OperationInfo>;
}

/**
 * Maps (method, path) to an operation in O(1) for static paths and one precompiled regex per
 * parametrised path, so the cost does not grow with the size of the API (DESIGN §7). Case-sensitive;
 * one trailing slash is ignored.
 */
export function createOperationRouter(contract: Contract) {
  const staticRoutes = new Map<string, Map<string, OperationInfo>>();
  // Parametrised paths are bucketed by their leading literal segments ("/api/posts", or "/r" for
  // /r/{id}), so a request only tries the few patterns of its own resource.
  const paramRoutes = new Map<string, ParamRoute[]>();

  const byPath = new Map<string, Map<string, OperationInfo>>();
  for (const op of contract.operations.values()) {
    if (!byPath.has(op.path)) byPath.set(op.path, new Map());
    byPath.get(op.path)!.set(op.method, op);
  }
  for (const [path, byMethod] of byPath) {
    if (!path.includes('{')) {
      staticRoutes.set(path, byMethod);
      continue;
    }
    const names: string[] = [];
    const pattern = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}|\{(\w+)\}/g, (_m, a: string, b: string) => {
      names.push(a ?? b);
      return '([^/]+)';
    });
    const key = bucketOfRoute(path);
    if (!paramRoutes.has(key)) paramRoutes.set(key, []);
    paramRoutes.get(key)!.push({ regex: new RegExp(`^${pattern}$`), names, byMethod });
  }
  // Literal segments win over parameters (/api/tokens/self before /api/tokens/{tokenId}), as in EOV.
  for (const routes of paramRoutes.values()) routes.sort((a, b) => a.names.length - b.names.length);

  function bucketsOf(path: string): [string, string] {
    const second = path.indexOf('/', 1);
    if (second === -1) return [path, path];
    const third = path.indexOf('/', second + 1);
    return [third === -1 ? path : path.slice(0, third), path.slice(0, second)];
  }

  function matchIn(routes: ParamRoute[] | undefined, method: string, path: string): RouteMatch | undefined {
    if (!routes) return undefined;
    for (const route of routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      const pathParams: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => {
          pathParams[name] = decodeURIComponent(m[i + 1]!);
        });
      } catch {
        throw new ApiError('validation_failed', 'The path is not valid percent-encoding.');
      }
      return pick(route.byMethod, method, pathParams);
    }
    return undefined;
  }

  function match(method: string, rawPath: string): RouteMatch {
    const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
    const found = staticRoutes.get(path);
    if (found) return pick(found, method, {});
    const [resource, top] = bucketsOf(path);
    const matched = matchIn(paramRoutes.get(resource), method, path) ?? (top !== resource ? matchIn(paramRoutes.get(top), method, path) : undefined);
    if (matched) return matched;
    throw new ApiError('not_found', 'No operation at this path; see GET /openapi.yaml.');
  }

  function pick(byMethod: Map<string, OperationInfo>, method: string, pathParams: Record<string, string>): RouteMatch {
    const operation = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined);
    if (!operation) {
      const allow = HTTP_METHODS.map((m) => m.toUpperCase()).filter((m) => byMethod.has(m));
      throw new ApiError('method_not_allowed', `${method} is not allowed here; use ${allow.join(', ')}.`, undefined, { Allow: allow.join(', ') });
    }
    return { operation, pathParams };
  }

  return { match };
}

/** "/api/posts/{postId}" → "/api/posts"; "/r/{referenceId}" → "/r". */
function bucketOfRoute(path: string): string {
  const literal: string[] = [];
  for (const segment of path.split('/').slice(1, 3)) {
    if (segment.includes('{')) break;
    literal.push(segment);
  }
  return `/${literal.join('/')}`;
}

/**
 * Sets req.operation and the `req.openapi` metadata express-openapi-validator's request stage reads,
 * replacing its own route scan (which re-tests every path on every request).
 */
export function matchOperation(contract: Contract): RequestHandler {
  const router = createOperationRouter(contract);
  return (req, _res, next) => {
    const { operation, pathParams } = router.match(req.method, req.path);
    req.operation = operation;
    req.openapi = {
      expressRoute: operation.expressRoute,
      openApiRoute: operation.path,
      pathParams,
      schema: operation.schema,
      serial: -1,
    };
    next();
  };
}
