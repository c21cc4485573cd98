import type { IncomingMessage } from 'node:http';
import type { Principal } from './principal';

/**
 * A principal an in-process request carries (an MCP tool call's own pass, src/mcp/in-process-request.ts):
 * its /mcp request authenticated the same credential a moment ago, so authenticate() takes it as is.
 * A symbol-keyed property of the request object: no header, URL or body can set it, so only code in
 * this process that built the request can.
 */
const CARRIED_PRINCIPAL = Symbol('gpx.carriedPrincipal');

export function carryPrincipal(req: IncomingMessage, principal: Principal): void {
  (req as unknown as Record<symbol, Principal>)[CARRIED_PRINCIPAL] = principal;
}

export function carriedPrincipal(req: IncomingMessage): Principal | undefined {
  return (req as unknown as Record<symbol, Principal | undefined>)[CARRIED_PRINCIPAL];
}
