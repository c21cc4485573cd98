/**
 * The knex CLI's configuration (`npx knex migrate:latest`, `migrate:rollback`, `migrate:make <name>`),
 * on the same migrations and the same recorded names as `npm run migrate` and the server's start-up.
 * The CLI loads this TypeScript file through sucrase (a dev dependency).
 *
 *   development  DATABASE_URL, or the embedded SQLite file the server uses by default
 *   test         TEST_DATABASE_URL, or a SQLite file under data/
 *   production   DATABASE_URL (PostgreSQL), required
 */
import type { Knex } from 'knex';
import { knexConfigFor } from './src/db/knex';
import { MIGRATIONS_DIRECTORY } from './src/db/migrate';

// knex's own file-system source: it records `<file>.ts`, as src/db/migrate.ts does for the server.
const migrations: Knex.MigratorConfig = { directory: MIGRATIONS_DIRECTORY, extension: 'ts', loadExtensions: ['.ts'] };

function production(): Knex.Config {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('the production environment needs DATABASE_URL (postgres://…)');
  return { ...knexConfigFor(url), migrations };
}

const config: Record<string, Knex.Config> = {
  development: { ...knexConfigFor(process.env.DATABASE_URL || 'sqlite:data/getpaidx.sqlite3'), migrations },
  test: { ...knexConfigFor(process.env.TEST_DATABASE_URL || 'sqlite:data/test.sqlite3'), migrations },
  get production() {
    return production();
  },
};

module.exports = config;
