import type { Request, Response } from 'express';
import type { components, operations } from '../../generated/openapi';
import { isSignedIn, SignedInPrincipal } from '../auth/principal';
import { ApiError } from '../core/errors';

export type Schemas = components['schemas'];
/** The operations this API serves (the `webhooks:` entries describe what it sends, and have no handler). */
export type OperationId = Exclude<keyof operations, `on${string}`>;

type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type SuccessJson<Op extends OperationId> = operations[Op] extends { responses: infer R }
  ? { [S in keyof R]: S extends 200 | 201 | 202 | 203 ? JsonOf<R[S]> : never }[keyof R]
  : never;
/**
 * What an operation answers on success (its 2xx JSON bodies), from the spec; operations that answer
 * bytes or text (downloads, QR codes, metrics) send them with res.send and are not narrowed.
 */
export type Reply<Op extends OperationId> = [SuccessJson<Op>] extends [never] ? unknown : SuccessJson<Op>;
/** An operation's path and query parameters, from the spec. */
export type PathParams<Op extends OperationId> = operations[Op] extends { parameters: { path: infer P } } ? P : never;
export type Query<Op extends OperationId> = operations[Op] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

/**
 * A handler of one operation: its `res.json` takes only what the spec says the operation answers, so a
 * field the spec does not have fails `npm run typecheck`.
 */
export type OperationHandler<Op extends OperationId> = (req: Request, res: Response<Reply<Op>>) => Promise<void>;
export type Handler = (req: Request, res: Response) => Promise<void>;
export type HandlerMap = { [Op in OperationId]?: OperationHandler<Op> };

/** The validated JSON body of an operation, typed from the spec. */
export type Body<Op extends OperationId> = operations[Op] extends {
  requestBody: { content: { 'application/json': infer B } };
} ? B : never;

export function body<Op extends OperationId>(req: Request): Body<Op> {
  return req.body as Body<Op>;
}

/** The authorization middleware has already refused everyone else; this only narrows the type. */
export function caller(req: Request): SignedInPrincipal {
  if (!isSignedIn(req.auth)) throw new ApiError('authentication_required', 'Sign in first.');
  return req.auth;
}

export function pathParam(req: Request, name: string): string {
  const value = req.openapi?.pathParams?.[name];
  if (typeof value !== 'string') throw new ApiError('validation_failed', `Missing path parameter ${name}.`);
  return value;
}

export function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

export interface PageRequest {
  page: number;
  limit: number;
  offset: number;
}

/** The validator has bounded both numbers; this applies the spec's defaults. */
export function pageRequest(req: Request): PageRequest {
  const page = Number(req.query.page ?? 1);
  const limit = Number(req.query.limit ?? 20);
  return { page, limit, offset: (page - 1) * limit };
}

export function sendPage<T, U>(res: Response, page: PageRequest, result: { rows: T[]; total: number }, present: (row: T) => U): void {
  res.json({
    data: result.rows.map(present),
    meta: {
      pagination: {
        page: page.page,
        limit: page.limit,
        total: result.total,
        total_pages: Math.ceil(result.total / page.limit),
      },
    },
  });
}

/** Responses that carry a secret must never be stored by a cache or the browser. */
export function noStore(res: Response): Response {
  return res.set('Cache-Control', 'no-store').set('Pragma', 'no-cache');
}
