import { hash } from 'node:crypto';

/**
 * A secret with the keys it replaced, so a key can be rotated without logging everyone out: the first
 * key signs and seals; every key in the ring verifies and opens. Each key is known by an id derived from
 * it (the first 8 characters of its SHA-256, base64url), carried as a JWT's `kid` and in each sealed
 * value, so verifying never has to try keys in turn and the id reveals nothing usable about the key.
 *
 * In the environment a ring is a comma-separated list, signer first: `JWT_SECRET=new,old`
 * (docs/operations.md describes the rotation, step by step).
 */
export interface Keyring {
  /** The key that signs and seals. */
  readonly current: Buffer;
  readonly currentId: string;
  /** Every key, signer first. */
  readonly keys: readonly Buffer[];
  byId(id: string): Buffer | undefined;
}

export const keyIdOf = (key: Buffer): string => hash('sha256', key, 'base64url').slice(0, 8);

export function keyringOf(keys: readonly Buffer[]): Keyring {
  if (keys.length === 0) throw new Error('a keyring needs at least one key');
  const byId = new Map(keys.map((key) => [keyIdOf(key), key] as const));
  return { current: keys[0]!, currentId: keyIdOf(keys[0]!), keys, byId: (id) => byId.get(id) };
}

/** Parses `key[,previous...]` (base64url, 32+ bytes each); the message names the variable and the position. */
export function parseKeyring(raw: string, name: string): Keyring {
  const parts = raw.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) throw new Error(`${name} must hold at least one key`);
  const keys = parts.map((part, index) => {
    const key = Buffer.from(part, 'base64url');
    if (key.length < 32) throw new Error(`${name} key ${index + 1} of ${parts.length} must be at least 32 bytes, base64url-encoded`);
    return key;
  });
  return keyringOf(keys);
}
