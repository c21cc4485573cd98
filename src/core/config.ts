import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Keyring, parseKeyring } from './keyring';

/** The project root, found from this file whether it runs from src/ (tsx, jest) or dist/src/ (compiled). */
export const PROJECT_ROOT = findProjectRoot(__dirname);

export interface Config {
  readonly env: 'production' | 'development' | 'test';
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly specPath: string;
  /** Signs JWTs (the first key) and verifies them (every key, by `kid`): `JWT_SECRET=new,old`. */
  readonly jwtKeys: Keyring;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  /**
   * Seals secrets we must read back (TOTP seeds, webhook and hook secrets: AES-256-GCM) and derives CSRF
   * tokens and hosted-page links: the first key seals, every key opens (`DATA_KEY=new,old`).
   */
  readonly dataKeys: Keyring;
  readonly internalApiKey: string;
  readonly bcryptCost: number;
  readonly cookieSecure: boolean;
  readonly sessionIdleSeconds: number;
  readonly sessionAbsoluteSeconds: number;
  readonly validateResponses: boolean;
  readonly trustProxy: boolean;
  readonly logLevel: string;
  readonly authThrottle: {
    readonly maxFailures: number;
    readonly windowSeconds: number;
    /** The progressive delay of an account past maxFailures: base × 2^(failures past it), at most max. */
    readonly slowdownBaseMs: number;
    readonly slowdownMaxMs: number;
  };
  /**
   * Requests each credential (or anonymous address) may make per window, and all of one user's
   * credentials together (`userRequests`), so minting tokens does not multiply the budget.
   */
  readonly rateLimit: { readonly requests: number; readonly userRequests: number; readonly windowSeconds: number };
  /**
   * Redis shared by every instance for rate limits (`REDIS_URL`); without it each instance counts alone,
   * which is right for one instance only. Keys start with `redisPrefix`.
   */
  readonly redisUrl?: string;
  readonly redisPrefix: string;
  /**
   * How long an instance may serve a PAT lookup from memory (`PAT_CACHE_MS`, 0 to 10000; 1000 by
   * default), with REDIS_URL only; a change to a token or its creator waits for every instance to
   * forget, at most this long, before it is answered (src/auth/token-cache.ts).
   */
  readonly patCacheMs: number;
  /** Requests that fail authentication (401) one address may make per window, counted before any lookup. */
  readonly addressLimit: { readonly failures: number; readonly windowSeconds: number };
  /** Sign-up attempts per address and window, taken or not (shared through Redis like the sign-in throttle). */
  readonly signupLimit: { readonly perAddress: number; readonly windowSeconds: number };
  /** The public product site that referral links redirect to. */
  readonly siteUrl: string;
  /** The base URL of this API as clients reach it (referral links and invitation paths are built on it). */
  readonly publicUrl: string;
  /**
   * Mail: SMTP when `smtpUrl` is set, otherwise the log adapter (development). `requireVerifiedEmail`
   * also requires a verified email before creating tokens (accepting an invitation always does).
   */
  readonly mail: { readonly smtpUrl: string | undefined; readonly from: string; readonly requireVerifiedEmail: boolean };
  readonly webhooks: {
    /** Development and tests only: allow http and private, loopback and link-local addresses. */
    readonly allowPrivate: boolean;
    readonly timeoutMs: number;
    readonly maxAttempts: number;
    readonly disableAfterFailures: number;
    readonly retryBaseSeconds: number;
    readonly leaseSeconds: number;
    readonly pollMs: number;
    /** Deliveries one process sends at once; one endpoint never gets more than one at a time. */
    readonly concurrency: number;
  };
  /** What one user may hold (docs/workspaces.md): beyond these a create is refused, naming the cap. */
  readonly caps: {
    readonly workspaces: number;
    readonly rules: number;
    readonly queuedRuns: number;
    readonly webhookEndpoints: number;
    /** `webhook.test` events a user may queue per minute. */
    readonly testSendsPerMinute: number;
  };
  readonly worker: {
    /** Run workspace runs inside the API process; false when `npm run worker` processes do it. */
    readonly inProcess: boolean;
    readonly leaseSeconds: number;
    readonly pollMs: number;
    readonly maxAttempts: number;
  };
  readonly billing: {
    readonly provider: 'local' | 'stripe';
    /** Fees, referral shares, settlement delay and transfer leases (docs/billing.md). */
    readonly money: MoneySettings;
    readonly stripe?: {
      readonly secretKey: string;
      readonly webhookSecret: string;
      readonly host?: string;
      readonly port?: number;
      readonly protocol?: 'http' | 'https';
    };
  };
  readonly workspaceSessions: {
    /** Credits one session costs to start. */
    readonly startCredits: number;
    readonly maxPerUser: number;
    /** Controller slots across all users; beyond it starts are refused with 503 controllers_busy. */
    readonly capacity: number;
  };
  /** The MCP endpoint: how long one tool call may take before the agent gets a tool error instead. */
  readonly mcp: { readonly toolTimeoutMs: number };
}

