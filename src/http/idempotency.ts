import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { addSeconds, Clock, iso } from '../core/clock';
import type { Repositories } from '../db/repositories';
import { ApiError, fail } from '../core/errors';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const PURGE_EVERY_MS = 3600_000;

/** Keys belong to an account (or, before sign-in, to an address): one caller never sees another's. */
function ownerOf(req: Request): string {
  const auth = req.auth;
  if (auth && 'user' in auth) return auth.user.id;
  return `ip:${req.ip ?? 'unknown'}`;
}

function fingerprint(req: Request): string {
  const body = Buffer.isBuffer(req.body) ? req.body : Buffer.from(JSON.stringify(req.body ?? null));
  const query = JSON.stringify(req.query ?? {});
  return createHash('sha256').update(`${req.operation!.operationId}\n${req.path}\n${query}\n`).update(body).digest('hex');
}

/**
 * `Idempotency-Key` on creating POSTs (DESIGN §3): the same key and request replay the first answer,
 * the same key with another request is a 409, and two concurrent requests with one key never both run.
 * The answer is stored before it is sent, so a retry can never find the key half-settled. Answers that
 * carry a secret (`Cache-Control: no-store`) are never stored: their replay is a 409 naming the
 * resource, since a secret is shown once.
 */
export function idempotency(repos: Repositories, clock: Clock, log: Logger): RequestHandler {
  let lastPurge = 0;

  return async (req: Request, res: Response, next: NextFunction) => {
    if (!req.operation?.creates) return next();
    const key = req.get('idempotency-key');
    if (!key) return next();
    const owner = ownerOf(req);
    const operationId = req.operation.operationId;
    const requestHash = fingerprint(req);
    const now = clock();
    const cutoff = iso(addSeconds(now, -IDEMPOTENCY_TTL_SECONDS));

    if (now.getTime() - lastPurge > PURGE_EVERY_MS) {
      lastPurge = now.getTime();
      await repos.idempotency.deleteOlderThan(cutoff);
    }

    if (!(await repos.idempotency.claim({ owner, key, operationId, requestHash, createdAt: iso(now) }))) {
      const first = await repos.idempotency.find(owner, key);
      if (first && first.createdAt < cutoff) {
        // Expired but not yet purged: the key is free again.
        await repos.idempotency.release(owner, key);
        await repos.idempotency.deleteOlderThan(cutoff);
        if (!(await repos.idempotency.claim({ owner, key, operationId, requestHash, createdAt: iso(now) }))) throw inProgress();
      } else if (!first || first.statusCode === null) {
        throw inProgress();
      } else if (first.operationId !== operationId || first.requestHash !== requestHash) {
        throw fail('idempotency_key_reused', 'This Idempotency-Key was used with a different request; use a new key for a new request.', { operation_id: first.operationId });
      } else if (first.secret) {
        throw fail('idempotent_secret_not_replayable', 'The first request with this key succeeded, and the secret it returned is shown only once. Use the created resource (rotate it for a new secret) or send a new key.', { resource_id: first.resourceId });
      } else {
        res.set('Idempotent-Replayed', 'true').status(first.statusCode).json(withRequestId(first.responseBody, req.requestId));
        return;
      }
    }

    const send = res.json.bind(res);
    res.json = ((payload: unknown) => {
      res.json = send;
      const status = res.statusCode;
      const secret = String(res.get('Cache-Control') ?? '').includes('no-store');
      const resourceId = typeof (payload as { id?: unknown })?.id === 'string' ? (payload as { id: string }).id : null;
      const settle = status >= 500
        ? repos.idempotency.release(owner, key)
        : repos.idempotency.complete(owner, key, { statusCode: status, responseBody: payload, secret, resourceId });
      settle
        .catch((err: Error) => log.error({ request_id: req.requestId, err: err.message }, 'could not record the idempotent response'))
        .finally(() => {
          try {
            send(payload);
          } catch (err) {
            next(err);
          }
        });
      return res;
    }) as Response['json'];
    next();
  };
}

/** A stored error envelope names the request that made it; its replay names this one. */
function withRequestId(body: unknown, requestId: string): unknown {
  const envelope = (body as { error?: Record<string, unknown> } | null)?.error;
  return envelope && typeof envelope === 'object' ? { ...(body as object), error: { ...envelope, request_id: requestId } } : body;
}

function inProgress(): ApiError {
  return new ApiError('idempotency_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.', undefined, { 'Retry-After': '1' });
}
