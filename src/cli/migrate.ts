import { loadConfig } from '../core/config';
import { openDatabase } from '../db/knex';
import { migrateToLatest } from '../db/migrate';

/** `npm run migrate`: brings DATABASE_URL's schema up to date (the server also does this at start). */
async function main(): Promise<number> {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl);
  try {
    const applied = await migrateToLatest(database.knex);
    console.log(applied.length > 0 ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'The schema is up to date.');
    return 0;
  } catch (err) {
    console.error(`Migration failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await database.destroy();
  }
}

main().then((code) => process.exit(code));
