import type { Request, RequestHandler, Response } from 'express';
import type { Authenticate } from '../auth/authenticate';
import { decide } from '../auth/decide';
import type { Clock } from '../core/clock';

/**
 * The one authorization engine: after the operation is matched and before the body
 * is parsed or validated, resolve the credential and decide from `x-auth-modes` / `x-scopes` alone.
 * `authenticated` runs once the credential is known, before the decision (headers a refusal carries too).
 */
export function authorize(authenticate: Authenticate, clock: Clock, authenticated: (req: Request, res: Response) => void = () => undefined): RequestHandler {
  return async (req, res, next) => {
    const operation = req.operation;
    if (!operation) throw new Error(`No operation matched ${req.method} ${req.path}`);

    if (operation.modes.has('public')) {
      // A public route that also lists other modes (the catalog) takes an optional credential, which
      // must then be valid. Pure public routes never look at credentials: a stale cookie must not stop
      // someone from signing in, and there is no lookup to pay for.
      if (operation.modes.size > 1) {
        req.auth = await authenticate(req);
        authenticated(req, res);
      }
      return next();
    }
    // Signed inbound webhooks prove themselves with a signature over the raw body, which the handler
    // checks; a bearer token or cookie sent to them is still resolved, and refused by the mode check.
    if (operation.modes.size === 1 && operation.modes.has('webhook') && !req.headers.authorization && !req.headers.cookie) return next();
    req.auth = await authenticate(req);
    authenticated(req, res);
    const refusal = refusalOf(req, clock);
    if (refusal) throw refusal;
    next();
  };
}

/**
 * The same decision for a request whose credential was authenticated a moment ago by the request that
 * carries it (an MCP tool call, src/mcp/tool-pass.ts): `req.auth` is that principal, so there is
 * nothing to look up again, only the operation's own modes and scopes to check.
 */
export function authorizeCarried(clock: Clock): RequestHandler {
  return (req, _res, next) => {
    const refusal = req.operation!.modes.has('public') ? undefined : refusalOf(req, clock);
    if (refusal) throw refusal;
    next();
  };
}

function refusalOf(req: Request, clock: Clock) {
  return decide(req.operation!, req.auth, {
    method: req.method,
    csrf: () => ({ header: req.get('x-csrf-token'), origin: req.get('origin'), selfOrigin: `${req.protocol}://${req.get('host')}` }),
    now: clock,
  });
}
