/**
 * Broken object-level authorization, generated from the spec: for every operation whose path names an
 * object, a second user holding every scope (and a browser session for browser-only routes) who sends
 * the first user's ids gets 404, never the data, and nothing changes.
 */
import request from 'supertest';
import type { OperationInfo } from '../../src/contract/spec';
import { buyCredits } from '../helpers/billing';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { BrowserSession, signInBrowser } from '../helpers/session';
import { bearer, createPat, createUser, TestUser } from '../helpers/users';

const { loadContract } = jest.requireActual('../../src/contract/spec') as typeof import('../../src/contract/spec');
const contract = loadContract(require('node:path').resolve(__dirname, '../../openapi.yaml'));

/** Operations with ids that are not objects owned by a user, and why they are left out. */
const NOT_OWNED: Record<string, string> = {
  followReferralLink: 'public by design: anyone holding the link may follow it',
  triggerWorkspaceHook: 'signed webhooks carry no user credential; the path token and the HMAC signature are the authorization (tested in workspaces.test.ts)',
  acceptInvitation: 'the path holds a secret addressed to one email; a second user gets invitation_email_mismatch (tested in account.test.ts)',
};
const withIds = [...contract.operations.values()].filter((op) => op.path.includes('{') && !op.modes.has('admin') && !NOT_OWNED[op.operationId]);

let t: TestApp;
let ids: Record<string, string>;
let intruderPat: string;
let intruder: TestUser;
let intruderBrowser: BrowserSession;

async function snapshot(): Promise<string> {
  const k = t.database.knex;
  const tables = ['posts', 'places', 'artifacts', 'organizations', 'organization_members', 'organization_invitations', 'referral_links', 'webhook_endpoints', 'webhook_events', 'webhook_deliveries', 'workspaces', 'workspace_runs', 'workspace_rules', 'workspace_sessions'];
  return JSON.stringify(await Promise.all(tables.map((table) => k(table).select('*').orderBy(table === 'organization_members' ? 'user_id' : 'id'))));
}

beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
  const owner = await createUser(t, { twoFactor: true });
  const pat = (await createPat(t, owner, { scopes: [...t.contract.scopes.keys()] })).token;
  const browser = await signInBrowser(t, owner);
  const post = await request(t.app).post('/api/posts').set(bearer(pat)).send({ title: 'private' });
  const artifact = await request(t.app).post(`/api/posts/${post.body.id}/artifacts?filename=a.txt`).set(bearer(pat)).set('Content-Type', 'text/plain').send('secret');
  const place = await request(t.app).post('/api/places').set('Cookie', browser.cookie).set('X-CSRF-Token', browser.csrf).send({ name: 'Home', address: 'Secret 1', latitude: 1, longitude: 1 });
  const org = await request(t.app).post('/api/organizations').set(bearer(pat)).send({ name: 'Private Org' });
  const link = await request(t.app).post('/api/referral-links').set(bearer(pat)).send({ target: { type: 'post', post_id: post.body.id } });
  const token = await createPat(t, owner, { scopes: ['posts:read'] });
  const endpoint = await request(t.app).post('/api/webhooks/endpoints').set(bearer(pat)).send({ url: 'http://127.0.0.1:9/private-hook', events: ['post.created'] });
  const delivery = await request(t.app).post(`/api/webhooks/endpoints/${endpoint.body.id}/test`).set(bearer(pat));
  const workspace = await request(t.app).post('/api/workspaces').set(bearer(pat)).send({ name: 'private workspace', default_prompt: 'private prompt' });
  await request(t.app).put(`/api/workspaces/${workspace.body.id}/binding`).set(bearer(pat)).send({ token_id: token.id });
  const run = await request(t.app).post(`/api/workspaces/${workspace.body.id}/runs`).set(bearer(pat)).send({});
  await buyCredits(t, pat);
  const session = await request(t.app).post(`/api/workspaces/${workspace.body.id}/sessions`).set(bearer(pat));
  const rule = await request(t.app).post(`/api/workspaces/${workspace.body.id}/rules`).set(bearer(pat)).send({ name: 'private rule', trigger: 'SCHEDULE', cron: '0 9 * * *', prompt_template: 'private' });
  ids = {
    postId: post.body.id,
    artifactId: artifact.body.id,
    placeId: place.body.id,
    organizationId: org.body.id,
    memberId: owner.id,
    referralLinkId: link.body.id,
    tokenId: token.id,
    endpointId: endpoint.body.id,
    deliveryId: delivery.body.id,
    workspaceId: workspace.body.id,
    runId: run.body.id,
    ruleId: rule.body.id,
    sessionId: session.body.id,
  };
  for (const [name, id] of Object.entries(ids)) if (!id) throw new Error(`fixture ${name} was not created`);

  intruder = await createUser(t, { twoFactor: true });
  intruderPat = (await createPat(t, intruder, { scopes: [...t.contract.scopes.keys()] })).token;
  intruderBrowser = await signInBrowser(t, intruder);
});
afterAll(() => t.close());

function call(op: OperationInfo): request.Test {
  const path = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (!ids[name]) throw new Error(`bola.test.ts has no fixture for {${name}} (${op.operationId}): create one in beforeAll`);
    return ids[name]!;
  });
  const item = (contract.document.paths as Record<string, any>)[op.path][op.method.toLowerCase()];
  const bodyDef = item.requestBody?.$ref ? undefined : item.requestBody;
  const example = bodyDef?.content?.['application/json']?.example
    ?? (item.requestBody ? { name: 'x.txt', content_type: 'text/plain', content_base64: 'eA==' } : undefined);
  let req = (request(t.app) as any)[op.method.toLowerCase()](path) as request.Test;
  req = op.modes.has('pat')
    ? req.set(bearer(intruderPat))
    : req.set('Cookie', intruderBrowser.cookie).set('X-CSRF-Token', intruderBrowser.csrf);
  return example !== undefined ? req.send(example) : req;
}

describe.each(withIds.map((op) => [op.operationId, op] as const))('%s', (_id, op) => {
  it("with another user's ids: 404 and nothing changed", async () => {
    const before = await snapshot();
    const res = await call(op);
    expectError(res, 404, 'not_found');
    expect(JSON.stringify(res.body)).not.toMatch(/private|secret|Secret 1|Private Org|private-hook/);
    expect(await snapshot()).toBe(before);
  });
});

it('covers every operation that names an object', () => {
  expect(withIds.length).toBeGreaterThanOrEqual(20);
  expect(intruder.id).not.toBe(ids.memberId);
});
