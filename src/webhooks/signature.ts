import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * The Standard Webhooks signature (https://www.standardwebhooks.com): base64 HMAC-SHA256, keyed with
 * the secret's decoded bytes, over "<webhook-id>.<webhook-timestamp>.<body>". Several secrets (during a
 * rotation) give several space-separated `v1,<signature>` entries. Verified in the tests with the
 * independent `standardwebhooks` package.
 */
export function signatureHeader(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  return secrets.map((secret) => {
    const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
    const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
    return `v1,${mac}`;
  }).join(' ');
}
