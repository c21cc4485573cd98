import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  method: string;
  path: string;
  params: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * How the stand-in answers POST /v1/transfers: `ok`; `refuse` (a 400, a definite no); `fail` (a 500,
 * outcome unknown); `hang` (never answers: the request is lost); `record_then_hang` (the transfer is
 * made, but the answer never comes back); `record_then_fail` (the transfer is made once, and every answer
 * is a 500 while the mode lasts: Stripe acted, we never heard).
 */
export type TransferMode = 'ok' | 'refuse' | 'fail' | 'hang' | 'record_then_hang' | 'record_then_fail';

interface StandInTransfer {
  id: string;
  object: 'transfer';
  amount: number;
  currency: string | null;
  destination: string | null;
  transfer_group: string | null;
}

/**
 * A local stand-in for the parts of Stripe's API the adapter calls, reached by the official SDK through
 * its host/port/protocol settings. It records each request (form-encoded, as the SDK sends them),
 * answers with objects shaped like Stripe's, and, like Stripe, replays the first answer to a repeated
 * Idempotency-Key instead of acting twice.
 */
export async function startStripeStandIn() {
  const requests: StandInRequest[] = [];
  const transfers: StandInTransfer[] = [];
  const accounts: string[] = [];
  const idempotent = new Map<string, { status: number; body: string }>();
  let transferMode: TransferMode = 'ok';
  const hanging: ServerResponse[] = [];
  let counter = 0;
  const id = (prefix: string) => `${prefix}_standin${(counter += 1)}`;

  const makeTransfer = (p: URLSearchParams): StandInTransfer => {
    const transfer = { id: id('tr'), object: 'transfer' as const, amount: Number(p.get('amount')), currency: p.get('currency'), destination: p.get('destination'), transfer_group: p.get('transfer_group') };
    transfers.push(transfer);
    return transfer;
  };

  const posts: Record<string, (p: URLSearchParams, res: ServerResponse) => [number, unknown] | undefined> = {
    '/v1/customers': () => [200, { id: id('cus'), object: 'customer' }],
    '/v1/checkout/sessions': (p) => {
      const session = id('cs_test');
      return [200, { id: session, object: 'checkout.session', url: `https://checkout.stripe.test/c/pay/${session}`, client_reference_id: p.get('client_reference_id') }];
    },
    '/v1/billing_portal/sessions': () => [200, { id: id('bps'), object: 'billing_portal.session', url: 'https://billing.stripe.test/p/session/standin' }],
    '/v1/accounts': () => {
      accounts.push(id('acct'));
      return [200, { id: accounts.at(-1), object: 'account', payouts_enabled: false, charges_enabled: false }];
    },
    '/v1/account_links': () => [200, { object: 'account_link', url: 'https://connect.stripe.test/setup/e/standin', expires_at: Math.floor(Date.now() / 1000) + 300 }],
    '/v1/transfers': (p, res) => {
      switch (transferMode) {
        case 'refuse': return [400, { error: { type: 'invalid_request_error', code: 'balance_insufficient', message: 'Insufficient funds in Stripe account.' } }];
        case 'fail': return [500, { error: { type: 'api_error', message: 'An unknown error occurred.' } }];
        case 'hang': hanging.push(res); return undefined;
        case 'record_then_hang': makeTransfer(p); hanging.push(res); return undefined;
        case 'record_then_fail':
          if (!transfers.some((t) => t.transfer_group === p.get('transfer_group'))) makeTransfer(p);
          return [500, { error: { type: 'api_error', message: 'An unknown error occurred.' } }];
        default: return [200, makeTransfer(p)];
      }
    },
  };

  function answer(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url ?? '/', 'http://standin');
    const path = url.pathname;
    const params = req.method === 'GET' ? url.searchParams : new URLSearchParams(body);
    requests.push({ method: req.method ?? '', path, params, headers: req.headers });
    res.setHeader('content-type', 'application/json');
    const send = (status: number, payload: unknown) => res.writeHead(status).end(JSON.stringify(payload));

    if (req.method === 'GET' && path === '/v1/transfers') {
      const group = params.get('transfer_group');
      return send(200, { object: 'list', url: '/v1/transfers', has_more: false, data: transfers.filter((t) => !group || t.transfer_group === group) });
    }
    const subscription = /^\/v1\/subscriptions\/([\w-]+)$/.exec(path);
    if (req.method === 'POST' && subscription) {
      return send(200, {
        id: subscription[1], object: 'subscription', status: 'active', cancel_at_period_end: params.get('cancel_at_period_end') === 'true',
        items: { object: 'list', data: [{ current_period_end: 1900000000 }] },
      });
    }
    const route = posts[path];
    if (!route || req.method !== 'POST') return send(404, { error: { type: 'invalid_request_error', message: `No stand-in for ${req.method} ${path}` } });
    const key = req.headers['idempotency-key'];
    const replay = typeof key === 'string' ? idempotent.get(`${path} ${key}`) : undefined;
    if (replay) return res.writeHead(replay.status, { 'idempotent-replayed': 'true' }).end(replay.body);
    const result = route(params, res);
    if (!result) return undefined; // hanging
    const [status, payload] = result;
    // Stripe keeps the answer for a key only when the request ran (not for a 500).
    if (typeof key === 'string' && status < 500) idempotent.set(`${path} ${key}`, { status, body: JSON.stringify(payload) });
    return send(status, payload);
  }

  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => answer(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    requests,
    /** Transfers the stand-in "made" (each at most once per idempotency key). */
    transfers,
    /** Connected accounts created, in order. */
    accounts,
    port: (server.address() as AddressInfo).port,
    setTransferMode(mode: TransferMode) {
      transferMode = mode;
    },
    close: () => new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export type StripeStandIn = Awaited<ReturnType<typeof startStripeStandIn>>;
