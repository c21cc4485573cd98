/**
 * Abuse resistance of workspaces (issue 14): a schedule is exactly five cron fields and at most once a
 * minute, checked whether the rule is enabled or not; caps on workspaces, rules and queued runs per
 * user hold under concurrent creates and name the cap; a full run queue skips scheduled fires.
 */
import request from 'supertest';
import type { Worker } from '../../src/jobs/worker';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { bearer, createPat, createUser, freshJwt, TestUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
let user: TestUser;
let manager: string;
const worker = () => t.app.locals.worker as Worker;
beforeAll(async () => {
  // The worker stays out of the way (runs stay QUEUED) unless a test calls it.
  t = await startTestApp({ MAX_WORKSPACES_PER_USER: '3', MAX_RULES_PER_USER: '4', MAX_QUEUED_RUNS_PER_USER: '2', WORKER_POLL_MS: '3600000' });
  user = await createUser(t, { twoFactor: true });
  manager = (await createPat(t, user, { scopes: ['workspaces:manage', 'workspaces:run', 'posts:read'] })).token;
});
afterAll(() => t.close());

const rulesPath = (id: string) => `/api/workspaces/${id}/rules`;
const schedule = (name: string, cron: string, extra: Record<string, unknown> = {}) => ({ name, trigger: 'SCHEDULE', cron, prompt_template: 'x', ...extra });

async function newOwner() {
  const owner = await createUser(t, { twoFactor: true });
  const pat = (await createPat(t, owner, { scopes: ['workspaces:manage', 'workspaces:run', 'posts:read'] })).token;
  return { owner, pat };
}

describe('schedules', () => {
  let workspace: string;
  beforeAll(async () => {
    workspace = (await http(t, manager).post('/api/workspaces', { name: 'Cron' })).body.id;
  });

  it.each([
    ['six fields (seconds)', '* * * * * *', /has 6 fields; a schedule takes exactly five/],
    ['four fields', '* * * *', /has 4 fields/],
    ['an alias', '@hourly', /has 1 field;/],
    ['seven fields', '0 0 9 * * 1 2027', /has 7 fields/],
    ['a bad value', '61 * * * *', /is not a valid cron expression/],
  ])('refuses %s with a 400 that names the rule', async (_name, cron, message) => {
    const res = await request(t.app).post(rulesPath(workspace)).set(bearer(manager)).send(schedule('Nightly report', cron));
    expectError(res, 400, 'invalid_cron');
    expect(res.body.error.message).toMatch(/^Rule "Nightly report": /);
    expect(res.body.error.message).toMatch(message);
  });

  it('checks the cron of a disabled rule too, on create and on change; turning a rule off needs no check', async () => {
    expectError(await request(t.app).post(rulesPath(workspace)).set(bearer(manager)).send(schedule('Off', '* * * * * *', { enabled: false })), 400, 'invalid_cron');
    const off = await request(t.app).post(rulesPath(workspace)).set(bearer(manager)).send(schedule('Off', '*/5 * * * *', { enabled: false }));
    expect(off.status).toBe(201);
    expect(off.body.next_fire_at).toBeNull();
    const bad = await request(t.app).patch(`${rulesPath(workspace)}/${off.body.id}`).set(bearer(manager)).send({ cron: '*/1 * * * * *' });
    expectError(bad, 400, 'invalid_cron');
    expect(bad.body.error.message).toContain('Rule "Off"');
    const every = await request(t.app).patch(`${rulesPath(workspace)}/${off.body.id}`).set(bearer(manager)).send({ cron: '* * * * *', enabled: true });
    expect(every.status).toBe(200);
    expect(every.body.next_fire_at).not.toBeNull();
    expect((await request(t.app).patch(`${rulesPath(workspace)}/${off.body.id}`).set(bearer(manager)).send({ enabled: false })).body.next_fire_at).toBeNull();
    await request(t.app).delete(`${rulesPath(workspace)}/${off.body.id}`).set(bearer(manager)).expect(204);
  });

  it('never fires a schedule stored before the rule more than once a minute', async () => {
    const { owner, pat } = await newOwner();
    const ws = (await http(t, pat).post('/api/workspaces', { name: 'Legacy', default_prompt: 'x' })).body.id;
    const token = await createPat(t, { ...owner, jwt: await freshJwt(t, owner.id) }, { scopes: ['posts:read'] });
    await http(t, pat).put(`/api/workspaces/${ws}/binding`, { token_id: token.id }).expect(200);
    const rule = (await request(t.app).post(rulesPath(ws)).set(bearer(pat)).send(schedule('Legacy', '* * * * *'))).body;
    // As a row written by an older version, which accepted a seconds field.
    await t.database.knex('workspace_rules').where({ id: rule.id }).update({ cron: '* * * * * *' });
    const start = Date.parse(rule.next_fire_at);
    for (let second = 0; second < 90; second += 3) {
      t.clock.set(new Date(start + second * 1000));
      await worker().runOnce();
    }
    const runs = await t.database.knex('workspace_runs').where({ workspace_id: ws, trigger: 'SCHEDULE' });
    expect(runs.length).toBe(2); // at start and start + 60 s, not 30 times
    t.clock.set(new Date());
  });
});

describe('caps', () => {
  it('hold workspaces to the cap under 12 concurrent creates, and name the cap', async () => {
    const { pat } = await newOwner();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => http(t, pat).post('/api/workspaces', { name: `W${i}` })));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(3);
    const refused = answers.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(9);
    for (const res of refused) {
      expectError(res, 409, 'limit_reached');
      expect(res.body.error.details).toEqual({ cap: 'workspaces', limit: 3 });
    }
    expect((await http(t, pat).get('/api/workspaces')).body.meta.pagination.total).toBe(3);
  });

  it('hold rules to the cap across the user\'s workspaces', async () => {
    const { pat } = await newOwner();
    const a = (await http(t, pat).post('/api/workspaces', { name: 'A' })).body.id;
    const b = (await http(t, pat).post('/api/workspaces', { name: 'B' })).body.id;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => request(t.app).post(rulesPath(i % 2 ? a : b)).set(bearer(pat)).send(schedule(`R${i}`, '0 9 * * *'))));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(4);
    const refused = answers.find((r) => r.status !== 201)!;
    expectError(refused, 409, 'limit_reached');
    expect(refused.body.error.details).toEqual({ cap: 'rules', limit: 4 });
  });

  it('hold queued runs to the cap with a 429 and Retry-After, and a full queue skips scheduled fires', async () => {
    const { owner, pat } = await newOwner();
    const ws = (await http(t, pat).post('/api/workspaces', { name: 'Queue', default_prompt: 'x' })).body.id;
    const token = await createPat(t, { ...owner, jwt: await freshJwt(t, owner.id) }, { scopes: ['posts:read'] });
    await http(t, pat).put(`/api/workspaces/${ws}/binding`, { token_id: token.id }).expect(200);
    const answers = await Promise.all(Array.from({ length: 6 }, () => http(t, pat).post(`/api/workspaces/${ws}/runs`, {})));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(2);
    const full = answers.find((r) => r.status === 429)!;
    expectError(full, 429, 'run_queue_full');
    expect(full.headers['retry-after']).toBe('60');
    expect(full.body.error.details).toMatchObject({ cap: 'queuedRuns', limit: 2 });

    const rule = (await request(t.app).post(rulesPath(ws)).set(bearer(pat)).send(schedule('Full', '* * * * *'))).body;
    t.clock.set(new Date(Date.parse(rule.next_fire_at) + 1000));
    // The worker fires due schedules before it takes queued runs: the queue is full then.
    await worker().runOnce();
    expect(await t.database.knex('workspace_runs').where({ workspace_id: ws, trigger: 'SCHEDULE' })).toHaveLength(0);
    // The due time passed without a run; the next one is a minute later.
    const after = (await request(t.app).get(`${rulesPath(ws)}/${rule.id}`).set(bearer(pat))).body;
    expect(Date.parse(after.next_fire_at) - Date.parse(rule.next_fire_at)).toBe(60_000);

    // The worker drained the queue after firing: runs are accepted again.
    t.clock.set(new Date());
    expect((await http(t, pat).post(`/api/workspaces/${ws}/runs`, {})).status).toBe(201);
  });
});

