import { Clock, iso } from '../core/clock';
import type { Repositories } from '../db/repositories';
import type { NotificationPreferencesRecord } from '../db/repositories/notification-preferences.repository';
import { fail } from '../core/errors';

export type PreferencesPatch = Partial<Omit<NotificationPreferencesRecord, 'updatedAt'>> & { paymentsAndReceipts?: boolean };

export interface PreferencesView extends NotificationPreferencesRecord {
  /** What is actually sent once the pause is applied: receipts always. */
  sent: { paymentsAndReceipts: true; reminders: boolean; onboardingTips: boolean; productUpdates: boolean };
  notice: string | null;
}

export const RECEIPTS_NOTICE = 'Everything that can be paused is paused. Payment receipts are still sent: they are records of money moving and cannot be turned off.';

function view(prefs: NotificationPreferencesRecord): PreferencesView {
  const on = !prefs.pausedAll;
  return {
    ...prefs,
    sent: {
      paymentsAndReceipts: true,
      reminders: on && prefs.reminders,
      onboardingTips: on && prefs.onboardingTips,
      productUpdates: on && prefs.productUpdates,
    },
    notice: prefs.pausedAll ? RECEIPTS_NOTICE : null,
  };
}

export function createNotificationsService(repos: Repositories, clock: Clock) {
  return {
    async get(userId: string): Promise<PreferencesView> {
      return view(await repos.notificationPreferences.find(userId));
    },
    async update(userId: string, patch: PreferencesPatch): Promise<PreferencesView> {
      if (patch.paymentsAndReceipts === false) {
        throw fail('receipts_required', 'Payment receipts cannot be turned off; pause the other emails instead (paused_all), receipts will still be sent.');
      }
      const current = await repos.notificationPreferences.find(userId);
      const next = {
        pausedAll: patch.pausedAll ?? current.pausedAll,
        reminders: patch.reminders ?? current.reminders,
        onboardingTips: patch.onboardingTips ?? current.onboardingTips,
        productUpdates: patch.productUpdates ?? current.productUpdates,
        updatedAt: iso(clock()),
      };
      await repos.notificationPreferences.save(userId, next);
      return view(next);
    },
  };
}

export type NotificationsService = ReturnType<typeof createNotificationsService>;
