import type { Knex } from 'knex';

/**
 * What a refused call may still change, by design: the record of a token's use (a leaked token shows up
 * by being used, refused or not), and the usage counters, which count refused calls too.
 */
const MAY_CHANGE: Record<string, { columns?: string[]; rows?: (row: Record<string, unknown>) => boolean; whole?: true }> = {
  personal_access_tokens: { columns: ['last_used_at', 'last_used_ip'] },
  audit_events: { rows: (row) => row.type === 'token.first_used' },
  usage_counters: { whole: true },
};

async function tablesOf(knex: Knex): Promise<string[]> {
  const postgres = knex.client.config.client === 'pg';
  const rows: Array<{ name: string }> = postgres
    ? (await knex.raw("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")).rows
    : await knex('sqlite_master').where({ type: 'table' }).select('name');
  return rows.map((r) => r.name).filter((name) => !name.startsWith('knex_') && !name.startsWith('sqlite_')).sort();
}

/**
 * Every table the database has (listed from the database, so a new table is never forgotten), every
 * row and column, in a stable order, minus what MAY_CHANGE names. Binary columns are compared by length
 * and content.
 */
export async function databaseSnapshot(knex: Knex): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const table of await tablesOf(knex)) {
    const rule = MAY_CHANGE[table];
    if (rule?.whole) continue;
    const rows = (await knex(table).select('*')) as Array<Record<string, unknown>>;
    out[table] = rows
      .filter((row) => !rule?.rows?.(row))
      .map((row) => {
        const copy: Record<string, unknown> = {};
        for (const [column, value] of Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1))) {
          if (rule?.columns?.includes(column)) continue;
          copy[column] = Buffer.isBuffer(value) ? `${value.length}:${value.toString('base64')}` : value instanceof Date ? value.toISOString() : value;
        }
        return JSON.stringify(copy);
      })
      .sort();
  }
  return JSON.stringify(out);
}
