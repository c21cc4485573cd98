/**
 * Broken object-level authorization, generated from the spec: for every operation whose path names an
 * object, a second user holding every scope (and a browser session for browser-only routes) who sends
 * the first user's ids gets 404, never the data, and nothing changes.
 */
import request from 'supertest';
import type { OperationInfo } from '../../src/contract/spec';
import { createOwnedObjects } from '../helpers/fixtures';
import { startTestApp, TestApp } from '../helpers/app';
import { expectError } from '../helpers/errors';
import { BrowserSession, signInBrowser } from '../helpers/session';
import { databaseSnapshot } from '../helpers/snapshot';
import { operationsInDocument, SPEC_PATH } from '../helpers/spec';
import { bearer, createPat, createUser, TestUser, allScopes, type Scope } from '../helpers/users';

const { loadContract } = jest.requireActual('../../src/contract/spec') as typeof import('../../src/contract/spec');
const contract = loadContract(SPEC_PATH);

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

const snapshot = () => databaseSnapshot(t.database.knex);

beforeAll(async () => {
  t = await startTestApp({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
  const owner = await createUser(t, { twoFactor: true });
  const pat = (await createPat(t, owner, { scopes: allScopes(t) })).token;
  const browser = await signInBrowser(t, owner);
  ids = await createOwnedObjects(t, owner, pat, browser);

  intruder = await createUser(t, { twoFactor: true });
  intruderPat = (await createPat(t, intruder, { scopes: allScopes(t) })).token;
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

it('covers every operation that names an object, as the document lists them', () => {
  const listed = operationsInDocument(contract.document)
    .filter((op) => op.path.includes('{') && !op.modes.includes('admin') && !NOT_OWNED[op.operationId]).map((op) => op.operationId);
  expect(withIds.map((op) => op.operationId).sort()).toEqual(listed.sort());
  expect(intruder.id).not.toBe(ids.memberId);
});
