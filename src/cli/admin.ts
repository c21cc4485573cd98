import { systemClock } from '../core/clock';
import { loadConfig } from '../core/config';
import { closeContext, openContext } from '../context';
import { createLogger } from '../core/logger';
import { createAdminService } from '../services/admin.service';
import { createAuditService } from '../services/audit.service';

const USAGE = `Usage: npm run admin -- <grant|revoke> <email>

  grant   make the user platform staff (opens the admin-only operations)
  revoke  take platform staff rights away

Uses DATABASE_URL like the server (default sqlite:data/getpaidx.sqlite3).`;

async function main(argv: string[]): Promise<number> {
  const [command, email] = argv;
  if (!email || (command !== 'grant' && command !== 'revoke')) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  const context = await openContext(config, createLogger('warn'), systemClock, false);
  try {
    const admin = createAdminService(context.repos, createAuditService(context.repos, systemClock), systemClock);
    const user = await admin.setPlatformAdmin(email, command === 'grant');
    console.log(`${user.email} (${user.id}) is ${user.isPlatformAdmin ? 'now' : 'no longer'} platform staff.`);
    return 0;
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  } finally {
    await closeContext(context);
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
