import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import knexFactory, { Knex } from 'knex';
import { createHotReader, HotReader } from './hot-reader';
import { resolveFromRoot } from '../core/config';

export interface Database {
  readonly knex: Knex;
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * The one better-sqlite3 connection of the embedded store, for the few hot-path reads that use a
   * prepared statement (~5–10 µs) instead of knex's builder (~110 µs a query). Undefined on PostgreSQL.
   */
  readonly sqlite: () => import('better-sqlite3').Database | undefined;
  /**
   * PostgreSQL only: a few connections of the `postgres` driver for the same hot-path reads
   * (src/db/prepared.ts, src/db/hot-reader.ts), where node-postgres under knex describes and parses
   * every row shape again and goes through knex's pool. Connects on first use. Writes and transactions
   * stay on knex. Undefined on SQLite.
   */
  readonly reader?: HotReader;
  destroy(): Promise<void>;
}

/**
 * The knex configuration for a DATABASE_URL (`sqlite:<file>` or `postgres://…`), used by the app and by
 * knexfile.ts (the knex CLI). `onConnection` sees the one SQLite connection when it opens.
 */
export function knexConfigFor(url: string, onConnection?: (conn: import('better-sqlite3').Database) => void): Knex.Config {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { client: 'pg', connection: url, pool: { min: 0, max: 10 } };
  }
  if (!url.startsWith('sqlite:')) throw new Error(`DATABASE_URL must start with sqlite: or postgres://, got "${url}"`);
  const name = url.slice('sqlite:'.length);
  const filename = name === ':memory:' ? name : resolveFromRoot(name);
  if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
  return {
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    // One connection: SQLite serialises writers anyway, and the hot path keeps a handle to it.
    pool: {
      min: 1,
      max: 1,
      idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
      afterCreate(conn: import('better-sqlite3').Database, done: (err: Error | null, conn: unknown) => void) {
        // WAL lets readers run beside the writer; NORMAL sync is durable across app crashes and
        // avoids an fsync per commit (DESIGN §7).
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = NORMAL');
        conn.pragma('foreign_keys = ON');
        conn.pragma('busy_timeout = 5000');
        // Reads through the OS page cache instead of read() calls: the token lookup is a read.
        conn.pragma('mmap_size = 268435456');
        conn.pragma('cache_size = -16000');
        onConnection?.(conn);
        done(null, conn);
      },
    },
  };
}

/** The hot-path readers' connections per instance, beside knex's pool of 10; they pipeline, so few are enough. */
const HOT_READ_CONNECTIONS = 4;

export function openDatabase(url: string): Database {
  let raw: import('better-sqlite3').Database | undefined;
  const config = knexConfigFor(url, (conn) => {
    raw = conn;
  });
  const knex = knexFactory(config);
  if (config.client === 'pg') {
    const reader = createHotReader(url, HOT_READ_CONNECTIONS);
    return {
      knex, dialect: 'postgres', sqlite: () => undefined, reader,
      destroy: async () => {
        await Promise.all([knex.destroy(), reader.end()]);
      },
    };
  }
  return { knex, dialect: 'sqlite', sqlite: () => raw, destroy: () => knex.destroy() };
}
