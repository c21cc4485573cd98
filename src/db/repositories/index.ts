import type { Knex } from 'knex';
import type { Database } from '../knex';
import { artifactsRepository } from './artifacts.repository';
import { auditRepository } from './audit.repository';
import { billingRepository } from './billing.repository';
import { idempotencyRepository } from './idempotency.repository';
import { ledgerRepository } from './ledger.repository';
import { mailRepository } from './mail.repository';
import { notificationPreferencesRepository } from './notification-preferences.repository';
import { organizationsRepository } from './organizations.repository';
import { placesRepository } from './places.repository';
import { referralLinksRepository } from './referral-links.repository';
import { sealedRepository } from './sealed.repository';
import { usageRepository } from './usage.repository';
import { webhooksRepository } from './webhooks.repository';
import { rulesRepository, workspaceSessionsRepository, workspacesRepository } from './workspaces.repository';
import { postsRepository } from './posts.repository';
import { sessionsRepository } from './sessions.repository';
import { tokensRepository } from './tokens.repository';
import { totpStepsRepository } from './totp-steps.repository';
import { usersRepository } from './users.repository';

export interface Repositories {
  users: ReturnType<typeof usersRepository>;
  tokens: ReturnType<typeof tokensRepository>;
  sessions: ReturnType<typeof sessionsRepository>;
  totpSteps: ReturnType<typeof totpStepsRepository>;
  posts: ReturnType<typeof postsRepository>;
  audit: ReturnType<typeof auditRepository>;
  places: ReturnType<typeof placesRepository>;
  artifacts: ReturnType<typeof artifactsRepository>;
  notificationPreferences: ReturnType<typeof notificationPreferencesRepository>;
  organizations: ReturnType<typeof organizationsRepository>;
  referralLinks: ReturnType<typeof referralLinksRepository>;
  usage: ReturnType<typeof usageRepository>;
  idempotency: ReturnType<typeof idempotencyRepository>;
  webhooks: ReturnType<typeof webhooksRepository>;
  workspaces: ReturnType<typeof workspacesRepository>;
  rules: ReturnType<typeof rulesRepository>;
  workspaceSessions: ReturnType<typeof workspaceSessionsRepository>;
  billing: ReturnType<typeof billingRepository>;
  ledger: ReturnType<typeof ledgerRepository>;
  sealed: ReturnType<typeof sealedRepository>;
  mail: ReturnType<typeof mailRepository>;
  /** Runs `work` in one database transaction; everything it writes lands together or not at all. */
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
  /** A cheap round trip, for health checks. */
  ping(): Promise<void>;
}

/** Told after a commit that changed a token or a user (src/auth/token-cache.ts); answers when all forgot. */
export interface AuthChanges {
  changed(): Promise<void>;
}

// The writes after which no instance may go on serving a PAT lookup it kept. Creating a token or a user
// is not one (an unknown hash is never kept), nor is recording a last use (read only for its minute).
const AUTH_WRITES = {
  tokens: ['revokeLineage', 'revokeAllForUser', 'replaceSecret'],
  users: ['update', 'bumpTokenVersion'],
} as const;

/**
 * The repository with its auth writes followed by `after`: the announcement itself outside a
 * transaction; inside one, a mark that `transaction` reads once it ends, so no instance forgets before
 * the change is visible.
 */
function announcingChanges<R extends object>(repository: R, writes: readonly string[], after: () => Promise<void>): R {
  const wrapped: Record<string, unknown> = { ...(repository as Record<string, unknown>) };
  for (const name of writes) {
    const write = (repository as Record<string, (...args: unknown[]) => Promise<unknown>>)[name]!;
    wrapped[name] = async (...args: unknown[]) => {
      const result = await write(...args);
      await after();
      return result;
    };
  }
  return wrapped as R;
}

export function createRepositories(database: Database, changes?: AuthChanges, executor: Knex = database.knex, inTransaction?: { dirty: boolean }): Repositories {
  const after = inTransaction ? async () => { inTransaction.dirty = true; } : async () => changes?.changed();
  return {
    users: announcingChanges(usersRepository(executor, database), AUTH_WRITES.users, after),
    tokens: announcingChanges(tokensRepository(executor, database), AUTH_WRITES.tokens, after),
    sessions: sessionsRepository(executor, database),
    totpSteps: totpStepsRepository(executor),
    posts: postsRepository(executor, database),
    audit: auditRepository(executor),
    places: placesRepository(executor),
    artifacts: artifactsRepository(executor),
    notificationPreferences: notificationPreferencesRepository(executor),
    organizations: organizationsRepository(executor),
    referralLinks: referralLinksRepository(executor),
    usage: usageRepository(executor),
    idempotency: idempotencyRepository(executor),
    webhooks: webhooksRepository(executor),
    workspaces: workspacesRepository(executor, database.dialect),
    rules: rulesRepository(executor),
    workspaceSessions: workspaceSessionsRepository(executor),
    billing: billingRepository(executor),
    ledger: ledgerRepository(executor),
    sealed: sealedRepository(executor),
    mail: mailRepository(executor),
    transaction: async (work) => {
      const marked = { dirty: false };
      try {
        return await database.knex.transaction((trx) => work(createRepositories(database, changes, trx, marked)));
      } finally {
        // Rolled back too: on SQLite's one connection a hot-path read may have seen the write uncommitted.
        if (marked.dirty) await changes?.changed();
      }
    },
    ping: async () => {
      await executor.raw('select 1');
    },
  };
}
