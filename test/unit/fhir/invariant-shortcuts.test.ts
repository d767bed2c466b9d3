// The invariants settled without the FHIRPath engine (src/fhir/validation/invariant-shortcuts.ts):
// each shortcut is written for the R4 expression of its key, and wherever it says the invariant
// holds, the engine says so too. The nodes are the edge cases of each expression, plus many
// random ones for the date comparisons.
import { loadDefinitions } from '../../../src/fhir/definitions';
import { typeSchema } from '../../../src/fhir/validation/element-types';
import { SHORTCUT_EXPRESSIONS, plainlyHolds } from '../../../src/fhir/validation/invariant-shortcuts';
import { evaluateWithEngine } from '../../../src/fhir/validation/invariants';
import type { JsonObject } from '../../../src/fhir/validation/json';

beforeAll(() => loadDefinitions());

/** Where each key is declared: a data type, a resource, or an element path. */
const BASES: Record<string, string> = {
  'ref-1': 'Reference',
  'per-1': 'Period',
  'qrs-1': 'QuestionnaireResponse.item',
  'drt-1': 'Duration',
  'qty-3': 'Quantity',
  'att-1': 'Attachment',
  'inv-1': 'Task',
  'ext-1': 'Extension',
  'gol-1': 'Goal.target',
  'obs-6': 'Observation',
  'obs-7': 'Observation',
  'ctm-1': 'CareTeam.participant',
  'cpt-2': 'ContactPoint',
  'ppc-1': 'Consent',
  'con-2': 'Condition.evidence',
  'con-4': 'Condition',
  'con-5': 'Condition',
  'prr-1': 'ServiceRequest',
  'cpl-3': 'CarePlan.activity',
  'ppc-2': 'Consent',
  'ppc-3': 'Consent',
  'ppc-4': 'Consent',
  'ppc-5': 'Consent',
  'dom-2': 'Encounter',
  'dom-3': 'Encounter',
  'dom-4': 'Encounter',
  'dom-5': 'Encounter',
};

function r4Expression(key: string): string | undefined {
  const base = BASES[key] as string;
  const [type, ...path] = base.split('.');
  const schema = typeSchema(type as string);
  const constraints = path.length === 0 ? schema?.constraints : schema?.elements[path.join('.')]?.constraints;
  return constraints?.find((c) => c.key === key)?.expression;
}

test('every shortcut is written for the R4 expression of its key, and has a base here', () => {
  expect([...SHORTCUT_EXPRESSIONS.keys()].sort()).toEqual(Object.keys(BASES).sort());
  for (const [key, expression] of SHORTCUT_EXPRESSIONS) {
    expect({ key, expression: r4Expression(key) }).toEqual({ key, expression });
  }
});

/** Random dates and instants in several forms, precisions and zones (seeded). */
function dateTexts(count: number): string[] {
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const date = `2025-${pad(1 + next(2))}-${pad(1 + next(3))}`;
    const time = `${pad(next(24))}:${pad(next(2) * 30)}:${pad(next(2) * 30)}`;
    const fraction = ['', '.5', '.500', '.123'][next(4)];
    const zone = ['Z', '+02:00', '-05:00', '+00:00', ''][next(5)];
    out.push([date, `${date}T${time}${fraction}${zone}`, '2025', '2025-01', `${date}T${time}${zone}`][next(5)] as string);
  }
  return out;
}

const pairs = (name: [string, string], values: string[]): JsonObject[] => values.flatMap((a, i) => values.slice(i, i + 12).flatMap((b) => [{ [name[0]]: a, [name[1]]: b }, { [name[0]]: b, [name[1]]: a }]));

