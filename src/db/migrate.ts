import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const MIGRATIONS_DIRECTORY = join(__dirname, 'migrations');

/**
 * The migrations are the files in src/db/migrations (dist/…/migrations once compiled, where they are
 * .js). Each is recorded as `<name>.ts` whatever it runs from, which is also what the knex CLI's own
 * file-system source records (knexfile.ts: `npx knex migrate:latest`, `migrate:make`,
 * `migrate:rollback`), so the server, tsx, Jest, the compiled build and the CLI can share a database.
 */
export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return readdirSync(MIGRATIONS_DIRECTORY)
      .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
      .map((file) => file.replace(/\.(ts|js)$/, ''))
      .sort();
  },
  getMigrationName: (name) => `${name}.ts`,
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  getMigration: async (name) => require(join(MIGRATIONS_DIRECTORY, name)) as Migration,
};

/**
 * Databases migrated before the knex CLI was supported recorded names without an extension: they are
 * renamed once, so neither side runs a migration twice.
 */
async function adoptOldNames(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('knex_migrations'))) return;
  await knex('knex_migrations').whereNot('name', 'like', '%.ts').update({ name: knex.raw("name || '.ts'") });
}

export async function migrateToLatest(knex: Knex): Promise<string[]> {
  await adoptOldNames(knex);
  const [, applied] = (await knex.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}
