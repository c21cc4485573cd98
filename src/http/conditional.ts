import type { Request } from 'express';

/**
 * RFC 9110 §13.1.2: If-None-Match with a matching entity tag (weak comparison) means "not modified",
 * whatever the request's Cache-Control says. `fetch()` sends `Cache-Control: no-cache` when revalidating,
 * and express's `req.fresh` answers 200 to it; the origin server must still answer 304.
 */
export function notModified(req: Request, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const want = opaque(etag);
  return header.split(',').some((tag) => opaque(tag) === want);
}
