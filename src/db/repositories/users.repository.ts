import type { Knex } from 'knex';
import type { Database } from '../knex';
import { OLDEST_FIRST, Page, pageOf, Window } from '../page';
import { preparedGet } from '../prepared';

export interface UserRecord {
  id: string;
  email: string;
  name: string | null;
  role: string;
  isPlatformAdmin: boolean;
  disabledAt: string | null;
  totpEnabledAt: string | null;
  tokenVersion: number;
  createdAt: string;
  /** When the current email was verified; null until then (and again after an email change). */
  emailVerifiedAt: string | null;
}

export interface UserSecrets {
  passwordHash: string;
  totpSecretEnc: string | null;
  pendingTotpSecretEnc: string | null;
}

/** Columns a principal needs; never the password hash or TOTP seeds. */
export const USER_COLUMNS = [
  'id', 'email', 'name', 'role', 'is_platform_admin', 'disabled_at', 'totp_enabled_at', 'token_version', 'created_at',
  'email_verified_at',
] as const;

export function toUser(row: Record<string, any>, prefix = ''): UserRecord {
  return {
    id: row[`${prefix}id`],
    email: row[`${prefix}email`],
    name: row[`${prefix}name`] ?? null,
    role: row[`${prefix}role`],
    isPlatformAdmin: Boolean(row[`${prefix}is_platform_admin`]),
    disabledAt: row[`${prefix}disabled_at`] ?? null,
    totpEnabledAt: row[`${prefix}totp_enabled_at`] ?? null,
    tokenVersion: Number(row[`${prefix}token_version`]),
    createdAt: row[`${prefix}created_at`],
    emailVerifiedAt: row[`${prefix}email_verified_at`] ?? null,
  };
}

export interface NewUser {
  id: string;
  email: string;
  name: string | null;
  passwordHash: string;
  role: string;
  now: string;
}

export type UserPatch = Partial<{
  role: string;
  is_platform_admin: boolean;
  disabled_at: string | null;
  password_hash: string;
  totp_secret_enc: string | null;
  pending_totp_secret_enc: string | null;
  totp_enabled_at: string | null;
  email_verified_at: string | null;
}>;

export function usersRepository(db: Knex, database: Database) {
  // Every JWT and session request reads its user (current role, status, token version).
  const findOne = preparedGet(database, `SELECT ${USER_COLUMNS.join(', ')} FROM users WHERE id = ?`);

  async function findWithSecrets(where: { id: string } | { email: string }): Promise<(UserRecord & UserSecrets) | undefined> {
    const row = await db('users').select([...USER_COLUMNS, 'password_hash', 'totp_secret_enc', 'pending_totp_secret_enc']).where(where).first();
    return row ? withSecrets(row) : undefined;
  }

  return {
    /**
     * Inside a transaction: holds the user's row until it ends, so two concurrent "count, then insert
     * if under the cap" writes of one user take turns. On SQLite a no-op write takes the database's
     * write lock before the count: a transaction that reads first and writes later could not upgrade
     * its lock while another process (a worker) writes, and would fail as busy instead of waiting.
     */
    async lockForUpdate(userId: string): Promise<void> {
      if (database.dialect === 'postgres') await db.raw('SELECT 1 FROM users WHERE id = ? FOR UPDATE', [userId]);
      else await db.raw('UPDATE users SET id = id WHERE id = ?', [userId]);
    },
    async insert(user: NewUser): Promise<void> {
      await db('users').insert({
        id: user.id,
        email: user.email,
        name: user.name,
        password_hash: user.passwordHash,
        role: user.role,
        is_platform_admin: false,
        token_version: 0,
        created_at: user.now,
        updated_at: user.now,
      });
    },

    async findById(id: string): Promise<UserRecord | undefined> {
      const row = await findOne(db, [id]);
      return row ? toUser(row) : undefined;
    },

    findWithSecretsByEmail: (email: string) => findWithSecrets({ email }),
    findWithSecretsById: (id: string) => findWithSecrets({ id }),

    async update(id: string, patch: UserPatch, now: string): Promise<void> {
      await db('users').where({ id }).update({ ...patch, updated_at: now });
    },

    /** Every JWT carrying the old version stops working on its next request. */
    async bumpTokenVersion(id: string, now: string): Promise<void> {
      await db('users').where({ id }).update({ token_version: db.raw('token_version + 1'), updated_at: now });
    },

    list(window: Window): Promise<Page<UserRecord>> {
      return pageOf(() => db('users'), USER_COLUMNS, OLDEST_FIRST, window, (row) => toUser(row));
    },
  };
}

function withSecrets(row: Record<string, any>): UserRecord & UserSecrets {
  return {
    ...toUser(row),
    passwordHash: row.password_hash,
    totpSecretEnc: row.totp_secret_enc ?? null,
    pendingTotpSecretEnc: row.pending_totp_secret_enc ?? null,
  };
}

export type UsersRepository = ReturnType<typeof usersRepository>;
