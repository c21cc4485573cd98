import { Clock, iso } from '../auth/clock';
import { newId } from '../auth/token-format';
import type { Repositories } from '../db/repositories';
import type { PostPatch, PostRecord, Pricing } from '../db/repositories/posts.repository';
import { badRequest, notFound } from '../errors';

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
    if (amount !== null || currency !== null) throw badRequest('invalid_pricing', 'A post priced `none` takes no amount or currency.');
    return NO_PRICE;
  }
  if (amount === null || currency === null) {
    throw badRequest('invalid_pricing', `A ${input.model.replace('_', '-')} price needs both an amount (minor units) and a currency.`);
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

export function createPostsService(repos: Repositories, clock: Clock) {
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
      await repos.posts.insert(post);
      return view(post);
    },
    async list(userId: string, filter: { status?: string }, offset: number, limit: number) {
      const page = await repos.posts.listForUser(userId, filter, offset, limit);
      return { ...page, rows: page.rows.map(view) };
    },
    async get(userId: string, id: string): Promise<PostView> {
      const post = await repos.posts.findForUser(userId, id);
      if (!post) throw notFound('Post');
      return view(post);
    },
    async update(userId: string, id: string, input: PostInput): Promise<PostView> {
      if (!(await repos.posts.update(userId, id, toPatch(input), iso(clock())))) throw notFound('Post');
      return view((await repos.posts.findForUser(userId, id))!);
    },
    async remove(userId: string, id: string): Promise<void> {
      if (!(await repos.posts.delete(userId, id))) throw notFound('Post');
    },
  };
}

export type PostsService = ReturnType<typeof createPostsService>;
