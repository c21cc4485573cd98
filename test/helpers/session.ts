import type { TestApp } from './app';
import { totpCode, TestUser } from './users';
import { http } from './typed-http';

export interface BrowserSession {
  cookie: string;
  csrf: string;
  setCookie: string;
}

/** Signs a browser in through POST /api/auth/session, with the user's next TOTP code when 2FA is on. */
export async function signInBrowser(t: TestApp, user: TestUser): Promise<BrowserSession> {
  let code: string | undefined;
  if (user.totpSecret) {
    t.clock.advance(30);
    code = totpCode(user.totpSecret, t.clock());
  }
  const res = await http(t).post('/api/auth/session', { email: user.email, password: user.password, ...(code ? { code } : {}) });
  if (res.status !== 200) throw new Error(`session failed: ${res.status} ${JSON.stringify(res.body)}`);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0]!;
  return { cookie: setCookie.split(';')[0]!, csrf: res.body.csrf_token, setCookie };
}
