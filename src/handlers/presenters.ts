import type { AuditEventRecord } from '../db/repositories/audit.repository';
import type { PostRecord } from '../db/repositories/posts.repository';
import type { TokenRecord } from '../db/repositories/tokens.repository';
import type { UserRecord } from '../db/repositories/users.repository';
import type { Schemas } from './kit';

export function presentUser(user: UserRecord): Schemas['User'] {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role as Schemas['Role'],
    two_factor_enabled: Boolean(user.totpEnabledAt),
    is_platform_admin: user.isPlatformAdmin,
    disabled: Boolean(user.disabledAt),
    created_at: user.createdAt,
  };
}

/** Metadata only: the hash never leaves the repository and the raw token is added once, by the caller. */
export function presentToken(token: TokenRecord): Schemas['Token'] {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes as Schemas['Scope'][],
    role: token.role as Schemas['Role'] | null,
    display_hint: token.displayHint,
    created_at: token.createdAt,
    last_used_at: token.lastUsedAt,
    last_used_ip: token.lastUsedIp,
    expires_at: token.expiresAt,
    created_via: token.createdVia,
  };
}

export function presentPost(post: PostRecord): Schemas['Post'] {
  return {
    id: post.id,
    title: post.title,
    body: post.body,
    status: post.status,
    created_at: post.createdAt,
    updated_at: post.updatedAt,
  };
}

export function presentAuditEvent(event: AuditEventRecord): Schemas['AuditEvent'] {
  return {
    id: event.id,
    type: event.type as Schemas['AuditEvent']['type'],
    token_id: event.tokenId,
    ip: event.ip,
    details: event.details,
    created_at: event.createdAt,
  };
}
