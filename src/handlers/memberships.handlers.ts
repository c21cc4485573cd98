import { body, caller, HandlerMap, noStore, pageRequest, pathParam, sendPage } from './kit';
import { presentMember, presentOrganization } from './presenters';
import type { Services } from './services';

export function membershipsHandlers({ organizations }: Services): HandlerMap {
  return {
    async listOrganizations(req, res) {
      const page = pageRequest(req);
      sendPage(res, page, await organizations.list(caller(req).user.id, page), presentOrganization);
    },
    async createOrganization(req, res) {
      res.status(201).json(presentOrganization(await organizations.create(caller(req).user, body<'createOrganization'>(req).name)));
    },
    async getOrganization(req, res) {
      res.json(presentOrganization(await organizations.get(caller(req), pathParam(req, 'organizationId'))));
    },
    async updateOrganization(req, res) {
      const input = body<'updateOrganization'>(req);
      res.json(presentOrganization(await organizations.update(caller(req), pathParam(req, 'organizationId'), { name: input.name, maxTokenLifetimeDays: input.max_token_lifetime_days })));
    },
    async listMembers(req, res) {
      const page = pageRequest(req);
      const result = await organizations.members(caller(req), pathParam(req, 'organizationId'), page);
      sendPage(res, page, result, presentMember);
    },
    async updateMember(req, res) {
      const member = await organizations.updateMember(caller(req), pathParam(req, 'organizationId'), pathParam(req, 'memberId'), body<'updateMember'>(req));
      res.json(presentMember(member));
    },
    async removeMember(req, res) {
      await organizations.removeMember(caller(req), pathParam(req, 'organizationId'), pathParam(req, 'memberId'));
      res.status(204).end();
    },
    async createInvitation(req, res) {
      const { invitation, token } = await organizations.invite(caller(req), pathParam(req, 'organizationId'), body<'createInvitation'>(req));
      noStore(res).status(201).json({
        id: invitation.id,
        organization_id: invitation.organizationId,
        email: invitation.email,
        role: invitation.role as 'member',
        token,
        accept_path: '/api/invitations/accept',
        expires_at: invitation.expiresAt,
        created_at: invitation.createdAt,
      });
    },
    async acceptInvitation(req, res) {
      res.json(presentMember(await organizations.accept(caller(req).user, body<'acceptInvitation'>(req).token)));
    },
  };
}
