import { byId, caller, HandlerMap, pageRequest, sendPage } from './kit';
import { presentAuditEvent, presentScopes, presentUsageWindow, presentUser } from './presenters';
import type { Services } from './services';

export function accountHandlers({ audit, usage, config }: Services): HandlerMap {
  return {
    async getMe(req, res) {
      const principal = caller(req);
      res.json({ user: presentUser(principal.user), credential: principal.kind, scopes: presentScopes(principal.scopes) });
    },
    async getUsage(req, res) {
      const report = await usage.report(caller(req).user.id);
      const state = req.rateLimit;
      const resetMs = state?.resetTime ? state.resetTime.getTime() - Date.now() : 0;
      res.json({
        last_24_hours: presentUsageWindow(report.last24Hours),
        last_30_days: presentUsageWindow(report.last30Days),
        rate_limit: {
          limit: state?.limit ?? config.rateLimit.requests,
          remaining: state?.remaining ?? config.rateLimit.requests,
          reset_seconds: Math.max(0, Math.ceil(resetMs / 1000)),
          window_seconds: config.rateLimit.windowSeconds,
        },
      });
    },
    async listAuditEvents(req, res) {
      const page = pageRequest(req, byId);
      sendPage(res, page, await audit.list(caller(req).user.id, page), presentAuditEvent);
    },
  };
}
