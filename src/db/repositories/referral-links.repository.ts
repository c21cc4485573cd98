import type { Knex } from 'knex';
import { NEWEST_FIRST, Page, pageOf, Window } from '../page';

export interface Utm {
  source?: string;
  medium?: string;
  campaign?: string;
  term?: string;
  content?: string;
}

export interface ReferralLinkRecord {
  id: string;
  userId: string;
  code: string;
  targetType: 'post' | 'profile';
  targetId: string | null;
  utm: Utm;
  visits: number;
  lastVisitedAt: string | null;
  createdAt: string;
}

function toLink(row: Record<string, any>): ReferralLinkRecord {
  return {
    id: row.id,
    userId: row.user_id,
    code: row.code,
    targetType: row.target_type,
    targetId: row.target_id ?? null,
    utm: JSON.parse(row.utm),
    visits: Number(row.visits),
    lastVisitedAt: row.last_visited_at ?? null,
    createdAt: row.created_at,
  };
}

export function referralLinksRepository(db: Knex) {
  return {
    async insert(link: ReferralLinkRecord): Promise<void> {
      await db('referral_links').insert({
        id: link.id,
        user_id: link.userId,
        code: link.code,
        target_type: link.targetType,
        target_id: link.targetId,
        utm: JSON.stringify(link.utm),
        visits: link.visits,
        created_at: link.createdAt,
      });
    },
    async codeTaken(code: string): Promise<boolean> {
      return Boolean(await db('referral_links').where({ code }).first('id'));
    },
    async findByCode(code: string): Promise<ReferralLinkRecord | undefined> {
      const row = await db('referral_links').where({ code }).first();
      return row ? toLink(row) : undefined;
    },
    async findForUser(userId: string, id: string): Promise<ReferralLinkRecord | undefined> {
      const row = await db('referral_links').where({ id, user_id: userId }).first();
      return row ? toLink(row) : undefined;
    },
    listForUser(userId: string, window: Window): Promise<Page<ReferralLinkRecord>> {
      return pageOf(() => db('referral_links').where({ user_id: userId }), ['*'], NEWEST_FIRST, window, toLink);
    },
    async delete(userId: string, id: string): Promise<boolean> {
      return (await db('referral_links').where({ id, user_id: userId }).delete()) > 0;
    },
    /** Counts a visit in one statement (no read-modify-write race) and returns the link. */
    async recordVisit(code: string, now: string): Promise<ReferralLinkRecord | undefined> {
      const changed = await db('referral_links').where({ code }).update({ visits: db.raw('visits + 1'), last_visited_at: now });
      if (changed === 0) return undefined;
      return toLink(await db('referral_links').where({ code }).first());
    },
  };
}
