/** The AuditEvent builder: BALP-shaped events from a record of what happened, each valid R4. */
import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import { type AuditRecord, actionOf, auditEvent, disclosedEntities, failureOutcome, outcomeOf, restfulInteraction } from '../../../src/audit/audit-event';
import { validateResource } from '../../../src/fhir/validation';
import { FhirError } from '../../../src/fhir/outcomes';

const source = { baseUrl: 'https://casebridge.example.org/fhir' };
const recorded = new Date('2025-03-01T09:30:00.000Z');
const agencyClient = { id: 'harbor-ehr', display: 'Harbor EHR', organization: 'Organization/harbor', role: 'ehr', purposes: ['TREAT'], tokenId: 'jti-123' };

function record(fields: Partial<AuditRecord> = {}): AuditRecord {
  return {
    type: 'rest',
    subtype: restfulInteraction('read'),
    action: 'R',
    outcome: { code: '0' },
    recorded,
    caller: agencyClient,
    requestId: 'req-1',
    ...fields,
  };
}

const entityWith = (event: AuditEvent, role: string) => (event.entity ?? []).filter((e) => e.role?.code === role);
const patientsOf = (event: AuditEvent) => entityWith(event, '1').map((e) => e.what?.reference);
const dataOf = (event: AuditEvent) => entityWith(event, '4');
const query = (event: AuditEvent): AuditEventEntity | undefined => entityWith(event, '24')[0];

test.each<[number, string]>([
  [200, '0'],
  [201, '0'],
  [204, '0'],
  [304, '0'],
  [400, '4'],
  [401, '4'],
  [403, '4'],
  [404, '4'],
  [412, '4'],
  [500, '8'],
  [501, '8'],
  [503, '12'],
])('an answer with status %i has outcome %s', (status, outcome) => {
  expect(outcomeOf(status)).toBe(outcome);
});

test.each<[string, string]>([
  ['read', 'R'],
  ['vread', 'R'],
  ['history-instance', 'R'],
  ['history-system', 'R'],
  ['capabilities', 'R'],
  ['create', 'C'],
  ['update', 'U'],
  ['patch', 'U'],
  ['delete', 'D'],
  ['search-type', 'E'],
  ['search-system', 'E'],
  ['batch', 'E'],
  ['transaction', 'E'],
  ['operation', 'E'],
])('the %s interaction is action %s', (interaction, action) => {
  expect(actionOf(interaction)).toBe(action);
});

test('a failure is described by its message, an unknown error no more than its 500 says', () => {
  expect(failureOutcome(new FhirError('FORBIDDEN', 'Not allowed: read on Observation'))).toEqual({ code: '4', description: 'Not allowed: read on Observation' });
  expect(failureOutcome(new FhirError('UNAVAILABLE', 'down'))).toEqual({ code: '12', description: 'down' });
  expect(failureOutcome(new Error('driver said: password=hunter2'))).toEqual({ code: '8', description: 'Internal server error' });
});

