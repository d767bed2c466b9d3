/** parseSearch and formatSearch: query string ↔ typed SearchRequest (search.html). */
import { conditionKey, formatSearch, parseSearch } from '../../../src/search/parse';
import type { SearchOptions, SearchRequest } from '../../../src/search/parse';
import { BASE_URL, testRegistry } from './registry-fixture';
import { failure } from '../../support/errors';

const OPTIONS: SearchOptions = { strict: true, defaultCount: 20, maxCount: 100, baseUrl: BASE_URL };

function multimap(query: string): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    (result[k] ??= []).push(v);
  }
  return result;
}

function parse(resourceType: string | undefined, query: string, options: Partial<SearchOptions> = {}): SearchRequest {
  return parseSearch(resourceType, multimap(query), testRegistry(), { ...OPTIONS, ...options });
}

const UCUM = 'http://unitsofmeasure.org';

describe('values of each parameter type', () => {
  test.each<[string, string, string, unknown]>([
    // string
    ['string: folded for starts-with', 'Patient', 'name=Zoë%20%20Dupré', { code: 'name', paramType: 'string', values: [{ type: 'string', value: 'Zoë  Dupré', folded: 'zoe dupre' }] }],
    ['string :exact', 'Patient', 'name:exact=Zoë', { modifier: 'exact', values: [{ type: 'string', value: 'Zoë', folded: 'zoe' }] }],
    ['string :contains', 'Patient', 'family:contains=upr', { modifier: 'contains' }],
    ['comma is OR; \\, is a literal comma', 'Patient', 'family=a\\,b,c', { values: [{ type: 'string', value: 'a,b', folded: 'a,b' }, { type: 'string', value: 'c', folded: 'c' }] }],
    // token
    ['token code', 'Observation', 'code=1234-5', { paramType: 'token', values: [{ type: 'token', form: 'code', code: '1234-5' }] }],
    ['token system|code', 'Observation', 'code=http://loinc.org|1234-5', { values: [{ type: 'token', form: 'system-code', system: 'http://loinc.org', code: '1234-5' }] }],
    ['token |code', 'Observation', 'code=|1234-5', { values: [{ type: 'token', form: 'no-system', code: '1234-5' }] }],
    ['token system|', 'Observation', 'code=http://loinc.org|', { values: [{ type: 'token', form: 'system', system: 'http://loinc.org' }] }],
    ['token escaped \\|', 'Observation', 'code=a\\|b', { values: [{ type: 'token', form: 'code', code: 'a|b' }] }],
    ['token :not', 'Observation', 'status:not=final,amended', { modifier: 'not', values: [{ form: 'code', code: 'final' }, { form: 'code', code: 'amended' }] }],
    ['token :text (folded)', 'Observation', 'code:text=Dépression', { modifier: 'text', values: [{ type: 'token', form: 'text', text: 'depression' }] }],
    ['token :of-type', 'Patient', 'identifier:of-type=http://t|MR|123', { modifier: 'of-type', values: [{ type: 'token', form: 'of-type', typeSystem: 'http://t', typeCode: 'MR', value: '123' }] }],
    ['_id', 'Patient', '_id=a1,b-2', { code: '_id', values: [{ form: 'code', code: 'a1' }, { form: 'code', code: 'b-2' }] }],
    // reference
    ['reference Type/id', 'Observation', 'subject=Patient/1', { paramType: 'reference', values: [{ type: 'reference', form: 'local', resourceType: 'Patient', id: '1' }] }],
    ['reference id with several targets', 'Observation', 'subject=1', { values: [{ type: 'reference', form: 'id', id: '1' }] }],
    ['reference id with one target', 'Observation', 'patient=1', { values: [{ type: 'reference', form: 'local', resourceType: 'Patient', id: '1' }] }],
    ['reference :Type', 'Observation', 'subject:Patient=1', { values: [{ type: 'reference', form: 'local', resourceType: 'Patient', id: '1' }] }],
    ['reference absolute on our base', 'Observation', `subject=${BASE_URL}/Patient/1`, { values: [{ form: 'local', resourceType: 'Patient', id: '1' }] }],
    ['reference elsewhere', 'Observation', 'subject=https://other.org/fhir/Patient/1', { values: [{ form: 'url', url: 'https://other.org/fhir/Patient/1' }] }],
    ['reference with version', 'Observation', 'subject=Patient/1/_history/2', { values: [{ form: 'local', resourceType: 'Patient', id: '1', version: '2' }] }],
    ['reference :identifier', 'Observation', 'subject:identifier=urn:mrn|7', { modifier: 'identifier', values: [{ form: 'identifier', identifier: { type: 'token', form: 'system-code', system: 'urn:mrn', code: '7' } }] }],
    ['canonical url|version', 'QuestionnaireResponse', 'questionnaire=http://x.org/Questionnaire/q|2.0', { values: [{ form: 'url', url: 'http://x.org/Questionnaire/q|2.0' }] }],
    // date
    ['date without prefix is eq', 'Patient', 'birthdate=2024-06', { paramType: 'date', values: [{ type: 'date', prefix: 'eq', lo: '2024-06-01T00:00:00.000Z', hi: '2024-06-30T23:59:59.999Z', precision: 'M', bucket: 'M2024-06' }] }],
    ['date with offset', 'Observation', 'date=ge2024-06-15T10:00:00%2B02:00', { values: [{ prefix: 'ge', lo: '2024-06-15T08:00:00.000Z', precision: 's', bucket: 's2024-06-15T08:00:00' }] }],
    ['date with an unencoded + (read as a space)', 'Observation', 'date=2024-06-15T10:00:00+02:00', { values: [{ lo: '2024-06-15T08:00:00.000Z' }] }],
    // number
    ['number', 'RiskAssessment', 'probability=0.50', { paramType: 'number', values: [{ type: 'number', prefix: 'eq', value: 0.5, decimal: { units: 50n, exponent: -2 } }] }],
    ['number exponent', 'RiskAssessment', 'probability=gt1e-1', { values: [{ prefix: 'gt', value: 0.1, decimal: { units: 1n, exponent: -1 } }] }],
    // quantity
    ['quantity value only', 'Observation', 'value-quantity=le5.4', { paramType: 'quantity', values: [{ type: 'quantity', prefix: 'le', value: 5.4 }] }],
    ['quantity system and code', 'Observation', `value-quantity=5.4|${UCUM}|mg`, { values: [{ type: 'quantity', prefix: 'eq', value: 5.4, system: UCUM, code: 'mg' }] }],
    ['quantity code only', 'Observation', 'value-quantity=5.4||mg', { values: [{ type: 'quantity', value: 5.4, code: 'mg' }] }],
    // uri
    ['uri', 'Patient', '_profile=http://x.org/p', { paramType: 'uri', values: [{ type: 'uri', uri: 'http://x.org/p' }] }],
    ['uri :below', 'Patient', '_profile:below=http://x.org/', { modifier: 'below' }],
    ['uri :above', 'Patient', '_profile:above=http://x.org/p/q', { modifier: 'above' }],
    // composite
    [
      'composite token$quantity',
      'Observation',
      `component-code-value-quantity=http://loinc.org|8480-6$gt100|${UCUM}|mm[Hg]`,
      {
        paramType: 'composite',
        values: [
          {
            type: 'composite',
            components: [
              { type: 'token', form: 'system-code', system: 'http://loinc.org', code: '8480-6' },
              { type: 'quantity', prefix: 'gt', value: 100, system: UCUM, code: 'mm[Hg]' },
            ],
          },
        ],
      },
    ],
    ['composite with an escaped $', 'Observation', 'code-value-string=x$a\\$b', { values: [{ components: [{ code: 'x' }, { type: 'string', value: 'a$b' }] }] }],
    // missing
    [':missing=true', 'Patient', 'birthdate:missing=true', { kind: 'missing', code: 'birthdate', missing: true }],
    [':missing=false', 'Observation', 'subject:missing=false', { kind: 'missing', code: 'subject', missing: false }],
  ])('%s: %s?%s', (_title, resourceType, query, expected) => {
    const request = parse(resourceType, query);
    expect(request.conditions).toHaveLength(1);
    expect(request.conditions[0]).toMatchObject(expected as object);
  });

  test.each(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'])('date prefix %s', (prefix) => {
    expect(parse('Patient', `birthdate=${prefix}2024`).conditions[0]).toMatchObject({ values: [{ prefix }] });
  });

  test.each(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'])('number and quantity prefix %s', (prefix) => {
    expect(parse('RiskAssessment', `probability=${prefix}0.5`).conditions[0]).toMatchObject({ values: [{ prefix }] });
    expect(parse('Observation', `value-quantity=${prefix}5`).conditions[0]).toMatchObject({ values: [{ prefix }] });
  });

  test('a repeated parameter is AND: one condition per occurrence, in multimap order', () => {
    const request = parse('Observation', 'date=ge2024&code=a&date=lt2025');
    expect(request.conditions.map((c) => [c.name, c.raw])).toEqual([
      ['date', 'ge2024'],
      ['date', 'lt2025'],
      ['code', 'a'],
    ]);
  });

  test('an empty value is ignored', () => {
    expect(parse('Patient', 'name=&family=,').conditions).toEqual([]);
  });
});

