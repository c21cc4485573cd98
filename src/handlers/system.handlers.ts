import { ApiError } from '../core/errors';
import type { HandlerMap } from './kit';
import type { Services } from './services';

export function systemHandlers({ health, metrics }: Services): HandlerMap {
  return {
    async getHealth(_req, res) {
      try {
        await health();
      } catch {
        throw new ApiError('service_unavailable', 'The database does not answer.', undefined, { 'Retry-After': '5' });
      }
      res.set('Cache-Control', 'no-store').json({ status: 'ok', database: 'ok' });
    },
    async getMetrics(_req, res) {
      res.set('Content-Type', metrics.contentType).send(await metrics.render());
    },
  };
}
