/**
 * The knex CLI (knexfile.ts) and the server share migrations: whichever migrates first, the other
 * finds nothing to do, and a database migrated before the CLI was supported is adopted as it is.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase } from '../../src/db/knex';
import { MIGRATIONS_DIRECTORY, migrateToLatest } from '../../src/db/migrate';
import { PROJECT_ROOT } from '../helpers/server';

const dir = mkdtempSync(join(tmpdir(), 'gpx-knex-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const knexCli = (args: string[], url: string) => promisify(execFile)(join(PROJECT_ROOT, 'node_modules/.bin/knex'), args, {
  cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, DATABASE_URL: url },
}).then((r) => ({ code: 0, out: r.stdout + r.stderr }), (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, out: err.stdout + err.stderr }));

async function recorded(url: string): Promise<string[]> {
  const db = openDatabase(url);
  try {
    return (await db.knex('knex_migrations').orderBy('id').select('name')).map((r) => r.name);
  } finally {
    await db.destroy();
  }
}

it('npx knex migrate:latest, then the server: one set of names, nothing run twice', async () => {
  const url = `sqlite:${join(dir, 'cli-first.sqlite3')}`;
  const latest = await knexCli(['migrate:latest'], url);
  expect(latest.code).toBe(0);
  expect(latest.out).toMatch(/Batch 1 run: \d+ migrations/);
  const db = openDatabase(url);
  try {
    expect(await migrateToLatest(db.knex)).toEqual([]);
  } finally {
    await db.destroy();
  }
  const names = await recorded(url);
  expect(names[0]).toBe('001_initial.ts');
  expect((await knexCli(['migrate:status'], url)).out).toContain('No Pending Migration files Found');
}, 60_000);

it('the server first, then npx knex: nothing pending; and a rollback of the ledger is refused', async () => {
  const url = `sqlite:${join(dir, 'server-first.sqlite3')}`;
  const db = openDatabase(url);
  try {
    await migrateToLatest(db.knex);
  } finally {
    await db.destroy();
  }
  expect((await knexCli(['migrate:latest'], url)).out).toContain('Already up to date');
  const rollback = await knexCli(['migrate:rollback'], url);
  expect(rollback.code).not.toBe(0);
  expect(rollback.out).toContain('ledger entries are never deleted');
  expect((await recorded(url)).at(-1)).toMatch(/_ledger\.ts$/);
}, 60_000);

it('adopts a database whose migrations were recorded without an extension', async () => {
  const url = `sqlite:${join(dir, 'old-names.sqlite3')}`;
  const db = openDatabase(url);
  try {
    await migrateToLatest(db.knex);
    await db.knex('knex_migrations').update({ name: db.knex.raw("replace(name, '.ts', '')") });
    expect(await migrateToLatest(db.knex)).toEqual([]);
    expect((await db.knex('knex_migrations').select('name')).every((r) => r.name.endsWith('.ts'))).toBe(true);
  } finally {
    await db.destroy();
  }
});

it('npx knex migrate:make writes a TypeScript migration in the stub\'s shape, where the server reads them', async () => {
  // Into a temporary directory here, so that no other test file ever sees the probe; the knexfile
  // points the CLI at the directory the server reads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const knexfile = require('../../knexfile') as Record<string, { migrations: { directory: string } }>;
  expect(knexfile.development!.migrations.directory).toBe(MIGRATIONS_DIRECTORY);
  const target = mkdtempSync(join(dir, 'made-'));
  const made = await knexCli(['migrate:make', 'add_probe_table', '--migrations-directory', target], `sqlite:${join(dir, 'make.sqlite3')}`);
  expect(made.code).toBe(0);
  const created = readdirSync(target);
  expect(created).toHaveLength(1);
  expect(created[0]).toMatch(/^\d{14}_add_probe_table\.ts$/);
  expect(readFileSync(join(target, created[0]!), 'utf8')).toContain('export async function up');
}, 60_000);