describe('chains and _has', () => {
  test('chain with a type modifier', () => {
    expect(parse('Observation', 'subject:Patient.name=smith').conditions[0]).toMatchObject({
      kind: 'chain',
      name: 'subject:Patient.name',
      code: 'subject',
      targetType: 'Patient',
      condition: { kind: 'value', code: 'name', values: [{ type: 'string', folded: 'smith' }] },
    });
  });

  test('multi-level chain; the target type is resolved when only one target has the parameter', () => {
    expect(parse('Observation', 'patient.organization.name:exact=Acme').conditions[0]).toMatchObject({
      kind: 'chain',
      code: 'patient',
      targetType: 'Patient',
      condition: {
        kind: 'chain',
        code: 'organization',
        targetType: 'Organization',
        condition: { kind: 'value', code: 'name', modifier: 'exact' },
      },
    });
  });

  test('_has, nested', () => {
    expect(parse('Patient', '_has:Observation:patient:_has:Observation:has-member:code=x').conditions[0]).toMatchObject({
      kind: 'has',
      resourceType: 'Observation',
      code: 'patient',
      condition: { kind: 'has', resourceType: 'Observation', code: 'has-member', condition: { kind: 'value', code: 'code' } },
    });
  });

  test('_has with a chain and a modifier inside', () => {
    expect(parse('Patient', '_has:Observation:patient:performer:Practitioner.name:contains=li').conditions[0]).toMatchObject({
      kind: 'has',
      condition: { kind: 'chain', code: 'performer', targetType: 'Practitioner', condition: { code: 'name', modifier: 'contains' } },
    });
  });
});

