import { createCipheriv, randomBytes } from 'node:crypto';
import { seal, sealedUnderCurrent, unseal } from '../../src/auth/seal';
import { keyringOf, parseKeyring } from '../../src/core/keyring';

describe('sealing secrets at rest', () => {
  const key = randomBytes(32);
  const ring = keyringOf([key]);

  it('round-trips and never contains the plaintext', () => {
    const sealed = seal(ring, 'JBSWY3DPEHPK3PXP');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(sealed.startsWith(`v2.${ring.currentId}.`)).toBe(true);
    expect(unseal(ring, sealed)).toBe('JBSWY3DPEHPK3PXP');
  });

  it('fails with another key or a tampered ciphertext', () => {
    const sealed = seal(ring, 'secret');
    expect(() => unseal(keyringOf([randomBytes(32)]), sealed)).toThrow(/not in the ring/);
    const parts = sealed.split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => unseal(ring, parts.join('.'))).toThrow();
    // A value that claims the current key's id but was sealed under another fails GCM's tag.
    const forged = seal(keyringOf([randomBytes(32)]), 'secret').split('.');
    forged[1] = ring.currentId;
    expect(() => unseal(ring, forged.join('.'))).toThrow();
  });
});

describe('rotating the data key', () => {
  const old = randomBytes(32);
  const fresh = randomBytes(32);

  it('opens values sealed under a previous key of the ring, and seals new ones under the first', () => {
    const before = seal(keyringOf([old]), 'totp-seed');
    const rotated = keyringOf([fresh, old]);
    expect(unseal(rotated, before)).toBe('totp-seed');
    expect(sealedUnderCurrent(rotated, before)).toBe(false);
    const after = seal(rotated, 'totp-seed');
    expect(sealedUnderCurrent(rotated, after)).toBe(true);
    expect(unseal(keyringOf([fresh]), after)).toBe('totp-seed');
    // Once the old key leaves the ring, what it sealed no longer opens (so re-seal first).
    expect(() => unseal(keyringOf([fresh]), before)).toThrow(/not in the ring/);
  });

  it('opens the v1 values written before key ids with whichever key of the ring authenticates them', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', old, iv);
    const body = Buffer.concat([cipher.update('legacy', 'utf8'), cipher.final()]);
    const v1 = ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
    expect(unseal(keyringOf([fresh, old]), v1)).toBe('legacy');
    expect(() => unseal(keyringOf([fresh]), v1)).toThrow(/no key/);
  });

  it('reads a ring from the environment, signer first, and names a short key by its position', () => {
    const ring = parseKeyring(` ${fresh.toString('base64url')} , ${old.toString('base64url')} `, 'DATA_KEY');
    expect(ring.current.equals(fresh)).toBe(true);
    expect(ring.keys).toHaveLength(2);
    expect(() => parseKeyring(`${fresh.toString('base64url')},c2hvcnQ`, 'DATA_KEY')).toThrow('DATA_KEY key 2 of 2 must be at least 32 bytes');
    expect(() => parseKeyring(' , ', 'DATA_KEY')).toThrow('DATA_KEY must hold at least one key');
  });
});
