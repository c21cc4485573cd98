import type { Window } from '../db/page';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import { addSeconds, Clock, iso } from '../core/clock';
import { seal, unseal } from '../auth/seal';
import type { Keyring } from '../core/keyring';
import { hashToken } from '../auth/token-format';
import { generateSecret, signatureMatches } from '../webhooks/signature';
import { newId, randomBase62 } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { RuleRecord, RuleTrigger, RunRecord } from '../db/repositories/workspaces.repository';
import { ApiError, fail, notFound } from '../core/errors';
import { assertFits, Caps, fits } from './caps';

export const HOOK_TOKEN_PREFIX = 'gpx_hook_';
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export interface RuleInput {
  name?: string;
  trigger?: RuleTrigger;
  cron?: string;
  timezone?: string;
  promptTemplate?: string;
  cooldownSeconds?: number;
  enabled?: boolean;
  /** Opt in to (true) or out of (false) the retired hook signature scheme, 30 days from the first opt-in. */
  legacySignature?: boolean;
}

/** What an inbound hook request presents: Standard Webhooks headers, or the retired scheme's. */
export interface HookRequest {
  webhookId?: string;
  webhookTimestamp?: string;
  webhookSignature?: string;
  legacySecret?: string;
  legacySignature?: string;
}

/** A rule's run is triggered by the owner's rule: which kind, shown on the run. */
const RULE_TRIGGER_KIND = { SCHEDULE: 'schedule', WEBHOOK_EVENT: 'hook', PURCHASE_SUCCEEDED: 'purchase' } as const;

/** How long a rule may keep accepting the retired signature scheme after it opts in. */
export const LEGACY_SIGNATURE_DAYS = 30;
const WEBHOOK_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

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

function assertFresh(timestamp: number, now: Date): void {
  if (Math.abs(now.getTime() / 1000 - timestamp) > SIGNATURE_TOLERANCE_SECONDS) throw unauthorized('The signature timestamp is more than 5 minutes away from now.');
}

/** A Standard Webhooks signature; answers the webhook-id, which may be used once. */
function verifyStandard(secret: string, request: HookRequest, rawBody: Buffer, now: Date): string {
  const id = request.webhookId ?? '';
  const timestamp = Number(request.webhookTimestamp);
  if (!WEBHOOK_ID.test(id) || !/^[0-9]{1,12}$/.test(request.webhookTimestamp ?? '') || !request.webhookSignature) {
    throw unauthorized('Sign with Standard Webhooks: webhook-id (1 to 64 of A-Z a-z 0-9 _ . : -), webhook-timestamp (Unix seconds) and webhook-signature (v1,<base64 HMAC-SHA256>).');
  }
  assertFresh(timestamp, now);
  if (!signatureMatches(secret, request.webhookSignature, id, timestamp, rawBody)) throw unauthorized('The signature does not match the body.');
  return id;
}

