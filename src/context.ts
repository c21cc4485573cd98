import type { Logger } from 'pino';
import { Clock, systemClock } from './core/clock';
import type { Config } from './core/config';
import { Contract, loadContract } from './contract/spec';
import { Database, openDatabase } from './db/knex';
import { migrateToLatest } from './db/migrate';
import { createRepositories, Repositories } from './db/repositories';
import { sqliteCommitCount } from './db/prepared';
import { createTokenCache, TokenCache } from './auth/token-cache';

export interface AppContext {
  config: Config;
  contract: Contract;
  database: Database;
  repos: Repositories;
  clock: Clock;
  tokenCache: TokenCache;
}

/**
 * Loads the contract, opens the database and brings its schema up to date. `servesRequests`: whether
 * this process keeps PAT lookups in memory (a server) or only changes them (the worker, the admin CLI).
 */
export async function openContext(config: Config, log: Logger, clock: Clock = systemClock, servesRequests = true): Promise<AppContext> {
  const contract = loadContract(config.specPath);
  const database = openDatabase(config.databaseUrl);
  const applied = await migrateToLatest(database.knex);
  if (applied.length > 0) log.info({ migrations: applied }, 'applied migrations');
  const tokenCache = createTokenCache({
    redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, ttlMs: config.patCacheMs, caches: servesRequests, log, dataVersion: sqliteCommitCount(database),
  });
  return { config, contract, database, repos: createRepositories(database, tokenCache), clock, tokenCache };
}

/** Releases what openContext opened. */
export async function closeContext(context: AppContext): Promise<void> {
  await context.tokenCache.close();
  await context.database.destroy();
}
