import type { Knex } from 'knex';
import type { Database } from './knex';

export type PreparedGet = (executor: Knex, params: unknown[]) => Promise<Record<string, any> | undefined>;

/**
 * A single-row read for the hot path. On the embedded SQLite store it runs a statement prepared once
 * on the raw better-sqlite3 connection (~5–10 µs); knex would rebuild, re-prepare and queue it through
 * its pool on every call (~110 µs, DESIGN §7). Inside a transaction, and on PostgreSQL, it goes
 * through the given knex executor, so it sees the transaction's own writes. `?` placeholders work on both.
 */
export function preparedGet(database: Database, sql: string): PreparedGet {
  let cached: { connection: unknown; statement: import('better-sqlite3').Statement } | undefined;
  return async (executor, params) => {
    const sqlite = database.sqlite();
    if (sqlite && executor === database.knex) {
      if (!cached || cached.connection !== sqlite) cached = { connection: sqlite, statement: sqlite.prepare(sql) };
      return cached.statement.get(...params) as Record<string, any> | undefined;
    }
    const result = await executor.raw(sql, params as Knex.RawBinding[]);
    return database.dialect === 'postgres' ? result.rows[0] : result[0];
  };
}
