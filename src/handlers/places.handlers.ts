import { body, caller, HandlerMap, pageRequest, pathParam, queryString, sendPage } from './kit';
import { presentPlace } from './presenters';
import type { Services } from './services';

export function placesHandlers({ places }: Services): HandlerMap {
  return {
    async listPlaces(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await places.list(caller(req).user.id, queryString(req, 'q'), page), presentPlace);
    },
    async createPlace(req, res) {
      res.status(201).json(presentPlace(await places.create(caller(req).user.id, body<'createPlace'>(req))));
    },
    async getPlace(req, res) {
      res.json(presentPlace(await places.get(caller(req).user.id, pathParam(req, 'placeId'))));
    },
    async updatePlace(req, res) {
      res.json(presentPlace(await places.update(caller(req).user.id, pathParam(req, 'placeId'), body<'updatePlace'>(req))));
    },
    async deletePlace(req, res) {
      await places.remove(caller(req).user.id, pathParam(req, 'placeId'));
      res.status(204).end();
    },
  };
}
