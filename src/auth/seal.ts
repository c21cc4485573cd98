import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from '../core/keyring';

/**
 * AES-256-GCM for secrets we must read back (TOTP seeds, webhook and hook secrets): a database dump
 * alone does not reveal them. A sealed value names the key that sealed it, `v2.<key id>.<iv>.<tag>.<body>`,
 * so a rotated ring still opens it; `v1.<iv>.<tag>.<body>` (before key ids) is opened by whichever key
 * of the ring authenticates it. `npm run keys:reseal` moves every value to the current key.
 */
export function seal(ring: Keyring, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', ring.current.subarray(0, 32), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v2', ring.currentId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

export function unseal(ring: Keyring, sealed: string): string {
  const parts = sealed.split('.');
  if (parts[0] === 'v2' && parts.length === 5) {
    const key = ring.byId(parts[1]!);
    if (!key) throw new Error(`sealed under key ${parts[1]}, which is not in the ring: add it back to DATA_KEY, after the current key`);
    return open(key, parts[2]!, parts[3]!, parts[4]!);
  }
  if (parts[0] === 'v1' && parts.length === 4) {
    for (const key of ring.keys) {
      try {
        return open(key, parts[1]!, parts[2]!, parts[3]!);
      } catch {
        // Not this key: GCM's tag says so; try the next.
      }
    }
    throw new Error('no key of the ring opens this sealed value');
  }
  throw new Error('unknown sealed format');
}

/** Whether a sealed value is under the ring's current key already (the re-seal command skips it). */
export const sealedUnderCurrent = (ring: Keyring, sealed: string): boolean => sealed.startsWith(`v2.${ring.currentId}.`);

function open(key: Buffer, iv: string, tag: string, body: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key.subarray(0, 32), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
