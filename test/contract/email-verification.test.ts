/**
 * Email verification through the mail outbox (issue 15). Invariants: an email counts as verified only
 * after the single-use token mailed to that very address comes back; no verification mail's text (its
 * link is a secret) is ever logged; an unverified user never accepts an invitation, and with
 * REQUIRE_VERIFIED_EMAIL never creates a token. Mail leaves by the log adapter, or by SMTP to a server
 * this test runs.
 */
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { MoneyJobs } from '../../src/jobs/money';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { http } from '../helpers/typed-http';
import { until } from '../helpers/wait';
import { createPat, createUser, freshJwt, verificationTokenFor } from '../helpers/users';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const jobs = (app: TestApp) => app.app.locals.moneyJobs as MoneyJobs;

it('mails a link at sign-up; the token verifies that email once, and never shows in the log', async () => {
  const user = await createUser(t, { unverified: true });
  expect((await http(t, user.jwt).get('/api/me')).body.user.email_verified).toBe(false);
  const mail = await t.repos.mail.latestTo(user.email);
  expect(mail!.subject).toContain('Verify');
  expect(mail!.text).toMatch(/\/verify-email#token=gpx_evt_/);
  const token = await verificationTokenFor(t, user.email);
  expect(await jobs(t).runOnce()).toMatchObject({ mailSent: expect.any(Number) });
  expect(t.logs.join('\n')).toContain(user.email);
  expect(t.logs.join('\n')).not.toContain(token);

  const verified = await http(t).post('/api/auth/email/verify', { token });
  expect(verified.status).toBe(200);
  expect(verified.body).toMatchObject({ id: user.id, email_verified: true });
  expectError(await http(t).post('/api/auth/email/verify', { token }), 404, 'not_found');
  expectError(await http(t).post('/api/auth/email/verify', { token: `gpx_evt_${'A'.repeat(32)}` }), 404, 'not_found');
  expectError(await http(t).post('/api/auth/email/verify').send({ token: 'not-a-token' }), 400, 'validation_failed');
  const stored = JSON.stringify(await t.database.knex('email_verifications').where({ user_id: user.id }));
  expect(stored).not.toContain(token);
});

it('sends a fresh link on request, at most once a minute; a link expires after 24 hours', async () => {
  const user = await createUser(t, { unverified: true });
  const first = await verificationTokenFor(t, user.email);
  t.clock.advance(61);
  const jwt = await freshJwt(t, user.id);
  expect((await http(t, jwt).post('/api/auth/email/verification')).status).toBe(202);
  const refused = await http(t, jwt).post('/api/auth/email/verification');
  expectError(refused, 429, 'rate_limited');
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  const second = await verificationTokenFor(t, user.email);
  expect(second).not.toBe(first);
  t.clock.advance(24 * 3600);
  expectError(await http(t).post('/api/auth/email/verify', { token: second }), 404, 'not_found');
  t.clock.advance(-24 * 3600);
});

it('needs a verified email to accept an invitation, even the right one', async () => {
  const owner = await createUser(t, { twoFactor: true });
  const org = (await http(t, owner.jwt).post('/api/organizations', { name: 'Verified only' })).body.id as string;
  const guest = await createUser(t, { unverified: true });
  const invite = await http(t, owner.jwt).post(`/api/organizations/${org}/invitations`, { email: guest.email, role: 'member' });
  expectError(await http(t, guest.jwt).post('/api/invitations/accept', { token: invite.body.token }), 403, 'email_unverified');
  expect((await http(t, owner.jwt).get(`/api/organizations/${org}/members`)).body.data).toHaveLength(1);
  await http(t).post('/api/auth/email/verify', { token: await verificationTokenFor(t, guest.email) }).expect(200);
  expect((await http(t, guest.jwt).post('/api/invitations/accept', { token: invite.body.token })).status).toBe(200);
});

it('with REQUIRE_VERIFIED_EMAIL, creates tokens only for a verified email', async () => {
  const strict = await startTestApp({ REQUIRE_VERIFIED_EMAIL: 'true' });
  try {
    const unverified = await createUser(strict, { twoFactor: true, unverified: true });
    expectError(await http(strict, unverified.jwt).post('/api/tokens', { name: 'x', scopes: ['posts:read'] }), 403, 'email_unverified');
    await http(strict).post('/api/auth/email/verify', { token: await verificationTokenFor(strict, unverified.email) }).expect(200);
    expect((await createPat(strict, unverified, { scopes: ['posts:read'] })).token).toMatch(/^gpx_pat_/);
  } finally {
    await strict.close();
  }
  // Off by default: the quick start needs no mail server.
  const user = await createUser(t, { twoFactor: true, unverified: true });
  expect((await http(t, user.jwt).post('/api/tokens', { name: 'x', scopes: ['posts:read'] })).status).toBe(201);
});

it('tells the owner of a token reported leaked, by mail', async () => {
  const owner = await createUser(t, { twoFactor: true });
  const pat = await createPat(t, owner, { scopes: ['posts:read'] });
  expect((await http(t).post('/api/credentials/revoke', { tokens: [pat.token] })).status).toBe(202);
  const mail = await until('the leak mail to the owner', async () => {
    const latest = await t.repos.mail.latestTo(owner.email);
    return latest?.subject.includes('leaked') ? latest : undefined;
  });
  expect(mail.text).toContain(pat.id);
  expect(mail.text).not.toContain(pat.token);
});

it('sends through SMTP when SMTP_URL is set, each mail once, keeps a mail the server refused for a retry, and loses none to a killed sender', async () => {
  const received: Array<{ to: string; text: string }> = [];
  let refuse = true;
  const smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'],
    onRcptTo(address, _session, callback) {
      callback(refuse ? Object.assign(new Error('mailbox busy'), { responseCode: 451 }) : undefined);
    },
    onData(stream, session, callback) {
      let text = '';
      stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address).join(','), text });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as AddressInfo).port;
  const app = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'GetPaidX <no-reply@example.com>' });
  try {
    const user = await createUser(app, { unverified: true });
    expect((await jobs(app).runOnce()).mailSent).toBe(0); // refused: stays in the outbox
    expect(received).toHaveLength(0);
    expect(app.logs.join('\n')).toContain('mail not sent');
    refuse = false;
    expect((await jobs(app).runOnce()).mailSent).toBe(1);
    expect((await jobs(app).runOnce()).mailSent).toBe(0); // sent once
    expect(received).toHaveLength(1);
    expect(received[0]!.to).toBe(user.email);
    // The text arrives quoted-printable: soft line breaks and =3D for "=".
    const text = received[0]!.text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    const token = /#token=(gpx_evt_[A-Za-z0-9]+)/.exec(text)?.[1];
    expect(token).toBeDefined();
    expect((await http(app).post('/api/auth/email/verify', { token: token! })).body.email_verified).toBe(true);

    // A sender killed mid-send (its lease taken, never finished): the mail is not lost, another pass
    // sends it once the lease has lapsed.
    const other = await createUser(app, { unverified: true });
    const pending = (await app.repos.mail.latestTo(other.email))!;
    const now = app.clock();
    expect(await app.repos.mail.claim(pending.id, now.toISOString(), new Date(now.getTime() + 120_000).toISOString())).toBe(true);
    expect((await jobs(app).runOnce()).mailSent).toBe(0);
    app.clock.advance(121);
    expect((await jobs(app).runOnce()).mailSent).toBe(1);
    expect(received.map((r) => r.to)).toEqual([user.email, other.email]);
  } finally {
    await app.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
});
