import { createHmac, hash } from 'node:crypto';

export function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/**
 * The CSRF token is derived from the session cookie with a server key, so it is never stored: the
 * database holds only the cookie's hash, and neither value can be recovered from a dump.
 */
export function csrfTokenFor(key: Buffer, cookieValue: string): string {
  return createHmac('sha256', key).update(`csrf:${cookieValue}`).digest('base64url');
}
