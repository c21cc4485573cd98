import type { Knex } from 'knex';
import { countOf, OLDEST_FIRST, ofTable, Page, pageOf, Window } from '../page';

const ORGANIZATION_ORDER = ofTable(OLDEST_FIRST, 'o');

export interface OrganizationRecord {
  id: string;
  name: string;
  createdBy: string;
  createdAt: string;
  /** The longest lifetime (days) a PAT acting on it may have; null: no policy. */
  maxTokenLifetimeDays: number | null;
  /** The reading user's role in it and the roster size, joined in by the queries below. */
  yourRole: string;
  memberCount: number;
}

export interface MemberRecord {
  organizationId: string;
  userId: string;
  email: string;
  name: string | null;
  role: string;
  tags: string[];
  joinedAt: string;
}

export interface InvitationRecord {
  id: string;
  organizationId: string;
  email: string;
  role: string;
  invitedBy: string;
  createdAt: string;
  expiresAt: string;
  acceptedAt: string | null;
}

function toMember(row: Record<string, any>): MemberRecord {
  return {
    organizationId: row.organization_id,
    userId: row.user_id,
    email: row.email,
    name: row.name ?? null,
    role: row.role,
    tags: JSON.parse(row.tags),
    joinedAt: row.joined_at,
  };
}

function toInvitation(row: Record<string, any>): InvitationRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    email: row.email,
    role: row.role,
    invitedBy: row.invited_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at ?? null,
  };
}

const MEMBER_COLUMNS = ['m.organization_id', 'm.user_id', 'u.email', 'u.name', 'm.role', 'm.tags', 'm.joined_at'];

export function organizationsRepository(db: Knex) {
  /** Organizations seen through the reader's own membership: a non-member finds nothing. */
  const visibleTo = (userId: string) => db('organizations as o')
    .join('organization_members as me', function joinMe() {
      this.on('me.organization_id', '=', 'o.id').andOnVal('me.user_id', '=', userId);
    });
  const orgColumns = (k: Knex) => ['o.id', 'o.name', 'o.created_by', 'o.created_at', 'o.max_token_lifetime_days', 'me.role as your_role',
    k('organization_members as c').count('*').whereRaw('c.organization_id = o.id').as('member_count')];
  const toOrganization = (row: Record<string, any>): OrganizationRecord => ({
    id: row.id,
    name: row.name,
    createdBy: row.created_by,
    createdAt: row.created_at,
    maxTokenLifetimeDays: row.max_token_lifetime_days === null || row.max_token_lifetime_days === undefined ? null : Number(row.max_token_lifetime_days),
    yourRole: row.your_role,
    memberCount: Number(row.member_count),
  });
  const members = (organizationId: string) => db('organization_members as m').join('users as u', 'u.id', 'm.user_id')
    .where('m.organization_id', organizationId);

  return {
    async create(org: { id: string; name: string; createdBy: string; createdAt: string }): Promise<void> {
      await db('organizations').insert({ id: org.id, name: org.name, created_by: org.createdBy, created_at: org.createdAt });
    },
    async update(id: string, patch: { name?: string; maxTokenLifetimeDays?: number | null }): Promise<void> {
      const columns: Record<string, unknown> = {};
      if (patch.name !== undefined) columns.name = patch.name;
      if (patch.maxTokenLifetimeDays !== undefined) columns.max_token_lifetime_days = patch.maxTokenLifetimeDays;
      if (Object.keys(columns).length > 0) await db('organizations').where({ id }).update(columns);
    },
    async findForMember(userId: string, id: string): Promise<OrganizationRecord | undefined> {
      const row = await visibleTo(userId).where('o.id', id).first(orgColumns(db));
      return row ? toOrganization(row) : undefined;
    },
    listForMember(userId: string, window: Window): Promise<Page<OrganizationRecord>> {
      return pageOf(() => visibleTo(userId), orgColumns(db) as string[], ORGANIZATION_ORDER, window, toOrganization);
    },
    async addMember(member: { organizationId: string; userId: string; role: string; tags: string[]; joinedAt: string }): Promise<void> {
      await db('organization_members').insert({
        organization_id: member.organizationId,
        user_id: member.userId,
        role: member.role,
        tags: JSON.stringify(member.tags),
        joined_at: member.joinedAt,
      });
    },
    async findMember(organizationId: string, userId: string): Promise<MemberRecord | undefined> {
      const row = await members(organizationId).andWhere('m.user_id', userId).first(MEMBER_COLUMNS);
      return row ? toMember(row) : undefined;
    },
    listMembers(organizationId: string, window: Window): Promise<Page<MemberRecord>> {
      const order = [{ column: 'm.joined_at' }, { column: 'm.user_id' }];
      return pageOf(() => members(organizationId), MEMBER_COLUMNS, order, window, toMember);
    },
    async countOwners(organizationId: string): Promise<number> {
      return countOf(db('organization_members').where({ organization_id: organizationId, role: 'owner' }));
    },
    async updateMember(organizationId: string, userId: string, patch: { role?: string; tags?: string[] }): Promise<void> {
      const columns: Record<string, unknown> = {};
      if (patch.role !== undefined) columns.role = patch.role;
      if (patch.tags !== undefined) columns.tags = JSON.stringify(patch.tags);
      await db('organization_members').where({ organization_id: organizationId, user_id: userId }).update(columns);
    },
    async removeMember(organizationId: string, userId: string): Promise<void> {
      await db('organization_members').where({ organization_id: organizationId, user_id: userId }).delete();
    },
    async createInvitation(invitation: InvitationRecord & { tokenHash: string }): Promise<void> {
      await db('organization_invitations').insert({
        id: invitation.id,
        organization_id: invitation.organizationId,
        email: invitation.email,
        role: invitation.role,
        token_hash: invitation.tokenHash,
        invited_by: invitation.invitedBy,
        created_at: invitation.createdAt,
        expires_at: invitation.expiresAt,
      });
    },
    async findInvitationByHash(tokenHash: string): Promise<InvitationRecord | undefined> {
      const row = await db('organization_invitations').where({ token_hash: tokenHash }).first();
      return row ? toInvitation(row) : undefined;
    },
    /** Marks the invitation used; false when another request used it first. */
    async markInvitationAccepted(id: string, now: string): Promise<boolean> {
      return (await db('organization_invitations').where({ id }).whereNull('accepted_at').update({ accepted_at: now })) > 0;
    },
  };
}
