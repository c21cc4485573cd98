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
  /** The value the operation passed to `res.json`, when that is how it answered: its payload, unparsed. */
  json?: unknown;
}

/** A request and response for one tool call's pass through the operation's stages, and its answer. */
export interface ToolExchange {
  req: Request;
  res: Response;
  answer: Promise<ToolAnswer>;
}

/**
 * The request and response a tool call's operation is run on: views of the `/mcp` request that carries
 * it. The request has that request's connection, address, request id and credential (authenticated
 * by the `/mcp` pass a moment ago), with the tool's own method, URL, query, headers and body; the
 * response keeps its status, headers and body in memory and hands them over when the operation ends it,
 * so nothing reaches the agent's connection but the JSON-RPC answer built from them. Neither object of
 * the `/mcp` request is changed.
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

  // A new request on the app's request prototype with what the stages read of the carrier copied over
  // (its connection for the address and protocol, credential, request id, cookies), not an object
  // derived from the carrier: V8 would turn every carrier used as a prototype into a slow one.
  const req = Object.create(requestPrototype(Object.getPrototypeOf(outerReq) as object)) as Request & Record<string, unknown>;
  req.socket = outerReq.socket;
  req.httpVersion = outerReq.httpVersion;
  req.method = request.method;
  req.url = request.url;
  req.originalUrl = request.url;
  req.baseUrl = '';
  req.headers = headers as Request['headers'];
  req.body = request.body;
  req.params = {};
  const queryStart = request.url.indexOf('?');
  const parseQuery = outerReq.app.get('query parser fn') as (text: string) => Request['query'];
  req.query = queryStart === -1 ? {} : parseQuery(request.url.slice(queryStart + 1));
  req.cookies = outerReq.cookies;
  req.requestId = outerReq.requestId;
  req.auth = outerReq.auth;
  req.rateLimit = outerReq.rateLimit;

  let deliver!: (answer: ToolAnswer) => void;
  const answer = new Promise<ToolAnswer>((resolve) => {
    deliver = resolve;
  });
  const res = Object.create(collectingPrototype(Object.getPrototypeOf(outerRes) as object)) as CollectingResponse;
  res.req = req;
  res.statusCode = 200;
  res.statusMessage = '';
  res.locals = {};
  // OutgoingMessage's `headersSent` reads `_header`, `writableEnded` reads `finished`.
  res._header = null;
  res.finished = false;
  // Listeners stay on this response (a stage's `res.on` must not land on the carrier's).
  res._events = Object.create(null) as object;
  res._eventsCount = 0;
  res.kept = new Map();
  res.chunks = [];
  res.deliver = deliver;
  (req as { res?: Response }).res = res;
  return { req, res, answer };
}

/** The response view's own state, beside express's response. */
interface CollectingResponse extends Response {
  kept: Map<string, unknown>;
  jsonBody?: unknown;
  chunks: Buffer[];
  deliver: (answer: ToolAnswer) => void;
  _header: null;
  _events: object;
  _eventsCount: number;
}

/** One object per app prototype, made on first use: the views' prototypes are built once per app. */
function perApp(cache: WeakMap<object, object>, appPrototype: object, build: (appPrototype: object) => object): object {
  let made = cache.get(appPrototype);
  if (!made) {
    made = build(appPrototype);
    cache.set(appPrototype, made);
  }
  return made;
}

const requestPrototypes = new WeakMap<object, object>();

/** The app's request prototype, where `query` (a getter of express's) is a plain field of each view. */
const requestPrototype = (appRequest: object) => perApp(requestPrototypes, appRequest, () =>
  Object.create(appRequest, { query: { value: undefined, writable: true, enumerable: true, configurable: true } }) as object);

const collectingPrototypes = new WeakMap<object, object>();

/**
 * The methods of a response view, once per app (on that app's response prototype, not on the carrier
 * itself: stages replace methods of the carrier, `res.json` by response validation in tests, and those
 * belong to the /mcp answer). Headers go to a map, the body to a list of chunks, and a JSON answer's
 * value is kept too (the tool result's `structuredContent` needs no parse of its text); `end` hands them
 * over.
 */
const collectingPrototype = (appResponse: object) => perApp(collectingPrototypes, appResponse, () => {
  const appJson = (appResponse as Response).json;
  const methods = {
    json(this: CollectingResponse, body: unknown) {
      this.jsonBody = body;
      return appJson.call(this, body);
    },
    setHeader(this: CollectingResponse, name: string, value: unknown) {
      this.kept.set(name.toLowerCase(), value);
      return this;
    },
    getHeader(this: CollectingResponse, name: string) {
      return this.kept.get(name.toLowerCase());
    },
    getHeaders(this: CollectingResponse) {
      return Object.fromEntries(this.kept);
    },
    getHeaderNames(this: CollectingResponse) {
      return [...this.kept.keys()];
    },
    hasHeader(this: CollectingResponse, name: string) {
      return this.kept.has(name.toLowerCase());
    },
    removeHeader(this: CollectingResponse, name: string) {
      this.kept.delete(name.toLowerCase());
    },
    writeHead(this: CollectingResponse, status: number, ...rest: unknown[]) {
      this.statusCode = status;
      const fields = rest.find((item) => item !== null && typeof item === 'object') as Record<string, unknown> | undefined;
      for (const [name, value] of Object.entries(fields ?? {})) this.setHeader(name, value as string);
      return this;
    },
    write(this: CollectingResponse, data: unknown, encoding?: unknown, done?: unknown) {
      keep(this.chunks, data, encoding);
      if (typeof encoding === 'function') (encoding as () => void)();
      else if (typeof done === 'function') (done as () => void)();
      return true;
    },
    end(this: CollectingResponse, data?: unknown, encoding?: unknown, done?: unknown) {
      if (this.finished) return this;
      keep(this.chunks, data, encoding);
      this.finished = true;
      const rawPayload = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.deliver({ statusCode: this.statusCode, headers: this.getHeaders(), rawPayload, ...(this.jsonBody !== undefined ? { json: this.jsonBody } : {}) });
      this.emit('finish');
      const callback = [data, encoding, done].find((item) => typeof item === 'function') as (() => void) | undefined;
      callback?.();
      return this;
    },
  };
  return Object.assign(Object.create(appResponse) as object, methods);
});

function keep(chunks: Buffer[], data: unknown, encoding?: unknown): void {
  if (data === undefined || data === null || typeof data === 'function') return;
  if (typeof data === 'string') chunks.push(Buffer.from(data, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
  else chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array));
}
