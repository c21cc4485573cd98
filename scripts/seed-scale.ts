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
const CHUNK = 100_000;

interface Target {
  dialect: 'sqlite' | 'postgres';
  columns(table: string): Promise<string[]>;
  one(sql: string): Promise<Record<string, unknown> | undefined>;
  run(sql: string): Promise<void>;
  close(): Promise<void>;
}

async function open(url: string): Promise<Target> {
  if (url.startsWith('sqlite:')) {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(url.slice('sqlite:'.length));
    db.pragma('busy_timeout = 10000');
    return {
      dialect: 'sqlite',
      columns: async (table) => (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name),
      one: async (sql) => db.prepare(sql).get() as Record<string, unknown> | undefined,
      run: async (sql) => {
        db.exec(sql);
      },
      close: async () => {
        db.close();
      },
    };
  }
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url });
  await client.connect();
  return {
    dialect: 'postgres',
    columns: async (table) => (await client.query('SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND table_schema = current_schema() ORDER BY ordinal_position', [table])).rows.map((r) => r.column_name as string),
    one: async (sql) => (await client.query(sql)).rows[0],
    run: async (sql) => {
      await client.query(sql);
    },
    close: () => client.end(),
  };
}

/**
 * Copies the newest row of `table` until it holds `total` rows. `generated` gives the SQL expression of
 * each column that must differ from row to row, in terms of `i`, the new row's number.
 */
async function growTable(db: Target, table: string, total: number, generated: Record<string, string>, log: (line: string) => void) {
  const columns = await db.columns(table);
  const count = Number((await db.one(`SELECT count(*) AS n FROM ${table}`))!.n);
  const template = await db.one(`SELECT id FROM ${table} ORDER BY created_at DESC LIMIT 1`);
  if (count >= total) return log(`${table}: ${count} rows already (asked for ${total})`);
  if (!template) throw new Error(`${table} is empty: create one row first (the seeded rows copy it)`);
  const select = columns.map((c) => generated[c] ?? `src.${c}`).join(', ');
  const started = Date.now();
  for (let from = count; from < total; from += CHUNK) {
    const to = Math.min(from + CHUNK, total);
    const numbers = db.dialect === 'postgres'
      ? `SELECT generate_series(${from}, ${to - 1}) AS i`
      : `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${to - 1}) SELECT i FROM n`;
    await db.run(`INSERT INTO ${table} (${columns.join(', ')}) SELECT ${select} FROM (${numbers}) AS numbers, (SELECT * FROM ${table} WHERE id = '${String(template.id)}') AS src`);
    log(`${table}: ${to} / ${total} rows (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}

export async function seedScale(url: string, counts: { tokens: number; posts: number }, log: (line: string) => void = console.log): Promise<void> {
  const db = await open(url);
  try {
    const pad = (width: number) => (db.dialect === 'postgres' ? `lpad(i::text, ${width}, '0')` : `printf('%0${width}d', i)`);
    await growTable(db, 'personal_access_tokens', counts.tokens, {
      id: `'tok_seed' || ${pad(12)}`,
      token_hash: `'seed' || ${pad(60)}`,
      previous_token_hash: 'NULL',
      name: `'seeded ' || ${pad(7)}`,
    }, log);
    await growTable(db, 'posts', counts.posts, { id: `'post_seed' || ${pad(12)}` }, log);
    if (db.dialect === 'postgres') await db.run('ANALYZE personal_access_tokens; ANALYZE posts');
    else await db.run('ANALYZE');
  } finally {
    await db.close();
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
