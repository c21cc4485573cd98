import createClient, { type Client } from 'openapi-fetch';
import request from 'supertest';
import type { paths } from '../../generated/openapi';
import type { TestApp } from './app';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * The API as a client typed by `generated/openapi.d.ts` (openapi-fetch): paths, parameters, bodies and
 * answers are checked by `npm run typecheck` against the contract, so a test that calls a path the spec
 * does not have, or reads a field an answer does not carry, does not compile. Requests go to the real
 * app in-process through supertest (no port); keep raw supertest for deliberately malformed requests.
 */
export function api(t: TestApp, token?: string): Client<paths> {
  return createClient<paths>({
    baseUrl: 'http://api.test',
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    fetch: async (input: Request) => {
      const url = new URL(input.url);
      let call = request(t.app)[input.method.toLowerCase() as Method](url.pathname + url.search);
      input.headers.forEach((value, name) => { call = call.set(name, value); });
      const body = await input.text();
      const res = body ? await call.send(body) : await call;
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
      }
      return new Response(res.status === 204 || res.status === 304 ? null : res.text, { status: res.status, headers });
    },
  });
}

/** The target of each RFC 8288 link of a `Link` header, by relation. */
export function links(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of (header ?? '').matchAll(/<([^>]*)>\s*;\s*rel="([^"]+)"/g)) out[match[2]!] = match[1]!;
  return out;
}
