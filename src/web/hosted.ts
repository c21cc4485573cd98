import { Router } from 'express';
import helmet from 'helmet';
import type { LocalProvider } from '../billing/local';
import type { BillingService } from '../services/billing.service';
import { subscriptionState } from '../services/billing.service';

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · GetPaidX (local payments)</title><link rel="stylesheet" href="/web/assets/app.css"></head>
<body><main><p class="notice">Local payment provider: no money moves. Set up the Stripe adapter for real payments.</p>
<h1>${escape(title)}</h1>${body}</main></body></html>`;
}

const button = (action: string, label: string, kind = '') => `<form method="post" action="${escape(action)}"><button type="submit" class="${kind}">${escape(label)}</button></form>`;
const money = (amount: number, currency: string) => `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
const withCheckoutId = (url: string, id: string) => `${url}${url.includes('?') ? '&' : '?'}checkout_id=${id}`;

/**
 * The `local` provider's hosted pages: what Stripe's checkout, billing portal and Connect onboarding
 * would show, with buttons that raise the same provider events, applied once through the same path as
 * Stripe's. Mounted only when the local provider is the billing provider. A checkout id, or a signed
 * short-lived link, is the capability to act on these pages (as with a provider's session URL).
 */
export function hostedRouter(local: LocalProvider, billing: BillingService): Router {
  const router = Router();
  router.use('/hosted', helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'style-src': ["'self'"], 'form-action': ['*'], 'frame-ancestors': ["'none'"], 'base-uri': ["'none'"] } },
  }), (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  const notFound = (res: import('express').Response) => res.status(404).type('html').send(page('Checkout not found', '<p>This checkout does not exist.</p>'));

  router.get('/hosted/checkout/:id', async (req, res) => {
    const checkout = await billing.checkout(req.params.id);
    if (!checkout) return notFound(res);
    const what = { pro_plan: 'GetPaidX Pro, monthly', credit_package: `${checkout.credits} workspace credits`, post: `Post ${checkout.postId}` }[checkout.kind];
    const body = checkout.status === 'open'
      ? `<p>${escape(what)}: <strong>${money(checkout.amount, checkout.currency)}</strong></p>${button(`/hosted/checkout/${checkout.id}/pay`, 'Pay')}${button(`/hosted/checkout/${checkout.id}/cancel`, 'Cancel', 'secondary')}`
      : `<p>This checkout is ${escape(checkout.status)}.</p>`;
    res.type('html').send(page('Checkout', body));
  });
  router.post('/hosted/checkout/:id/pay', async (req, res) => {
    const checkout = await billing.checkout(req.params.id);
    if (!checkout) return notFound(res);
    await billing.applyEvent({
      provider: 'local', id: `${checkout.id}:paid`, type: 'checkout.paid',
      kind: 'checkout_paid', checkoutId: checkout.id, amount: checkout.amount, currency: checkout.currency, paymentId: `local_${checkout.id}`, subscriptionId: null,
    });
    res.redirect(303, withCheckoutId(checkout.successUrl, checkout.id));
  });
  router.post('/hosted/checkout/:id/cancel', async (req, res) => {
    const checkout = await billing.checkout(req.params.id);
    if (!checkout) return notFound(res);
    await billing.applyEvent({ provider: 'local', id: `${checkout.id}:canceled`, type: 'checkout.canceled', kind: 'checkout_closed', checkoutId: checkout.id, status: 'canceled' });
    res.redirect(303, checkout.cancelUrl);
  });

  router.get('/hosted/portal/:token', async (req, res) => {
    const account = await billing.account(local.portalUser(req.params.token));
    const state = subscriptionState(account);
    const actions = state === 'active' ? button(`/hosted/portal/${req.params.token}/cancel`, 'Cancel at period end', 'danger')
      : state === 'cancels_at_period_end' ? button(`/hosted/portal/${req.params.token}/resume`, 'Resume subscription') : '';
    res.type('html').send(page('Billing portal', `<p>Plan: <strong>${account.plan}</strong>; subscription: ${state}; credits: ${account.credits}.</p>${actions}`));
  });
  router.post('/hosted/portal/:token/:action', async (req, res) => {
    const userId = local.portalUser(req.params.token);
    if (req.params.action === 'cancel') await billing.cancelAtPeriodEnd(userId);
    else if (req.params.action === 'resume') await billing.resume(userId);
    res.redirect(303, `/hosted/portal/${req.params.token}`);
  });

  router.get('/hosted/onboarding/:token', async (req, res) => {
    const account = await billing.account(local.onboardingUser(req.params.token));
    const body = account.payoutsStatus === 'enabled'
      ? '<p>Your payout account is ready: payouts and charges are enabled.</p>'
      : `<p>Payout account: ${account.payoutsStatus}.</p>${button(`/hosted/onboarding/${req.params.token}/complete`, 'Complete onboarding')}`;
    res.type('html').send(page('Payout onboarding', body));
  });
  router.post('/hosted/onboarding/:token/complete', async (req, res) => {
    const userId = local.onboardingUser(req.params.token);
    await billing.applyEvent({
      provider: 'local', id: `onboarding:${userId}:${Date.now()}`, type: 'account.updated',
      kind: 'payout_account', account: { by: 'user', id: userId }, payoutsStatus: 'enabled', chargesEnabled: true,
    });
    res.redirect(303, `/hosted/onboarding/${req.params.token}`);
  });
  return router;
}
