/**
 * Secrets are shown once and stored nowhere readable: after a run through every flow that issues or
 * receives one, neither the database nor the captured log contains any of them.
 */
import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { signInBrowser } from '../helpers/session';
import { bearer, createPat, createUser, totpCode } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
const secrets: string[] = [];
beforeAll(async () => {
  t = await startTestApp({ LOG_LEVEL: 'debug', WEBHOOKS_ALLOW_PRIVATE: 'true' });
});
afterAll(() => t.close());

async function databaseDump(): Promise<string> {
  const tables = ['users', 'personal_access_tokens', 'sessions', 'posts', 'audit_events', 'totp_used_steps', 'organization_invitations', 'organization_members', 'idempotency_keys', 'usage_counters', 'webhook_endpoints', 'webhook_events', 'webhook_deliveries'];
  return JSON.stringify(await Promise.all(tables.map((name) => t.database.knex(name).select('*'))));
}

it('never stores or logs a raw token, password, code secret, cookie or JWT', async () => {
  const user = await createUser(t, { twoFactor: true });
  secrets.push(user.password, user.jwt, user.totpSecret!);

  const pending = await http(t).post('/api/auth/login', { email: user.email, password: user.password });
  secrets.push(pending.body.pending_token);
  await http(t).post('/api/auth/login', { email: user.email, password: 'a-wrong-password-attempt' });
  secrets.push('a-wrong-password-attempt');

  const pat = await createPat(t, user, { scopes: ['posts:read', 'posts:write', 'tokens:manage'] });
  secrets.push(pat.token);
  await http(t, pat.token).get('/api/posts');
  await http(t).get(`/api/posts?access_token=${pat.token}`);
  await http(t, pat.token.slice(0, -2) + 'zz').get('/api/posts');
  const child = await http(t, pat.token).post('/api/tokens', { name: 'child', scopes: ['posts:read'] });
  secrets.push(child.body.token);
  const rotated = await http(t, user.jwt).post(`/api/tokens/${pat.id}/rotate`);
  secrets.push(rotated.body.token);
  await http(t, pat.token).get('/api/posts');

  const browser = await signInBrowser(t, user);
  secrets.push(browser.cookie.split('=')[1]!, browser.csrf);
  await http(t, browser).post('/api/auth/password', { current_password: user.password, new_password: 'the-next-long-passphrase' });
  secrets.push('the-next-long-passphrase');

  const fresh = await createUser(t);
  const setup = await http(t, fresh.jwt).post('/api/auth/2fa/setup');
  secrets.push(setup.body.secret, fresh.password);
  await http(t, fresh.jwt).post('/api/auth/2fa/enable', { code: totpCode(setup.body.secret, t.clock()) });
  // An invitation token travels in a URL path: neither the log nor the database may keep it.
  const host = await createUser(t);
  const invitee = await createUser(t);
  const org = await http(t, host.jwt).post('/api/organizations', { name: 'Secretive' }).set('Idempotency-Key', 'org-1');
  const invitation = await http(t, host.jwt).post(`/api/organizations/${org.body.id}/invitations`, { email: invitee.email, role: 'member' }).set('Idempotency-Key', 'inv-1');
  secrets.push(invitation.body.token, invitee.password, host.password);
  await request(t.app).post(invitation.body.accept_path).set(bearer(invitee.jwt)).send({ token: invitation.body.token }).expect(200);
  await http(t, host.jwt).post(`/api/organizations/${org.body.id}/invitations`, { email: invitee.email, role: 'member' }).set('Idempotency-Key', 'inv-1').expect(409);
  // A webhook signing secret is sealed at rest (the server must sign with it) and never logged.
  const hook = await http(t, host.jwt).post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/hook', events: ['post.created'] });
  const rotatedHook = await http(t, host.jwt).post(`/api/webhooks/endpoints/${hook.body.id}/rotate-secret`);
  secrets.push(hook.body.secret, rotatedHook.body.secret, hook.body.secret.slice('whsec_'.length));
  await http(t, t.config.internalApiKey).get('/api/me');
  secrets.push(t.config.internalApiKey);

  expect(t.logs.length).toBeGreaterThan(20);
  const log = t.logs.join('\n');
  const dump = await databaseDump();
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(7);
    expect(log.includes(secret)).toBe(false);
    expect(dump.includes(secret)).toBe(false);
  }
  // The log does say what happened, by id.
  expect(log).toContain(pat.id);
  expect(log).toContain('"operation_id":"listPosts"');
});
