/**
 * Mutations of valid resources, each a case of the differential harness: wrong primitive forms
 * and out-of-range numbers for the 20 primitive types, empty objects and arrays, nulls, broken
 * and valid `_x` parts, unknown elements, cardinality, resourceType in nested resources, and
 * invariant breakers (dates and periods, ranges, quantities, references, contained resources,
 * Bundle rules, Questionnaire and QuestionnaireResponse rules). Deterministic (a seeded PRNG).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS tool, run with node */
'use strict';
const { getDataType } = require('@medplum/core');

const PRIMITIVES = new Set(['base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer',
  'markdown', 'oid', 'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid', 'xhtml']);

/** Lexical forms per primitive type: [value, expected valid?] (the expectation is only a label). */
const FORMS = {
  integer: [[2147483647, true], [-2147483648, true], [2147483648, false], [-2147483649, false], [1.5, false], ['1', false], [true, false]],
  unsignedInt: [[0, true], [2147483647, true], [-1, false], [2147483648, false], ['0', false]],
  positiveInt: [[1, true], [2147483647, true], [0, false], [-1, false], [2147483648, false]],
  decimal: [[0.1, true], [-3, true], [1e-7, true], ['1.0', false], [true, false]],
  boolean: [[false, true], ['true', false], [1, false], ['', false]],
  date: [['2024', true], ['2024-02', true], ['2024-02-29', true], ['2023-02-29', false], ['2024-13-01', false], ['2024-1-01', false], ['20240101', false],
    ['2024-01-01T10:00:00Z', false], ['', false], [' 2024-01-01', false]],
  dateTime: [['2024', true], ['2024-01-01', true], ['2024-01-01T10:00:00Z', true], ['2024-01-01T10:00:00.1234+14:00', true],
    ['2024-01-01T10:00', false], ['2024-01-01T10:00:00', false], ['2024-01-01T24:00:00Z', false], ['2024-02-30T00:00:00Z', false],
    ['2024-01-01T10:00:00+15:00', false], ['2024-01-01 10:00:00Z', false], ['2024-01-01T10:00Z', false], ['2024-01-01T10:60:00Z', false]],
  instant: [['2024-01-01T10:00:00Z', true], ['2024-01-01T10:00:00.5-05:00', true], ['2024-01-01', false], ['2024-01-01T10:00:00', false], ['2024-01-01T10:00Z', false]],
  time: [['10:15:30', true], ['23:59:59.999', true], ['25:00:00', false], ['10:15', false], ['10:15:30Z', false], ['10:61:00', false]],
  id: [['a', true], ['A-1.b', true], ['a'.repeat(64), true], ['a'.repeat(65), false], ['a b', false], ['a_b', false], ['', false]],
  oid: [['urn:oid:1.2.3', true], ['urn:oid:1.2.abc', false], ['1.2.3', false], ['urn:oid:3.1', false]],
  uuid: [['urn:uuid:c757873d-ec9a-4326-a141-556f43239520', true], ['urn:uuid:xyz', false], ['c757873d-ec9a-4326-a141-556f43239520', false]],
  uri: [['urn:x:y', true], ['http://example.org/a b', false], ['', false]],
  url: [['http://example.org/x', true], ['http://example.org/a b', false]],
  canonical: [['http://example.org/fhir/ValueSet/x|1.0', true], ['http://example.org/a b', false]],
  code: [['abc', true], ['a b', true], [' abc', false], ['a  b', false], ['', false], ['abc ', false]],
  base64Binary: [['SGVsbG8=', true], ['abc', false], ['!!!!', false]],
  markdown: [['# x', true], ['', false], ['  ', false]],
  string: [['  x  ', true], ['', false], ['   ', false], [1, false], [['x'], false]],
};

function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function schemaOf(code) {
  try {
    return getDataType(code);
  } catch {
    return undefined;
  }
}

/**
 * Every element of a resource with its JSON keys, FHIR type and definition (nested resources:
 * contained and Bundle entries included).
 */
