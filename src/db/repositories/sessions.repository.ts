import type { Knex } from 'knex';
import type { Database } from '../knex';
import { preparedGet } from '../prepared';

export interface StoredSession {
  idHash: string;
  userId: string;
  twoFactorVerified: boolean;
  createdAt: string;
  /** When this session last proved the password or a code: its sign-in, or a later reauthenticate. */
  authenticatedAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

function toSession(row: Record<string, any>): StoredSession {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    twoFactorVerified: Boolean(row.two_factor_verified),
    createdAt: row.created_at,
    authenticatedAt: row.authenticated_at ?? row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
  };
}

export function sessionsRepository(db: Knex, database: Database) {
  const findOne = preparedGet(database, 'SELECT * FROM sessions WHERE id_hash = ?');

  return {
    async insert(session: StoredSession & { ip: string | null }): Promise<void> {
      await db('sessions').insert({
        id_hash: session.idHash,
        user_id: session.userId,
        two_factor_verified: session.twoFactorVerified,
        created_at: session.createdAt,
        authenticated_at: session.authenticatedAt,
        last_seen_at: session.lastSeenAt,
        expires_at: session.expiresAt,
        ip: session.ip,
      });
    },
    async find(idHash: string): Promise<StoredSession | undefined> {
      const row = await findOne(db, [idHash]);
      return row ? toSession(row) : undefined;
    },
    async touch(idHash: string, now: string): Promise<void> {
      await db('sessions').where({ id_hash: idHash }).update({ last_seen_at: now });
    },
    async markTwoFactorVerified(idHash: string): Promise<void> {
      await db('sessions').where({ id_hash: idHash }).update({ two_factor_verified: true });
    },
    /** A password or code check just now; a code also makes the session 2FA-verified. */
    async markReauthenticated(idHash: string, at: string, withCode: boolean): Promise<void> {
      await db('sessions').where({ id_hash: idHash }).update({ authenticated_at: at, ...(withCode ? { two_factor_verified: true } : {}) });
    },
    async delete(idHash: string): Promise<void> {
      await db('sessions').where({ id_hash: idHash }).delete();
    },
    /** Ends every session of a user, or every one but `keepIdHash`. */
    async deleteForUser(userId: string, keepIdHash?: string): Promise<number> {
      const q = db('sessions').where({ user_id: userId });
      if (keepIdHash) q.whereNot({ id_hash: keepIdHash });
      return q.delete();
    },
  };
}

/** A session as the app sees it: the stored row plus the CSRF token derived from its cookie. */
export interface SessionRecord extends StoredSession {
  csrfToken: string;
}

export type SessionsRepository = ReturnType<typeof sessionsRepository>;
