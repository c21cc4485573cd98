/**
 * Revocation reaches descendants (issue 15). Never: a token that answers 200 while any ancestor of it is
 * revoked, whatever the order or concurrency of the revocation and of the parent minting new children.
 */
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { http } from '../helpers/typed-http';
import { createPat, createUser, freshJwt, TestUser } from '../helpers/users';

let t: TestApp;
let owner: TestUser;
beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
  owner = await createUser(t, { twoFactor: true });
  // An endpoint subscribed to token.revoked, so each revocation's event is written to the outbox.
  expect((await http(t, owner.jwt).post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/revocations', events: ['token.revoked'] })).status).toBe(201);
});
afterAll(() => t.close());

/** A PAT minted by another PAT (tokens:manage), the way a script hands a narrower token on. */
async function mint(parent: string, scopes: Array<'tokens:manage' | 'posts:read'> = ['tokens:manage', 'posts:read']) {
  const res = await http(t, parent).post('/api/tokens', { name: 'child', scopes });
  expect(res.status).toBe(201);
  return { id: res.body.id as string, token: res.body.token as string };
}

const works = async (token: string) => (await http(t, token).get('/api/posts')).status === 200;

describe('revoking a token revokes its lineage', () => {
  it('three levels deep: the grandchild stops on the next request, each audited and announced with its ancestor', async () => {
    const root = await createPat(t, owner, { scopes: ['tokens:manage', 'posts:read'] });
    const child = await mint(root.token);
    const grandchild = await mint(child.token);
    const greatGrandchild = await mint(grandchild.token, ['posts:read']);
    for (const token of [root, child, grandchild, greatGrandchild]) expect(await works(token.token)).toBe(true);

    expect((await http(t, owner.jwt).delete(`/api/tokens/${root.id}`)).status).toBe(204);
    for (const token of [root, child, grandchild, greatGrandchild]) expectError(await http(t, token.token).get('/api/posts'), 401, 'invalid_token');
    // …and the revoked grandchild can no longer mint.
    expectError(await http(t, grandchild.token).post('/api/tokens', { name: 'late', scopes: ['posts:read'] }), 401, 'invalid_token');

    const audited = await t.database.knex('audit_events').where({ type: 'token.revoked' }).whereIn('token_id', [root.id, child.id, grandchild.id, greatGrandchild.id]).select('token_id', 'details');
    expect(audited.map((a: { token_id: string }) => a.token_id).sort()).toEqual([root.id, child.id, grandchild.id, greatGrandchild.id].sort());
    const events = (await t.database.knex('webhook_events').where({ type: 'token.revoked' }).select('payload')).map((e: { payload: string }) => JSON.parse(e.payload).data);
    expect(events).toEqual(expect.arrayContaining([
      { id: root.id, by: 'jwt' },
      { id: child.id, by: 'jwt', ancestor_id: root.id },
      { id: grandchild.id, by: 'jwt', ancestor_id: root.id },
      { id: greatGrandchild.id, by: 'jwt', ancestor_id: root.id },
    ]));
    // A second revocation finds nothing left to revoke.
    expectError(await http(t, owner.jwt).delete(`/api/tokens/${root.id}`), 404, 'not_found');
  });

  it('reaches down, never up or sideways: the parent and a sibling keep working', async () => {
    const parent = await createPat(t, owner, { scopes: ['tokens:manage', 'posts:read'] });
    const [a, b] = [await mint(parent.token), await mint(parent.token)];
    const underA = await mint(a.token);
    // The parent PAT revokes one child (tokens:manage over its own lineage).
    expect((await http(t, parent.token).delete(`/api/tokens/${a!.id}`)).status).toBe(204);
    expect(await works(a!.token)).toBe(false);
    expect(await works(underA.token)).toBe(false);
    expect(await works(b!.token)).toBe(true);
    expect(await works(parent.token)).toBe(true);
  });

  it('leaves no live child of a revoked parent while the parent mints and is revoked at the same time', async () => {
    for (let round = 0; round < 8; round++) {
      owner.jwt = await freshJwt(t, owner.id);
      const root = await createPat(t, owner, { scopes: ['tokens:manage', 'posts:read'] });
      const child = await mint(root.token);
      const [, ...minted] = await Promise.all([
        http(t, owner.jwt).delete(`/api/tokens/${root.id}`),
        ...Array.from({ length: 4 }, () => http(t, child.token).post('/api/tokens', { name: 'racing', scopes: ['posts:read'] })),
      ]);
      for (const res of minted) {
        // A mint that lost the race is refused; one that won made a token the revocation then reached.
        expect([201, 401]).toContain(res.status);
        if (res.status === 201) expect(await works(res.body.token)).toBe(false);
      }
      expect(await works(child.token)).toBe(false);
    }
  });
});

describe('POST /api/tokens/revoke-all', () => {
  it('revokes every token of the caller at once, audited, and leaves other users alone', async () => {
    const user = await createUser(t, { twoFactor: true });
    const other = await createUser(t, { twoFactor: true });
    const mine = [await createPat(t, user, { scopes: ['posts:read'] }), await createPat(t, user, { scopes: ['posts:read', 'tokens:manage'] })];
    const theirs = await createPat(t, other, { scopes: ['posts:read'] });
    const res = await http(t, user.jwt).post('/api/tokens/revoke-all');
    expect(res.status).toBe(200);
    expect([...res.body.revoked].sort()).toEqual(mine.map((m) => m.id).sort());
    for (const { token } of mine) expect(await works(token)).toBe(false);
    expect(await works(theirs.token)).toBe(true);
    expect(await t.database.knex('audit_events').where({ type: 'token.revoked', user_id: user.id }).count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    expect((await http(t, user.jwt).post('/api/tokens/revoke-all')).body).toEqual({ revoked: [] });
  });

  it('is for a signed-in person: a PAT, even with tokens:manage, is refused', async () => {
    const pat = await createPat(t, owner, { scopes: ['tokens:manage'] });
    expectError(await http(t, pat.token).post('/api/tokens/revoke-all'), 403, 'auth_mode_not_allowed');
    expect(await works((await createPat(t, owner, { scopes: ['posts:read'] })).token)).toBe(true);
  });
});
