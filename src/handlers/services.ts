import type { Config } from '../core/config';
import type { Catalog } from '../catalog/catalog';
import type { AccountsService } from '../services/accounts.service';
import type { AdminService } from '../services/admin.service';
import type { AuditService } from '../services/audit.service';
import type { PostsService } from '../services/posts.service';
import type { TokensService } from '../services/tokens.service';
import type { ArtifactsService } from '../services/artifacts.service';
import type { Metrics } from '../services/metrics';
import type { NotificationsService } from '../services/notifications.service';
import type { OrganizationsService } from '../services/organizations.service';
import type { PlacesService } from '../services/places.service';
import type { SharingService } from '../services/sharing.service';
import type { UsageService } from '../services/usage.service';
import type { WebhooksService } from '../services/webhooks.service';
import type { WorkspaceSessionsService, WorkspacesService } from '../services/workspaces.service';
import type { RulesService } from '../services/rules.service';
import type { BillingService } from '../services/billing.service';
import type { BalanceService } from '../services/balance.service';
import type { TransfersService } from '../services/transfers.service';

import type { EmailVerificationService } from '../services/email-verification.service';
import type { MailService } from '../services/mail.service';
import type { McpEndpoint } from '../mcp/server';

export interface Services {
  config: Config;
  accounts: AccountsService;
  tokens: TokensService;
  emailVerification: EmailVerificationService;
  mail: MailService;
  posts: PostsService;
  admin: AdminService;
  audit: AuditService;
  catalog: Catalog;
  mcp: McpEndpoint;
  places: PlacesService;
  artifacts: ArtifactsService;
  notifications: NotificationsService;
  organizations: OrganizationsService;
  sharing: SharingService;
  usage: UsageService;
  metrics: Metrics;
  /** Resolves when the database answers a trivial query. */
  health: () => Promise<void>;
  webhooks: WebhooksService;
  workspaces: WorkspacesService;
  rules: RulesService;
  billing: BillingService;
  balance: BalanceService;
  transfers: TransfersService;
  workspaceSessions: WorkspaceSessionsService;
}
