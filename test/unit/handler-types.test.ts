/**
 * Handlers are typed by the spec (src/handlers/kit.ts): answering a field the contract does not have,
 * or leaving out one it requires, fails `npm run typecheck`. The `@ts-expect-error` lines below are the
 * proof: if the typing ever stopped catching these, tsc would report the directives as unused.
 */
import type { HandlerMap } from '../../src/handlers/kit';

const user = { id: 'usr_1', email: 'a@example.com', name: null, role: 'owner' as const, two_factor_enabled: true, is_platform_admin: false, disabled: false, created_at: '2026-01-01T00:00:00.000Z' };

export const handlers: HandlerMap = {
  async getMe(_req, res) {
    // @ts-expect-error `surprise` is not in getMe's reply
    res.json({ user, credential: 'pat', scopes: [], surprise: true });
  },
  async getHealth(_req, res) {
    // @ts-expect-error getHealth's reply requires `database`
    res.json({ status: 'ok' });
  },
  async getPost(_req, res) {
    // @ts-expect-error a post's status is one of the spec's enum
    res.status(200).json({ id: 'post_1', title: 't', body: '', status: 'archived', audience_tags: [], pricing: { model: 'none', amount: null, currency: null }, publish_at: null, live: false, created_at: '', updated_at: '' });
  },
};

it('types handlers by the contract (checked by tsc, see above)', () => {
  expect(Object.keys(handlers)).toEqual(['getMe', 'getHealth', 'getPost']);
});
