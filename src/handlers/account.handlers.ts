import { caller, HandlerMap, pageRequest, sendPage } from './kit';
import { presentAuditEvent, presentUser } from './presenters';
import type { Services } from './services';

export function accountHandlers({ audit }: Services): HandlerMap {
  return {
    async getMe(req, res) {
      const principal = caller(req);
      res.json({ user: presentUser(principal.user), credential: principal.kind, scopes: [...principal.scopes] });
    },
    async listAuditEvents(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await audit.list(caller(req).user.id, page.offset, page.limit), presentAuditEvent);
    },
  };
}
