import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';

export interface TestDatabase {
  url: string;
  kind: 'sqlite' | 'postgres';
  drop(): Promise<void>;
}

/** TEST_DATABASE_URL when it points at PostgreSQL (the suite's PostgreSQL pass), else undefined. */
export const postgresTestUrl: string | undefined = /^postgres(ql)?:\/\//.test(process.env.TEST_DATABASE_URL ?? '') ? process.env.TEST_DATABASE_URL : undefined;

/**
 * A fresh database per test file: a temporary SQLite file by default, or, when TEST_DATABASE_URL
 * points at PostgreSQL, a new database on that server created for this file and dropped after it.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (postgresTestUrl) return createPostgresDatabase(postgresTestUrl);
  const dir = mkdtempSync(join(tmpdir(), 'gpx-test-'));
  return {
    url: `sqlite:${join(dir, 'test.sqlite3')}`,
    kind: 'sqlite',
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new database on the PostgreSQL server at `base`, dropped by `drop()`; throws when the server does not answer. */
export async function createPostgresDatabase(base: string, prefix = 'gpx_t_'): Promise<TestDatabase> {
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: base, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 5000 });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    kind: 'postgres',
    async drop() {
      const again = knexFactory({ client: 'pg', connection: base, pool: { min: 0, max: 1 } });
      await again.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await again.destroy();
    },
  };
}
