import type { Knex } from 'knex';

export interface UsageIncrement {
  userId: string;
  tokenId: string; // '' for sessions and JWTs
  operationId: string;
  hour: string;
  count: number;
}

export interface UsageRow {
  tokenId: string;
  tokenName: string | null;
  operationId: string;
  count: number;
}

export function usageRepository(db: Knex) {
  return {
    /** Adds batched counts; several instances add to the same rows without losing any. */
    async add(increments: UsageIncrement[]): Promise<void> {
      for (let i = 0; i < increments.length; i += 200) {
        const rows = increments.slice(i, i + 200).map((u) => ({
          user_id: u.userId,
          token_id: u.tokenId,
          operation_id: u.operationId,
          hour: u.hour,
          count: u.count,
        }));
        await db('usage_counters').insert(rows)
          .onConflict(['user_id', 'token_id', 'operation_id', 'hour'])
          .merge({ count: db.raw('?? + excluded.count', ['usage_counters.count']) });
      }
    },
    async since(userId: string, fromHour: string): Promise<UsageRow[]> {
      const rows = await db('usage_counters as c')
        .leftJoin('personal_access_tokens as t', 't.id', 'c.token_id')
        .where('c.user_id', userId)
        .andWhere('c.hour', '>=', fromHour)
        .groupBy('c.token_id', 't.name', 'c.operation_id')
        .select('c.token_id', 't.name', 'c.operation_id')
        .sum({ n: 'c.count' });
      return rows.map((r: Record<string, any>) => ({ tokenId: r.token_id, tokenName: r.name ?? null, operationId: r.operation_id, count: Number(r.n) }));
    },
  };
}
