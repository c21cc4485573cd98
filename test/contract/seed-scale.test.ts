/**
 * scripts/seed-scale.ts, the bench's way to a million tokens and posts (issue 18), against every
 * migration of the schema: the copies are valid rows the API reads like any other, and no seeded token
 * hash can ever be matched by a real token.
 */
import request from 'supertest';
import { seedScale } from '../../scripts/seed-scale';
import { rowCount, startTestApp, TestApp } from '../helpers/app';
import { http } from '../helpers/typed-http';
import { createPat, createUser } from '../helpers/users';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

it('grows the tables to the asked totals with rows the API serves, and can be run again to grow further', async () => {
  const owner = await createUser(t, { twoFactor: true });
  const pat = await createPat(t, owner, { scopes: ['posts:read', 'posts:write', 'tokens:manage'] });
  const post = (await http(t, pat.token).post('/api/posts', { title: 'The template' }).expect(201)).body;
  const quiet = () => undefined;

  await seedScale(t.testDb.url, { tokens: 40, posts: 30 }, quiet);
  expect([await rowCount(t, 'personal_access_tokens'), await rowCount(t, 'posts')]).toEqual([40, 30]);
  await seedScale(t.testDb.url, { tokens: 55, posts: 30 }, quiet);
  expect([await rowCount(t, 'personal_access_tokens'), await rowCount(t, 'posts')]).toEqual([55, 30]);

  // Every seeded token hash is unique and not hex: no real token's SHA-256 can equal one.
  const hashes = (await t.database.knex('personal_access_tokens').select('token_hash')).map((r: { token_hash: string }) => r.token_hash);
  expect(new Set(hashes).size).toBe(55);
  expect(hashes.filter((h) => !/^[0-9a-f]{64}$/.test(h))).toHaveLength(54);

  // The copies are rows like any other: listed, readable, and the real token still works.
  const seeded = await t.database.knex('posts').whereNot('id', post.id).first('id');
  const read = await request(t.app).get(`/api/posts/${seeded.id}`).set('Authorization', `Bearer ${pat.token}`);
  expect(read.status).toBe(200);
  expect(read.body.title).toBe('The template');
  const tokens = await request(t.app).get('/api/tokens?limit=100').set('Authorization', `Bearer ${pat.token}`);
  expect(tokens.status).toBe(200);
  expect(tokens.body.data.length).toBeGreaterThan(1);
  // Tests validate every response against the spec: a seeded id of the wrong shape would have been a 500.
  expect(t.logs.filter((line) => line.includes('response outside the contract'))).toEqual([]);
});
