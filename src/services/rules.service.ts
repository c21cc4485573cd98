import type { Window } from '../db/page';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { addSeconds, Clock, iso } from '../core/clock';
import { seal, unseal } from '../auth/seal';
import type { Keyring } from '../core/keyring';
import { hashToken } from '../auth/token-format';
import { newId, randomBase62 } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { RuleRecord, RuleTrigger, RunRecord } from '../db/repositories/workspaces.repository';
import { ApiError, fail, notFound } from '../core/errors';
import { assertFits, Caps, fits } from './caps';

export const HOOK_TOKEN_PREFIX = 'gpx_hook_';
export const HOOK_SECRET_PREFIX = 'gpx_hks_';
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface RuleInput {
  name?: string;
  trigger?: RuleTrigger;
  cron?: string;
  timezone?: string;
  promptTemplate?: string;
  cooldownSeconds?: number;
  enabled?: boolean;
}

function checkedTimezone(timezone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return timezone;
  } catch {
    throw fail('invalid_timezone', `"${timezone}" is not an IANA time zone (e.g. Europe/Berlin).`);
  }
}

/** The next time a cron expression fires after `after`, in its time zone (cron-parser does the calendar). */
export function nextFire(cron: string, timezone: string, after: Date): string {
  try {
    return CronExpressionParser.parse(cron, { currentDate: after, tz: timezone }).next().toDate().toISOString();
  } catch (err) {
    throw fail('invalid_cron', `"${cron}" is not a valid cron expression: ${(err as Error).message}`);
  }
}

/** The shortest time between two runs of a schedule. */
export const MIN_SCHEDULE_INTERVAL_SECONDS = 60;

/**
 * A SCHEDULE's cron, checked when it is set (enabled or not): exactly five fields (minute hour day month
 * weekday; cron-parser would also take a sixth, seconds field, and fire every second), valid in its time
 * zone, and never more often than once a minute. Returns the next fire time; the error names the rule.
 */
export function checkedSchedule(ruleName: string, cron: string, timezone: string, now: Date): string {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw fail('invalid_cron', `Rule "${ruleName}": "${cron}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; a schedule takes exactly five (minute hour day month weekday).`);
  }
  let fires: Date[];
  try {
    const schedule = CronExpressionParser.parse(cron, { currentDate: now, tz: timezone });
    fires = [schedule.next().toDate(), schedule.next().toDate(), schedule.next().toDate()];
  } catch (err) {
    throw fail('invalid_cron', `Rule "${ruleName}": "${cron}" is not a valid cron expression: ${(err as Error).message}`);
  }
  if (fires.some((at, i) => i > 0 && at.getTime() - fires[i - 1]!.getTime() < MIN_SCHEDULE_INTERVAL_SECONDS * 1000)) {
    throw fail('invalid_cron', `Rule "${ruleName}": "${cron}" fires more often than once a minute, the most a schedule may.`);
  }
  return fires[0]!.toISOString();
}

/** `{{fired_at}}`, `{{trigger}}` and `{{event}}` (the inbound payload, as JSON) in a prompt template. */
function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}

function unauthorized(message: string): ApiError {
  return new ApiError('invalid_signature', message, undefined, { 'WWW-Authenticate': 'GPX-Signature realm="getpaidx"' });
}

/**
 * Rules queue runs by themselves: a SCHEDULE (cron + time zone) fired once per due time even with
 * several workers, a WEBHOOK_EVENT from a signed inbound request, a PURCHASE_SUCCEEDED from billing.
 * A cooldown keeps a rule from firing again too soon; a disabled rule keeps its settings and never fires.
 */
