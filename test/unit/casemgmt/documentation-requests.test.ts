// The review queue's query parameters and rows, pure.
import type { Task } from '@medplum/fhirtypes';
import { FhirError } from '../../../src/fhir/outcomes';
import { documentationRequestRow, parseDocumentationRequestQuery } from '../../../src/casemgmt/documentation-requests';

test.each([
  [{}, { count: 20, page: 1 }],
  [{ client: 'p1', kind: 'data', count: '5', page: '2' }, { client: 'Patient/p1', kind: 'data', count: 5, page: 2 }],
  [{ client: 'Patient/p1' }, { client: 'Patient/p1', count: 20, page: 1 }],
])('%j parses to %j', (query, parsed) => {
  expect(parseDocumentationRequestQuery(query)).toEqual(parsed);
});

test.each([
  [{ owner: 'Organization/x' }, 'owner'],
  [{ kind: 'claims' }, 'kind'],
  [{ client: 'Group/g1' }, 'client'],
  [{ count: '0' }, 'count'],
  [{ count: '101' }, 'count'],
  [{ page: 'two' }, 'page'],
  [{ client: ['a', 'b'] }, 'client'],
])('%j is 400 at %s', (query, at) => {
  let error: unknown;
  try {
    parseDocumentationRequestQuery(query);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(FhirError);
  expect((error as FhirError).status).toBe(400);
  expect((error as FhirError).outcome.issue[0]?.expression).toEqual([at]);
});

test('an attachment request reads as the case manager needs it', () => {
  const task: Task & { id: string } = {
    resourceType: 'Task',
    id: 't1',
    status: 'requested',
    intent: 'order',
    authoredOn: '2026-10-02T08:00:00Z',
    lastModified: '2026-10-02T08:00:05Z',
    identifier: [{ type: { coding: [{ system: 'http://hl7.org/fhir/us/davinci-cdex/CodeSystem/cdex-temp', code: 'tracking-id' }] }, value: 'TRK-1' }],
    code: { coding: [{ system: 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes', code: 'attachment-request-code' }] },
    for: { reference: 'Patient/p1' },
    requester: { reference: 'Organization/acme' },
    reasonCode: { coding: [{ system: 'http://hl7.org/fhir/claim-use', code: 'claim' }] },
    reasonReference: { identifier: { system: 'http://acme.example.org/claim', value: 'C-1' } },
    input: [
      { type: { coding: [{ system: 'http://hl7.org/fhir/us/davinci-pas/CodeSystem/PASTempCodes', code: 'attachments-needed' }] }, valueCodeableConcept: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] } },
      { type: { coding: [{ system: 'http://hl7.org/fhir/us/davinci-cdex/CodeSystem/cdex-temp', code: 'service-date' }] }, valueDate: '2026-09-30' },
      { type: { coding: [{ system: 'http://hl7.org/fhir/us/davinci-cdex/CodeSystem/cdex-temp', code: 'purpose-of-use' }] }, valueCodeableConcept: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'CLMATTCH' }] } },
    ],
  };
  expect(documentationRequestRow(task, new Map([['Organization/acme', 'Acme'], ['Patient/p1', 'Rosa Diaz']]))).toEqual({
    id: 't1',
    kind: 'attachment',
    status: 'requested',
    requester: { reference: 'Organization/acme', name: 'Acme' },
    client: { id: 'p1', name: 'Rosa Diaz' },
    documents: [{ code: '11506-3', display: 'Progress note' }],
    purpose: { code: 'CLMATTCH' },
    claim: { use: 'claim', identifier: { system: 'http://acme.example.org/claim', value: 'C-1' } },
    trackingId: 'TRK-1',
    serviceDate: '2026-09-30',
    requested: '2026-10-02T08:00:00Z',
    waitingSince: '2026-10-02T08:00:05Z',
    fhir: 'Task/t1',
    approve: '/cm/v1/documentation-requests/t1/approve',
    decline: '/cm/v1/documentation-requests/t1/decline',
  });
});
