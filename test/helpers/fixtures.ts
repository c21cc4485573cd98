import request from 'supertest';
import type { TestApp } from './app';
import { buyCredits } from './billing';
import type { BrowserSession } from './session';
import { bearer, createPat, TestUser } from './users';
import { http } from './typed-http';

/**
 * One of everything a user can own, created through the API, keyed by the path parameter that names
 * it (`postId`, `workspaceId` …). The owner's PAT must hold every scope; places are created in the
 * browser (session mode only). Used by the BOLA suite and the fuzzer.
 */
export async function createOwnedObjects(t: TestApp, owner: TestUser, pat: string, browser: BrowserSession): Promise<Record<string, string>> {
  const post = await http(t, pat).post('/api/posts', { title: 'private' });
  const artifact = await request(t.app).post(`/api/posts/${post.body.id}/artifacts?filename=a.txt`).set(bearer(pat)).set('Content-Type', 'text/plain').send('secret');
  const place = await http(t, browser).post('/api/places', { name: 'Home', address: 'Secret 1', latitude: 1, longitude: 1 });
  const org = await http(t, pat).post('/api/organizations', { name: 'Private Org' });
  await http(t, pat).post(`/api/organizations/${org.body.id}/invitations`, { email: 'invitee@example.com', role: 'member' });
  const link = await http(t, pat).post('/api/referral-links', { target: { type: 'post', post_id: post.body.id } });
  const token = await createPat(t, owner, { scopes: ['posts:read'] });
  const endpoint = await http(t, pat).post('/api/webhooks/endpoints', { url: 'http://127.0.0.1:9/private-hook', events: ['post.created'] });
  const delivery = await http(t, pat).post(`/api/webhooks/endpoints/${endpoint.body.id}/test`);
  const workspace = await http(t, pat).post('/api/workspaces', { name: 'private workspace', default_prompt: 'private prompt' });
  await http(t, pat).put(`/api/workspaces/${workspace.body.id}/binding`, { token_id: token.id });
  const run = await http(t, pat).post(`/api/workspaces/${workspace.body.id}/runs`, {});
  await buyCredits(t, pat);
  const session = await http(t, pat).post(`/api/workspaces/${workspace.body.id}/sessions`);
  const rule = await http(t, pat).post(`/api/workspaces/${workspace.body.id}/rules`, { name: 'private rule', trigger: 'SCHEDULE', cron: '0 9 * * *', prompt_template: 'private' });
  const hook = await http(t, pat).post(`/api/workspaces/${workspace.body.id}/rules`, { name: 'hook rule', trigger: 'WEBHOOK_EVENT', prompt_template: 'hook' });
  const ids: Record<string, string> = {
    postId: post.body.id,
    artifactId: artifact.body.id,
    placeId: place.body.id,
    organizationId: org.body.id,
    memberId: owner.id,
    referralLinkId: link.body.id,
    referenceId: link.body.code,
    tokenId: token.id,
    endpointId: endpoint.body.id,
    deliveryId: delivery.body.id,
    workspaceId: workspace.body.id,
    runId: run.body.id,
    ruleId: rule.body.id,
    pathToken: new URL(hook.body.hook?.url ?? 'http://x/none').pathname.split('/').at(-1) ?? '',
    sessionId: session.body.id,
    userId: owner.id,
  };
  for (const [name, id] of Object.entries(ids)) if (!id) throw new Error(`fixture ${name} was not created`);
  return ids;
}
