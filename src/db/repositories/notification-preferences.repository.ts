import type { Knex } from 'knex';

export interface NotificationPreferencesRecord {
  pausedAll: boolean;
  reminders: boolean;
  onboardingTips: boolean;
  productUpdates: boolean;
  updatedAt: string | null;
}

/** What a user who never changed anything gets: everything on. */
export const DEFAULT_PREFERENCES: NotificationPreferencesRecord = {
  pausedAll: false,
  reminders: true,
  onboardingTips: true,
  productUpdates: true,
  updatedAt: null,
};

export function notificationPreferencesRepository(db: Knex) {
  return {
    async find(userId: string): Promise<NotificationPreferencesRecord> {
      const row = await db('notification_preferences').where({ user_id: userId }).first();
      if (!row) return DEFAULT_PREFERENCES;
      return {
        pausedAll: Boolean(row.paused_all),
        reminders: Boolean(row.reminders),
        onboardingTips: Boolean(row.onboarding_tips),
        productUpdates: Boolean(row.product_updates),
        updatedAt: row.updated_at,
      };
    },
    async save(userId: string, prefs: NotificationPreferencesRecord & { updatedAt: string }): Promise<void> {
      const row = {
        user_id: userId,
        paused_all: prefs.pausedAll,
        reminders: prefs.reminders,
        onboarding_tips: prefs.onboardingTips,
        product_updates: prefs.productUpdates,
        updated_at: prefs.updatedAt,
      };
      await db('notification_preferences').insert(row).onConflict('user_id').merge();
    },
  };
}
