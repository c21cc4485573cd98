/**
 * Grows a database to a given number of personal access tokens and posts, straight in SQL (not through
 * the API: a million tokens through the API would take hours), so the bench can show that the hot path
 * costs the same at a thousand tokens as at a million (issue 18).
 *
 *   tsx scripts/seed-scale.ts <DATABASE_URL> <tokens> <posts>
 *
 * The new rows are copies of the newest token and post already there (so every column a migration added
 * gets a valid value), with their own ids and token hashes. A seeded hash is not hex (`seed…`), so no
 * real token can ever match one. Runs in chunks, printing progress, and can be run again to grow further.
 */
import type { Knex } from 'knex';
import { openDatabase } from '../src/db/knex';

const CHUNK = 100_000;

/**
 * Copies the newest row of `table` until it holds `total` rows. `generated` gives the SQL expression of
 * each column that must differ from row to row, in terms of `i`, the new row's number.
 */
async function growTable(knex: Knex, dialect: 'sqlite' | 'postgres', table: string, total: number, generated: Record<string, string>, log: (line: string) => void) {
  const count = Number((await knex(table).count({ n: '*' }).first())?.n ?? 0);
  if (count >= total) return log(`${table}: ${count} rows already (asked for ${total})`);
  const template = await knex(table).orderBy('created_at', 'desc').first('id');
  if (!template) throw new Error(`${table} is empty: create one row first (the seeded rows copy it)`);
  const columns = Object.keys(await knex(table).columnInfo());
  const select = columns.map((c) => generated[c] ?? `src.${c}`).join(', ');
  const started = Date.now();
  for (let from = count; from < total; from += CHUNK) {
    const to = Math.min(from + CHUNK, total);
    const numbers = dialect === 'postgres'
      ? `SELECT generate_series(${from}, ${to - 1}) AS i`
      : `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to - 1}) SELECT i FROM n`;
    await knex.raw(`INSERT INTO ${table} (${columns.join(', ')}) SELECT ${select} FROM (${numbers}) AS numbers, (SELECT * FROM ${table} WHERE id = ?) AS src`, [template.id]);
    log(`${table}: ${to} / ${total} rows (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

export async function seedScale(url: string, counts: { tokens: number; posts: number }, log: (line: string) => void = console.log): Promise<void> {
  const { knex, dialect, destroy } = openDatabase(url);
  try {
    const pad = (width: number) => (dialect === 'postgres' ? `lpad(i::text, ${width}, '0')` : `printf('%0${width}d', i)`);
    await growTable(knex, dialect, 'personal_access_tokens', counts.tokens, {
      id: `'tok_seed' || ${pad(12)}`,
      token_hash: `'seed' || ${pad(60)}`,
      previous_token_hash: 'NULL',
      name: `'seeded ' || ${pad(7)}`,
    }, log);
    await growTable(knex, dialect, 'posts', counts.posts, { id: `'post_seed' || ${pad(12)}` }, log);
    await knex.raw(dialect === 'postgres' ? 'ANALYZE personal_access_tokens, posts' : 'ANALYZE');
  } finally {
    await destroy();
  }
}

if (require.main === module) {
  const [url, tokens, posts] = process.argv.slice(2);
  if (!url || !tokens || !posts || !Number.isInteger(Number(tokens)) || !Number.isInteger(Number(posts))) {
    console.error('usage: tsx scripts/seed-scale.ts <DATABASE_URL> <tokens> <posts>');
    process.exit(2);
  }
  seedScale(url, { tokens: Number(tokens), posts: Number(posts) }).catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
