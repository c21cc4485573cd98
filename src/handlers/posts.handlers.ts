import { body, caller, HandlerMap, pageRequest, pathParam, queryString, sendPage } from './kit';
import { presentPost } from './presenters';
import type { Services } from './services';

export function postsHandlers({ posts }: Services): HandlerMap {
  return {
    async listPosts(req, res) {
      const page = pageRequest(req);
      const result = await posts.list(caller(req).user.id, { status: queryString(req, 'status') }, page.offset, page.limit);
      sendPage(res, page, result, presentPost);
    },
    async createPost(req, res) {
      res.status(201).json(presentPost(await posts.create(caller(req).user.id, body<'createPost'>(req))));
    },
    async getPost(req, res) {
      res.json(presentPost(await posts.get(caller(req).user.id, pathParam(req, 'postId'))));
    },
    async updatePost(req, res) {
      res.json(presentPost(await posts.update(caller(req).user.id, pathParam(req, 'postId'), body<'updatePost'>(req))));
    },
    async deletePost(req, res) {
      await posts.remove(caller(req).user.id, pathParam(req, 'postId'));
      res.status(204).end();
    },
  };
}
