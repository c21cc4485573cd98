import type { Window } from '../db/page';
import { Clock, iso } from '../core/clock';
import type { SignedInPrincipal } from '../auth/principal';
import { effectiveScopes, grantOf } from '../auth/scopes';
import { newId } from '../core/ids';
import type { Contract } from '../contract/spec';
import type { Repositories } from '../db/repositories';
import type { RunRecord, WorkspaceRecord } from '../db/repositories/workspaces.repository';
import { ApiError, fail, notFound } from '../core/errors';
import { assertFits, Caps } from './caps';
import { assertGrantWithin } from './tokens.service';
import type { BalanceService } from './balance.service';

export interface WorkspaceInput {
  name?: string;
  description?: string;
  defaultPrompt?: string;
}

/**
 * What a workspace's automation may do right now: its bound token's grant ∩ the owner's current role,
 * exactly what the token itself could do on a request. Undefined when the token is gone, revoked or
 * expired, so a revoked token stops its workspace's runs at once.
 */
export async function boundScopes(repos: Repositories, contract: Contract, workspace: WorkspaceRecord, now: string): Promise<string[] | undefined> {
  if (!workspace.boundTokenId) return undefined;
  const token = await repos.tokens.findActiveForUser(workspace.userId, workspace.boundTokenId);
  const user = await repos.users.findById(workspace.userId);
  if (!token || !user || user.disabledAt || (token.expiresAt && token.expiresAt <= now)) return undefined;
  return effectiveScopes(contract, token.scopes, token.role, user.role);
}

export function createWorkspacesService(repos: Repositories, contract: Contract, clock: Clock, caps: Caps) {
  async function get(userId: string, id: string): Promise<WorkspaceRecord> {
    const workspace = await repos.workspaces.find(userId, id);
    if (!workspace) throw notFound('Workspace');
    return workspace;
  }

  async function run(userId: string, workspaceId: string, id: string): Promise<RunRecord> {
    const found = await repos.workspaces.findRun(userId, workspaceId, id);
    if (!found) throw notFound('Run');
    return found;
  }

  return {
    get,
    run,
    list: (userId: string, window: Window) => repos.workspaces.list(userId, window),
    async create(userId: string, input: WorkspaceInput & { name: string }): Promise<WorkspaceRecord> {
      const now = iso(clock());
      const workspace: WorkspaceRecord = {
        id: newId('wsp'), userId, name: input.name, description: input.description ?? '', defaultPrompt: input.defaultPrompt ?? '',
        boundTokenId: null, delegable: false, createdAt: now, updatedAt: now,
      };
      await repos.transaction(async (tx) => {
        await assertFits(tx, caps, 'workspaces', userId);
        await tx.workspaces.insert(workspace);
      });
      return workspace;
    },
    async update(userId: string, id: string, input: WorkspaceInput): Promise<WorkspaceRecord> {
      if (!(await repos.workspaces.update(userId, id, input, iso(clock())))) throw notFound('Workspace');
      return get(userId, id);
    },
    async remove(userId: string, id: string): Promise<void> {
      if (!(await repos.workspaces.delete(userId, id))) throw notFound('Workspace');
    },

    /**
     * Binds one of the owner's active tokens. A PAT caller may only bind a token within its own grant,
     * so a workspace never gives automation more than the credential that set it up. `delegable` is the
     * owner's consent that callers holding less than the token's grant (a `workspaces:run` PAT) may
     * queue runs that act with it; a new binding is not delegable unless it says so.
     */
    async bind(caller: SignedInPrincipal, id: string, tokenId: string, delegable = false): Promise<WorkspaceRecord> {
      await get(caller.user.id, id);
      const token = await repos.tokens.findActiveForUser(caller.user.id, tokenId);
      if (!token || (token.expiresAt && token.expiresAt <= iso(clock()))) throw notFound('Token');
      assertGrantWithin(grantOf(contract, token.scopes, token.role), caller.scopes, 'A workspace cannot act with more than the credential that binds it');
      await repos.workspaces.update(caller.user.id, id, { boundTokenId: tokenId, delegable }, iso(clock()));
      return get(caller.user.id, id);
    },
    async unbind(userId: string, id: string): Promise<WorkspaceRecord> {
      if (!(await repos.workspaces.update(userId, id, { boundTokenId: null, delegable: false }, iso(clock())))) throw notFound('Workspace');
      return get(userId, id);
    },
    async boundToken(workspace: WorkspaceRecord) {
      return workspace.boundTokenId ? repos.tokens.findActiveForUser(workspace.userId, workspace.boundTokenId) : undefined;
    },

    /**
     * Queues a manual run; overrides apply to this run only and never change the saved defaults. The
     * run acts with the bound token's grant, so a caller must hold that grant itself, unless the owner
     * made the binding delegable: no `workspaces:run` token does through a run what it could not do
     * over HTTP without the owner's say-so. The run records who queued it.
     */
    async queueRun(caller: SignedInPrincipal, workspaceId: string, input: { prompt?: string; overrides?: Record<string, unknown> }): Promise<RunRecord> {
      const userId = caller.user.id;
      const workspace = await get(userId, workspaceId);
      if (!workspace.boundTokenId) {
        throw fail('workspace_token_required', 'Bind one of your tokens to this workspace first (PUT /api/workspaces/{id}/binding); runs act with its scopes.');
      }
      if (!workspace.delegable) {
        const token = await repos.tokens.findActiveForUser(userId, workspace.boundTokenId);
        if (token) assertGrantWithin(grantOf(contract, token.scopes, token.role), caller.scopes, 'This run would act with the workspace token\'s grant, beyond the caller\'s (the owner may make the binding delegable)');
      }
      const prompt = input.prompt ?? workspace.defaultPrompt;
      if (!prompt) throw new ApiError('prompt_required', 'Give a prompt, or save a default prompt on the workspace.');
      const now = iso(clock());
      const queued: RunRecord = {
        id: newId('run'), workspaceId, userId, status: 'QUEUED', trigger: 'MANUAL', prompt, overrides: input.overrides ?? {},
        attempts: 0, claimedBy: null, effectiveScopes: null, resultSummary: null, error: null, queuedAt: now, startedAt: null,
        finishedAt: null, updatedAt: now,
        triggeredBy: { kind: caller.kind, id: caller.kind === 'pat' ? caller.token.id : userId }, actingTokenId: null,
      };
      await repos.transaction(async (tx) => {
        if (!(await tx.workspaces.findForUpdate(userId, workspaceId))) throw notFound('Workspace');
        await assertFits(tx, caps, 'queuedRuns', userId);
        await tx.workspaces.insertRun(queued);
      });
      return queued;
    },
    listRuns: (userId: string, workspaceId: string, filter: { status?: string; trigger?: string }, window: Window) =>
      get(userId, workspaceId).then(() => repos.workspaces.listRuns(userId, workspaceId, filter, window)),
    async cancelRun(userId: string, workspaceId: string, id: string): Promise<RunRecord> {
      const current = await run(userId, workspaceId, id);
      if (!(await repos.workspaces.cancel(userId, workspaceId, id, iso(clock())))) {
        throw fail('run_finished', `The run already ended (${current.status}); only queued or running runs can be canceled.`);
      }
      return run(userId, workspaceId, id);
    },
  };
}

