/** When the database cannot be reached the API fails closed: 503, never a 200 and never a bare 500. */
import { startTestApp, TestApp } from '../helpers/app';
import { postgresTestUrl } from '../helpers/database';
import { expectError } from '../helpers/errors';
import { createPat, createUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
afterEach(() => t?.close());

it('refuses with 503 and Retry-After once the database is gone, for tokens, JWTs and sign-ins alike', async () => {
  t = await startTestApp();
  const user = await createUser(t, { twoFactor: true });
  const pat = await createPat(t, user, { scopes: ['posts:read'] });
  await http(t, pat.token).get('/api/posts').expect(200);

  // Every connection this instance has: knex's pool and, on PostgreSQL, the hot-path reader's.
  await t.database.destroy();
  for (const res of [
    await http(t, pat.token).get('/api/posts'),
    await http(t, user.jwt).get('/api/me'),
    await http(t).post('/api/auth/login', { email: user.email, password: user.password }),
  ]) {
    expectError(res, 503, 'service_unavailable');
    expect(res.headers['retry-after']).toBe('5');
  }
  // Nothing about the request needs the database here, so it is still answered.
  expectError(await http(t).get('/api/posts'), 401, 'authentication_required');
});

// Skipped, and counted as skipped, on the SQLite pass: an embedded database has no connections to cut.
if (!postgresTestUrl) console.log('skipped: the connection-cut case is for PostgreSQL (TEST_DATABASE_URL); SQLite is embedded');
(postgresTestUrl ? it : it.skip)('on PostgreSQL, recovers by itself when the connections are cut', async () => {
  t = await startTestApp();
  const user = await createUser(t, { twoFactor: true });
  const pat = await createPat(t, user, { scopes: ['posts:read'] });
  await http(t, pat.token).get('/api/posts').expect(200);
  const admin = (await import('knex')).default({ client: 'pg', connection: postgresTestUrl });
  const name = (await t.database.knex.raw('select current_database() as db')).rows[0].db;
  await admin.raw('select pg_terminate_backend(pid) from pg_stat_activity where datname = ? and pid <> pg_backend_pid()', [name]);
  await admin.destroy();
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await http(t, pat.token).get('/api/posts')).status);
  expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
  expect(statuses[statuses.length - 1]).toBe(200);
});
