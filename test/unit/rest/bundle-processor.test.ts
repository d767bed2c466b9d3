/**
 * The Bundle processor's pure parts: entries read into requests, the transaction order, failures
 * located at their entry, and a batch dispatching each entry through the dispatcher it is given.
 * Transactions write, so they are tested against the database (test/integration/rest/bundle.test.ts).
 */
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import pino from 'pino';
import type { RequestContext } from '../../../src/core/context';
import type { FhirRequest, FhirResponse } from '../../../src/core/exchange';
import type { FhirServices } from '../../../src/core/services';
import { FhirError } from '../../../src/fhir/outcomes';
import { processBundle } from '../../../src/rest/bundle/bundle-processor';
import { assertBundle, entryError, parseEntry, transactionOrder } from '../../../src/rest/bundle/entries';
import { failure } from '../../support/errors';
import { clientCaller } from '../../support/callers';

const BASE = 'http://casebridge.test/fhir';
const ctx: RequestContext = { requestId: 'r1', caller: clientCaller({ id: 'c', display: 'C' }), log: pino({ level: 'silent' }), prefer: {} };

describe('parseEntry: entry.request as a FhirRequest', () => {
  test('a relative URL with a query, and the conditional headers', () => {
    const parsed = parseEntry(BASE, { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=a|1' } }, 0);
    expect(parsed.request).toMatchObject({ method: 'POST', path: 'Patient', query: {}, headers: { ifNoneExist: 'identifier=a|1' }, body: { resourceType: 'Patient' } });
    expect(parseEntry(BASE, { request: { method: 'GET', url: 'Patient?name=a&name=b&gender=female' } }, 1).request.query).toEqual({ name: ['a', 'b'], gender: ['female'] });
  });

  test('an absolute URL on our base is taken as relative', () => {
    expect(parseEntry(BASE, { request: { method: 'GET', url: `${BASE}/Patient/p1` } }, 0).request.path).toBe('Patient/p1');
  });

  test('a PATCH entry carries its JSON Patch in a Binary', () => {
    const data = Buffer.from(JSON.stringify([{ op: 'remove', path: '/active' }])).toString('base64');
    const parsed = parseEntry(BASE, { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data }, request: { method: 'PATCH', url: 'Patient/p1' } }, 0);
    expect(parsed.request.body).toEqual([{ op: 'remove', path: '/active' }]);
    expect(parsed.request.headers.contentType).toBe('application/json-patch+json');
  });

  test.each([
    [{}, 'Bundle.entry[2].request'],
    [{ request: { method: 'BREW', url: 'x' } }, 'Bundle.entry[2].request.method'],
    [{ request: { method: 'GET' } }, 'Bundle.entry[2].request.url'],
    [{ request: { method: 'POST', url: 'Patient' } }, 'Bundle.entry[2].resource'],
  ])('a malformed entry is INVALID_BUNDLE located at the field (%j)', (entry, expression) => {
    const error = failure(() => parseEntry(BASE, entry as BundleEntry, 2));
    expect(error.code).toBe('INVALID_BUNDLE');
    expect(error.outcome.issue[0]?.expression).toEqual([expression]);
  });
});

test('a transaction processes deletes, then creates, then updates and patches, then reads; entries keep their order within each', () => {
  const methods = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'POST', 'DELETE'] as const;
  const entries = methods.map((method, i) => parseEntry(BASE, { resource: { resourceType: 'Patient' }, request: { method, url: 'Patient' } }, i));
  expect(transactionOrder(entries).map((e) => `${e.method}${e.index}`)).toEqual(['DELETE3', 'DELETE6', 'POST2', 'POST5', 'PUT1', 'PATCH4', 'GET0']);
});

test('a failure inside an entry is located at the entry: resource paths under .resource, query parameters at .request.url, the rest at the entry', () => {
  const located = entryError({ index: 4 }, new FhirError('INVALID_RESOURCE', 'Invalid', {
    issues: [
      { severity: 'error', code: 'value', diagnostics: 'bad gender', expression: ['Patient.gender'] },
      { severity: 'error', code: 'invalid', diagnostics: 'bad parameter', expression: ['birthdate'] },
      { severity: 'error', code: 'invalid', diagnostics: 'no place' },
    ],
  }));
  expect(located.message).toBe('Bundle.entry[4]: Invalid');
  expect(located.outcome.issue.map((i) => i.expression)).toEqual([['Bundle.entry[4].resource.gender'], ['Bundle.entry[4].request.url'], ['Bundle.entry[4]']]);
  expect(located.outcome.issue[0]?.diagnostics).toBe('Bundle.entry[4]: bad gender');
});

test.each([
  [{ resourceType: 'Patient' }, 'resourceType'],
  [{ resourceType: 'Bundle', type: 'collection' }, 'Bundle.type'],
  [{ resourceType: 'Bundle', type: 'batch', entry: {} }, 'Bundle.entry'],
])('POST [base] refuses what is not a batch or transaction Bundle (%j)', (body, expression) => {
  const error = failure(() => assertBundle(body, 10));
  expect(error.code).toBe('INVALID_BUNDLE');
  expect(error.outcome.issue[0]?.expression).toEqual([expression]);
});

test('a Bundle of more entries than allowed is 413', () => {
  expect(failure(() => assertBundle({ resourceType: 'Bundle', type: 'batch', entry: [{}, {}, {}] }, 2)).code).toBe('PAYLOAD_TOO_LARGE');
});

test('a batch dispatches each entry through the dispatcher it is given; a failed entry is its own response', async () => {
  const services = { settings: { baseUrl: BASE, maxBundleEntries: 10 }, now: () => new Date('2026-01-01T00:00:00Z') } as unknown as FhirServices;
  const sent: string[] = [];
  const dispatch = async (_ctx: RequestContext, request: FhirRequest): Promise<FhirResponse> => {
    sent.push(`${request.method} ${request.path}`);
    if (request.path === 'Patient/missing') throw new FhirError('NOT_FOUND', 'Patient/missing is not known');
    return { status: 200, headers: { etag: 'W/"1"' }, body: { resourceType: 'Patient', id: request.path.split('/')[1] as string } };
  };
  const body: Bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      { request: { method: 'GET', url: 'Patient/p1' } },
      { request: { method: 'GET', url: 'Patient/missing' } },
      { resource: { resourceType: 'Bundle', type: 'batch' }, request: { method: 'POST', url: '/' } },
    ],
  };
  const response = await processBundle(services, ctx, { method: 'POST', path: '', query: {}, headers: {}, body }, dispatch);
  const entries = (response.body as Bundle).entry ?? [];
  expect(sent).toEqual(['GET Patient/p1', 'GET Patient/missing']);
  expect(entries.map((e) => e.response?.status)).toEqual(['200 OK', '404 Not Found', '400 Bad Request']);
  expect(entries[0]).toMatchObject({ fullUrl: `${BASE}/Patient/p1`, resource: { id: 'p1' }, response: { etag: 'W/"1"' } });
  expect(entries[1]?.response?.outcome?.issue[0]?.code).toBe('not-found');
});
