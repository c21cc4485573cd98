import type { Knex } from 'knex';
import type { Database } from '../knex';
import { countOf, NEWEST_FIRST, Page, pageOf, Window } from '../page';
import { preparedGet } from '../prepared';
import { toUser, UserRecord } from './users.repository';

export interface TokenRecord {
  id: string;
  userId: string;
  name: string;
  displayHint: string;
  scopes: string[];
  role: string | null;
  createdVia: 'session' | 'jwt' | 'pat';
  parentTokenId: string | null;
  expiresAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  revokedAt: string | null;
  rotatedAt: string | null;
  /** The value a rotation with grace replaced, while it may still work (until `expiresAt`). */
  previous: PreviousValue | null;
}

export interface PreviousValue {
  expiresAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
}

export interface NewToken {
  id: string;
  userId: string;
  name: string;
  tokenHash: string;
  displayHint: string;
  scopes: string[];
  role: string | null;
  createdVia: TokenRecord['createdVia'];
  parentTokenId: string | null;
  expiresAt: string | null;
  now: string;
}

const TOKEN_COLUMNS = [
  'id', 'user_id', 'name', 'display_hint', 'scopes', 'role', 'created_via', 'parent_token_id', 'expires_at',
  'created_at', 'last_used_at', 'last_used_ip', 'revoked_at', 'rotated_at', 'previous_expires_at',
  'previous_last_used_at', 'previous_last_used_ip',
];

// The hot path: one indexed lookup by hash, joined with the creator, whose *current* role and status
// bound what the token may do. Kept in memory only under src/auth/token-cache.ts's rules, so a revoke
// or a disable still counts on the very next request everywhere.
// Exported for the bench's floor route (scripts/bench-floor.mjs), which runs the very same read.
const lookupBy = (column: string) => `SELECT ${TOKEN_COLUMNS.map((c) => `t.${c}`).join(', ')},
  u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, u.is_platform_admin AS u_is_platform_admin,
  u.disabled_at AS u_disabled_at, u.totp_enabled_at AS u_totp_enabled_at, u.token_version AS u_token_version,
  u.created_at AS u_created_at, u.email_verified_at AS u_email_verified_at
  FROM personal_access_tokens t JOIN users u ON u.id = t.user_id WHERE t.${column} = ?`;
export const PAT_LOOKUP_SQL = lookupBy('token_hash');
// Only when no current value matches: a value replaced by a rotation with grace, still in its overlap.
const PREVIOUS_VALUE_LOOKUP_SQL = lookupBy('previous_token_hash');

function toToken(row: Record<string, any>): TokenRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    displayHint: row.display_hint,
    scopes: JSON.parse(row.scopes),
    role: row.role ?? null,
    createdVia: row.created_via,
    parentTokenId: row.parent_token_id ?? null,
    expiresAt: row.expires_at ?? null,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at ?? null,
    lastUsedIp: row.last_used_ip ?? null,
    revokedAt: row.revoked_at ?? null,
    rotatedAt: row.rotated_at ?? null,
    previous: row.previous_expires_at
      ? { expiresAt: row.previous_expires_at, lastUsedAt: row.previous_last_used_at ?? null, lastUsedIp: row.previous_last_used_ip ?? null }
      : null,
  };
}

