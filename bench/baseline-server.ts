/**
 * The HTTP limit: express 5 + helmet answering GET with a fixed FHIR resource (no database, no
 * validation), in its own process like the service. Whatever CaseBridge adds is measured against it.
 */
import express from 'express';
import helmet from 'helmet';

const body = JSON.stringify({
  resourceType: 'Patient',
  id: 'baseline',
  meta: { versionId: '1', lastUpdated: '2025-06-30T10:00:00.000Z' },
  identifier: [{ system: 'urn:casebridge:synthetic:client', value: '42-0' }],
  name: [{ family: 'Okafor', given: ['Ada'] }],
  gender: 'female',
  birthDate: '1984-03-02',
});

const app = express();
app.disable('x-powered-by');
app.use(helmet());
app.get('/readyz', (_req, res) => {
  res.json({ status: 'ready' });
});
app.get('/fhir/Patient/:id', (_req, res) => {
  res.setHeader('ETag', 'W/"1"');
  res.type('application/fhir+json').send(body);
});
app.listen(Number(process.env.PORT ?? 8099));
