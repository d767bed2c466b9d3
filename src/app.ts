/**
 * createApp: the HTTP application, without opening a port (tests drive it with supertest).
 * Middleware order: audit context → security headers → CORS → compression → request id and logging → FHIR API
 * (raw body, size limit; audit and access check as route-table hooks) → case API (/cm/v1) → not found → error
 * handler (which audits what was refused before reaching an interaction).
 */
import compression from 'compression';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { storeAuditLog } from './audit/audit-log';
import { FhirError } from './fhir/outcomes';
import { auditContext } from './http/audit';
import { caseApi } from './http/case-api';
import { type CorsOrigins, corsPolicy } from './http/cors';
import { errorHandler } from './http/error-handler';
import { fhirEndpoint } from './http/fhir-endpoint';
import { healthRoutes } from './http/health';
import { requestContext } from './http/request-context';
import type { FhirServices } from './core/services';
import type { Logger } from './platform/logger';
import { auditInteractions } from './rest/audit-hook';
import { authorizeInteraction, createDispatcher } from './rest/dispatcher';

export interface AppDependencies {
  readonly services: FhirServices;
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  /** Origins allowed to call from a browser (default: any). */
  readonly corsOrigins?: CorsOrigins;
}

export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
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
  app.use(healthRoutes(() => deps.services.repo.ping()));
  // Any content type is read as bytes here; the endpoint checks it (415) before parsing.
  app.use('/fhir', express.raw({ type: () => true, limit: deps.bodyLimitBytes }), fhirEndpoint(createDispatcher({ services: deps.services, hooks: [auditInteractions({ log: audit, repo: deps.services.repo }), authorizeInteraction] })));
  // The case-management API (docs/case-api.md): commands and case views over the same store.
  app.use('/cm/v1', caseApi(deps.services, deps.bodyLimitBytes));
  app.use((req, _res, next) => next(new FhirError('UNKNOWN_ROUTE', `Nothing is served at ${req.path}; the FHIR API is at /fhir`)));
  app.use(errorHandler(deps.logger));
  return app;
}
