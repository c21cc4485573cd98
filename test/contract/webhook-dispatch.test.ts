/**
 * Fair, concurrent webhook dispatch (issue 14): one endpoint that never answers holds only its own slot;
 * an endpoint gets one delivery at a time, in order, even from two instances; and a user with a flood of
 * due deliveries does not take every slot from another. The slow endpoint is held by the test (its
 * answers are released by hand), so nothing here depends on timing.
 */
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/core/logger';
import type { createDispatcher } from '../../src/jobs/dispatcher';
import { startTestApp, TestApp } from '../helpers/app';
import { startReceiver } from '../helpers/receiver';
import { createPat, createUser } from '../helpers/users';
import { http } from '../helpers/typed-http';

type Dispatcher = ReturnType<typeof createDispatcher>;
let t: TestApp;
let second: Express;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
const held: ServerResponse[] = [];

beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '10', WEBHOOK_CONCURRENCY: '4', WEBHOOK_TIMEOUT_MS: '30000' });
  second = createApp({ ...t, log: createLogger('silent', new Writable({ write: (_c, _e, done) => done() })) });
  receiver = await startReceiver();
  // Paths under /slow are held until the test releases them; everything else answers at once.
  receiver.answer((req, res) => {
    if (req.url?.startsWith('/slow')) held.push(res);
    else res.writeHead(200).end('ok');
  });
});
afterAll(async () => {
  for (const d of [t.app, second]) await (d.locals.dispatcher as Dispatcher).stop().catch(() => undefined);
  for (const res of held) res.writeHead(200).end();
  await receiver.close();
  await t.close();
});

const dispatcher = (app: Express = t.app) => app.locals.dispatcher as Dispatcher;
const seen = (path: string) => receiver.received.filter((r) => r.path === path);
async function until(probe: () => boolean, what: string) {
  for (let i = 0; i < 500 && !probe(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!probe()) throw new Error(`never happened: ${what}`);
}
async function tenant(path: string) {
  const user = await createUser(t, { twoFactor: true });
  const pat = (await createPat(t, user, { scopes: ['webhooks:manage', 'posts:write'] })).token;
  await http(t, pat).post('/api/webhooks/endpoints', { url: `${receiver.url}${path}`, events: ['post.created'] }).expect(201);
  const post = (title: string) => http(t, pat).post('/api/posts', { title }).expect(201);
  return { pat, post };
}

it('lets a slow endpoint delay only itself, sending it one event at a time and in order, even from two instances', async () => {
  const slow = await tenant('/slow');
  const fast = await tenant('/fast');
  // Events one second apart (the test clock stands still otherwise): an endpoint gets them in the order
  // they became due.
  for (const title of ['one', 'two', 'three']) {
    await slow.post(title);
    t.clock.advance(1);
  }
  await fast.post('fast one');
  dispatcher().start();
  dispatcher(second).start();

  await until(() => seen('/fast').length === 1, 'the fast endpoint got its event');
  await until(() => held.length === 1, 'the slow endpoint got its first event');
  // Both instances poll every 10 ms; the slow endpoint still has exactly one delivery in flight.
  await new Promise((r) => setTimeout(r, 200));
  expect(seen('/slow')).toHaveLength(1);

  const titles: string[] = [];
  for (let i = 0; i < 3; i++) {
    await until(() => held.length > 0 && seen('/slow').length === i + 1, `slow delivery ${i + 1}`);
    titles.push(JSON.parse(seen('/slow')[i]!.body).data.title);
    held.shift()!.writeHead(200).end('ok');
  }
  expect(titles).toEqual(['one', 'two', 'three']);
  await dispatcher().stop();
  await dispatcher(second).stop();
  // Every delivery was made exactly once.
  const rows = await t.database.knex('webhook_deliveries').select('status', 'attempts');
  expect(rows.every((r: { status: string; attempts: number }) => r.status === 'succeeded' && Number(r.attempts) === 1)).toBe(true);
}, 30_000);

it('gives each user a turn: a flood of one user\'s due deliveries does not take every slot', async () => {
  const flood = await createUser(t, { twoFactor: true });
  const floodPat = (await createPat(t, flood, { scopes: ['webhooks:manage', 'posts:write'] })).token;
  for (let i = 0; i < 12; i++) {
    await http(t, floodPat).post('/api/webhooks/endpoints', { url: `${receiver.url}/flood-${i}`, events: ['post.created'] }).expect(201);
  }
  await http(t, floodPat).post('/api/posts', { title: 'flood' }).expect(201);
  t.clock.advance(1);
  const other = await tenant('/other');
  await other.post('mine');
  receiver.received.length = 0;
  // Two slots' worth: the flood's twelve deliveries are due first, yet the other user gets one of them.
  expect(await dispatcher().runOnce(2)).toBe(2);
  expect(receiver.received.map((r) => r.path)).toContain('/other');
  // The rest: the flood's other eleven.
  expect(await dispatcher().runOnce()).toBe(11);
});
