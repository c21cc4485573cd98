import cookieParser from 'cookie-parser';
import express, { Express, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { createAuthenticator } from './auth/authenticate';
import { Clock } from './core/clock';
import { createJwtService } from './auth/jwt';
import { createThrottle } from './auth/throttle';
import { Config, PROJECT_ROOT } from './core/config';
import type { Contract } from './contract/spec';
import { buildCatalog } from './catalog/catalog';
import { createMcpEndpoint, type Dispatch } from './mcp/server';
import { toolExchange } from './mcp/tool-pass';
import { matchOperation } from './contract/router';
import { createValidatorStages } from './contract/validator';
import { responseValidation } from './contract/response-validation';
import type { Repositories } from './db/repositories';
import { buildHandlers } from './handlers';
import type { Services } from './handlers/services';
import { authorize, authorizeCarried } from './http/authorize';
import { catalogNotModified } from './http/catalog-not-modified';
import { pipeline } from './http/pipeline';
import { docsRouter } from './http/docs';
import { webRouter } from './web/router';
import { errorHandler } from './http/error-handler';
import { requestContext } from './http/request-context';
import { refuseNulInUrl } from './http/nul';
import { createAccountsService } from './services/accounts.service';
import { createAdminService } from './services/admin.service';
import { createAuditService } from './services/audit.service';
import { createPasswordHasher } from './services/passwords';
import { createPostsService } from './services/posts.service';
import { createTokensService } from './services/tokens.service';
import { createArtifactsService } from './services/artifacts.service';
import { createMetrics } from './services/metrics';
import { createNotificationsService } from './services/notifications.service';
import { createOrganizationsService } from './services/organizations.service';
import { createPlacesService } from './services/places.service';
import { createSharingService } from './services/sharing.service';
import { createUsageService } from './services/usage.service';
import { createWebhooksService } from './services/webhooks.service';
import { createDispatcher } from './jobs/dispatcher';
import { createSender } from './webhooks/sender';
import { createWorkspaceSessionsService, createWorkspacesService } from './services/workspaces.service';
import { createWorker } from './jobs/worker';
import { createRulesService } from './services/rules.service';
import { createBillingService } from './services/billing.service';
import { createBalanceService } from './services/balance.service';
import { createTransfersService } from './services/transfers.service';
import { hostedRouter } from './web/hosted';
import { createLocalProvider, LocalProvider } from './billing/local';
import type { BillingProvider } from './billing/provider';
import { createStripeProvider } from './billing/stripe';
import { createMoneyJobs } from './jobs/money';
import { createMailService } from './services/mail.service';
import { createEmailVerificationService } from './services/email-verification.service';
import { logTransport, smtpTransport } from './mail/transport';
import { parseBody } from './http/body-parsers';
import { idempotency } from './http/idempotency';
import { memoryCounter, redisCounter } from './http/limit-counter';
import { createRateLimits } from './http/rate-limit';
import { tokenNotices } from './http/token-notices';
import type { Store } from 'express-rate-limit';
import { connectRedis, sharedStore } from './http/shared-store';
import type { TokenCache } from './auth/token-cache';

export interface AppDeps {
  config: Config;
  contract: Contract;
  repos: Repositories;
  log: Logger;
  clock: Clock;
  /** PAT lookups kept in memory where every change reaches every instance (src/auth/token-cache.ts). */
  tokenCache: TokenCache;
}

/**
 * `stores`, when the API runs with REDIS_URL, are where the sign-in throttle and the sign-up limit count
 * (shared by every instance); the worker process has no sign-ins and passes none.
 */
export function createServices(deps: AppDeps, stores: { signIn?: Store; signUp?: Store } = {}) {
  const { config, contract, repos, clock, log } = deps;
  const jwt = createJwtService(config, clock);
  const audit = createAuditService(repos, clock);
  const throttle = createThrottle(clock, config.authThrottle, stores.signIn);
  const mail = createMailService({ repos, clock, log, transport: config.mail.smtpUrl ? smtpTransport(config.mail.smtpUrl, config.mail.from) : logTransport(log) });
  const emailVerification = createEmailVerificationService({ repos, clock, mail, publicUrl: config.publicUrl });
  // Every sign-up attempt counts, taken email or not: answering "taken" to a flood would list accounts.
  const signups = createThrottle(clock, { maxFailures: config.signupLimit.perAddress, windowSeconds: config.signupLimit.windowSeconds }, stores.signUp);
  const webhooks = createWebhooksService(repos, clock, { dataKeys: config.dataKeys, allowPrivate: config.webhooks.allowPrivate, caps: config.caps, log });
  const rules = createRulesService(repos, clock, config.dataKeys, config.publicUrl, config.caps);
  // One provider for the whole app; the local one's hosted pages are mounted only when it is the one.
  const localProvider = config.billing.stripe ? undefined : createLocalProvider({ repos, clock, publicUrl: config.publicUrl, linkKey: config.dataKeys.current });
  const provider: BillingProvider = config.billing.stripe ? createStripeProvider(config.billing.stripe, repos, config.publicUrl) : localProvider!;
  const balance = createBalanceService(repos, clock, config.billing.money);
  const transfers = createTransfersService({ repos, clock, log, provider, balance, webhooks, settings: config.billing.money });
  const catalog = buildCatalog(contract);
  // Tool calls go through the app itself, which exists only once createApp has built it.
  const toolDispatch: { send?: Dispatch } = {};
  const mcp = createMcpEndpoint({
    contract, catalog, version: contract.document.info.version, toolTimeoutMs: config.mcp.toolTimeoutMs,
    dispatch: () => {
      if (!toolDispatch.send) throw new Error('The MCP endpoint is used before its app was built');
      return toolDispatch.send;
    },
  });
  const services: Services = {
    config,
    audit,
    accounts: createAccountsService({ config, repos, jwt, audit, throttle, signups, emailVerification, passwords: createPasswordHasher(config.bcryptCost), clock, log }),
    tokens: createTokensService({ repos, contract, audit, clock, webhooks, mail, requireVerifiedEmail: config.mail.requireVerifiedEmail }),
    emailVerification,
    mail,
    posts: createPostsService(repos, clock, webhooks),
    admin: createAdminService(repos, audit, clock),
    catalog,
    places: createPlacesService(repos, clock),
    artifacts: createArtifactsService(repos, clock),
    notifications: createNotificationsService(repos, clock),
    organizations: createOrganizationsService(repos, clock),
    sharing: createSharingService(repos, clock, config),
    usage: createUsageService(repos, clock, log),
    metrics: createMetrics(),
    health: () => repos.ping(),
    webhooks,
    workspaces: createWorkspacesService(repos, contract, clock, config.caps),
    rules,
    workspaceSessions: createWorkspaceSessionsService(repos, clock, balance, config.workspaceSessions),
    billing: createBillingService({ repos, clock, log, provider, balance, webhooks, rules, siteUrl: config.siteUrl }),
    balance,
    transfers,
    mcp,
  };
  const authenticate = createAuthenticator({ config, contract, repos, jwt, audit, clock, tokenCache: deps.tokenCache });
  const dispatcher = createDispatcher({
    repos, webhooks, clock, log,
    send: createSender({ allowPrivate: config.webhooks.allowPrivate, timeoutMs: config.webhooks.timeoutMs }),
    options: config.webhooks,
  });
  const worker = createWorker({ repos, contract, clock, log, webhooks, options: config.worker, schedules: services.rules });
  const moneyJobs = createMoneyJobs({ balance, transfers, tokens: services.tokens, mail, log, pollMs: config.worker.pollMs });
  return { services, authenticate, jwt, dispatcher, worker, moneyJobs, localProvider, toolDispatch };
}

/**
 * helmet, set for a JSON API: the strictest CSP (nothing here is a page), no framing, no sniffing,
 * HSTS. The legacy headers meant for HTML pages (X-XSS-Protection, X-Download-Options,
 * X-DNS-Prefetch-Control, X-Permitted-Cross-Domain-Policies, Origin-Agent-Cluster) are left out: they
 * protect nothing in a JSON response and cost header bytes on every one. /docs sets its own.
 */
function apiSecurityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    frameguard: { action: 'deny' },
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
}

