import { Router } from 'express';
import { operationOutcome } from '../fhir/outcomes';

/** /healthz: the process answers. /readyz: and its database does too. */
export function healthRoutes(ready: () => Promise<boolean>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (await ready()) {
      res.json({ status: 'ready', database: 'reachable' });
      return;
    }
    res
      .status(503)
      .type('application/fhir+json')
      .send(JSON.stringify(operationOutcome([{ severity: 'error', code: 'transient', diagnostics: 'The database is not reachable' }])));
  });
  return router;
}
