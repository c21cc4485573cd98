/**
 * Workspaces: CRUD, token binding (runs act with the bound token's scopes, never more), manual runs
 * through the worker, cancel, recovery of a dead worker's runs, and two worker processes that never run
 * the same run twice (SQLite and PostgreSQL).
 */
import request from 'supertest';
import { createJwtService } from '../../src/auth/jwt';
import type { Worker } from '../../src/workspaces/worker';
import { createWorker } from '../../src/workspaces/worker';
import { createLogger } from '../../src/logger';
import { startTestApp, TEST_SECRETS, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { killStartedProcesses, startProcess } from '../helpers/server';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';

let t: TestApp;
let user: TestUser;
let manager: string;
const worker = () => t.app.locals.worker as Worker;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
  user = await createUser(t, { twoFactor: true });
  manager = (await createPat(t, user, { scopes: ['workspaces:manage', 'workspaces:run', 'posts:read'] })).token;
});
afterAll(async () => {
  killStartedProcesses();
  await t.close();
});

async function freshJwt(): Promise<string> {
  const { tokenVersion } = (await t.repos.users.findById(user.id))!;
  return (await createJwtService(t.config, t.clock).issueAccess(user.id, tokenVersion, true)).token;
}

async function boundWorkspace(scopes = ['posts:read']) {
  const ws = await request(t.app).post('/api/workspaces').set(bearer(manager)).send({ name: 'Digest', default_prompt: 'Summarise the week.' });
  expect(ws.status).toBe(201);
  const token = await createPat(t, { ...user, jwt: await freshJwt() }, { scopes, name: 'automation' });
  const bound = await request(t.app).put(`/api/workspaces/${ws.body.id}/binding`).set(bearer(manager)).send({ token_id: token.id });
  expect(bound.status).toBe(200);
  return { id: ws.body.id as string, token };
}

describe('workspaces', () => {
  it('are created, read, listed, edited and deleted', async () => {
    const created = await request(t.app).post('/api/workspaces').set(bearer(manager)).send({ name: 'Ops', description: 'Nightly jobs' });
    expect(created.body).toMatchObject({ name: 'Ops', description: 'Nightly jobs', default_prompt: '', bound_token: null });
    const id = created.body.id;
    expect((await request(t.app).get(`/api/workspaces/${id}`).set(bearer(manager))).body.name).toBe('Ops');
    expect((await request(t.app).get('/api/workspaces').set(bearer(manager))).body.data.some((w: any) => w.id === id)).toBe(true);
    expect((await request(t.app).patch(`/api/workspaces/${id}`).set(bearer(manager)).send({ default_prompt: 'Check things.' })).body.default_prompt).toBe('Check things.');
    expect((await request(t.app).delete(`/api/workspaces/${id}`).set(bearer(manager))).status).toBe(204);
    expectError(await request(t.app).get(`/api/workspaces/${id}`).set(bearer(manager)), 404, 'not_found');
  });

  it('bind only their owner\'s tokens, and a PAT only tokens within its own grant', async () => {
    const ws = (await request(t.app).post('/api/workspaces').set(bearer(manager)).send({ name: 'Bind' })).body;
    const stranger = await createUser(t, { twoFactor: true });
    const theirs = await createPat(t, stranger, { scopes: ['posts:read'] });
    expectError(await request(t.app).put(`/api/workspaces/${ws.id}/binding`).set(bearer(manager)).send({ token_id: theirs.id }), 404, 'not_found');
    const strong = await createPat(t, { ...user, jwt: await freshJwt() }, { scopes: ['posts:write'] });
    const refused = await request(t.app).put(`/api/workspaces/${ws.id}/binding`).set(bearer(manager)).send({ token_id: strong.id });
    expectError(refused, 403, 'grant_exceeds_permissions');
    expect(refused.body.error.details.excess_scopes).toEqual(['posts:write']);
    // A 2FA-verified JWT stands for the whole role, so it may bind it.
    const bound = await request(t.app).put(`/api/workspaces/${ws.id}/binding`).set(bearer(await freshJwt())).send({ token_id: strong.id });
    expect(bound.body.bound_token).toMatchObject({ id: strong.id, scopes: ['posts:write'] });
    expect((await request(t.app).delete(`/api/workspaces/${ws.id}/binding`).set(bearer(manager))).body.bound_token).toBeNull();
  });
});

