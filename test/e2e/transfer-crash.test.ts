/**
 * A crash between reserving a transfer and hearing from the provider: the compiled server is killed
 * with SIGKILL while Stripe (a stand-in) holds the transfer request open. After a restart on the same
 * database, the worker resolves the pending transfer when its lease lapses: it finds the transfer at
 * Stripe if Stripe made it, or sends it again with the same idempotency key if Stripe never received
 * it. Either way it is paid exactly once, the reserved money is neither lost nor released twice, and
 * `ledger:check` (the CLI) is green; a planted break turns it red.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Stripe from 'stripe';
import { openDatabase } from '../../src/db/knex';
import { httpClient } from '../helpers/api-client';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { killStartedProcesses, PROJECT_ROOT, startCompiledServer } from '../helpers/server';
import { startStripeStandIn, StripeStandIn, TransferMode } from '../helpers/stripe-standin';
import { until } from '../helpers/wait';

const WEBHOOK_SECRET = 'whsec_crash_0123456789abcdef';
const signer = new Stripe('sk_test_crash');
const dir = mkdtempSync(join(tmpdir(), 'gpx-transfer-crash-'));
afterAll(() => {
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

const ledgerCheck = (databaseUrl: string) => promisify(execFile)(process.execPath, ['dist/src/cli/ledger-check.js'], {
  cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl, SECRETS_FILE: join(dir, 'check-secrets.json') },
}).then((r) => ({ code: 0, out: r.stdout }), (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }));

describe.each<[string, TransferMode, number]>([
  ['Stripe made the transfer but the answer was lost', 'record_then_hang', 0],
  ['Stripe never received the transfer', 'hang', 1],
])('kill -9 while the transfer is in flight: %s', (_name, mode, resends) => {
  let standIn: StripeStandIn;
  let db: TestDatabase;
  beforeAll(async () => {
    standIn = await startStripeStandIn();
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await standIn.close();
    await db.drop();
  });

  it('pays exactly once and loses nothing', async () => {
    const sub = mkdtempSync(join(dir, 'run-'));
    const env = {
      BILLING_PROVIDER: 'stripe', STRIPE_SECRET_KEY: 'sk_test_crash', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_HOST: '127.0.0.1', STRIPE_API_PORT: String(standIn.port), STRIPE_API_PROTOCOL: 'http',
      SETTLEMENT_DELAY_SECONDS: '0', TRANSFER_LEASE_SECONDS: '2', WORKER_POLL_MS: '200', SITE_URL: 'https://app.example.com',
      SECRETS_FILE: join(sub, 'secrets.json'), ...(db.kind === 'postgres' ? { DATABASE_URL: db.url } : { DATABASE_URL: `sqlite:${join(sub, 'api.sqlite3')}` }),
    };
    const first = await startCompiledServer(sub, env);
    const api = httpClient(first.url);
    const seller = await api.userWithPat(`seller.${mode}@example.com`, ['posts:write', 'billing:read', 'payouts:manage', 'transfers:manage']);
    const buyer = await api.userWithPat(`buyer.${mode}@example.com`, ['billing:checkout']);
    const post = await api.call('POST', '/api/posts', { token: seller.pat, body: { title: 'Guide', status: 'published', pricing: { model: 'one_time', amount: 5000, currency: 'usd' } } });
    const checkout = await api.call('POST', '/api/billing/checkout', { token: buyer.pat, body: { item: { type: 'post', post_id: post.body.id }, success_url: 'https://app.example.com/a', cancel_url: 'https://app.example.com/b' } });
    expect(checkout.status).toBe(201);
    const send = (event: Record<string, unknown>) => {
      const payload = JSON.stringify({ object: 'event', ...event });
      return api.call('POST', '/api/webhooks/stripe', { body: JSON.parse(payload), headers: { 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }) } });
    };
    expect((await send({ id: 'evt_paid', type: 'checkout.session.completed', data: { object: { metadata: { checkout_id: checkout.body.id }, payment_status: 'paid', amount_total: 5000, currency: 'usd', payment_intent: 'pi_crash' } } })).body.applied).toBe(true);
    await api.call('POST', '/api/payouts/onboarding', { token: seller.pat });
    await send({ id: 'evt_acct', type: 'account.updated', data: { object: { id: standIn.accounts[0], payouts_enabled: true, charges_enabled: true } } });
    expect((await api.call('GET', '/api/balance', { token: seller.pat })).body.data[0]).toMatchObject({ available: 4500, in_flight: 0 });

    standIn.setTransferMode(mode);
    void api.call('POST', '/api/transfers', { token: seller.pat, body: { amount: 1000, currency: 'usd' } }).catch(() => undefined);
    const call = await until('the transfer to reach Stripe', () => standIn.requests.find((r) => r.path === '/v1/transfers'), 30_000);
    const transferId = call.params.get('transfer_group')!;
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    expect(standIn.transfers).toHaveLength(mode === 'record_then_hang' ? 1 : 0);

    standIn.setTransferMode('ok');
    const second = await startCompiledServer(sub, { ...env, PORT: String(first.port) });
    try {
      const paid = await until('the worker to resolve the transfer', async () => {
        const list = await api.call('GET', '/api/transfers', { token: seller.pat });
        return list.body.data.find((x: { id: string; status: string }) => x.id === transferId && x.status !== 'pending');
      }, 30_000);
      expect(paid).toMatchObject({ status: 'paid', amount: 1000 });
      expect(standIn.transfers.filter((x) => x.transfer_group === transferId)).toHaveLength(1);
      const posts = standIn.requests.filter((r) => r.method === 'POST' && r.path === '/v1/transfers');
      expect(posts).toHaveLength(1 + resends);
      expect(new Set(posts.map((r) => r.headers['idempotency-key']))).toEqual(new Set([`transfer:${transferId}`]));
      expect((await api.call('GET', '/api/balance', { token: seller.pat })).body.data[0]).toMatchObject({ available: 3500, in_flight: 0, pending: 0 });
    } finally {
      await second.stop();
    }

    const healthy = await ledgerCheck(env.DATABASE_URL);
    expect(healthy.code).toBe(0);
    expect(healthy.out).toContain('The ledger holds');
    const database = openDatabase(env.DATABASE_URL);
    try {
      await database.knex('ledger_accounts').where({ kind: 'in_flight' }).update({ balance: database.knex.raw('balance + 7') });
      const broken = await ledgerCheck(env.DATABASE_URL);
      expect(broken.code).toBe(1);
      expect(broken.out).toMatch(/FAIL\s+each balance equals the sum of its entries/);
      expect(broken.out).toMatch(/FAIL\s+money in flight equals the pending transfers/);
    } finally {
      await database.destroy();
    }
  }, 90_000);
});
