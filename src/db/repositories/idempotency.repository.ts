import type { Knex } from 'knex';

export interface IdempotencyRecord {
  owner: string;
  key: string;
  operationId: string;
  requestHash: string;
  statusCode: number | null;
  responseBody: unknown;
  secret: boolean;
  resourceId: string | null;
  createdAt: string;
}

export function idempotencyRepository(db: Knex) {
  return {
    async find(owner: string, key: string): Promise<IdempotencyRecord | undefined> {
      const row = await db('idempotency_keys').where({ owner, key }).first();
      if (!row) return undefined;
      return {
        owner: row.owner,
        key: row.key,
        operationId: row.operation_id,
        requestHash: row.request_hash,
        statusCode: row.status_code ?? null,
        responseBody: row.response_body ? JSON.parse(row.response_body) : null,
        secret: Boolean(row.secret),
        resourceId: row.resource_id ?? null,
        createdAt: row.created_at,
      };
    },
    /** Claims the key for a first request; false when another request holds it already. */
    async claim(record: { owner: string; key: string; operationId: string; requestHash: string; createdAt: string }): Promise<boolean> {
      const inserted = await db('idempotency_keys')
        .insert({ owner: record.owner, key: record.key, operation_id: record.operationId, request_hash: record.requestHash, created_at: record.createdAt })
        .onConflict(['owner', 'key']).ignore()
        .returning('key');
      return inserted.length === 1;
    },
    async complete(owner: string, key: string, result: { statusCode: number; responseBody: unknown; secret: boolean; resourceId: string | null }): Promise<void> {
      await db('idempotency_keys').where({ owner, key }).update({
        status_code: result.statusCode,
        response_body: result.secret ? null : JSON.stringify(result.responseBody ?? null),
        secret: result.secret,
        resource_id: result.resourceId,
      });
    },
    async release(owner: string, key: string): Promise<void> {
      await db('idempotency_keys').where({ owner, key }).whereNull('status_code').delete();
    },
    async deleteOlderThan(cutoff: string): Promise<number> {
      return db('idempotency_keys').where('created_at', '<', cutoff).delete();
    },
  };
}