describe('runs', () => {
  it('need a bound token', async () => {
    const ws = (await request(t.app).post('/api/workspaces').set(bearer(manager)).send({ name: 'Unbound', default_prompt: 'x' })).body;
    expectError(await request(t.app).post(`/api/workspaces/${ws.id}/runs`).set(bearer(manager)).send({}), 409, 'workspace_token_required');
  });

  it('are queued, claimed and executed with the bound token\'s scopes; overrides leave the defaults alone', async () => {
    const { id, token } = await boundWorkspace(['posts:read']);
    const queued = await request(t.app).post(`/api/workspaces/${id}/runs`).set(bearer(manager)).send({ overrides: { tone: 'brief' } });
    expect(queued.status).toBe(201);
    expect(queued.body).toMatchObject({ status: 'QUEUED', prompt: 'Summarise the week.', overrides: { tone: 'brief' }, attempts: 0 });
    expect(await worker().runOnce()).toBeGreaterThanOrEqual(1);
    const run = (await request(t.app).get(`/api/workspaces/${id}/runs/${queued.body.id}`).set(bearer(manager))).body;
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 1, effective_scopes: ['posts:read'], error: null });
    expect(run.result_summary).toMatch(/^Ran a 19-character prompt \(sha256 [0-9a-f]{12}\) with 1 scopes and overrides tone\.$/);
    expect(run.started_at).not.toBeNull();
    expect(run.finished_at).not.toBeNull();
    expect((await request(t.app).get(`/api/workspaces/${id}`).set(bearer(manager))).body.default_prompt).toBe('Summarise the week.');
    expect((await request(t.app).get(`/api/workspaces/${id}/runs?status=SUCCEEDED`).set(bearer(manager))).body.data.map((r: any) => r.id)).toEqual([queued.body.id]);
    expect((await request(t.app).get(`/api/workspaces/${id}/runs?status=QUEUED`).set(bearer(manager))).body.data).toEqual([]);
    void token;
  });

  it('never get more than the token has now: a revoked token fails the run', async () => {
    const { id, token } = await boundWorkspace(['posts:read']);
    const queued = await request(t.app).post(`/api/workspaces/${id}/runs`).set(bearer(manager)).send({ prompt: 'Go.' });
    await request(t.app).delete(`/api/tokens/${token.id}`).set(bearer(await freshJwt())).expect(204);
    await worker().runOnce();
    const run = (await request(t.app).get(`/api/workspaces/${id}/runs/${queued.body.id}`).set(bearer(manager))).body;
    expect(run).toMatchObject({ status: 'FAILED', effective_scopes: null });
    expect(run.error).toMatch(/no usable token/);
  });

  it('are canceled while queued, and a finished run cannot be', async () => {
    const { id } = await boundWorkspace();
    const queued = await request(t.app).post(`/api/workspaces/${id}/runs`).set(bearer(manager)).send({ prompt: 'Later.' });
    const canceled = await request(t.app).post(`/api/workspaces/${id}/runs/${queued.body.id}/cancel`).set(bearer(manager));
    expect(canceled.body).toMatchObject({ status: 'CANCELED' });
    await worker().runOnce();
    expect((await request(t.app).get(`/api/workspaces/${id}/runs/${queued.body.id}`).set(bearer(manager))).body.status).toBe('CANCELED');
    expectError(await request(t.app).post(`/api/workspaces/${id}/runs/${queued.body.id}/cancel`).set(bearer(manager)), 409, 'run_finished');
  });

  it('raise run.succeeded and run.failed webhook events with the outcome', async () => {
    const hook = await request(t.app).post('/api/webhooks/endpoints').set(bearer(await freshJwt())).send({ url: 'http://127.0.0.1:9/runs', events: ['run.succeeded', 'run.failed'] });
    expect(hook.status).toBe(201);
    const { id } = await boundWorkspace();
    const queued = await request(t.app).post(`/api/workspaces/${id}/runs`).set(bearer(manager)).send({ prompt: 'Hooked.' });
    await worker().runOnce();
    const events = await t.database.knex('webhook_events').where({ user_id: user.id, type: 'run.succeeded' }).select('payload');
    expect(events.map((e) => JSON.parse(e.payload).data.id)).toContain(queued.body.id);
  });

  it('left by a worker that died are taken back when its lease ends', async () => {
    const { id } = await boundWorkspace();
    const queued = await request(t.app).post(`/api/workspaces/${id}/runs`).set(bearer(manager)).send({ prompt: 'Crash me.' });
    const dead = await t.repos.workspaces.claimNext('dead-worker', t.clock().toISOString(), new Date(t.clock().getTime() + 300_000).toISOString());
    expect(dead?.id).toBe(queued.body.id);
    expect(await worker().runOnce()).toBe(0); // still leased
    t.clock.advance(301);
    await worker().runOnce();
    const run = (await request(t.app).get(`/api/workspaces/${id}/runs/${queued.body.id}`).set(bearer(manager))).body;
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });

  it('fail for good once a dead worker has used up their attempts', async () => {
    const { id } = await boundWorkspace();
    const queued = await request(t.app).post(`/api/workspaces/${id}/runs`).set(bearer(manager)).send({ prompt: 'Doomed.' });
    for (let i = 0; i < t.config.worker.maxAttempts; i++) {
      await t.repos.workspaces.claimNext(`dead-${i}`, t.clock().toISOString(), new Date(t.clock().getTime() + 1000).toISOString());
      t.clock.advance(2);
      await t.repos.workspaces.recoverExpired(t.clock().toISOString(), t.config.worker.maxAttempts);
    }
    const run = (await request(t.app).get(`/api/workspaces/${id}/runs/${queued.body.id}`).set(bearer(manager))).body;
    expect(run).toMatchObject({ status: 'FAILED', attempts: t.config.worker.maxAttempts });
  });
});

