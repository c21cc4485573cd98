import { loadConfig } from '../core/config';
import { openDatabase } from '../db/knex';
import { migrateToLatest } from '../db/migrate';
import { createRepositories } from '../db/repositories';
import { resealAll } from '../services/reseal.service';

/**
 * `npm run keys:reseal`: re-seals every sealed value (TOTP seeds, webhook and hook secrets) under the
 * first key of DATA_KEY, so the keys after it can be dropped (docs/operations.md, key rotation).
 * Exits 0 when every value is under the current key, 1 when some changed meanwhile (run it again),
 * 2 when it could not run (a value no key opens is named).
 */
async function main(): Promise<number> {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl);
  try {
    await migrateToLatest(database.knex);
    console.log(`Re-sealing under data key ${config.dataKeys.currentId} (${config.dataKeys.keys.length} key(s) in DATA_KEY)`);
    const reports = await resealAll(createRepositories(database), config.dataKeys, (line) => console.log(`  ${line}`));
    const resealed = reports.reduce((n, r) => n + r.resealed, 0);
    const skipped = reports.reduce((n, r) => n + r.skipped, 0);
    console.log(skipped === 0
      ? `Done: ${resealed} value(s) re-sealed; every sealed value is under key ${config.dataKeys.currentId}. The other keys may leave DATA_KEY.`
      : `${skipped} value(s) changed while this ran; run keys:reseal again.`);
    return skipped === 0 ? 0 : 1;
  } catch (err) {
    console.error(`keys:reseal could not run: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  } finally {
    await database.destroy();
  }
}

main().then((code) => process.exit(code));