function sites(resource) {
  const out = [];
  const visitObject = (obj, code, keys) => {
    const schema = schemaOf(code);
    if (!schema) return;
    for (const key of Object.keys(obj)) {
      if (key === 'resourceType' || key.startsWith('_')) continue;
      let element = schema.elements[key];
      let type = element?.type?.[0]?.code;
      let choice;
      if (!element) {
        const name = Object.keys(schema.elements).find((n) => n.endsWith('[x]') && key.startsWith(n.slice(0, -3)));
        if (!name) continue;
        element = schema.elements[name];
        const suffix = key.slice(name.length - 3);
        type = element.type.map((t) => t.code).find((t) => t.toLowerCase() === suffix.toLowerCase());
        choice = name;
      }
      if (!type) continue;
      const value = obj[key];
      const site = { keys: [...keys, key], type, element, isArray: Array.isArray(value), choice, owner: obj, key };
      out.push(site);
      const items = Array.isArray(value) ? value.map((v, i) => [v, [...keys, key, i]]) : [[value, [...keys, key]]];
      for (const [v, k] of items) {
        if (Array.isArray(value)) out.push({ ...site, keys: k, item: true });
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          const t = type === 'Resource' || type === 'DomainResource' ? v.resourceType : type;
          visitObject(v, t, k);
        }
      }
    }
  };
  visitObject(resource, resource.resourceType, []);
  return out;
}

const clone = (x) => JSON.parse(JSON.stringify(x));

/** The holder of the value at keys (parent object/array) and the last key. */
function at(root, keys) {
  let holder = root;
  for (const k of keys.slice(0, -1)) holder = holder[k];
  return [holder, keys[keys.length - 1]];
}

