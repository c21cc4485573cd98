/** The Account surface: notification preferences, organizations and invitations, referral links, usage. */
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import request from 'supertest';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { asBytes, asText } from '../helpers/bodies';
import { bearer, createPat, createUser, freshJwt, TestUser, allScopes, type Scope } from '../helpers/users';
import { http } from '../helpers/typed-http';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ SITE_URL: 'https://getpaidx.example', PUBLIC_URL: 'https://api.getpaidx.example' });
});
afterAll(() => t.close());

async function userWith(scopes: Scope[]): Promise<{ user: TestUser; pat: string }> {
  const user = await createUser(t, { twoFactor: true });
  return { user, pat: (await createPat(t, user, { scopes })).token };
}

describe('notification preferences', () => {
  it('start all on, change one at a time, and say what is actually sent', async () => {
    const { pat } = await userWith(['notifications:read', 'notifications:write']);
    const initial = await http(t, pat).get('/api/notifications/preferences');
    expect(initial.body).toMatchObject({ paused_all: false, payments_and_receipts: true, reminders: true, onboarding_tips: true, product_updates: true, notice: null, updated_at: null });
    const changed = await http(t, pat).patch('/api/notifications/preferences', { product_updates: false });
    expect(changed.body).toMatchObject({ product_updates: false, reminders: true, sent: { product_updates: false, reminders: true } });
    expect((await http(t, pat).get('/api/notifications/preferences')).body.product_updates).toBe(false);
  });

  it('keep payment receipts on when everything is paused, and say so', async () => {
    const { pat } = await userWith(['notifications:read', 'notifications:write']);
    const paused = await http(t, pat).patch('/api/notifications/preferences', { paused_all: true });
    expect(paused.body.sent).toEqual({ payments_and_receipts: true, reminders: false, onboarding_tips: false, product_updates: false });
    expect(paused.body.notice).toMatch(/receipts are still sent/i);
    // The choices underneath the pause are kept for when it is lifted.
    expect(paused.body).toMatchObject({ reminders: true, onboarding_tips: true });
  });

  it('refuse to turn receipts off, with nothing changed', async () => {
    const { pat } = await userWith(['notifications:read', 'notifications:write']);
    const res = await http(t, pat).patch('/api/notifications/preferences', { payments_and_receipts: false, reminders: false });
    expectError(res, 400, 'receipts_required');
    expect((await http(t, pat).get('/api/notifications/preferences')).body.reminders).toBe(true);
    expectError(await http(t, pat).patch('/api/notifications/preferences', {}), 400, 'validation_failed');
  });

  it('need notifications:write to change them', async () => {
    const { pat } = await userWith(['notifications:read']);
    expectError(await http(t, pat).patch('/api/notifications/preferences', { reminders: false }), 403, 'insufficient_scope');
  });
});

