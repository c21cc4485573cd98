import type { Window } from '../db/page';
import { addSeconds, Clock, iso } from '../core/clock';
import { hashToken } from '../auth/token-format';
import { newId, randomBase62 } from '../core/ids';
import type { Repositories } from '../db/repositories';
import type { InvitationRecord, MemberRecord, OrganizationRecord } from '../db/repositories/organizations.repository';
import type { UserRecord } from '../db/repositories/users.repository';
import type { TokenRecord } from '../db/repositories/tokens.repository';
import type { SignedInPrincipal } from '../auth/principal';
import { ApiError, fail, notFound } from '../core/errors';
import { normaliseEmail } from './accounts.service';
import { emailUnverified } from './email-verification.service';

export const INVITATION_PREFIX = 'gpx_inv_';
export const INVITATION_TTL_SECONDS = 7 * 24 * 3600;
const MANAGERS = ['owner', 'admin'];

function notManager(): ApiError {
  return new ApiError('organization_role_required', 'Only the organization\'s owners and admins may do this.');
}

/** Who acts on an organization: a signed-in principal (its kind, user and, for a PAT, the token). */
export type Actor = Pick<SignedInPrincipal, 'kind' | 'user'> & { token?: Pick<TokenRecord, 'createdAt' | 'expiresAt'> };

function assertTokenLifetime(token: Pick<TokenRecord, 'createdAt' | 'expiresAt'> | undefined, maxDays: number): void {
  const lifetimeDays = token?.expiresAt ? (Date.parse(token.expiresAt) - Date.parse(token.createdAt)) / 86_400_000 : Infinity;
  if (lifetimeDays > maxDays) {
    throw new ApiError('token_lifetime_exceeds_policy',
      `This organization accepts tokens that live at most ${maxDays} days; this one ${token?.expiresAt ? `lives ${Math.ceil(lifetimeDays)} days` : 'never expires'}. Create a token with expires_at within ${maxDays} days of its creation.`,
      { max_token_lifetime_days: maxDays });
  }
}

function lastOwner(): ApiError {
  return fail('last_owner', 'An organization keeps at least one owner; make someone else an owner first.');
}

/**
 * Organizations are billing groups and rosters. A user only ever sees the organizations they belong
 * to (anything else is a 404); only owners and admins change the roster, and only owners touch owners.
 */
export function createOrganizationsService(repos: Repositories, clock: Clock) {
  /**
   * The organization as `caller` sees it through their membership (404 for anyone else). A PAT acting
   * on an organization with a token-lifetime policy must itself respect it: an expiry, no further from
   * its creation than the policy allows.
   */
  async function membership(caller: Actor, organizationId: string): Promise<OrganizationRecord> {
    const org = await repos.organizations.findForMember(caller.user.id, organizationId);
    if (!org) throw notFound('Organization');
    if (caller.kind === 'pat' && org.maxTokenLifetimeDays !== null) assertTokenLifetime(caller.token, org.maxTokenLifetimeDays);
    return org;
  }

  async function managedBy(caller: Actor, organizationId: string): Promise<OrganizationRecord> {
    const org = await membership(caller, organizationId);
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
      return membership({ kind: 'session', user }, id);
    },
    get: membership,
    /** Owners and admins rename it or set its token-lifetime policy (null: none). */
    async update(caller: Actor, organizationId: string, patch: { name?: string; maxTokenLifetimeDays?: number | null }): Promise<OrganizationRecord> {
      await managedBy(caller, organizationId);
      await repos.organizations.update(organizationId, patch);
      // Read back as the caller's user: a policy just tightened applies from the next request.
      return membership({ kind: 'session', user: caller.user }, organizationId);
    },
    list: (userId: string, window: Window) => repos.organizations.listForMember(userId, window),
    async members(caller: Actor, organizationId: string, window: Window) {
      await membership(caller, organizationId);
      return repos.organizations.listMembers(organizationId, window);
    },
    async invite(caller: Actor, organizationId: string, input: { email: string; role: string }) {
      const org = await managedBy(caller, organizationId);
      if (input.role === 'owner' && org.yourRole !== 'owner') throw notManager();
      const token = `${INVITATION_PREFIX}${randomBase62(32)}`;
      const now = clock();
      const invitation: InvitationRecord = {
        id: newId('inv'),
        organizationId,
        email: normaliseEmail(input.email),
        role: input.role,
        invitedBy: caller.user.id,
        createdAt: iso(now),
        expiresAt: iso(addSeconds(now, INVITATION_TTL_SECONDS)),
        acceptedAt: null,
      };
      await repos.organizations.createInvitation({ ...invitation, tokenHash: hashToken(token) });
      return { invitation, token };
    },
    async accept(user: UserRecord, token: string): Promise<MemberRecord> {
      // An invitation goes to an address: only someone who has shown they read it may take it.
      if (!user.emailVerifiedAt) throw emailUnverified('Accepting an invitation');
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
    async updateMember(caller: Actor, organizationId: string, memberId: string, patch: { role?: string; tags?: string[] }): Promise<MemberRecord> {
      const org = await managedBy(caller, organizationId);
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
    async removeMember(caller: Actor, organizationId: string, memberId: string): Promise<void> {
      const org = await membership(caller, organizationId);
      const target = await member(organizationId, memberId);
      const leaving = memberId === caller.user.id;
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
