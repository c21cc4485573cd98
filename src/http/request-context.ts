import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';

/** Every answer carries an id, echoed in X-Request-Id and in error bodies. */
export function assignRequestId(req: Request, res: Response): string {
  req.requestId = `req_${randomUUID().replace(/-/g, '')}`;
  res.set('X-Request-Id', req.requestId);
  return req.requestId;
}

/**
 * Gives every request an id and logs one line when it ends. Only the path is logged, never the
 * query string or headers, so a token sent where it should not be never reaches the log.
 */
export function requestContext(log: Logger, onFinish?: (req: Request, res: Response) => void): RequestHandler {
  return (req, res, next) => {
    assignRequestId(req, res);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      onFinish?.(req, res);
      if (!log.isLevelEnabled('info')) return;
      const auth = req.auth;
      log.info({
        request_id: req.requestId,
        method: req.method,
        // The route template, not the path: some paths carry a secret (an invitation token).
        path: req.operation?.path ?? req.path,
        status: res.statusCode,
        operation_id: req.operation?.operationId,
        auth: auth?.kind,
        user_id: auth && 'user' in auth ? auth.user.id : undefined,
        token_id: auth?.kind === 'pat' ? auth.token.id : undefined,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
      }, 'request');
    });
    next();
  };
}
