import type { Window } from '../db/page';
import { Clock, iso } from '../core/clock';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';

export interface AuditInput {
  userId: string;
  type: string;
  tokenId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

export function createAuditService(repos: Repositories, clock: Clock) {
  return {
    /** Pass `tx` to write the event in the same transaction as the change it records. */
    async record(event: AuditInput, tx: Repositories = repos): Promise<void> {
      await tx.audit.insert({
        id: newId('evt'),
        userId: event.userId,
        type: event.type,
        tokenId: event.tokenId ?? null,
        ip: event.ip ?? null,
        details: event.details ?? {},
        createdAt: iso(clock()),
      });
    },
    list: (userId: string, window: Window) => repos.audit.listForUser(userId, window),
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