const extension = { extension: [{ url: 'http://example.org/x', valueString: 'x' }] };
const CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const VERIFICATION = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const concept = (system: string, code: string) => ({ coding: [{ system, code }] });
const condition = (more: JsonObject): JsonObject => ({ resourceType: 'Condition', subject: { reference: 'Patient/1' }, ...more });
const serviceRequest = (more: JsonObject): JsonObject => ({ resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' }, ...more });
const consent = (more: JsonObject): JsonObject => ({ resourceType: 'Consent', status: 'active', category: [{ text: 'c' }], scope: { text: 's' }, ...more });
const NODES: Record<string, JsonObject[]> = {
  'ref-1': [{ reference: 'Patient/1' }, { reference: 'http://example.org/fhir/Patient/1' }, { reference: '#c1' }, { reference: '#' }, { identifier: { value: 'x' } }, { display: 'x' }, { _reference: extension }, { reference: 'urn:uuid:2b4b1d0e-4a0c-4b7e-9f44-2f1b1f9a0c11' }],
  'per-1': [{ start: '2025-01-01' }, { end: '2025-01-01' }, {}, { _start: extension, end: '2025-01-01' }, ...pairs(['start', 'end'], dateTexts(300))],
  'qrs-1': [{ linkId: '1' }, { linkId: '1', answer: [{ valueString: 'a' }] }, { linkId: '1', item: [{ linkId: '2' }] }, { linkId: '1', answer: [{ valueString: 'a' }], item: [{ linkId: '2' }] }],
  'ext-1': [
    { url: 'http://example.org/x', valueString: 'x' },
    { url: 'http://example.org/x', _valueCode: extension },
    { url: 'http://example.org/x', extension: [{ url: 'a', valueString: 'x' }] },
    { url: 'http://example.org/x' },
    { url: 'http://example.org/x', valueString: 'x', extension: [{ url: 'a', valueString: 'x' }] },
    { url: 'http://example.org/x', valued: 'x', extension: [{ url: 'a', valueString: 'x' }] },
  ],
  'gol-1': [{ measure: { text: 'm' } }, { detailQuantity: { value: 1 } }, { detailQuantity: { value: 1 }, measure: { text: 'm' } }, { dueDate: '2025-01-01' }, { _detailString: extension }],
  'obs-6': [
    { resourceType: 'Observation', status: 'final', code: { text: 'c' } },
    { resourceType: 'Observation', status: 'final', code: { text: 'c' }, valueString: 'x' },
    { resourceType: 'Observation', status: 'final', code: { text: 'c' }, dataAbsentReason: { text: 'x' } },
    { resourceType: 'Observation', status: 'final', code: { text: 'c' }, dataAbsentReason: { text: 'x' }, valueString: 'x' },
    { resourceType: 'Observation', status: 'final', code: { text: 'c' }, dataAbsentReason: { text: 'x' }, _valueString: extension },
  ],
  'obs-7': [
    { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 's', code: 'c' }] }, valueQuantity: { value: 1 } },
    { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 's', code: 'c' }] }, component: [{ code: { coding: [{ system: 's', code: 'c' }] } }] },
    { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 's', code: 'c' }] }, valueQuantity: { value: 1 }, component: [{ code: { coding: [{ system: 's', code: 'c' }] } }] },
    { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 's', code: 'c' }] }, valueQuantity: { value: 1 }, component: [{ code: { coding: [{ system: 's', code: 'd' }] } }] },
  ],
  'ctm-1': [{ member: { reference: 'Practitioner/1' } }, { member: { reference: 'Practitioner/1' }, onBehalfOf: { reference: 'Organization/1' } }, { role: [{ text: 'r' }] }],
  'cpt-2': [{ system: 'phone', value: '1' }, { value: '1' }, { system: 'email' }, { _value: extension }, { use: 'home' }],
  'ppc-1': [
    { resourceType: 'Consent', status: 'active', scope: { text: 's' }, category: [{ text: 'c' }] },
    { resourceType: 'Consent', status: 'active', scope: { text: 's' }, category: [{ text: 'c' }], policyRule: { text: 'r' } },
    { resourceType: 'Consent', status: 'active', scope: { text: 's' }, category: [{ text: 'c' }], policy: [{ uri: 'http://example.org/p' }] },
  ],
  'drt-1': [{ value: 1, unit: 'd' }, { value: 1, code: 'd', system: 'http://example.org/units' }, { value: 1, code: 'd', system: 'http://unitsofmeasure.org' }, { value: 1, code: 'd' }, { code: 'd', system: 'http://unitsofmeasure.org' }, { value: 1, _code: extension }],
  'qty-3': [{ value: 1 }, { value: 1, code: 'mg' }, { value: 1, code: 'mg', system: 'http://unitsofmeasure.org' }, { value: 1, _code: extension }, { code: 'mg', _system: extension }],
  'att-1': [{ url: 'http://example.org/a' }, { data: 'aGk=' }, { data: 'aGk=', contentType: 'text/plain' }, { _data: extension }, { data: 'aGk=', _contentType: extension }],
  'inv-1': [
    { resourceType: 'Task', status: 'requested', intent: 'order' },
    { resourceType: 'Task', status: 'requested', intent: 'order', authoredOn: '2025-01-01T10:00:00Z' },
    { resourceType: 'Task', status: 'requested', intent: 'order', lastModified: '2025-01-01T10:00:00Z' },
    ...pairs(['authoredOn', 'lastModified'], dateTexts(200)).map((p) => ({ resourceType: 'Task', status: 'requested', intent: 'order', ...p })),
  ],
  'con-2': [{ code: [{ text: 'c' }] }, { detail: [{ reference: 'Observation/1' }] }, {}, { code: [] }, { code: [{}] }, { code: null }, { extension: extension.extension }],
  'con-4': [
    condition({}),
    condition({ abatementDateTime: '2025-01-01' }),
    condition({ _abatementString: extension }),
    condition({ abatementDateTime: '2025-01-01', clinicalStatus: concept(CLINICAL, 'resolved') }),
    condition({ abatementDateTime: '2025-01-01', clinicalStatus: concept(CLINICAL, 'active') }),
    condition({ abatementAge: { value: 3 }, clinicalStatus: concept(CLINICAL, 'remission') }),
  ],
  'con-5': [
    condition({ clinicalStatus: concept(CLINICAL, 'active') }),
    condition({ clinicalStatus: concept(CLINICAL, 'active'), verificationStatus: concept(VERIFICATION, 'confirmed') }),
    condition({ clinicalStatus: concept(CLINICAL, 'active'), verificationStatus: concept(VERIFICATION, 'entered-in-error') }),
    condition({ clinicalStatus: concept(CLINICAL, 'active'), verificationStatus: concept('http://example.org/other', 'entered-in-error') }),
    condition({ clinicalStatus: concept(CLINICAL, 'active'), verificationStatus: { text: 'no coding' } }),
    condition({ clinicalStatus: concept(CLINICAL, 'active'), verificationStatus: { coding: [{ system: VERIFICATION, code: 'entered-in-error', _code: extension }] } }),
    condition({ clinicalStatus: concept(CLINICAL, 'active'), verificationStatus: { coding: [{ system: VERIFICATION, _code: extension }] } }),
    condition({ verificationStatus: concept(VERIFICATION, 'entered-in-error') }),
  ],
  'prr-1': [
    serviceRequest({}),
    serviceRequest({ code: { text: 'c' } }),
    serviceRequest({ orderDetail: [{ text: 'd' }] }),
    serviceRequest({ orderDetail: [{ text: 'd' }], code: { text: 'c' } }),
    serviceRequest({ orderDetail: [{ text: 'd' }], code: {} }),
  ],
  'cpl-3': [{ detail: { status: 'scheduled' } }, { reference: { reference: 'Task/1' } }, { detail: { status: 'scheduled' }, reference: { reference: 'Task/1' } }, { outcomeReference: [{ reference: 'Observation/1' }] }],
  ...Object.fromEntries(
    [
      ['ppc-2', 'patient-privacy'],
      ['ppc-3', 'research'],
      ['ppc-4', 'adr'],
      ['ppc-5', 'treatment'],
    ].map(([key, code]) => [
      key,
      [
        consent({ patient: { reference: 'Patient/1' }, scope: concept('something', code as string) }),
        consent({ scope: concept('something', code as string) }),
        consent({ scope: concept('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy') }),
        consent({ patient: {}, scope: concept('something', code as string) }),
        consent({ patient: { display: 'Ana' } }),
      ],
    ]),
  ),
  ...Object.fromEntries(
    ['dom-2', 'dom-3', 'dom-4', 'dom-5'].map((key) => [
      key,
      [
        { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } },
        { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, contained: [{ resourceType: 'Patient', id: 'p', meta: { versionId: '1', security: [{ code: 'R' }] } }] },
        { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, contained: [{ resourceType: 'Patient', id: 'p' }], subject: { reference: '#p' } },
      ],
    ]),
  ),
};

describe.each([...SHORTCUT_EXPRESSIONS])('%s', (key, expression) => {
  test('holds only where the engine says it holds, and settles some nodes, not all', () => {
    const constraint = { key, severity: 'error', expression };
    const base = BASES[key] as string;
    let settled = 0;
    let left = 0;
    for (const node of NODES[key] ?? []) {
      const root = typeof node.resourceType === 'string' ? node : { resourceType: 'Basic', code: { text: 'x' } };
      if (plainlyHolds(key, expression, node)) {
        settled++;
        expect({ node, engine: evaluateWithEngine(base, constraint, node, { resource: root, rootResource: root }).outcome }).toEqual({ node, engine: 'pass' });
      } else {
        left++;
      }
    }
    expect(settled).toBeGreaterThan(0);
    expect(left).toBeGreaterThan(0);
  });
});

test('an expression worded otherwise under a known key is left to the engine', () => {
  expect(plainlyHolds('ref-1', "reference.startsWith('#').not()", { reference: 'Patient/1' })).toBe(false);
  expect(plainlyHolds('ref-1', SHORTCUT_EXPRESSIONS.get('ref-1') as string, { reference: 'Patient/1' })).toBe(true);
});
