/** The route table: which interaction a method and path are, what the path captures, and the 404/405 answers. */
import type { HttpMethod } from '../../../src/core/exchange';
import { ROUTES, matchRoute, servedInteractions } from '../../../src/rest/route-table';
import { failure } from '../../support/errors';

const match = (method: HttpMethod, path: string, body?: unknown) => matchRoute({ method, path, body });

describe('matchRoute: each FHIR interaction has one route', () => {
  test.each([
    ['GET', '', 'search-system', {}],
    ['GET', 'metadata', 'capabilities', {}],
    ['GET', '_history', 'history-system', {}],
    ['POST', '$validate', 'operation', { operation: 'validate' }],
    ['GET', 'Patient', 'search-type', { resourceType: 'Patient' }],
    ['HEAD', 'Patient', 'search-type', { resourceType: 'Patient' }],
    ['POST', 'Patient', 'create', { resourceType: 'Patient' }],
    ['PUT', 'Patient', 'update', { resourceType: 'Patient' }],
    ['DELETE', 'Patient', 'delete', { resourceType: 'Patient' }],
    ['PATCH', 'Patient', 'patch', { resourceType: 'Patient' }],
    ['POST', 'Patient/_search', 'search-type', { resourceType: 'Patient' }],
    ['GET', 'Patient/_history', 'history-type', { resourceType: 'Patient' }],
    ['POST', 'Patient/$validate', 'operation', { resourceType: 'Patient', operation: 'validate' }],
    ['GET', 'Patient/p1', 'read', { resourceType: 'Patient', id: 'p1' }],
    ['PUT', 'Patient/p1', 'update', { resourceType: 'Patient', id: 'p1' }],
    ['PATCH', 'Patient/p1', 'patch', { resourceType: 'Patient', id: 'p1' }],
    ['DELETE', 'Patient/p1', 'delete', { resourceType: 'Patient', id: 'p1' }],
    ['GET', 'Patient/p1/_history', 'history-instance', { resourceType: 'Patient', id: 'p1' }],
    ['GET', 'Patient/p1/_history/3', 'vread', { resourceType: 'Patient', id: 'p1', version: '3' }],
    ['GET', 'Patient/p1/$everything', 'operation', { resourceType: 'Patient', id: 'p1', operation: 'everything' }],
    ['GET', 'Patient/p1/Observation', 'search-type', { resourceType: 'Observation', compartment: { resourceType: 'Patient', id: 'p1' } }],
    ['GET', 'Patient/p1/*', 'search-system', { compartment: { resourceType: 'Patient', id: 'p1' } }],
  ] as const)('%s [base]/%s is %s', (method, path, interaction, params) => {
    const found = match(method, path);
    expect(found.interaction).toBe(interaction);
    expect(found.params).toEqual(params);
  });

  test('POST [base] is a batch or a transaction, as the Bundle says', () => {
    expect(match('POST', '', { resourceType: 'Bundle', type: 'transaction' }).interaction).toBe('transaction');
    expect(match('POST', '', { resourceType: 'Bundle', type: 'batch' }).interaction).toBe('batch');
    // Anything else is answered by the Bundle processor (400), as a batch would be.
    expect(match('POST', '', { resourceType: 'Patient' }).interaction).toBe('batch');
  });

  test('a literal segment wins over a parameter: Patient/_history is not a read of id "_history"', () => {
    expect(match('GET', 'Patient/_history').interaction).toBe('history-type');
    expect(match('GET', 'Patient/p1/_history').interaction).toBe('history-instance');
  });
});

describe('matchRoute: what no route answers', () => {
  test.each([
    ['PUT', '', 'PUT is not allowed here (allowed: GET, POST)'],
    ['POST', 'metadata', 'POST is not allowed here (allowed: GET)'],
    ['GET', 'Patient/_search', 'GET is not allowed here (allowed: POST)'],
    ['POST', 'Patient/p1', 'POST is not allowed here (allowed: GET, PUT, PATCH, DELETE)'],
    ['DELETE', 'Patient/p1/_history', 'DELETE is not allowed here (allowed: GET)'],
    ['POST', 'Patient/p1/Observation', 'POST is not allowed here (allowed: GET)'],
  ] as const)('%s [base]/%s is 405 naming the allowed methods', (method, path, message) => {
    const error = failure(() => match(method, path));
    expect(error.code).toBe('METHOD_NOT_ALLOWED');
    expect(error.message).toBe(message);
  });

  test.each([
    ['GET', 'Foo'],
    ['GET', 'Foo/1'],
    ['GET', 'Foo/1/_history/2'],
    ['GET', 'Foo/1/x/2'],
    ['GET', 'Patient/p1/Foo'],
    ['POST', 'Patient/p1/Foo'],
  ] as const)('%s [base]/%s names an unknown type: 404 UNKNOWN_TYPE', (method, path) => {
    expect(failure(() => match(method, path)).code).toBe('UNKNOWN_TYPE');
  });

  test.each([['Patient/p1/x/2'], ['Patient/a/b/c/d']])('GET [base]/%s fits no route: 404 UNKNOWN_ROUTE', (path) => {
    const error = failure(() => match('GET', path));
    expect(error.code).toBe('UNKNOWN_ROUTE');
    expect(error.message).toBe(`No FHIR interaction matches GET ${path}`);
  });
});

describe('the table itself', () => {
  test('every method and path is registered once', () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  test('it serves every interaction of the R4 RESTful API that CaseBridge implements', () => {
    expect([...servedInteractions()].sort()).toEqual(
      ['batch', 'capabilities', 'create', 'delete', 'history-instance', 'history-system', 'history-type', 'operation', 'patch', 'read', 'search-system', 'search-type', 'transaction', 'update', 'vread'].sort(),
    );
  });
});
