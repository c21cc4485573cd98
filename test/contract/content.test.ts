/**
 * The Content surface beyond plain posts: audience, pricing and scheduling on posts; places (read by
 * PAT, written only in the browser); artifacts attached to posts.
 */
import { createHash } from 'node:crypto';
import request from 'supertest';
import { rowCount, startTestApp, TestApp } from '../helpers/app';
import { asBytes } from '../helpers/bodies';
import { expectError } from '../helpers/errors';
import { BrowserSession, signInBrowser } from '../helpers/session';
import { bearer, createPat, createUser, freshJwt, TestUser, allScopes, type Scope } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let user: TestUser;
let writer: string;
let browser: BrowserSession;
const ALL_SCOPES = () => allScopes(t);
beforeAll(async () => {
  t = await startTestApp();
  user = await createUser(t, { twoFactor: true });
  writer = (await createPat(t, user, { scopes: ['posts:read', 'posts:write', 'places:read', 'artifacts:write'] })).token;
  browser = await signInBrowser(t, user);
});
afterAll(() => t.close());

const browserWrite = (r: request.Test) => r.set('Cookie', browser.cookie).set('X-CSRF-Token', browser.csrf);

async function newPost(token = writer): Promise<string> {
  const res = await http(t, token).post('/api/posts', { title: 'With files' }).expect(201);
  return res.body.id;
}

