import type { Server } from 'node:http';
import { createApp } from './app';
import { createAppServer } from './http/server';
import { loadConfig } from './core/config';
import { closeContext, openContext } from './context';
import { createLogger } from './core/logger';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const context = await openContext(config, log);
  const app = createApp({ ...context, log });
  const server: Server = createAppServer(app).listen(config.port, config.host, () => {
    const dialect = context.database.dialect === 'sqlite' ? `SQLite (${config.databaseUrl})` : 'PostgreSQL';
    log.info({ port: config.port, host: config.host, database: context.database.dialect }, 'listening');
    console.log(`GetPaidX API listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port} with ${dialect}`);
  });
  server.keepAliveTimeout = 65_000;
  app.locals.dispatcher.start();
  if (config.worker.inProcess) {
    app.locals.worker.start();
    app.locals.moneyJobs.start();
  }

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    // Stop accepting, let in-flight requests finish, then release the database.
    server.close(() => {
      Promise.resolve(app.locals.beforeShutdown?.())
        .catch((err: Error) => log.error({ err: err.message }, 'could not write the last usage counts'))
        .then(() => closeContext(context))
        .finally(() => {
          log.info('stopped');
          log.flush(() => process.exit(0));
        });
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(`GetPaidX API failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
