import type { Config } from '../config';
import type { Catalog } from '../contract/catalog';
import type { AccountsService } from '../services/accounts.service';
import type { AdminService } from '../services/admin.service';
import type { AuditService } from '../services/audit.service';
import type { PostsService } from '../services/posts.service';
import type { TokensService } from '../services/tokens.service';

export interface Services {
  config: Config;
  accounts: AccountsService;
  tokens: TokensService;
  posts: PostsService;
  admin: AdminService;
  audit: AuditService;
  catalog: Catalog;
}
