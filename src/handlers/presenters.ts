import type { RuleRecord, RunRecord, WorkspaceRecord } from '../db/repositories/workspaces.repository';
import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../db/repositories/webhooks.repository';
import type { ArtifactRecord } from '../db/repositories/artifacts.repository';
import type { MemberRecord, OrganizationRecord } from '../db/repositories/organizations.repository';
import type { PlaceRecord } from '../db/repositories/places.repository';
import type { PreferencesView } from '../services/notifications.service';
import type { ReferralLinkView } from '../services/sharing.service';
import type { UsageWindow } from '../services/usage.service';
import type { AuditEventRecord } from '../db/repositories/audit.repository';
import type { PostView } from '../services/posts.service';
import type { TokenRecord } from '../db/repositories/tokens.repository';
import type { UserRecord } from '../db/repositories/users.repository';
import type { Schemas } from './kit';

/**
 * Scope lists inside the service are plain strings that all came through the contract's registry (the
 * loader refuses unknown scopes, and grants are checked against it): typed here for the reply.
 */
export const presentScopes = (scopes: readonly string[]): Schemas['Scope'][] => [...scopes] as Schemas['Scope'][];

export function presentUser(user: UserRecord): Schemas['User'] {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role as Schemas['Role'],
    two_factor_enabled: Boolean(user.totpEnabledAt),
    email_verified: user.emailVerifiedAt !== null,
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
    scopes: presentScopes(token.scopes),
    role: token.role as Schemas['Role'] | null,
    display_hint: token.displayHint,
    created_at: token.createdAt,
    last_used_at: token.lastUsedAt,
    last_used_ip: token.lastUsedIp,
    expires_at: token.expiresAt,
    created_via: token.createdVia,
    rotated_at: token.rotatedAt,
    previous_value: token.previous
      ? { expires_at: token.previous.expiresAt, last_used_at: token.previous.lastUsedAt, last_used_ip: token.previous.lastUsedIp }
      : null,
  };
}

