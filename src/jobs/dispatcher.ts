import type { Logger } from 'pino';
import { addSeconds, Clock, iso } from '../core/clock';
import type { Repositories } from '../db/repositories';
import type { WebhooksService } from '../services/webhooks.service';
import type { Sender } from '../webhooks/sender';
import { signatureHeader } from '../webhooks/signature';

export interface DispatcherOptions {
  maxAttempts: number;
  /** Consecutive failed attempts after which an endpoint is switched off. */
  disableAfterFailures: number;
  retryBaseSeconds: number;
  leaseSeconds: number;
  pollMs: number;
  /** Deliveries this process sends at once (`WEBHOOK_CONCURRENCY`). */
  concurrency: number;
  /** 0..1 → the jitter factor; injectable so the retry schedule can be tested exactly. */
  random?: () => number;
}

const MAX_DELAY_SECONDS = 6 * 3600;

/** Exponential backoff with ±25 % jitter; a longer Retry-After from the receiver wins (capped at a day). */
export function retryDelaySeconds(attempt: number, base: number, random: () => number, retryAfter: number | null): number {
  const exponential = Math.min(base * 2 ** (attempt - 1), MAX_DELAY_SECONDS);
  const jittered = Math.round(exponential * (0.75 + random() * 0.5));
  return Math.min(Math.max(jittered, retryAfter ?? 0), 24 * 3600);
}

/**
 * Delivers due webhook deliveries at least once. A delivery is leased before it is sent, so two
 * dispatchers (or two instances) never send it at the same time, and one killed mid-send lets the lease
 * lapse so another sends it again with the same webhook-id.
 */
