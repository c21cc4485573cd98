import type { Knex } from 'knex';
import { NEWEST_FIRST, ofTable, Page, pageOf, Window } from '../page';

const PLACE_ORDER = ofTable(NEWEST_FIRST, 'p');

export interface PlaceRecord {
  id: string;
  userId: string;
  ownerName: string | null;
  name: string;
  address: string;
  latitude: number;
  longitude: number;
  createdAt: string;
  updatedAt: string;
}

export type PlaceFields = Pick<PlaceRecord, 'name' | 'address' | 'latitude' | 'longitude'>;

const COLUMNS = ['p.id', 'p.user_id', 'u.name as owner_name', 'p.name', 'p.address', 'p.latitude', 'p.longitude', 'p.created_at', 'p.updated_at'];

function toPlace(row: Record<string, any>): PlaceRecord {
  return {
    id: row.id,
    userId: row.user_id,
    ownerName: row.owner_name ?? null,
    name: row.name,
    address: row.address,
    latitude: Number(row.latitude),
    longitude: Number(row.longitude),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** `%`, `_` and `\` in a search term are literal text, not wildcards. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function placesRepository(db: Knex) {
  const owned = (userId: string) => db('places as p').join('users as u', 'u.id', 'p.user_id').where('p.user_id', userId);

  return {
    async insert(place: Omit<PlaceRecord, 'ownerName'>): Promise<void> {
      await db('places').insert({
        id: place.id,
        user_id: place.userId,
        name: place.name,
        address: place.address,
        latitude: place.latitude,
        longitude: place.longitude,
        created_at: place.createdAt,
        updated_at: place.updatedAt,
      });
    },
    /** Scoped by owner: another user's id is indistinguishable from a missing one. */
    async findForUser(userId: string, id: string): Promise<PlaceRecord | undefined> {
      const row = await owned(userId).andWhere('p.id', id).first(COLUMNS);
      return row ? toPlace(row) : undefined;
    },
    listForUser(userId: string, search: string | undefined, window: Window): Promise<Page<PlaceRecord>> {
      const filtered = () => {
        const q = owned(userId);
        if (search) {
          const pattern = likePattern(search);
          q.andWhere((w) => w.whereRaw("lower(p.name) like ? escape '\\'", [pattern]).orWhereRaw("lower(p.address) like ? escape '\\'", [pattern]));
        }
        return q;
      };
      return pageOf(filtered, COLUMNS, PLACE_ORDER, window, toPlace);
    },
    async update(userId: string, id: string, patch: Partial<PlaceFields>, now: string): Promise<boolean> {
      return (await db('places').where({ id, user_id: userId }).update({ ...patch, updated_at: now })) > 0;
    },
    async delete(userId: string, id: string): Promise<boolean> {
      return (await db('places').where({ id, user_id: userId }).delete()) > 0;
    },
  };
}
