import type { Request } from 'express';
import type { WorkspaceRecord, WorkspaceSessionRecord } from '../db/repositories/workspaces.repository';
import { body, byId, caller, HandlerMap, noStore, pageRequest, pathParam, queryString, sendPage } from './kit';
import { presentRule, presentRun, presentWorkspace } from './presenters';
import type { Services } from './services';
import { LEGACY_SIGNATURE_DAYS } from '../services/rules.service';
import { setDeprecation } from '../http/token-notices';

const presentSession = (s: WorkspaceSessionRecord) => ({
  id: s.id, workspace_id: s.workspaceId, status: s.status, credits_charged: s.creditsCharged, started_at: s.startedAt, closed_at: s.closedAt,
});

export function workspacesHandlers({ workspaces, rules, workspaceSessions }: Services): HandlerMap {
  const present = async (workspace: WorkspaceRecord) => presentWorkspace(workspace, await workspaces.boundToken(workspace));
  const ids = (req: Request) => [caller(req).user.id, pathParam(req, 'workspaceId')] as const;
  return {
    async listWorkspaces(req, res) {
      const page = pageRequest(req);
      const result = await workspaces.list(caller(req).user.id, page);
      const rows = await Promise.all(result.rows.map(present));
      sendPage(res, page, { ...result, rows }, (row) => row);
    },
    async createWorkspace(req, res) {
      const input = body<'createWorkspace'>(req);
      const created = await workspaces.create(caller(req).user.id, { name: input.name, description: input.description, defaultPrompt: input.default_prompt });
      res.status(201).json(await present(created));
    },
    async getWorkspace(req, res) {
      res.json(await present(await workspaces.get(...ids(req))));
    },
    async updateWorkspace(req, res) {
      const input = body<'updateWorkspace'>(req);
      res.json(await present(await workspaces.update(...ids(req), { name: input.name, description: input.description, defaultPrompt: input.default_prompt })));
    },
    async deleteWorkspace(req, res) {
      await workspaces.remove(...ids(req));
      res.status(204).end();
    },
    async bindWorkspaceToken(req, res) {
      const input = body<'bindWorkspaceToken'>(req);
      res.json(await present(await workspaces.bind(caller(req), pathParam(req, 'workspaceId'), input.token_id, input.delegable ?? false)));
    },
    async unbindWorkspaceToken(req, res) {
      res.json(await present(await workspaces.unbind(...ids(req))));
    },
    async listRuns(req, res) {
      const page = pageRequest(req, byId);
      const filter = { status: queryString(req, 'status'), trigger: queryString(req, 'trigger') };
      sendPage(res, page, await workspaces.listRuns(...ids(req), filter, page), presentRun);
    },
    async createRun(req, res) {
      const input = body<'createRun'>(req);
      res.status(201).json(presentRun(await workspaces.queueRun(caller(req), pathParam(req, 'workspaceId'), { prompt: input.prompt, overrides: input.overrides })));
    },
    async getRun(req, res) {
      res.json(presentRun(await workspaces.run(...ids(req), pathParam(req, 'runId'))));
    },
    async listWorkspaceSessions(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await workspaceSessions.list(...ids(req), queryString(req, 'status'), page), presentSession);
    },
    async startWorkspaceSession(req, res) {
      res.status(201).json(presentSession(await workspaceSessions.start(...ids(req))));
    },
    async closeWorkspaceSession(req, res) {
      res.json(presentSession(await workspaceSessions.close(...ids(req), pathParam(req, 'sessionId'))));
    },
    async closeAllWorkspaceSessions(req, res) {
      res.json(await workspaceSessions.closeAll(...ids(req)));
    },
    async listRules(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await rules.list(...ids(req), page), presentRule);
    },
    async createRule(req, res) {
      const input = body<'createRule'>(req);
      const { rule, hook } = await rules.create(...ids(req), {
        name: input.name, trigger: input.trigger, cron: input.cron, timezone: input.timezone,
        promptTemplate: input.prompt_template, cooldownSeconds: input.cooldown_seconds, enabled: input.enabled,
      });
      noStore(res).status(201).json({ ...presentRule(rule), ...(hook ? { hook } : {}) });
    },
    async getRule(req, res) {
      res.json(presentRule(await rules.get(...ids(req), pathParam(req, 'ruleId'))));
    },
    async updateRule(req, res) {
      const input = body<'updateRule'>(req);
      res.json(presentRule(await rules.update(...ids(req), pathParam(req, 'ruleId'), {
        name: input.name, cron: input.cron, timezone: input.timezone, promptTemplate: input.prompt_template,
        cooldownSeconds: input.cooldown_seconds, enabled: input.enabled, legacySignature: input.legacy_signature,
      })));
    },
    async deleteRule(req, res) {
      await rules.remove(...ids(req), pathParam(req, 'ruleId'));
      res.status(204).end();
    },
    async triggerWorkspaceHook(req, res) {
      const raw = (req as { rawBody?: Buffer }).rawBody ?? Buffer.from('');
      const { run, legacyUntil } = await rules.fireHook(pathParam(req, 'pathToken'), {
        webhookId: req.get('webhook-id'), webhookTimestamp: req.get('webhook-timestamp'), webhookSignature: req.get('webhook-signature'),
        legacySecret: req.get('x-gpx-webhook-secret'), legacySignature: req.get('x-gpx-signature'),
      }, raw);
      if (legacyUntil) {
        // The retired scheme, for a rule that opted in: deprecated since the opt-in, gone at its end.
        setDeprecation(res, Date.parse(legacyUntil) - LEGACY_SIGNATURE_DAYS * 86_400_000, legacyUntil);
      }
      res.status(202).json({ run_id: run.id, status: 'QUEUED' });
    },
    async cancelRun(req, res) {
      res.json(presentRun(await workspaces.cancelRun(...ids(req), pathParam(req, 'runId'))));
    },
  };
}
