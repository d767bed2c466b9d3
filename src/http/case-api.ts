/**
 * The express adapter of the case-management API (/cm/v1): JSON in, JSON out, errors as
 * OperationOutcomes (the shared error handler). The handlers themselves (src/casemgmt) know
 * nothing of express: a command takes its path parameters, body and Idempotency-Key.
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { COMMAND_ENDPOINTS } from '../casemgmt/api';
import { caseListAudit, caseViewAudit, commandAudit, documentationRequestsAudit, reportAudit } from '../casemgmt/audit';
import { documentationRequests } from '../casemgmt/documentation-requests';
import { assertAllowed, caseList, caseView } from '../casemgmt/case-view';
import { measuresReport, outcomesReport, reportPeriod } from '../casemgmt/reports';
import { type PartnerDirectory, runCommand } from '../casemgmt/command';
import { parseIdempotencyKey } from '../casemgmt/idempotency';
import { openApiDocument } from '../casemgmt/openapi';
import { servicesFor } from '../core/scoped-services';
import type { FhirServices } from '../core/services';
import { stringifyFhirJson } from '../fhir/json-text';
import { FhirError } from '../fhir/outcomes';
import { audited } from './audit';
import { parseJsonBody } from './json-body';
import { requestContextOf } from './request-context';

const JSON_TYPE = /^application\/(?:[a-z.+-]*\+)?json\s*(?:;|$)/i;

export function caseApi(services: FhirServices, options: { readonly bodyLimitBytes: number; readonly partners?: PartnerDirectory }): Router {
  const { bodyLimitBytes } = options;
  const router = Router({ strict: false });
  router.use(express.raw({ type: () => true, limit: bodyLimitBytes }));
  const served = new Map<string, Set<string>>();
  const route = (method: string, path: string) => {
    const methods = served.get(path) ?? new Set<string>();
    methods.add(method);
    served.set(path, methods);
    return path.replace(/\{([A-Za-z]+)\}/g, ':$1');
  };

  router.get(route('GET', '/openapi.json'), (_req, res) => {
    sendJson(res, 200, openApiDocument());
  });
  // Every call below is audited (http/audit.ts audited): recorded before its answer leaves.
  router.get(route('GET', '/cases'), handle(async (req, res) => {
    const client = typeof req.query.client === 'string' ? req.query.client : undefined;
    const ctx = requestContextOf(res, {});
    const scoped = await servicesFor(services, ctx);
    const query = req.query as Record<string, unknown>;
    const list = await audited(res, { services: scoped, work: () => caseList(scoped, ctx, query), facts: (answer) => caseListAudit(client, `${req.method} ${req.originalUrl}`, answer) });
    sendJson(res, 200, list);
  }));
  router.get(route('GET', '/cases/{caseId}'), handle(async (req, res) => {
    const caseId = String(req.params.caseId);
    const ctx = requestContextOf(res, {});
    const scoped = await servicesFor(services, ctx);
    sendJson(res, 200, await audited(res, { services: scoped, work: () => caseView(scoped, ctx, caseId), facts: (answer) => caseViewAudit(caseId, answer) }));
  }));
  router.get(route('GET', '/documentation-requests'), handle(async (req, res) => {
    const ctx = requestContextOf(res, {});
    const scoped = await servicesFor(services, ctx);
    const query = req.query as Record<string, unknown>;
    const answer = await audited(res, { services: scoped, work: () => documentationRequests(scoped, ctx, query), facts: (a) => documentationRequestsAudit(`${req.method} ${req.originalUrl}`, a) });
    sendJson(res, 200, answer);
  }));
  for (const [path, report] of [['/reports/measures.csv', measuresReport], ['/reports/outcomes.csv', outcomesReport]] as const) {
    router.get(route('GET', path), handle(async (req, res) => {
      const ctx = requestContextOf(res, {});
      const scoped = await servicesFor(services, ctx);
      const query = req.query as Record<string, unknown>;
      const answer = await audited(res, {
        services: scoped,
        work: async () => {
          assertAllowed(scoped, ctx);
          return report(scoped, reportPeriod(query));
        },
        facts: (a) => reportAudit(`${req.method} ${req.originalUrl}`, a),
      });
      res.status(200).setHeader('Content-Type', 'text/csv; charset=utf-8; header=present');
      res.send(answer.csv);
    }));
  }
  for (const endpoint of COMMAND_ENDPOINTS) {
    const path = route(endpoint.method, endpoint.path);
    const handler = handle(async (req, res) => {
      const ctx = requestContextOf(res, {});
      const scoped = await servicesFor(services, ctx);
      const params = Object.fromEntries(Object.entries(req.params).map(([k, v]) => [k, String(v)]));
      const result = await audited(res, {
        services: scoped,
        work: () => runCommand(scoped, ctx, endpoint.command, { params, body: commandBody(req), ...optionalKey(req.get('idempotency-key')), ...(options.partners ? { partners: options.partners } : {}) }),
        facts: (answer) => commandAudit(endpoint.command.name, params, answer),
      });
      // The case view; a command about no case (a documentation request's decision) has none.
      if (result.receipt.case !== undefined) res.setHeader('Location', `${req.baseUrl}/${result.receipt.case.replace('EpisodeOfCare/', 'cases/')}`);
      if (result.replayed) res.setHeader('Idempotent-Replayed', 'true');
      sendJson(res, result.status, result.receipt);
    });
    if (endpoint.method === 'POST') router.post(path, handler);
    else router.put(path, handler);
  }
  // A known path with another method is 405; anything else under /cm/v1 is 404.
  const patterns = [...served].map(([path, methods]) => [new RegExp(`^${path.replace(/\{[A-Za-z]+\}/g, '[^/]+')}/?$`), methods] as const);
  router.use((req: Request, _res: Response, next: NextFunction) => {
    const known = patterns.find(([pattern]) => pattern.test(req.path));
    if (known) {
      next(new FhirError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.baseUrl}${req.path} (allowed: ${[...known[1]].join(', ')})`));
      return;
    }
    next(new FhirError('UNKNOWN_ROUTE', `Nothing is served at ${req.baseUrl}${req.path}; the case API is described at ${req.baseUrl}/openapi.json`));
  });
  return router;
}

function handle(run: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction) => {
    run(req, res).catch(next);
  };
}

function optionalKey(header: string | undefined): { idempotencyKey?: string } {
  const key = parseIdempotencyKey(header);
  return key === undefined ? {} : { idempotencyKey: key };
}

/** The body as JSON; undefined when there is none. */
function commandBody(req: Request): unknown {
  const raw = req.body as Buffer | undefined;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  const type = req.get('content-type') ?? '';
  if (!JSON_TYPE.test(type)) {
    throw new FhirError('UNSUPPORTED_MEDIA_TYPE', `The case API takes JSON bodies (Content-Type: application/json), not "${type}"`);
  }
  return parseJsonBody(raw);
}

function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Content-Type', 'application/json; charset=utf-8');
  // Decimals read from FHIR resources keep their precision here too.
  res.send(stringifyFhirJson(body));
}
