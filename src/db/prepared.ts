import type { Knex } from 'knex';
import type { Database } from './knex';

export type PreparedGet = (executor: Knex, params: unknown[]) => Promise<Record<string, any> | undefined>;

/**
 * A single-row read for the hot path. On the embedded SQLite store it runs a statement prepared once
 * on the raw better-sqlite3 connection (~5–10 µs); knex would rebuild, re-prepare and queue it through
 * its pool on every call (~110 µs, DESIGN §7). On PostgreSQL it runs on the hot-path reader (below).
 * Inside a transaction it goes through the given knex executor, so it sees the transaction's own
 * writes. `?` placeholders work on both.
 */
export function preparedGet(database: Database, sql: string): PreparedGet {
  const onSqlite = sqliteStatement(database, sql);
  // On PostgreSQL, a prepared statement on the hot-path reader (database.reader, the `postgres` driver):
  // each connection parses and plans it once and keeps its row description, then every call is a bind
  // and execute, without knex's query building, pool or per-call row parsing set-up.
  const text = numberedPlaceholders(sql);
  return async (executor, params) => {
    if (executor === database.knex) {
      const statement = onSqlite();
      if (statement) return statement.get(...params) as Record<string, any> | undefined;
      if (database.reader) return database.reader.first(text, params);
    }
    const result = await executor.raw(sql, params as Knex.RawBinding[]);
    return database.dialect === 'postgres' ? result.rows[0] : result[0];
  };
}

/**
 * SQLite only: how many commits other connections (other processes on the file) have made, as the one
 * connection last saw (`PRAGMA data_version`); it moves whenever another process writes. Undefined on
 * PostgreSQL, which has no such count.
 */
export function sqliteCommitCount(database: Database): (() => number | undefined) | undefined {
  if (database.dialect !== 'sqlite') return undefined;
  const dataVersion = sqliteStatement(database, 'PRAGMA data_version');
  return () => (dataVersion()?.get() as { data_version: number } | undefined)?.data_version;
}

/** `sql` prepared once on the one SQLite connection (again if it was reopened); undefined without one. */
function sqliteStatement(database: Database, sql: string): () => import('better-sqlite3').Statement | undefined {
  let cached: { connection: unknown; statement: import('better-sqlite3').Statement } | undefined;
  return () => {
    const sqlite = database.sqlite();
    if (!sqlite) return undefined;
    if (cached?.connection !== sqlite) cached = { connection: sqlite, statement: sqlite.prepare(sql) };
    return cached.statement;
  };
}

/** `?` placeholders as PostgreSQL's `$1, $2, …` (the hot-path statements have no `?` anywhere else). */
function numberedPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
