/**
 * Password rules (issue 15). Never: a password that bcrypt would silently cut short (so "A"×72 + anything
 * signs in), or a common, easily guessed one; never an account half-made by a refused sign-up.
 */
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { http } from '../helpers/typed-http';
import { createUser } from '../helpers/users';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

let n = 0;
const signUp = (password: string, email = `pw${++n}@example.com`) => http(t).post('/api/auth/signup', { email, password });
const users = async () => Number((await t.database.knex('users').count({ n: '*' }).first())!.n);

describe('a new password', () => {
  it('over 72 bytes is refused with the byte count, never cut short; 72 bytes is fine', async () => {
    const before = await users();
    const long = await signUp(`${'correct horse battery staple '.repeat(3)}`.slice(0, 73));
    expectError(long, 400, 'password_too_long');
    expect(long.body.error.details).toEqual({ max_bytes: 72, bytes: 73 });
    expect(long.body.error.message).toContain('at most 72 bytes');
    // Bytes, not characters: 37 two-byte letters are 74 bytes.
    expect((await signUp('é'.repeat(37))).body.error).toMatchObject({ code: 'password_too_long', details: { bytes: 74 } });
    expect(await users()).toBe(before);
    const exactly = 'correct horse battery staple '.repeat(3).slice(0, 72);
    const email = `pw-exact${++n}@example.com`;
    expect((await signUp(exactly, email)).status).toBe(201);
    // The prefix alone does not sign in: all 72 bytes count.
    expect((await http(t).post('/api/auth/login', { email, password: exactly.slice(0, 71) })).status).toBe(401);
    expect((await http(t).post('/api/auth/login', { email, password: exactly })).status).toBe(200);
  });

  it.each([
    ['12345678', /heavily used|frequently used|commonly used/],
    ['password', /heavily used|frequently used|commonly used/],
    ['qwertyuiop', /used password|keyboard/],
    ['Passw0rd!', /similar to a commonly used password/],
  ])('%s is refused as too easy to guess, saying why', async (password, why) => {
    const before = await users();
    const res = await signUp(password);
    expectError(res, 400, 'weak_password');
    expect(res.body.error.message).toMatch(why);
    expect(res.body.error.details.score).toBeLessThan(3);
    expect(await users()).toBe(before);
  });

  it('counts the account\'s own email as guessable', async () => {
    expectError(await signUp('ada.lovelace.1815@example.com', 'ada.lovelace.1815@example.com'), 400, 'weak_password');
  });

  it('holds for a changed password too, and a refused change leaves the old one working', async () => {
    const user = await createUser(t);
    expectError(await http(t, user.jwt).post('/api/auth/password', { current_password: user.password, new_password: 'password1' }), 400, 'weak_password');
    expectError(await http(t, user.jwt).post('/api/auth/password', { current_password: user.password, new_password: 'x'.repeat(73) }), 400, 'password_too_long');
    expect((await http(t).post('/api/auth/login', { email: user.email, password: user.password })).status).toBe(200);
  });
});

describe('the strength meter (checkPasswordStrength)', () => {
  const rate = (password: string, personal: { email?: string; name?: string } = {}) => http(t).post('/api/auth/password-strength', { password, ...personal });

  it('agrees with sign-up on every candidate: acceptable exactly when sign-up takes it', async () => {
    const candidates = ['12345678', 'password', 'qwertyuiop', 'Summer2024!', 'violet tundra marmalade quarrel', 'correct horse battery staple', 'A'.repeat(73), 'é'.repeat(37)];
    for (const password of candidates) {
      const email = `meter${++n}@example.com`;
      const rating = await rate(password, { email });
      expect(rating.status).toBe(200);
      expect(rating.headers['cache-control']).toBe('no-store');
      const signed = await signUp(password, email);
      expect({ password, acceptable: rating.body.acceptable }).toEqual({ password, acceptable: signed.status === 201 });
      if (!rating.body.acceptable) expect(['weak_password', 'password_too_long']).toContain(signed.body.error.code);
    }
  });

  it('scores, explains and counts the email and name as guessable', async () => {
    const weak = (await rate('password')).body;
    expect(weak).toMatchObject({ score: 0, acceptable: false, min_score: 3, too_long: false });
    expect(weak.warning).toMatch(/used/);
    const strong = (await rate('violet tundra marmalade quarrel')).body;
    expect(strong).toMatchObject({ acceptable: true, too_long: false });
    expect(strong.score).toBeGreaterThanOrEqual(3);
    const own = 'quackenbush.zephyrinus@example.com';
    expect((await rate(own)).body.acceptable).toBe(true);
    expect((await rate(own, { email: own })).body).toMatchObject({ acceptable: false });
    expect((await rate('Zephyrinus Quackenbush', { name: 'Zephyrinus Quackenbush' })).body).toMatchObject({ acceptable: false });
    expect((await rate('x'.repeat(80))).body).toMatchObject({ too_long: true, acceptable: false });
  });

  it('refuses a body it does not know, and never logs the password', async () => {
    expectError(await http(t).post('/api/auth/password-strength').send({ password: 'x', extra: 1 }), 400, 'validation_failed');
    expectError(await http(t).post('/api/auth/password-strength').send({}), 400, 'validation_failed');
    const secret = 'unmistakable-marker-ZQX9 fern';
    await rate(secret);
    expect(t.logs.join('\n')).not.toContain('ZQX9');
  });
});
