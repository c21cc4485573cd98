import postgres from 'postgres';

/** Single-row reads for the hot path on PostgreSQL (src/db/prepared.ts), beside knex's pool. */
export interface HotReader {
  /** The first row `text` ($1, $2, … placeholders) gives for `params`, as a prepared statement. */
  first(text: string, params: unknown[]): Promise<Record<string, any> | undefined>;
  end(): Promise<void>;
}

/** Reads one connection takes before the next one is used: enough to batch, few enough not to queue. */
export const READS_BEFORE_SPILL = 32;

/**
 * `size` connections of the `postgres` driver, each a client of its own (`max: 1`). A read goes to the
 * first connection with fewer than `READS_BEFORE_SPILL` reads in flight, so concurrent reads share one
 * connection while it keeps up, and the others open only when it does not (a busy backend, a slow read).
 * Sharing is the point: the driver sends all the reads of one event-loop turn on a connection in one
 * write, and its backend answers them in one; spread over four connections, each read costs a write, a
 * read and a backend wake-up of its own. Measured with `npm run bench` (BENCH_ONLY=12, 3 runs each): 386
 * → 281 µs of app CPU and 80 → 41 µs of backend CPU a request, against sending each read to the
 * connection with the fewest in flight.
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
  /** The first client with room; when none has, the least loaded. */
  const pick = () => {
    let least = clients[0]!;
    for (const client of clients) {
      if (client.inFlight < READS_BEFORE_SPILL) return client;
      if (client.inFlight < least.inFlight) least = client;
    }
    return least;
  };
  return {
    async first(text, params) {
      const client = pick();
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
