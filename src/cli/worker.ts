import { createServices } from '../app';
import { systemClock } from '../core/clock';
import { loadConfig } from '../core/config';
import { closeContext, openContext } from '../context';
import { createLogger } from '../core/logger';

/**
 * `npm run worker`: a process that only does background work, beside (or instead of) the API's
 * in-process worker (WORKER_IN_PROCESS=false): workspace runs, settlement of sales, and transfers left
 * pending. Any number may run against one database; each piece of work is claimed by exactly one of
 * them. SIGTERM finishes the work in hand, then exits.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  // Only writes tokens and users (never serves a request): it keeps no lookups, but tells the servers.
  const context = await openContext(config, log, systemClock, false);
  const { worker, moneyJobs } = createServices({ ...context, log });
  worker.start();
  moneyJobs.start();
  log.info({ worker_id: worker.workerId }, 'worker started');
  console.log(`GetPaidX worker ${worker.workerId} polling every ${config.worker.pollMs} ms`);
  const stop = async (signal: string) => {
    log.info({ signal }, 'worker stopping');
    await Promise.all([worker.stop(), moneyJobs.stop()]);
    await closeContext(context);
    log.flush(() => process.exit(0));
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(`GetPaidX worker failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
