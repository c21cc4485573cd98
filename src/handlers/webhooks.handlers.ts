import { body, byId, caller, HandlerMap, noStore, pageRequest, pathParam, sendPage } from './kit';
import { presentWebhookDelivery, presentWebhookEndpoint } from './presenters';
import type { Services } from './services';

export function webhooksHandlers({ webhooks }: Services): HandlerMap {
  const present = (endpoint: Parameters<typeof presentWebhookEndpoint>[0]) => presentWebhookEndpoint(endpoint, webhooks.rotationEndsAt(endpoint));
  return {
    async listWebhookEndpoints(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await webhooks.list(caller(req).user.id, page), present);
    },
    async createWebhookEndpoint(req, res) {
      const { endpoint, secret } = await webhooks.create(caller(req).user.id, body<'createWebhookEndpoint'>(req));
      noStore(res).status(201).json({ ...present(endpoint), secret });
    },
    async getWebhookEndpoint(req, res) {
      res.json(present(await webhooks.get(caller(req).user.id, pathParam(req, 'endpointId'))));
    },
    async updateWebhookEndpoint(req, res) {
      const endpoint = await webhooks.update(caller(req).user.id, pathParam(req, 'endpointId'), body<'updateWebhookEndpoint'>(req));
      res.json(present(endpoint));
    },
    async deleteWebhookEndpoint(req, res) {
      await webhooks.remove(caller(req).user.id, pathParam(req, 'endpointId'));
      res.status(204).end();
    },
    async rotateWebhookSecret(req, res) {
      const { endpoint, secret } = await webhooks.rotateSecret(caller(req).user.id, pathParam(req, 'endpointId'));
      noStore(res).json({ ...present(endpoint), secret });
    },
    async sendTestWebhook(req, res) {
      res.status(202).json(presentWebhookDelivery(await webhooks.sendTest(caller(req).user.id, pathParam(req, 'endpointId'))));
    },
    async listWebhookDeliveries(req, res) {
      const page = pageRequest(req, byId);
      const result = await webhooks.deliveries(caller(req).user.id, pathParam(req, 'endpointId'), page);
      sendPage(res, page, result, presentWebhookDelivery);
    },
    async redeliverWebhook(req, res) {
      res.status(202).json(presentWebhookDelivery(await webhooks.redeliver(caller(req).user.id, pathParam(req, 'deliveryId'))));
    },
  };
}
