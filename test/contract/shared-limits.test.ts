/**
 * Two instances, one Redis (REDIS_URL): a credential's limit and an address's failed-auth limit hold
 * across both; with Redis killed mid-run (a redis-server this test starts on its own port, never the
 * machine's shared one) both keep answering, never 5xx, each with its own limits, and say so in the log;
 * when Redis is back they share again. Skipped, with a message, only when redis-server is missing
 * outside CI.
 */
import { Writable } from 'node:stream';
import type { Express } from 'express';
import type Redis from 'ioredis';
import request from 'supertest';
import { generatePat } from '../../src/auth/token-format';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/core/logger';
import { startTestApp, TestApp } from '../helpers/app';
import { freePort, killStartedProcesses, RunningProcess, startProcess } from '../helpers/server';
import { toolFor } from '../helpers/tools';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';

const binary = toolFor('the shared-limit tests', 'redis-server');
const describeRedis = binary ? describe : describe.skip;

describeRedis('rate limits shared on Redis by two instances', () => {
  let port: number;
  let redis: RunningProcess;
  let a: TestApp;
  let b: Express;
  const bLogs: string[] = [];
  let user: TestUser;
  const startRedis = () => startProcess(binary!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { PATH: process.env.PATH }, 'Ready to accept connections');
  const clientOf = (app: Express) => app.locals.redis as Redis;
  async function connected(app: Express) {
    for (let i = 0; i < 200 && clientOf(app).status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(clientOf(app).status).toBe('ready');
  }
  /** `n` calls alternating between the two instances; the statuses, in order. */
  /** `n` calls alternating between the two instances, first a; answers them in order. */
  async function alternateAnswers(n: number, call: (app: Express) => request.Test): Promise<request.Response[]> {
    const answers: request.Response[] = [];
    for (let i = 0; i < n; i++) answers.push(await call(i % 2 ? b : a.app));
    return answers;
  }
  const alternate = async (n: number, call: (app: Express) => request.Test) => (await alternateAnswers(n, call)).map((r) => r.status);
  const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis();
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, TRUST_PROXY: 'true', RATE_LIMIT_REQUESTS: '10', RATE_LIMIT_USER_REQUESTS: '1000', ADDRESS_AUTH_FAILURES: '20', AUTH_MAX_FAILURES: '4', SIGNUP_MAX_PER_ADDRESS: '4', LOG_LEVEL: 'info' };
    a = await startTestApp(env);
    // The second instance: the same database and Redis, its own process state (stores, throttles).
    const sink = new Writable({ write(chunk, _enc, done) { bLogs.push(String(chunk)); done(); } });
    b = createApp({ ...a, log: createLogger('info', sink) });
    await Promise.all([connected(a.app), connected(b)]);
    user = await createUser(a, { twoFactor: true });
  }, 60_000);
  afterAll(async () => {
    await clientOf(b)?.quit().catch(() => undefined);
    await a?.close();
    await redis?.stop();
    killStartedProcesses();
  });

  it('holds a token\'s limit across both instances: 10 of 24 alternating calls, not 20', async () => {
    const { token } = await createPat(a, user, { scopes: ['posts:read'] });
    const statuses = await alternate(24, (app) => request(app).get('/api/posts').set(bearer(token)));
    expect(count(statuses, 200)).toBe(10);
    expect(count(statuses, 429)).toBe(14);
  });

  it('holds an address\'s failed-auth limit across both instances, and both refuse it after', async () => {
    const statuses = await alternate(60, (app) => request(app).get('/api/posts').set('X-Forwarded-For', '198.51.100.20').set(bearer(generatePat())));
    expect(count(statuses, 401)).toBe(20);
    expect(count(statuses, 429)).toBe(40);
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });

  it('holds the sign-up limit per address across both instances, taken emails included: 4 of 8, not 8', async () => {
    const taken = (await createUser(a)).email;
    let n = 0;
    const answers = await alternateAnswers(8, (app) => {
      n += 1;
      const email = n % 2 === 0 ? taken : `signup.${Date.now()}.${n}@example.com`;
      return request(app).post('/api/auth/signup').set('X-Forwarded-For', '198.51.100.40').send({ email, password: 'a-long-enough-passphrase-42' });
    });
    const statuses = answers.map((a) => a.status);
    expect(count(statuses, 201) + count(statuses, 409)).toBe(4);
    expect(count(statuses, 429)).toBe(4);
    // The sign-up limit refused them (8 requests stay under the address's general limit of 10).
    expect(answers.filter((a) => a.status === 429).every((a) => a.body.error.message.includes('sign-ups'))).toBe(true);
    const other = await request(b).post('/api/auth/signup').set('X-Forwarded-For', '198.51.100.41').send({ email: `other.${Date.now()}@example.com`, password: 'a-long-enough-passphrase-42' });
    expect(other.status).toBe(201);
  });

  it('counts failed sign-ins across both instances: the (account, address) limit holds on the sum', async () => {
    const victim = await createUser(a);
    const login = (app: Express, password: string) => request(app).post('/api/auth/login').set('X-Forwarded-For', '198.51.100.30').send({ email: victim.email, password });
    const statuses = await alternate(4, (app) => login(app, 'not-the-password'));
    expect(statuses).toEqual(Array(4).fill(401));
    // Four failures in all, two on each instance: both refuse the pair now, even with the right password.
    for (const app of [a.app, b]) {
      const refused = await login(app, victim.password);
      expect(refused.status).toBe(429);
      expect(refused.body.error.message).toContain('Too many failed attempts');
    }
    // Another address still gets in (slowed, not refused).
    expect((await request(b).post('/api/auth/login').set('X-Forwarded-For', '198.51.100.31').send({ email: victim.email, password: victim.password })).status).toBe(200);
  });

  it('costs one Redis command per request of a credential the instance knows: one script, one round trip', async () => {
    const { token } = await createPat(a, user, { scopes: ['posts:read'] });
    const settled = () => new Promise((r) => setTimeout(r, 100));
    // The first request of a credential on an instance also counts its user after authentication and
    // releases its in-flight count after the answer.
    await request(a.app).get('/api/posts').set(bearer(token)).expect(200);
    await settled();
    const calls = async () => {
      const stats = String(await clientOf(a.app).call('INFO', 'commandstats'));
      return Object.fromEntries([...stats.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    };
    // What the app's client sends (ioredis's sendCommand, watched, not replaced) and what the server ran.
    const client = clientOf(a.app) as Redis & { sendCommand(command: { name: string }): unknown };
    const send = client.sendCommand;
    const sent: string[] = [];
    client.sendCommand = function watched(this: unknown, command: { name: string }) {
      sent.push(command.name);
      return send.call(this, command);
    } as typeof send;
    const before = await calls();
    try {
      for (let i = 0; i < 5; i++) await request(a.app).get('/api/posts').set(bearer(token)).expect(200);
      await settled();
    } finally {
      client.sendCommand = send;
    }
    const after = await calls();
    expect(sent.filter((name) => name.toLowerCase() !== 'info')).toEqual(Array(5).fill('evalsha'));
    expect(after.evalsha! - before.evalsha!).toBe(5);
  });

  it('keeps answering when Redis dies, each instance with its own limits, never open and never 5xx; shares again when it is back', async () => {
    await redis.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const { token } = await createPat(a, user, { scopes: ['posts:read'] });
    const onA = await Promise.all(Array.from({ length: 12 }, () => request(a.app).get('/api/posts').set(bearer(token))));
    const onB = await Promise.all(Array.from({ length: 12 }, () => request(b).get('/api/posts').set(bearer(token))));
    for (const statuses of [onA.map((r) => r.status), onB.map((r) => r.status)]) {
      expect(count(statuses, 200)).toBe(10);
      expect(count(statuses, 429)).toBe(2);
    }
    const failures = await Promise.all(Array.from({ length: 30 }, () => request(a.app).get('/api/posts').set('X-Forwarded-For', '198.51.100.21').set(bearer(generatePat()))));
    expect(failures.map((r) => r.status).filter((s) => s >= 500)).toEqual([]);
    expect(count(failures.map((r) => r.status), 429)).toBeGreaterThanOrEqual(10);
    const warned = (logs: string[]) => logs.some((line) => line.includes('Redis is not answering'));
    expect(warned(a.logs)).toBe(true);
    expect(warned(bLogs)).toBe(true);

    redis = await startRedis();
    await Promise.all([connected(a.app), connected(b)]);
    const again = (await createPat(a, user, { scopes: ['posts:read'] })).token;
    const statuses = await alternate(14, (app) => request(app).get('/api/posts').set(bearer(again)));
    expect(count(statuses, 200)).toBe(10);
    expect(a.logs.some((line) => line.includes('Redis answers again'))).toBe(true);
  }, 60_000);
});
