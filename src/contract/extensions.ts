/** Every vendor extension the contract uses, named once (docs/extensions.md documents each). */
export const X = {
  authModes: 'x-auth-modes',
  scopes: 'x-scopes',
  requires2fa: 'x-requires-2fa',
  scopeRegistry: 'x-scope-registry',
  roles: 'x-roles',
  workflow: 'x-workflow',
  errors: 'x-errors',
  bodyLimit: 'x-body-limit',
  rateLimit: 'x-rate-limit',
} as const;

export const AUTH_MODES = ['public', 'session', 'jwt', 'pat', 'pending', 'webhook', 'internal', 'admin'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Modes whose callers are users holding scopes, so the operation must say which scopes it needs. */
export const SCOPED_MODES: readonly AuthMode[] = ['session', 'jwt', 'pat'];
