/**
 * Lists: page/limit with meta.pagination and RFC 8288 Link headers on every list, and cursor pagination
 * (`starting_after`) on the large ones (audit events, ledger lines, runs, deliveries). Calls go through
 * the client typed by generated/ (test/helpers/typed-api.ts).
 */
import { contractDocument } from '../helpers/spec';
import { startTestApp, TestApp } from '../helpers/app';
import { buyCredits } from '../helpers/billing';
import { api, links } from '../helpers/typed-api';
import { createPat, createUser, TestUser } from '../helpers/users';

let t: TestApp;
let user: TestUser;
let pat: string;
beforeAll(async () => {
  t = await startTestApp();
  user = await createUser(t, { twoFactor: true });
  pat = (await createPat(t, user, { scopes: ['posts:read', 'posts:write', 'tokens:manage', 'billing:read', 'billing:checkout'] })).token;
});
afterAll(() => t.close());

/** Follows `next` links from `first` to the end; returns the ids in the order they came. */
async function walk(start: string, token = pat): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let next: string | undefined = start;
  let pages = 0;
  while (next !== undefined && pages < 100) {
    const path = next as '/api/audit-events';
    const res = await api(t, token).GET(path);
    expect(res.response.status).toBe(200);
    ids.push(...res.data!.data.map((item) => item.id));
    expect(res.data!.meta.pagination.has_more).toBe('next' in links(res.response.headers.get('link')));
    next = links(res.response.headers.get('link')).next;
    pages += 1;
  }
  return { ids, pages };
}

describe('Link headers', () => {
  it('name first, prev, next and last on a middle page, and keep the other query parameters', async () => {
    const writer = await createUser(t, { twoFactor: true });
    const token = (await createPat(t, writer, { scopes: ['posts:read', 'posts:write'] })).token;
    for (let i = 1; i <= 5; i++) {
      t.clock.advance(1);
      await api(t, token).POST('/api/posts', { body: { title: `post ${i}`, status: 'published' } });
    }
    const middle = await api(t, token).GET('/api/posts', { params: { query: { page: 2, limit: 2, status: 'published' } } });
    expect(middle.data!.meta.pagination).toEqual({ page: 2, limit: 2, total: 5, total_pages: 3, has_more: true });
    expect(links(middle.response.headers.get('link'))).toEqual({
      first: '/api/posts?limit=2&status=published&page=1',
      prev: '/api/posts?limit=2&status=published&page=1',
      next: '/api/posts?limit=2&status=published&page=3',
      last: '/api/posts?limit=2&status=published&page=3',
    });
    const last = await api(t, token).GET('/api/posts', { params: { query: { page: 3, limit: 2 } } });
    expect(last.data!.meta.pagination.has_more).toBe(false);
    expect(Object.keys(links(last.response.headers.get('link')))).toEqual(['first', 'prev', 'last']);
    const empty = await api(t, (await createPat(t, await createUser(t, { twoFactor: true }), { scopes: ['posts:read'] })).token).GET('/api/posts');
    expect(empty.data!.meta.pagination).toEqual({ page: 1, limit: 20, total: 0, total_pages: 0, has_more: false });
    expect(links(empty.response.headers.get('link'))).toEqual({ first: '/api/posts?page=1', last: '/api/posts?page=1' });
  });

  it('are declared on the success of every list in the contract, and starting_after on the large lists', () => {
    const doc = contractDocument();
    const lists: string[] = [];
    const cursored: string[] = [];
    for (const item of Object.values(doc.paths) as Array<Record<string, any>>) {
      const op = item.get;
      if (!op) continue;
      const names = (op.parameters ?? []).map((p: any) => (p.$ref ? doc.components.parameters[p.$ref.split('/').pop()].name : p.name));
      if (!names.includes('page')) continue;
      lists.push(op.operationId);
      expect(Object.keys(op.responses['200'].headers)).toContain('Link');
      if (names.includes('starting_after')) cursored.push(op.operationId);
    }
    expect(lists.length).toBeGreaterThanOrEqual(15);
    expect(cursored.sort()).toEqual(['listAuditEvents', 'listBalanceTransactions', 'listRuns', 'listWebhookDeliveries']);
  });
});

