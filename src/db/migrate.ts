import type { Knex } from 'knex';
import * as initial from './migrations/001_initial';
import * as contentAndAccount from './migrations/002_content_and_account';
import * as webhooks from './migrations/003_webhooks';
import * as workspaces from './migrations/004_workspaces';
import * as workspaceRules from './migrations/005_workspace_rules';
import * as billing from './migrations/006_billing';
import * as workspaceSessions from './migrations/007_workspace_sessions';
import * as stripe from './migrations/008_stripe';
import * as ledger from './migrations/009_ledger';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are imported, not discovered on disk, so the same list runs under tsx, Jest and the
 * compiled dist/ (the knex CLI would look for ts-node and record other names).
 */
const MIGRATIONS: ReadonlyArray<[string, Migration]> = [
  ['001_initial', initial],
  ['002_content_and_account', contentAndAccount],
  ['003_webhooks', webhooks],
  ['004_workspaces', workspaces],
  ['005_workspace_rules', workspaceRules],
  ['006_billing', billing],
  ['007_workspace_sessions', workspaceSessions],
  ['008_stripe', stripe],
  ['009_ledger', ledger],
];

const source: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

export async function migrateToLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}
