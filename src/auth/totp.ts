import { generateSecret, generateURI, verify } from 'otplib';

export const TOTP_PERIOD_SECONDS = 30;
/** RFC 6238 §5.2 allows one step of network delay; we accept the previous, current and next step. */
const TOLERANCE_SECONDS = TOTP_PERIOD_SECONDS;

export function newTotpSecret(): string {
  return generateSecret();
}

export function otpauthUrl(secret: string, accountName: string): string {
  return generateURI({ issuer: 'GetPaidX', label: accountName, secret });
}

/** Returns the matched time step, so the caller can make the code single-use. */
export async function verifyTotp(secret: string, code: string, now: Date): Promise<number | undefined> {
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: TOLERANCE_SECONDS,
  });
  return result.valid ? (result as { timeStep: number }).timeStep : undefined;
}
