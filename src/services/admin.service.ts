import type { Window } from '../db/page';
import { Clock, iso } from '../core/clock';
import type { Repositories } from '../db/repositories';
import type { UserRecord } from '../db/repositories/users.repository';
import { fail, notFound } from '../core/errors';
import { normaliseEmail } from './accounts.service';
import type { AuditService } from './audit.service';

export function createAdminService(repos: Repositories, audit: AuditService, clock: Clock) {
  return {
    list: (window: Window) => repos.users.list(window),

    /**
     * Disabling ends the user's sessions and bumps their token version (every JWT dies); their PATs
     * fail on the next request because every PAT lookup reads the creator's status.
     */
    async update(admin: UserRecord, userId: string, patch: { role?: string; disabled?: boolean }, ip: string | null): Promise<UserRecord> {
      const target = await repos.users.findById(userId);
      if (!target) throw notFound('User');
      if (patch.disabled && target.id === admin.id) throw fail('cannot_disable_self', 'You cannot disable your own account.');
      const now = iso(clock());
      await repos.transaction(async (tx) => {
        const change: Record<string, unknown> = {};
        if (patch.role !== undefined) change.role = patch.role;
        if (patch.disabled !== undefined) change.disabled_at = patch.disabled ? target.disabledAt ?? now : null;
        await tx.users.update(userId, change, now);
        if (patch.disabled) {
          await tx.users.bumpTokenVersion(userId, now);
          await tx.sessions.deleteForUser(userId);
        }
        await audit.record({ userId, type: 'admin.user_updated', ip, details: { by: admin.id, ...patch } }, tx);
      });
      return (await repos.users.findById(userId))!;
    },

    /** For the CLI: make an existing user platform staff (or not). */
    async setPlatformAdmin(email: string, isAdmin: boolean): Promise<UserRecord> {
      const user = await repos.users.findWithSecretsByEmail(normaliseEmail(email));
      if (!user) throw notFound('User');
      await repos.users.update(user.id, { is_platform_admin: isAdmin }, iso(clock()));
      return (await repos.users.findById(user.id))!;
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
