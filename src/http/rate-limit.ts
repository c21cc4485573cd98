import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Config } from '../config';
import { tooManyRequests } from '../errors';

/** One bucket per credential: a token, a browser session, a user's JWTs; addresses for the anonymous. */
export function rateLimitKey(req: Request): string {
  const auth = req.auth;
  switch (auth?.kind) {
    case 'pat': return `pat:${auth.token.id}`;
    case 'session': return `session:${auth.session.idHash}`;
    case 'jwt':
    case 'pending': return `user:${auth.user.id}`;
    default: return `ip:${ipKeyGenerator(req.ip ?? '')}`;
  }
}

/**
 * Per-credential limits with the IETF `RateLimit-Limit/Remaining/Reset` headers (draft 6), through
 * express-rate-limit. Runs after authorization, so the bucket is the caller's credential; a request
 * over the limit gets 429 in the error envelope with `Retry-After`.
 */
export function perCredentialRateLimit(config: Pick<Config, 'rateLimit'>): RequestHandler {
  const windowMs = config.rateLimit.windowSeconds * 1000;
  const limiter = rateLimit({
    windowMs,
    limit: config.rateLimit.requests,
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    keyGenerator: rateLimitKey,
    skip: (req) => req.operation?.rateLimited === false || req.auth?.kind === 'internal',
    handler: (req, _res, next) => {
      const resetTime = req.rateLimit?.resetTime?.getTime() ?? Date.now() + windowMs;
      const seconds = Math.max(1, Math.ceil((resetTime - Date.now()) / 1000));
      next(tooManyRequests(seconds, `Rate limit of ${config.rateLimit.requests} requests per ${config.rateLimit.windowSeconds} s reached for this credential; retry after ${seconds} s.`));
    },
  });
  return limiter;
}
