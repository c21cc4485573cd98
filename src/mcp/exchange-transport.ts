import type { Request, Response } from 'express';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCRequest, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Principal } from '../auth/principal';

/** Who sent a message: the handlers read it by the message's id. */
export interface RequestContext {
  principal: Extract<Principal, { kind: 'pat' }>;
  req: Request;
  res: Response;
}

/**
 * An MCP transport for a stateless HTTP endpoint, so one SDK server serves every POST: each request is
 * handed to the server under an id of its own (clients all count from 1) and its answer comes back with
 * the client's id. A server built per request cost ~10× the HTTP call of the same operation
 * (`npm run bench`); this is what makes one server possible. The SDK's protocol does the rest: method
 * routing, request validation, JSON-RPC errors.
 */
export class ExchangeTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private nextId = 0;
  private readonly waiting = new Map<RequestId, { clientId: RequestId; context: RequestContext; done: (answer: JSONRPCMessage) => void }>();

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.onclose?.();
  }

  /** The context of a request the server is handling. */
  context(id: RequestId): RequestContext {
    const found = this.waiting.get(id);
    if (!found) throw new Error(`No MCP request ${String(id)} is in flight`);
    return found.context;
  }

  /** Hands one message to the server: a request's answer, or undefined for anything else. */
  exchange(message: JSONRPCMessage, context: RequestContext): Promise<JSONRPCMessage | undefined> {
    if (!isJSONRPCRequest(message)) {
      // Notifications (initialized, cancelled) and client responses: nothing waits for an answer.
      this.onmessage?.(message);
      return Promise.resolve(undefined);
    }
    const id = `x${++this.nextId}`;
    return new Promise((resolve) => {
      this.waiting.set(id, { clientId: message.id, context, done: resolve });
      this.onmessage?.({ ...message, id });
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    // Only answers go back; a stateless POST has no stream for the server's own requests or notifications.
    if (!('id' in message) || message.id === undefined || !('result' in message || 'error' in message)) return;
    const waiting = this.waiting.get(message.id);
    if (!waiting) return;
    this.waiting.delete(message.id);
    waiting.done({ ...message, id: waiting.clientId });
  }
}
