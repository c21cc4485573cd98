import type { Knex } from 'knex';
import { invalidInput } from '../core/errors';

export interface Page<T> {
  rows: T[];
  total: number;
  /** How many items of the list come before `rows` (the offset asked for, or the cursor's position). */
  offset: number;
}

type Order = Array<{ column: string; order?: 'asc' | 'desc' }>;

/** Which part of a list to read: `limit` items from `offset`, or the `limit` items after the cursor. */
export interface Window {
  offset: number;
  limit: number;
  /**
   * Cursor pagination: the item to start after, by the value of the order's last column (the list's
   * unique tie-breaker, its id).
   */
  after?: string | number;
}

/** How many rows a query matches, as a number on both databases (PostgreSQL's COUNT is a string). */
export async function countOf(query: Knex.QueryBuilder): Promise<number> {
  return Number((await query.count({ n: '*' }).first())?.n ?? 0);
}

/** Newest first, with the id as a tie-breaker so pages never overlap or skip a row. */
export const NEWEST_FIRST: Order = [{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }];
export const OLDEST_FIRST: Order = [{ column: 'created_at' }, { column: 'id' }];

/** An order on a joined query: the columns of the table under `alias` (computed once, at load). */
export function ofTable(order: Order, alias: string): Order {
  return order.map((o) => ({ ...o, column: `${alias}.${o.column}` }));
}

/**
 * The rows strictly after `anchor` in `order` (keyset pagination): for order (a, b), those with
 * a beyond the anchor's a, or the same a and b beyond its b. The order ends in a unique column, so
 * the condition is exact.
 */
function beyond(order: Order, anchor: Record<string, unknown>) {
  return (q: Knex.QueryBuilder) => {
    order.forEach((o, i) => {
      q.orWhere((branch) => {
        order.slice(0, i).forEach((before, j) => branch.andWhere(before.column, anchor[`k${j}`] as Knex.Value));
        branch.andWhere(o.column, o.order === 'desc' ? '<' : '>', anchor[`k${i}`] as Knex.Value);
      });
    });
  };
}

/** One window of `filtered()` and the total count of rows it matches. */
export async function pageOf<T>(
  filtered: () => Knex.QueryBuilder,
  columns: readonly string[],
  order: Order,
  window: Window,
  toRecord: (row: Record<string, any>) => T,
): Promise<Page<T>> {
  const { offset, limit, after } = window;
  if (after === undefined) {
    const [rows, total] = await Promise.all([filtered().select(columns).orderBy(order).offset(offset).limit(limit), countOf(filtered())]);
    return { rows: rows.map(toRecord), total, offset };
  }
  // The cursor must name an item of this very list (same owner, same filters): anything else, including
  // another user's id, is refused rather than silently read as "the start".
  const unique = order.at(-1)?.column ?? 'id';
  const anchor = await filtered().where(unique, after).first(Object.fromEntries(order.map((o, i) => [`k${i}`, o.column])));
  if (!anchor) throw invalidInput('/query/starting_after', 'starting_after does not name an item of this list.', 'not an item of this list');
  const [rows, total, remaining] = await Promise.all([
    filtered().where(beyond(order, anchor)).select(columns).orderBy(order).limit(limit),
    countOf(filtered()),
    countOf(filtered().where(beyond(order, anchor))),
  ]);
  return { rows: rows.map(toRecord), total, offset: total - remaining };
}