describe('posts: audience, pricing, scheduling', () => {
  it('start open to everyone, free, and not live until published', async () => {
    const res = await http(t, writer).post('/api/posts', { title: 'Defaults' });
    expect(res.body).toMatchObject({ audience_tags: [], pricing: { model: 'none', amount: null, currency: null }, publish_at: null, live: false });
  });

  it('keep audience tags and a one-time or monthly price', async () => {
    const res = await http(t, writer).post('/api/posts', { title: 'Paid', status: 'published', audience_tags: ['supporters', 'vip'], pricing: { model: 'monthly', amount: 900, currency: 'eur' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ audience_tags: ['supporters', 'vip'], pricing: { model: 'monthly', amount: 900, currency: 'eur' }, live: true });
    const back = await http(t, writer).patch(`/api/posts/${res.body.id}`, { audience_tags: [], pricing: { model: 'none' } });
    expect(back.body).toMatchObject({ audience_tags: [], pricing: { model: 'none', amount: null, currency: null } });
  });

  it('refuse a price without amount or currency, and an amount on a free post, with nothing written', async () => {
    const before = await t.database.knex('posts').count({ n: '*' }).first();
    expectError(await http(t, writer).post('/api/posts', { title: 'x', pricing: { model: 'one_time', amount: 500 } }), 400, 'invalid_pricing');
    expectError(await http(t, writer).post('/api/posts', { title: 'x', pricing: { model: 'none', amount: 500, currency: 'usd' } }), 400, 'invalid_pricing');
    expectError(await request(t.app).post('/api/posts').set(bearer(writer)).send({ title: 'x', pricing: { model: 'yearly' } }), 400, 'validation_failed');
    expectError(await http(t, writer).post('/api/posts', { title: 'x', audience_tags: ['Not A Tag!'] }), 400, 'validation_failed');
    expect(await t.database.knex('posts').count({ n: '*' }).first()).toEqual(before);
  });

  it('go live at their scheduled publish time', async () => {
    const at = new Date(t.clock().getTime() + 600_000).toISOString();
    const res = await http(t, writer).post('/api/posts', { title: 'Later', status: 'published', publish_at: at });
    expect(res.body).toMatchObject({ status: 'published', publish_at: at, live: false });
    t.clock.advance(601);
    expect((await http(t, writer).get(`/api/posts/${res.body.id}`)).body.live).toBe(true);
    // Later tests make tokens with this JWT: one whose sign-in is not 10 minutes old (sudo mode).
    user.jwt = await freshJwt(t, user.id);
  });
});

describe('places', () => {
  it('are created, edited and deleted in the browser, and read with a PAT', async () => {
    const created = await browserWrite(http(t).post('/api/places')).send({ name: 'Corner Café', address: '1 Main St, Springfield', latitude: 52.52, longitude: 13.405 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Corner Café', latitude: 52.52, longitude: 13.405, owner: { id: user.id } });
    expect(created.body.id).toMatch(/^plc_/);
    const id = created.body.id;
    expect((await http(t, writer).get(`/api/places/${id}`)).body.name).toBe('Corner Café');
    const edited = await browserWrite(http(t).patch(`/api/places/${id}`)).send({ name: 'Corner Bakery' });
    expect(edited.body.name).toBe('Corner Bakery');
    expect((await browserWrite(http(t).delete(`/api/places/${id}`))).status).toBe(204);
    expectError(await http(t, writer).get(`/api/places/${id}`), 404, 'not_found');
  });

  it('refuse a PAT on every write, even one holding every scope, with nothing written', async () => {
    const everything = (await createPat(t, user, { scopes: ALL_SCOPES() })).token;
    const place = await browserWrite(http(t).post('/api/places')).send({ name: 'Mine', address: 'Here', latitude: 1, longitude: 2 });
    const before = await t.database.knex('places').select('*').orderBy('id');
    expectError(await http(t, everything).post('/api/places', { name: 'X', address: 'Y', latitude: 0, longitude: 0 }), 403, 'auth_mode_not_allowed');
    expectError(await http(t, everything).patch(`/api/places/${place.body.id}`, { name: 'X' }), 403, 'auth_mode_not_allowed');
    expectError(await http(t, everything).delete(`/api/places/${place.body.id}`), 403, 'auth_mode_not_allowed');
    expectError(await http(t, user.jwt).post('/api/places', { name: 'X', address: 'Y', latitude: 0, longitude: 0 }), 403, 'auth_mode_not_allowed');
    expect(await t.database.knex('places').select('*').orderBy('id')).toEqual(before);
  });

  it('are searched by name or address, case-insensitively, with wildcards taken literally', async () => {
    const searcher = await createUser(t, { twoFactor: true });
    const s = await signInBrowser(t, searcher);
    for (const [name, address] of [['Blue Door', 'Harbour Road 5'], ['Green Gate', '12 Blue Lane'], ['100% Vegan', 'Market 1']]) {
      await request(t.app).post('/api/places').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).send({ name, address, latitude: 0, longitude: 0 }).expect(201);
    }
    const pat = (await createPat(t, searcher, { scopes: ['places:read'] })).token;
    const names = async (q: string) => (await http(t, pat).get(`/api/places?q=${encodeURIComponent(q)}`)).body.data.map((p: any) => p.name).sort();
    expect(await names('blue')).toEqual(['Blue Door', 'Green Gate']);
    expect(await names('%')).toEqual(['100% Vegan']);
    expect(await names('_')).toEqual([]);
    const page = await http(t, pat).get('/api/places?limit=2');
    expect(page.body.meta.pagination).toEqual({ page: 1, limit: 2, total: 3, total_pages: 2, has_more: true });
  });

  it('validate coordinates', async () => {
    expectError(await browserWrite(http(t).post('/api/places')).send({ name: 'X', address: 'Y', latitude: 91, longitude: 0 }), 400, 'validation_failed');
  });
});

describe('artifacts', () => {
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(100, 7)]);

  it('are attached as raw bytes, listed, downloaded byte for byte, replaced and deleted', async () => {
    const postId = await newPost();
    const created = await request(t.app).post(`/api/posts/${postId}/artifacts?filename=cover.png`).set(bearer(writer)).set('Content-Type', 'image/png').send(png);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ post_id: postId, name: 'cover.png', content_type: 'image/png', size_bytes: png.length, sha256: createHash('sha256').update(png).digest('hex') });
    const id = created.body.id;

    expect((await http(t, writer).get(`/api/posts/${postId}/artifacts/${id}`)).body).toEqual(created.body);
    const list = await http(t, writer).get(`/api/posts/${postId}/artifacts`);
    expect(list.body.data.map((a: any) => a.id)).toEqual([id]);
    const download = await http(t, writer).get(`/api/posts/${postId}/artifacts/${id}/content`).buffer(true).parse(asBytes);
    expect(download.status).toBe(200);
    expect(Buffer.compare(download.body, png)).toBe(0);
    expect(download.headers['content-disposition']).toContain('attachment; filename="cover.png"');
    expect(download.headers['x-content-sha256']).toBe(created.body.sha256);
    expect(download.headers['content-type']).toBe('application/octet-stream');

    const replaced = await http(t, writer).put(`/api/posts/${postId}/artifacts/${id}`, { name: 'notes.txt', content_type: 'text/plain', content_base64: Buffer.from('hello world').toString('base64') });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id, name: 'notes.txt', content_type: 'text/plain', size_bytes: 11, sha256: createHash('sha256').update('hello world').digest('hex') });

    expect((await http(t, writer).delete(`/api/posts/${postId}/artifacts/${id}`)).status).toBe(204);
    expectError(await http(t, writer).get(`/api/posts/${postId}/artifacts/${id}`), 404, 'not_found');
  });

  it('are attached as base64 JSON', async () => {
    const postId = await newPost();
    const res = await http(t, writer).post(`/api/posts/${postId}/artifacts`, { name: 'data.csv', content_type: 'text/csv', content_base64: Buffer.from('a,b\n1,2\n').toString('base64') });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'data.csv', content_type: 'text/csv', size_bytes: 8 });
  });

  it('refuse files over 5 MB with 413, raw or base64, with nothing written', async () => {
    const postId = await newPost();
    const big = Buffer.alloc(5 * 1024 * 1024 + 1, 1);
    expectError(await request(t.app).post(`/api/posts/${postId}/artifacts?filename=big.png`).set(bearer(writer)).set('Content-Type', 'image/png').send(big), 413, 'payload_too_large');
    expectError(await http(t, writer).post(`/api/posts/${postId}/artifacts`, { name: 'big.txt', content_type: 'text/plain', content_base64: big.toString('base64') }), 413, 'payload_too_large');
    const exactly = Buffer.alloc(5 * 1024 * 1024, 1);
    expect((await request(t.app).post(`/api/posts/${postId}/artifacts?filename=max.png`).set(bearer(writer)).set('Content-Type', 'image/png').send(exactly)).status).toBe(201);
    expect(await rowCount(t, 'artifacts', { post_id: postId })).toBe(1);
  });

  it('refuse content types off the allow-list with 415, raw or base64', async () => {
    const postId = await newPost();
    expectError(await request(t.app).post(`/api/posts/${postId}/artifacts?filename=a.exe`).set(bearer(writer)).set('Content-Type', 'application/x-msdownload').send(Buffer.from('MZ')), 415, 'unsupported_media_type');
    expectError(await http(t, writer).post(`/api/posts/${postId}/artifacts`, { name: 'page.html', content_type: 'text/html', content_base64: Buffer.from('<script>').toString('base64') }), 415, 'unsupported_media_type');
    expect(await rowCount(t, 'artifacts', { post_id: postId })).toBe(0);
  });

  it('explain bad uploads: no filename, bad base64, empty file', async () => {
    const postId = await newPost();
    expectError(await request(t.app).post(`/api/posts/${postId}/artifacts`).set(bearer(writer)).set('Content-Type', 'text/plain').send('hi'), 400, 'filename_required');
    expectError(await http(t, writer).post(`/api/posts/${postId}/artifacts`, { name: 'a.txt', content_type: 'text/plain', content_base64: 'not base64!' }), 400, 'invalid_base64');
    expectError(await http(t, writer).post(`/api/posts/${postId}/artifacts`, { name: 'a.txt', content_type: 'text/plain', content_base64: '' }), 400, 'empty_file');
  });

  it('need artifacts:write to attach and only posts:read to list and download', async () => {
    const postId = await newPost();
    const reader = (await createPat(t, user, { scopes: ['posts:read'] })).token;
    const res = await request(t.app).post(`/api/posts/${postId}/artifacts?filename=a.txt`).set(bearer(reader)).set('Content-Type', 'text/plain').send('hi');
    expectError(res, 403, 'insufficient_scope');
    expect(res.body.error.details.missing_scopes).toEqual(['artifacts:write']);
    expect((await http(t, reader).get(`/api/posts/${postId}/artifacts`)).status).toBe(200);
  });

  it('go with their post', async () => {
    const postId = await newPost();
    await request(t.app).post(`/api/posts/${postId}/artifacts?filename=a.txt`).set(bearer(writer)).set('Content-Type', 'text/plain').send('hi').expect(201);
    await http(t, writer).delete(`/api/posts/${postId}`).expect(204);
    expect(await rowCount(t, 'artifacts', { post_id: postId })).toBe(0);
  });
});