/** How money moves: fees, referral shares, settlement and transfer leases (docs/billing.md). */
export interface MoneySettings {
  /** The platform's fee on each sale, in basis points (1000 = 10 %). */
  readonly platformFeeBps: number;
  /** The share of a sale that goes to the owner of the referral link it came through, in basis points. */
  readonly referralShareBps: number;
  /** How long a sale's earnings stay pending before they become available. */
  readonly settlementDelaySeconds: number;
  /** How long a transfer's own request may take to resolve it before a worker takes over. */
  readonly transferLeaseSeconds: number;
}

type Env = Record<string, string | undefined>;

interface PersistedSecrets {
  jwt_secret: string;
  data_key: string;
  internal_api_key: string;
}

/**
 * Secrets not given in the environment are generated once and kept in a file beside the SQLite
 * database, so that `npm start` needs no setup and a restart keeps sessions, JWTs and TOTP seeds valid.
 */
const KEY_NAMES = ['JWT_SECRET', 'DATA_KEY', 'INTERNAL_API_KEY'] as const;

/** A fresh set of keys, in the environment's form (`npm run keys` prints them). */
export function generateKeys(): Record<(typeof KEY_NAMES)[number], string> {
  return {
    JWT_SECRET: randomBytes(32).toString('base64url'),
    DATA_KEY: randomBytes(32).toString('base64url'),
    INTERNAL_API_KEY: `gpx_int_${randomBytes(32).toString('base64url')}`,
  };
}

function loadOrCreateSecrets(file: string): PersistedSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as PersistedSecrets;
  const keys = generateKeys();
  const secrets: PersistedSecrets = { jwt_secret: keys.JWT_SECRET, data_key: keys.DATA_KEY, internal_api_key: keys.INTERNAL_API_KEY };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** Capped well under last use's one-minute resolution, which reads the cached token's last use. */
