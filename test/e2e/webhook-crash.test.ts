/**
 * At-least-once delivery across a crash: the compiled server is killed with SIGKILL while a webhook
 * delivery is in flight; after a restart on the same database the lease lapses and the same event
 * (same webhook-id, same signature scheme) is delivered. Nothing is lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { httpClient } from '../helpers/api-client';
import { startReceiver } from '../helpers/receiver';
import { killStartedProcesses, startCompiledServer } from '../helpers/server';
import { until } from '../helpers/wait';

const dir = mkdtempSync(join(tmpdir(), 'gpx-crash-'));
afterAll(() => {
  killStartedProcesses();
  rmSync(dir, { recursive: true, force: true });
});

it('kill -9 during a delivery loses no event', async () => {
  const receiver = await startReceiver();
  const env = { WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOK_LEASE_SECONDS: '2', WEBHOOK_POLL_MS: '100', WEBHOOK_TIMEOUT_MS: '30000' };
  try {
    // The first delivery hangs: the receiver never answers while the server is alive.
    receiver.answer(() => undefined);
    const first = await startCompiledServer(dir, env);
    const api = httpClient(first.url);
    const { pat } = await api.userWithPat('crash@example.com', ['webhooks:manage', 'posts:write']);
    const endpoint = await api.call('POST', '/api/webhooks/endpoints', { token: pat, body: { url: `${receiver.url}/hook`, events: ['post.created'] } });
    expect(endpoint.status).toBe(201);
    expect((await api.call('POST', '/api/posts', { token: pat, body: { title: 'survives a crash' } })).status).toBe(201);

    const inFlight = await until('the first attempt', () => receiver.received[0]);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    receiver.answer((_req, res) => res.writeHead(200).end('ok'));
    const second = await startCompiledServer(dir, { ...env, PORT: String(first.port) });
    try {
      const again = await until('the redelivery', () => receiver.received[1]);
      expect(again.headers['webhook-id']).toBe(inFlight.headers['webhook-id']);
      const event = new Webhook(endpoint.body.secret).verify(again.body, again.headers) as { type: string; data: { title: string } };
      expect(event).toMatchObject({ type: 'post.created', data: { title: 'survives a crash' } });
      const log = await httpClient(second.url).call('GET', `/api/webhooks/endpoints/${endpoint.body.id}/deliveries`, { token: pat });
      expect(log.body.data[0]).toMatchObject({ status: 'succeeded', attempts: 1, last_status_code: 200 });
    } finally {
      await second.stop();
    }
  } finally {
    await receiver.close();
  }
}, 60_000);
