import { body, caller, HandlerMap, noStore, optionalBody, pageRequest, pathParam, sendPage } from './kit';
import { presentScopes, presentToken } from './presenters';
import type { Services } from './services';

export function tokensHandlers({ tokens }: Services): HandlerMap {
  return {
    async listTokens(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await tokens.list(caller(req).user.id, page), presentToken);
    },

    async createToken(req, res) {
      const { record, raw } = await tokens.create(caller(req), body<'createToken'>(req), req.ip ?? null);
      noStore(res).status(201).json({ ...presentToken(record), token: raw });
    },

    async getCurrentToken(req, res) {
      const principal = caller(req);
      if (principal.kind !== 'pat') throw new Error('getCurrentToken reached without a PAT');
      res.json({ ...presentToken(principal.token), user_id: principal.user.id, effective_scopes: presentScopes(principal.scopes) });
    },

    async getToken(req, res) {
      res.json(presentToken(await tokens.get(caller(req).user.id, pathParam(req, 'tokenId'))));
    },

    async revokeToken(req, res) {
      await tokens.revoke(caller(req), pathParam(req, 'tokenId'), req.ip ?? null);
      res.status(204).end();
    },

    async reportLeakedTokens(req, res) {
      const { received, revoke } = await tokens.reportLeaked(body<'reportLeakedTokens'>(req).tokens, req.ip ?? null);
      // Answered before the revocations run, so the time taken does not tell live values from dead ones;
      // a failure after the answer reaches the error handler, which logs it.
      res.status(202).json({ received });
      await revoke();
    },

    async revokeAllTokens(req, res) {
      res.json(await tokens.revokeAll(caller(req), req.ip ?? null));
    },

    async rotateToken(req, res) {
      const graceSeconds = optionalBody<'rotateToken'>(req).grace_seconds ?? 0;
      const { record, raw } = await tokens.rotate(caller(req), pathParam(req, 'tokenId'), graceSeconds, req.ip ?? null);
      noStore(res).json({ ...presentToken(record), token: raw });
    },
  };
}
