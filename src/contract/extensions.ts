import type { components } from '../../generated/openapi';

/** Every vendor extension the contract uses, named once (docs/extensions.md documents each). */
export const X = {
  authModes: 'x-auth-modes',
  scopes: 'x-scopes',
  requires2fa: 'x-requires-2fa',
  requiresReauthentication: 'x-requires-reauthentication',
  scopeRegistry: 'x-scope-registry',
  roles: 'x-roles',
  workflow: 'x-workflow',
  errors: 'x-errors',
  bodyLimit: 'x-body-limit',
  rateLimit: 'x-rate-limit',
} as const;

/** The modes of `x-auth-modes`, from the contract's registry (components.schemas.AuthMode). */
export type AuthMode = components['schemas']['AuthMode'];

/** One mode as its registry entry (`x-modes`) describes it. */
export interface AuthModeInfo {
  readonly name: AuthMode;
  /** How the mode reads in messages and docs ("personal access token"). */
  readonly words: string;
  /** The OpenAPI security schemes that carry it (the bundle mirrors them into `security`). */
  readonly schemes: readonly string[];
  /** Its callers are users holding scopes, so the operation must say which scopes it needs. */
  readonly scoped: boolean;
  readonly how: string;
  readonly format?: string;
}
