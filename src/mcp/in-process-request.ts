import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import type { Express } from 'express';
import type { Principal } from '../auth/principal';
import { carryPrincipal } from '../auth/carried-principal';

/** One HTTP request sent through an app's own pipeline, in this process (no socket, no parsing). */
export interface InProcessRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
  /** The address the caller's own request came from, for the address limits and the audit. */
  remoteAddress?: string;
  /**
   * The principal the caller's own request was just authenticated as, with the same credential: the
   * authorize stage reuses it instead of looking the token up a second time (auth/carried-principal.ts).
   */
  principal?: Principal;
}

export interface InProcessAnswer {
  statusCode: number;
  headers: Record<string, unknown>;
  rawPayload: Buffer;
}

/** Stands in for the connection: accepts and drops the serialized response (the body is captured above it). */
class NullSocket extends Duplex {
  readonly remoteAddress: string;
  readonly encrypted = false;
  constructor(remoteAddress: string) {
    super();
    this.remoteAddress = remoteAddress;
  }
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    done();
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
}

/**
 * Sends one request through `app` as node's HTTP server would, on real IncomingMessage and
 * ServerResponse objects, so every stage (limits, logging on finish, handlers) sees an ordinary
 * request. light-my-request did this before at ~100 µs more a call: it validates and re-parents
 * express's prototypes on each call; here the body is captured where express writes it.
 */
export function sendInProcess(app: Express, request: InProcessRequest): Promise<InProcessAnswer> {
  return new Promise((resolve, reject) => {
    const socket = new NullSocket(request.remoteAddress ?? '127.0.0.1');
    const req = new IncomingMessage(socket as never);
    req.method = request.method;
    req.url = request.url;
    req.headers = { ...request.headers, host: 'localhost' };
    if (request.principal) carryPrincipal(req, request.principal);
    if (request.payload !== undefined) {
      req.headers['content-length'] = String(Buffer.byteLength(request.payload));
      req.push(request.payload);
    }
    req.push(null);
    // As node's parser marks a message it has read whole: otherwise, once the body is consumed, the
    // request destroys itself as aborted, and the connection and the response with it.
    req.complete = true;

    const res = new ServerResponse(req);
    res.assignSocket(socket as never);
    const chunks: Buffer[] = [];
    const keep = (data: unknown, encoding?: unknown) => {
      if (data === undefined || data === null || typeof data === 'function') return;
      if (typeof data === 'string') chunks.push(Buffer.from(data, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
      else chunks.push(Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array));
    };
    // Own properties, because express swaps the response's prototype for its own as it handles it.
    const { write, end } = ServerResponse.prototype;
    res.write = function (this: ServerResponse, data: unknown, ...rest: unknown[]) {
      keep(data, rest[0]);
      return (write as (...args: unknown[]) => boolean).call(this, data, ...rest);
    } as ServerResponse['write'];
    res.end = function (this: ServerResponse, data?: unknown, ...rest: unknown[]) {
      keep(data, rest[0]);
      return (end as (...args: unknown[]) => ServerResponse).call(this, data, ...rest);
    } as ServerResponse['end'];
    res.once('finish', () => {
      resolve({ statusCode: res.statusCode, headers: res.getHeaders(), rawPayload: Buffer.concat(chunks) });
    });
    res.once('error', reject);
    // A response destroyed before it finished (a stream that failed half-way) has no answer to give.
    res.once('close', () => {
      if (!res.writableFinished) reject(new Error(`${request.method} ${request.url} closed its response before finishing it`));
    });
    app(req as never, res as never);
  });
}
