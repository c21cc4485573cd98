import type { Knex } from 'knex';
import { columnsOf } from '../columns';
import { countOf, NEWEST_FIRST, Page, pageOf, Window } from '../page';

export interface WorkspaceRecord {
  id: string;
  userId: string;
  name: string;
  description: string;
  defaultPrompt: string;
  boundTokenId: string | null;
  /** The owner lets callers with less than the bound token's grant queue runs (a delegation). */
  delegable: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Who queued a run: a credential (its kind and the user or token id) or one of the owner's rules. */
export interface RunTrigger {
  kind: 'session' | 'jwt' | 'pat' | 'schedule' | 'hook' | 'purchase';
  id: string;
}

export type RunStatus = 'QUEUED' | 'CLAIMED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
export const FINISHED: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];

export interface RunRecord {
  id: string;
  workspaceId: string;
  userId: string;
  status: RunStatus;
  trigger: string;
  prompt: string;
  overrides: Record<string, unknown>;
  attempts: number;
  claimedBy: string | null;
  effectiveScopes: string[] | null;
  resultSummary: string | null;
  error: string | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  /** Null for runs queued before this was recorded. */
  triggeredBy: RunTrigger | null;
  /** The token whose grant the run acted with, set when it starts. */
  actingTokenId: string | null;
}

function toWorkspace(row: Record<string, any>): WorkspaceRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    description: row.description,
    defaultPrompt: row.default_prompt,
    boundTokenId: row.bound_token_id ?? null,
    delegable: Boolean(row.delegable),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toRun(row: Record<string, any>): RunRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    userId: row.user_id,
    status: row.status,
    trigger: row.trigger,
    prompt: row.prompt,
    overrides: JSON.parse(row.overrides),
    attempts: Number(row.attempts),
    claimedBy: row.claimed_by ?? null,
    effectiveScopes: row.effective_scopes ? JSON.parse(row.effective_scopes) : null,
    resultSummary: row.result_summary ?? null,
    error: row.error ?? null,
    queuedAt: row.queued_at,
    startedAt: row.started_at ?? null,
    finishedAt: row.finished_at ?? null,
    updatedAt: row.updated_at,
    triggeredBy: row.triggered_by_kind ? { kind: row.triggered_by_kind, id: row.triggered_by_id } : null,
    actingTokenId: row.acting_token_id ?? null,
  };
}

