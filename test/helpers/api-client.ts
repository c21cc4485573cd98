import * as OTPAuth from 'otpauth';

/** A tiny fetch client for tests that talk to a real server process over HTTP. */
export interface SeenResponse {
  method: string;
  path: string;
  status: number;
  headers: Headers;
}

/** `headers` go with every call (a test's client address in X-Forwarded-For, say). */
export function httpClient(baseUrl: string, onResponse?: (res: SeenResponse) => void, headers: Record<string, string> = {}) {
  async function call(method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}) {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...headers,
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await res.text();
    onResponse?.({ method, path, status: res.status, headers: res.headers });
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  /** Sign up, enrol 2FA, sign in with a code and create a PAT: the walk a new user takes. */
  async function userWithPat(email: string, scopes: string[]) {
    const password = 'a-long-e2e-passphrase';
    await call('POST', '/api/auth/signup', { body: { email, password } });
    const jwt = (await call('POST', '/api/auth/login', { body: { email, password } })).body.token;
    const { secret } = (await call('POST', '/api/auth/2fa/setup', { token: jwt })).body;
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret) });
    await call('POST', '/api/auth/2fa/enable', { token: jwt, body: { code: totp.generate() } });
    const pending = (await call('POST', '/api/auth/login', { body: { email, password } })).body.pending_token;
    // The enable step used this 30-second step's code; the next step's code is accepted too.
    const verified = (await call('POST', '/api/auth/login/verify', { token: pending, body: { code: totp.generate({ timestamp: Date.now() + 30_000 }) } })).body.token;
    const created = await call('POST', '/api/tokens', { token: verified, body: { name: 'e2e', scopes } });
    if (created.status !== 201) throw new Error(`token create failed: ${created.status} ${JSON.stringify(created.body)}`);
    return { jwt: verified as string, pat: created.body.token as string, patId: created.body.id as string };
  }

  return { call, userWithPat };
}
