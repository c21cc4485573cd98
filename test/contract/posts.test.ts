import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let user: TestUser;
let token: string;
beforeAll(async () => {
  t = await startTestApp();
  user = await createUser(t, { twoFactor: true });
  token = (await createPat(t, user, { scopes: ['posts:read', 'posts:write'] })).token;
});
afterAll(() => t.close());

describe('posts', () => {
  it('can be created, read, edited and deleted with a PAT', async () => {
    const created = await http(t, token).post('/api/posts', { title: 'Hello', body: 'World' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'Hello', body: 'World', status: 'draft' });
    expect(created.body.id).toMatch(/^post_/);
    const id = created.body.id;
    expect((await http(t, token).get(`/api/posts/${id}`)).body.title).toBe('Hello');
    t.clock.advance(5);
    const patched = await http(t, token).patch(`/api/posts/${id}`, { status: 'published' });
    expect(patched.body).toMatchObject({ title: 'Hello', status: 'published' });
    expect(patched.body.updated_at > created.body.updated_at).toBe(true);
    expect((await http(t, token).delete(`/api/posts/${id}`)).status).toBe(204);
    expectError(await http(t, token).get(`/api/posts/${id}`), 404, 'not_found');
  });

  it('are listed newest first with page/limit and meta.pagination, filterable by status', async () => {
    const writer = await createUser(t, { twoFactor: true });
    const pat = (await createPat(t, writer, { scopes: ['posts:read', 'posts:write'] })).token;
    for (let i = 1; i <= 5; i++) {
      t.clock.advance(1);
      await http(t, pat).post('/api/posts', { title: `post ${i}`, status: i % 2 ? 'published' : 'draft' }).expect(201);
    }
    const page = await http(t, pat).get('/api/posts?page=2&limit=2');
    expect(page.status).toBe(200);
    expect(page.body.data.map((p: any) => p.title)).toEqual(['post 3', 'post 2']);
    expect(page.body.meta.pagination).toEqual({ page: 2, limit: 2, total: 5, total_pages: 3, has_more: true });
    const published = await http(t, pat).get('/api/posts?status=published');
    expect(published.body.data).toHaveLength(3);
  });

  it.each([
    ['limit=0', 'limit=0'], ['limit=101', 'limit=101'], ['limit=1000000', 'limit=1000000'], ['page=0', 'page=0'],
    ['limit=abc', 'limit=abc'], ['status=deleted', 'status=deleted'], ['an unknown parameter', 'sort=title'],
  ])('refuses %s with a 400', async (_name, query) => {
    expectError(await http(t, token).get(`/api/posts?${query}`), 400, 'validation_failed');
  });

  it.each([
    ['no title', { body: 'x' }],
    ['an empty title', { title: '' }],
    ['a title too long', { title: 'x'.repeat(201) }],
    ['a wrong type', { title: 42 }],
    ['an unknown property', { title: 'x', user_id: 'usr_someone' }],
    ['a bad status', { title: 'x', status: 'live' }],
  ])('refuses a post with %s and writes nothing', async (_name, body) => {
    const before = await t.database.knex('posts').count({ n: '*' }).first();
    expectError(await request(t.app).post('/api/posts').set(bearer(token)).send(body), 400, 'validation_failed');
    expect(await t.database.knex('posts').count({ n: '*' }).first()).toEqual(before);
  });

  it('refuses an empty edit', async () => {
    const created = await http(t, token).post('/api/posts', { title: 'x' });
    expectError(await http(t, token).patch(`/api/posts/${created.body.id}`, {}), 400, 'validation_failed');
  });

  it('of another user are not found (BOLA): never read, changed or deleted', async () => {
    const created = await http(t, token).post('/api/posts', { title: 'mine', body: 'secret draft' });
    const other = await createUser(t, { twoFactor: true });
    const otherPat = (await createPat(t, other, { scopes: ['posts:read', 'posts:write'] })).token;
    const id = created.body.id;
    for (const res of [
      await http(t, otherPat).get(`/api/posts/${id}`),
      await http(t, otherPat).patch(`/api/posts/${id}`, { title: 'pwned' }),
      await http(t, otherPat).delete(`/api/posts/${id}`),
    ]) {
      expectError(res, 404, 'not_found');
      expect(JSON.stringify(res.body)).not.toContain('secret draft');
    }
    expect((await http(t, otherPat).get('/api/posts')).body.data).toEqual([]);
    expect((await http(t, token).get(`/api/posts/${id}`)).body.title).toBe('mine');
  });
});
