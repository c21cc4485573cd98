import type { Request, Response } from 'express';
import type { components, operations } from '../../generated/openapi';
import { isSignedIn, SignedInPrincipal } from '../auth/principal';
import { ApiError, invalidInput } from '../core/errors';
import type { Page, Window } from '../db/page';

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
  requestBody?: { content: { 'application/json': infer B } };
} ? B : never;

export function body<Op extends OperationId>(req: Request): Body<Op> {
  return req.body as Body<Op>;
}

/** The body of an operation whose body is optional (`requestBody.required: false`): empty when none came. */
export function optionalBody<Op extends OperationId>(req: Request): Partial<Body<Op>> {
  return (req.body ?? {}) as Partial<Body<Op>>;
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

export interface PageRequest extends Window {
  page: number;
  /** Whether this list takes `starting_after` (its `next` link is then a cursor). */
  cursor: boolean;
}

/**
 * The window a list request asks for. The validator has bounded the numbers; this applies the spec's
 * defaults. Lists that declare `starting_after` pass `cursorOf`, which turns an item id into the value
 * of the list's unique order column (the id itself, or a ledger line's sequence number).
 */
export function pageRequest(req: Request, cursorOf?: (id: string) => string | number): PageRequest {
  const page = Number(req.query.page ?? 1);
  const limit = Number(req.query.limit ?? 20);
  const startingAfter = queryString(req, 'starting_after');
  // The validator fills in page's default, so whether the caller sent one is read from the URL itself.
  if (startingAfter !== undefined && new URL(req.originalUrl, 'http://x').searchParams.has('page')) {
    throw invalidInput('/query/starting_after', 'Use page or starting_after, not both.', 'cannot be combined with page');
  }
  const after = startingAfter !== undefined && cursorOf ? cursorOf(startingAfter) : undefined;
  return { page, limit, offset: (page - 1) * limit, after, cursor: cursorOf !== undefined };
}

/** The cursor of a list ordered by its items' ids. */
export const byId = (id: string): string => id;

/** RFC 8288 links to the neighbours of this page, relative to the request (see components/headers/Link). */
function pageLinks(req: Request, page: PageRequest, at: { page: number; pages: number; hasMore: boolean; lastId: unknown }): string {
  const url = new URL(req.originalUrl, 'http://x');
  const link = (rel: string, set: Record<string, string>) => {
    const params = new URLSearchParams(url.searchParams);
    params.delete('page');
    params.delete('starting_after');
    for (const [name, value] of Object.entries(set)) params.set(name, value);
    return `<${url.pathname}?${params}>; rel="${rel}"`;
  };
  const links = [link('first', { page: '1' })];
  if (at.page > 1) links.push(link('prev', { page: String(at.page - 1) }));
  if (at.hasMore) {
    links.push(page.cursor && typeof at.lastId === 'string' ? link('next', { starting_after: at.lastId }) : link('next', { page: String(at.page + 1) }));
  }
  links.push(link('last', { page: String(Math.max(1, at.pages)) }));
  return links.join(', ');
}

export function sendPage<T, U>(res: Response, page: PageRequest, result: Page<T>, present: (row: T) => U): void {
  const data = result.rows.map(present);
  const current = Math.floor(result.offset / page.limit) + 1;
  const pages = Math.ceil(result.total / page.limit);
  const hasMore = result.offset + result.rows.length < result.total;
  res.set('Link', pageLinks(res.req, page, { page: current, pages, hasMore, lastId: (data.at(-1) as { id?: unknown } | undefined)?.id }));
  res.json({
    data,
    meta: { pagination: { page: current, limit: page.limit, total: result.total, total_pages: pages, has_more: hasMore } },
  });
}

/** Responses that carry a secret must never be stored by a cache or the browser. */
export function noStore(res: Response): Response {
  return res.set('Cache-Control', 'no-store').set('Pragma', 'no-cache');
}