export function tokensRepository(db: Knex, database: Database) {
  const lookup = preparedGet(database, PAT_LOOKUP_SQL);
  const lookupPrevious = preparedGet(database, PREVIOUS_VALUE_LOOKUP_SQL);
  const active = (userId: string) => db('personal_access_tokens').where({ user_id: userId }).whereNull('revoked_at');

  return {
    async findByHashWithUser(tokenHash: string): Promise<{ token: TokenRecord; user: UserRecord } | undefined> {
      const row = await lookup(db, [tokenHash]);
      return row ? { token: toToken(row), user: toUser(row, 'u_') } : undefined;
    },

    /** The token whose previous value (replaced by a rotation with grace) has this hash. */
    async findByPreviousHashWithUser(tokenHash: string): Promise<{ token: TokenRecord; user: UserRecord } | undefined> {
      const row = await lookupPrevious(db, [tokenHash]);
      return row ? { token: toToken(row), user: toUser(row, 'u_') } : undefined;
    },

    async insert(token: NewToken): Promise<void> {
      await db('personal_access_tokens').insert({
        id: token.id,
        user_id: token.userId,
        name: token.name,
        token_hash: token.tokenHash,
        display_hint: token.displayHint,
        scopes: JSON.stringify(token.scopes),
        role: token.role,
        created_via: token.createdVia,
        parent_token_id: token.parentTokenId,
        expires_at: token.expiresAt,
        created_at: token.now,
      });
    },

    async findActiveForUser(userId: string, id: string): Promise<TokenRecord | undefined> {
      const row = await db('personal_access_tokens')
        .select(TOKEN_COLUMNS)
        .where({ id, user_id: userId })
        .whereNull('revoked_at')
        .first();
      return row ? toToken(row) : undefined;
    },

    listActiveForUser(userId: string, window: Window): Promise<Page<TokenRecord>> {
      return pageOf(() => active(userId), TOKEN_COLUMNS, NEWEST_FIRST, window, toToken);
    },

    async countActiveForUser(userId: string): Promise<number> {
      return countOf(active(userId));
    },

    /**
     * Revokes the token and every token made from it, down its whole lineage (children, their children,
     * …; through tokens revoked earlier too). Answers the ids revoked now, the token's own first; none
     * when the token was already revoked (or is not the user's). Run it in a transaction.
     */
    async revokeLineage(userId: string, id: string, now: string): Promise<string[]> {
      const changed = await db('personal_access_tokens').where({ id, user_id: userId }).whereNull('revoked_at').update({ revoked_at: now });
      if (changed === 0) return [];
      const revoked = [id];
      let generation = [id];
      // One read per generation; a lineage is as deep as PATs made by PATs go, a handful at most.
      while (generation.length > 0) {
        const children = await db('personal_access_tokens').where({ user_id: userId }).whereIn('parent_token_id', generation).select('id', 'revoked_at');
        const live = children.filter((c: { revoked_at: string | null }) => c.revoked_at === null).map((c: { id: string }) => c.id);
        if (live.length > 0) await db('personal_access_tokens').whereIn('id', live).whereNull('revoked_at').update({ revoked_at: now });
        revoked.push(...live);
        generation = children.map((c: { id: string }) => c.id);
      }
      return revoked;
    },

    /** Live tokens expiring by `before` whose owner has been told less than `below` (expiry notices). */
    async dueExpiryNotices(before: string, below: number, limit: number): Promise<Array<{ id: string; userId: string; name: string; expiresAt: string; notice: number }>> {
      const rows = await db('personal_access_tokens').whereNull('revoked_at').whereNotNull('expires_at').where('expires_at', '<=', before)
        .where('expiry_notice', '<', below).orderBy('expires_at').limit(limit).select('id', 'user_id', 'name', 'expires_at', 'expiry_notice');
      return rows.map((r: { id: string; user_id: string; name: string; expires_at: string; expiry_notice: number }) => ({ id: r.id, userId: r.user_id, name: r.name, expiresAt: r.expires_at, notice: Number(r.expiry_notice) }));
    },

    /** Compare-and-set: moves a token's notice level on only if no one else did, so a notice goes out once. */
    async advanceExpiryNotice(id: string, from: number, to: number): Promise<boolean> {
      return (await db('personal_access_tokens').where({ id, expiry_notice: from }).update({ expiry_notice: to })) === 1;
    },

    /**
     * The owner and id of the live tokens among these hashes (a leak report's lookup: one query): a
     * current value, or a value replaced by a rotation with grace while it still works.
     */
    async findActiveByHashes(tokenHashes: string[], now: string): Promise<Array<{ id: string; userId: string }>> {
      if (tokenHashes.length === 0) return [];
      const rows = await db('personal_access_tokens')
        .where((q) => q.whereIn('token_hash', tokenHashes)
          .orWhere((p) => p.whereIn('previous_token_hash', tokenHashes).andWhere('previous_expires_at', '>', now)))
        .whereNull('revoked_at').select('id', 'user_id');
      return rows.map((r: { id: string; user_id: string }) => ({ id: r.id, userId: r.user_id }));
    },

    /** Every active token of the user, revoked now; answers their ids. Run it in a transaction. */
    async revokeAllForUser(userId: string, now: string): Promise<string[]> {
      const ids: string[] = await active(userId).pluck('id');
      if (ids.length > 0) await db('personal_access_tokens').whereIn('id', ids).whereNull('revoked_at').update({ revoked_at: now });
      return ids;
    },

    /**
     * A new value for the token. With `previousExpiresAt`, the value replaced keeps working until then
     * (its own last use starts afresh); without, it stops at once. A previous value from an earlier
     * rotation ends here either way. One statement, so the old hash is the one this update replaced.
     */
    async replaceSecret(userId: string, id: string, secret: { tokenHash: string; displayHint: string; now: string; previousExpiresAt: string | null }): Promise<boolean> {
      const changed = await db('personal_access_tokens')
        .where({ id, user_id: userId })
        .whereNull('revoked_at')
        .update({
          previous_token_hash: secret.previousExpiresAt ? db.raw('??', ['token_hash']) : null,
          previous_expires_at: secret.previousExpiresAt,
          previous_last_used_at: null,
          previous_last_used_ip: null,
          token_hash: secret.tokenHash,
          display_hint: secret.displayHint,
          rotated_at: secret.now,
        });
      return changed > 0;
    },

    /**
     * Records use at most once per `staleBefore` window: the WHERE clauses make the write a no-op when
     * another request (or instance) already recorded a recent use. Returns whether this was the first
     * use, as the write found it: only one write ever finds no last use, whatever a reader (or a lookup
     * an instance kept) believed.
     */
    async touch(id: string, now: string, ip: string | null, staleBefore: string): Promise<{ first: boolean }> {
      const used = { last_used_at: now, last_used_ip: ip };
      if ((await db('personal_access_tokens').where({ id }).whereNull('last_used_at').update(used)) > 0) return { first: true };
      await db('personal_access_tokens').where({ id }).where('last_used_at', '<', staleBefore).update(used);
      return { first: false };
    },

    /** `touch` for a previous value (rotation with grace): its uses are recorded apart from the new value's. */
    async touchPrevious(id: string, now: string, ip: string | null, staleBefore: string): Promise<void> {
      await db('personal_access_tokens')
        .where({ id })
        .whereNotNull('previous_token_hash')
        .andWhere((q) => q.whereNull('previous_last_used_at').orWhere('previous_last_used_at', '<', staleBefore))
        .update({ previous_last_used_at: now, previous_last_used_ip: ip });
    },
  };
}

export type TokensRepository = ReturnType<typeof tokensRepository>;
