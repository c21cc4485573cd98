import type { Contract } from '../contract/spec';
import { accountHandlers } from './account.handlers';
import { adminHandlers } from './admin.handlers';
import { authHandlers } from './auth.handlers';
import type { Handler, HandlerMap } from './kit';
import { postsHandlers } from './posts.handlers';
import { programmaticHandlers } from './programmatic.handlers';
import type { Services } from './services';
import { tokensHandlers } from './tokens.handlers';
import { artifactsHandlers } from './artifacts.handlers';
import { membershipsHandlers } from './memberships.handlers';
import { notificationsHandlers } from './notifications.handlers';
import { placesHandlers } from './places.handlers';
import { sharingHandlers } from './sharing.handlers';
import { systemHandlers } from './system.handlers';
import { webhooksHandlers } from './webhooks.handlers';
import { workspacesHandlers } from './workspaces.handlers';
import { billingHandlers } from './billing.handlers';

const FACTORIES = [
  authHandlers, accountHandlers, tokensHandlers, postsHandlers, adminHandlers, programmaticHandlers,
  placesHandlers, artifactsHandlers, notificationsHandlers, membershipsHandlers, sharingHandlers, workspacesHandlers, billingHandlers, webhooksHandlers, systemHandlers,
];

/**
 * All handlers keyed by operationId. Fails at start-up when an operation has no handler or a handler
 * no operation, so the spec and the code cannot drift apart unnoticed.
 */
export function buildHandlers(contract: Contract, services: Services): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  for (const factory of FACTORIES) {
    for (const [operationId, handler] of Object.entries(factory(services) as HandlerMap)) {
      if (handlers.has(operationId)) throw new Error(`Two handlers for operation ${operationId}`);
      handlers.set(operationId, handler as Handler);
    }
  }
  checkHandlersMatchContract(contract, [...handlers.keys()]);
  return handlers;
}

export function checkHandlersMatchContract(contract: Contract, handlerIds: string[]): void {
  const specIds = [...contract.operations.keys()];
  const missing = specIds.filter((id) => !handlerIds.includes(id));
  const extra = handlerIds.filter((id) => !contract.operations.has(id));
  const problems = [
    ...missing.map((id) => `operation ${id} has no handler`),
    ...extra.map((id) => `handler ${id} has no operation in openapi.yaml`),
  ];
  if (problems.length > 0) throw new Error(`Spec and handlers are out of sync:\n  ${problems.join('\n  ')}`);
}