export function workspacesRepository(db: Knex, dialect: 'sqlite' | 'postgres') {
  return {
    async insert(w: WorkspaceRecord): Promise<void> {
      await db('workspaces').insert({
        id: w.id, user_id: w.userId, name: w.name, description: w.description, default_prompt: w.defaultPrompt,
        bound_token_id: w.boundTokenId, created_at: w.createdAt, updated_at: w.updatedAt,
      });
    },
    async find(userId: string, id: string): Promise<WorkspaceRecord | undefined> {
      const row = await db('workspaces').where({ id, user_id: userId }).first();
      return row ? toWorkspace(row) : undefined;
    },
    /**
     * Inside a transaction: the owner's workspace, held until the transaction ends, so it cannot be
     * deleted while a session, run or rule is written under it (a deletion first makes this undefined,
     * a 404; one after waits). On SQLite a no-op write takes the database's write lock, as
     * users.lockForUpdate does.
     */
    async findForUpdate(userId: string, id: string): Promise<WorkspaceRecord | undefined> {
      if (dialect === 'postgres') {
        const { rows } = await db.raw('SELECT * FROM workspaces WHERE id = ? AND user_id = ? FOR UPDATE', [id, userId]);
        return rows[0] ? toWorkspace(rows[0]) : undefined;
      }
      await db.raw('UPDATE workspaces SET id = id WHERE id = ? AND user_id = ?', [id, userId]);
      const row = await db('workspaces').where({ id, user_id: userId }).first();
      return row ? toWorkspace(row) : undefined;
    },
    async byId(id: string): Promise<WorkspaceRecord | undefined> {
      const row = await db('workspaces').where({ id }).first();
      return row ? toWorkspace(row) : undefined;
    },
    list(userId: string, window: Window): Promise<Page<WorkspaceRecord>> {
      return pageOf(() => db('workspaces').where({ user_id: userId }), ['*'], NEWEST_FIRST, window, toWorkspace);
    },
    async update(userId: string, id: string, patch: Partial<Pick<WorkspaceRecord, 'name' | 'description' | 'defaultPrompt' | 'boundTokenId' | 'delegable'>>, now: string): Promise<boolean> {
      const columns: Record<string, unknown> = { updated_at: now };
      if (patch.name !== undefined) columns.name = patch.name;
      if (patch.description !== undefined) columns.description = patch.description;
      if (patch.defaultPrompt !== undefined) columns.default_prompt = patch.defaultPrompt;
      if (patch.boundTokenId !== undefined) columns.bound_token_id = patch.boundTokenId;
      if (patch.delegable !== undefined) columns.delegable = patch.delegable;
      return (await db('workspaces').where({ id, user_id: userId }).update(columns)) > 0;
    },
    async delete(userId: string, id: string): Promise<boolean> {
      return (await db('workspaces').where({ id, user_id: userId }).delete()) > 0;
    },

    async countForUser(userId: string): Promise<number> {
      return countOf(db('workspaces').where({ user_id: userId }));
    },
    async countQueuedRuns(userId: string): Promise<number> {
      return countOf(db('workspace_runs').where({ user_id: userId, status: 'QUEUED' }));
    },
    async insertRun(run: RunRecord): Promise<void> {
      await db('workspace_runs').insert({
        id: run.id, workspace_id: run.workspaceId, user_id: run.userId, status: run.status, trigger: run.trigger,
        prompt: run.prompt, overrides: JSON.stringify(run.overrides), attempts: run.attempts, queued_at: run.queuedAt, updated_at: run.updatedAt,
        triggered_by_kind: run.triggeredBy?.kind ?? null, triggered_by_id: run.triggeredBy?.id ?? null,
      });
    },
    async findRun(userId: string, workspaceId: string, id: string): Promise<RunRecord | undefined> {
      const row = await db('workspace_runs').where({ id, workspace_id: workspaceId, user_id: userId }).first();
      return row ? toRun(row) : undefined;
    },
    listRuns(userId: string, workspaceId: string, filter: { status?: string; trigger?: string }, window: Window): Promise<Page<RunRecord>> {
      const filtered = () => {
        const q = db('workspace_runs').where({ workspace_id: workspaceId, user_id: userId });
        if (filter.status) q.andWhere({ status: filter.status });
        if (filter.trigger) q.andWhere({ trigger: filter.trigger });
        return q;
      };
      const order = [{ column: 'queued_at', order: 'desc' as const }, { column: 'id', order: 'desc' as const }];
      return pageOf(filtered, ['*'], order, window, toRun);
    },
    /** Cancels a run that has not finished; false when it already had. */
    async cancel(userId: string, workspaceId: string, id: string, now: string): Promise<boolean> {
      const changed = await db('workspace_runs').where({ id, workspace_id: workspaceId, user_id: userId })
        .whereNotIn('status', FINISHED as RunStatus[])
        .update({ status: 'CANCELED', finished_at: now, lease_until: null, updated_at: now });
      return changed > 0;
    },

    /**
     * Claims the oldest queued run for one worker in a single statement. PostgreSQL skips rows another
     * transaction has locked (FOR UPDATE SKIP LOCKED); SQLite runs one writer at a time, so the
     * sub-select and the update cannot interleave with another worker's.
     */
    /**
     * Claims the next queued run, fairly: from the user served longest ago (by their latest run that
     * left the queue; never served comes first), then the oldest of that user's runs. One user's flood
     * of queued runs so takes turns with everyone else's instead of running ahead of them.
     */
    async claimNext(workerId: string, now: string, leaseUntil: string): Promise<RunRecord | undefined> {
      const lock = dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : '';
      const result = await db.raw(
        `UPDATE workspace_runs SET status = 'CLAIMED', claimed_by = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
         WHERE id = (
           SELECT q.id FROM workspace_runs q WHERE q.status = 'QUEUED'
           ORDER BY COALESCE((SELECT MAX(served.updated_at) FROM workspace_runs served WHERE served.user_id = q.user_id AND served.status <> 'QUEUED'), ''),
                    q.queued_at, q.id
           LIMIT 1 ${lock})
         RETURNING *`,
        [workerId, leaseUntil, now],
      );
      const rows = dialect === 'postgres' ? result.rows : result;
      return rows?.[0] ? toRun(rows[0]) : undefined;
    },
    /** Moves a claimed run on; false when it was canceled (or reclaimed) meanwhile. */
    async advance(id: string, workerId: string, from: RunStatus[], changes: Record<string, unknown>): Promise<boolean> {
      const changed = await db('workspace_runs').where({ id, claimed_by: workerId }).whereIn('status', from).update(changes);
      return changed > 0;
    },
    /** Runs whose worker died: back to the queue, or failed once they have had their attempts. */
    async recoverExpired(now: string, maxAttempts: number): Promise<{ requeued: number; failed: number }> {
      const expired = () => db('workspace_runs').whereIn('status', ['CLAIMED', 'RUNNING']).andWhere('lease_until', '<', now);
      const failed = await expired().andWhere('attempts', '>=', maxAttempts)
        .update({ status: 'FAILED', error: 'The worker stopped answering and the run used up its attempts.', finished_at: now, lease_until: null, updated_at: now });
      const requeued = await expired().update({ status: 'QUEUED', claimed_by: null, lease_until: null, updated_at: now });
      return { requeued, failed };
    },
  };
}