export type WorkspacesService = ReturnType<typeof createWorkspacesService>;

/**
 * Interactive sessions. Starting one is refused, in this order, when the user already holds their
 * maximum (409 concurrency_limit), when every controller slot is taken (503 controllers_busy +
 * Retry-After), or when the credits do not cover it (402 workspace_credits_required); the credits are
 * spent in the same transaction as the session is opened.
 */
export function createWorkspaceSessionsService(repos: Repositories, clock: Clock, balance: Pick<BalanceService, 'spendCredits'>, limits: { startCredits: number; maxPerUser: number; capacity: number }) {
  async function ownWorkspace(userId: string, workspaceId: string) {
    if (!(await repos.workspaces.find(userId, workspaceId))) throw notFound('Workspace');
  }

  return {
    async start(userId: string, workspaceId: string) {
      const now = iso(clock());
      const session = { id: newId('wss'), workspaceId, userId, status: 'open' as const, creditsCharged: limits.startCredits, startedAt: now, closedAt: null };
      await repos.transaction(async (tx) => {
        if (!(await tx.workspaces.findForUpdate(userId, workspaceId))) throw notFound('Workspace');
        if ((await tx.workspaceSessions.openForUser(userId)) >= limits.maxPerUser) {
          throw fail('concurrency_limit', `You already have ${limits.maxPerUser} open sessions, the most allowed. Close one (POST …/sessions/{id}/close) or all of them (POST …/sessions/close-all) and try again.`, { max_open_sessions: limits.maxPerUser });
        }
        if ((await tx.workspaceSessions.openEverywhere()) >= limits.capacity) {
          throw new ApiError('controllers_busy', 'Every session controller is busy right now; try again shortly.', { retry_after_seconds: 30 }, { 'Retry-After': '30' });
        }
        if (!(await balance.spendCredits(tx, userId, limits.startCredits, { type: 'workspace_session', id: session.id }))) {
          throw new ApiError('workspace_credits_required', `Starting a session costs ${limits.startCredits} credits; buy a credit package (POST /api/billing/checkout).`, { credits_required: limits.startCredits });
        }
        await tx.workspaceSessions.insert(session);
      });
      return session;
    },
    async list(userId: string, workspaceId: string, status: string | undefined, window: Window) {
      await ownWorkspace(userId, workspaceId);
      return repos.workspaceSessions.list(userId, workspaceId, status, window);
    },
    async close(userId: string, workspaceId: string, id: string) {
      const session = await repos.workspaceSessions.find(userId, workspaceId, id);
      if (!session) throw notFound('Session');
      await repos.workspaceSessions.close(id, iso(clock()));
      return (await repos.workspaceSessions.find(userId, workspaceId, id))!;
    },
    /** Closes every open session; each is closed on its own, so a failure leaves the others closed. */
    async closeAll(userId: string, workspaceId: string): Promise<{ closed: number; failed: number }> {
      await ownWorkspace(userId, workspaceId);
      let closed = 0;
      let failed = 0;
      for (const id of await repos.workspaceSessions.openIds(userId, workspaceId)) {
        try {
          if (await repos.workspaceSessions.close(id, iso(clock()))) closed += 1;
        } catch {
          failed += 1;
        }
      }
      return { closed, failed };
    },
  };
}

export type WorkspaceSessionsService = ReturnType<typeof createWorkspaceSessionsService>;