describe('result parameters', () => {
  test('defaults', () => {
    expect(parse('Patient', '')).toEqual({ resourceType: 'Patient', types: [], conditions: [], include: [], revinclude: [], sort: [], count: 20, offset: 0, unknown: [] });
  });

  test.each<[string, Partial<SearchRequest>]>([
    ['_count=5', { count: 5 }],
    ['_count=0', { count: 0 }],
    ['_count=100000', { count: 100 }],
    ['_offset=40', { offset: 40 }],
    ['_sort=-birthdate,name,_id', { sort: [{ code: 'birthdate', descending: true }, { code: 'name', descending: false }, { code: '_id', descending: false }] }],
    ['_total=accurate', { total: 'accurate' }],
    ['_summary=count', { summary: 'count' }],
    ['_elements=name,birthDate', { elements: ['name', 'birthDate'] }],
    ['_format=json&_pretty=true', { conditions: [] }],
    ['_contained=false', { conditions: [] }],
    ['_include=Patient:organization', { include: [{ resourceType: 'Patient', code: 'organization', iterate: false }] }],
    ['_include=Patient:general-practitioner:Practitioner', { include: [{ resourceType: 'Patient', code: 'general-practitioner', targetType: 'Practitioner', iterate: false }] }],
    ['_include:iterate=Organization:partof', { include: [{ resourceType: 'Organization', code: 'partof', iterate: true }] }],
    ['_include=*', { include: [{ resourceType: '*', code: '*', iterate: false }] }],
    ['_include=Patient:*', { include: [{ resourceType: 'Patient', code: '*', iterate: false }] }],
    ['_revinclude=Observation:subject', { revinclude: [{ resourceType: 'Observation', code: 'subject', iterate: false }] }],
    ['_revinclude:iterate=Provenance:target', { revinclude: [{ resourceType: 'Provenance', code: 'target', iterate: true }] }],
  ])('Patient?%s', (query, expected) => {
    expect(parse('Patient', query)).toMatchObject(expected);
  });
});

