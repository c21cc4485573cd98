import type { Request } from 'express';
import type { WorkspaceRecord } from '../db/repositories/workspaces.repository';
import { body, caller, HandlerMap, pageRequest, pathParam, queryString, sendPage } from './kit';
import { presentRun, presentWorkspace } from './presenters';
import type { Services } from './services';

export function workspacesHandlers({ workspaces }: Services): HandlerMap {
  const present = async (workspace: WorkspaceRecord) => presentWorkspace(workspace, await workspaces.boundToken(workspace));
  const ids = (req: Request) => [caller(req).user.id, pathParam(req, 'workspaceId')] as const;
  return {
    async listWorkspaces(req, res) {
      const page = pageRequest(req);
      const result = await workspaces.list(caller(req).user.id, page.offset, page.limit);
      const rows = await Promise.all(result.rows.map(present));
      sendPage(res, page, { rows, total: result.total }, (row) => row);
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
      res.json(await present(await workspaces.bind(caller(req), pathParam(req, 'workspaceId'), body<'bindWorkspaceToken'>(req).token_id)));
    },
    async unbindWorkspaceToken(req, res) {
      res.json(await present(await workspaces.unbind(...ids(req))));
    },
    async listRuns(req, res) {
      const page = pageRequest(req);
      const filter = { status: queryString(req, 'status'), trigger: queryString(req, 'trigger') };
      sendPage(res, page, await workspaces.listRuns(...ids(req), filter, page.offset, page.limit), presentRun);
    },
    async createRun(req, res) {
      const input = body<'createRun'>(req);
      res.status(201).json(presentRun(await workspaces.queueRun(...ids(req), { prompt: input.prompt, overrides: input.overrides })));
    },
    async getRun(req, res) {
      res.json(presentRun(await workspaces.run(...ids(req), pathParam(req, 'runId'))));
    },
    async cancelRun(req, res) {
      res.json(presentRun(await workspaces.cancelRun(...ids(req), pathParam(req, 'runId'))));
    },
  };
}
