import { createSecretKey, KeyObject } from 'node:crypto';
import { keyIdOf } from '../core/keyring';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../core/config';
import { Clock } from '../core/clock';
import { newId } from '../core/ids';

export const ACCESS_TTL_SECONDS = 3600;
export const PENDING_TTL_SECONDS = 300;

// Explicit `typ` values (RFC 8725 §3.11) and distinct audiences keep a 2FA-pending token from ever
// being accepted where an access token is expected, even though both share one key.
const KINDS = {
  access: { typ: 'gpx-at+jwt', audienceSuffix: '' },
  pending: { typ: 'gpx-2fa-pending+jwt', audienceSuffix: ':2fa-pending' },
} as const;
export type JwtKind = keyof typeof KINDS;

export interface JwtClaims {
  kind: JwtKind;
  userId: string;
  tokenVersion: number;
  twoFactorVerified: boolean;
  /** When the password or code behind this token was checked (`auth_time`, OIDC Core §2). */
  authenticatedAt: Date;
  expiresAt: Date;
}

export class InvalidJwt extends Error {}

export function createJwtService(config: Config, clock: Clock) {
  // Imported once: a KeyObject verifies ~35% faster than raw key bytes passed on every call. The first
  // key of the ring signs, naming itself in `kid`; every key verifies the tokens that name it, so a
  // rotation (JWT_SECRET=new,old) does not sign anyone out. A token without `kid` (issued before key
  // ids, so at most 60 minutes old) is tried with each key of the ring.
  const all: KeyObject[] = config.jwtKeys.keys.map((key) => createSecretKey(key));
  const signing = all[0]!;
  const signingKid = config.jwtKeys.currentId;
  const verifying = new Map(config.jwtKeys.keys.map((key, i) => [keyIdOf(key), all[i]!] as const));
  const keysFor = (kid: string | undefined): KeyObject[] => {
    if (kid === undefined) return all;
    const key = verifying.get(kid);
    if (!key) throw new InvalidJwt('unknown key id');
    return [key];
  };

  /** Every token is issued right after a password or code check, so its `auth_time` is its `iat`. */
  async function issue(kind: JwtKind, userId: string, tokenVersion: number, twoFactorVerified: boolean) {
    const ttl = kind === 'access' ? ACCESS_TTL_SECONDS : PENDING_TTL_SECONDS;
    const iat = Math.floor(clock().getTime() / 1000);
    const token = await new SignJWT({ ver: tokenVersion, amr: twoFactorVerified ? ['pwd', 'otp'] : ['pwd'], auth_time: iat })
      .setProtectedHeader({ alg: 'HS256', typ: KINDS[kind].typ, kid: signingKid })
      .setIssuer(config.jwtIssuer)
      .setAudience(config.jwtAudience + KINDS[kind].audienceSuffix)
      .setSubject(userId)
      .setJti(newId('jwt'))
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(signing);
    return { token, expiresAt: new Date((iat + ttl) * 1000) };
  }

  return {
    issueAccess: (userId: string, tokenVersion: number, twoFactorVerified: boolean) =>
      issue('access', userId, tokenVersion, twoFactorVerified),
    issuePending: (userId: string, tokenVersion: number) => issue('pending', userId, tokenVersion, false),

    async verify(raw: string): Promise<JwtClaims> {
      let kind: JwtKind;
      let keys: KeyObject[];
      try {
        const header = decodeProtectedHeader(raw);
        const typ = header.typ;
        keys = keysFor(typeof header.kid === 'string' ? header.kid : undefined);
        const found = (Object.keys(KINDS) as JwtKind[]).find((k) => KINDS[k].typ === typ);
        if (!found) throw new InvalidJwt('unknown token type');
        kind = found;
      } catch (err) {
        throw err instanceof InvalidJwt ? err : new InvalidJwt('malformed token');
      }
      try {
        // Only HS256 with our configured key: `alg: none`, other algorithms and keys carried in the
        // header (jwk, jku, x5u) are never consulted.
        const options = {
          algorithms: ['HS256'],
          issuer: config.jwtIssuer,
          audience: config.jwtAudience + KINDS[kind].audienceSuffix,
          typ: KINDS[kind].typ,
          currentDate: clock(),
          clockTolerance: 5,
          requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        };
        let verified: Awaited<ReturnType<typeof jwtVerify>> | undefined;
        for (const [i, key] of keys.entries()) {
          try {
            verified = await jwtVerify(raw, key, options);
            break;
          } catch (err) {
            // Only a signature made with another key moves on to the next key of the ring.
            if (!(err instanceof joseErrors.JWSSignatureVerificationFailed) || i === keys.length - 1) throw err;
          }
        }
        const { payload } = verified!;
        if (typeof payload.ver !== 'number') throw new InvalidJwt('missing version');
        return {
          kind,
          userId: payload.sub!,
          tokenVersion: payload.ver,
          twoFactorVerified: Array.isArray(payload.amr) && payload.amr.includes('otp'),
          // Tokens from before `auth_time` were issued at their check too.
          authenticatedAt: new Date((typeof payload.auth_time === 'number' ? payload.auth_time : payload.iat!) * 1000),
          expiresAt: new Date(payload.exp! * 1000),
        };
      } catch (err) {
        if (err instanceof InvalidJwt) throw err;
        if (err instanceof joseErrors.JWTExpired) throw new InvalidJwt('token expired');
        throw new InvalidJwt('invalid token');
      }
    },
  };
}

export type JwtService = ReturnType<typeof createJwtService>;
