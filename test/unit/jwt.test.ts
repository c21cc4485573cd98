import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { exportJWK, SignJWT, UnsecuredJWT } from 'jose';
import { createJwtService, InvalidJwt } from '../../src/auth/jwt';
import { loadConfig } from '../../src/core/config';

const config = loadConfig({
  JWT_SECRET: randomBytes(32).toString('base64url'),
  DATA_KEY: randomBytes(32).toString('base64url'),
  INTERNAL_API_KEY: 'gpx_int_test',
});
let now = new Date('2026-11-23T12:00:00Z');
const clock = () => now;
const jwt = createJwtService(config, clock);
const key = config.jwtKeys.current;

function claims(at: Date) {
  const iat = Math.floor(at.getTime() / 1000);
  return new SignJWT({ ver: 0, amr: ['pwd', 'otp'] })
    .setIssuer(config.jwtIssuer).setAudience(config.jwtAudience).setSubject('usr_1').setJti('jwt_1')
    .setIssuedAt(iat).setExpirationTime(iat + 3600);
}

describe('JWTs', () => {
  beforeEach(() => {
    now = new Date('2026-11-23T12:00:00Z');
  });

  it('issues access tokens valid exactly 60 minutes, marked 2FA-verified when they are', async () => {
    const { token, expiresAt } = await jwt.issueAccess('usr_1', 3, true);
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(3600);
    expect(expiresAt.getTime()).toBe(now.getTime() + 3_600_000);
    expect(await jwt.verify(token)).toMatchObject({ kind: 'access', userId: 'usr_1', tokenVersion: 3, twoFactorVerified: true });
  });

  it('refuses a token past exp plus the 5-second tolerance', async () => {
    const { token } = await jwt.issueAccess('usr_1', 0, false);
    now = new Date(now.getTime() + 3600_000 + 4_000);
    await expect(jwt.verify(token)).resolves.toBeTruthy();
    now = new Date(now.getTime() + 2_000);
    await expect(jwt.verify(token)).rejects.toThrow(InvalidJwt);
  });

  it('keeps pending and access tokens apart', async () => {
    const pending = await jwt.issuePending('usr_1', 0);
    expect((await jwt.verify(pending.token)).kind).toBe('pending');
    expect(pending.expiresAt.getTime() - now.getTime()).toBe(300_000);
    // A pending token re-labelled as an access token fails: the audience differs.
    const relabelled = await new SignJWT({ ver: 0 })
      .setProtectedHeader({ alg: 'HS256', typ: 'gpx-at+jwt' })
      .setIssuer(config.jwtIssuer).setAudience(`${config.jwtAudience}:2fa-pending`).setSubject('usr_1').setJti('j')
      .setIssuedAt().setExpirationTime('5m').sign(key);
    await expect(jwt.verify(relabelled)).rejects.toThrow(InvalidJwt);
  });

  it.each([
    ['no typ', async () => claims(now).setProtectedHeader({ alg: 'HS256' }).sign(key)],
    ['a foreign typ', async () => claims(now).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key)],
    ['alg none', async () => new UnsecuredJWT({ ver: 0 }).setIssuer(config.jwtIssuer).setAudience(config.jwtAudience).setSubject('usr_1').setIssuedAt().setExpirationTime('1h').encode()],
    ['HS512', async () => claims(now).setProtectedHeader({ alg: 'HS512', typ: 'gpx-at+jwt' }).sign(Buffer.concat([key, key]))],
    ['another key', async () => claims(now).setProtectedHeader({ alg: 'HS256', typ: 'gpx-at+jwt' }).sign(randomBytes(32))],
    ['a wrong issuer', async () => claims(now).setIssuer('evil').setProtectedHeader({ alg: 'HS256', typ: 'gpx-at+jwt' }).sign(key)],
    ['a wrong audience', async () => claims(now).setAudience('other').setProtectedHeader({ alg: 'HS256', typ: 'gpx-at+jwt' }).sign(key)],
    ['no version claim', async () => new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'gpx-at+jwt' }).setIssuer(config.jwtIssuer).setAudience(config.jwtAudience).setSubject('usr_1').setJti('j').setIssuedAt().setExpirationTime('1h').sign(key)],
    ['an attacker key in the jwk header', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return claims(now).setProtectedHeader({ alg: 'ES256', typ: 'gpx-at+jwt', jwk: await exportJWK(publicKey) }).sign(privateKey);
    }],
    ['an unknown kid', async () => claims(now).setProtectedHeader({ alg: 'HS256', typ: 'gpx-at+jwt', kid: 'AAAAAAAA' }).sign(key)],
    ['our kid on a token signed with another key', async () => claims(now).setProtectedHeader({ alg: 'HS256', typ: 'gpx-at+jwt', kid: config.jwtKeys.currentId }).sign(randomBytes(32))],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses a token with %s', async (_name, make) => {
    await expect(jwt.verify(await make())).rejects.toThrow(InvalidJwt);
  });
});

describe('rotating the JWT key (JWT_SECRET=new,old)', () => {
  const env = (secret: string) => loadConfig({ JWT_SECRET: secret, DATA_KEY: randomBytes(32).toString('base64url'), INTERNAL_API_KEY: 'gpx_int_test' });
  const oldKey = randomBytes(32).toString('base64url');
  const newKey = randomBytes(32).toString('base64url');

  it('names the signing key in kid, and keeps verifying tokens of every key in the ring', async () => {
    const before = createJwtService(env(oldKey), clock);
    const issued = await before.issueAccess('usr_1', 0, true);
    const rotated = createJwtService(env(`${newKey},${oldKey}`), clock);
    expect(await rotated.verify(issued.token)).toMatchObject({ userId: 'usr_1' });
    const fresh = await rotated.issueAccess('usr_2', 0, true);
    const header = JSON.parse(Buffer.from(fresh.token.split('.')[0]!, 'base64url').toString());
    expect(header.kid).toBe(env(newKey).jwtKeys.currentId);
    // Phase one of a rolling rotation: instances still signing with the old key already accept the new one.
    expect(await createJwtService(env(`${oldKey},${newKey}`), clock).verify(fresh.token)).toMatchObject({ userId: 'usr_2' });
    // Once the old key leaves the ring, its tokens end.
    await expect(createJwtService(env(newKey), clock).verify(issued.token)).rejects.toThrow(InvalidJwt);
  });

  it('accepts a token without kid (issued before key ids) under any key of the ring, and no other', async () => {
    const legacy = (secret: string) => claims(now).setProtectedHeader({ alg: 'HS256', typ: 'gpx-at+jwt' }).sign(Buffer.from(secret, 'base64url'));
    const rotated = createJwtService(env(`${newKey},${oldKey}`), clock);
    expect(await rotated.verify(await legacy(newKey))).toMatchObject({ userId: 'usr_1' });
    expect(await rotated.verify(await legacy(oldKey))).toMatchObject({ userId: 'usr_1' });
    await expect(rotated.verify(await legacy(randomBytes(32).toString('base64url')))).rejects.toThrow(InvalidJwt);
  });
});
