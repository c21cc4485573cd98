import postgres from 'postgres';

/** Single-row reads for the hot path on PostgreSQL (src/db/prepared.ts), beside knex's pool. */
export interface HotReader {
  /** The first row `text` ($1, $2, … placeholders) gives for `params`, as a prepared statement. */
  first(text: string, params: unknown[]): Promise<Record<string, any> | undefined>;
  end(): Promise<void>;
}

/**
 * `size` connections of the `postgres` driver, each a client of its own (`max: 1`), and each read sent
 * to the one with the fewest reads in flight. The driver keeps each prepared statement's row description
 * per connection and pipelines, so a few connections serve many concurrent requests.
 *
 * Not one client with `max: size`: its pool moves connections between queues that, under load that
 * never lets them empty, grow without bound and are searched linearly on every move (postgres 3.4.9
 * and 3.4.10, `src/queue.js`). Measured with `node scripts/bench-pg-reader.mjs`: 10 concurrent readers on
 * one `max: 4` client went from 68 to 150 µs of CPU a query over 200,000 queries; four `max: 1` clients
 * stayed at 35–50 µs throughout.
 */
export function createHotReader(url: string, size: number): HotReader {
  const clients = Array.from({ length: size }, () => ({
    sql: postgres(url, { max: 1, prepare: true, idle_timeout: 30, connect_timeout: 5, onnotice: () => undefined }),
    inFlight: 0,
  }));
  return {
    async first(text, params) {
      let client = clients[0]!;
      for (const other of clients) if (other.inFlight < client.inFlight) client = other;
      client.inFlight++;
      try {
        return (await client.sql.unsafe(text, params as never[], { prepare: true }))[0];
      } finally {
        client.inFlight--;
      }
    },
    async end() {
      await Promise.all(clients.map(({ sql }) => sql.end({ timeout: 5 })));
    },
  };
}
