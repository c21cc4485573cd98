import type { Window } from '../db/page';
import type { components, webhooks } from '../../generated/openapi';
import { addSeconds, Clock, iso } from '../core/clock';
import { seal, unseal } from '../auth/seal';
import type { Keyring } from '../core/keyring';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { WebhookEndpointRecord } from '../db/repositories/webhooks.repository';
import { fail, notFound, tooManyRequests } from '../core/errors';
import { assertFits, Caps } from './caps';
import { generateSecret } from '../webhooks/signature';
import { addressesOf, isPublicAddress, NOT_PUBLIC } from '../webhooks/ssrf';

/** The events endpoints subscribe to, and the `data` each carries: from the contract's `webhooks:`. */
export type WebhookEventType = components['schemas']['WebhookEventType'];
type Delivered = keyof webhooks;
export type EventData<T extends Delivered> = webhooks[T]['post'] extends { requestBody: { content: { 'application/json': { data: infer D } } } } ? D : never;
export const TEST_EVENT = 'webhook.test' satisfies Delivered;
export const SECRET_OVERLAP_SECONDS = 24 * 3600;

export interface EndpointInput {
  url?: string;
  events?: string[];
  description?: string;
  enabled?: boolean;
}

/**
 * Endpoints and the outbox. `emit` is called with the transaction of the change that causes the event,
 * so an event exists exactly when its change does; the dispatcher delivers it later, at least once.
 */
