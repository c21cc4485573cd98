import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * The HMAC key of a secret: the decoded bytes of a `whsec_` secret (the Standard Webhooks rule); the
 * UTF-8 bytes of any other (inbound hook secrets made before hooks took this scheme, `gpx_hks_…`).
 */
function keyOf(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX) ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64') : Buffer.from(secret, 'utf8');
}

function mac(secret: string, id: string, timestampSeconds: number, body: string | Buffer): Buffer {
  return createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.`).update(body).digest();
}

/**
 * The Standard Webhooks signature (https://www.standardwebhooks.com): base64 HMAC-SHA256, keyed with
 * the secret's decoded bytes, over "<webhook-id>.<webhook-timestamp>.<body>". Several secrets (during a
 * rotation) give several space-separated `v1,<signature>` entries. Verified in the tests with the
 * independent `standardwebhooks` package.
 */
export function signatureHeader(secrets: string[], id: string, timestampSeconds: number, body: string): string {
  return secrets.map((secret) => `v1,${mac(secret, id, timestampSeconds, body).toString('base64')}`).join(' ');
}

/**
 * Whether one of the `v1,<base64>` entries of a `webhook-signature` header is this secret's signature of
 * the id, timestamp and exact body bytes (compared in constant time). The caller checks the timestamp's
 * age and that the id was not seen before.
 */
export function signatureMatches(secret: string, header: string, id: string, timestampSeconds: number, body: Buffer): boolean {
  const expected = mac(secret, id, timestampSeconds, body);
  return header.split(' ').some((entry) => {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
