import type { Window } from '../db/page';
import type { components } from '../../generated/openapi';
import { addSeconds, Clock, iso } from '../core/clock';
import type { SignedInPrincipal } from '../auth/principal';
import { difference, grantOf } from '../auth/scopes';
import { displayHint, generatePat, hashToken, isWellFormedPat } from '../auth/token-format';
import { invalidToken } from '../auth/www-authenticate';
import { newId } from '../core/ids';
import type { Contract } from '../contract/spec';
import type { Repositories } from '../db/repositories';
import type { TokenRecord } from '../db/repositories/tokens.repository';
import { ApiError, fail, notFound } from '../core/errors';
import type { AuditService } from './audit.service';

const DAY = 24 * 3600;
import type { WebhooksService } from './webhooks.service';
import type { MailService } from './mail.service';
import { emailUnverified } from './email-verification.service';

export const MAX_ACTIVE_TOKENS_PER_USER = 200;

interface Deps {
  repos: Repositories;
  contract: Contract;
  audit: AuditService;
  clock: Clock;
  webhooks: Pick<WebhooksService, 'emit'>;
  /** The owner of a token reported leaked is told by mail too (optional: the worker needs none). */
  mail?: Pick<MailService, 'enqueue'>;
  /** REQUIRE_VERIFIED_EMAIL: a token is made only for a user whose email is verified. */
  requireVerifiedEmail?: boolean;
}

export type CreateTokenInput = components['schemas']['CreateTokenRequest'];

/** 403 grant_exceeds_permissions naming the excess scopes, when `grant` goes beyond `allowed`. */
export function assertGrantWithin(grant: readonly string[], allowed: readonly string[], rule: string): void {
  const excess = difference(grant, allowed);
  if (excess.length > 0) {
    throw new ApiError('grant_exceeds_permissions',
      `${rule}: ${excess.join(', ')} ${excess.length > 1 ? 'are' : 'is'} beyond this credential's permissions.`,
      { excess_scopes: excess, requested_scopes: grant, allowed_scopes: allowed });
  }
}

