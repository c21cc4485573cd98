import type { Logger } from 'pino';
import { addSeconds, Clock, iso } from '../core/clock';
import type { Repositories } from '../db/repositories';
import type { UsageIncrement, UsageRow } from '../db/repositories/usage.repository';

export const USAGE_FLUSH_SECONDS = 60;

export interface UsageWindow {
  total: number;
  byOperation: Array<{ operationId: string; count: number }>;
  byToken: Array<{ tokenId: string | null; name: string | null; count: number }>;
}

function summarise(rows: UsageRow[]): UsageWindow {
  const byOperation = new Map<string, number>();
  const byToken = new Map<string, { name: string | null; count: number }>();
  let total = 0;
  for (const row of rows) {
    total += row.count;
    byOperation.set(row.operationId, (byOperation.get(row.operationId) ?? 0) + row.count);
    const token = byToken.get(row.tokenId) ?? { name: row.tokenName, count: 0 };
    token.count += row.count;
    byToken.set(row.tokenId, token);
  }
  const desc = (a: { count: number }, b: { count: number }) => b.count - a.count;
  return {
    total,
    byOperation: [...byOperation].map(([operationId, count]) => ({ operationId, count })).sort(desc),
    byToken: [...byToken].map(([tokenId, t]) => ({ tokenId: tokenId || null, name: t.name, count: t.count })).sort(desc),
  };
}

/**
 * Request counts per (user, token, operation, hour). Counted in memory and added to the database in one
 * batch at most once a minute (DESIGN §7: no write per request), when the usage is read, and at shutdown.
 */
export function createUsageService(repos: Repositories, clock: Clock, log: Logger) {
  let pending = new Map<string, UsageIncrement>();
  let oldest = 0;

  async function flush(): Promise<void> {
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    pending = new Map();
    oldest = 0;
    try {
      await repos.usage.add(batch);
    } catch (err) {
      // Put the counts back so a passing database hiccup loses nothing.
      for (const inc of batch) add(inc);
      oldest ||= clock().getTime();
      throw err;
    }
  }

  function add(inc: UsageIncrement): void {
    const key = `${inc.userId}\t${inc.tokenId}\t${inc.operationId}\t${inc.hour}`;
    const entry = pending.get(key);
    if (entry) entry.count += inc.count;
    else pending.set(key, { ...inc });
  }

  /** One request: one clock read serves both the hour bucket and the flush check. */
  function record(userId: string, tokenId: string, operationId: string): void {
    const now = clock();
    add({ userId, tokenId, operationId, hour: iso(now).slice(0, 13), count: 1 });
    if (oldest === 0) oldest = now.getTime();
    else if (now.getTime() - oldest >= USAGE_FLUSH_SECONDS * 1000) {
      flush().catch((err: Error) => log.warn({ err: err.message }, 'usage counters not written yet; kept for the next flush'));
    }
  }

  return {
    record: (userId: string, tokenId: string | null, operationId: string) => record(userId, tokenId ?? '', operationId),
    flush,
    async report(userId: string): Promise<{ last24Hours: UsageWindow; last30Days: UsageWindow }> {
      await flush();
      const now = clock();
      const hourOf = (d: Date) => iso(d).slice(0, 13);
      const [day, month] = await Promise.all([
        repos.usage.since(userId, hourOf(addSeconds(now, -23 * 3600))),
        repos.usage.since(userId, hourOf(addSeconds(now, -30 * 24 * 3600))),
      ]);
      return { last24Hours: summarise(day), last30Days: summarise(month) };
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
