import { fail } from '../core/errors';
import { notModified } from '../http/conditional';
import { body, HandlerMap, queryString } from './kit';
import { presentScopes } from './presenters';
import type { Services } from './services';

export function programmaticHandlers({ catalog, mcp }: Services): HandlerMap {
  return {
    async callMcp(req, res) {
      await mcp.handle(req, res);
    },

    async getCatalog(req, res) {
      const callable = req.query.callable === undefined ? undefined : String(req.query.callable) === 'true';
      const format = queryString(req, 'format');
      const { body: payload, etag } = format === 'openapi'
        ? catalog.openApiFor(req.auth)
        : format === 'tools' ? mcp.toolCatalogFor(req.auth) : catalog.forCaller(req.auth, {
          scope: queryString(req, 'scope'),
          group: queryString(req, 'group'),
          auth_mode: queryString(req, 'auth_mode'),
          tag: queryString(req, 'tag'),
          callable,
        });
      // What a caller may call depends on its credential: caches must keep answers apart.
      res.set('ETag', etag).set('Vary', 'Authorization, Cookie').set('Cache-Control', req.auth ? 'private, no-cache' : 'public, no-cache');
      if (notModified(req, etag)) {
        res.status(304).end();
        return;
      }
      res.json(payload);
    },

    async getMinimalScopes(req, res) {
      const { unknown, result } = catalog.minimalScopes(body<'getMinimalScopes'>(req).operations);
      if (unknown) throw fail('unknown_operations', `Unknown operationIds: ${unknown.join(', ')}; see GET /api/programmatic/catalog.`, { unknown_operations: unknown });
      res.json({ ...result, scopes: presentScopes(result.scopes) });
    },
  };
}
