import type { Window } from '../db/page';
import { Clock, iso } from '../core/clock';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { PlaceFields, PlaceRecord } from '../db/repositories/places.repository';
import { notFound } from '../core/errors';

export function createPlacesService(repos: Repositories, clock: Clock) {
  async function get(userId: string, id: string): Promise<PlaceRecord> {
    const place = await repos.places.findForUser(userId, id);
    if (!place) throw notFound('Place');
    return place;
  }

  return {
    get,
    list: (userId: string, search: string | undefined, window: Window) =>
      repos.places.listForUser(userId, search?.trim() || undefined, window),
    async create(userId: string, fields: PlaceFields): Promise<PlaceRecord> {
      const now = iso(clock());
      const id = newId('plc');
      await repos.places.insert({ id, userId, ...fields, createdAt: now, updatedAt: now });
      return get(userId, id);
    },
    async update(userId: string, id: string, patch: Partial<PlaceFields>): Promise<PlaceRecord> {
      if (!(await repos.places.update(userId, id, patch, iso(clock())))) throw notFound('Place');
      return get(userId, id);
    },
    async remove(userId: string, id: string): Promise<void> {
      if (!(await repos.places.delete(userId, id))) throw notFound('Place');
    },
  };
}

export type PlacesService = ReturnType<typeof createPlacesService>;
