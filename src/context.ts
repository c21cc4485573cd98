import type { Logger } from 'pino';
import { Clock, systemClock } from './core/clock';
import type { Config } from './core/config';
import { Contract, loadContract } from './contract/spec';
import { Database, openDatabase } from './db/knex';
import { migrateToLatest } from './db/migrate';
import { createRepositories, Repositories } from './db/repositories';

export interface AppContext {
  config: Config;
  contract: Contract;
  database: Database;
  repos: Repositories;
  clock: Clock;
}

/** Loads the contract, opens the database and brings its schema up to date. */
export async function openContext(config: Config, log: Logger, clock: Clock = systemClock): Promise<AppContext> {
  const contract = loadContract(config.specPath);
  const database = openDatabase(config.databaseUrl);
  const applied = await migrateToLatest(database.knex);
  if (applied.length > 0) log.info({ migrations: applied }, 'applied migrations');
  return { config, contract, database, repos: createRepositories(database), clock };
}
