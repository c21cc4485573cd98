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
  let running: Promise<number> | undefined;

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
    log.info({ delivery_id: id, event_id: delivery.eventId, endpoint_id: endpoint.id, status, attempts, http_status: result.statusCode, duration_ms: result.durationMs }, 'webhook delivery');
  }

  /** One pass: lease and send what is due. Returns how many deliveries were attempted. */
  async function runOnce(limit = 20): Promise<number> {
    const now = clock();
    const ids = await repos.webhooks.dueDeliveryIds(iso(now), limit);
    let attempted = 0;
    for (const id of ids) {
      if (!(await repos.webhooks.lease(id, iso(now), iso(addSeconds(now, options.leaseSeconds))))) continue;
      attempted += 1;
      try {
        await deliver(id);
      } catch (err) {
        log.error({ delivery_id: id, err: (err as Error).message }, 'webhook delivery failed unexpectedly; the lease will lapse and it will be retried');
      }
    }
    return attempted;
  }

  function tick(): void {
    if (running) return;
    running = runOnce().catch((err: Error) => {
      log.warn({ err: err.message }, 'webhook dispatcher pass failed');
      return 0;
    }).finally(() => {
      running = undefined;
    });
  }

  return {
    runOnce,
    start(): void {
      timer ??= setInterval(tick, options.pollMs);
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

function describeStatus(status: number | null): string {
  if (status === null) return 'No answer.';
  if (status >= 300 && status < 400) return `Answered ${status}; redirects are not followed.`;
  return `Answered ${status}.`;
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
