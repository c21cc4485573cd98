import { loadConfig } from '../core/config';
import { openDatabase } from '../db/knex';
import { migrateToLatest } from '../db/migrate';
import { countOf } from '../db/page';
import { auditLedger } from '../db/repositories/ledger-audit.repository';

/**
 * `npm run ledger:check`: verifies every invariant of the ledger over the whole database of
 * DATABASE_URL and exits 1 on any break, listing the offending rows (docs/billing.md).
 */
async function main(): Promise<number> {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl);
  try {
    await migrateToLatest(database.knex);
    const checks = await auditLedger(database.knex);
    const entries = await countOf(database.knex('ledger_entries'));
    let broken = 0;
    for (const check of checks) {
      const ok = check.violations.length === 0;
      if (!ok) broken += 1;
      console.log(`${ok ? 'ok  ' : 'FAIL'}  ${check.description}`);
      for (const row of check.violations) console.log(`        ${JSON.stringify(row)}`);
    }
    console.log(broken === 0
      ? `The ledger holds: ${checks.length} checks over ${entries} entries.`
      : `${broken} of ${checks.length} checks failed (at most 20 rows shown each).`);
    return broken === 0 ? 0 : 1;
  } catch (err) {
    console.error(`ledger:check could not run: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  } finally {
    await database.destroy();
  }
}

main().then((code) => process.exit(code));
