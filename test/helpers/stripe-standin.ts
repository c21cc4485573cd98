import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  path: string;
  params: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * A local stand-in for the parts of Stripe's API the adapter calls, reached by the official SDK through
 * its host/port/protocol settings. It records each request (form-encoded, as the SDK sends them) and
 * answers with objects shaped like Stripe's.
 */
export async function startStripeStandIn() {
  const requests: StandInRequest[] = [];
  let counter = 0;
  const id = (prefix: string) => `${prefix}_standin${(counter += 1)}`;
  const routes: Record<string, (p: URLSearchParams) => Record<string, unknown>> = {
    '/v1/customers': () => ({ id: id('cus'), object: 'customer' }),
    '/v1/checkout/sessions': (p) => {
      const session = id('cs_test');
      return { id: session, object: 'checkout.session', url: `https://checkout.stripe.test/c/pay/${session}`, client_reference_id: p.get('client_reference_id') };
    },
    '/v1/billing_portal/sessions': () => ({ id: id('bps'), object: 'billing_portal.session', url: 'https://billing.stripe.test/p/session/standin' }),
    '/v1/accounts': () => ({ id: id('acct'), object: 'account', payouts_enabled: false, charges_enabled: false }),
    '/v1/account_links': () => ({ object: 'account_link', url: 'https://connect.stripe.test/setup/e/standin', expires_at: Math.floor(Date.now() / 1000) + 300 }),
    '/v1/transfers': (p) => ({ id: id('tr'), object: 'transfer', amount: Number(p.get('amount')), currency: p.get('currency'), destination: p.get('destination') }),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const params = new URLSearchParams(body);
      requests.push({ method: req.method ?? '', path, params, headers: req.headers });
      const route = routes[path];
      res.setHeader('content-type', 'application/json');
      if (!route || req.method !== 'POST') {
        res.writeHead(404).end(JSON.stringify({ error: { type: 'invalid_request_error', message: `No stand-in for ${req.method} ${path}` } }));
        return;
      }
      res.writeHead(200).end(JSON.stringify(route(params)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    requests,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
