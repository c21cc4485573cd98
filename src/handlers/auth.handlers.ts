import QRCode from 'qrcode';
import type { CookieOptions, Request } from 'express';
import { sessionCookieName } from '../auth/authenticate';
import { body, caller, HandlerMap, noStore } from './kit';
import { presentUser } from './presenters';
import type { Services } from './services';
import { MIN_PASSWORD_SCORE, ratePassword } from '../services/password-policy';

const callerInfo = (req: Request) => ({ ip: req.ip ?? null });

export function authHandlers({ accounts, config, emailVerification }: Services): HandlerMap {
  const cookieName = sessionCookieName(config);
  const cookieOptions: CookieOptions = {
    httpOnly: true,
    secure: config.cookieSecure,
    sameSite: 'strict',
    path: '/',
  };

  function sessionIdHash(req: Request): string | undefined {
    return req.auth?.kind === 'session' ? req.auth.session.idHash : undefined;
  }

  return {
    async signUp(req, res) {
      const user = await accounts.signUp(body<'signUp'>(req), callerInfo(req));
      res.status(201).json(presentUser(user));
    },

    async requestEmailVerification(req, res) {
      const user = caller(req).user;
      await emailVerification.request(user);
      res.status(202).json({ email: user.email, verified: user.emailVerifiedAt !== null });
    },

    async verifyEmail(req, res) {
      res.json(presentUser(await emailVerification.verify(body<'verifyEmail'>(req).token)));
    },

    async checkPasswordStrength(req, res) {
      const input = body<'checkPasswordStrength'>(req);
      const rating = await ratePassword(input.password, [input.email ?? '', input.name ?? '']);
      noStore(res).json({
        score: rating.score, acceptable: rating.acceptable, min_score: MIN_PASSWORD_SCORE, too_long: rating.tooLong,
        warning: rating.warning, suggestions: rating.suggestions,
      });
    },

    async logIn(req, res) {
      noStore(res).json(await accounts.logIn(body<'logIn'>(req), callerInfo(req)));
    },

    async verifyLogin(req, res) {
      if (req.auth?.kind !== 'pending') throw new Error('verifyLogin reached without a pending token');
      noStore(res).json(await accounts.verifyLogin(req.auth.user.id, body<'verifyLogin'>(req).code, callerInfo(req)));
    },

    async logOut(req, res) {
      await accounts.logOut(caller(req).user.id, callerInfo(req));
      res.status(204).end();
    },

    async changePassword(req, res) {
      await accounts.changePassword(caller(req).user, body<'changePassword'>(req), callerInfo(req), sessionIdHash(req));
      res.status(204).end();
    },

    async reauthenticate(req, res) {
      const principal = caller(req);
      if (principal.kind !== 'session' && principal.kind !== 'jwt') throw new Error('reauthenticate reached without a session or JWT');
      noStore(res).json(await accounts.reauthenticate(principal, body<'reauthenticate'>(req), callerInfo(req)));
    },

    async setUpTwoFactor(req, res) {
      const setup = await accounts.setUpTwoFactor(caller(req).user);
      const qrSvg = await QRCode.toString(setup.otpauth_url, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
      noStore(res).json({ ...setup, qr_svg: qrSvg });
    },

    async enableTwoFactor(req, res) {
      const result = await accounts.enableTwoFactor(caller(req).user, body<'enableTwoFactor'>(req).code, callerInfo(req), sessionIdHash(req));
      res.json(result);
    },

    async getSession(req, res) {
      const principal = caller(req);
      if (principal.kind !== 'session') throw new Error('getSession reached without a session');
      noStore(res).json(presentSession(principal.user, principal.session));
    },

    async createSession(req, res) {
      const { cookieValue, session, user } = await accounts.createSession(body<'createSession'>(req), callerInfo(req));
      res.cookie(cookieName, cookieValue, { ...cookieOptions, maxAge: config.sessionAbsoluteSeconds * 1000 });
      noStore(res).json(presentSession(user, session));
    },

    async deleteSession(req, res) {
      const principal = caller(req);
      if (principal.kind !== 'session') throw new Error('deleteSession reached without a session');
      await accounts.deleteSession(principal.user.id, principal.session.idHash, callerInfo(req));
      res.clearCookie(cookieName, cookieOptions).status(204).end();
    },
  };
}

function presentSession(
  user: Parameters<typeof presentUser>[0],
  session: { csrfToken: string; twoFactorVerified: boolean; authenticatedAt: string; expiresAt: string },
) {
  return {
    user: presentUser(user),
    csrf_token: session.csrfToken,
    two_factor_verified: session.twoFactorVerified,
    authenticated_at: session.authenticatedAt,
    expires_at: session.expiresAt,
  };
}