export function createTokensService(deps: Deps) {
  const { repos, contract, audit, clock, webhooks } = deps;

  /**
   * A token never exceeds what its creator may do; one made or handled by a PAT also stays within
   * that PAT's grant and lifetime, so a leaked PAT cannot mint or reveal a stronger one.
   */
  function assertWithinCaller(caller: SignedInPrincipal, grant: readonly string[], expiresAt: string | null) {
    // A value in its grace period must not outlive its Sunset through a token it makes or a rotation.
    if (caller.kind === 'pat' && caller.replacedValue) {
      throw fail('token_value_replaced', `This value of token ${caller.token.id} was replaced by a rotation; it may not make or rotate tokens. Use the new value.`);
    }
    assertGrantWithin(grant, caller.scopes, 'A token cannot hold more than its creator');
    if (caller.kind === 'pat' && caller.token.expiresAt && (!expiresAt || expiresAt > caller.token.expiresAt)) {
      throw new ApiError('expiry_exceeds_parent',
        `A token made with a token must expire no later than it (${caller.token.expiresAt}).`,
        { parent_expires_at: caller.token.expiresAt });
    }
  }

  /**
   * Revokes a token and its lineage inside `tx`, each audited and announced (the descendants naming the
   * root in `ancestor_id`). Takes the user's lock first: see create, no child is minted during the walk.
   */
  async function revokeLineage(tx: Repositories, userId: string, rootId: string, how: { by: string; auditType: 'token.revoked' | 'token.revoked_as_leaked'; ip: string | null }): Promise<string[]> {
    await tx.users.lockForUpdate(userId);
    const revoked = await tx.tokens.revokeLineage(userId, rootId, iso(clock()));
    for (const tokenId of revoked) {
      const cascaded = tokenId === rootId ? {} : { ancestor_id: rootId };
      await audit.record({ userId, type: how.auditType, tokenId, ip: how.ip, details: { by: how.by, ...cascaded } }, tx);
      await webhooks.emit(tx, userId, 'token.revoked', { id: tokenId, by: how.by, ...cascaded });
    }
    return revoked;
  }

  /** The token as its owner sees it: a replaced value whose grace period is over is no longer shown. */
  function withLiveValues(token: TokenRecord): TokenRecord {
    return token.previous && token.previous.expiresAt <= iso(clock()) ? { ...token, previous: null } : token;
  }

  /** Each live token of a leak report, revoked with its lineage, audited and announced to its owner. */
  async function revokeLeaked(live: Array<{ id: string; userId: string }>, ip: string | null): Promise<void> {
    for (const token of live) {
      await repos.transaction(async (tx) => {
        const revoked = await revokeLineage(tx, token.userId, token.id, { by: 'leak_report', auditType: 'token.revoked_as_leaked', ip });
        const owner = revoked.length > 0 ? await tx.users.findById(token.userId) : undefined;
        if (owner && deps.mail) {
          await deps.mail.enqueue(tx, {
            to: owner.email,
            subject: 'A GetPaidX token of yours was found leaked and revoked',
            text: `Someone reported the value of your token ${token.id} as found in public, so it was revoked at once${revoked.length > 1 ? `, with the ${revoked.length - 1} token(s) made from it` : ''}. Whatever used it now gets 401: create a new token for it, and find out how the value got out.`,
          });
        }
      });
    }
  }

  return {
    async create(caller: SignedInPrincipal, input: CreateTokenInput, ip: string | null) {
      if (deps.requireVerifiedEmail && !caller.user.emailVerifiedAt) throw emailUnverified('Creating a token');
      const scopes = [...new Set(input.scopes ?? [])].sort();
      const role = input.role ?? null;
      const grant = grantOf(contract, scopes, role);
      if (grant.length === 0) throw fail('empty_grant', 'Give the token at least one scope or a role.');
      const now = clock();
      // A PAT-made token without an expiry inherits its parent's.
      const expiresAt = input.expires_at
        ? iso(new Date(input.expires_at))
        : caller.kind === 'pat' ? caller.token.expiresAt : null;
      if (expiresAt && expiresAt <= iso(now)) throw fail('invalid_expiry', 'expires_at must be in the future.');
      assertWithinCaller(caller, grant, expiresAt);

      const raw = generatePat();
      const record: TokenRecord = {
        id: newId('tok'),
        userId: caller.user.id,
        name: input.name,
        displayHint: displayHint(raw),
        scopes,
        role,
        createdVia: caller.kind,
        parentTokenId: caller.kind === 'pat' ? caller.token.id : null,
        expiresAt,
        createdAt: iso(now),
        lastUsedAt: null,
        lastUsedIp: null,
        revokedAt: null,
        rotatedAt: null,
        previous: null,
      };
      await repos.transaction(async (tx) => {
        // The user's lock orders this against a revocation of the parent (which takes it too): either
        // the revocation comes first and the parent is found revoked here, or it comes after and its
        // walk down the lineage finds this token. Never a live child of a revoked parent.
        await tx.users.lockForUpdate(caller.user.id);
        if (caller.kind === 'pat' && !(await tx.tokens.findActiveForUser(caller.user.id, caller.token.id))) {
          throw invalidToken('The token making this request has been revoked.');
        }
        if ((await tx.tokens.countActiveForUser(caller.user.id)) >= MAX_ACTIVE_TOKENS_PER_USER) {
          throw fail('token_limit_reached', `An account may hold ${MAX_ACTIVE_TOKENS_PER_USER} active tokens; revoke unused ones first.`);
        }
        await tx.tokens.insert({ ...record, tokenHash: hashToken(raw), now: record.createdAt });
        await audit.record({
          userId: caller.user.id, type: 'token.created', tokenId: record.id, ip,
          details: { name: record.name, scopes, role, expires_at: expiresAt, created_via: caller.kind },
        }, tx);
        await webhooks.emit(tx, caller.user.id, 'token.created', { id: record.id, name: record.name, scopes, role, display_hint: record.displayHint, expires_at: expiresAt, created_via: caller.kind });
      });
      return { record, raw };
    },

    async list(userId: string, window: Window) {
      const page = await repos.tokens.listActiveForUser(userId, window);
      return { ...page, rows: page.rows.map(withLiveValues) };
    },

    async get(userId: string, id: string): Promise<TokenRecord> {
      const token = await repos.tokens.findActiveForUser(userId, id);
      if (!token) throw notFound('Token');
      return withLiveValues(token);
    },

    /**
     * Revokes the token and, in the same transaction, every token made from it (a PAT that minted
     * PATs hands its revocation down its lineage): a leaked parent cannot live on through its children.
     * Each revocation is audited and emits token.revoked; the descendants name the ancestor revoked.
     */
    async revoke(caller: SignedInPrincipal, id: string, ip: string | null): Promise<{ revoked: string[] }> {
      return repos.transaction(async (tx) => {
        const revoked = await revokeLineage(tx, caller.user.id, id, { by: caller.kind, auditType: 'token.revoked', ip });
        if (revoked.length === 0) throw notFound('Token');
        return { revoked };
      });
    },

    /**
     * A leak report (public): every live token among the values is revoked with its lineage, audited as
     * token.revoked_as_leaked and announced to its owner. Values that fail the checksum are dropped
     * before any lookup; the answer (how many were received) is the same whatever was found, and so is
     * its timing: one lookup for all the values, then `revoke` does the work after the answer is sent.
     */
    async reportLeaked(values: string[], ip: string | null): Promise<{ received: number; revoke: () => Promise<void> }> {
      const hashes = [...new Set(values.filter(isWellFormedPat))].map(hashToken);
      const live = await repos.tokens.findActiveByHashes(hashes, iso(clock()));
      return { received: values.length, revoke: () => revokeLeaked(live, ip) };
    },

    /**
     * Expiry notices through the outbox: token.expiring 7 days and 1 day before a token's expiry, and
     * token.expired once it has passed, each sent once across all instances (a compare-and-set on the
     * token's notice level in the same transaction as the event). A token found late gets only the
     * latest notice that applies. Revoked tokens get none. Answers how many notices went out.
     */
    async announceExpiries(): Promise<number> {
      const now = clock();
      const levelAt = (expiresAt: string) => (expiresAt <= iso(now) ? 3 : expiresAt <= iso(addSeconds(now, DAY)) ? 2 : 1);
      let sent = 0;
      for (const token of await repos.tokens.dueExpiryNotices(iso(addSeconds(now, 7 * DAY)), 3, 500)) {
        const level = levelAt(token.expiresAt);
        if (level <= token.notice) continue;
        await repos.transaction(async (tx) => {
          if (!(await tx.tokens.advanceExpiryNotice(token.id, token.notice, level))) return;
          const data = { id: token.id, name: token.name, expires_at: token.expiresAt };
          if (level === 3) await webhooks.emit(tx, token.userId, 'token.expired', data);
          else await webhooks.emit(tx, token.userId, 'token.expiring', { ...data, days_left: level === 2 ? 1 : 7 });
          sent += 1;
        });
      }
      return sent;
    },

    /** "I think I leaked something": every active token of the caller, revoked at once, each audited. */
    async revokeAll(caller: SignedInPrincipal, ip: string | null): Promise<{ revoked: string[] }> {
      return repos.transaction(async (tx) => {
        await tx.users.lockForUpdate(caller.user.id);
        const revoked = await tx.tokens.revokeAllForUser(caller.user.id, iso(clock()));
        for (const tokenId of revoked) {
          await audit.record({ userId: caller.user.id, type: 'token.revoked', tokenId, ip, details: { by: caller.kind, all: true } }, tx);
          await webhooks.emit(tx, caller.user.id, 'token.revoked', { id: tokenId, by: caller.kind });
        }
        return { revoked };
      });
    },

    /**
     * A new value for the token (same id, grant, expiry and lineage), shown once. With `graceSeconds`,
     * the value replaced keeps working that long (never past the token's own expiry), its answers
     * marked deprecated, so the scripts using it can switch without an outage; without, it stops at once.
     */
    async rotate(caller: SignedInPrincipal, id: string, graceSeconds: number, ip: string | null) {
      const token = await repos.tokens.findActiveForUser(caller.user.id, id);
      if (!token) throw notFound('Token');
      assertWithinCaller(caller, grantOf(contract, token.scopes, token.role), token.expiresAt);
      const raw = generatePat();
      const hint = displayHint(raw);
      const now = iso(clock());
      const graceEnds = graceSeconds > 0 ? iso(addSeconds(clock(), graceSeconds)) : null;
      const previousExpiresAt = graceEnds && token.expiresAt && token.expiresAt < graceEnds ? token.expiresAt : graceEnds;
      await repos.transaction(async (tx) => {
        if (!(await tx.tokens.replaceSecret(caller.user.id, id, { tokenHash: hashToken(raw), displayHint: hint, now, previousExpiresAt }))) throw notFound('Token');
        await audit.record({ userId: caller.user.id, type: 'token.rotated', tokenId: id, ip, details: { by: caller.kind, grace_seconds: graceSeconds, previous_expires_at: previousExpiresAt } }, tx);
      });
      const previous = previousExpiresAt ? { expiresAt: previousExpiresAt, lastUsedAt: null, lastUsedIp: null } : null;
      return { record: { ...token, displayHint: hint, rotatedAt: now, previous }, raw };
    },
  };
}

export type TokensService = ReturnType<typeof createTokensService>;
