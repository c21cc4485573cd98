import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Express } from 'express';
import { createApp } from '../../src/app';
import { unseal } from '../../src/auth/seal';
import { closeContext, openContext } from '../../src/context';
import { parseKeyring } from '../../src/core/keyring';
import { createLogger } from '../../src/core/logger';
import { SEALED_COLUMNS } from '../../src/db/repositories/sealed.repository';
import { startTestApp, TEST_SECRETS, testConfig, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { signInBrowser } from '../helpers/session';
import { http } from '../helpers/typed-http';
import { createPat, createUser, totpCode, TestUser } from '../helpers/users';

/**
 * Keys rotate without logging anyone out (docs/operations.md): JWT_SECRET and DATA_KEY are rings, the
 * first key signs and seals and every key verifies and opens; `npm run keys:reseal` moves every sealed
 * value to the new key, after which the old key can go. Never: a rotation that signs people out, loses
 * a TOTP seed or webhook secret, or leaves a value only the dropped key opens.
 */
const OLD = { jwt: TEST_SECRETS.JWT_SECRET, data: TEST_SECRETS.DATA_KEY };
const NEW = { jwt: randomBytes(32).toString('base64url'), data: randomBytes(32).toString('base64url') };

let t: TestApp;
let user: TestUser;
const opened: Array<{ close(): Promise<void> }> = [];

/** Another instance on the same database and clock, with other keys: what a deploy with new env is. */
async function instanceWith(keys: { JWT_SECRET: string; DATA_KEY: string }): Promise<{ app: Express }> {
  const context = await openContext(testConfig(t.testDb.url, { WEBHOOKS_ALLOW_PRIVATE: 'true', ...keys }), createLogger('silent'), t.clock);
  opened.push({ close: () => closeContext(context) });
  return { app: createApp({ ...context, log: createLogger('silent') }) };
}

async function signIn(on: { app: Express }): Promise<string> {
  t.clock.advance(30); // each TOTP code works once
  const pending = await http(on).post('/api/auth/login', { email: user.email, password: user.password });
  expect(pending.status).toBe(200);
  const verified = await http(on, pending.body.pending_token).post('/api/auth/login/verify', { code: totpCode(user.totpSecret!, t.clock()) });
  expect(verified.status).toBe(200);
  return verified.body.token;
}

const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string;

const reseal = (keys: { JWT_SECRET: string; DATA_KEY: string }) => promisify(execFile)(
  process.execPath, [require.resolve('tsx/cli'), 'src/cli/reseal-keys.ts'],
  { env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: t.testDb.url, INTERNAL_API_KEY: TEST_SECRETS.INTERNAL_API_KEY, ...keys } },
);

beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
  user = await createUser(t, { twoFactor: true });
});
afterAll(async () => {
  for (const instance of opened) await instance.close();
  await t.close();
});

describe('rotating JWT_SECRET and DATA_KEY', () => {
  it('keeps every credential and sealed secret working through new,old, re-seal, then new alone', async () => {
    // Before: one JWT, one browser session, and three kinds of sealed secret, all under the old keys.
    const oldJwt = user.jwt;
    const browser = await signInBrowser(t, user);
    const pat = (await createPat(t, user, { scopes: ['webhooks:manage', 'workspaces:manage'] })).token;
    const endpoint = await http(t, pat).post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/rotation', events: ['post.created'] });
    expect(endpoint.status).toBe(201);
    const workspace = await http(t, pat).post('/api/workspaces', { name: 'rotation' });
    const rule = await http(t, pat).post(`/api/workspaces/${workspace.body.id}/rules`, { name: 'hook', trigger: 'WEBHOOK_EVENT', prompt_template: 'x' });
    expect(rule.status).toBe(201);

    // Phase 2 of the rotation: the new keys sign and seal, the old ones still verify and open.
    const rotated = await instanceWith({ JWT_SECRET: `${NEW.jwt},${OLD.jwt}`, DATA_KEY: `${NEW.data},${OLD.data}` });
    expect((await http(rotated, oldJwt).get('/api/tokens')).status).toBe(200);
    expect((await http(rotated, browser).post('/api/posts', { title: 'CSRF token from before the rotation' })).status).toBe(201);
    const newJwt = await signIn(rotated); // opens the TOTP seed sealed under the old key
    expect(kidOf(newJwt)).toBe(parseKeyring(NEW.jwt, 'JWT_SECRET').currentId);
    expect((await http(rotated, newJwt).get('/api/tokens')).status).toBe(200);

    // The operator re-seals: every sealed value moves to the new key; a second run has nothing to do.
    const first = await reseal({ JWT_SECRET: `${NEW.jwt},${OLD.jwt}`, DATA_KEY: `${NEW.data},${OLD.data}` });
    expect(first.stdout).toMatch(/users\.totp_secret_enc: 1 re-sealed/);
    expect(first.stdout).toMatch(/webhook_endpoints\.secret_sealed: 1 re-sealed/);
    expect(first.stdout).toMatch(/workspace_rules\.hook_secret_sealed: 1 re-sealed/);
    expect(first.stdout).toMatch(/every sealed value is under key/);
    const again = await reseal({ JWT_SECRET: `${NEW.jwt},${OLD.jwt}`, DATA_KEY: `${NEW.data},${OLD.data}` });
    expect(again.stdout).toMatch(/Done: 0 value\(s\) re-sealed/);

    // Phase 3: the old keys are gone. Every sealed value opens under the new key alone and holds the
    // same secret the user was shown.
    const newOnly = parseKeyring(NEW.data, 'DATA_KEY');
    for (const { table, columns } of SEALED_COLUMNS) {
      for (const column of columns) {
        for (const row of await t.database.knex(table).whereNotNull(column).select({ value: column })) {
          expect(row.value.startsWith(`v2.${newOnly.currentId}.`)).toBe(true);
          expect(() => unseal(newOnly, row.value)).not.toThrow();
        }
      }
    }
    const [stored] = await t.database.knex('webhook_endpoints').where({ id: endpoint.body.id }).select('secret_sealed');
    expect(unseal(newOnly, stored.secret_sealed)).toBe(endpoint.body.secret);
    const [hook] = await t.database.knex('workspace_rules').where({ id: rule.body.id }).select('hook_secret_sealed');
    expect(unseal(newOnly, hook.hook_secret_sealed)).toBe(rule.body.hook.secret);

    const done = await instanceWith({ JWT_SECRET: NEW.jwt, DATA_KEY: NEW.data });
    expect((await http(done, newJwt).get('/api/tokens')).status).toBe(200);
    expect((await http(done, await signIn(done)).get('/api/tokens')).status).toBe(200);
    // What only the dropped key signed ends: the JWT from before, and the CSRF token derived from it.
    expectError(await http(done, oldJwt).get('/api/tokens'), 401, 'invalid_token');
    expectError(await http(done, browser).post('/api/posts', { title: 'old CSRF' }), 403, 'csrf_failed');
  });

  it('stops the re-seal, naming the row, when a value is under a key that is not in the ring', async () => {
    const stranger = randomBytes(32).toString('base64url');
    await expect(reseal({ JWT_SECRET: NEW.jwt, DATA_KEY: stranger })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/keys:reseal could not run: users\.totp_secret_enc of usr_\w+: sealed under key \S+, which is not in the ring/),
    });
  });
});
