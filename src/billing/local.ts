import { createHmac, timingSafeEqual } from 'node:crypto';
import { addSeconds, Clock, iso } from '../core/clock';
import type { Repositories } from '../db/repositories';
import { ApiError, notFound } from '../core/errors';
import type { BillingProvider } from './provider';

export const HOSTED_LINK_TTL_SECONDS = 15 * 60;

/**
 * The `local` provider, the embedded default: no money moves. Its checkout, billing-portal and
 * onboarding pages are served by this app under /hosted/ (src/web/hosted.ts), and their buttons raise
 * the same provider events Stripe would send. Payouts are recorded in its own table, keyed by the
 * idempotency key they were sent with, so a retried transfer is paid once, as with a real provider.
 */
export function createLocalProvider(deps: { repos: Repositories; clock: Clock; publicUrl: string; linkKey: Buffer }) {
  const { repos, clock, publicUrl, linkKey } = deps;
  const mac = (kind: string, userId: string, expires: string) => createHmac('sha256', linkKey).update(`${kind}:${userId}:${expires}`).digest();

  /** A short-lived link that stands for one user on a hosted page (HMAC-signed, like a provider's session URL). */
  function signedLink(kind: 'portal' | 'onboarding', userId: string): string {
    const expires = String(Math.floor(addSeconds(clock(), HOSTED_LINK_TTL_SECONDS).getTime() / 1000));
    return `${publicUrl}/hosted/${kind}/${userId}.${expires}.${mac(kind, userId, expires).toString('base64url')}`;
  }

  function verifyLink(kind: 'portal' | 'onboarding', token: string): string {
    const [userId, expires, given] = token.split('.');
    const expected = mac(kind, userId ?? '', expires ?? '');
    const presented = Buffer.from(given ?? '', 'base64url');
    // Strict: Node decodes base64url leniently (padding bits and stray characters are ignored), so a
    // signature is accepted only in its one canonical spelling.
    const canonical = presented.toString('base64url') === given;
    if (!userId || !canonical || presented.length !== expected.length || !timingSafeEqual(presented, expected)) throw notFound('Link');
    if (Number(expires) * 1000 < clock().getTime()) throw new ApiError('link_expired', 'This link has expired; ask for a new one.');
    return userId;
  }

  const provider: BillingProvider = {
    name: 'local',
    checkoutUrl: async (checkout) => `${publicUrl}/hosted/checkout/${checkout.id}`,
    portalUrl: async (account) => signedLink('portal', account.userId),
    onboardingUrl: async (account) => signedLink('onboarding', account.userId),
    async sendTransfer(account, transfer) {
      await repos.billing.insertLocalPayout(transfer.id, account.userId, transfer.amount, transfer.currency, iso(clock()));
      return { status: 'paid', providerTransferId: `local_${transfer.id}` };
    },
    async findTransfer(_account, transfer) {
      return (await repos.billing.localPayout(transfer.id)) ? { status: 'paid', providerTransferId: `local_${transfer.id}` } : undefined;
    },
    async setCancelAtPeriodEnd(account, cancel) {
      return { subscriptionId: account.stripeSubscriptionId ?? 'local', status: 'active', cancelAtPeriodEnd: cancel, currentPeriodEnd: account.currentPeriodEnd };
    },
  };
  return {
    ...provider,
    portalUser: (token: string) => verifyLink('portal', token),
    onboardingUser: (token: string) => verifyLink('onboarding', token),
  };
}

export type LocalProvider = ReturnType<typeof createLocalProvider>;
