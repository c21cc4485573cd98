/**
 * Sign-in under attack (issue 14): wrong passwords are refused per (account, address) and per address,
 * and only slow the account down everywhere else, so no attacker can keep the owner out: the right
 * password and code still get in while the attack goes on. Addresses come from X-Forwarded-For
 * (TRUST_PROXY); the window runs on the test clock.
 */
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { createUser, totpCode } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ TRUST_PROXY: 'true', AUTH_MAX_FAILURES: '5', AUTH_THROTTLE_WINDOW_SECONDS: '900' });
});
afterAll(() => t.close());

const from = (ip: string) => ({ 'X-Forwarded-For': ip });
const login = (ip: string, email: string, password: string) => http(t).post('/api/auth/login', { email, password }).set(from(ip));
const slowed = () => t.logs.filter((line) => line.includes('sign-in slowed')).map((line) => JSON.parse(line) as { delay_ms: number; account_failures: number });

it('keeps the owner in: 60 wrong passwords from 12 addresses, then the right password and code from home get in', async () => {
  const owner = await createUser(t, { twoFactor: true });
  const logsBefore = slowed().length;
  const statuses: number[] = [];
  for (let a = 0; a < 12; a++) {
    for (let i = 0; i < 5; i++) statuses.push((await login(`203.0.113.${a}`, owner.email, `wrong-${a}-${i}`)).status);
    // The sixth try from the same address is refused: that pair is over its limit.
    const refused = await login(`203.0.113.${a}`, owner.email, owner.password);
    expectError(refused, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  }
  expect(statuses.every((s) => s === 401)).toBe(true);

  // The owner, from an address the attacker never used: slowed, never refused.
  t.clock.advance(30);
  const pending = await login('198.51.100.7', owner.email, owner.password);
  expect(pending.status).toBe(200);
  const verified = await http(t).post('/api/auth/login/verify', { code: totpCode(owner.totpSecret!, t.clock()) }).set(from('198.51.100.7')).set('Authorization', `Bearer ${pending.body.pending_token}`);
  expect(verified.status).toBe(200);
  expect(verified.body.token).toBeTruthy();

  // Past five failures every attempt on the account waited, longer and longer, up to the cap.
  const delays = slowed().slice(logsBefore).map((l) => l.delay_ms);
  expect(delays.length).toBeGreaterThan(50);
  expect(delays.slice(0, 4)).toEqual([1, 2, 4, 8]);
  expect(Math.max(...delays)).toBe(8);
});

it('refuses an address that tries many accounts, whoever they belong to', async () => {
  const accounts = await Promise.all(Array.from({ length: 6 }, () => createUser(t)));
  let refused = 0;
  // 5 × 5 = 25 failures are the address's limit; each account sees only 5 of them.
  for (let round = 0; round < 6; round++) {
    for (const account of accounts) if ((await login('192.0.2.66', account.email, 'not-the-password')).status === 429) refused += 1;
  }
  expect(refused).toBeGreaterThan(0);
  // The refused address is refused even with a right password; another address is not.
  expectError(await login('192.0.2.66', accounts[0]!.email, accounts[0]!.password), 429, 'rate_limited');
  expect((await login('192.0.2.67', accounts[0]!.email, accounts[0]!.password)).status).toBe(200);
  t.clock.advance(901);
  expect((await login('192.0.2.66', accounts[0]!.email, accounts[0]!.password)).status).toBe(200);
});
