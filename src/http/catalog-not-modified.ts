import type { RequestHandler } from 'express';
import type { Catalog } from '../contract/catalog';

/**
 * Every script and agent starts by reading the catalog, mostly with an ETag it already holds. For an
 * anonymous, unfiltered request whose If-None-Match matches, the answer is known before credentials,
 * parameters or the handler are looked at: send the 304 at once (DESIGN §7: the 304 should cost about
 * what a bare express route costs). Anything else goes down the normal pipeline.
 */
export function catalogNotModified(catalog: Catalog): RequestHandler {
  const { etag } = catalog.forCaller(undefined, {});
  return (req, res, next) => {
    if (
      req.operation?.operationId === 'getCatalog' &&
      req.headers['if-none-match'] === etag &&
      !req.headers.authorization &&
      !req.headers.cookie &&
      !req.url.includes('?')
    ) {
      res.status(304).set({ ETag: etag, Vary: 'Authorization, Cookie', 'Cache-Control': 'public, no-cache' }).end();
      return;
    }
    next();
  };
}
