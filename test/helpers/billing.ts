import request from 'supertest';
import type { TestApp } from './app';
import { http, type BodyFor } from './typed-http';

type CheckoutBody = BodyFor<'post', '/api/billing/checkout'>;
type CheckoutItem = CheckoutBody['item'];

/** Return URLs on the product site the test apps are configured with (SITE_URL). */
export const RETURN_URLS = { success_url: 'https://app.example.com/billing/done', cancel_url: 'https://app.example.com/billing' };

export const hostedPath = (url: string) => new URL(url).pathname;

/** Creates a checkout through the API (the PAT needs billing:checkout). */
export function createCheckout(t: TestApp, pat: string, item: CheckoutItem, extra: Partial<CheckoutBody> = {}) {
  return http(t, pat).post('/api/billing/checkout', { item, ...RETURN_URLS, ...extra });
}

/** Creates a checkout and pays it on the local provider's hosted page; returns the checkout. */
export async function checkoutAndPay(t: TestApp, pat: string, item: CheckoutItem, extra: Partial<CheckoutBody> = {}) {
  const created = await createCheckout(t, pat, item, extra);
  if (created.status !== 201) throw new Error(`checkout failed: ${created.status} ${JSON.stringify(created.body)}`);
  await request(t.app).post(`${hostedPath(created.body.url)}/pay`).expect(303);
  return created.body as { id: string; url: string; amount: number; currency: string };
}

/** Buys a credit package (small: 100 credits) through a paid checkout. */
export const buyCredits = (t: TestApp, pat: string, pack: 'small' | 'large' = 'small') => checkoutAndPay(t, pat, { type: 'credit_package', package: pack });

/** Completes payout onboarding on the local provider's hosted page (the PAT needs payouts:manage). */
export async function onboardPayouts(t: TestApp, pat: string): Promise<void> {
  const link = await http(t, pat).post('/api/payouts/onboarding');
  await request(t.app).post(`${hostedPath(link.body.url)}/complete`).expect(303);
}

/** A published post priced at `amount` (the PAT needs posts:write). */
export async function pricedPost(t: TestApp, pat: string, amount: number, currency = 'usd'): Promise<string> {
  const post = await http(t, pat).post('/api/posts', { title: `For sale at ${amount}`, status: 'published', pricing: { model: 'one_time', amount, currency } });
  if (post.status !== 201) throw new Error(`post failed: ${post.status} ${JSON.stringify(post.body)}`);
  return post.body.id as string;
}

export async function balanceOf(t: TestApp, pat: string, currency = 'usd') {
  const res = await http(t, pat).get('/api/balance');
  if (res.status !== 200) throw new Error(`balance failed: ${res.status} ${JSON.stringify(res.body)}`);
  const row = (res.body.data as Array<Record<string, number | string>>).find((r) => r.currency === currency);
  return { available: 0, owed: 0, pending: 0, in_flight: 0, ...row, credits: res.body.credits as number } as { available: number; owed: number; pending: number; in_flight: number; credits: number };
}
