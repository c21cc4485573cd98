import { loadConfig } from '../core/config';
import { openDatabase } from '../db/knex';
import { createRepositories } from '../db/repositories';

/**
 * `npm run mail:last -- <address>`: prints the newest mail to that address from the mail outbox, for
 * development with the log adapter (which logs who and what, never a mail's text: it may carry a
 * single-use link). Exits 1 when there is none, 2 when it could not run.
 */
async function main(address: string | undefined): Promise<number> {
  if (!address) {
    console.error('Usage: npm run mail:last -- <email address>');
    return 2;
  }
  const database = openDatabase(loadConfig().databaseUrl);
  try {
    const mail = await createRepositories(database).mail.latestTo(address.trim().toLowerCase());
    if (!mail) {
      console.error(`No mail to ${address} in the outbox.`);
      return 1;
    }
    console.log(`To: ${mail.to}\nSubject: ${mail.subject}\nDate: ${mail.createdAt}\n\n${mail.text}`);
    return 0;
  } catch (err) {
    console.error(`mail:last could not run: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  } finally {
    await database.destroy();
  }
}

main(process.argv[2]).then((code) => process.exit(code));
