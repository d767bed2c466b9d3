/**
 * createApp: the HTTP application, without opening a port (tests drive it with supertest).
 * Middleware order: audit context → security headers → CORS → compression → request id and
 * logging → health → OAuth endpoints and SMART discovery (public; the token endpoint has a budget
 * per address) → authentication (Bearer token → Caller; the CapabilityStatement and the case
 * API's OpenAPI document stay public) → the client's request budget (429) → FHIR API (raw body,
 * size limit; the Bulk Data status and file endpoints beside it; audit and access check as
 * route-table hooks) → case API (/cm/v1) → not found →
 * error handler (which audits what was refused before reaching an interaction). Nothing is read
 * from a request body before its token is checked.
 */
import compression from 'compression';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { markAudited, storeAuditLog } from './audit/audit-log';
import type { Caller } from './auth/caller';
import type { AuthService } from './auth/service';
import { FhirError } from './fhir/outcomes';
import { auditContext } from './http/audit';
import { authentication, publicRead } from './http/authentication';
import { type BulkDataStore, bulkDataRoutes } from './http/bulk-data';
import { caseApi } from './http/case-api';
import { type CorsOrigins, corsPolicy } from './http/cors';
import { RETRY_AFTER_SECONDS, errorHandler } from './http/error-handler';
import { fhirEndpoint } from './http/fhir-endpoint';
import { healthRoutes } from './http/health';
import { oauthRoutes } from './http/oauth';
import { rateLimited } from './http/rate-limit';
import { requestContext } from './http/request-context';
import type { FhirServices } from './core/services';
import type { PartnerDirectory } from './casemgmt/command';
import type { Logger } from './platform/logger';
import type { RateLimit } from './platform/rate-limit';
import { auditInteractions } from './rest/audit-hook';
import { authorizeInteraction, createDispatcher } from './rest/dispatcher';

export interface AppDependencies {
  readonly services: FhirServices;
  /** Tokens and the Caller they prove (auth/service.ts): there is no app without it. */
  readonly auth: AuthService;
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  /** Origins allowed to call from a browser (default: any). */
  readonly corsOrigins?: CorsOrigins;
  readonly rateLimits: RateLimits;
  /** Express's `trust proxy`: false unless the deployment says which proxies to believe. */
  readonly trustProxy?: false | string;
  /**
   * False while the database is known to be down (the embedded one, between its exit and its
   * restart): requests are answered 503 at once instead of waiting for the driver to give up.
   */
  readonly databaseAvailable?: () => boolean;
  /** The partners the workflows deliver to: case commands that send (unsolicited attachments) check the recipient is one. */
  readonly partners?: PartnerDirectory;
  /** Export jobs and files: serves the Bulk Data status and file endpoints when given (http/bulk-data.ts). */
  readonly bulkData?: BulkDataStore;
}

/** Request budgets shared by instances (composition.ts buildRateLimits). */
export interface RateLimits {
  /** Per client, for the FHIR and case APIs. */
  readonly api: RateLimit;
  /** Per address, for the token and introspection endpoints (guessing at credentials). */
  readonly token: RateLimit;
}

export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The client's address comes from the socket unless the deployment names its proxies.
  app.set('trust proxy', deps.trustProxy ?? false);
  const perClient = rateLimited(deps.rateLimits.api, (_req, res) => (res.locals.caller as Caller | undefined)?.clientId);
  // Audit (docs/security.md#audit): every request is recorded before it is answered, refusals
  // included; AuditEvents go straight to the unscoped store.
  const audit = storeAuditLog(deps.services.repo);
  app.use(auditContext({ log: audit, source: { baseUrl: deps.services.settings.baseUrl }, now: deps.services.now, logger: deps.logger }));
  app.use(helmet({ crossOriginResourcePolicy: { policy: 'cross-origin' } }));
  app.use(corsPolicy(deps.corsOrigins ?? '*'));
  // gzip when asked (Accept-Encoding): search Bundles, $everything and the 1.4 MB CapabilityStatement
  // shrink tenfold for an EHR pulling across a WAN.
  app.use(compression());
  app.use(requestContext(deps.logger));
  const databaseAvailable = deps.databaseAvailable ?? (() => true);
  app.use(healthRoutes(async () => (databaseAvailable() ? deps.services.repo.readiness() : { ready: false, reason: 'unreachable' })));
  // Refused before anything is read or written; the audit log is in the database that is down,
  // so the refusal is logged, not audited (markAudited), and answered at once.
  app.use((_req, res, next) => {
    if (databaseAvailable()) {
      next();
      return;
    }
    (res.locals.log as Logger | undefined)?.warn('refused: the embedded database is restarting');
    next(markAudited(new FhirError('UNAVAILABLE', `The database is restarting; nothing was changed. Try again in ${RETRY_AFTER_SECONDS} seconds.`)));
  });
  app.use('/auth', rateLimited(deps.rateLimits.token, (req) => (req.method === 'POST' ? req.ip : undefined)));
  app.use(oauthRoutes(deps.auth));
  // Any content type is read as bytes here; the endpoint checks it (415) before parsing.
  // Hooks run outermost first: the audit sees the access check's refusals too.
  const dispatch = createDispatcher({ services: deps.services, hooks: [auditInteractions({ log: audit, repo: deps.services.repo }), authorizeInteraction] });
  app.use(
    '/fhir',
    authentication(deps.auth, publicRead('/metadata')),
    perClient,
    ...(deps.bulkData ? [bulkDataRoutes(deps.services, deps.bulkData)] : []),
    express.raw({ type: () => true, limit: deps.bodyLimitBytes }),
    fhirEndpoint(dispatch),
  );
  // The case-management API (docs/case-api.md): commands and case views over the same store.
  app.use('/cm/v1', authentication(deps.auth, publicRead('/openapi.json')), perClient, caseApi(deps.services, { bodyLimitBytes: deps.bodyLimitBytes, ...(deps.partners ? { partners: deps.partners } : {}) }));
  app.use((req, _res, next) => next(new FhirError('UNKNOWN_ROUTE', `Nothing is served at ${req.path}; the FHIR API is at /fhir`)));
  app.use(errorHandler(deps.logger));
  return app;
}
