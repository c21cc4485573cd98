/**
 * Workspaces: CRUD, token binding (runs act with the bound token's scopes, never more), manual runs
 * through the worker, cancel, recovery of a dead worker's runs, and two worker processes that never run
 * the same run twice (SQLite and PostgreSQL).
 */
import { createHmac } from 'node:crypto';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import type { Worker } from '../../src/jobs/worker';
import { createWorker } from '../../src/jobs/worker';
import { createLogger } from '../../src/core/logger';
import { startTestApp, TEST_SECRETS, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { killStartedProcesses, startProcess } from '../helpers/server';
import { bearer, createPat, createUser, freshJwt, TestUser, allScopes, type Scope } from '../helpers/users';
import { http } from '../helpers/typed-http';

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


/** A workspace bound to a new token with `scopes`, bound by the manager PAT or, beyond its grant, by `binder`. */
async function boundWorkspace(scopes: Scope[] = ['posts:read'], binder = manager) {
  const ws = await http(t, manager).post('/api/workspaces', { name: 'Digest', default_prompt: 'Summarise the week.' });
  expect(ws.status).toBe(201);
  const token = await createPat(t, { ...user, jwt: await freshJwt(t, user.id) }, { scopes, name: 'automation' });
  const bound = await http(t, binder).put(`/api/workspaces/${ws.body.id}/binding`, { token_id: token.id });
  expect(bound.status).toBe(200);
  return { id: ws.body.id as string, token };
}

describe('workspaces', () => {
  it('are created, read, listed, edited and deleted', async () => {
    const created = await http(t, manager).post('/api/workspaces', { name: 'Ops', description: 'Nightly jobs' });
    expect(created.body).toMatchObject({ name: 'Ops', description: 'Nightly jobs', default_prompt: '', bound_token: null });
    const id = created.body.id;
    expect((await http(t, manager).get(`/api/workspaces/${id}`)).body.name).toBe('Ops');
    expect((await http(t, manager).get('/api/workspaces')).body.data.some((w: any) => w.id === id)).toBe(true);
    expect((await http(t, manager).patch(`/api/workspaces/${id}`, { default_prompt: 'Check things.' })).body.default_prompt).toBe('Check things.');
    expect((await http(t, manager).delete(`/api/workspaces/${id}`)).status).toBe(204);
    expectError(await http(t, manager).get(`/api/workspaces/${id}`), 404, 'not_found');
  });

  it('bind only their owner\'s tokens, and a PAT only tokens within its own grant', async () => {
    const ws = (await http(t, manager).post('/api/workspaces', { name: 'Bind' })).body;
    const stranger = await createUser(t, { twoFactor: true });
    const theirs = await createPat(t, stranger, { scopes: ['posts:read'] });
    expectError(await http(t, manager).put(`/api/workspaces/${ws.id}/binding`, { token_id: theirs.id }), 404, 'not_found');
    const strong = await createPat(t, { ...user, jwt: await freshJwt(t, user.id) }, { scopes: ['posts:write'] });
    const refused = await http(t, manager).put(`/api/workspaces/${ws.id}/binding`, { token_id: strong.id });
    expectError(refused, 403, 'grant_exceeds_permissions');
    expect(refused.body.error.details.excess_scopes).toEqual(['posts:write']);
    // A 2FA-verified JWT stands for the whole role, so it may bind it.
    const bound = await http(t, await freshJwt(t, user.id)).put(`/api/workspaces/${ws.id}/binding`, { token_id: strong.id });
    expect(bound.body.bound_token).toMatchObject({ id: strong.id, scopes: ['posts:write'] });
    expect((await http(t, manager).delete(`/api/workspaces/${ws.id}/binding`)).body.bound_token).toBeNull();
  });
});

describe('delegation: a run acts with the bound token\'s grant', () => {
  const writer: Scope[] = ['posts:read', 'posts:write'];
  const runs = async (id: string) => (await http(t, manager).get(`/api/workspaces/${id}/runs`)).body.data.length;

  it('is refused to a caller holding less than that grant, naming the scopes, unless the owner made the binding delegable', async () => {
    const { id, token } = await boundWorkspace(writer, await freshJwt(t, user.id));
    const runner = await createPat(t, { ...user, jwt: await freshJwt(t, user.id) }, { scopes: ['workspaces:run'], name: 'runner' });
    const refused = await http(t, runner.token).post(`/api/workspaces/${id}/runs`, { prompt: 'Publish everything.' });
    expectError(refused, 403, 'grant_exceeds_permissions');
    expect(refused.body.error.details.excess_scopes).toEqual(['posts:read', 'posts:write']);
    expect(refused.body.error.message).toContain('delegable');
    expect(await runs(id)).toBe(0);

    // The owner consents: the same caller may queue, and the run shows the delegation.
    const owner = await freshJwt(t, user.id);
    const bound = await http(t, owner).put(`/api/workspaces/${id}/binding`, { token_id: token.id, delegable: true });
    expect(bound.body.delegable).toBe(true);
    const queued = await http(t, runner.token).post(`/api/workspaces/${id}/runs`, { prompt: 'Publish the draft.' });
    expect(queued.status).toBe(201);
    expect(queued.body.triggered_by).toEqual({ kind: 'pat', id: runner.id });
    await worker().runOnce();
    const run = (await http(t, manager).get(`/api/workspaces/${id}/runs/${queued.body.id}`)).body;
    expect(run).toMatchObject({ status: 'SUCCEEDED', acting_token_id: token.id, triggered_by: { kind: 'pat', id: runner.id } });

    // Binding again without it (or unbinding) withdraws the consent.
    expect((await http(t, owner).put(`/api/workspaces/${id}/binding`, { token_id: token.id })).body.delegable).toBe(false);
    expectError(await http(t, runner.token).post(`/api/workspaces/${id}/runs`, { prompt: 'Again.' }), 403, 'grant_exceeds_permissions');
    expect((await http(t, owner).delete(`/api/workspaces/${id}/binding`)).body.delegable).toBe(false);
  });

  it('lets a caller holding the grant queue runs, and records a signed-in user as the trigger', async () => {
    const { id } = await boundWorkspace(writer, await freshJwt(t, user.id));
    const holder = await createPat(t, { ...user, jwt: await freshJwt(t, user.id) }, { scopes: ['workspaces:run', ...writer], name: 'holder' });
    expect((await http(t, holder.token).post(`/api/workspaces/${id}/runs`, { prompt: 'Go.' })).status).toBe(201);
    const byUser = await http(t, await freshJwt(t, user.id)).post(`/api/workspaces/${id}/runs`, { prompt: 'Go.' });
    expect(byUser.status).toBe(201);
    expect(byUser.body.triggered_by).toEqual({ kind: 'jwt', id: user.id });
  });
});

describe('runs', () => {
  it('need a bound token', async () => {
    const ws = (await http(t, manager).post('/api/workspaces', { name: 'Unbound', default_prompt: 'x' })).body;
    expectError(await http(t, manager).post(`/api/workspaces/${ws.id}/runs`, {}), 409, 'workspace_token_required');
  });

  it('are queued, claimed and executed with the bound token\'s scopes; overrides leave the defaults alone', async () => {
    const { id, token } = await boundWorkspace(['posts:read']);
    const queued = await http(t, manager).post(`/api/workspaces/${id}/runs`, { overrides: { tone: 'brief' } });
    expect(queued.status).toBe(201);
    expect(queued.body).toMatchObject({ status: 'QUEUED', prompt: 'Summarise the week.', overrides: { tone: 'brief' }, attempts: 0 });
    expect(await worker().runOnce()).toBeGreaterThanOrEqual(1);
    const run = (await http(t, manager).get(`/api/workspaces/${id}/runs/${queued.body.id}`)).body;
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 1, effective_scopes: ['posts:read'], error: null, acting_token_id: token.id });
    expect(run.triggered_by).toEqual({ kind: 'pat', id: expect.stringMatching(/^tok_/) });
    expect(run.result_summary).toMatch(/^Ran a 19-character prompt \(sha256 [0-9a-f]{12}\) with 1 scopes and overrides tone\.$/);
    expect(run.started_at).not.toBeNull();
    expect(run.finished_at).not.toBeNull();
    expect((await http(t, manager).get(`/api/workspaces/${id}`)).body.default_prompt).toBe('Summarise the week.');
    expect((await http(t, manager).get(`/api/workspaces/${id}/runs?status=SUCCEEDED`)).body.data.map((r: any) => r.id)).toEqual([queued.body.id]);
    expect((await http(t, manager).get(`/api/workspaces/${id}/runs?status=QUEUED`)).body.data).toEqual([]);
    void token;
  });

  it('never get more than the token has now: a revoked token fails the run', async () => {
    const { id, token } = await boundWorkspace(['posts:read']);
    const queued = await http(t, manager).post(`/api/workspaces/${id}/runs`, { prompt: 'Go.' });
    await http(t, await freshJwt(t, user.id)).delete(`/api/tokens/${token.id}`).expect(204);
    await worker().runOnce();
    const run = (await http(t, manager).get(`/api/workspaces/${id}/runs/${queued.body.id}`)).body;
    expect(run).toMatchObject({ status: 'FAILED', effective_scopes: null });
    expect(run.error).toMatch(/no usable token/);
  });

  it('are canceled while queued, and a finished run cannot be', async () => {
    const { id } = await boundWorkspace();
    const queued = await http(t, manager).post(`/api/workspaces/${id}/runs`, { prompt: 'Later.' });
    const canceled = await http(t, manager).post(`/api/workspaces/${id}/runs/${queued.body.id}/cancel`);
    expect(canceled.body).toMatchObject({ status: 'CANCELED' });
    await worker().runOnce();
    expect((await http(t, manager).get(`/api/workspaces/${id}/runs/${queued.body.id}`)).body.status).toBe('CANCELED');
    expectError(await http(t, manager).post(`/api/workspaces/${id}/runs/${queued.body.id}/cancel`), 409, 'run_finished');
  });

  it('raise run.succeeded and run.failed webhook events with the outcome', async () => {
    const hook = await http(t, await freshJwt(t, user.id)).post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/runs', events: ['run.succeeded', 'run.failed'] });
    expect(hook.status).toBe(201);
    const { id } = await boundWorkspace();
    const queued = await http(t, manager).post(`/api/workspaces/${id}/runs`, { prompt: 'Hooked.' });
    await worker().runOnce();
    const events = await t.database.knex('webhook_events').where({ user_id: user.id, type: 'run.succeeded' }).select('payload');
    expect(events.map((e) => JSON.parse(e.payload).data.id)).toContain(queued.body.id);
  });

  it('left by a worker that died are taken back when its lease ends', async () => {
    const { id } = await boundWorkspace();
    const queued = await http(t, manager).post(`/api/workspaces/${id}/runs`, { prompt: 'Crash me.' });
    const dead = await t.repos.workspaces.claimNext('dead-worker', t.clock().toISOString(), new Date(t.clock().getTime() + 300_000).toISOString());
    expect(dead?.id).toBe(queued.body.id);
    expect(await worker().runOnce()).toBe(0); // still leased
    t.clock.advance(301);
    await worker().runOnce();
    const run = (await http(t, manager).get(`/api/workspaces/${id}/runs/${queued.body.id}`)).body;
    expect(run).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
  });

  it('fail for good once a dead worker has used up their attempts', async () => {
    const { id } = await boundWorkspace();
    const queued = await http(t, manager).post(`/api/workspaces/${id}/runs`, { prompt: 'Doomed.' });
    for (let i = 0; i < t.config.worker.maxAttempts; i++) {
      await t.repos.workspaces.claimNext(`dead-${i}`, t.clock().toISOString(), new Date(t.clock().getTime() + 1000).toISOString());
      t.clock.advance(2);
      await t.repos.workspaces.recoverExpired(t.clock().toISOString(), t.config.worker.maxAttempts);
    }
    const run = (await http(t, manager).get(`/api/workspaces/${id}/runs/${queued.body.id}`)).body;
    expect(run).toMatchObject({ status: 'FAILED', attempts: t.config.worker.maxAttempts });
  });
});

