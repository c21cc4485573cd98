import { Body, body, caller, HandlerMap, pageRequest, pathParam, queryString, sendPage } from './kit';
import { presentPost } from './presenters';
import type { PostInput } from '../services/posts.service';
import type { Services } from './services';

/** The wire's snake_case fields, as the service's input. */
function postInput(input: Body<'createPost'> | Body<'updatePost'>): PostInput {
  return {
    title: input.title,
    body: input.body,
    status: input.status,
    audienceTags: input.audience_tags,
    pricing: input.pricing,
    publishAt: input.publish_at,
  };
}

export function postsHandlers({ posts }: Services): HandlerMap {
  return {
    async listPosts(req, res) {
      const page = pageRequest(req);
      const result = await posts.list(caller(req).user.id, { status: queryString(req, 'status') }, page);
      sendPage(res, page, result, presentPost);
    },
    async createPost(req, res) {
      res.status(201).json(presentPost(await posts.create(caller(req).user.id, { ...postInput(body<'createPost'>(req)), title: body<'createPost'>(req).title })));
    },
    async getPost(req, res) {
      res.json(presentPost(await posts.get(caller(req).user.id, pathParam(req, 'postId'))));
    },
    async updatePost(req, res) {
      res.json(presentPost(await posts.update(caller(req).user.id, pathParam(req, 'postId'), postInput(body<'updatePost'>(req)))));
    },
    async deletePost(req, res) {
      await posts.remove(caller(req).user.id, pathParam(req, 'postId'));
      res.status(204).end();
    },
  };
}