describe('two worker processes', () => {
  it('share the queue and never run one run twice', async () => {
    const { id } = await boundWorkspace();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push((await request(t.app).post(`/api/workspaces/${id}/runs`).set(bearer(manager)).send({ prompt: `job ${i}` })).body.id);
    }
    const env = {
      PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: t.testDb.url, LOG_LEVEL: 'warn', WORKER_POLL_MS: '20', ...TEST_SECRETS,
    };
    const workers = await Promise.all([1, 2].map(() => startProcess(process.execPath, ['dist/src/cli/worker.js'], env, 'polling every')));
    const deadline = Date.now() + 30_000;
    let rows: Array<{ id: string; status: string; attempts: number; claimed_by: string }> = [];
    while (Date.now() < deadline) {
      rows = await t.database.knex('workspace_runs').whereIn('id', ids).select('id', 'status', 'attempts', 'claimed_by');
      if (rows.every((r) => r.status === 'SUCCEEDED')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(workers.map((w) => w.stop()));
    expect(rows.filter((r) => r.status === 'SUCCEEDED')).toHaveLength(30);
    expect(rows.every((r) => Number(r.attempts) === 1)).toBe(true);
    console.log(`two workers: ${new Set(rows.map((r) => r.claimed_by)).size} distinct workers ran 30 runs`);
  }, 60_000);

  it('an in-process worker and a second one never claim the same run', async () => {
    const { id } = await boundWorkspace();
    for (let i = 0; i < 10; i++) await request(t.app).post(`/api/workspaces/${id}/runs`).set(bearer(manager)).send({ prompt: `pair ${i}` });
    const second = createWorker({ repos: t.repos, contract: t.contract, clock: t.clock, log: createLogger('silent'), webhooks: { emit: async () => undefined }, options: { ...t.config.worker, workerId: 'second' } });
    const [a, b] = await Promise.all([worker().runOnce(), second.runOnce()]);
    expect(a + b).toBe(10);
  });
});