/** Most API calls carry a bearer token and no cookie; they skip the cookie parser's work. */
function onlyWithCookies(parser: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (req.headers.cookie) return parser(req, res, next);
    req.cookies = {};
    next();
  };
}

/**
 * Pages, docs and hosted checkout never live at a path of the contract: API calls (everything under
 * /api/, and the contract's few paths outside it, /mcp where every agent's tool call comes among them)
 * skip their routers' route scans (a few µs each on every call, measured with `npm run bench`).
 */
function outsideApi(contract: Contract, ...routers: RequestHandler[]): RequestHandler {
  const pages = pipeline(...routers);
  const others = [...new Set([...contract.operations.values()].map((op) => op.path).filter((path) => !path.startsWith('/api/')))];
  // A parametrised path by its literal start ("/r/"), a static one exactly (with or without a query).
  const starts = others.filter((path) => path.includes('{')).map((path) => path.slice(0, path.indexOf('{')));
  const exact = others.filter((path) => !path.includes('{'));
  const isApi = (url: string) => url.startsWith('/api/') || starts.some((start) => url.startsWith(start))
    || exact.some((path) => url.startsWith(path) && (url.length === path.length || url[path.length] === '?'));
  return (req, res, next) => (isApi(req.url) ? next() : pages(req, res, next));
}

/** The local provider's hosted pages; with a real provider there are none (a 404, like any unknown path). */
function hostedPages(local: LocalProvider | undefined, services: Services): RequestHandler[] {
  return local ? [hostedRouter(local, services.billing)] : [];
}

