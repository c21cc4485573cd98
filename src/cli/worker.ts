import { systemClock } from '../auth/clock';
import { loadConfig } from '../config';
import { openContext } from '../context';
import { createLogger } from '../logger';
import { createRulesService } from '../services/rules.service';
import { createWebhooksService } from '../services/webhooks.service';
import { createWorker } from '../workspaces/worker';

/**
 * `npm run worker`: a process that only executes workspace runs, beside (or instead of) the API's
 * in-process worker (WORKER_IN_PROCESS=false). Any number may run against one database; a run is
 * claimed by exactly one of them. SIGTERM finishes the run in hand, then exits.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const context = await openContext(config, log, systemClock);
  const webhooks = createWebhooksService(context.repos, systemClock, { dataKey: config.dataKey, allowPrivate: config.webhooks.allowPrivate });
  const schedules = createRulesService(context.repos, systemClock, config.dataKey, config.publicUrl);
  const worker = createWorker({ repos: context.repos, contract: context.contract, clock: systemClock, log, webhooks, options: config.worker, schedules });
  worker.start();
  log.info({ worker_id: worker.workerId }, 'worker started');
  console.log(`GetPaidX worker ${worker.workerId} polling every ${config.worker.pollMs} ms`);
  const stop = async (signal: string) => {
    log.info({ signal }, 'worker stopping');
    await worker.stop();
    await context.database.destroy();
    log.flush(() => process.exit(0));
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(`GetPaidX worker failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
