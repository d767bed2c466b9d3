/**
 * The Bulk Data status and file endpoints, beside the FHIR API (the kick-off, $export, is an
 * operation of the route table): GET [base]/$export-status/[job] (202 with X-Progress while it
 * runs, 200 with the manifest, an OperationOutcome if it failed), DELETE to cancel, and
 * GET [base]/$export-file/[job]/[Type].ndjson, streamed chunk by chunk. Only the client that asked
 * for an export sees it (another's answers 404), with a token, as the manifest's
 * requiresAccessToken says; each call is audited before its answer (http/audit.ts).
 * See: https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-status-request
 */
import { once } from 'node:events';
import { type NextFunction, type Request, type Response, Router } from 'express';
import { restfulInteraction } from '../audit/audit-event';
import { servicesFor } from '../core/scoped-services';
import type { FhirServices } from '../core/services';
import { FHIR_JSON } from '../fhir/media-types';
import { stringifyFhirJson } from '../fhir/json-text';
import { NDJSON, exportFile, exportStatus, ownJob } from '../operations/export';
import type { ExportFiles, ExportJobs } from '../store/records';
import { audited } from './audit';
import { requestContextOf } from './request-context';

export interface BulkDataStore {
  readonly jobs: ExportJobs;
  readonly files: ExportFiles;
  readonly now: () => Date;
}

export function bulkDataRoutes(services: FhirServices, store: BulkDataStore): Router {
  const router = Router();
  const facts = (req: Request, action: 'R' | 'D', group?: string) => () => ({
    subtype: restfulInteraction('operation'),
    action,
    query: `${req.method} ${services.settings.baseUrl}${req.path}`,
    ...(group ? { entities: [{ reference: group }] } : {}),
  });
  const scoped = (res: Response) => {
    const ctx = requestContextOf(res, {});
    return servicesFor(services, ctx).then((s) => ({ ctx, services: s }));
  };

  router.get('/$export-status/:job', handle(async (req, res) => {
    const { ctx, services: s } = await scoped(res);
    const status = await audited(res, { services: s, work: async () => exportStatus(await ownJob(store.jobs, ctx.caller, String(req.params.job)), services.settings.baseUrl), facts: facts(req, 'R') });
    if (status.status === 202) {
      res.status(202).setHeader('X-Progress', status.progress).setHeader('Retry-After', '2').end();
    } else if (status.status === 200) {
      if (status.expires) res.setHeader('Expires', status.expires.toUTCString());
      res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8').send(JSON.stringify(status.manifest));
    } else {
      res.status(500).setHeader('Content-Type', `${FHIR_JSON}; charset=utf-8`).send(stringifyFhirJson(status.outcome));
    }
  }));

  router.delete('/$export-status/:job', handle(async (req, res) => {
    const { ctx, services: s } = await scoped(res);
    await audited(res, {
      services: s,
      work: async () => {
        const job = await ownJob(store.jobs, ctx.caller, String(req.params.job));
        await store.jobs.cancel(job.id, store.now());
      },
      facts: facts(req, 'D'),
    });
    res.status(202).end();
  }));

  router.get('/$export-file/:job/:name', handle(async (req, res) => {
    const { ctx, services: s } = await scoped(res);
    const file = await audited(res, { services: s, work: () => exportFile(store, ctx.caller, { job: String(req.params.job), name: String(req.params.name) }), facts: facts(req, 'R') });
    res.status(200).setHeader('Content-Type', NDJSON);
    for await (const chunk of file.chunks) {
      // Backpressure: a slow client holds one chunk in memory at a time.
      if (!res.write(chunk)) await once(res, 'drain');
    }
    res.end();
  }));
  return router;
}

function handle(run: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction) => {
    run(req, res).catch(next);
  };
}