describe('starting_after', () => {
  it('walks the audit log by cursor: every event once, in order, the same as page by page', async () => {
    const owner = await createUser(t, { twoFactor: true });
    for (let i = 0; i < 6; i++) await createPat(t, owner, { scopes: ['posts:read'], name: `walk ${i}` });
    const reader = (await createPat(t, owner, { scopes: ['tokens:manage'] })).token;
    const all = await api(t, reader).GET('/api/audit-events', { params: { query: { limit: 100 } } });
    const everything = all.data!.data.map((e) => e.id);
    expect(everything.length).toBeGreaterThanOrEqual(8);

    const byCursor = await walk('/api/audit-events?limit=3', reader);
    expect(byCursor.ids).toEqual(everything);
    expect(byCursor.pages).toBe(Math.ceil(everything.length / 3));

    // The answer after a cursor says where it is: page 2 of pages of 3.
    const second = await api(t, reader).GET('/api/audit-events', { params: { query: { limit: 3, starting_after: everything[2]! } } });
    expect(second.data!.data.map((e) => e.id)).toEqual(everything.slice(3, 6));
    expect(second.data!.meta.pagination).toMatchObject({ page: 2, limit: 3, total: everything.length });
  });

  it('neither repeats nor skips an item while new ones arrive at the head (page numbers would)', async () => {
    const owner = await createUser(t, { twoFactor: true });
    for (let i = 0; i < 4; i++) await createPat(t, owner, { scopes: ['posts:read'], name: `before ${i}` });
    const reader = (await createPat(t, owner, { scopes: ['tokens:manage'] })).token;
    const before = (await api(t, reader).GET('/api/audit-events', { params: { query: { limit: 100 } } })).data!.data.map((e) => e.id);

    const first = await api(t, reader).GET('/api/audit-events', { params: { query: { limit: 3 } } });
    const seen = first.data!.data.map((e) => e.id);
    let next = links(first.response.headers.get('link')).next;
    expect(next).toContain('starting_after=');
    // Three new events arrive, later than everything listed, while the client is between pages.
    t.clock.advance(1);
    for (let i = 0; i < 3; i++) await createPat(t, owner, { scopes: ['posts:read'], name: `during ${i}` });
    while (next) {
      const path = next as '/api/audit-events';
      const res = await api(t, reader).GET(path);
      seen.push(...res.data!.data.map((e) => e.id));
      next = links(res.response.headers.get('link')).next;
    }
    expect(seen).toEqual(before);
    // What the same walk by page number gives: the arrivals push old items onto later pages again.
    const page2 = await api(t, reader).GET('/api/audit-events', { params: { query: { limit: 3, page: 2 } } });
    expect(page2.data!.data.map((e) => e.id)).not.toEqual(before.slice(3, 6));
  });

  it('walks the ledger lines by their ble_ ids', async () => {
    const buyer = await createUser(t, { twoFactor: true });
    const token = (await createPat(t, buyer, { scopes: ['billing:read', 'billing:checkout'] })).token;
    for (let i = 0; i < 4; i++) await buyCredits(t, token);
    const all = (await api(t, token).GET('/api/balance/transactions', { params: { query: { limit: 100 } } })).data!.data.map((l) => l.id);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const byCursor = await walk('/api/balance/transactions?limit=2', token);
    expect(byCursor.ids).toEqual(all);
  });

  it('refuses a cursor that is not an item of this list, and a cursor with page, with a 400', async () => {
    const other = await createUser(t, { twoFactor: true });
    const otherToken = (await createPat(t, other, { scopes: ['tokens:manage'] })).token;
    const theirs = (await api(t, otherToken).GET('/api/audit-events')).data!.data[0]!.id;
    const mine = api(t, pat);
    for (const [query, path] of [
      [{ starting_after: theirs }, '/query/starting_after'],
      [{ starting_after: 'aud_doesnotexist' }, '/query/starting_after'],
      [{ starting_after: theirs, page: 1 }, '/query/starting_after'],
    ] as const) {
      const res = await mine.GET('/api/audit-events', { params: { query } });
      expect(res.response.status).toBe(400);
      expect(res.error).toMatchObject({ error: { code: 'validation_failed', details: { errors: [{ path }] } } });
    }
    for (const cursor of ['ble_0', 'ble_x', 'aud_1', 'ble_99999999999999999']) {
      const res = await mine.GET('/api/balance/transactions', { params: { query: { starting_after: cursor } } });
      expect(res.response.status).toBe(400);
    }
    const malformed = await mine.GET('/api/audit-events', { params: { query: { starting_after: 'no spaces allowed' } } });
    expect(malformed.response.status).toBe(400);
  });
});