export function createDispatcher(deps: {
  repos: Repositories; webhooks: WebhooksService; send: Sender; clock: Clock; log: Logger; options: DispatcherOptions;
}) {
  const { repos, webhooks, send, clock, log, options } = deps;
  const random = options.random ?? Math.random;
  let timer: NodeJS.Timeout | undefined;
  /** The delivery being sent to each endpoint by this process: at most one per endpoint. */
  const inFlight = new Map<string, Promise<void>>();
  let filling: Promise<number> | undefined;

  async function deliver(id: string): Promise<void> {
    const found = await repos.webhooks.toSend(id);
    if (!found) return;
    const { delivery, endpoint, payload } = found;

    const timestamp = Math.floor(clock().getTime() / 1000);
    const headers = {
      'webhook-id': delivery.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(webhooks.signingSecrets(endpoint), delivery.eventId, timestamp, payload),
    };
    const result = await send(endpoint.url, headers, payload);
    const now = clock();
    const attempts = delivery.attempts + 1;
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const gone = result.statusCode === 410;
    const error = ok ? null : result.error ?? describeStatus(result.statusCode);
    const exhausted = attempts >= options.maxAttempts;
    const status = ok ? 'succeeded' : gone || exhausted ? 'failed' : 'pending';
    const nextAttemptAt = status === 'pending'
      ? iso(addSeconds(now, retryDelaySeconds(attempts, options.retryBaseSeconds, random, result.statusCode === 429 || (result.statusCode ?? 0) >= 500 ? result.retryAfterSeconds : null)))
      : iso(now);

    await repos.transaction(async (tx) => {
      await tx.webhooks.recordAttempt(id, {
        status, attempts, nextAttemptAt, statusCode: result.statusCode, durationMs: result.durationMs,
        error, deliveredAt: ok ? iso(now) : null, now: iso(now),
      });
      if (ok) {
        await tx.webhooks.updateEndpoint(endpoint.userId, endpoint.id, { consecutiveFailures: 0 }, iso(now));
        return;
      }
      const failures = endpoint.consecutiveFailures + 1;
      const disabledReason = gone
        ? 'The endpoint answered 410 Gone.'
        : failures >= options.disableAfterFailures ? `Switched off after ${failures} consecutive failed attempts; last: ${error}` : null;
      await tx.webhooks.updateEndpoint(endpoint.userId, endpoint.id, {
        consecutiveFailures: failures,
        lastError: error,
        lastErrorAt: iso(now),
        ...(disabledReason ? { enabled: false, disabledReason } : {}),
      }, iso(now));
    });
    log.info({ delivery_id: id, event_id: delivery.eventId, endpoint_id: endpoint.id, status, attempts, http_status: result.statusCode, duration_ms: result.durationMs, ...(result.detail ? { refused: result.detail } : {}) }, 'webhook delivery');
  }

  /**
   * The next deliveries to send, at most `max`, chosen fairly: the earliest due one of each endpoint
   * that no one is sending to (not this process, and, by its live lease, no other instance either), so
   * an endpoint gets its events one at a time and in order; then one per user in turn, so one user's
   * flood of due deliveries cannot take every slot. Each is leased before it is returned.
   */
  async function pick(max: number): Promise<Array<{ id: string; endpointId: string }>> {
    if (max <= 0) return [];
    const now = clock();
    const due = await repos.webhooks.dueDeliveries(iso(now), Math.max(200, max * 10));
    const firstOfEndpoint = new Map<string, (typeof due)[number]>();
    for (const d of due) if (!inFlight.has(d.endpointId) && !firstOfEndpoint.has(d.endpointId)) firstOfEndpoint.set(d.endpointId, d);
    const byUser = new Map<string, Array<(typeof due)[number]>>();
    for (const d of firstOfEndpoint.values()) {
      const queue = byUser.get(d.userId);
      if (queue) queue.push(d);
      else byUser.set(d.userId, [d]);
    }
    const chosen: Array<{ id: string; endpointId: string }> = [];
    const queues = [...byUser.values()];
    while (chosen.length < max && queues.some((q) => q.length > 0)) {
      for (const queue of queues) {
        const next = queue.shift();
        if (next && chosen.length < max && (await repos.webhooks.lease(next.id, iso(now), iso(addSeconds(now, options.leaseSeconds))))) {
          chosen.push({ id: next.id, endpointId: next.endpointId });
        }
      }
    }
    return chosen;
  }

  function start(delivery: { id: string; endpointId: string }): Promise<void> {
    const done = deliver(delivery.id)
      .catch((err: Error) => log.error({ delivery_id: delivery.id, err: err.message }, 'webhook delivery failed unexpectedly; the lease will lapse and it will be retried'))
      .finally(() => inFlight.delete(delivery.endpointId));
    inFlight.set(delivery.endpointId, done);
    return done;
  }

  /** Fills the free slots with due deliveries and returns at once; a slow endpoint holds only its slot. */
  function fill(): Promise<number> {
    filling ??= pick(options.concurrency - inFlight.size)
      .then((batch) => {
        for (const delivery of batch) void start(delivery);
        return batch.length;
      })
      .finally(() => {
        filling = undefined;
      });
    return filling;
  }

  /**
   * Sends everything due now, up to `limit` attempts, `concurrency` at a time (one per endpoint, in
   * order), and waits for it: what tests and one-off passes use. Returns how many were attempted.
   */
  async function runOnce(limit = 50): Promise<number> {
    let attempted = 0;
    while (attempted < limit) {
      const batch = await pick(Math.min(options.concurrency - inFlight.size, limit - attempted));
      if (batch.length === 0) {
        if (inFlight.size === 0) break;
        await Promise.race(inFlight.values());
        continue;
      }
      attempted += batch.length;
      await Promise.all(batch.map(start));
    }
    return attempted;
  }

  function tick(): void {
    fill().catch((err: Error) => log.warn({ err: err.message }, 'webhook dispatcher pass failed'));
  }

  return {
    runOnce,
    start(): void {
      timer ??= setInterval(tick, options.pollMs);
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await filling?.catch(() => 0);
      await Promise.all(inFlight.values());
    },
  };
}

function describeStatus(status: number | null): string {
  if (status === null) return 'No answer.';
  if (status >= 300 && status < 400) return `Answered ${status}; redirects are not followed.`;
  return `Answered ${status}.`;
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