describe('a read', () => {
  const event = auditEvent(record({ patients: ['Patient/p1'], entities: [{ reference: 'Observation/o1', versionId: '3' }] }), source);

  test('is a RESTful read (BALP Read): type rest, subtype read, action R, outcome 0, recorded', () => {
    expect(event.type).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' });
    expect(event.subtype).toEqual([{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read', display: 'read' }]);
    expect(event.action).toBe('R');
    expect(event.outcome).toBe('0');
    expect(event.outcomeDesc).toBeUndefined();
    expect(event.recorded).toBe('2025-03-01T09:30:00.000Z');
  });

  test('names the client (requestor, its id, role, token and purposes), its organisation and the server', () => {
    const [client, organisation, server] = event.agent;
    expect(client).toMatchObject({
      requestor: true,
      who: { identifier: { system: 'http://casebridge.org/fhir/sid/caller', value: 'harbor-ehr' }, display: 'Harbor EHR' },
      name: 'Harbor EHR',
      role: [{ coding: [{ system: 'http://casebridge.org/fhir/CodeSystem/client-role', code: 'ehr' }] }],
      policy: ['jti-123'],
      purposeOfUse: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }] }],
    });
    expect(client?.type?.coding?.map((c) => c.code)).toEqual(['110153', '110150']);
    expect(organisation).toMatchObject({ who: { reference: 'Organization/harbor' }, requestor: false, type: { coding: [{ code: 'RESP' }] } });
    expect(server).toMatchObject({ requestor: false, network: { address: source.baseUrl, type: '5' }, type: { coding: [{ code: '110152' }] } });
    expect(event.agent).toHaveLength(3);
  });

  test('records the purposes of use as purposeOfEvent, and CaseBridge as the source', () => {
    expect(event.purposeOfEvent).toEqual([{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }] }]);
    expect(event.source).toMatchObject({ site: 'casebridge.example.org', observer: { display: 'CaseBridge', identifier: { value: source.baseUrl } } });
  });

  test('names the patient, the resource read at its version, and the request id', () => {
    expect(patientsOf(event)).toEqual(['Patient/p1']);
    expect(dataOf(event).map((e) => e.what?.reference)).toEqual(['Observation/o1/_history/3']);
    expect(event.entity?.[0]).toEqual({ type: { system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', code: 'XrequestId' }, what: { identifier: { value: 'req-1' } } });
    expect(query(event)).toBeUndefined();
  });
});

test('a search is a Query: the request base64 in entity.query, readable in description, with the patients it asked for', () => {
  const line = 'GET https://casebridge.example.org/fhir/Observation?patient=Patient/p1&code=http://loinc.org|44249-1';
  const event = auditEvent(record({ subtype: restfulInteraction('search-type'), action: 'E', patients: ['Patient/p1', 'Patient/p1'], query: line }), source);
  expect(event.action).toBe('E');
  expect(query(event)).toEqual({
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
    role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
    description: line,
    query: Buffer.from(line).toString('base64'),
  });
  expect(patientsOf(event)).toEqual(['Patient/p1']);
});

test('a failure carries its outcome and description; a caller of no organisation is one agent with the server', () => {
  const event = auditEvent(
    record({ outcome: failureOutcome(new FhirError('NOT_FOUND', 'Observation/o9 is not known')), caller: { id: 'anonymous', display: 'Anonymous', purposes: [] }, entities: [{ reference: 'Observation/o9' }] }),
    source,
  );
  expect(event.outcome).toBe('4');
  expect(event.outcomeDesc).toBe('Observation/o9 is not known');
  expect(event.agent.map((a) => a.requestor)).toEqual([true, false]);
  expect(event.purposeOfEvent).toBeUndefined();
  expect(dataOf(event).map((e) => e.what?.reference)).toEqual(['Observation/o9']);
});

test('a disclosure adds the disclose subtype, marks what was disclosed with its labels, names its patient and its custodian', () => {
  const disclosed = disclosedEntities([
    { reference: 'Condition/c1', versionId: '2', labels: ['http://terminology.hl7.org/CodeSystem/v3-ActCode|42CFRPart2'], patients: ['Patient/p2'], custodian: 'Organization/clearwater' },
  ]);
  const event = auditEvent(record({ patients: disclosed.patients, entities: [{ reference: 'Condition/c1', versionId: '2' }, ...disclosed.entities] }), source);
  expect(event.subtype?.map((c) => `${c.system}|${c.code}`)).toEqual(['http://hl7.org/fhir/restful-interaction|read', 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle|disclose']);
  // One entity for the resource, marked as disclosed.
  expect(dataOf(event)).toEqual([
    {
      what: { reference: 'Condition/c1/_history/2' },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '4', display: 'Domain Resource' },
      lifecycle: { system: 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle', code: 'disclose', display: 'Disclose Record Lifecycle Event' },
      securityLabel: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: '42CFRPart2' }],
    },
  ]);
  expect(patientsOf(event)).toEqual(['Patient/p2']);
  expect(event.agent.find((a) => a.type?.coding?.[0]?.code === '159541003')?.who).toEqual({ reference: 'Organization/clearwater' });
  expect(event.purposeOfEvent?.[0]?.coding?.[0]?.code).toBe('TREAT');
});

test('a failed authentication is DICOM 110114 User Authenticated, subtype Login, outcome 4', () => {
  const event = auditEvent(record({ type: 'login', subtype: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110122', display: 'Login' }, action: 'E', outcome: { code: '4', description: 'expired' } }), source);
  expect(event.type).toEqual({ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110114', display: 'User Authenticated' });
  expect(event.subtype?.[0]?.code).toBe('110122');
  expect(event.outcome).toBe('4');
});

test.each<[string, AuditRecord]>([
  ['a read', record({ patients: ['Patient/p1'], entities: [{ reference: 'Observation/o1', versionId: '1' }] })],
  ['a search', record({ subtype: restfulInteraction('search-type'), action: 'E', patients: ['Patient/p1'], query: 'GET https://x/fhir/Observation?patient=p1' })],
  ['a create', record({ subtype: restfulInteraction('create'), action: 'C', entities: [{ reference: 'Patient/p1', versionId: '1' }], patients: ['Patient/p1'] })],
  ['a refused delete', record({ subtype: restfulInteraction('delete'), action: 'D', outcome: { code: '4', description: 'Not allowed' }, entities: [{ reference: 'AuditEvent/a1' }] })],
  ['a request refused before any interaction', record({ subtype: undefined, action: 'E', outcome: { code: '4', description: 'unsupported' }, query: 'POST /fhir/Patient' })],
  ['a failed login', record({ type: 'login', action: 'E', outcome: { code: '4' }, caller: { id: 'anonymous', display: 'Unidentified caller', purposes: [] } })],
  ['a case command', record({ subtype: { system: 'http://casebridge.org/fhir/CodeSystem/case-management', code: 'open-case' }, action: 'E', entities: [{ reference: 'EpisodeOfCare/e1', versionId: '1' }] })],
  [
    'a disclosure',
    record({
      entities: disclosedEntities([{ reference: 'DocumentReference/d1', versionId: '1', labels: ['http://terminology.hl7.org/CodeSystem/v3-ActCode|PSYTHPN', 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R'], patients: ['Patient/p1'] }]).entities,
    }),
  ],
])('%s makes a valid R4 AuditEvent', (_title, r) => {
  const event = { ...auditEvent(r, source), id: 'a1' };
  expect(validateResource(event, { expectedType: 'AuditEvent' }).filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
});
