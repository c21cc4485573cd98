import type { Request, Response } from 'express';
import { addSeconds, type Clock, iso } from '../core/clock';

/**
 * Marks an answer as relying on something deprecated: `Deprecation` (RFC 9745, a structured-field date of
 * when it was) and `Sunset` (RFC 8594, the HTTP-date it stops working). For a replaced token value here,
 * and for the retired hook signature scheme.
 */
export function setDeprecation(res: Response, since: string | number, sunset: string): void {
  res.setHeader('Deprecation', `@${Math.floor(new Date(since).getTime() / 1000)}`);
  res.setHeader('Sunset', new Date(sunset).toUTCString());
}

/** How far ahead a PAT's expiry is announced on each answer. */
export const EXPIRY_NOTICE_SECONDS = 7 * 24 * 3600;

/**
 * What a script should hear about the PAT it is using, on every answer (refusals too: authorize runs
 * this as soon as the credential is known):
 * - expiry you cannot miss: a PAT that expires within 7 days gets `GPX-Token-Expiration` (RFC 3339);
 *   the webhooks token.expiring and token.expired tell the owner too;
 * - a value replaced by a rotation with grace gets `Deprecation` (RFC 9745, when it was replaced),
 *   `Sunset` (RFC 8594, when it stops working) and `GPX-Token-Warning`, a sentence for logs.
 * One string comparison on the common path.
 */
export function tokenNotices(clock: Clock): (req: Request, res: Response) => void {
  return (req, res) => {
    const auth = req.auth;
    if (auth?.kind !== 'pat') return;
    const { token } = auth;
    if (token.expiresAt !== null && token.expiresAt <= iso(addSeconds(clock(), EXPIRY_NOTICE_SECONDS))) {
      res.setHeader('GPX-Token-Expiration', token.expiresAt);
    }
    if (auth.replacedValue && token.previous && token.rotatedAt) {
      setDeprecation(res, token.rotatedAt, token.previous.expiresAt);
      res.setHeader('GPX-Token-Warning', `This value of token ${token.id} was replaced by a rotation and stops working at ${token.previous.expiresAt}; use the new value.`);
    }
  };
}