/** An express app with the settings every API-serving app here shares. */
function expressApp(config: Config): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'extended');
  // express would hash every JSON body into an ETag and answer 304s the contract does not declare;
  // the catalog, the one resource clients revalidate, sets its own.
  app.set('etag', false);
  // …and `If-None-Match: *` would still make res.send answer 304 to any GET: only the catalog answers
  // conditional requests (src/http/conditional.ts). On the app's request prototype: no per-request cost.
  Object.defineProperty(app.request, 'fresh', { configurable: true, get: () => false });
  app.set('trust proxy', config.trustProxy);
  return app;
}

/**
 * route match (404/405) → authorization → rate limit → body parse → validation → idempotency → handler → errors.
 * Builds the app; never listens (server.ts does).
 */
export function createApp(deps: AppDeps): Express {
  const { config, contract, log, repos, clock } = deps;
  // With REDIS_URL every instance counts in the same buckets; without it each counts alone (one instance).
  const redis = config.redisUrl ? connectRedis(config.redisUrl, log) : undefined;
  const limitStore = (name: string) => (redis ? sharedStore(redis, `${config.redisPrefix}${name}:`, log) : undefined);
  const { services, authenticate, dispatcher, worker, moneyJobs, localProvider, toolDispatch } = createServices(deps, { signIn: limitStore('signin'), signUp: limitStore('signup') });
  const windows = { failures: config.addressLimit.failures, failureWindowMs: config.addressLimit.windowSeconds * 1000, requestWindowMs: config.rateLimit.windowSeconds * 1000 };
  const limits = createRateLimits(config, redis ? redisCounter(redis, `${config.redisPrefix}rl:`, windows, log) : memoryCounter(windows));
  const handlers = buildHandlers(contract, services);
  const validator = createValidatorStages(contract, config.specPath);
  const match = matchOperation(contract);
  // Tests check every answer against the contract, the tool pass's as well (one validator for both).
  const checkResponses = config.validateResponses ? [responseValidation(contract, log)] : [];
  // From validation on, an operation's stages are the same whether HTTP or an MCP tool call brings it.
  const operationStages = [
    ...validator.validate,
    idempotency(repos, clock, log),
    async (req: Request, res: Response) => {
      await handlers.get(req.operation!.operationId)!(req, res);
    },
  ];

  const api = pipeline(
    catalogNotModified(services.catalog),
    requestContext(log, (req, res) => {
      limits.settle(req, res);
      services.metrics.observe(req.operation?.operationId, res.statusCode, res.locals.errorCode as string | undefined);
      const auth = req.auth;
      if (req.operation && auth && 'user' in auth && auth.kind !== 'pending') {
        const tokenId = auth.kind === 'pat' ? auth.token.id : null;
        services.usage.record(auth.user.id, tokenId, req.operation.operationId);
        // An MCP tool call is also a call of its operation: counted under both, as over HTTP.
        const tool = res.locals.toolOperationId as string | undefined;
        if (tool) services.usage.record(auth.user.id, tokenId, tool);
      }
    }),
    apiSecurityHeaders(),
    onlyWithCookies(cookieParser()),
    match,
    ...checkResponses,
    limits.count,
    authorize(authenticate, clock, tokenNotices(clock)),
    limits.countFirstSeenUser,
    parseBody(contract),
    services.mcp.toolCalls,
    ...operationStages,
  );
  // An MCP tool call's operation: matched, counted as the API call it is (besides its /mcp request),
  // authorized for its own modes and scopes with the credential the /mcp pass authenticated, then the
  // same stages as over HTTP (src/mcp/tool-pass.ts).
  const toolPass = pipeline(match, ...checkResponses, limits.count, authorizeCarried(clock), ...operationStages);
  const answerError = errorHandler(log);

  const app = expressApp(config);
  app.use(refuseNulInUrl);
  app.use(outsideApi(contract, docsRouter(contract, PROJECT_ROOT, config.specPath), webRouter(PROJECT_ROOT, (req) => authenticate(req).then((who) => who?.kind === 'session', () => false)), ...hostedPages(localProvider, services)));
  app.use(api);
  app.use(answerError);
  toolDispatch.send = (req, res, request) => {
    const pass = toolExchange(req, res, request);
    toolPass(pass.req, pass.res, (err?: unknown) => {
      answerError(err ?? new Error(`${request.method} ${request.url} ended without an answer`), pass.req, pass.res, () => undefined);
    });
    return pass.answer;
  };
  // server.ts starts the webhook dispatcher (tests drive it with runOnce) and, on shutdown, stops it
  // and writes the batched usage counts.
  app.locals.dispatcher = dispatcher;
  app.locals.worker = worker;
  app.locals.moneyJobs = moneyJobs;
  app.locals.redis = redis;
  app.locals.beforeShutdown = async () => {
    await Promise.all([dispatcher.stop(), worker.stop(), moneyJobs.stop()]);
    await services.usage.flush();
    await redis?.quit().catch(() => undefined);
  };
  return app;
}
