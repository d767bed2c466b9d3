/** What a received referral sends along, and our copies of it (referrals/supporting-copies.ts). */
import type { Condition, Consent, QuestionnaireResponse, ServiceRequest } from '@medplum/fhirtypes';
import { searchToken } from '../../../src/workflows/find';
import { type Naming, atPartner, clientCopy, localized, notFetched, partnerOrganizations, personOf, supportingCopy, supportingReferences } from '../../../src/workflows/referrals/supporting-copies';

const BASE = 'https://riverside.example.org/fhir';
const naming: Naming = {
  partnerBase: BASE,
  partnerPatient: 'Patient/p9',
  ourPatient: 'Patient/ours',
  copies: new Map([['QuestionnaireResponse/qr1', 'QuestionnaireResponse/c-qr1']]),
  organizations: new Map([
    ['Organization/riverside', 'Organization/riverside-here'],
    ['Organization/harbor', 'Organization/harbor'],
  ]),
};

describe('supportingReferences', () => {
  test('supportingInfo, then reasonReference, then the goal it pertains to, each reference once', () => {
    const request: ServiceRequest = {
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/p9' },
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal', valueReference: { reference: 'Goal/g1' } }],
      supportingInfo: [{ reference: 'Consent/c1' }, { reference: 'Condition/x1' }, { display: 'no reference' }],
      reasonReference: [{ reference: 'Condition/x1' }, { reference: 'Observation/o1' }],
    };
    expect(supportingReferences(request)).toEqual([
      { element: 'supportingInfo', reference: 'Consent/c1' },
      { element: 'supportingInfo', reference: 'Condition/x1' },
      { element: 'reasonReference', reference: 'Observation/o1' },
      { element: 'pertainsToGoal', reference: 'Goal/g1' },
    ]);
  });
});

describe('what is fetched', () => {
  test.each([
    ['a relative reference is at the partner', 'Condition/x1', { type: 'Condition', id: 'x1' }],
    ['an absolute one under its base too', `${BASE}/Condition/x1`, { type: 'Condition', id: 'x1' }],
    ['a versioned one names the resource', 'Condition/x1/_history/3', { type: 'Condition', id: 'x1' }],
    ['another server is not the partner', 'https://elsewhere.example.org/fhir/Condition/x1', undefined],
    ['the same origin outside its base is not either', 'https://riverside.example.org/other/Condition/x1', undefined],
    ['a contained resource is nowhere', '#c1', undefined],
  ])('%s', (_title, reference, expected) => {
    expect(atPartner(reference, BASE)).toEqual(expected);
  });

  test.each([
    ['Consent/c1', undefined],
    [`${BASE}/QuestionnaireResponse/q1`, undefined],
    ['Procedure/p1', expect.stringContaining('a Procedure is not taken in')],
    ['https://elsewhere.example.org/fhir/Condition/x1', expect.stringContaining("not on the partner's server")],
    ['#c1', 'a contained resource is not fetched'],
  ])('%s: %p', (reference, expected) => {
    expect(notFetched(reference, BASE)).toEqual(expected);
  });

  test('the person a resource is about: Consent.patient, otherwise subject', () => {
    expect(personOf({ resourceType: 'Consent', patient: { reference: 'Patient/p9' } } as Consent)).toBe('Patient/p9');
    expect(personOf({ resourceType: 'Condition', subject: { reference: 'Patient/p8' } } as Condition)).toBe('Patient/p8');
    expect(personOf({ resourceType: 'QuestionnaireResponse', status: 'completed' })).toBeUndefined();
  });
});

describe('localized references', () => {
  test.each([
    ['the referred client becomes ours', 'Patient/p9', 'Patient/ours'],
    ['absolute, too', `${BASE}/Patient/p9`, 'Patient/ours'],
    ['a resource copied becomes our copy', 'QuestionnaireResponse/qr1', 'QuestionnaireResponse/c-qr1'],
    ['the partner organisation as our records name it', 'Organization/riverside', 'Organization/riverside-here'],
    ['anything else stays at the partner', 'Practitioner/dr1', `${BASE}/Practitioner/dr1`],
    ['another patient at the partner stays there', 'Patient/p8', `${BASE}/Patient/p8`],
    ['another server stays as it is', 'https://elsewhere.example.org/fhir/Practitioner/dr1', 'https://elsewhere.example.org/fhir/Practitioner/dr1'],
    ['a contained reference stays', '#c1', '#c1'],
  ])('%s', (_title, reference, expected) => {
    expect(localized(reference, naming)).toBe(expected);
  });
});

