import type { Window } from '../db/page';
import { Clock, iso } from '../core/clock';
import { newId } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { PostPatch, PostRecord, Pricing } from '../db/repositories/posts.repository';
import { fail, notFound } from '../core/errors';
import type { WebhooksService } from './webhooks.service';

export interface PostInput {
  title?: string;
  body?: string;
  status?: PostRecord['status'];
  audienceTags?: string[];
  pricing?: { model: Pricing['model']; amount?: number | null; currency?: string | null };
  publishAt?: string | null;
}

/** A post as readers see it: `live` once it is published and its publish time has come. */
export type PostView = PostRecord & { live: boolean };

const NO_PRICE: Pricing = { model: 'none', amount: null, currency: null };

/** A price is all or nothing: `none` carries no amount, a one-time or monthly price both parts. */
function checkedPricing(input: NonNullable<PostInput['pricing']>): Pricing {
  const amount = input.amount ?? null;
  const currency = input.currency ?? null;
  if (input.model === 'none') {
    if (amount !== null || currency !== null) throw fail('invalid_pricing', 'A post priced `none` takes no amount or currency.');
    return NO_PRICE;
  }
  if (amount === null || currency === null) {
    throw fail('invalid_pricing', `A ${input.model.replace('_', '-')} price needs both an amount (minor units) and a currency.`);
  }
  return { model: input.model, amount, currency };
}

function toPatch(input: PostInput): PostPatch {
  const patch: PostPatch = {};
  if (input.title !== undefined) patch.title = input.title;
  if (input.body !== undefined) patch.body = input.body;
  if (input.status !== undefined) patch.status = input.status;
  if (input.audienceTags !== undefined) patch.audienceTags = input.audienceTags;
  if (input.pricing !== undefined) patch.pricing = checkedPricing(input.pricing);
  if (input.publishAt !== undefined) patch.publishAt = input.publishAt === null ? null : iso(new Date(input.publishAt));
  return patch;
}

/** What a webhook says about a post: the same fields the API returns, without the body text. */
function eventData(post: PostView) {
  return { id: post.id, title: post.title, status: post.status, live: post.live, audience_tags: post.audienceTags, pricing: post.pricing, publish_at: post.publishAt, updated_at: post.updatedAt };
}

export function createPostsService(repos: Repositories, clock: Clock, webhooks: Pick<WebhooksService, 'emit'>) {
  const view = (post: PostRecord): PostView => ({
    ...post,
    live: post.status === 'published' && (post.publishAt === null || post.publishAt <= iso(clock())),
  });

  return {
    async create(userId: string, input: PostInput & { title: string }): Promise<PostView> {
      const now = iso(clock());
      const post: PostRecord = {
        id: newId('post'),
        userId,
        title: input.title,
        body: '',
        status: 'draft',
        audienceTags: [],
        pricing: NO_PRICE,
        publishAt: null,
        ...toPatch(input),
        createdAt: now,
        updatedAt: now,
      };
      const created = view(post);
      await repos.transaction(async (tx) => {
        await tx.posts.insert(post);
        await webhooks.emit(tx, userId, 'post.created', eventData(created));
      });
      return created;
    },
    async list(userId: string, filter: { status?: string }, window: Window) {
      const page = await repos.posts.listForUser(userId, filter, window);
      return { ...page, rows: page.rows.map(view) };
    },
    async get(userId: string, id: string): Promise<PostView> {
      const post = await repos.posts.findForUser(userId, id);
      if (!post) throw notFound('Post');
      return view(post);
    },
    async update(userId: string, id: string, input: PostInput): Promise<PostView> {
      const patch = toPatch(input);
      return repos.transaction(async (tx) => {
        if (!(await tx.posts.update(userId, id, patch, iso(clock())))) throw notFound('Post');
        const updated = view((await tx.posts.findForUser(userId, id))!);
        await webhooks.emit(tx, userId, 'post.updated', eventData(updated));
        return updated;
      });
    },
    async remove(userId: string, id: string): Promise<void> {
      await repos.transaction(async (tx) => {
        if (!(await tx.posts.delete(userId, id))) throw notFound('Post');
        await webhooks.emit(tx, userId, 'post.deleted', { id });
      });
    },
  };
}

export type PostsService = ReturnType<typeof createPostsService>;
