import type { Knex } from 'knex';

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
    async listForUser(userId: string, offset: number, limit: number): Promise<{ rows: AuditEventRecord[]; total: number }> {
      const [rows, count] = await Promise.all([
        db('audit_events').where({ user_id: userId })
          .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
          .offset(offset).limit(limit),
        db('audit_events').where({ user_id: userId }).count({ n: '*' }).first(),
      ]);
      return {
        rows: rows.map((row) => ({
          id: row.id,
          userId: row.user_id,
          type: row.type,
          tokenId: row.token_id ?? null,
          ip: row.ip ?? null,
          details: JSON.parse(row.details),
          createdAt: row.created_at,
        })),
        total: Number(count?.n ?? 0),
      };
    },
  };
}

export type AuditRepository = ReturnType<typeof auditRepository>;