describe('supportingCopy', () => {
  test('our id, the source marked, labels kept, references localized, about our client', () => {
    const condition: Condition & { id: string } = {
      resourceType: 'Condition',
      id: 'x1',
      meta: { versionId: '4', lastUpdated: '2026-11-19T00:00:00Z', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: '42CFRPart2' }], profile: ['http://example.org/theirs'] },
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">theirs</div>' },
      identifier: [{ system: 'https://riverside.example.org/problems', value: 'P-1' }],
      code: { text: 'Homeless' },
      subject: { reference: 'Patient/p9', display: 'Ada' },
      recorder: { reference: 'Practitioner/dr1' },
      evidence: [{ detail: [{ reference: 'QuestionnaireResponse/qr1' }] }],
      contained: [{ resourceType: 'Organization', id: 'o1', name: 'Kept' }],
    };
    expect(supportingCopy(condition, { id: 'new1', naming })).toEqual({
      resourceType: 'Condition',
      id: 'new1',
      meta: { source: `${BASE}/Condition/x1`, security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: '42CFRPart2' }] },
      identifier: [{ system: 'https://riverside.example.org/problems', value: 'P-1' }, { system: `${BASE}/Condition`, value: 'x1' }],
      code: { text: 'Homeless' },
      subject: { reference: 'Patient/ours' },
      recorder: { reference: `${BASE}/Practitioner/dr1` },
      evidence: [{ detail: [{ reference: 'QuestionnaireResponse/c-qr1' }] }],
      contained: [{ resourceType: 'Organization', id: 'o1', name: 'Kept' }],
    });
  });

  test("a QuestionnaireResponse's one identifier: the partner's is kept, else the source", () => {
    const theirs: QuestionnaireResponse & { id: string } = { resourceType: 'QuestionnaireResponse', id: 'qr1', status: 'completed', identifier: { system: 'urn:theirs', value: '7' } };
    expect(supportingCopy(theirs, { id: 'c1', naming }).identifier).toEqual({ system: 'urn:theirs', value: '7' });
    const bare: QuestionnaireResponse & { id: string } = { resourceType: 'QuestionnaireResponse', id: 'qr1', status: 'completed' };
    expect(supportingCopy(bare, { id: 'c1', naming })).toMatchObject({ identifier: { system: `${BASE}/QuestionnaireResponse`, value: 'qr1' }, subject: { reference: 'Patient/ours' }, meta: { source: `${BASE}/QuestionnaireResponse/qr1` } });
  });

  test('a consent is about our client (Consent.patient), its actors named as here', () => {
    const consent: Consent & { id: string } = {
      resourceType: 'Consent',
      id: 'c1',
      status: 'active',
      scope: { text: 'privacy' },
      category: [{ text: 'disclosure' }],
      patient: { reference: `${BASE}/Patient/p9` },
      provision: { actor: [{ role: { text: 'recipient' }, reference: { reference: 'Organization/harbor' } }] },
    };
    expect(supportingCopy(consent, { id: 'n1', naming })).toMatchObject({ patient: { reference: 'Patient/ours' }, provision: { actor: [{ reference: { reference: 'Organization/harbor' } }] } });
  });
});

test("our record of the referred client: our id, the partner's id of it added, labels kept, its practitioner left at the partner", () => {
  expect(
    clientCopy(
      {
        resourceType: 'Patient',
        id: 'p9',
        meta: { versionId: '2', security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
        identifier: [{ system: 'http://hmis.example.org/client-id', value: 'HM-77' }],
        name: [{ family: 'Okafor' }],
        generalPractitioner: [{ reference: 'Practitioner/dr1' }],
        managingOrganization: { reference: 'Organization/riverside' },
      },
      { id: 'ours', naming },
    ),
  ).toEqual({
    resourceType: 'Patient',
    id: 'ours',
    meta: { source: `${BASE}/Patient/p9`, security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
    identifier: [{ system: 'http://hmis.example.org/client-id', value: 'HM-77' }, { system: `${BASE}/Patient`, value: 'p9' }],
    name: [{ family: 'Okafor' }],
    generalPractitioner: [{ reference: `${BASE}/Practitioner/dr1` }],
    managingOrganization: { reference: 'Organization/riverside-here' },
  });
});

test('the two organisations as the partner names them: by default as we do', () => {
  expect([...partnerOrganizations({ organization: 'Organization/riverside' }, 'Organization/harbor')]).toEqual([
    ['Organization/riverside', 'Organization/riverside'],
    ['Organization/harbor', 'Organization/harbor'],
  ]);
  expect([...partnerOrganizations({ organization: 'Organization/riverside', remoteOrganization: 'Organization/1', ourOrganization: 'Organization/77' }, 'Organization/harbor')]).toEqual([
    ['Organization/1', 'Organization/riverside'],
    ['Organization/77', 'Organization/harbor'],
  ]);
});

test.each([
  ['plain', 'HM-77', 'HM-77'],
  ['a comma, a pipe, a dollar and a backslash are escaped', 'a,b|c$d\\e', 'a\\,b\\|c\\$d\\\\e'],
])('searchToken: %s', (_title, value, expected) => {
  expect(searchToken(value)).toBe(expected);
});

test("a document's relative attachment url is the partner's Binary", () => {
  const copy = supportingCopy(
    { resourceType: 'DocumentReference', id: 'd1', status: 'current', subject: { reference: 'Patient/p9' }, content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/b1' } }, { attachment: { url: 'https://files.example.org/x.pdf' } }] },
    { id: 'c1', naming },
  );
  expect(copy.content.map((c) => c.attachment.url)).toEqual([`${BASE}/Binary/b1`, 'https://files.example.org/x.pdf']);
});
