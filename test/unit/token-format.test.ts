import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { displayHint, generatePat, hashToken, isWellFormedPat, PAT_PREFIX } from '../../src/auth/token-format';
import { base62, newId } from '../../src/core/ids';

describe('personal access token format', () => {
  it('is gpx_pat_ + 30 base62 characters (178 bits) + a 6-character base62 CRC32 checksum', () => {
    const token = generatePat();
    expect(token).toMatch(/^gpx_pat_[0-9A-Za-z]{36}$/);
    const body = token.slice(0, -6);
    expect(token.slice(-6)).toBe(base62(crc32(body) >>> 0, 6));
    expect(30 * Math.log2(62)).toBeGreaterThan(160);
  });

  it('accepts its own tokens and rejects any single-character change or truncation', () => {
    const token = generatePat();
    expect(isWellFormedPat(token)).toBe(true);
    for (let i = PAT_PREFIX.length; i < token.length; i++) {
      const swapped = token[i] === 'a' ? 'b' : 'a';
      expect(isWellFormedPat(token.slice(0, i) + swapped + token.slice(i + 1))).toBe(false);
    }
    expect(isWellFormedPat(token.slice(0, -1))).toBe(false);
    expect(isWellFormedPat(`${token}x`)).toBe(false);
    expect(isWellFormedPat(token.replace(PAT_PREFIX, 'gpx_xxx_'))).toBe(false);
  });

  it('generates 100,000 distinct tokens', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(generatePat());
    expect(seen.size).toBe(100_000);
  });

  it('stores SHA-256 of the whole token and shows only the prefix and last 4 characters', () => {
    const token = generatePat();
    expect(hashToken(token)).toBe(createHash('sha256').update(token).digest('hex'));
    expect(displayHint(token)).toBe(`gpx_pat_…${token.slice(-4)}`);
    expect(displayHint(token)).not.toContain(token.slice(8, 20));
  });

  it('makes prefixed ids', () => {
    expect(newId('tok')).toMatch(/^tok_[0-9A-Za-z]{20}$/);
  });

  it('encodes base62 with padding', () => {
    expect(base62(0, 3)).toBe('000');
    expect(base62(61, 2)).toBe('0z');
    expect(base62(62, 2)).toBe('10');
    expect(base62(0xffffffff, 6)).toHaveLength(6);
  });
});
