import type { Window } from '../db/page';
import QRCode from 'qrcode';
import type { components } from '../../generated/openapi';
import { Clock, iso } from '../core/clock';
import { newId, randomBase62 } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { ReferralLinkRecord, Utm } from '../db/repositories/referral-links.repository';
import { fail, notFound } from '../core/errors';

export interface ReferralLinkView extends ReferralLinkRecord {
  url: string;
  targetUrl: string;
}

const UTM_KEYS: ReadonlyArray<keyof Utm> = ['source', 'medium', 'campaign', 'term', 'content'];

/**
 * Referral links: a short code under the API's own /r/, redirecting to a post or a profile on the
 * product site with the link's UTM parameters; visits are counted on the redirect.
 */
export function createSharingService(repos: Repositories, clock: Clock, urls: { publicUrl: string; siteUrl: string }) {
  function targetUrl(link: ReferralLinkRecord): string {
    const target = new URL(link.targetType === 'post' ? `/posts/${link.targetId}` : `/u/${link.userId}`, `${urls.siteUrl}/`);
    for (const key of UTM_KEYS) {
      const value = link.utm[key];
      if (value) target.searchParams.set(`utm_${key}`, value);
    }
    // The site passes `ref` on as the checkout's referral_code, so a sale through the link earns its share.
    target.searchParams.set('ref', link.code);
    return target.toString();
  }

  const view = (link: ReferralLinkRecord): ReferralLinkView => ({
    ...link,
    url: `${urls.publicUrl}/r/${link.code}`,
    targetUrl: targetUrl(link),
  });

  async function get(userId: string, id: string): Promise<ReferralLinkView> {
    const link = await repos.referralLinks.findForUser(userId, id);
    if (!link) throw notFound('Referral link');
    return view(link);
  }

  return {
    get,
    async list(userId: string, window: Window) {
      const page = await repos.referralLinks.listForUser(userId, window);
      return { ...page, rows: page.rows.map(view) };
    },
    async create(userId: string, input: components['schemas']['CreateReferralLinkRequest']): Promise<ReferralLinkView> {
      const { target } = input;
      if (target.type === 'post') {
        // Your own posts, or anyone's published post (an affiliate link: sales through it earn you the
        // referral share); any other id is a 404, like every other id.
        const promotable = (await repos.posts.findForUser(userId, target.post_id)) ?? (await repos.posts.findPublished(target.post_id));
        if (!promotable) throw notFound('Post');
      }
      const code = input.code ?? randomBase62(8);
      if (input.code && (await repos.referralLinks.codeTaken(code))) throw fail('code_taken', `The code "${code}" is taken; choose another or leave it out for a random one.`);
      const link: ReferralLinkRecord = {
        id: newId('ref'),
        userId,
        code,
        targetType: target.type,
        targetId: target.type === 'post' ? target.post_id : null,
        utm: input.utm ?? {},
        visits: 0,
        lastVisitedAt: null,
        createdAt: iso(clock()),
      };
      try {
        await repos.referralLinks.insert(link);
      } catch (err) {
        if (await repos.referralLinks.codeTaken(code)) throw fail('code_taken', `The code "${code}" is taken; choose another.`);
        throw err;
      }
      return view(link);
    },
    async remove(userId: string, id: string): Promise<void> {
      if (!(await repos.referralLinks.delete(userId, id))) throw notFound('Referral link');
    },
    /** The redirect target for a visit, counting it; unknown codes are a 404. */
    async follow(code: string): Promise<string> {
      const link = await repos.referralLinks.recordVisit(code, iso(clock()));
      if (!link) throw notFound('Referral link');
      return targetUrl(link);
    },
    async qrCode(userId: string, id: string, format: 'svg' | 'png', size: number): Promise<{ contentType: string; body: Buffer | string }> {
      const link = await get(userId, id);
      if (format === 'png') {
        return { contentType: 'image/png', body: await QRCode.toBuffer(link.url, { type: 'png', width: size, margin: 2, errorCorrectionLevel: 'M' }) };
      }
      return { contentType: 'image/svg+xml', body: await QRCode.toString(link.url, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' }) };
    },
  };
}

export type SharingService = ReturnType<typeof createSharingService>;