describe('two worker processes', () => {
  it('share the queue and never run one run twice', async () => {
    const { id } = await boundWorkspace();
    const env = {
      PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: t.testDb.url, LOG_LEVEL: 'warn', WORKER_POLL_MS: '20', ...TEST_SECRETS,
    };
    const workers = await Promise.all([1, 2].map(() => startProcess(process.execPath, ['dist/src/cli/worker.js'], env, 'polling every')));
    // Runs arrive while both workers poll, in bursts, so that both find work.
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push((await http(t, manager).post(`/api/workspaces/${id}/runs`, { prompt: `job ${i}` })).body.id);
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 60));
    }
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
    expect(new Set(rows.map((r) => r.claimed_by)).size).toBe(2);
  }, 60_000);

  it('an in-process worker and a second one never claim the same run', async () => {
    const { id } = await boundWorkspace();
    for (let i = 0; i < 10; i++) await http(t, manager).post(`/api/workspaces/${id}/runs`, { prompt: `pair ${i}` });
    const second = createWorker({ repos: t.repos, contract: t.contract, clock: t.clock, log: createLogger('silent'), webhooks: { emit: async () => undefined }, options: { ...t.config.worker, workerId: 'second' } });
    const [a, b] = await Promise.all([worker().runOnce(), second.runOnce()]);
    expect(a + b).toBe(10);
  });
});

