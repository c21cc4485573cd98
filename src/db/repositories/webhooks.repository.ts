import type { Knex } from 'knex';
import { columnsOf } from '../columns';
import { countOf, NEWEST_FIRST, ofTable, Page, pageOf, Window } from '../page';

const DELIVERY_ORDER = ofTable(NEWEST_FIRST, 'd');

export interface WebhookEndpointRecord {
  id: string;
  userId: string;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  secretSealed: string;
  previousSecretSealed: string | null;
  previousSecretExpiresAt: string | null;
  consecutiveFailures: number;
  lastError: string | null;
  lastErrorAt: string | null;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookEventRecord {
  id: string;
  userId: string;
  type: string;
  payload: string;
  createdAt: string;
}

export interface WebhookDeliveryRecord {
  id: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  userId: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  nextAttemptAt: string;
  lastStatusCode: number | null;
  lastDurationMs: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type EndpointPatch = Partial<Pick<WebhookEndpointRecord, 'url' | 'description' | 'events' | 'enabled' | 'secretSealed'
  | 'previousSecretSealed' | 'previousSecretExpiresAt' | 'consecutiveFailures' | 'lastError' | 'lastErrorAt' | 'disabledReason'>>;

function toEndpoint(row: Record<string, any>): WebhookEndpointRecord {
  return {
    id: row.id,
    userId: row.user_id,
    url: row.url,
    description: row.description,
    events: JSON.parse(row.events),
    enabled: Boolean(row.enabled),
    secretSealed: row.secret_sealed,
    previousSecretSealed: row.previous_secret_sealed ?? null,
    previousSecretExpiresAt: row.previous_secret_expires_at ?? null,
    consecutiveFailures: Number(row.consecutive_failures),
    lastError: row.last_error ?? null,
    lastErrorAt: row.last_error_at ?? null,
    disabledReason: row.disabled_reason ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const ENDPOINT_COLUMNS: Record<string, string> = {
  url: 'url', description: 'description', events: 'events', enabled: 'enabled', secretSealed: 'secret_sealed',
  previousSecretSealed: 'previous_secret_sealed', previousSecretExpiresAt: 'previous_secret_expires_at',
  consecutiveFailures: 'consecutive_failures', lastError: 'last_error', lastErrorAt: 'last_error_at', disabledReason: 'disabled_reason',
};

const endpointColumns = (patch: EndpointPatch) => columnsOf(patch, ENDPOINT_COLUMNS, { events: (v) => JSON.stringify(v) });

function toDelivery(row: Record<string, any>): WebhookDeliveryRecord {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    endpointId: row.endpoint_id,
    userId: row.user_id,
    status: row.status,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at,
    lastStatusCode: row.last_status_code ?? null,
    lastDurationMs: row.last_duration_ms ?? null,
    lastError: row.last_error ?? null,
    deliveredAt: row.delivered_at ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const DELIVERY_COLUMNS = ['d.*', 'e.type as event_type'];
const ENDPOINT_TABLE_COLUMNS = ['id', 'user_id', 'created_at', 'updated_at', ...Object.values(ENDPOINT_COLUMNS)];

export function webhooksRepository(db: Knex) {
  const deliveries = () => db('webhook_deliveries as d').join('webhook_events as e', 'e.id', 'd.event_id');

  return {
    async countEndpoints(userId: string): Promise<number> {
      return countOf(db('webhook_endpoints').where({ user_id: userId }));
    },
    /** The times of the user's events of `type` after `since`, oldest first. */
    async eventTimesSince(userId: string, type: string, since: string): Promise<string[]> {
      return (await db('webhook_events').where({ user_id: userId, type }).andWhere('created_at', '>', since).orderBy('created_at').select('created_at')).map((r) => r.created_at as string);
    },
    async insertEndpoint(endpoint: WebhookEndpointRecord): Promise<void> {
      await db('webhook_endpoints').insert({
        id: endpoint.id,
        user_id: endpoint.userId,
        created_at: endpoint.createdAt,
        updated_at: endpoint.updatedAt,
        ...endpointColumns(endpoint),
      });
    },
    async findEndpoint(userId: string, id: string): Promise<WebhookEndpointRecord | undefined> {
      const row = await db('webhook_endpoints').where({ id, user_id: userId }).first();
      return row ? toEndpoint(row) : undefined;
    },
    listEndpoints(userId: string, window: Window): Promise<Page<WebhookEndpointRecord>> {
      return pageOf(() => db('webhook_endpoints').where({ user_id: userId }), ['*'], NEWEST_FIRST, window, toEndpoint);
    },
    async subscribedEndpoints(userId: string, type: string): Promise<WebhookEndpointRecord[]> {
      const rows = await db('webhook_endpoints').where({ user_id: userId });
      return rows.map(toEndpoint).filter((e) => e.events.includes(type));
    },
    async updateEndpoint(userId: string, id: string, patch: EndpointPatch, now: string): Promise<boolean> {
      return (await db('webhook_endpoints').where({ id, user_id: userId }).update({ ...endpointColumns(patch), updated_at: now })) > 0;
    },
    async deleteEndpoint(userId: string, id: string): Promise<boolean> {
      return (await db('webhook_endpoints').where({ id, user_id: userId }).delete()) > 0;
    },
    async insertEvent(event: WebhookEventRecord): Promise<void> {
      await db('webhook_events').insert({ id: event.id, user_id: event.userId, type: event.type, payload: event.payload, created_at: event.createdAt });
    },
    async insertDelivery(d: { id: string; eventId: string; endpointId: string; userId: string; now: string }): Promise<void> {
      await db('webhook_deliveries').insert({
        id: d.id, event_id: d.eventId, endpoint_id: d.endpointId, user_id: d.userId, status: 'pending', attempts: 0,
        next_attempt_at: d.now, created_at: d.now, updated_at: d.now,
      });
    },
    async findDelivery(userId: string, id: string): Promise<WebhookDeliveryRecord | undefined> {
      const row = await deliveries().where({ 'd.id': id, 'd.user_id': userId }).first(DELIVERY_COLUMNS);
      return row ? toDelivery(row) : undefined;
    },
    listDeliveries(userId: string, endpointId: string, window: Window): Promise<Page<WebhookDeliveryRecord>> {
      return pageOf(() => deliveries().where({ 'd.endpoint_id': endpointId, 'd.user_id': userId }), DELIVERY_COLUMNS, DELIVERY_ORDER, window, toDelivery);
    },
    /**
     * Pending deliveries of enabled endpoints that are due, earliest first, leaving out every endpoint
     * with a delivery under a live lease (some dispatcher is sending to it now).
     */
    async dueDeliveries(now: string, limit: number): Promise<Array<{ id: string; endpointId: string; userId: string }>> {
      const rows = await db('webhook_deliveries as d').join('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
        .where('d.status', 'pending').andWhere('d.next_attempt_at', '<=', now).andWhere('w.enabled', true)
        .whereNotExists((q) => q.select(db.raw('1')).from('webhook_deliveries as busy')
          .whereRaw('busy.endpoint_id = d.endpoint_id').andWhere('busy.status', 'pending').andWhere('busy.lease_until', '>=', now))
        .orderBy([{ column: 'd.next_attempt_at' }, { column: 'd.created_at' }, { column: 'd.id' }]).limit(limit)
        .select('d.id', 'd.endpoint_id', 'd.user_id');
      return rows.map((r: { id: string; endpoint_id: string; user_id: string }) => ({ id: r.id, endpointId: r.endpoint_id, userId: r.user_id }));
    },
    /** Takes the lease; false when another dispatcher took it first (the conditional update settles it). */
    async lease(id: string, now: string, until: string): Promise<boolean> {
      const changed = await db('webhook_deliveries').where({ id, status: 'pending' })
        .andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<', now))
        .update({ lease_until: until, updated_at: now });
      return changed > 0;
    },
    /** A leased delivery with its endpoint and its event's payload: everything a send needs, in one read. */
    async toSend(id: string): Promise<{ delivery: WebhookDeliveryRecord; endpoint: WebhookEndpointRecord; payload: string } | undefined> {
      const row = await deliveries().join('webhook_endpoints as w', 'w.id', 'd.endpoint_id').where({ 'd.id': id })
        .first([...DELIVERY_COLUMNS, 'e.payload as event_payload', ...ENDPOINT_TABLE_COLUMNS.map((c) => `w.${c} as w_${c}`)]);
      if (!row) return undefined;
      const endpoint = toEndpoint(Object.fromEntries(ENDPOINT_TABLE_COLUMNS.map((c) => [c, row[`w_${c}`]])));
      return { delivery: toDelivery(row), endpoint, payload: row.event_payload };
    },
    async recordAttempt(id: string, result: {
      status: WebhookDeliveryRecord['status']; attempts: number; nextAttemptAt: string; statusCode: number | null;
      durationMs: number; error: string | null; deliveredAt: string | null; now: string;
    }): Promise<void> {
      await db('webhook_deliveries').where({ id }).update({
        status: result.status,
        attempts: result.attempts,
        next_attempt_at: result.nextAttemptAt,
        lease_until: null,
        last_status_code: result.statusCode,
        last_duration_ms: result.durationMs,
        last_error: result.error,
        delivered_at: result.deliveredAt,
        updated_at: result.now,
      });
    },
  };
}
