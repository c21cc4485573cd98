import { Clock, iso } from '../auth/clock';
import { newId } from '../auth/token-format';
import type { Repositories } from '../db/repositories';
import type { PostPatch, PostRecord } from '../db/repositories/posts.repository';
import { notFound } from '../errors';

export function createPostsService(repos: Repositories, clock: Clock) {
  return {
    async create(userId: string, input: { title: string; body?: string; status?: PostRecord['status'] }): Promise<PostRecord> {
      const now = iso(clock());
      const post: PostRecord = {
        id: newId('post'),
        userId,
        title: input.title,
        body: input.body ?? '',
        status: input.status ?? 'draft',
        createdAt: now,
        updatedAt: now,
      };
      await repos.posts.insert(post);
      return post;
    },
    list: (userId: string, filter: { status?: string }, offset: number, limit: number) =>
      repos.posts.listForUser(userId, filter, offset, limit),
    async get(userId: string, id: string): Promise<PostRecord> {
      const post = await repos.posts.findForUser(userId, id);
      if (!post) throw notFound('Post');
      return post;
    },
    async update(userId: string, id: string, patch: PostPatch): Promise<PostRecord> {
      if (!(await repos.posts.update(userId, id, patch, iso(clock())))) throw notFound('Post');
      return (await repos.posts.findForUser(userId, id))!;
    },
    async remove(userId: string, id: string): Promise<void> {
      if (!(await repos.posts.delete(userId, id))) throw notFound('Post');
    },
  };
}

export type PostsService = ReturnType<typeof createPostsService>;
