import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';

/** What a caller may choose as its request id (the spec's XRequestId header): no spaces, no controls. */
const WELL_FORMED_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Every answer carries an id, echoed in X-Request-Id and in error bodies. A caller (or a proxy in front)
 * that sends a well-formed X-Request-Id gets it back, so its logs and ours join up; anything else is
 * replaced, never echoed.
 */
export function assignRequestId(req: Request, res: Response): string {
  const given = req.headers['x-request-id'];
  req.requestId = typeof given === 'string' && WELL_FORMED_ID.test(given) ? given : `req_${randomUUID().replace(/-/g, '')}`;
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
        // An MCP tool call is one request: the line names the operation its tool ran as well.
        tool_operation_id: res.locals.toolOperationId as string | undefined,
        auth: auth?.kind,
        user_id: auth && 'user' in auth ? auth.user.id : undefined,
        token_id: auth?.kind === 'pat' ? auth.token.id : undefined,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
      }, 'request');
    });
    next();
  };
}