describe('unknown parameters', () => {
  test('strict: 400 UNKNOWN_SEARCH_PARAMETER naming the parameter', () => {
    const err = failure(() => parse('Patient', 'foo=bar'));
    expect(err.code).toBe('UNKNOWN_SEARCH_PARAMETER');
    expect(err.status).toBe(400);
    expect(err.outcome.issue[0]).toMatchObject({ code: 'not-supported', expression: ['foo'] });
  });

  test('lenient: collected in unknown, the rest is parsed', () => {
    const request = parse('Patient', 'foo=bar&name=x&subject:Patient.nope=1&_text=hello', { strict: false });
    expect(request.unknown).toEqual([
      { name: 'foo', value: 'bar' },
      { name: 'subject:Patient.nope', value: '1' },
      { name: '_text', value: 'hello' },
    ]);
    expect(request.conditions.map((c) => c.name)).toEqual(['name']);
  });

  test.each([
    ['Observation', 'subject:Patient.nope=1'],
    ['Patient', '_has:Observation:patient:nope=1'],
    ['Patient', '_content=x'],
    ['Location', 'near=1|2|3'],
  ])('strict: unknown inside %s?%s', (resourceType, query) => {
    expect(failure(() => parse(resourceType, query)).code).toBe('UNKNOWN_SEARCH_PARAMETER');
  });
});

