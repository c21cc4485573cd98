import * as OTPAuth from 'otpauth';
import { newTotpSecret, verifyTotp } from '../../src/auth/totp';

const T = new Date('2026-11-23T12:00:15Z');
const secret = newTotpSecret();
// Codes come from a second, independent library.
const codeAt = (date: Date) =>
  new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), period: 30, digits: 6 }).generate({ timestamp: date.getTime() });
const step = (date: Date) => Math.floor(date.getTime() / 30_000);
const shift = (steps: number) => new Date(T.getTime() + steps * 30_000);

describe('TOTP (RFC 6238, 30-second step)', () => {
  it('accepts the current step and one step either side, reporting the matched step', async () => {
    expect(await verifyTotp(secret, codeAt(T), T)).toBe(step(T));
    expect(await verifyTotp(secret, codeAt(shift(-1)), T)).toBe(step(T) - 1);
    expect(await verifyTotp(secret, codeAt(shift(1)), T)).toBe(step(T) + 1);
  });

  it('refuses codes two steps away', async () => {
    expect(await verifyTotp(secret, codeAt(shift(-2)), T)).toBeUndefined();
    expect(await verifyTotp(secret, codeAt(shift(2)), T)).toBeUndefined();
  });

  it('refuses a wrong code', async () => {
    const right = codeAt(T);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    expect(await verifyTotp(secret, wrong, T)).toBeUndefined();
  });

  it('makes 160-bit base32 secrets', () => {
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  });
});