/** The retired scheme (opt-in rules only): the secret itself and a hex HMAC; answers the signature. */
function verifyLegacy(secret: string, request: HookRequest, rawBody: Buffer, now: Date): string {
  const given = Buffer.from(request.legacySecret ?? '');
  if (given.length !== secret.length || !timingSafeEqual(given, Buffer.from(secret))) throw unauthorized('The x-gpx-webhook-secret header is missing or wrong.');
  const parts = Object.fromEntries((request.legacySignature ?? '').split(',').map((p) => p.trim().split('=') as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || !parts.v1) throw unauthorized('Send x-gpx-signature: t=<unix seconds>,v1=<hex HMAC-SHA256>.');
  assertFresh(timestamp, now);
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  const presented = Buffer.from(/^[0-9a-f]{64}$/i.test(parts.v1) ? parts.v1 : '', 'hex');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw unauthorized('The signature does not match the body.');
  return parts.v1.toLowerCase();
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
      triggeredBy: { kind: RULE_TRIGGER_KIND[trigger], id: rule.id }, actingTokenId: null,
    };
  }

  /**
   * The retired hook scheme's window after an opt-in (true) or out (false): 30 days from the first
   * opt-in, never extended or reopened, so no rule keeps sending its secret for good.
   */
  function legacyWindow(rule: RuleRecord, optIn: boolean): string | null {
    if (rule.trigger !== 'WEBHOOK_EVENT') throw fail('invalid_request', 'legacy_signature applies only to WEBHOOK_EVENT rules.');
    const now = iso(clock());
    if (optIn) return rule.legacySignatureUntil ?? iso(addSeconds(clock(), LEGACY_SIGNATURE_DAYS * 86_400));
    return rule.legacySignatureUntil && rule.legacySignatureUntil > now ? now : rule.legacySignatureUntil;
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
        ? { token: `${HOOK_TOKEN_PREFIX}${randomBase62(32)}`, secret: generateSecret() }
        : undefined;
      const rule: RuleRecord = {
        id: newId('rule'), workspaceId, userId, name: input.name, trigger: input.trigger,
        cron: input.trigger === 'SCHEDULE' ? input.cron! : null, timezone,
        promptTemplate: input.promptTemplate, cooldownSeconds: input.cooldownSeconds ?? 0, enabled,
        hookTokenHash: hook ? hashToken(hook.token) : null, hookSecretSealed: hook ? seal(dataKeys, hook.secret) : null, legacySignatureUntil: null,
        nextFireAt: enabled ? firstFire : null,
        lastFiredAt: null, createdAt: iso(now), updatedAt: iso(now),
      };
      await repos.transaction(async (tx) => {
        if (!(await tx.workspaces.findForUpdate(userId, workspaceId))) throw notFound('Workspace');
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
        ...(input.legacySignature === undefined ? {} : { legacySignatureUntil: legacyWindow(rule, input.legacySignature) }),
      }, iso(clock()));
      return get(userId, workspaceId, id);
    },
    async remove(userId: string, workspaceId: string, id: string): Promise<void> {
      if (!(await repos.rules.delete(userId, workspaceId, id))) throw notFound('Rule');
    },

    /**
     * An inbound trigger, signed with the Standard Webhooks scheme (webhook-id, webhook-timestamp,
     * webhook-signature over "<id>.<timestamp>.<raw body>"): the secret never travels. The timestamp may
     * be at most 5 minutes away and each webhook-id works once. The retired scheme (the secret itself in
     * x-gpx-webhook-secret, beside x-gpx-signature) works only for a rule that opted in, for 30 days;
     * its answers say so (`legacyUntil`). Nothing is queued unless all of that holds.
     */
    async fireHook(pathToken: string, request: HookRequest, rawBody: Buffer): Promise<{ run: RunRecord; legacyUntil?: string }> {
      const rule = await repos.rules.byHookTokenHash(hashToken(pathToken));
      if (!rule || !rule.hookSecretSealed) throw notFound('Hook');
      const secret = unseal(dataKeys, rule.hookSecretSealed);
      const now = clock();
      const legacy = request.legacySecret !== undefined || request.legacySignature !== undefined;
      if (legacy && !(rule.legacySignatureUntil && rule.legacySignatureUntil > iso(now))) {
        throw unauthorized('This hook takes Standard Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature) and never the secret itself; stop sending x-gpx-webhook-secret. See docs/workspaces.md.');
      }
      const onceKey = legacy ? verifyLegacy(secret, request, rawBody, now) : verifyStandard(secret, request, rawBody, now);
      if (!rule.enabled) throw notFound('Hook');
      // One transaction: a replay, or a firing inside the cooldown, leaves no trace at all.
      const run = await repos.transaction(async (tx) => {
        if (!(await tx.rules.rememberSignature(rule.id, onceKey, iso(now), iso(addSeconds(now, -2 * SIGNATURE_TOLERANCE_SECONDS))))) {
          throw unauthorized(legacy ? 'This signature was already used; sign each request afresh.' : 'This webhook-id was already used; send each message with an id of its own.');
        }
        if (!(await tx.rules.takeCooldown(rule.id, iso(addSeconds(now, -rule.cooldownSeconds)), iso(now)))) {
          const wait = Math.max(1, Math.ceil((Date.parse(rule.lastFiredAt ?? iso(now)) + rule.cooldownSeconds * 1000 - now.getTime()) / 1000));
          throw new ApiError('rule_cooldown', `This rule fired less than ${rule.cooldownSeconds} s ago; try again in ${wait} s.`, { retry_after_seconds: wait }, { 'Retry-After': String(wait) });
        }
        await assertFits(tx, caps, 'queuedRuns', rule.userId);
        const queuedRun = queued(rule, 'WEBHOOK_EVENT', render(rule.promptTemplate, { event: rawBody.toString('utf8'), trigger: 'WEBHOOK_EVENT', fired_at: iso(now) }), iso(now));
        await tx.workspaces.insertRun(queuedRun);
        return queuedRun;
      });
      return legacy ? { run, legacyUntil: rule.legacySignatureUntil! } : { run };
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