describe('invalid values are 400 INVALID_SEARCH naming the parameter', () => {
  test.each<[string, string, string, string]>([
    ['bad date', 'Patient', 'birthdate=2024-13', 'birthdate'],
    ['impossible date', 'Patient', 'birthdate=2024-02-30', 'birthdate'],
    ['bad prefix', 'Patient', 'birthdate=xx2024', 'birthdate'],
    ['hour-only date', 'Patient', 'birthdate=2024-01-01T10', 'birthdate'],
    ['bad number', 'RiskAssessment', 'probability=gtabc', 'probability'],
    ['bad number prefix', 'RiskAssessment', 'probability=zz1', 'probability'],
    ['quantity with two parts', 'Observation', 'value-quantity=5|mg', 'value-quantity'],
    ['quantity with a system but no code', 'Observation', `value-quantity=5|${UCUM}|`, 'value-quantity'],
    ['token with three parts', 'Observation', 'code=a|b|c', 'code'],
    [':of-type without three parts', 'Patient', 'identifier:of-type=a|b', 'identifier:of-type'],
    ['reference to an unknown type', 'Observation', 'subject=Foo/1', 'subject'],
    ['reference to a type that is not a target', 'Observation', 'subject=Organization/1', 'subject'],
    [':Type and value disagree', 'Observation', 'subject:Patient=Group/1', 'subject:Patient'],
    [':Type not a target', 'Observation', 'subject:Organization=1', 'subject:Organization'],
    ['invalid reference', 'Observation', 'subject=a b', 'subject'],
    ['invalid _id', 'Patient', '_id=a%20b', '_id'],
    ['composite with a missing component', 'Observation', 'component-code-value-quantity=8480-6', 'component-code-value-quantity'],
    [':missing not boolean', 'Patient', 'birthdate:missing=maybe', 'birthdate:missing'],
    ['unknown modifier', 'Patient', 'name:foo=x', 'name:foo'],
    ['modifier on a date', 'Patient', 'birthdate:exact=2024', 'birthdate:exact'],
    ['_count=abc', 'Patient', '_count=abc', '_count'],
    ['negative _count', 'Patient', '_count=-1', '_count'],
    ['negative _offset', 'Patient', '_offset=-5', '_offset'],
    ['_offset=abc', 'Patient', '_offset=abc', '_offset'],
    ['repeated _count', 'Patient', '_count=1&_count=2', '_count'],
    ['unknown _sort key', 'Patient', '_sort=bogus', '_sort'],
    ['_sort on a composite', 'Observation', '_sort=code-value-quantity', '_sort'],
    ['bad _total', 'Patient', '_total=maybe', '_total'],
    ['bad _summary', 'Patient', '_summary=yes', '_summary'],
    ['bad _elements', 'Patient', '_elements=9bad', '_elements'],
    ['_include without a parameter', 'Patient', '_include=Patient', '_include'],
    ['_include of a non-reference', 'Patient', '_include=Patient:name', '_include'],
    ['_include with a wrong target type', 'Observation', '_include=Observation:patient:Group', '_include'],
    ['_type in a type-level search', 'Patient', '_type=Patient', '_type'],
    ['unknown chain target type', 'Observation', 'subject:Foo.name=x', 'subject:Foo.name'],
    ['chain target type that is not a target', 'Observation', 'subject:Organization.name=x', 'subject:Organization.name'],
    ['ambiguous chain target', 'Observation', 'subject.name=x', 'subject.name'],
    ['chain through a non-reference', 'Patient', 'name.family=x', 'name.family'],
    ['invalid value inside a chain names the whole parameter', 'Observation', 'subject:Patient.birthdate=2024-13', 'subject:Patient.birthdate'],
    ['_has through a non-reference', 'Patient', '_has:Observation:code:status=final', '_has:Observation:code:status'],
    ['_has through a reference that cannot point here', 'Patient', '_has:Observation:encounter:status=final', '_has:Observation:encounter:status'],
    ['_has without a parameter', 'Patient', '_has:Observation:patient=x', '_has:Observation:patient'],
    ['an operator in brackets after a name', 'Patient', 'name[$ne]=x', 'name[$ne]'],
    ['an operator as the name', 'Patient', '$where=1', '$where'],
    ['JSON as the name', 'Patient', '%7B%22_id%22%3A1%7D=1', '{"_id":1}'],
  ])('%s: %s?%s', (_title, resourceType, query, expression) => {
    const err = failure(() => parse(resourceType, query));
    expect(err.code).toBe('INVALID_SEARCH');
    expect(err.status).toBe(400);
    expect(err.outcome.issue[0]?.expression).toEqual([expression]);
    expect(err.message).toContain(expression.split(':')[0] ?? '');
  });

  test.each<[string, string, string]>([
    ['token :in', 'Observation', 'code:in=http://vs'],
    ['token :not-in', 'Observation', 'code:not-in=http://vs'],
    ['token :above', 'Observation', 'code:above=http://s|1'],
    ['token :below', 'Observation', 'code:below=http://s|1'],
    ['_contained', 'Observation', '_contained=true'],
    ['_containedType', 'Observation', '_containedType=container'],
    ['prefix on a leading composite component', 'MolecularSequence', 'chromosome-variant-coordinate=1$gt10$20'],
  ])('%s is a clear 400 not-supported', (_title, resourceType, query) => {
    const err = failure(() => parse(resourceType, query));
    expect(err.status).toBe(400);
    expect(err.outcome.issue[0]?.code).toBe('not-supported');
    expect(err.message).toMatch(/not supported|supported on the last component only/);
  });

  test('a name that cannot be a parameter name is a 400 with lenient handling too (ignoring it would match everything)', () => {
    const err = failure(() => parse('Patient', 'name[$ne]=x', { strict: false }));
    expect(err.code).toBe('INVALID_SEARCH');
    expect(err.outcome.issue[0]?.expression).toEqual(['name[$ne]']);
  });

  test('unknown resource type', () => {
    expect(failure(() => parse('Foo', 'a=b')).code).toBe('UNKNOWN_TYPE');
  });
});

