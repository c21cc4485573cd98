import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Express } from 'express';

/*
 * Request and response objects born with every property express, cookie-parser and our stages give
 * them later. Added one at a time after Node creates the objects (req.res, req.next, req.baseUrl, …,
 * req.operation, req.auth, req.rateLimit), those properties gave request objects a chain of hidden-class
 * shapes, and property reads on requests all over express and our code went megamorphic. Declared
 * here, every request and response has the shape it ends with from the start: the PAT hot path went
 * from ~152 to ~100 µs of CPU per request (interleaved A/B, `npm run bench`). Values stay what they would be:
 * undefined until set, and Node's own defaults for statusCode and statusMessage.
 *
 * Never declare here a name express serves from its request/response prototypes through a getter
 * (query, path, ip, protocol, hostname, secure…): an own property would hide it.
 */
export class ShapedRequest extends IncomingMessage {
  // express and its router
  res: unknown = undefined;
  next: unknown = undefined;
  baseUrl: unknown = undefined;
  originalUrl: unknown = undefined;
  _parsedUrl: unknown = undefined;
  params: unknown = undefined;
  // cookie-parser, or onlyWithCookies in app.ts
  cookies: unknown = undefined;
  // our stages (src/types/express.d.ts)
  requestId: unknown = undefined;
  operation: unknown = undefined;
  openapi: unknown = undefined;
  auth: unknown = undefined;
  rateLimit: unknown = undefined;
  limits: unknown = undefined;
}

export class ShapedResponse<Req extends IncomingMessage = IncomingMessage> extends ServerResponse<Req> {
  override statusCode = 200;
  override statusMessage: string = undefined as unknown as string;
  // Node's server sets it on every response it creates.
  _maxRequestsPerSocket: unknown = undefined;
  // express
  locals: unknown = undefined;
}

/** The HTTP server `npm start` runs the app on. */
export function createAppServer(app: Express): Server {
  return createServer({ IncomingMessage: ShapedRequest, ServerResponse: ShapedResponse }, app);
}
