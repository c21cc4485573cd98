import { body, caller, HandlerMap, pageRequest, pathParam, queryString, sendPage } from './kit';
import { presentReferralLink } from './presenters';
import type { Services } from './services';

export function sharingHandlers({ sharing }: Services): HandlerMap {
  return {
    async listReferralLinks(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await sharing.list(caller(req).user.id, page), presentReferralLink);
    },
    async createReferralLink(req, res) {
      res.status(201).json(presentReferralLink(await sharing.create(caller(req).user.id, body<'createReferralLink'>(req))));
    },
    async getReferralLink(req, res) {
      res.json(presentReferralLink(await sharing.get(caller(req).user.id, pathParam(req, 'referralLinkId'))));
    },
    async deleteReferralLink(req, res) {
      await sharing.remove(caller(req).user.id, pathParam(req, 'referralLinkId'));
      res.status(204).end();
    },
    async getReferralLinkQr(req, res) {
      const format = queryString(req, 'format') === 'png' ? 'png' : 'svg';
      const size = Number(req.query.size ?? 256);
      const qr = await sharing.qrCode(caller(req).user.id, pathParam(req, 'referralLinkId'), format, size);
      res.type(qr.contentType).set('Cache-Control', 'private, max-age=300').send(qr.body);
    },
    async followReferralLink(req, res) {
      // Not cached: every visit must reach us to be counted.
      res.set('Cache-Control', 'no-store').redirect(302, await sharing.follow(pathParam(req, 'referenceId')));
    },
  };
}
