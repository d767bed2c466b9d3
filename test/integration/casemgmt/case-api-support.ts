// Shared by the case-API integration tests: the app on its own database with a steady clock,
// requests to /cm/v1 and /fhir, a database snapshot ("no trace"), and a case opened in one call.
import request from 'supertest';
import { FHIR_JSON, type TestApp, type TestAppOptions, testApp } from '../../support/app';
import { databaseContents } from '../../support/database';
import { CASE_API_DIRECTORY, seedDirectory } from '../../support/directory';

export interface CaseApiHarness {
  readonly t: TestApp;
  /** POST (or PUT) a command; `key` sets Idempotency-Key. */
  command(path: string, body: unknown, options?: { key?: string; method?: 'post' | 'put' }): request.Test;
  /** GET below /cm/v1. */
  get(path: string): request.Test;
  /** GET below /fhir. */
  fhir(path: string): request.Test;
  snapshot(): Promise<Record<string, unknown[]>>;
  /** Opens a case for a new client and answers its ids. */
  openCase(overrides?: Record<string, unknown>): Promise<{ caseId: string; clientId: string }>;
}

let counter = 0;

export async function caseApiHarness(options: Pick<TestAppOptions, 'beforeWrite'> = {}): Promise<CaseApiHarness> {
  let tick = 0;
  // 2025-03-01T09:00:00Z, one second further at each reading.
  const t = await testApp({ ...options, now: () => new Date(Date.UTC(2025, 2, 1, 9) + tick++ * 1000) });
  await seedDirectory(t, CASE_API_DIRECTORY);
  const harness: CaseApiHarness = {
    t,
    command(path, body, options = {}) {
      const req = request(t.app)[options.method ?? 'post'](`/cm/v1${path}`).set('Content-Type', 'application/json');
      if (options.key) req.set('Idempotency-Key', options.key);
      return req.send(JSON.stringify(body));
    },
    get: (path) => request(t.app).get(`/cm/v1${path}`),
    fhir: (path) => request(t.app).get(`/fhir/${path}`).set('Accept', FHIR_JSON),
    snapshot: () => databaseContents(t.database.connection.db),
    async openCase(overrides = {}) {
      counter += 1;
      const res = await harness.command('/cases', {
        client: { identifier: { system: 'urn:agency:clients', value: `H-${counter}-${Math.random().toString(36).slice(2, 8)}` }, name: { family: 'Okafor', given: ['Ada'] }, gender: 'female' },
        caseManager: 'PractitionerRole/cm-1',
        agency: 'Organization/agency',
        opened: '2025-01-20',
        ...overrides,
      });
      if (res.status !== 201) throw new Error(`openCase: ${res.status} ${JSON.stringify(res.body)}`);
      const clientRef = (res.body.written as { reference: string }[]).find((w) => w.reference.startsWith('Patient/'))?.reference;
      return { caseId: (res.body.case as string).split('/')[1] as string, clientId: (clientRef ?? '').split('/')[1] as string };
    },
  };
  return harness;
}

/** The resources of a searchset Bundle. */
export function resources(body: { entry?: { resource: { resourceType: string; id: string } & Record<string, unknown> }[] }, type?: string) {
  return (body.entry ?? []).map((e) => e.resource).filter((r) => type === undefined || r.resourceType === type);
}

/** One entry of a command receipt's `written` list. */
export interface Written {
  reference: string;
  versionId: string;
}

/** The `Type/id` references of one type that a command wrote, in receipt order. */
export function refsOf(body: { written: Written[] }, type: string): string[] {
  return body.written.filter((w) => w.reference.startsWith(`${type}/`)).map((w) => w.reference);
}

