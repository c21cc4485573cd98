import type { Request, Response } from 'express';
import { addSeconds, type Clock, iso } from '../core/clock';

/** How far ahead a PAT's expiry is announced on each answer. */
export const EXPIRY_NOTICE_SECONDS = 7 * 24 * 3600;

/**
 * Expiry you cannot miss: an answer to a PAT that expires within 7 days carries `GPX-Token-Expiration`
 * (its expiry, RFC 3339), so the script using it can warn its owner before it stops working (the
 * webhooks token.expiring and token.expired tell the owner too). Run by authorize as soon as the
 * credential is known, so a refusal (403) carries it too. One string comparison a request.
 */
export function tokenExpiryNotice(clock: Clock): (req: Request, res: Response) => void {
  return (req, res) => {
    const auth = req.auth;
    if (auth?.kind === 'pat' && auth.token.expiresAt !== null && auth.token.expiresAt <= iso(addSeconds(clock(), EXPIRY_NOTICE_SECONDS))) {
      res.setHeader('GPX-Token-Expiration', auth.token.expiresAt);
    }
  };
}
