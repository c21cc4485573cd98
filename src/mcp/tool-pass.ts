import type { Request, Response } from 'express';

/** The HTTP request a tool call stands for (tools.ts `requestFor`). */
export interface ToolRequest {
  method: string;
  url: string;
  body?: unknown;
  idempotencyKey?: string;
}

/** What the operation answered, collected in memory. */
export interface ToolAnswer {
  statusCode: number;
  headers: Record<string, unknown>;
  rawPayload: Buffer;
}

/** A request and response for one tool call's pass through the operation's stages, and its answer. */
export interface ToolExchange {
  req: Request;
  res: Response;
  answer: Promise<ToolAnswer>;
}

/**
 * The request and response a tool call's operation is run on: views of the `/mcp` request that carries
 * it. The request inherits that request's connection, address, request id and credential (authenticated
 * by the `/mcp` pass a moment ago), with the tool's own method, URL, query, headers and body; the
 * response keeps its status, headers and body in memory and hands them over when the operation ends it,
 * so nothing reaches the agent's connection but the JSON-RPC answer built from them. Neither object of
 * the `/mcp` request is changed: the request is the view's prototype, never written to.
 *
 * This replaced a second request built on node's IncomingMessage and ServerResponse and sent through a
 * twin express app (~440 µs a call beside a 127 µs HTTP read, `npm run bench`): no socket, parser,
 * router or header serialisation is needed for what the stages read and write.
 */
export function toolExchange(outerReq: Request, outerRes: Response, request: ToolRequest): ToolExchange {
  const headers: Record<string, string | string[] | undefined> = { ...outerReq.headers, accept: 'application/json' };
  // The tool's own body, key and length: nothing of the JSON-RPC envelope's is the operation's.
  delete headers['content-length'];
  delete headers['transfer-encoding'];
  delete headers['idempotency-key'];
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  else delete headers['content-type'];
  if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;

  const queryStart = request.url.indexOf('?');
  const parseQuery = outerReq.app.get('query parser fn') as (text: string) => Record<string, unknown>;
  const req: Request = Object.create(outerReq, {
    method: { value: request.method, writable: true, enumerable: true, configurable: true },
    url: { value: request.url, writable: true, enumerable: true, configurable: true },
    originalUrl: { value: request.url, writable: true, enumerable: true, configurable: true },
    headers: { value: headers, writable: true, enumerable: true, configurable: true },
    body: { value: request.body, writable: true, enumerable: true, configurable: true },
    params: { value: {}, writable: true, enumerable: true, configurable: true },
    query: { value: queryStart === -1 ? {} : parseQuery(request.url.slice(queryStart + 1)), writable: true, enumerable: true, configurable: true },
    // parseurl's cache of the URL: the carrier's belongs to /mcp.
    _parsedUrl: { value: undefined, writable: true, configurable: true },
    operation: { value: undefined, writable: true, enumerable: true, configurable: true },
    openapi: { value: undefined, writable: true, enumerable: true, configurable: true },
  });

  const kept = new Map<string, { name: string; value: unknown }>();
  const chunks: Buffer[] = [];
  const keep = (data: unknown, encoding?: unknown) => {
    if (data === undefined || data === null || typeof data === 'function') return;
    if (typeof data === 'string') chunks.push(Buffer.from(data, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    else chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array));
  };
  let deliver!: (answer: ToolAnswer) => void;
  const answer = new Promise<ToolAnswer>((resolve) => {
    deliver = resolve;
  });
  let ended = false;
  // On the app's response prototype, not on the carrier itself: stages replace methods of the carrier
  // (`res.json` by response validation in tests), and those belong to the /mcp answer.
  const res: Response = Object.create(Object.getPrototypeOf(outerRes) as object, {
    req: { value: req, writable: true, configurable: true },
    statusCode: { value: 200, writable: true, enumerable: true, configurable: true },
    statusMessage: { value: '', writable: true, enumerable: true, configurable: true },
    locals: { value: {}, writable: true, enumerable: true, configurable: true },
    // OutgoingMessage's `headersSent` and `writableEnded` read these: this response has sent nothing.
    _header: { value: null, writable: true, configurable: true },
    finished: { get: () => ended, configurable: true },
    writableEnded: { get: () => ended, configurable: true },
    writableFinished: { get: () => ended, configurable: true },
    // Listeners stay on this response (a stage's `res.on` must not land on the carrier's).
    _events: { value: Object.create(null), writable: true, configurable: true },
    _eventsCount: { value: 0, writable: true, configurable: true },
  });
  Object.assign(res, {
    setHeader(name: string, value: unknown) {
      kept.set(name.toLowerCase(), { name, value });
      return res;
    },
    getHeader: (name: string) => kept.get(name.toLowerCase())?.value,
    getHeaders: () => Object.fromEntries([...kept].map(([lower, { value }]) => [lower, value])),
    getHeaderNames: () => [...kept.keys()],
    hasHeader: (name: string) => kept.has(name.toLowerCase()),
    removeHeader: (name: string) => {
      kept.delete(name.toLowerCase());
    },
    writeHead(status: number, ...rest: unknown[]) {
      res.statusCode = status;
      const fields = rest.find((item) => item !== null && typeof item === 'object') as Record<string, unknown> | undefined;
      for (const [name, value] of Object.entries(fields ?? {})) res.setHeader(name, value as string);
      return res;
    },
    write(data: unknown, encoding?: unknown, done?: unknown) {
      keep(data, encoding);
      if (typeof encoding === 'function') (encoding as () => void)();
      else if (typeof done === 'function') (done as () => void)();
      return true;
    },
    end(data?: unknown, encoding?: unknown, done?: unknown) {
      if (ended) return res;
      keep(data, encoding);
      ended = true;
      deliver({ statusCode: res.statusCode, headers: res.getHeaders(), rawPayload: Buffer.concat(chunks) });
      res.emit('finish');
      const callback = [data, encoding, done].find((item) => typeof item === 'function') as (() => void) | undefined;
      callback?.();
      return res;
    },
  });
  (req as { res?: Response }).res = res;
  return { req, res, answer };
}