describe('organizations', () => {
  it('are created with the creator as owner; invitations are accepted by the invited user only, once', async () => {
    const owner = await userWith(['memberships:manage']);
    const guest = await createUser(t, { twoFactor: true });
    const stranger = await createUser(t, { twoFactor: true });
    const org = await http(t, owner.pat).post('/api/organizations', { name: 'Acme Studio' });
    expect(org.status).toBe(201);
    expect(org.body).toMatchObject({ name: 'Acme Studio', your_role: 'owner', member_count: 1 });

    const invite = await http(t, owner.pat).post(`/api/organizations/${org.body.id}/invitations`, { email: guest.email.toUpperCase(), role: 'member' });
    expect(invite.status).toBe(201);
    expect(invite.headers['cache-control']).toContain('no-store');
    expect(invite.body.token).toMatch(/^gpx_inv_/);
    expect(invite.body.email).toBe(guest.email);
    const stored = await t.database.knex('organization_invitations').where({ id: invite.body.id }).first();
    expect(JSON.stringify(stored)).not.toContain(invite.body.token);

    expectError(await request(t.app).post(invite.body.accept_path).set(bearer(stranger.jwt)).send({ token: invite.body.token }), 403, 'invitation_email_mismatch');
    t.clock.advance(1);
    // The token never travels in a URL: the old path-token route is gone.
    expect(invite.body.accept_path).toBe('/api/invitations/accept');
    expect((await request(t.app).post(`/api/invitations/${invite.body.token}/accept`).set(bearer(guest.jwt))).status).toBe(404);
    const accepted = await request(t.app).post(invite.body.accept_path).set(bearer(guest.jwt)).send({ token: invite.body.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ organization_id: org.body.id, user_id: guest.id, role: 'member', tags: [] });
    expectError(await request(t.app).post(invite.body.accept_path).set(bearer(guest.jwt)).send({ token: invite.body.token }), 404, 'not_found');

    const members = await http(t, owner.pat).get(`/api/organizations/${org.body.id}/members`);
    expect(members.body.data.map((m: any) => [m.email, m.role])).toEqual([[owner.user.email, 'owner'], [guest.email, 'member']]);
    expect((await http(t, owner.pat).get('/api/organizations')).body.data[0]).toMatchObject({ member_count: 2 });
    expect((await http(t, guest.jwt).get(`/api/organizations/${org.body.id}`)).body).toMatchObject({ id: org.body.id, your_role: 'member', member_count: 2 });
  });

  it('let owners and admins change roles and tags and remove members; members may only leave', async () => {
    const owner = await userWith(['memberships:manage']);
    const alice = await userWith(['memberships:manage']);
    const bob = await userWith(['memberships:manage']);
    const org = (await http(t, owner.pat).post('/api/organizations', { name: 'Roster' })).body;
    for (const who of [alice, bob]) {
      const inv = await http(t, owner.pat).post(`/api/organizations/${org.id}/invitations`, { email: who.user.email, role: 'member' });
      await request(t.app).post(inv.body.accept_path).set(bearer(who.user.jwt)).send({ token: inv.body.token }).expect(200);
    }
    const member = (id: string) => `/api/organizations/${org.id}/members/${id}`;

    expectError(await request(t.app).patch(member(bob.user.id)).set(bearer(alice.pat)).send({ role: 'admin' }), 403, 'organization_role_required');
    expectError(await request(t.app).delete(member(bob.user.id)).set(bearer(alice.pat)), 403, 'organization_role_required');
    expectError(await http(t, alice.pat).post(`/api/organizations/${org.id}/invitations`, { email: 'x@example.com', role: 'member' }), 403, 'organization_role_required');

    const promoted = await request(t.app).patch(member(alice.user.id)).set(bearer(owner.pat)).send({ role: 'admin', tags: ['design', 'nyc'] });
    expect(promoted.body).toMatchObject({ role: 'admin', tags: ['design', 'nyc'] });
    // An admin runs the roster but cannot touch owners or make new ones.
    expect((await request(t.app).patch(member(bob.user.id)).set(bearer(alice.pat)).send({ tags: ['sales'] })).body.tags).toEqual(['sales']);
    expectError(await request(t.app).patch(member(bob.user.id)).set(bearer(alice.pat)).send({ role: 'owner' }), 403, 'organization_role_required');
    expectError(await request(t.app).delete(member(owner.user.id)).set(bearer(alice.pat)), 403, 'organization_role_required');
    expect((await request(t.app).delete(member(bob.user.id)).set(bearer(alice.pat))).status).toBe(204);

    // The last owner can neither be demoted nor leave.
    expectError(await request(t.app).patch(member(owner.user.id)).set(bearer(owner.pat)).send({ role: 'member' }), 409, 'last_owner');
    expectError(await request(t.app).delete(member(owner.user.id)).set(bearer(owner.pat)), 409, 'last_owner');
    expect((await request(t.app).delete(member(alice.user.id)).set(bearer(alice.pat))).status).toBe(204);
    expectError(await http(t, alice.pat).get(`/api/organizations/${org.id}`), 404, 'not_found');
  });

  it('refuse an expired invitation and a second accept of the same one', async () => {
    const owner = await userWith(['memberships:manage']);
    const guest = await createUser(t, { twoFactor: true });
    const org = (await http(t, owner.pat).post('/api/organizations', { name: 'Slow' })).body;
    const inv = await http(t, owner.pat).post(`/api/organizations/${org.id}/invitations`, { email: guest.email, role: 'viewer' });
    t.clock.advance(7 * 24 * 3600 + 1);
    const jwt = await freshJwt(t, guest.id);
    expectError(await request(t.app).post(inv.body.accept_path).set(bearer(jwt)).send({ token: inv.body.token }), 404, 'not_found');
  });

  it('keep tokens with the user: a PAT cannot accept an invitation', async () => {
    const guest = await userWith(allScopes(t));
    expectError(await http(t, guest.pat).post('/api/invitations/accept', { token: `gpx_inv_${'a'.repeat(32)}` }), 403, 'auth_mode_not_allowed');
  });
});

