/**
 * Valid resources the differential harness mutates: every resource of fixtures/ (the three
 * case-management records), the Questionnaires of profiles/, and hand-written resources that
 * reach what the fixtures do not (Parameters with each primitive type, Bundles of each type,
 * Questionnaire enableWhen, ranges, contained resources, primitive extensions). Which of them the
 * reference validator accepts is decided by running it; only those are mutated.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS tool, run with node */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function fixtureResources(root) {
  const out = [];
  const walk = (dir) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      if (fs.statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('.json')) {
        const bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
        (bundle.entry ?? []).forEach((e, i) => {
          if (e.resource) out.push({ seed: `${path.relative(root, file)}#${i}`, resource: e.resource });
        });
      }
    }
  };
  walk(path.join(root, 'fixtures'));
  for (const name of fs.readdirSync(path.join(root, 'profiles')).sort()) {
    if (name.startsWith('Questionnaire-')) {
      out.push({ seed: `profiles/${name}`, resource: JSON.parse(fs.readFileSync(path.join(root, 'profiles', name), 'utf8')) });
    }
  }
  return out;
}

const div = (text) => ({ status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${text}</div>` });

/** One value of each of the 20 primitive types (xhtml apart), as Parameters and extensions carry them. */
const PRIMITIVE_SAMPLES = {
  base64Binary: 'SGVsbG8=', boolean: true, canonical: 'http://example.org/fhir/StructureDefinition/x', code: 'active',
  date: '2024-02-29', dateTime: '2024-02-29T10:15:00+01:00', decimal: 1.25, id: 'a-1.B', instant: '2024-02-29T10:15:00.123Z',
  integer: -42, markdown: '**bold**', oid: 'urn:oid:1.2.840.113619', positiveInt: 1, string: 'x y', time: '10:15:30',
  unsignedInt: 0, uri: 'urn:example:x', url: 'http://example.org/x', uuid: 'urn:uuid:c757873d-ec9a-4326-a141-556f43239520',
};

function handWritten() {
  const seeds = [];
  const add = (seed, resource) => seeds.push({ seed: `hand:${seed}`, resource });
  add('parameters', {
    resourceType: 'Parameters',
    parameter: Object.entries(PRIMITIVE_SAMPLES).map(([type, value]) => ({
      name: type,
      [`value${type[0].toUpperCase()}${type.slice(1)}`]: value,
    })),
  });
  add('patient-extensions', {
    resourceType: 'Patient',
    id: 'p1',
    text: div('Ada Okafor'),
    active: true,
    _active: { extension: [{ url: 'http://example.org/fhir/StructureDefinition/flag', valueString: 'checked' }] },
    name: [{ family: 'Okafor', given: ['Ada', 'B.'], _given: [null, { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier', valueCode: 'IN' }] }] }],
    gender: 'female',
    birthDate: '1984-03-02',
    _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1984-03-02T10:30:00+01:00' }] },
    maritalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }] },
    multipleBirthInteger: 2,
    contact: [{ name: { family: 'Okafor' }, period: { start: '2020-01-01', end: '2021-01-01' } }],
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] } }],
  });
  add('patient-contained', {
    resourceType: 'Patient',
    id: 'p2',
    text: div('With contained'),
    contained: [{ resourceType: 'Organization', id: 'org', name: 'Agency' }],
    managingOrganization: { reference: '#org' },
  });
  add('encounter-period', {
    resourceType: 'Encounter',
    id: 'e1',
    text: div('Encounter'),
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    period: { start: '2023-06-21T06:00:00Z', end: '2023-06-21T06:20:00Z' },
    length: { value: 20, unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' },
  });
  add('observation-range', {
    resourceType: 'Observation',
    id: 'o1',
    text: div('Observation'),
    status: 'final',
    code: { text: 'Weight' },
    subject: { reference: 'Patient/p1' },
    effectivePeriod: { start: '2024-01-01', end: '2024-01-02' },
    performer: [{ reference: 'Practitioner/pr1' }],
    valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
    referenceRange: [{ low: { value: 50, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' }, high: { value: 90, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } }],
    component: [{ code: { text: 'part' }, valueRange: { low: { value: 1, system: 'http://unitsofmeasure.org', code: 'g' }, high: { value: 2, system: 'http://unitsofmeasure.org', code: 'g' } } }],
  });
  add('questionnaire', {
    resourceType: 'Questionnaire',
    id: 'q1',
    text: div('Questionnaire'),
    status: 'active',
    item: [
      { linkId: 'smoker', text: 'Do you smoke?', type: 'boolean' },
      { linkId: 'packs', text: 'Packs a day', type: 'integer', enableWhen: [{ question: 'smoker', operator: '=', answerBoolean: true }] },
      { linkId: 'since', text: 'Since when', type: 'date', enableWhen: [{ question: 'smoker', operator: 'exists', answerBoolean: true }] },
      { linkId: 'grp', text: 'Group', type: 'group', item: [{ linkId: 'grp.1', text: 'Name', type: 'string', maxLength: 20 }] },
      { linkId: 'color', text: 'Colour', type: 'choice', answerOption: [{ valueCoding: { system: 'http://example.org/colours', code: 'red' } }] },
    ],
  });
  add('questionnaire-response', {
    resourceType: 'QuestionnaireResponse',
    id: 'qr1',
    text: div('Response'),
    status: 'completed',
    item: [
      { linkId: 'smoker', answer: [{ valueBoolean: true }] },
      { linkId: 'packs', answer: [{ valueInteger: 1 }] },
      { linkId: 'grp', item: [{ linkId: 'grp.1', answer: [{ valueString: 'Ada' }] }] },
    ],
  });
  const entry = (resource) => ({ fullUrl: `http://example.org/fhir/${resource.resourceType}/${resource.id}`, resource });
  const pat = (id) => ({ resourceType: 'Patient', id, text: div(id), active: true });
  add('bundle-collection', { resourceType: 'Bundle', type: 'collection', entry: [entry(pat('b1')), entry(pat('b2'))] });
  add('bundle-searchset', {
    resourceType: 'Bundle', type: 'searchset', total: 2,
    entry: [{ ...entry(pat('s1')), search: { mode: 'match' } }, { ...entry(pat('s2')), search: { mode: 'match' } }],
  });
  add('bundle-transaction', {
    resourceType: 'Bundle', type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:6c6c296c-884c-5449-84b6-a17b880a44a1', resource: { resourceType: 'Patient', text: div('t'), active: true }, request: { method: 'POST', url: 'Patient' } },
      { fullUrl: 'urn:uuid:7d7c296c-884c-5449-84b6-a17b880a44a2', resource: { resourceType: 'Observation', text: div('o'), status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:6c6c296c-884c-5449-84b6-a17b880a44a1' } }, request: { method: 'POST', url: 'Observation' } },
    ],
  });
  add('appointment', {
    resourceType: 'Appointment', id: 'a1', text: div('a'), status: 'booked',
    start: '2025-01-01T10:00:00Z', end: '2025-01-01T11:00:00Z',
    participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' }],
  });
  add('task', {
    resourceType: 'Task', id: 't1', text: div('t'), status: 'requested', intent: 'order',
    authoredOn: '2025-01-01T10:00:00Z', lastModified: '2025-01-02T10:00:00Z',
    restriction: { period: { start: '2025-01-01', end: '2025-02-01' } },
  });
  return seeds;
}

function allSeeds(root) {
  return [...fixtureResources(root), ...handWritten()];
}

module.exports = { allSeeds, PRIMITIVE_SAMPLES };
