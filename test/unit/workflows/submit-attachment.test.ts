// The $submit-attachment Parameters, built as the CDex OperationDefinition types them, and the
// attachment code read from a document.
import type { Observation, DocumentReference } from '@medplum/fhirtypes';
import { validateResource } from '../../../src/fhir/validation';
import { attachmentCode, submitAttachmentParameters } from '../../../src/workflows/cdex/submit-attachment';

const doc: DocumentReference = {
  resourceType: 'DocumentReference',
  id: 'n1',
  status: 'current',
  type: { coding: [{ system: 'http://example.org/local', code: 'pn' }, { system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }], text: 'Progress note' },
  content: [{ attachment: { contentType: 'text/plain', data: 'U2Vzc2lvbg==' } }],
};

test('every parameter in its definition’s type and order; optional ones only when given', () => {
  const parameters = submitAttachmentParameters({
    trackingId: { system: 'http://provider.example.org/claims', value: 'CLM-1' },
    attachTo: 'claim',
    payerId: { system: 'http://example.org/payer-ids', value: 'payer123' },
    organizationId: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1407071236' },
    memberId: { system: 'http://payer.example.org/member', value: 'M-1' },
    serviceDate: '2026-11-02',
    attachments: [{ lineItems: ['1', '3'], code: attachmentCode(doc), content: doc }],
  });
  expect(parameters.parameter?.map((p) => p.name)).toEqual(['TrackingId', 'AttachTo', 'PayerId', 'OrganizationId', 'MemberId', 'ServiceDate', 'Attachment']);
  expect(parameters.parameter?.[0]).toEqual({ name: 'TrackingId', valueIdentifier: { system: 'http://provider.example.org/claims', value: 'CLM-1' } });
  expect(parameters.parameter?.[1]).toEqual({ name: 'AttachTo', valueCode: 'claim' });
  expect(parameters.parameter?.[5]).toEqual({ name: 'ServiceDate', valueDateTime: '2026-11-02' });
  expect(parameters.parameter?.[6]?.part).toEqual([
    { name: 'LineItem', valueString: '1' },
    { name: 'LineItem', valueString: '3' },
    { name: 'Code', valueCodeableConcept: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }], text: 'Progress note' } },
    { name: 'Content', resource: doc },
  ]);
  expect(validateResource(parameters).filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
});

test('a preauthorization without date, payer id, line items or code has only what is required', () => {
  const parameters = submitAttachmentParameters({ trackingId: { value: 'PA-9' }, attachTo: 'preauthorization', organizationId: { value: 'org' }, memberId: { value: 'M-2' }, attachments: [{ content: doc }] });
  expect(parameters.parameter?.map((p) => p.name)).toEqual(['TrackingId', 'AttachTo', 'OrganizationId', 'MemberId', 'Attachment']);
  expect(parameters.parameter?.[4]?.part).toEqual([{ name: 'Content', resource: doc }]);
});

test.each([
  ['a DocumentReference’s LOINC type', doc, '11506-3'],
  ['an Observation’s LOINC code', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }] } } as Observation, '44261-6'],
  ['nothing without a LOINC code', { ...doc, type: { coding: [{ system: 'http://example.org/local', code: 'pn' }] } }, undefined],
])('the attachment code is %s', (_what, resource, code) => {
  expect(attachmentCode(resource)?.coding?.[0]?.code).toBe(code);
});
