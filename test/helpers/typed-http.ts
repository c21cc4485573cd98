import request, { type Test } from 'supertest';
import type { paths } from '../../generated/openapi';
import type { TestApp } from './app';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A spec path with each `{parameter}` filled by any string: `/api/posts/{postId}` → `/api/posts/${string}`. */
type Filled<P extends string> = P extends `${infer Head}{${string}}${infer Tail}` ? `${Head}${string}${Filled<Tail>}` : P;

/** The spec paths that have an operation for `M`. */
type PathsWith<M extends Method> = { [P in keyof paths]: [NonNullable<paths[P][M]>] extends [never] ? never : P }[keyof paths];

/** A concrete URL a test may call with `M`: a spec path, filled in, with an optional query string. */
export type UrlFor<M extends Method> = Filled<PathsWith<M>> | `${Filled<PathsWith<M>>}?${string}`;

type WithoutQuery<U extends string> = U extends `${infer Path}?${string}` ? Path : U;

/** The spec path(s) a concrete URL is an instance of (a literal path such as `/api/tokens/current` may match a templated one too). */
type SpecPathOf<M extends Method, U extends string> = { [P in PathsWith<M>]: WithoutQuery<U> extends Filled<P> ? P : never }[PathsWith<M>];

type JsonBody<Op> = Op extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The JSON request body the contract declares for `M` on the operation(s) `U` addresses. */
export type BodyFor<M extends Method, U extends string> = JsonBody<NonNullable<paths[SpecPathOf<M, U>][M]>>;

type Send<M extends Method> = <U extends UrlFor<M>>(url: U, ...body: [BodyFor<M, U>] extends [never] ? [] : [body?: BodyFor<M, U>]) => Test;

export type TypedHttp = { [M in Method]: Send<M> };

/** A signed-in browser: its session cookie and the CSRF token that unsafe methods must echo. */
export interface BrowserCredential {
  cookie: string;
  csrf: string;
}

/**
 * The API over supertest, with requests typed by `generated/openapi.d.ts`: the URL must be an instance of
 * a path the contract has for that method, and the body must be the operation's request body, so a test
 * that calls a path or sends a field the spec does not have fails `npm run typecheck`. It answers a
 * supertest `Test`, so `.set()`, `.expect()` and `res.headers` work as usual. For answers typed too, use
 * the openapi-fetch client in `typed-api.ts`; keep raw supertest for deliberately malformed requests and
 * for the hosted pages outside the API.
 */
// `as` is a bearer credential (JWT or PAT) or a browser session.
export function http(t: Pick<TestApp, 'app'>, as?: string | BrowserCredential): TypedHttp {
  const call = (method: Method) => (url: string, ...body: unknown[]) => {
    let test = request(t.app)[method](url);
    if (typeof as === 'string') test = test.set('Authorization', `Bearer ${as}`);
    else if (as) test = test.set('Cookie', as.cookie).set('X-CSRF-Token', as.csrf);
    return body.length > 0 && body[0] !== undefined ? test.send(body[0] as object) : test;
  };
  return { get: call('get'), post: call('post'), put: call('put'), patch: call('patch'), delete: call('delete') } as TypedHttp;
}
