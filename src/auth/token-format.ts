import { hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { base62, randomBase62 } from '../core/ids';


export const PAT_PREFIX = 'gpx_pat_';
/** 30 base62 characters carry 178 bits, above the 160 the design asks for. */
const RANDOM_LENGTH = 30;
const CHECKSUM_LENGTH = 6;
const PAT_PATTERN = new RegExp(`^${PAT_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

function checksum(body: string): string {
  return base62(crc32(body) >>> 0, CHECKSUM_LENGTH);
}

export function generatePat(): string {
  const body = PAT_PREFIX + randomBase62(RANDOM_LENGTH);
  return body + checksum(body);
}

/**
 * True when the string has the PAT shape and its checksum matches. Checked before any database
 * lookup, so typos and random guesses cost no query.
 */
export function isWellFormedPat(token: string): boolean {
  if (!PAT_PATTERN.test(token)) return false;
  const body = token.slice(0, -CHECKSUM_LENGTH);
  return checksum(body) === token.slice(-CHECKSUM_LENGTH);
}

/**
 * SHA-256 is enough for 178 random bits; bcrypt would cost ~80 ms a request for no gain. The one-shot
 * crypto.hash skips building a Hash object: ~0.3 µs instead of ~0.75 µs, on every PAT request.
 */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

export function displayHint(token: string): string {
  return `${PAT_PREFIX}…${token.slice(-4)}`;
}
