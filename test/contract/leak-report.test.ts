/**
 * POST /api/credentials/revoke, the leaked-token report (issue 15). Never: a live reported token that
 * keeps working, an answer (body or status) that tells a live value from a dead one, or a database
 * lookup spent on a value whose checksum is wrong.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { generatePat } from '../../src/auth/token-format';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { PROJECT_ROOT } from '../helpers/server';
import { http } from '../helpers/typed-http';
import { until } from '../helpers/wait';
import { createPat, createUser, TestUser } from '../helpers/users';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
  owner = await createUser(t, { twoFactor: true });
  expect((await http(t, owner.jwt).post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/leaks', events: ['token.revoked'] })).status).toBe(201);
});
afterAll(() => t.close());

const report = (tokens: string[]) => http(t).post('/api/credentials/revoke', { tokens });
const status = async (token: string) => (await http(t, token).get('/api/posts')).status;

/** A well-formed value with one character of its checksum changed. */
const badChecksum = (token: string) => token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');

describe('reporting leaked tokens', () => {
  it('revokes the live ones with their lineage, audits and announces them, and answers the same 202 for anything', async () => {
    const leaked = await createPat(t, owner, { scopes: ['tokens:manage', 'posts:read'] });
    const child = await http(t, leaked.token).post('/api/tokens', { name: 'child', scopes: ['posts:read'] });
    const untouched = await createPat(t, owner, { scopes: ['posts:read'] });
    const revokedBefore = await createPat(t, owner, { scopes: ['posts:read'] });
    await http(t, owner.jwt).delete(`/api/tokens/${revokedBefore.id}`);

    // Each kind of value alone gets the very same answer.
    const answers = [];
    for (const value of [generatePat(), badChecksum(generatePat()), 'not a token at all', revokedBefore.token]) answers.push(await report([value]));
    answers.push(await report([leaked.token]));
    for (const res of answers) expect({ status: res.status, body: res.body }).toEqual({ status: 202, body: { received: 1 } });

    await until('the reported token to be revoked', async () => (await status(leaked.token)) === 401, 2000);
    expect(await status(child.body.token)).toBe(401);
    expect(await status(untouched.token)).toBe(200);
    const audited = await t.database.knex('audit_events').where({ type: 'token.revoked_as_leaked' }).select('token_id', 'details');
    expect(audited.map((a: { token_id: string }) => a.token_id).sort()).toEqual([leaked.id, child.body.id].sort());
    const events = (await t.database.knex('webhook_events').where({ type: 'token.revoked', user_id: owner.id }).select('payload')).map((e: { payload: string }) => JSON.parse(e.payload).data);
    expect(events).toEqual(expect.arrayContaining([{ id: leaked.id, by: 'leak_report' }, { id: child.body.id, by: 'leak_report', ancestor_id: leaked.id }]));
    // Reported again, it is simply received again.
    expect((await report([leaked.token, leaked.token])).body).toEqual({ received: 2 });
  });

  it('spends no database lookup on values whose checksum is wrong', async () => {
    const queries: string[] = [];
    const watch = (q: { sql: string }) => queries.push(q.sql);
    t.database.knex.on('query', watch);
    try {
      const garbage = Array.from({ length: 100 }, (_, i) => (i % 2 ? badChecksum(generatePat()) : `gpx_pat_${'x'.repeat(i)}`));
      expect((await report(garbage)).body).toEqual({ received: 100 });
    } finally {
      t.database.knex.off('query', watch);
    }
    expect(queries.filter((sql) => sql.includes('personal_access_tokens'))).toEqual([]);
  });

  it('takes at most 100 values, each at most 200 characters, with no credential needed', async () => {
    expectError(await report(Array.from({ length: 101 }, generatePat)), 400, 'validation_failed');
    expectError(await report(['x'.repeat(201)]), 400, 'validation_failed');
    expectError(await report([]), 400, 'validation_failed');
  });
});

describe('scripts/pat-checksum.mjs', () => {
  it('tells a well-formed token from a mistyped one, offline, as the server does', () => {
    const check = (value: string) => {
      try {
        return { code: 0, out: execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts/pat-checksum.mjs'), value], { encoding: 'utf8' }) };
      } catch (err) {
        return { code: (err as { status: number }).status, out: String((err as { stdout: string }).stdout) };
      }
    };
    const good = generatePat();
    expect(check(good)).toMatchObject({ code: 0, out: expect.stringContaining('well-formed') });
    expect(check(badChecksum(good))).toMatchObject({ code: 1, out: expect.stringContaining('checksum') });
    expect(check('gpx_pat_short')).toMatchObject({ code: 1 });
  });
});