function* mutations(seed, rand) {
  const base = seed.resource;
  const all = sites(base);
  const pick = (list, n) => {
    const copy = [...list];
    const chosen = [];
    while (copy.length > 0 && chosen.length < n) chosen.push(copy.splice(Math.floor(rand() * copy.length), 1)[0]);
    return chosen;
  };
  const edit = (kind, change) => {
    const r = clone(base);
    if (change(r) === false) return undefined;
    return { kind, resource: r };
  };
  const singles = all.filter((s) => !s.isArray || s.item);

  // Primitive lexical forms, at existing primitive elements of each type.
  const byType = new Map();
  for (const s of singles.filter((s) => PRIMITIVES.has(s.type) && FORMS[s.type] && (!s.isArray || s.item))) {
    byType.set(s.type, [...(byType.get(s.type) ?? []), s]);
  }
  for (const [type, list] of byType) {
    for (const s of pick(list, 2)) {
      for (const [value] of FORMS[type]) {
        yield edit(`primitive:${type}`, (r) => {
          const [h, k] = at(r, s.keys);
          h[k] = value;
        });
      }
    }
  }
  // Empty objects, nulls, empty arrays.
  for (const s of pick(singles.filter((s) => !PRIMITIVES.has(s.type) && s.type !== 'Resource'), 3)) {
    yield edit('empty-object', (r) => { const [h, k] = at(r, s.keys); h[k] = {}; });
  }
  for (const s of pick(singles.filter((s) => !s.item), 2)) {
    yield edit('null', (r) => { const [h, k] = at(r, s.keys); h[k] = null; });
  }
  for (const s of pick(all.filter((s) => s.item), 2)) {
    yield edit('null-item', (r) => { const [h, k] = at(r, s.keys); h[k] = null; });
  }
  for (const s of pick(all.filter((s) => s.isArray && !s.item), 2)) {
    yield edit('empty-array', (r) => { const [h, k] = at(r, s.keys); h[k] = []; });
    yield edit('single-for-array', (r) => { const [h, k] = at(r, s.keys); h[k] = h[k][0]; });
  }
  for (const s of pick(all.filter((s) => !s.isArray && s.element && s.element.max === 1 && s.type !== 'Resource'), 2)) {
    yield edit('array-for-single', (r) => { const [h, k] = at(r, s.keys); h[k] = [h[k]]; });
  }
  // An absent optional complex element given as {} (`"maritalStatus": {}`).
  const rootSchema = schemaOf(base.resourceType);
  const absent = Object.entries(rootSchema.elements).filter(([n, e]) => !n.includes('[x]') && !(n in base) && !PRIMITIVES.has(e.type[0]?.code) && e.type[0]?.code !== 'Resource' && !n.includes('.'));
  for (const [name, e] of pick(absent, 2)) {
    yield edit('empty-object-added', (r) => { r[name] = e.isArray ? [{}] : {}; });
  }
  // `_x` parts.
  const singlePrims = singles.filter((s) => PRIMITIVES.has(s.type) && s.type !== 'xhtml' && !s.item && !s.isArray);
  const ext = { url: 'http://example.org/fhir/StructureDefinition/note', valueString: 'n' };
  for (const s of pick(singlePrims, 2)) {
    const underscore = (r) => { const [h, k] = at(r, s.keys); return [h, `_${k}`, k]; };
    yield edit('_x:empty-object', (r) => { const [h, k] = underscore(r); h[k] = {}; });
    yield edit('_x:array-for-single', (r) => { const [h, k] = underscore(r); h[k] = [{ extension: [ext] }]; });
    yield edit('_x:valid-extension', (r) => { const [h, k] = underscore(r); h[k] = { extension: [ext] }; });
    yield edit('_x:id-only', (r) => { const [h, k] = underscore(r); h[k] = { id: 'x1' }; });
    yield edit('_x:unknown-element', (r) => { const [h, k] = underscore(r); h[k] = { foo: 1 }; });
    yield edit('_x:extension-without-url', (r) => { const [h, k] = underscore(r); h[k] = { extension: [{ valueString: 'n' }] }; });
    yield edit('_x:extension-value-and-extension', (r) => { const [h, k] = underscore(r); h[k] = { extension: [{ ...ext, extension: [ext] }] }; });
    yield edit('_x:extension-bad-value', (r) => { const [h, k] = underscore(r); h[k] = { extension: [{ url: ext.url, valueInteger: 2147483648 }] }; });
    yield edit('_x:string', (r) => { const [h, k] = underscore(r); h[k] = 'x'; });
    yield edit('_x:only-extension', (r) => { const [h, k, v] = underscore(r); delete h[v]; h[k] = { extension: [ext] }; });
    yield edit('_x:only-empty', (r) => { const [h, k, v] = underscore(r); delete h[v]; h[k] = {}; });
  }
  const repeatingPrims = all.filter((s) => PRIMITIVES.has(s.type) && s.isArray && !s.item);
  for (const s of pick(repeatingPrims, 2)) {
    const parts = (r) => { const [h, k] = at(r, s.keys); return [h, k, `_${k}`]; };
    yield edit('_x:object-for-array', (r) => { const [h, , u] = parts(r); h[u] = { extension: [ext] }; });
    yield edit('_x:aligned-extension', (r) => { const [h, k, u] = parts(r); h[u] = h[k].map((_, i) => (i === 0 ? { extension: [ext] } : null)); });
    yield edit('_x:trailing-null', (r) => { const [h, k, u] = parts(r); h[u] = h[k].map(() => null); });
    yield edit('_x:shorter', (r) => { const [h, k, u] = parts(r); h[k] = [...h[k], h[k][0]]; h[u] = [{ extension: [ext] }]; });
    yield edit('_x:longer', (r) => { const [h, k, u] = parts(r); h[u] = [...h[k].map(() => null), { extension: [ext] }]; });
    yield edit('_x:null-value-with-extension', (r) => { const [h, k, u] = parts(r); h[k] = [...h[k], null]; h[u] = [...h[k].slice(0, -1).map(() => null), { extension: [ext] }]; });
    yield edit('_x:null-value-without-extension', (r) => { const [h, k, u] = parts(r); h[k] = [...h[k], null]; h[u] = h[k].map(() => null); });
    yield edit('_x:null-value-no-partner', (r) => { const [h, k] = parts(r); h[k] = [...h[k], null]; });
    yield edit('_x:empty-item', (r) => { const [h, k, u] = parts(r); h[u] = h[k].map(() => ({})); });
  }
  // Unknown elements.
  yield edit('unknown-element', (r) => { r.foo = 1; });
  for (const s of pick(singles.filter((s) => !PRIMITIVES.has(s.type) && s.type !== 'Resource'), 1)) {
    yield edit('unknown-element-nested', (r) => { const [h, k] = at(r, s.keys); if (h[k] && typeof h[k] === 'object') h[k].bogus = 'x'; else return false; });
  }
  yield edit('unknown-element-choice-type', (r) => { r.valueFoo = 'x'; });
  // Cardinality: required elements removed.
  for (const s of pick(all.filter((s) => s.element?.min > 0 && !s.item), 2)) {
    yield edit('required-removed', (r) => { const [h, k] = at(r, s.keys); delete h[k]; });
  }
  // Nested resources.
  yield edit('contained-no-resourceType', (r) => { r.contained = [{ id: 'c1' }]; });
  yield edit('contained-unknown-type', (r) => { r.contained = [{ resourceType: 'Foo', id: 'c1' }]; });
  yield edit('contained-unreferenced', (r) => { if (r.resourceType === 'Parameters' || r.resourceType === 'Bundle') return false; r.contained = [...(r.contained ?? []), { resourceType: 'Basic', id: 'zz', code: { text: 'x' } }]; });
  yield edit('contained-nested', (r) => { if (!r.contained) return false; r.contained[0].contained = [{ resourceType: 'Basic', id: 'n', code: { text: 'x' } }]; });
  yield edit('contained-meta-version', (r) => { if (!r.contained) return false; r.contained[0].meta = { versionId: '1' }; });
  // Invariants of data types, wherever the type occurs.
  for (const s of pick(singles.filter((s) => s.type === 'Period'), 2)) {
    const period = (start, end) => (r) => { const [h, k] = at(r, s.keys); h[k] = { start, end }; };
    yield edit('per-1:end-before-start', period('2024-06-02T10:00:00Z', '2024-06-01T10:00:00Z'));
    yield edit('per-1:mixed-precision-same-day', period('2023-06-21', '2023-06-21T06:20:00Z'));
    yield edit('per-1:mixed-precision-later-day', period('2023-06-20', '2023-06-21T06:20:00Z'));
    yield edit('per-1:time-zones', period('2024-06-01T10:00:00+02:00', '2024-06-01T09:00:00Z'));
    yield edit('per-1:dates-equal', period('2024-06-01', '2024-06-01'));
    yield edit('per-1:years', period('2025', '2024'));
  }
  for (const s of pick(singles.filter((s) => s.type === 'Reference'), 2)) {
    yield edit('ref-1:missing-contained', (r) => { const [h, k] = at(r, s.keys); h[k] = { reference: '#nope' }; });
    yield edit('reference:empty', (r) => { const [h, k] = at(r, s.keys); h[k] = { display: 'x', reference: '' }; });
  }
  for (const s of pick(singles.filter((s) => s.type === 'Quantity' || s.type === 'Duration' || s.type === 'Age'), 2)) {
    yield edit('qty-3:code-without-system', (r) => { const [h, k] = at(r, s.keys); h[k] = { value: 1, code: 'mg' }; });
  }
  for (const s of pick(singles.filter((s) => s.type === 'CodeableConcept' || s.type === 'Coding'), 2)) {
    yield edit('coding:bad-system-uri', (r) => { const [h, k] = at(r, s.keys); h[k] = s.type === 'Coding' ? { system: 'a b', code: 'x' } : { coding: [{ system: 'a b', code: 'x' }] }; });
  }
  for (const s of pick(singles.filter((s) => s.type === 'Extension'), 2)) {
    yield edit('ext-1:value-and-extension', (r) => { const [h, k] = at(r, s.keys); h[k] = { ...ext, extension: [ext] }; });
    yield edit('ext-1:neither', (r) => { const [h, k] = at(r, s.keys); h[k] = { url: ext.url }; });
    yield edit('extension:two-values', (r) => { const [h, k] = at(r, s.keys); h[k] = { ...ext, valueBoolean: true }; });
  }
  for (const s of pick(singles.filter((s) => s.type === 'ContactPoint'), 1)) {
    yield edit('cpt-2:value-without-system', (r) => { const [h, k] = at(r, s.keys); h[k] = { value: '555' }; });
  }
  for (const s of pick(singles.filter((s) => s.type === 'Narrative'), 1)) {
    yield edit('txt-2:empty-div', (r) => { const [h, k] = at(r, s.keys); h[k] = { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"> </div>' }; });
    yield edit('narrative:no-namespace', (r) => { const [h, k] = at(r, s.keys); h[k] = { status: 'generated', div: '<div>x</div>' }; });
  }
  for (const s of pick(singles.filter((s) => s.type === 'Attachment'), 1)) {
    yield edit('att-1:data-without-contentType', (r) => { const [h, k] = at(r, s.keys); h[k] = { data: 'SGVsbG8=' }; });
  }
  // Resource-specific invariant breakers.
  yield* resourceRules(base, edit);
}

function* resourceRules(base, edit) {
  const t = base.resourceType;
  const q = (n) => ({ value: n, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' });
  if (t === 'Observation') {
    yield edit('rng-2:low-above-high', (r) => { r.referenceRange = [{ low: q(90), high: q(50) }]; });
    yield edit('rng-2:units-convert', (r) => { r.referenceRange = [{ low: q(1), high: { value: 500, unit: 'g', system: 'http://unitsofmeasure.org', code: 'g' } }]; });
    yield edit('obs-6:value-and-absent-reason', (r) => { r.valueString = 'x'; delete r.valueQuantity; delete r.valueCodeableConcept; delete r.valueInteger; r.dataAbsentReason = { text: 'x' }; });
    yield edit('obs-7:component-code-equals-code', (r) => { r.component = [{ code: r.code, valueString: 'x' }]; });
    yield edit('choice:two-types', (r) => { r.valueString = 'x'; r.valueBoolean = true; });
  }
  if (t === 'Patient') {
    yield edit('pat-1:contact-without-details', (r) => { r.contact = [{ gender: 'female' }]; });
    yield edit('choice:two-types', (r) => { r.deceasedBoolean = false; r.deceasedDateTime = '2020-01-01'; });
  }
  if (t === 'Questionnaire') {
    const items = () => [{ linkId: 'a', text: 'A', type: 'boolean' }];
    yield edit('que-1:group-without-items', (r) => { r.item = [{ linkId: 'g', text: 'G', type: 'group' }]; });
    yield edit('que-1:display-with-items', (r) => { r.item = [{ linkId: 'd', text: 'D', type: 'display', item: items() }]; });
    yield edit('que-2:duplicate-linkId', (r) => { r.item = [...items(), ...items()]; });
    yield edit('que-3:display-with-code', (r) => { r.item = [{ linkId: 'd', text: 'D', type: 'display', code: [{ system: 'http://loinc.org', code: '1-8' }] }]; });
    yield edit('que-4:option-and-valueset', (r) => { r.item = [{ linkId: 'c', text: 'C', type: 'choice', answerValueSet: 'http://example.org/vs', answerOption: [{ valueString: 'x' }] }]; });
    yield edit('que-5:valueset-on-boolean', (r) => { r.item = [{ linkId: 'c', text: 'C', type: 'boolean', answerValueSet: 'http://example.org/vs' }]; });
    yield edit('que-6:required-display', (r) => { r.item = [{ linkId: 'd', text: 'D', type: 'display', required: true }]; });
    yield edit('que-7:exists-with-integer', (r) => { r.item = [...items(), { linkId: 'b', text: 'B', type: 'string', enableWhen: [{ question: 'a', operator: 'exists', answerInteger: 1 }] }]; });
    yield edit('que-7:exists-with-boolean', (r) => { r.item = [...items(), { linkId: 'b', text: 'B', type: 'string', enableWhen: [{ question: 'a', operator: 'exists', answerBoolean: true }] }]; });
    yield edit('que-8:initial-on-group', (r) => { r.item = [{ linkId: 'g', text: 'G', type: 'group', initial: [{ valueString: 'x' }], item: items() }]; });
    yield edit('que-9:readOnly-display', (r) => { r.item = [{ linkId: 'd', text: 'D', type: 'display', readOnly: true }]; });
    yield edit('que-10:maxLength-on-choice', (r) => { r.item = [{ linkId: 'c', text: 'C', type: 'choice', maxLength: 3, answerOption: [{ valueString: 'x' }] }]; });
    yield edit('que-11:option-and-initial', (r) => { r.item = [{ linkId: 'c', text: 'C', type: 'choice', answerOption: [{ valueString: 'x' }], initial: [{ valueString: 'x' }] }]; });
    yield edit('que-12:enableWhen-without-behavior', (r) => {
      r.item = [...items(), { linkId: 'b', text: 'B', type: 'string', enableWhen: [1, 2, 3].map(() => ({ question: 'a', operator: '=', answerBoolean: true })) }];
    });
    yield edit('que-13:initial-not-repeating', (r) => { r.item = [{ linkId: 's', text: 'S', type: 'string', initial: [{ valueString: 'x' }, { valueString: 'y' }] }]; });
  }
  if (t === 'QuestionnaireResponse') {
    yield edit('qrs-1:answer-and-item', (r) => { r.item = [{ linkId: 'a', answer: [{ valueString: 'x' }], item: [{ linkId: 'b', answer: [{ valueString: 'y' }] }] }]; });
    yield edit('qrs-2:repeated-linkId', (r) => { r.item = [{ linkId: 'a', answer: [{ valueString: 'x' }] }, { linkId: 'a', answer: [{ valueString: 'y' }] }]; });
    yield edit('qr:answer-empty', (r) => { r.item = [{ linkId: 'a', answer: [{}] }]; });
  }
  if (t === 'Bundle') {
    yield edit('bdl-7:duplicate-fullUrl', (r) => { if (!r.entry?.[1]) return false; r.entry[1].fullUrl = r.entry[0].fullUrl; });
    yield edit('bundle:same-type-and-id', (r) => { if (!r.entry?.[1]) return false; r.entry[1].resource = { ...r.entry[0].resource }; r.entry[1].fullUrl = `${r.entry[0].fullUrl}-copy`; });
    yield edit('bdl-1:total-in-collection', (r) => { if (r.type === 'searchset') return false; r.total = 1; });
    yield edit('bdl-2:search-in-collection', (r) => { if (r.type === 'searchset') return false; r.entry[0].search = { mode: 'match' }; });
    yield edit('bdl-3:request-in-collection', (r) => { if (r.type === 'transaction') return false; r.entry[0].request = { method: 'GET', url: 'Patient' }; });
    yield edit('bdl-4:response-in-collection', (r) => { r.entry[0].response = { status: '200' }; });
    yield edit('bdl-5:entry-empty', (r) => { r.entry.push({ fullUrl: 'http://example.org/fhir/Patient/zz' }); });
    yield edit('bdl-8:fullUrl-with-history', (r) => { r.entry[0].fullUrl = `${r.entry[0].fullUrl}/_history/1`; });
    yield edit('bundle:entry-resource-no-type', (r) => { delete r.entry[0].resource.resourceType; });
    yield edit('bundle:entry-resource-invalid', (r) => { r.entry[0].resource.active = 'yes'; });
    yield edit('bundle:entry-resource-empty-name', (r) => { r.entry[0].resource.name = [{}]; });
    yield edit('bundle:document-without-composition', (r) => { r.type = 'document'; delete r.total; r.entry.forEach((e) => { delete e.search; delete e.request; }); });
  }
  if (t === 'Appointment') {
    yield edit('app-2:start-without-end', (r) => { delete r.end; });
    yield edit('app-3:booked-without-start', (r) => { delete r.start; delete r.end; });
    yield edit('app-4:cancelationReason-booked', (r) => { r.cancelationReason = { text: 'x' }; });
  }
  if (t === 'Task') {
    yield edit('inv-1:lastModified-before-authoredOn', (r) => { r.authoredOn = '2025-02-01T10:00:00Z'; r.lastModified = '2025-01-01T10:00:00Z'; });
  }
  if (t === 'Encounter') {
    yield edit('per-1:issue-example', (r) => { r.period = { start: '2023-06-21', end: '2023-06-21T06:20:00Z' }; });
  }
  if (t === 'Parameters') {
    for (const [type, forms] of Object.entries(FORMS)) {
      for (const [value] of forms) {
        yield edit(`parameters:${type}`, (r) => { r.parameter = [{ name: 'p', [`value${type[0].toUpperCase()}${type.slice(1)}`]: value }]; });
      }
    }
    yield edit('parameters:value-and-resource', (r) => { r.parameter = [{ name: 'p', valueString: 'x', resource: { resourceType: 'Basic', code: { text: 'x' } } }]; });
    yield edit('parameters:resource-invalid', (r) => { r.parameter = [{ name: 'p', resource: { resourceType: 'Patient', active: 'yes' } }]; });
  }
  if (t === 'CarePlan') {
    yield edit('cpl-3:activity-detail-and-reference', (r) => { r.activity = [{ reference: { reference: 'ServiceRequest/x' }, detail: { status: 'scheduled' } }]; });
  }
  if (t === 'Goal') {
    yield edit('gol-1:target-detail-without-measure', (r) => { r.target = [{ detailString: 'x' }]; });
  }
}

/**
 * At most `limit` cases, drawn round-robin over the mutation kinds (each kind's cases shuffled
 * first), so that rare kinds (a Bundle rule) are all kept and frequent ones (a date form on every
 * fixture) are sampled.
 */
function generate(seeds, { limit = 7000, seedNumber = 13 } = {}) {
  const rand = prng(seedNumber);
  const byKind = new Map();
  for (const seed of seeds) {
    let n = 0;
    for (const m of mutations(seed, rand)) {
      if (!m) continue;
      const c = { id: `${seed.seed}~${m.kind}~${n++}`, seed: seed.seed, kind: m.kind, text: JSON.stringify(m.resource) };
      byKind.set(m.kind, [...(byKind.get(m.kind) ?? []), c]);
    }
  }
  const queues = [...byKind.keys()].sort().map((k) => {
    const list = byKind.get(k);
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [list[i], list[j]] = [list[j], list[i]];
    }
    return list;
  });
  const cases = [];
  while (cases.length < limit && queues.some((q) => q.length > 0)) {
    for (const q of queues) {
      if (q.length > 0 && cases.length < limit) cases.push(q.shift());
    }
  }
  return cases;
}

module.exports = { generate, sites, FORMS };
