import { body, caller, HandlerMap } from './kit';
import { presentPreferences } from './presenters';
import type { Services } from './services';

export function notificationsHandlers({ notifications }: Services): HandlerMap {
  return {
    async getNotificationPreferences(req, res) {
      res.json(presentPreferences(await notifications.get(caller(req).user.id)));
    },
    async updateNotificationPreferences(req, res) {
      const input = body<'updateNotificationPreferences'>(req);
      res.json(presentPreferences(await notifications.update(caller(req).user.id, {
        pausedAll: input.paused_all,
        paymentsAndReceipts: input.payments_and_receipts,
        reminders: input.reminders,
        onboardingTips: input.onboarding_tips,
        productUpdates: input.product_updates,
      })));
    },
  };
}