describe('rules', () => {
  const rulesPath = (id: string) => `/api/workspaces/${id}/rules`;

  it('schedule on cron in a time zone and fire once per due time, even with two workers', async () => {
    const { id } = await boundWorkspace();
    const created = await request(t.app).post(rulesPath(id)).set(bearer(manager))
      .send({ name: 'Morning', trigger: 'SCHEDULE', cron: '0 9 * * *', timezone: 'Europe/Berlin', prompt_template: 'Digest for {{fired_at}}' });
    expect(created.status).toBe(201);
    const due = created.body.next_fire_at as string;
    // 09:00 in Berlin is 08:00 or 07:00 UTC depending on the season.
    expect(due).toMatch(/T0[78]:00:00\.000Z$/);
    expectError(await request(t.app).post(rulesPath(id)).set(bearer(manager)).send({ name: 'Bad', trigger: 'SCHEDULE', cron: '61 * * * *', prompt_template: 'x' }), 400, 'invalid_cron');
    expectError(await request(t.app).post(rulesPath(id)).set(bearer(manager)).send({ name: 'Bad', trigger: 'SCHEDULE', cron: '0 9 * * *', timezone: 'Mars/Olympus', prompt_template: 'x' }), 400, 'invalid_timezone');

    t.clock.set(new Date(Date.parse(due) + 1000));
    const { createRulesService } = jest.requireActual('../../src/services/rules.service') as typeof import('../../src/services/rules.service');
    const second = createWorker({
      repos: t.repos, contract: t.contract, clock: t.clock, log: createLogger('silent'), webhooks: { emit: async () => undefined },
      options: { ...t.config.worker, workerId: 'second' }, schedules: createRulesService(t.repos, t.clock, t.config.dataKeys, t.config.publicUrl, t.config.caps),
    });
    await Promise.all([worker().runOnce(), second.runOnce(), worker().runOnce()]);
    const runs = (await http(t, manager).get(`/api/workspaces/${id}/runs?trigger=SCHEDULE`)).body.data;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'SUCCEEDED', prompt: `Digest for ${due}` });
    const after = (await request(t.app).get(`${rulesPath(id)}/${created.body.id}`).set(bearer(manager))).body;
    expect(Date.parse(after.next_fire_at) - Date.parse(due)).toBe(24 * 3600_000);
    expect(after.last_fired_at).not.toBeNull();

    // Disabled, it keeps its settings and never fires.
    const off = await request(t.app).patch(`${rulesPath(id)}/${created.body.id}`).set(bearer(manager)).send({ enabled: false });
    expect(off.body).toMatchObject({ enabled: false, next_fire_at: null, cron: '0 9 * * *' });
    t.clock.advance(2 * 24 * 3600);
    await worker().runOnce();
    expect((await http(t, manager).get(`/api/workspaces/${id}/runs?trigger=SCHEDULE`)).body.data).toHaveLength(1);
    t.clock.set(new Date());
  });

  describe('signed inbound triggers (Standard Webhooks; the secret never travels)', () => {
    let hook: { url: string; secret: string };
    let workspaceId: string;
    let ruleId: string;
    let messages = 0;
    const pathOf = () => new URL(hook.url).pathname;
    /** Signed by the independent standardwebhooks package, as a sender's library would. */
    const signed = (body: string, options: { at?: Date; secret?: string; id?: string } = {}) => {
      const id = options.id ?? `msg_${Date.now()}_${(messages += 1)}`;
      const at = options.at ?? t.clock();
      return {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new Webhook(options.secret ?? hook.secret).sign(id, at, body),
      };
    };
    /** The retired scheme: the secret itself beside a hex HMAC. */
    const legacy = (body: string, at = Math.floor(t.clock().getTime() / 1000)) => ({
      'x-gpx-webhook-secret': hook.secret,
      'x-gpx-signature': `t=${at},v1=${createHmac('sha256', hook.secret).update(`${at}.${body}`).digest('hex')}`,
    });
    const fire = (body: string, headers: Record<string, string>) =>
      request(t.app).post(pathOf()).set('Content-Type', 'application/json').set(headers).send(body);
    const runCount = async () => (await http(t, manager).get(`/api/workspaces/${workspaceId}/runs?trigger=WEBHOOK_EVENT`)).body.data.length;
    const patchRule = (body: { legacy_signature?: boolean; enabled?: boolean }) => http(t, manager).patch(`/api/workspaces/${workspaceId}/rules/${ruleId}`, body);

    beforeAll(async () => {
      ({ id: workspaceId } = await boundWorkspace());
      const created = await http(t, manager).post(`/api/workspaces/${workspaceId}/rules`, { name: 'On order', trigger: 'WEBHOOK_EVENT', prompt_template: 'Handle {{event}}', cooldown_seconds: 60 });
      expect(created.status).toBe(201);
      expect(created.headers['cache-control']).toContain('no-store');
      hook = created.body.hook;
      ruleId = created.body.id;
      expect(hook.url).toMatch(/\/api\/hooks\/gpx_hook_[A-Za-z0-9]+$/);
      expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(created.body.legacy_signature_until).toBeNull();
      expect((await http(t, manager).get(`/api/workspaces/${workspaceId}/rules/${ruleId}`)).body.hook).toBeUndefined();
      const stored = JSON.stringify(await t.database.knex('workspace_rules').where({ id: ruleId }));
      expect(stored).not.toContain(hook.secret);
      expect(stored).not.toContain(hook.url.split('/').pop());
    });

    it('queue a WEBHOOK_EVENT run for a valid signature → 202', async () => {
      const body = JSON.stringify({ order_id: '1001' });
      const res = await fire(body, signed(body));
      expect(res.status).toBe(202);
      expect(res.body.run_id).toMatch(/^run_/);
      expect(res.headers.deprecation).toBeUndefined();
      const run = (await http(t, manager).get(`/api/workspaces/${workspaceId}/runs/${res.body.run_id}`)).body;
      expect(run).toMatchObject({ trigger: 'WEBHOOK_EVENT', status: 'QUEUED', prompt: `Handle ${body}`, triggered_by: { kind: 'hook', id: ruleId } });
    });

    it('refuse a wrong key, a changed body, an old timestamp, missing or malformed headers, and the secret itself, with 401 queuing nothing', async () => {
      t.clock.advance(61);
      const body = JSON.stringify({ order_id: '1002' });
      const before = await runCount();
      const other = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
      expectError(await fire(body, signed(body, { secret: other })), 401, 'invalid_signature');
      expectError(await fire(JSON.stringify({ order_id: '9999' }), { ...signed(body) }), 401, 'invalid_signature');
      expectError(await fire(body, signed(body, { at: new Date(t.clock().getTime() - 301_000) })), 401, 'invalid_signature');
      expectError(await fire(body, signed(body, { at: new Date(t.clock().getTime() + 301_000) })), 401, 'invalid_signature');
      const { 'webhook-signature': _, ...unsigned } = signed(body);
      expectError(await fire(body, unsigned), 401, 'invalid_signature');
      expectError(await fire(body, signed(body, { id: 'spaces are not allowed' })), 401, 'invalid_signature');
      expectError(await fire(body, signed(body, { id: 'x'.repeat(65) })), 401, 'invalid_signature');
      expectError(await fire(body, { ...signed(body), 'webhook-timestamp': '1e9' }), 401, 'invalid_signature');
      // A valid signature beside the secret itself: refused, so no sender keeps sending its secret.
      expectError(await fire(body, { ...signed(body), 'x-gpx-webhook-secret': hook.secret }), 401, 'invalid_signature');
      // The retired scheme, even with the right secret, on a rule that did not opt in.
      const retired = await fire(body, legacy(body));
      expectError(retired, 401, 'invalid_signature');
      expect(retired.body.error.message).toContain('Standard Webhooks');
      expect(await runCount()).toBe(before);
    });

    it('refuse a replayed webhook-id and a firing inside the cooldown', async () => {
      t.clock.advance(61);
      const body = JSON.stringify({ order_id: '1003' });
      const headers = signed(body);
      expect((await fire(body, headers)).status).toBe(202);
      t.clock.advance(61);
      expectError(await fire(body, headers), 401, 'invalid_signature');
      const other = JSON.stringify({ order_id: '1004' });
      expectError(await fire(other, signed(other, { id: headers['webhook-id'] })), 401, 'invalid_signature');
      expect((await fire(other, signed(other))).status).toBe(202);
      const cooling = await fire(other, signed(other));
      expectError(cooling, 429, 'rule_cooldown');
      expect(Number(cooling.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('accept the retired scheme for 30 days after an opt-in, marked deprecated, never extended or reopened', async () => {
      t.clock.advance(61);
      const optedAt = t.clock();
      const opted = await patchRule({ legacy_signature: true });
      expect(opted.status).toBe(200);
      const until = new Date(optedAt.getTime() + 30 * 86_400_000).toISOString();
      expect(opted.body.legacy_signature_until).toBe(until);
      const body = JSON.stringify({ order_id: '1006' });
      const first = legacy(body);
      const res = await fire(body, first);
      expect(res.status).toBe(202);
      expect(res.headers.deprecation).toBe(`@${Math.floor(optedAt.getTime() / 1000)}`);
      expect(res.headers.sunset).toBe(new Date(until).toUTCString());
      t.clock.advance(61);
      expectError(await fire(body, first), 401, 'invalid_signature'); // the same signature, replayed
      const fresh = JSON.stringify({ order_id: '1007' });
      expect((await fire(fresh, signed(fresh))).status).toBe(202); // the standard scheme works meanwhile

      t.clock.advance(30 * 86_400);
      const late = JSON.stringify({ order_id: '1008' });
      expectError(await fire(late, legacy(late)), 401, 'invalid_signature');
      expect((await patchRule({ legacy_signature: true })).body.legacy_signature_until).toBe(until); // not extended
      expectError(await fire(late, legacy(late)), 401, 'invalid_signature');
      expect((await fire(late, signed(late))).status).toBe(202);
    });

    it('end the retired scheme at once on opting out, and refuse the opt-in for rules without a hook', async () => {
      const { id: otherWorkspace } = await boundWorkspace();
      const created = await http(t, manager).post(`/api/workspaces/${otherWorkspace}/rules`, { name: 'Opt out', trigger: 'WEBHOOK_EVENT', prompt_template: 'x' });
      const ended = { hook, ruleId, workspaceId };
      hook = created.body.hook;
      ruleId = created.body.id;
      workspaceId = otherWorkspace;
      try {
        await patchRule({ legacy_signature: true });
        const body = JSON.stringify({ order_id: '2001' });
        expect((await fire(body, legacy(body))).status).toBe(202);
        t.clock.advance(1);
        const out = await patchRule({ legacy_signature: false });
        expect(out.body.legacy_signature_until).toBe(t.clock().toISOString());
        const next = JSON.stringify({ order_id: '2002' });
        expectError(await fire(next, legacy(next)), 401, 'invalid_signature');
        await patchRule({ legacy_signature: true }); // not reopened
        expectError(await fire(next, legacy(next)), 401, 'invalid_signature');
      } finally {
        ({ hook, ruleId, workspaceId } = ended);
      }
      const schedule = await http(t, manager).post(`/api/workspaces/${otherWorkspace}/rules`, { name: 'Nightly', trigger: 'SCHEDULE', cron: '0 3 * * *', prompt_template: 'x' });
      expectError(await http(t, manager).patch(`/api/workspaces/${otherWorkspace}/rules/${schedule.body.id}`, { legacy_signature: true }), 400, 'invalid_request');
    });

    it('answer 404 for a disabled rule and an unknown hook', async () => {
      t.clock.advance(61);
      await patchRule({ enabled: false });
      const body = JSON.stringify({ order_id: '1005' });
      expectError(await fire(body, signed(body)), 404, 'not_found');
      expectError(await http(t).post(`/api/hooks/gpx_hook_${'A'.repeat(32)}`, {}), 404, 'not_found');
    });

    it('refuse a bearer credential: the mode is signed webhooks only', async () => {
      expectError(await request(t.app).post(pathOf()).set(bearer(manager)).send({}), 403, 'auth_mode_not_allowed');
    });
  });
});
