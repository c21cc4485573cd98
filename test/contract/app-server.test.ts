/**
 * `npm start` serves the app on request and response objects that are born with the properties express
 * and our stages add later (src/http/server.ts). Declaring them must change nothing but speed: no
 * declared name may hide one of express's getters, and the same calls get the same answers as on a
 * plain node:http server.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import express from 'express';
import { createAppServer, ShapedRequest, ShapedResponse } from '../../src/http/server';
import { startTestApp, TestApp } from '../helpers/app';
import { bearer, createPat, createUser } from '../helpers/users';

/** The names a shaped object has as its own properties that a plain one does not. */
function declaredNames(shaped: object, plain: object): string[] {
  return Object.getOwnPropertyNames(shaped).filter((name) => !Object.prototype.hasOwnProperty.call(plain, name));
}

/** Where on a prototype chain a name is an accessor (a getter or setter), if anywhere. */
function accessorOwner(proto: object | null, name: string): object | undefined {
  for (let p = proto; p; p = Object.getPrototypeOf(p)) {
    const descriptor = Object.getOwnPropertyDescriptor(p, name);
    if (descriptor) return descriptor.get || descriptor.set ? p : undefined;
  }
  return undefined;
}

describe('shaped request and response objects', () => {
  const app = express();
  const plainRequest = new IncomingMessage(new Socket());
  const shapedRequest = new ShapedRequest(new Socket());
  plainRequest.method = shapedRequest.method = 'GET';
  const requestNames = declaredNames(shapedRequest, plainRequest);
  const responseNames = declaredNames(new ShapedResponse(shapedRequest), new ServerResponse(plainRequest));

  it('declare the properties express and our stages add', () => {
    expect(requestNames).toEqual(expect.arrayContaining(['res', 'next', 'params', 'cookies', 'requestId', 'operation', 'auth', 'rateLimit']));
    expect(responseNames).toEqual(expect.arrayContaining(['locals', 'statusCode']));
  });

  it.each([
    ['request', () => requestNames, app.request],
    ['response', () => responseNames, app.response],
  ])('declare no name the %s serves through a getter (req.query, req.ip, …)', (_kind, names, proto) => {
    for (const name of names()) expect([name, accessorOwner(proto, name)]).toEqual([name, undefined]);
  });

  it('start with the values the plain objects have', () => {
    const response = new ShapedResponse(shapedRequest);
    expect(response.statusCode).toBe(200);
    expect(response.statusMessage).toBeUndefined();
    for (const name of requestNames) expect((shapedRequest as unknown as Record<string, unknown>)[name]).toBeUndefined();
  });
});

describe('the app on the shaped server', () => {
  let t: TestApp;
  let pat: string;
  let postId: string;
  const servers: Server[] = [];
  let plainBase: string;
  let shapedBase: string;

  const listen = (server: Server) => new Promise<string>((ready) => {
    servers.push(server);
    server.listen(0, '127.0.0.1', () => ready(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });

  beforeAll(async () => {
    t = await startTestApp();
    const user = await createUser(t, { twoFactor: true });
    pat = (await createPat(t, user, { scopes: ['posts:read', 'posts:write'] })).token;
    plainBase = await listen(createServer(t.app));
    shapedBase = await listen(createAppServer(t.app));
    const created = await fetch(`${shapedBase}/api/posts`, {
      method: 'POST', headers: { ...bearer(pat), 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Shaped' }),
    });
    expect(created.status).toBe(201);
    postId = ((await created.json()) as { id: string }).id;
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
    await t.close();
  });

  /** Status, body (request ids and clocks aside) and the headers that carry meaning. */
  async function answer(base: string, method: string, path: string, init: RequestInit = {}) {
    const res = await fetch(`${base}${path}`, { ...init, method, headers: { ...bearer(pat), ...(init.headers as Record<string, string>) } });
    const text = await res.text();
    const body = text ? JSON.parse(text.replace(/req_[0-9a-f]{32}/g, 'req_…')) : null;
    return { status: res.status, body, allow: res.headers.get('allow'), rateLimit: res.headers.get('ratelimit-policy'), contentType: res.headers.get('content-type') };
  }

  it.each([
    ['GET', '/api/posts/{postId}', {}],
    ['HEAD', '/api/posts/{postId}', {}],
    ['GET', '/api/posts?limit=1&page=1', {}],
    ['GET', '/api/posts?limit=0', {}],
    ['GET', '/api/posts/post_missing', {}],
    ['PUT', '/api/posts/{postId}', {}],
    ['GET', '/api/nowhere', {}],
    ['PATCH', '/api/posts/{postId}', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Renamed' }) }],
    ['POST', '/api/posts', { headers: { 'content-type': 'application/json' }, body: '{"title":' }],
    ['GET', '/api/me', { headers: { cookie: 'gpx_session=stale' } }],
  ] as Array<[string, string, RequestInit]>)('%s %s answers as on a plain server', async (method, template, init) => {
    const path = template.replace('{postId}', postId);
    const plain = await answer(plainBase, method, path, init);
    const shaped = await answer(shapedBase, method, path, init);
    expect(shaped).toEqual(plain);
  });
});