export function createWebhooksService(repos: Repositories, clock: Clock, options: { dataKeys: Keyring; allowPrivate: boolean; caps: Caps; log?: { warn(obj: object, msg: string): void } }) {
  /** https only, no credentials in the URL, and (unless allowed for development) public addresses only. */
  async function checkedUrl(raw: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw fail('invalid_webhook_url', 'The URL is not valid.');
    }
    const schemes = options.allowPrivate ? ['https:', 'http:'] : ['https:'];
    if (!schemes.includes(url.protocol)) throw fail('invalid_webhook_url', 'Webhook URLs must use https.');
    if (url.username || url.password) throw fail('invalid_webhook_url', 'Put no credentials in the URL; verify our signature instead.');
    if (!options.allowPrivate) {
      // One answer whether the name does not resolve or resolves inside: anything finer would let a
      // caller map the internal network through this check. The detail goes to the server's log.
      const addresses = await addressesOf(url.hostname).catch((err: Error) => err);
      const blocked = Array.isArray(addresses) ? addresses.find((a) => !isPublicAddress(a)) : undefined;
      if (!Array.isArray(addresses) || blocked || addresses.length === 0) {
        options.log?.warn({ host: url.hostname, resolved: Array.isArray(addresses) ? addresses : `unresolvable: ${addresses.message}` }, 'webhook URL refused: not a public address');
        throw fail('webhook_url_not_public', NOT_PUBLIC);
      }
    }
    return url.toString();
  }

  async function get(userId: string, id: string): Promise<WebhookEndpointRecord> {
    const endpoint = await repos.webhooks.findEndpoint(userId, id);
    if (!endpoint) throw notFound('Webhook endpoint');
    return endpoint;
  }

  async function enqueue(tx: Repositories, userId: string, type: string, data: unknown, endpoints: WebhookEndpointRecord[]): Promise<string[]> {
    if (endpoints.length === 0) return [];
    const now = iso(clock());
    const eventId = newId('msg');
    await tx.webhooks.insertEvent({ id: eventId, userId, type, payload: JSON.stringify({ type, timestamp: now, data }), createdAt: now });
    const deliveryIds: string[] = [];
    for (const endpoint of endpoints) {
      const id = newId('dlv');
      await tx.webhooks.insertDelivery({ id, eventId, endpointId: endpoint.id, userId, now });
      deliveryIds.push(id);
    }
    return deliveryIds;
  }

  return {
    get,
    list: (userId: string, window: Window) => repos.webhooks.listEndpoints(userId, window),

    async create(userId: string, input: Required<Pick<EndpointInput, 'url' | 'events'>> & EndpointInput) {
      const url = await checkedUrl(input.url);
      const secret = generateSecret();
      const now = iso(clock());
      const endpoint: WebhookEndpointRecord = {
        id: newId('wh'),
        userId,
        url,
        description: input.description ?? '',
        events: [...new Set(input.events)],
        enabled: input.enabled ?? true,
        secretSealed: seal(options.dataKeys, secret),
        previousSecretSealed: null,
        previousSecretExpiresAt: null,
        consecutiveFailures: 0,
        lastError: null,
        lastErrorAt: null,
        disabledReason: null,
        createdAt: now,
        updatedAt: now,
      };
      await repos.transaction(async (tx) => {
        await assertFits(tx, options.caps, 'webhookEndpoints', userId);
        await tx.webhooks.insertEndpoint(endpoint);
      });
      return { endpoint, secret };
    },

    async update(userId: string, id: string, input: EndpointInput): Promise<WebhookEndpointRecord> {
      await get(userId, id);
      const patch: Parameters<typeof repos.webhooks.updateEndpoint>[2] = {};
      if (input.url !== undefined) patch.url = await checkedUrl(input.url);
      if (input.events !== undefined) patch.events = [...new Set(input.events)];
      if (input.description !== undefined) patch.description = input.description;
      if (input.enabled !== undefined) {
        patch.enabled = input.enabled;
        // Re-enabling starts afresh: the failure count and the reason it was switched off are cleared.
        if (input.enabled) Object.assign(patch, { consecutiveFailures: 0, disabledReason: null });
      }
      await repos.webhooks.updateEndpoint(userId, id, patch, iso(clock()));
      return get(userId, id);
    },

    async remove(userId: string, id: string): Promise<void> {
      if (!(await repos.webhooks.deleteEndpoint(userId, id))) throw notFound('Webhook endpoint');
    },

    /** A new secret, shown once; the old one keeps signing beside it for 24 hours. */
    async rotateSecret(userId: string, id: string) {
      const endpoint = await get(userId, id);
      const secret = generateSecret();
      const now = clock();
      await repos.webhooks.updateEndpoint(userId, id, {
        secretSealed: seal(options.dataKeys, secret),
        previousSecretSealed: endpoint.secretSealed,
        previousSecretExpiresAt: iso(addSeconds(now, SECRET_OVERLAP_SECONDS)),
      }, iso(now));
      return { endpoint: await get(userId, id), secret };
    },

    rotationEndsAt(endpoint: WebhookEndpointRecord): string | null {
      const ends = endpoint.previousSecretExpiresAt;
      return endpoint.previousSecretSealed && ends && ends > iso(clock()) ? ends : null;
    },

    /** The secrets to sign with now: the current one, and the previous one while its overlap lasts. */
    signingSecrets(endpoint: WebhookEndpointRecord): string[] {
      const secrets = [unseal(options.dataKeys, endpoint.secretSealed)];
      if (endpoint.previousSecretSealed && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > iso(clock())) {
        secrets.push(unseal(options.dataKeys, endpoint.previousSecretSealed));
      }
      return secrets;
    },

    /** Writes an event for every endpoint of the user subscribed to it, inside the caller's transaction. */
    async emit<T extends WebhookEventType>(tx: Repositories, userId: string, type: T, data: EventData<T>): Promise<void> {
      const endpoints = await tx.webhooks.subscribedEndpoints(userId, type);
      await enqueue(tx, userId, type, data, endpoints);
    },

    async sendTest(userId: string, id: string) {
      const endpoint = await get(userId, id);
      const [deliveryId] = await repos.transaction(async (tx) => {
        // Counted from the user's own test events in the database, so the limit holds across instances.
        await tx.users.lockForUpdate(userId);
        const now = clock();
        const recent = await tx.webhooks.eventTimesSince(userId, TEST_EVENT, iso(addSeconds(now, -60)));
        if (recent.length >= options.caps.testSendsPerMinute) {
          const wait = Math.max(1, Math.ceil((Date.parse(recent[recent.length - options.caps.testSendsPerMinute]!) + 60_000 - now.getTime()) / 1000));
          throw tooManyRequests(wait, `At most ${options.caps.testSendsPerMinute} test events a minute; try again in ${wait} s.`);
        }
        return enqueue(tx, userId, TEST_EVENT, { endpoint_id: endpoint.id, message: 'This is a test event from GetPaidX.' }, [endpoint]);
      });
      return (await repos.webhooks.findDelivery(userId, deliveryId!))!;
    },

    async deliveries(userId: string, endpointId: string, window: Window) {
      await get(userId, endpointId);
      return repos.webhooks.listDeliveries(userId, endpointId, window);
    },

    /** Sends the same event (same webhook-id) to the same endpoint again, as a new delivery. */
    async redeliver(userId: string, deliveryId: string) {
      const original = await repos.webhooks.findDelivery(userId, deliveryId);
      if (!original) throw notFound('Delivery');
      const id = newId('dlv');
      await repos.webhooks.insertDelivery({ id, eventId: original.eventId, endpointId: original.endpointId, userId, now: iso(clock()) });
      return (await repos.webhooks.findDelivery(userId, id))!;
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
