import type { RequestHandler } from 'express';
import type { Authenticate } from '../auth/authenticate';
import { decide } from '../auth/decide';
import type { Contract } from '../contract/spec';

/**
 * The one authorization engine: after the validator has matched the operation and before the body
 * is parsed or validated, resolve the credential and decide from `x-auth-modes` / `x-scopes` alone.
 */
export function authorize(contract: Contract, authenticate: Authenticate): RequestHandler {
  return async (req, _res, next) => {
    const operationId = req.openapi?.schema?.operationId;
    const operation = operationId ? contract.operations.get(operationId) : undefined;
    if (!operation) throw new Error(`No operation matched ${req.method} ${req.path}`);
    req.operation = operation;

    if (operation.modes.has('public')) {
      // Public routes ignore credentials: a stale cookie must not stop someone from signing in.
      req.auth = await authenticate(req).catch(() => undefined);
      return next();
    }
    req.auth = await authenticate(req);
    const refusal = decide(operation, req.auth, {
      method: req.method,
      csrfHeader: req.get('x-csrf-token'),
      origin: req.get('origin'),
      selfOrigin: `${req.protocol}://${req.get('host')}`,
    });
    if (refusal) throw refusal;
    next();
  };
}
