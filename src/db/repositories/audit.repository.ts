import type { Knex } from 'knex';
import { NEWEST_FIRST, Page, pageOf, Window } from '../page';

export interface AuditEventRecord {
  id: string;
  userId: string;
  type: string;
  tokenId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

export function auditRepository(db: Knex) {
  return {
    async insert(event: AuditEventRecord): Promise<void> {
      await db('audit_events').insert({
        id: event.id,
        user_id: event.userId,
        type: event.type,
        token_id: event.tokenId,
        ip: event.ip,
        details: JSON.stringify(event.details),
        created_at: event.createdAt,
      });
    },
    listForUser(userId: string, window: Window): Promise<Page<AuditEventRecord>> {
      return pageOf(() => db('audit_events').where({ user_id: userId }), ['*'], NEWEST_FIRST, window, (row) => ({
        id: row.id,
        userId: row.user_id,
        type: row.type,
        tokenId: row.token_id ?? null,
        ip: row.ip ?? null,
        details: JSON.parse(row.details),
        createdAt: row.created_at,
      }));
    },
  };
}

export type AuditRepository = ReturnType<typeof auditRepository>;