function patCacheMs(env: Env): number {
  const value = int(env, 'PAT_CACHE_MS', 1000);
  if (value > 10_000) throw new Error(`PAT_CACHE_MS must be at most 10000 (ten seconds), got "${env.PAT_CACHE_MS}"`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new Error(`${name} must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new Error(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${name} must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const nodeEnv = env.NODE_ENV === 'production' || env.NODE_ENV === 'test' ? env.NODE_ENV : 'development';
  const databaseUrl = env.DATABASE_URL || 'sqlite:data/getpaidx.sqlite3';
  const secretsFile = resolveFromRoot(env.SECRETS_FILE || 'data/secrets.json');
  const missing = KEY_NAMES.filter((name) => !env[name]);
  // Generated keys live in one instance's data folder: several instances would each make their own,
  // and a JWT, a CSRF token or a sealed 2FA seed from one would not open on another.
  if (nodeEnv === 'production' && missing.length > 0) {
    throw new Error(
      `In production (NODE_ENV=production) the keys come from the environment; missing: ${missing.join(', ')}. `
      + 'Give every instance the same values (JWT_SECRET and DATA_KEY: 32+ random bytes, base64url; INTERNAL_API_KEY: gpx_int_ + random). '
      + 'Make them with `npm run keys`. Keys generated into data/secrets.json are for development only.',
    );
  }
  const needsFile = missing.length > 0;
  const persisted = needsFile ? loadOrCreateSecrets(secretsFile) : undefined;

  const config: Config = {
    env: nodeEnv,
    port: int(env, 'PORT', 3000),
    host: env.HOST || '127.0.0.1',
    databaseUrl,
    // The bundle of openapi.yaml and openapi/ (`npm run bundle`), as every tool reads it.
    specPath: resolve(PROJECT_ROOT, 'generated/openapi.yaml'),
    jwtKeys: parseKeyring(env.JWT_SECRET || persisted!.jwt_secret, 'JWT_SECRET'),
    jwtIssuer: env.JWT_ISSUER || 'getpaidx',
    jwtAudience: env.JWT_AUDIENCE || 'getpaidx-api',
    dataKeys: parseKeyring(env.DATA_KEY || persisted!.data_key, 'DATA_KEY'),
    internalApiKey: env.INTERNAL_API_KEY || persisted!.internal_api_key,
    bcryptCost: int(env, 'BCRYPT_COST', 12),
    cookieSecure: bool(env, 'COOKIE_SECURE', true),
    sessionIdleSeconds: int(env, 'SESSION_IDLE_SECONDS', 30 * 60),
    sessionAbsoluteSeconds: int(env, 'SESSION_ABSOLUTE_SECONDS', 12 * 3600),
    validateResponses: bool(env, 'VALIDATE_RESPONSES', nodeEnv !== 'production'),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    logLevel: env.LOG_LEVEL || (nodeEnv === 'test' ? 'silent' : 'info'),
    authThrottle: {
      maxFailures: int(env, 'AUTH_MAX_FAILURES', 10),
      windowSeconds: int(env, 'AUTH_THROTTLE_WINDOW_SECONDS', 15 * 60),
      slowdownBaseMs: int(env, 'AUTH_SLOWDOWN_BASE_MS', 250),
      slowdownMaxMs: int(env, 'AUTH_SLOWDOWN_MAX_MS', 4000),
    },
    rateLimit: {
      requests: int(env, 'RATE_LIMIT_REQUESTS', 600),
      userRequests: int(env, 'RATE_LIMIT_USER_REQUESTS', 2 * int(env, 'RATE_LIMIT_REQUESTS', 600)),
      windowSeconds: int(env, 'RATE_LIMIT_WINDOW_SECONDS', 60),
    },
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX || 'gpx:',
    patCacheMs: patCacheMs(env),
    signupLimit: {
      perAddress: int(env, 'SIGNUP_MAX_PER_ADDRESS', 20),
      windowSeconds: int(env, 'SIGNUP_WINDOW_SECONDS', 3600),
    },
    addressLimit: {
      failures: int(env, 'ADDRESS_AUTH_FAILURES', 60),
      windowSeconds: int(env, 'ADDRESS_AUTH_WINDOW_SECONDS', 60),
    },
    siteUrl: url(env, 'SITE_URL', 'http://localhost:3000'),
    publicUrl: url(env, 'PUBLIC_URL', `http://localhost:${int(env, 'PORT', 3000)}`),
    mail: {
      smtpUrl: env.SMTP_URL || undefined,
      from: env.MAIL_FROM || 'GetPaidX <no-reply@getpaidx.local>',
      requireVerifiedEmail: bool(env, 'REQUIRE_VERIFIED_EMAIL', false),
    },
    webhooks: {
      allowPrivate: bool(env, 'WEBHOOKS_ALLOW_PRIVATE', false),
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000),
      maxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 8),
      disableAfterFailures: int(env, 'WEBHOOK_DISABLE_AFTER_FAILURES', 20),
      retryBaseSeconds: int(env, 'WEBHOOK_RETRY_BASE_SECONDS', 30),
      leaseSeconds: int(env, 'WEBHOOK_LEASE_SECONDS', 60),
      pollMs: int(env, 'WEBHOOK_POLL_MS', 1000),
      concurrency: Math.max(1, int(env, 'WEBHOOK_CONCURRENCY', 8)),
    },
    caps: {
      workspaces: int(env, 'MAX_WORKSPACES_PER_USER', 50),
      rules: int(env, 'MAX_RULES_PER_USER', 200),
      queuedRuns: int(env, 'MAX_QUEUED_RUNS_PER_USER', 50),
      webhookEndpoints: int(env, 'MAX_WEBHOOK_ENDPOINTS_PER_USER', 20),
      testSendsPerMinute: int(env, 'MAX_TEST_SENDS_PER_MINUTE', 10),
    },
    worker: {
      inProcess: bool(env, 'WORKER_IN_PROCESS', true),
      leaseSeconds: int(env, 'WORKER_LEASE_SECONDS', 300),
      pollMs: int(env, 'WORKER_POLL_MS', 1000),
      maxAttempts: int(env, 'WORKER_MAX_ATTEMPTS', 3),
    },
    billing: billingConfig(env),
    workspaceSessions: {
      startCredits: int(env, 'WORKSPACE_SESSION_CREDITS', 10),
      maxPerUser: int(env, 'WORKSPACE_MAX_SESSIONS_PER_USER', 2),
      capacity: int(env, 'WORKSPACE_CONTROLLER_CAPACITY', 50),
    },
    mcp: { toolTimeoutMs: int(env, 'MCP_TOOL_TIMEOUT_MS', 60_000) },
    ...overrides,
  };
  return Object.freeze(config);
}

