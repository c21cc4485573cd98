import { Writable } from 'node:stream';
import type { Express } from 'express';
import { createApp } from '../../src/app';
import { Config, loadConfig } from '../../src/core/config';
import { AppContext, closeContext, openContext } from '../../src/context';
import { auditLedger } from '../../src/db/repositories/ledger-audit.repository';
import { webhookPayloadChecker } from '../../src/contract/schema-validator';
import { createLogger } from '../../src/core/logger';
import { testClock, TestClock } from './clock';
import { createTestDatabase, TestDatabase } from './database';
import { TEST_SECRETS } from './secrets';

export interface TestApp extends AppContext {
  app: Express;
  clock: TestClock;
  /** Every log line the app wrote, for the "no secret in the logs" checks. */
  logs: string[];
  testDb: TestDatabase;
  close(): Promise<void>;
}

export { TEST_SECRETS };

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    BCRYPT_COST: '4',
    VALIDATE_RESPONSES: 'true',
    LOG_LEVEL: 'debug',
    // Suites make hundreds of calls with one credential; rate-limit tests set their own limit.
    RATE_LIMIT_REQUESTS: '100000',
    SIGNUP_MAX_PER_ADDRESS: '100000',
    ADDRESS_AUTH_FAILURES: '100000',
    // An account past its failure limit is slowed, not refused; tests read the delay from the log.
    AUTH_SLOWDOWN_BASE_MS: '1',
    AUTH_SLOWDOWN_MAX_MS: '8',
    // Checkouts return only to the product site; test checkouts return to this one.
    SITE_URL: 'https://app.example.com',
    ...TEST_SECRETS,
    ...env,
  });
}

/** The real app on a real, fresh database, with a clock the test controls and the log captured. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const testDb = await createTestDatabase();
  const config = testConfig(testDb.url, env);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = createLogger(config.logLevel, sink);
  const clock = testClock();
  const context = await openContext(config, log, clock);
  const app = createApp({ ...context, log });
  return {
    ...context,
    clock,
    app,
    logs,
    testDb,
    /** Also proves the ledger's invariants over everything the test file did (npm run ledger:check). */
    async close() {
      try {
        // A test that shut the database on purpose (unavailable.test.ts) has nothing left to prove: knex
        // drops its pool on destroy.
        const databaseClosed = !(context.database.knex.client as { pool?: unknown }).pool;
        const broken = databaseClosed ? [] : (await auditLedger(context.database.knex)).filter((c) => c.violations.length > 0);
        if (broken.length > 0) throw new Error(`ledger:check failed after this test file:\n${JSON.stringify(broken, null, 2)}`);
        // Every webhook event the file made matches its payload schema in the contract's `webhooks:`.
        const check = webhookPayloadChecker(context.contract.document);
        const mismatches = databaseClosed ? [] : (await context.database.knex('webhook_events').select('payload'))
          .map((row: { payload: string }) => check(JSON.parse(row.payload))).filter(Boolean);
        if (mismatches.length > 0) throw new Error(`webhook events outside the contract:\n${[...new Set(mismatches)].join('\n')}`);
      } finally {
        await (app.locals.redis as { quit(): Promise<unknown> } | undefined)?.quit().catch(() => undefined);
        await closeContext(context);
        await testDb.drop();
      }
    },
  };
}

/** Rows matching `where`, as a number on both SQLite and PostgreSQL (whose COUNT is a string). */
export async function rowCount(t: TestApp, table: string, where: Record<string, unknown> = {}): Promise<number> {
  const row = await t.database.knex(table).where(where).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}