export function createRulesService(repos: Repositories, clock: Clock, dataKeys: Keyring, publicUrl: string, caps: Caps) {
  async function get(userId: string, workspaceId: string, id: string): Promise<RuleRecord> {
    const rule = await repos.rules.find(userId, workspaceId, id);
    if (!rule) throw notFound('Rule');
    return rule;
  }

  async function ownWorkspace(userId: string, workspaceId: string) {
    if (!(await repos.workspaces.find(userId, workspaceId))) throw notFound('Workspace');
  }

  function queued(rule: RuleRecord, trigger: RuleTrigger, prompt: string, at: string): RunRecord {
    return {
      id: newId('run'), workspaceId: rule.workspaceId, userId: rule.userId, status: 'QUEUED', trigger, prompt, overrides: {},
      attempts: 0, claimedBy: null, effectiveScopes: null, resultSummary: null, error: null, queuedAt: at, startedAt: null,
      finishedAt: null, updatedAt: at,
    };
  }

  return {
    get,
    async list(userId: string, workspaceId: string, window: Window) {
      await ownWorkspace(userId, workspaceId);
      return repos.rules.list(userId, workspaceId, window);
    },
    async create(userId: string, workspaceId: string, input: RuleInput & { name: string; trigger: RuleTrigger; promptTemplate: string }) {
      await ownWorkspace(userId, workspaceId);
      const now = clock();
      const timezone = input.trigger === 'SCHEDULE' ? checkedTimezone(input.timezone ?? 'UTC') : null;
      if (input.trigger === 'SCHEDULE' && !input.cron) throw fail('cron_required', 'A SCHEDULE rule needs a cron expression.');
      const enabled = input.enabled ?? true;
      const firstFire = input.trigger === 'SCHEDULE' ? checkedSchedule(input.name, input.cron!, timezone!, now) : null;
      const hook = input.trigger === 'WEBHOOK_EVENT'
        ? { token: `${HOOK_TOKEN_PREFIX}${randomBase62(32)}`, secret: `${HOOK_SECRET_PREFIX}${randomBase62(40)}` }
        : undefined;
      const rule: RuleRecord = {
        id: newId('rule'), workspaceId, userId, name: input.name, trigger: input.trigger,
        cron: input.trigger === 'SCHEDULE' ? input.cron! : null, timezone,
        promptTemplate: input.promptTemplate, cooldownSeconds: input.cooldownSeconds ?? 0, enabled,
        hookTokenHash: hook ? hashToken(hook.token) : null, hookSecretSealed: hook ? seal(dataKeys, hook.secret) : null,
        nextFireAt: enabled ? firstFire : null,
        lastFiredAt: null, createdAt: iso(now), updatedAt: iso(now),
      };
      await repos.transaction(async (tx) => {
        await assertFits(tx, caps, 'rules', userId);
        await tx.rules.insert(rule);
      });
      return { rule, hook: hook ? { url: `${publicUrl}/api/hooks/${hook.token}`, secret: hook.secret } : undefined };
    },
    async update(userId: string, workspaceId: string, id: string, input: RuleInput): Promise<RuleRecord> {
      const rule = await get(userId, workspaceId, id);
      const cron = input.cron ?? rule.cron;
      const timezone = input.timezone !== undefined ? checkedTimezone(input.timezone) : rule.timezone;
      const enabled = input.enabled ?? rule.enabled;
      // A new cron or time zone is checked even on a disabled rule; turning a rule off never needs one.
      const checks = rule.trigger === 'SCHEDULE' && (input.cron !== undefined || input.timezone !== undefined || enabled);
      const next = checks ? checkedSchedule(input.name ?? rule.name, cron!, timezone ?? 'UTC', clock()) : null;
      const nextFireAt = enabled ? next : null;
      await repos.rules.update(userId, workspaceId, id, {
        name: input.name, promptTemplate: input.promptTemplate, cooldownSeconds: input.cooldownSeconds, enabled,
        ...(rule.trigger === 'SCHEDULE' ? { cron: cron!, timezone: timezone!, nextFireAt } : {}),
      }, iso(clock()));
      return get(userId, workspaceId, id);
    },
    async remove(userId: string, workspaceId: string, id: string): Promise<void> {
      if (!(await repos.rules.delete(userId, workspaceId, id))) throw notFound('Rule');
    },

    /**
     * An inbound trigger: `x-gpx-webhook-secret` must be the rule's secret and `x-gpx-signature`
     * `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` must match, be at most 5 minutes old and
     * never seen before. Nothing is queued unless all of that holds.
     */
    async fireHook(pathToken: string, headers: { secret?: string; signature?: string }, rawBody: Buffer): Promise<RunRecord> {
      const rule = await repos.rules.byHookTokenHash(hashToken(pathToken));
      if (!rule || !rule.hookSecretSealed) throw notFound('Hook');
      const secret = unseal(dataKeys, rule.hookSecretSealed);
      const given = Buffer.from(headers.secret ?? '');
      if (given.length !== secret.length || !timingSafeEqual(given, Buffer.from(secret))) throw unauthorized('The x-gpx-webhook-secret header is missing or wrong.');
      const parts = Object.fromEntries((headers.signature ?? '').split(',').map((p) => p.trim().split('=') as [string, string]));
      const timestamp = Number(parts.t);
      const now = clock();
      if (!Number.isInteger(timestamp) || !parts.v1) throw unauthorized('Send x-gpx-signature: t=<unix seconds>,v1=<hex HMAC-SHA256>.');
      if (Math.abs(now.getTime() / 1000 - timestamp) > SIGNATURE_TOLERANCE_SECONDS) throw unauthorized('The signature timestamp is more than 5 minutes away from now.');
      const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
      const presented = Buffer.from(/^[0-9a-f]{64}$/i.test(parts.v1) ? parts.v1 : '', 'hex');
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw unauthorized('The signature does not match the body.');
      if (!rule.enabled) throw notFound('Hook');
      // One transaction: a replay, or a firing inside the cooldown, leaves no trace at all.
      return repos.transaction(async (tx) => {
        if (!(await tx.rules.rememberSignature(rule.id, parts.v1!.toLowerCase(), iso(now), iso(addSeconds(now, -2 * SIGNATURE_TOLERANCE_SECONDS))))) {
          throw unauthorized('This signature was already used; sign each request afresh.');
        }
        if (!(await tx.rules.takeCooldown(rule.id, iso(addSeconds(now, -rule.cooldownSeconds)), iso(now)))) {
          const wait = Math.max(1, Math.ceil((Date.parse(rule.lastFiredAt ?? iso(now)) + rule.cooldownSeconds * 1000 - now.getTime()) / 1000));
          throw new ApiError('rule_cooldown', `This rule fired less than ${rule.cooldownSeconds} s ago; try again in ${wait} s.`, { retry_after_seconds: wait }, { 'Retry-After': String(wait) });
        }
        await assertFits(tx, caps, 'queuedRuns', rule.userId);
        const run = queued(rule, 'WEBHOOK_EVENT', render(rule.promptTemplate, { event: rawBody.toString('utf8'), trigger: 'WEBHOOK_EVENT', fired_at: iso(now) }), iso(now));
        await tx.workspaces.insertRun(run);
        return run;
      });
    },

    /** Queues a run for each enabled PURCHASE_SUCCEEDED rule of the buyer, in the purchase's transaction. */
    async firePurchase(tx: Repositories, userId: string, purchase: Record<string, unknown>): Promise<number> {
      const now = clock();
      let fired = 0;
      for (const rule of await tx.rules.enabledByTrigger(userId, 'PURCHASE_SUCCEEDED')) {
        // A full run queue skips the rule rather than failing the purchase it reacts to.
        if (!(await fits(tx, caps, 'queuedRuns', userId))) continue;
        if (!(await tx.rules.takeCooldown(rule.id, iso(addSeconds(now, -rule.cooldownSeconds)), iso(now)))) continue;
        await tx.workspaces.insertRun(queued(rule, 'PURCHASE_SUCCEEDED', render(rule.promptTemplate, { event: JSON.stringify(purchase), trigger: 'PURCHASE_SUCCEEDED', fired_at: iso(now) }), iso(now)));
        fired += 1;
      }
      return fired;
    },

    /** Fires every SCHEDULE rule that is due, each once per due time however many workers call this. */
    async fireDueSchedules(): Promise<number> {
      const now = clock();
      let fired = 0;
      for (const rule of await repos.rules.dueSchedules(iso(now), 100)) {
        // A schedule stored before five fields were enforced still never fires more than once a minute.
        const soonest = iso(addSeconds(new Date(rule.nextFireAt!), MIN_SCHEDULE_INTERVAL_SECONDS));
        const next = [nextFire(rule.cron!, rule.timezone ?? 'UTC', now), soonest].sort().at(-1)!;
        const cooling = rule.lastFiredAt !== null && Date.parse(rule.lastFiredAt) + rule.cooldownSeconds * 1000 > now.getTime();
        await repos.transaction(async (tx) => {
          if (!(await tx.rules.takeFiring(rule.id, rule.nextFireAt!, next, cooling ? null : iso(now), iso(now)))) return;
          // Inside the cooldown, or with the user's run queue full, this due time passes without a run.
          if (cooling || !(await fits(tx, caps, 'queuedRuns', rule.userId))) return;
          await tx.workspaces.insertRun(queued(rule, 'SCHEDULE', render(rule.promptTemplate, { trigger: 'SCHEDULE', fired_at: rule.nextFireAt! }), iso(now)));
          fired += 1;
        });
      }
      return fired;
    },
  };
}

export type RulesService = ReturnType<typeof createRulesService>;