function moneyConfig(env: Env): MoneySettings {
  const platformFeeBps = int(env, 'PLATFORM_FEE_BPS', 1000);
  const referralShareBps = int(env, 'REFERRAL_SHARE_BPS', 1000);
  if (platformFeeBps + referralShareBps > 10_000) {
    throw new Error(`PLATFORM_FEE_BPS + REFERRAL_SHARE_BPS must not exceed 10000 (100 %), got ${platformFeeBps} + ${referralShareBps}`);
  }
  return {
    platformFeeBps,
    referralShareBps,
    settlementDelaySeconds: int(env, 'SETTLEMENT_DELAY_SECONDS', 7 * 24 * 3600),
    transferLeaseSeconds: Math.max(1, int(env, 'TRANSFER_LEASE_SECONDS', 120)),
  };
}

function billingConfig(env: Env): Config['billing'] {
  const provider = env.BILLING_PROVIDER || 'local';
  const money = moneyConfig(env);
  if (provider === 'local') return { provider, money };
  if (provider !== 'stripe') throw new Error(`BILLING_PROVIDER must be local or stripe, got "${provider}"`);
  if (!env.STRIPE_SECRET_KEY || !env.STRIPE_WEBHOOK_SECRET) throw new Error('BILLING_PROVIDER=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET');
  const protocol = env.STRIPE_API_PROTOCOL;
  if (protocol && protocol !== 'http' && protocol !== 'https') throw new Error(`STRIPE_API_PROTOCOL must be http or https, got "${protocol}"`);
  return {
    provider,
    money,
    stripe: {
      secretKey: env.STRIPE_SECRET_KEY,
      webhookSecret: env.STRIPE_WEBHOOK_SECRET,
      host: env.STRIPE_API_HOST || undefined,
      port: env.STRIPE_API_PORT ? int(env, 'STRIPE_API_PORT', 443) : undefined,
      protocol: protocol as 'http' | 'https' | undefined,
    },
  };
}

export function resolveFromRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(PROJECT_ROOT, path);
}

function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(resolve(dir, 'openapi.yaml')) && existsSync(resolve(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`openapi.yaml not found above ${start}`);
    dir = parent;
  }
}
