import type { components } from '../../../generated/openapi';
import type { Knex } from 'knex';
import type { Database } from '../knex';
import { NEWEST_FIRST, Page, pageOf, Window } from '../page';
import { preparedGet } from '../prepared';

export interface Pricing {
  model: components['schemas']['Pricing']['model'];
  amount: number | null;
  currency: string | null;
}

export interface PostRecord {
  id: string;
  userId: string;
  title: string;
  body: string;
  status: components['schemas']['PostStatus'];
  audienceTags: string[];
  pricing: Pricing;
  publishAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type PostPatch = Partial<Pick<PostRecord, 'title' | 'body' | 'status' | 'audienceTags' | 'pricing' | 'publishAt'>>;

/** A post read by id and owner; exported for the bench's floor route (scripts/bench-floor.mjs). */
export const POST_BY_OWNER_SQL = 'SELECT * FROM posts WHERE id = ? AND user_id = ?';

function toPost(row: Record<string, any>): PostRecord {
  return {
    id: row.id,
    userId: row.user_id,
    title: row.title,
    body: row.body,
    status: row.status,
    audienceTags: JSON.parse(row.audience_tags),
    pricing: { model: row.pricing_model, amount: row.price_amount ?? null, currency: row.price_currency ?? null },
    publishAt: row.publish_at ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toColumns(patch: PostPatch): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  if (patch.title !== undefined) columns.title = patch.title;
  if (patch.body !== undefined) columns.body = patch.body;
  if (patch.status !== undefined) columns.status = patch.status;
  if (patch.audienceTags !== undefined) columns.audience_tags = JSON.stringify(patch.audienceTags);
  if (patch.publishAt !== undefined) columns.publish_at = patch.publishAt;
  if (patch.pricing !== undefined) {
    columns.pricing_model = patch.pricing.model;
    columns.price_amount = patch.pricing.amount;
    columns.price_currency = patch.pricing.currency;
  }
  return columns;
}

export function postsRepository(db: Knex, database: Database) {
  // Reading one post is the API's most common call: it takes the prepared path.
  const findOne = preparedGet(database, POST_BY_OWNER_SQL);

  return {
    async insert(post: PostRecord): Promise<void> {
      await db('posts').insert({
        id: post.id,
        user_id: post.userId,
        ...toColumns(post),
        created_at: post.createdAt,
        updated_at: post.updatedAt,
      });
    },
    /** Scoped by owner: another user's id is indistinguishable from a missing one. */
    async findForUser(userId: string, id: string): Promise<PostRecord | undefined> {
      const row = await findOne(db, [id, userId]);
      return row ? toPost(row) : undefined;
    },
    /** A post on sale: published and priced. Anyone may buy it, so it is read without an owner. */
    async findPublished(id: string): Promise<PostRecord | undefined> {
      const row = await db('posts').where({ id, status: 'published' }).first();
      return row ? toPost(row) : undefined;
    },
    async findPublishedPriced(id: string): Promise<PostRecord | undefined> {
      const row = await db('posts').where({ id, status: 'published' }).whereNot({ pricing_model: 'none' }).first();
      return row ? toPost(row) : undefined;
    },
    listForUser(userId: string, filter: { status?: string }, window: Window): Promise<Page<PostRecord>> {
      const filtered = () => {
        const q = db('posts').where({ user_id: userId });
        if (filter.status) q.andWhere({ status: filter.status });
        return q;
      };
      return pageOf(filtered, ['*'], NEWEST_FIRST, window, toPost);
    },
    async update(userId: string, id: string, patch: PostPatch, now: string): Promise<boolean> {
      const changed = await db('posts').where({ id, user_id: userId }).update({ ...toColumns(patch), updated_at: now });
      return changed > 0;
    },
    async delete(userId: string, id: string): Promise<boolean> {
      return (await db('posts').where({ id, user_id: userId }).delete()) > 0;
    },
  };
}

export type PostsRepository = ReturnType<typeof postsRepository>;
