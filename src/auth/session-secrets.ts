import { createHmac, hash } from 'node:crypto';
import type { Keyring } from '../core/keyring';

export function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/**
 * The CSRF token is derived from the session cookie with a server key, so it is never stored: the
 * database holds only the cookie's hash, and neither value can be recovered from a dump. New tokens come
 * from the ring's current key; a token a page received before a rotation (`presented`) still matches
 * while its key stays in the ring, so rotating DATA_KEY does not break open pages.
 */
export function csrfTokenFor(ring: Keyring, cookieValue: string, presented?: string): string {
  const derive = (key: Buffer) => createHmac('sha256', key).update(`csrf:${cookieValue}`).digest('base64url');
  const current = derive(ring.current);
  if (presented === undefined || presented === current || ring.keys.length === 1) return current;
  for (const key of ring.keys.slice(1)) {
    const previous = derive(key);
    if (previous === presented) return previous;
  }
  return current;
}