export type RuleTrigger = 'SCHEDULE' | 'WEBHOOK_EVENT' | 'PURCHASE_SUCCEEDED';

export interface RuleRecord {
  id: string;
  workspaceId: string;
  userId: string;
  name: string;
  trigger: RuleTrigger;
  cron: string | null;
  timezone: string | null;
  promptTemplate: string;
  cooldownSeconds: number;
  enabled: boolean;
  hookTokenHash: string | null;
  hookSecretSealed: string | null;
  /** Until when the hook also accepts the retired x-gpx-webhook-secret scheme (an opt-in); null: never. */
  legacySignatureUntil: string | null;
  nextFireAt: string | null;
  lastFiredAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type RulePatch = Partial<Pick<RuleRecord, 'name' | 'cron' | 'timezone' | 'promptTemplate' | 'cooldownSeconds' | 'enabled' | 'nextFireAt' | 'legacySignatureUntil'>>;

const RULE_COLUMNS: Record<string, string> = {
  name: 'name', cron: 'cron', timezone: 'timezone', promptTemplate: 'prompt_template', cooldownSeconds: 'cooldown_seconds',
  enabled: 'enabled', nextFireAt: 'next_fire_at', lastFiredAt: 'last_fired_at', hookTokenHash: 'hook_token_hash', hookSecretSealed: 'hook_secret_sealed',
  legacySignatureUntil: 'legacy_signature_until',
};

const ruleColumns = (patch: object) => columnsOf(patch, RULE_COLUMNS);

function toRule(row: Record<string, any>): RuleRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    userId: row.user_id,
    name: row.name,
    trigger: row.trigger,
    cron: row.cron ?? null,
    timezone: row.timezone ?? null,
    promptTemplate: row.prompt_template,
    cooldownSeconds: Number(row.cooldown_seconds),
    enabled: Boolean(row.enabled),
    hookTokenHash: row.hook_token_hash ?? null,
    hookSecretSealed: row.hook_secret_sealed ?? null,
    legacySignatureUntil: row.legacy_signature_until ?? null,
    nextFireAt: row.next_fire_at ?? null,
    lastFiredAt: row.last_fired_at ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function rulesRepository(db: Knex) {
  return {
    async countForUser(userId: string): Promise<number> {
      return countOf(db('workspace_rules').where({ user_id: userId }));
    },
    async insert(rule: RuleRecord): Promise<void> {
      await db('workspace_rules').insert({
        id: rule.id, workspace_id: rule.workspaceId, user_id: rule.userId, trigger: rule.trigger,
        created_at: rule.createdAt, updated_at: rule.updatedAt, ...ruleColumns(rule),
      });
    },
    async find(userId: string, workspaceId: string, id: string): Promise<RuleRecord | undefined> {
      const row = await db('workspace_rules').where({ id, workspace_id: workspaceId, user_id: userId }).first();
      return row ? toRule(row) : undefined;
    },
    async byHookTokenHash(hash: string): Promise<RuleRecord | undefined> {
      const row = await db('workspace_rules').where({ hook_token_hash: hash }).first();
      return row ? toRule(row) : undefined;
    },
    list(userId: string, workspaceId: string, window: Window): Promise<Page<RuleRecord>> {
      return pageOf(() => db('workspace_rules').where({ workspace_id: workspaceId, user_id: userId }), ['*'], NEWEST_FIRST, window, toRule);
    },
    async update(userId: string, workspaceId: string, id: string, patch: RulePatch, now: string): Promise<boolean> {
      return (await db('workspace_rules').where({ id, workspace_id: workspaceId, user_id: userId }).update({ ...ruleColumns(patch), updated_at: now })) > 0;
    },
    async delete(userId: string, workspaceId: string, id: string): Promise<boolean> {
      return (await db('workspace_rules').where({ id, workspace_id: workspaceId, user_id: userId }).delete()) > 0;
    },
    async enabledByTrigger(userId: string, trigger: RuleTrigger): Promise<RuleRecord[]> {
      return (await db('workspace_rules').where({ user_id: userId, trigger, enabled: true })).map(toRule);
    },
    async dueSchedules(now: string, limit: number): Promise<RuleRecord[]> {
      const rows = await db('workspace_rules').where({ trigger: 'SCHEDULE', enabled: true }).andWhere('next_fire_at', '<=', now).orderBy('next_fire_at').limit(limit);
      return rows.map(toRule);
    },
    /**
     * Moves a rule from one due time to the next; only the caller that moves it fires it, so two
     * workers fire a schedule once per due time.
     */
    async takeFiring(id: string, dueAt: string, nextFireAt: string | null, firedAt: string | null, now: string): Promise<boolean> {
      const changes: Record<string, unknown> = { next_fire_at: nextFireAt, updated_at: now };
      if (firedAt) changes.last_fired_at = firedAt;
      return (await db('workspace_rules').where({ id, next_fire_at: dueAt }).update(changes)) > 0;
    },
    /** Records a webhook firing if the cooldown allows: false when another firing is too recent. */
    async takeCooldown(id: string, cooldownStartsBefore: string, now: string): Promise<boolean> {
      const changed = await db('workspace_rules').where({ id })
        .andWhere((q) => q.whereNull('last_fired_at').orWhere('last_fired_at', '<=', cooldownStartsBefore))
        .update({ last_fired_at: now, updated_at: now });
      return changed > 0;
    },
    /** Accepts a signature once; false when it was seen before (a replay). */
    async rememberSignature(ruleId: string, signature: string, now: string, forgetBefore: string): Promise<boolean> {
      await db('workspace_hook_signatures').where('seen_at', '<', forgetBefore).delete();
      const inserted = await db('workspace_hook_signatures').insert({ rule_id: ruleId, signature, seen_at: now })
        .onConflict(['rule_id', 'signature']).ignore().returning('signature');
      return inserted.length === 1;
    },
  };
}

export interface WorkspaceSessionRecord {
  id: string;
  workspaceId: string;
  userId: string;
  status: 'open' | 'closed';
  creditsCharged: number;
  startedAt: string;
  closedAt: string | null;
}

function toSession(row: Record<string, any>): WorkspaceSessionRecord {
  return {
    id: row.id, workspaceId: row.workspace_id, userId: row.user_id, status: row.status, creditsCharged: Number(row.credits_charged),
    startedAt: row.started_at, closedAt: row.closed_at ?? null,
  };
}

export function workspaceSessionsRepository(db: Knex) {
  const count = (where: Record<string, unknown>) => countOf(db('workspace_sessions').where(where));
  return {
    openForUser: (userId: string) => count({ user_id: userId, status: 'open' }),
    openEverywhere: () => count({ status: 'open' }),
    async insert(session: WorkspaceSessionRecord): Promise<void> {
      await db('workspace_sessions').insert({
        id: session.id, workspace_id: session.workspaceId, user_id: session.userId, status: session.status,
        credits_charged: session.creditsCharged, started_at: session.startedAt,
      });
    },
    async find(userId: string, workspaceId: string, id: string): Promise<WorkspaceSessionRecord | undefined> {
      const row = await db('workspace_sessions').where({ id, workspace_id: workspaceId, user_id: userId }).first();
      return row ? toSession(row) : undefined;
    },
    list(userId: string, workspaceId: string, status: string | undefined, window: Window): Promise<Page<WorkspaceSessionRecord>> {
      const filtered = () => {
        const q = db('workspace_sessions').where({ workspace_id: workspaceId, user_id: userId });
        if (status) q.andWhere({ status });
        return q;
      };
      return pageOf(filtered, ['*'], [{ column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }], window, toSession);
    },
    async close(id: string, now: string): Promise<boolean> {
      return (await db('workspace_sessions').where({ id, status: 'open' }).update({ status: 'closed', closed_at: now })) > 0;
    },
    async openIds(userId: string, workspaceId: string): Promise<string[]> {
      return (await db('workspace_sessions').where({ user_id: userId, workspace_id: workspaceId, status: 'open' }).select('id')).map((r: { id: string }) => r.id);
    },
  };
}