describe('referral links', () => {
  it('redirect to the target with UTM parameters, count visits, and stop when deleted', async () => {
    const { user, pat } = await userWith(['sharing:manage', 'posts:write']);
    const post = await http(t, pat).post('/api/posts', { title: 'Shared' });
    const link = await http(t, pat).post('/api/referral-links', { target: { type: 'post', post_id: post.body.id }, code: 'spring-sale', utm: { source: 'newsletter', medium: 'email', campaign: 'spring' } });
    expect(link.status).toBe(201);
    expect(link.body).toMatchObject({ code: 'spring-sale', url: 'https://api.getpaidx.example/r/spring-sale', visits: 0 });
    expect(link.body.target_url).toBe(`https://getpaidx.example/posts/${post.body.id}?utm_source=newsletter&utm_medium=email&utm_campaign=spring&ref=spring-sale`);

    const visit = await request(t.app).get('/r/spring-sale?fbclid=abc');
    expect(visit.status).toBe(302);
    expect(visit.headers.location).toBe(link.body.target_url);
    await request(t.app).get('/r/spring-sale').expect(302);
    const after = await http(t, pat).get(`/api/referral-links/${link.body.id}`);
    expect(after.body.visits).toBe(2);
    expect(after.body.last_visited_at).not.toBeNull();

    const profile = await http(t, pat).post('/api/referral-links', { target: { type: 'profile' } });
    expect(profile.body.code).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(profile.body.target_url).toBe(`https://getpaidx.example/u/${user.id}?ref=${profile.body.code}`);
    expect((await http(t, pat).get('/api/referral-links')).body.data).toHaveLength(2);

    expect((await http(t, pat).delete(`/api/referral-links/${link.body.id}`)).status).toBe(204);
    expectError(await request(t.app).get('/r/spring-sale'), 404, 'not_found');
  });

  it('refuse a taken code, an unpublished post that is not yours, and a post link without its id', async () => {
    const a = await userWith(['sharing:manage', 'posts:write']);
    const b = await userWith(['sharing:manage']);
    await http(t, a.pat).post('/api/referral-links', { target: { type: 'profile' }, code: 'taken-code' }).expect(201);
    expectError(await http(t, b.pat).post('/api/referral-links', { target: { type: 'profile' }, code: 'taken-code' }), 409, 'code_taken');
    const post = await http(t, a.pat).post('/api/posts', { title: 'A only' });
    expectError(await http(t, b.pat).post('/api/referral-links', { target: { type: 'post', post_id: post.body.id } }), 404, 'not_found');
    // Someone else's published post may be promoted: an affiliate link, whose sales earn b the referral share.
    const published = await http(t, a.pat).post('/api/posts', { title: 'A, public', status: 'published' });
    expect((await http(t, b.pat).post('/api/referral-links', { target: { type: 'post', post_id: published.body.id } })).status).toBe(201);
    expectError(await request(t.app).post('/api/referral-links').set(bearer(b.pat)).send({ target: { type: 'post' } }), 400, 'validation_failed');
    expectError(await http(t, b.pat).post('/api/referral-links', { target: { type: 'profile' }, utm: { source: 'has space' } }), 400, 'validation_failed');
  });

  it('come as QR codes in SVG and PNG that encode the link', async () => {
    const { pat } = await userWith(['sharing:manage']);
    const link = await http(t, pat).post('/api/referral-links', { target: { type: 'profile' } });
    const svg = await http(t, pat).get(`/api/referral-links/${link.body.id}/qr`).buffer(true).parse(asText);
    expect(svg.status).toBe(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(svg.body).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const png = await http(t, pat).get(`/api/referral-links/${link.body.id}/qr?format=png&size=128`).buffer(true).parse(asBytes);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.body.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // Decoded by an independent reader (jsQR), the code is the link's URL.
    const image = PNG.sync.read(png.body);
    expect(image.width).toBe(128);
    expect(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data).toBe(link.body.url);
    expectError(await http(t, pat).get(`/api/referral-links/${link.body.id}/qr?format=gif`), 400, 'validation_failed');
  });
});

describe('usage', () => {
  it('counts requests per token and per operation over 24 hours and 30 days', async () => {
    const user = await createUser(t, { twoFactor: true });
    const reader = await createPat(t, user, { scopes: ['posts:read'], name: 'reader' });
    const billing = await createPat(t, user, { scopes: ['billing:read'], name: 'billing' });
    for (let i = 0; i < 3; i++) await http(t, reader.token).get('/api/posts').expect(200);
    await http(t, reader.token).get('/api/tokens/self').expect(200);
    t.clock.advance(2 * 24 * 3600);
    await http(t, reader.token).get('/api/posts').expect(200);

    const usage = await http(t, billing.token).get('/api/usage');
    expect(usage.status).toBe(200);
    const count = (w: any, op: string) => w.by_operation.find((o: any) => o.operation_id === op)?.count;
    expect(count(usage.body.last_30_days, 'listPosts')).toBe(4);
    expect(count(usage.body.last_24_hours, 'listPosts')).toBe(1);
    expect(count(usage.body.last_30_days, 'getCurrentToken')).toBe(1);
    expect(usage.body.last_30_days.by_token.find((b: any) => b.token_id === reader.id)).toEqual({ token_id: reader.id, name: 'reader', count: 5 });
    expect(usage.body.rate_limit).toMatchObject({ limit: 100000, window_seconds: 60 });
    expect(usage.body.rate_limit.remaining).toBeLessThan(100000);
  });

  it('is written in batches, not on every request', async () => {
    const user = await createUser(t, { twoFactor: true });
    const pat = await createPat(t, user, { scopes: ['posts:read'] });
    const rows = () => t.database.knex('usage_counters').where({ token_id: pat.id }).count({ n: '*' }).first();
    await http(t, pat.token).get('/api/posts').expect(200);
    await http(t, pat.token).get('/api/posts').expect(200);
    expect(Number((await rows())!.n)).toBe(0);
    t.clock.advance(61);
    await http(t, pat.token).get('/api/posts').expect(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(Number((await t.database.knex('usage_counters').where({ token_id: pat.id }).sum({ n: 'count' }).first())!.n)).toBe(3);
  });
});