export function presentPost(post: PostView): Schemas['Post'] {
  return {
    id: post.id,
    title: post.title,
    body: post.body,
    status: post.status,
    audience_tags: post.audienceTags,
    pricing: post.pricing,
    publish_at: post.publishAt,
    live: post.live,
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

export function presentPlace(place: PlaceRecord): Schemas['Place'] {
  return {
    id: place.id,
    name: place.name,
    address: place.address,
    latitude: place.latitude,
    longitude: place.longitude,
    owner: { id: place.userId, name: place.ownerName },
    created_at: place.createdAt,
    updated_at: place.updatedAt,
  };
}

export function presentArtifact(artifact: ArtifactRecord): Schemas['Artifact'] {
  return {
    id: artifact.id,
    post_id: artifact.postId,
    name: artifact.name,
    content_type: artifact.contentType as Schemas['ArtifactContentType'],
    size_bytes: artifact.sizeBytes,
    sha256: artifact.sha256,
    created_at: artifact.createdAt,
    updated_at: artifact.updatedAt,
  };
}

export function presentPreferences(prefs: PreferencesView): Schemas['NotificationPreferences'] {
  return {
    paused_all: prefs.pausedAll,
    payments_and_receipts: true,
    reminders: prefs.reminders,
    onboarding_tips: prefs.onboardingTips,
    product_updates: prefs.productUpdates,
    sent: {
      payments_and_receipts: prefs.sent.paymentsAndReceipts,
      reminders: prefs.sent.reminders,
      onboarding_tips: prefs.sent.onboardingTips,
      product_updates: prefs.sent.productUpdates,
    },
    notice: prefs.notice,
    updated_at: prefs.updatedAt,
  };
}

export function presentOrganization(org: OrganizationRecord): Schemas['Organization'] {
  return {
    id: org.id,
    name: org.name,
    your_role: org.yourRole as Schemas['Role'],
    member_count: org.memberCount,
    max_token_lifetime_days: org.maxTokenLifetimeDays,
    created_at: org.createdAt,
  };
}

export function presentMember(member: MemberRecord): Schemas['Member'] {
  return {
    organization_id: member.organizationId,
    user_id: member.userId,
    email: member.email,
    name: member.name,
    role: member.role as Schemas['Role'],
    tags: member.tags,
    joined_at: member.joinedAt,
  };
}

export function presentReferralLink(link: ReferralLinkView): Schemas['ReferralLink'] {
  return {
    id: link.id,
    code: link.code,
    url: link.url,
    target: link.targetType === 'post' ? { type: 'post', post_id: link.targetId! } : { type: 'profile' },
    target_url: link.targetUrl,
    utm: link.utm,
    visits: link.visits,
    last_visited_at: link.lastVisitedAt,
    created_at: link.createdAt,
  };
}

export function presentUsageWindow(window: UsageWindow): Schemas['UsageCount'] {
  return {
    total: window.total,
    by_operation: window.byOperation.map((o) => ({ operation_id: o.operationId, count: o.count })),
    by_token: window.byToken.map((t) => ({ token_id: t.tokenId, name: t.name, count: t.count })),
  };
}

/** `rotationEndsAt`: until when the previous secret still signs (the service knows the time). */
export function presentWebhookEndpoint(endpoint: WebhookEndpointRecord, rotationEndsAt: string | null): Schemas['WebhookEndpoint'] {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events as Schemas['WebhookEventType'][],
    enabled: endpoint.enabled,
    disabled_reason: endpoint.disabledReason,
    consecutive_failures: endpoint.consecutiveFailures,
    last_error: endpoint.lastError,
    last_error_at: endpoint.lastErrorAt,
    secret_rotation_ends_at: rotationEndsAt,
    created_at: endpoint.createdAt,
    updated_at: endpoint.updatedAt,
  };
}

export function presentWebhookDelivery(delivery: WebhookDeliveryRecord): Schemas['WebhookDelivery'] {
  return {
    id: delivery.id,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    endpoint_id: delivery.endpointId,
    status: delivery.status,
    attempts: delivery.attempts,
    next_attempt_at: delivery.nextAttemptAt,
    last_status_code: delivery.lastStatusCode,
    last_duration_ms: delivery.lastDurationMs,
    last_error: delivery.lastError,
    delivered_at: delivery.deliveredAt,
    created_at: delivery.createdAt,
  };
}

export function presentWorkspace(workspace: WorkspaceRecord, token: TokenRecord | undefined): Schemas['Workspace'] {
  return {
    id: workspace.id,
    name: workspace.name,
    description: workspace.description,
    default_prompt: workspace.defaultPrompt,
    bound_token: token
      ? { id: token.id, name: token.name, display_hint: token.displayHint, scopes: presentScopes(token.scopes), role: token.role as Schemas['Role'] | null }
      : null,
    delegable: workspace.delegable,
    created_at: workspace.createdAt,
    updated_at: workspace.updatedAt,
  };
}

export function presentRun(run: RunRecord): Schemas['Run'] {
  return {
    id: run.id,
    workspace_id: run.workspaceId,
    status: run.status,
    trigger: run.trigger,
    prompt: run.prompt,
    overrides: run.overrides,
    attempts: run.attempts,
    effective_scopes: run.effectiveScopes,
    result_summary: run.resultSummary,
    error: run.error,
    queued_at: run.queuedAt,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    triggered_by: run.triggeredBy,
    acting_token_id: run.actingTokenId,
  };
}

export function presentRule(rule: RuleRecord): Schemas['Rule'] {
  return {
    id: rule.id,
    workspace_id: rule.workspaceId,
    name: rule.name,
    trigger: rule.trigger,
    cron: rule.cron,
    timezone: rule.timezone,
    prompt_template: rule.promptTemplate,
    cooldown_seconds: rule.cooldownSeconds,
    enabled: rule.enabled,
    next_fire_at: rule.nextFireAt,
    last_fired_at: rule.lastFiredAt,
    legacy_signature_until: rule.legacySignatureUntil,
    created_at: rule.createdAt,
    updated_at: rule.updatedAt,
  };
}