describe('system-level search', () => {
  test('common parameters without _type', () => {
    expect(parse(undefined, '_lastUpdated=gt2024&_tag=http://s|x').conditions.map((c) => c.code)).toEqual(['_lastUpdated', '_tag']);
  });

  test('_type limits the types; parameters must exist on each with one type', () => {
    const request = parse(undefined, '_type=Patient,Practitioner&name=smith');
    expect(request.types).toEqual(['Patient', 'Practitioner']);
    expect(request.resourceType).toBeUndefined();
    expect(request.conditions[0]).toMatchObject({ code: 'name', paramType: 'string' });
  });

  test.each(['name=smith', '_type=Patient,Observation&code=x'])('a parameter missing on a searched type is unknown: %s', (query) => {
    expect(failure(() => parse(undefined, query)).code).toBe('UNKNOWN_SEARCH_PARAMETER');
  });

  test('unknown _type', () => {
    expect(failure(() => parse(undefined, '_type=Foo')).outcome.issue[0]?.expression).toEqual(['_type']);
  });

  test('_has is not supported', () => {
    expect(failure(() => parse(undefined, '_type=Patient,Group&_has:Observation:subject:code=x')).outcome.issue[0]?.code).toBe('not-supported');
  });
});

describe('conditionKey (the lock of a conditional create or update)', () => {
  test.each<[string, string, string]>([
    ['parameter order', 'identifier=urn:x|1&family=okafor', 'family=okafor&identifier=urn:x|1'],
    ['order of comma-separated values', 'identifier=urn:x|1,urn:x|2', 'identifier=urn:x|2,urn:x|1'],
    ['order of a repeated parameter', 'birthdate=ge2000&birthdate=lt2010', 'birthdate=lt2010&birthdate=ge2000'],
    ['result parameters', 'identifier=urn:x|1&_count=5', 'identifier=urn:x|1'],
  ])('does not depend on %s', (_title, a, b) => {
    expect(conditionKey(parse('Patient', a))).toBe(conditionKey(parse('Patient', b)));
  });

  test.each<[string, string, string, string]>([
    ['different values', 'Patient', 'identifier=urn:x|1', 'identifier=urn:x|2'],
    ['one value with an escaped comma and two values', 'Patient', 'family=a\\,b', 'family=a,b'],
    ['the same criteria on different types', 'Practitioner', 'identifier=urn:x|1', 'identifier=urn:x|1'],
  ])('tells apart %s', (_title, otherType, a, b) => {
    expect(conditionKey(parse('Patient', a))).not.toBe(conditionKey(parse(otherType, b)));
  });
});

describe('formatSearch', () => {
  test('rebuilds a canonical query string', () => {
    const request = parse(
      'Observation',
      '_count=5&code=http://loinc.org|1234,5678&date=ge2024-01-01&date=lt2025&foo=1&subject:Patient.name=Zoë&_sort=-date&_include=Observation:patient&_revinclude:iterate=Provenance:target&_offset=10&_total=accurate',
      { strict: false },
    );
    expect(formatSearch(request)).toBe(
      'code=http://loinc.org%7C1234,5678&date=ge2024-01-01&date=lt2025&subject:Patient.name=Zo%C3%AB' +
        '&_include=Observation:patient&_revinclude:iterate=Provenance:target&_sort=-date&_count=5&_offset=10&_total=accurate',
    );
  });

  test('parsing the formatted query gives the same request', () => {
    const request = parse('Patient', 'name=a\\,b&birthdate=ge2024-06-15T10:00:00%2B02:00&_elements=name&_summary=data&_count=3');
    expect(parse('Patient', formatSearch(request))).toEqual(request);
  });

  test('paging links change only the offset', () => {
    const request = parse('Patient', 'name=x&_count=10');
    expect(formatSearch({ ...request, offset: 20 })).toBe('name=x&_count=10&_offset=20');
  });
});
