import { body, caller, HandlerMap, pageRequest, pathParam, sendPage } from './kit';
import { presentUser } from './presenters';
import type { Services } from './services';

export function adminHandlers({ admin }: Services): HandlerMap {
  return {
    async listUsers(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await admin.list(page), presentUser);
    },
    async updateUser(req, res) {
      const user = await admin.update(caller(req).user, pathParam(req, 'userId'), body<'updateUser'>(req), req.ip ?? null);
      res.json(presentUser(user));
    },
  };
}
