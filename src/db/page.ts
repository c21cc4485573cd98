import type { Knex } from 'knex';

export interface Page<T> {
  rows: T[];
  total: number;
}

type Order = Array<{ column: string; order?: 'asc' | 'desc' }>;

/** Newest first, with the id as a tie-breaker so pages never overlap or skip a row. */
export const NEWEST_FIRST: Order = [{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }];
export const OLDEST_FIRST: Order = [{ column: 'created_at' }, { column: 'id' }];

/** An order on a joined query: the columns of the table under `alias` (computed once, at load). */
export function ofTable(order: Order, alias: string): Order {
  return order.map((o) => ({ ...o, column: `${alias}.${o.column}` }));
}

/** One page of `filtered()` and the total count of rows it matches. */
export async function pageOf<T>(
  filtered: () => Knex.QueryBuilder,
  columns: readonly string[],
  order: Order,
  offset: number,
  limit: number,
  toRecord: (row: Record<string, any>) => T,
): Promise<Page<T>> {
  const [rows, count] = await Promise.all([
    filtered().select(columns).orderBy(order).offset(offset).limit(limit),
    filtered().count({ n: '*' }).first(),
  ]);
  return { rows: rows.map(toRecord), total: Number(count?.n ?? 0) };
}
