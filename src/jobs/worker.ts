import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { addSeconds, Clock, iso } from '../core/clock';
import type { Contract } from '../contract/spec';
import type { Repositories } from '../db/repositories';
import type { RunRecord, WorkspaceRecord } from '../db/repositories/workspaces.repository';
import type { WebhooksService } from '../services/webhooks.service';
import { boundScopes } from '../services/workspaces.service';

export interface ExecutorInput {
  run: RunRecord;
  workspace: WorkspaceRecord;
  /** What the run may do: its workspace's bound token, as of now. */
  scopes: readonly string[];
}

/** Executes one run; throw to fail it. Pluggable: the default records a deterministic summary. */
export type Executor = (input: ExecutorInput) => Promise<{ summary: string }>;

export const recordingExecutor: Executor = async ({ run, scopes }) => {
  const digest = createHash('sha256').update(run.prompt).digest('hex').slice(0, 12);
  const overrides = Object.keys(run.overrides).sort();
  return {
    summary: `Ran a ${run.prompt.length}-character prompt (sha256 ${digest}) with ${scopes.length} scopes${overrides.length ? ` and overrides ${overrides.join(', ')}` : ''}.`,
  };
};

export interface WorkerOptions {
  workerId?: string;
  leaseSeconds: number;
  pollMs: number;
  maxAttempts: number;
}

/**
 * Claims queued runs one at a time (never the same run as another worker), executes them and records
 * the outcome, with its run.succeeded / run.failed webhook event, in one transaction. Runs left CLAIMED
 * or RUNNING by a worker that died are put back in the queue when their lease ends.
 */
export function createWorker(deps: {
  repos: Repositories; contract: Contract; clock: Clock; log: Logger; webhooks: Pick<WebhooksService, 'emit'>;
  executor?: Executor; options: WorkerOptions;
  /** Fires due SCHEDULE rules before each pass (once per due time across workers). */
  schedules?: { fireDueSchedules(): Promise<number> };
}) {
  const { repos, contract, clock, log, webhooks, options } = deps;
  const executor = deps.executor ?? recordingExecutor;
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function finish(run: RunRecord, outcome: { status: 'SUCCEEDED' | 'FAILED'; summary?: string; error?: string }) {
    const now = iso(clock());
    await repos.transaction(async (tx) => {
      const done = await tx.workspaces.advance(run.id, workerId, ['RUNNING'], {
        status: outcome.status, result_summary: outcome.summary ?? null, error: outcome.error ?? null, finished_at: now, lease_until: null, updated_at: now,
      });
      // Canceled (or taken back after a lapsed lease) while it ran: the outcome is dropped.
      if (!done) return;
      await webhooks.emit(tx, run.userId, outcome.status === 'SUCCEEDED' ? 'run.succeeded' : 'run.failed', {
        id: run.id, workspace_id: run.workspaceId, trigger: run.trigger, summary: outcome.summary ?? null, error: outcome.error ?? null,
      });
    });
  }

  async function execute(run: RunRecord): Promise<void> {
    const now = clock();
    const workspace = await repos.workspaces.byId(run.workspaceId);
    const scopes = workspace ? await boundScopes(repos, contract, workspace, iso(now)) : undefined;
    const started = await repos.workspaces.advance(run.id, workerId, ['CLAIMED'], {
      status: 'RUNNING', started_at: iso(now), effective_scopes: scopes ? JSON.stringify(scopes) : null,
      acting_token_id: scopes ? workspace!.boundTokenId : null,
      lease_until: iso(addSeconds(now, options.leaseSeconds)), updated_at: iso(now),
    });
    if (!started) return;
    if (!workspace || !scopes) {
      await finish(run, { status: 'FAILED', error: 'The workspace has no usable token: it was unbound, revoked or expired.' });
      return;
    }
    try {
      const { summary } = await executor({ run, workspace, scopes });
      await finish(run, { status: 'SUCCEEDED', summary });
    } catch (err) {
      await finish(run, { status: 'FAILED', error: (err as Error).message });
    }
  }

  /** Recovers expired leases, then claims and executes queued runs until none is left (or `limit`). */
  async function runOnce(limit = 50): Promise<number> {
    await deps.schedules?.fireDueSchedules();
    const now = clock();
    const recovered = await repos.workspaces.recoverExpired(iso(now), options.maxAttempts);
    if (recovered.requeued || recovered.failed) log.warn({ worker_id: workerId, ...recovered }, 'recovered runs from a worker that stopped');
    let done = 0;
    while (done < limit) {
      const at = clock();
      const run = await repos.workspaces.claimNext(workerId, iso(at), iso(addSeconds(at, options.leaseSeconds)));
      if (!run) break;
      done += 1;
      try {
        await execute(run);
      } catch (err) {
        log.error({ worker_id: workerId, run_id: run.id, err: (err as Error).message }, 'run failed unexpectedly; its lease will lapse and it will be retried');
      }
    }
    return done;
  }

  return {
    workerId,
    runOnce,
    start(): void {
      timer ??= setInterval(() => {
        if (running) return;
        running = runOnce().catch((err: Error) => {
          log.warn({ worker_id: workerId, err: err.message }, 'worker pass failed');
          return 0;
        }).finally(() => {
          running = undefined;
        });
      }, options.pollMs);
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type Worker = ReturnType<typeof createWorker>;
