import { Router } from 'express';
import { operationOutcome } from '../fhir/outcomes';
import type { Readiness } from '../store/repository';
import { RETRY_AFTER_SECONDS } from './error-handler';

const REASONS: Record<Exclude<Readiness, { ready: true }>['reason'], string> = {
  unreachable: 'The database is not reachable',
  'storage-full': 'The database is out of disk space',
};

/** /healthz: the process answers. /readyz: and its database takes writes (503 with the reason otherwise). */
export function healthRoutes(ready: () => Promise<Readiness>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const readiness = await ready();
    if (readiness.ready) {
      res.json({ status: 'ready', database: 'reachable' });
      return;
    }
    res
      .status(503)
      .setHeader('Retry-After', String(RETRY_AFTER_SECONDS))
      .type('application/fhir+json')
      .send(JSON.stringify(operationOutcome([{ severity: 'error', code: readiness.reason === 'storage-full' ? 'exception' : 'transient', diagnostics: REASONS[readiness.reason] }])));
  });
  return router;
}
