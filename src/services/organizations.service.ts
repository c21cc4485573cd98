import type { Window } from '../db/page';
import { addSeconds, Clock, iso } from '../core/clock';
import { hashToken } from '../auth/token-format';
import { newId, randomBase62 } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { InvitationRecord, MemberRecord, OrganizationRecord } from '../db/repositories/organizations.repository';
import type { UserRecord } from '../db/repositories/users.repository';
import { ApiError, fail, notFound } from '../core/errors';
import { normaliseEmail } from './accounts.service';

export const INVITATION_PREFIX = 'gpx_inv_';
export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;
const MANAGERS = ['owner', 'admin'];

function notManager(): ApiError {
  return new ApiError('organization_role_required', 'Only the organization\'s owners and admins may do this.');
}

function lastOwner(): ApiError {
  return fail('last_owner', 'An organization keeps at least one owner; make someone else an owner first.');
}

/**
 * Organizations are billing groups and rosters. A user only ever sees the organizations they belong
 * to (anything else is a 404); only owners and admins change the roster, and only owners touch owners.
 */
export function createOrganizationsService(repos: Repositories, clock: Clock) {
  async function membership(userId: string, organizationId: string): Promise<OrganizationRecord> {
    const org = await repos.organizations.findForMember(userId, organizationId);
    if (!org) throw notFound('Organization');
    return org;
  }

  async function managedBy(userId: string, organizationId: string): Promise<OrganizationRecord> {
    const org = await membership(userId, organizationId);
    if (!MANAGERS.includes(org.yourRole)) throw notManager();
    return org;
  }

  async function member(organizationId: string, userId: string): Promise<MemberRecord> {
    const found = await repos.organizations.findMember(organizationId, userId);
    if (!found) throw notFound('Member');
    return found;
  }

  return {
    async create(user: UserRecord, name: string): Promise<OrganizationRecord> {
      const id = newId('org');
      const now = iso(clock());
      await repos.transaction(async (tx) => {
        await tx.organizations.create({ id, name, createdBy: user.id, createdAt: now });
        await tx.organizations.addMember({ organizationId: id, userId: user.id, role: 'owner', tags: [], joinedAt: now });
      });
      return membership(user.id, id);
    },
    get: membership,
    list: (userId: string, window: Window) => repos.organizations.listForMember(userId, window),
    async members(userId: string, organizationId: string, window: Window) {
      await membership(userId, organizationId);
      return repos.organizations.listMembers(organizationId, window);
    },
    async invite(userId: string, organizationId: string, input: { email: string; role: string }) {
      const org = await managedBy(userId, organizationId);
      if (input.role === 'owner' && org.yourRole !== 'owner') throw notManager();
      const token = `${INVITATION_PREFIX}${randomBase62(32)}`;
      const now = clock();
      const invitation: InvitationRecord = {
        id: newId('inv'),
        organizationId,
        email: normaliseEmail(input.email),
        role: input.role,
        invitedBy: userId,
        createdAt: iso(now),
        expiresAt: iso(addSeconds(now, INVITATION_TTL_SECONDS)),
        acceptedAt: null,
      };
      await repos.organizations.createInvitation({ ...invitation, tokenHash: hashToken(token) });
      return { invitation, token };
    },
    async accept(user: UserRecord, token: string): Promise<MemberRecord> {
      const invitation = await repos.organizations.findInvitationByHash(hashToken(token));
      const now = iso(clock());
      if (!invitation || invitation.acceptedAt || invitation.expiresAt <= now) throw notFound('Invitation');
      if (invitation.email !== normaliseEmail(user.email)) {
        throw new ApiError('invitation_email_mismatch', 'This invitation was sent to another email address; sign in with that account to accept it.');
      }
      if (await repos.organizations.findMember(invitation.organizationId, user.id)) {
        throw fail('already_member', 'You already belong to this organization.');
      }
      await repos.transaction(async (tx) => {
        // Single use even when two accepts race: only one marks it.
        if (!(await tx.organizations.markInvitationAccepted(invitation.id, now))) throw notFound('Invitation');
        await tx.organizations.addMember({ organizationId: invitation.organizationId, userId: user.id, role: invitation.role, tags: [], joinedAt: now });
      });
      return member(invitation.organizationId, user.id);
    },
    async updateMember(userId: string, organizationId: string, memberId: string, patch: { role?: string; tags?: string[] }): Promise<MemberRecord> {
      const org = await managedBy(userId, organizationId);
      const target = await member(organizationId, memberId);
      const touchesOwner = target.role === 'owner' || patch.role === 'owner';
      if (patch.role !== undefined && patch.role !== target.role && touchesOwner && org.yourRole !== 'owner') throw notManager();
      await repos.transaction(async (tx) => {
        if (target.role === 'owner' && patch.role !== undefined && patch.role !== 'owner' && (await tx.organizations.countOwners(organizationId)) <= 1) {
          throw lastOwner();
        }
        await tx.organizations.updateMember(organizationId, memberId, patch);
      });
      return member(organizationId, memberId);
    },
    async removeMember(userId: string, organizationId: string, memberId: string): Promise<void> {
      const org = await membership(userId, organizationId);
      const target = await member(organizationId, memberId);
      const leaving = memberId === userId;
      if (!leaving && !MANAGERS.includes(org.yourRole)) throw notManager();
      if (!leaving && target.role === 'owner' && org.yourRole !== 'owner') throw notManager();
      await repos.transaction(async (tx) => {
        if (target.role === 'owner' && (await tx.organizations.countOwners(organizationId)) <= 1) throw lastOwner();
        await tx.organizations.removeMember(organizationId, memberId);
      });
    },
  };
}

export type OrganizationsService = ReturnType<typeof createOrganizationsService>;