describe('the run queue', () => {
  it('takes turns between users: a flood queued first does not run ahead of everyone else', async () => {
    // Runs the tests above left queued are not part of this queue: their owners were served at clock
    // times those tests chose (one sets the clock a minute ahead, then back to now), so where they would
    // sort among the runs below depends on the wall clock of the moment.
    await t.database.knex('workspace_runs').where({ status: 'QUEUED' }).update({ status: 'CANCELED' });
    const bound = async () => {
      const { owner, pat } = await newOwner();
      const ws = (await http(t, pat).post('/api/workspaces', { name: 'Turns', default_prompt: 'x' })).body.id;
      const token = await createPat(t, { ...owner, jwt: await freshJwt(t, owner.id) }, { scopes: ['posts:read'] });
      await http(t, pat).put(`/api/workspaces/${ws}/binding`, { token_id: token.id }).expect(200);
      return { pat, ws, queue: () => http(t, pat).post(`/api/workspaces/${ws}/runs`, {}).expect(201) };
    };
    const flood = await bound();
    const other = await bound();
    const third = await bound();
    for (let i = 0; i < 2; i++) {
      await flood.queue();
      t.clock.advance(1);
    }
    await other.queue();
    t.clock.advance(1);
    await third.queue();
    const owners = new Map([[flood.ws, 'flood'], [other.ws, 'other'], [third.ws, 'third']]);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      t.clock.advance(1);
      const run = await t.repos.workspaces.claimNext('fair-test', t.clock().toISOString(), new Date(t.clock().getTime() + 60_000).toISOString());
      order.push(owners.get(run!.workspaceId)!);
    }
    // Oldest first among users not yet served, then the user served longest ago.
    expect(order).toEqual(['flood', 'other', 'third', 'flood']);
  });
});
