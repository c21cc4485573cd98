import type { Config } from '../core/config';
import { ApiError } from '../core/errors';
import type { Repositories } from '../db/repositories';

export type Caps = Config['caps'];
/** The caps on what a user holds (the test-send rate is checked by the webhooks service). */
type HeldCap = Exclude<keyof Caps, 'testSendsPerMinute'>;

/** How long a caller whose run queue is full waits before trying again: runs drain in about this time. */
const QUEUE_RETRY_SECONDS = 60;

const COUNTS = {
  workspaces: (tx: Repositories, userId: string) => tx.workspaces.countForUser(userId),
  rules: (tx: Repositories, userId: string) => tx.rules.countForUser(userId),
  queuedRuns: (tx: Repositories, userId: string) => tx.workspaces.countQueuedRuns(userId),
  webhookEndpoints: (tx: Repositories, userId: string) => tx.webhooks.countEndpoints(userId),
} as const;

const WORDS: Record<HeldCap, string> = { workspaces: 'workspaces', rules: 'rules', queuedRuns: 'queued runs', webhookEndpoints: 'webhook endpoints' };

/**
 * Whether one more `cap` item fits under the user's cap. Call it inside the transaction that then
 * writes the item: it takes the user's row lock first, so concurrent creates of one user take turns
 * and the cap holds exactly.
 */
export async function fits(tx: Repositories, caps: Caps, cap: HeldCap, userId: string): Promise<boolean> {
  await tx.users.lockForUpdate(userId);
  return (await COUNTS[cap](tx, userId)) < caps[cap];
}

/** Refuses with the error that names the cap: 409 for what the user holds, 429 for a full run queue. */
export async function assertFits(tx: Repositories, caps: Caps, cap: HeldCap, userId: string): Promise<void> {
  if (await fits(tx, caps, cap, userId)) return;
  const details = { cap, limit: caps[cap] };
  if (cap === 'queuedRuns') {
    throw new ApiError('run_queue_full', `You have ${caps[cap]} runs queued, the most allowed; wait for some to finish.`, { ...details, retry_after_seconds: QUEUE_RETRY_SECONDS }, { 'Retry-After': String(QUEUE_RETRY_SECONDS) });
  }
  throw new ApiError('limit_reached', `An account may hold ${caps[cap]} ${WORDS[cap]}; delete one first.`, details);
}
