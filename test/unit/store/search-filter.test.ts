/**
 * The exact filter produced for each parameter type: a reviewer can see that every search is
 * answered from the extracted index fields (`idx.<code>.<key>`, or `_id`), one path per
 * condition, with only operators FerretDB 1.x evaluates exactly.
 */
import { compositePrefix, unitRoundingKey, unitValueKey } from '../../../src/search/index-keys';
import { parseSearch } from '../../../src/search/parse';
import type { SearchRequest } from '../../../src/search/parse';
import { LIVE_DOCUMENT, sortSpec, toMongoFilter, translateSearch } from '../../../src/store/mongo/search-filter';
import type { FilterNode, MongoFilter, SubqueryNode } from '../../../src/store/mongo/search-filter';
import { BASE_URL, testRegistry } from '../search/registry-fixture';

const NOW = new Date('2025-01-01T00:00:00Z');
const UCUM = 'http://unitsofmeasure.org';

function request(resourceType: string, query: string): SearchRequest {
  const multimap: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    (multimap[k] ??= []).push(v);
  }
  return parseSearch(resourceType, multimap, testRegistry(), { strict: true, defaultCount: 20, maxCount: 100, baseUrl: BASE_URL });
}

function translate(resourceType: string, query: string): ReturnType<typeof translateSearch> {
  return translateSearch(request(resourceType, query), testRegistry(), resourceType, { now: NOW });
}

/** The filter after the live-document guard every filter starts with. */
function withoutGuard(filter: MongoFilter | undefined): MongoFilter | undefined {
  if (filter === LIVE_DOCUMENT) {
    return {};
  }
  const [guard, ...rest] = (filter?.$and ?? []) as MongoFilter[];
  expect(guard).toBe(LIVE_DOCUMENT);
  return rest.length === 1 ? rest[0] : { $and: rest };
}

function filterOf(resourceType: string, query: string): MongoFilter | undefined {
  return withoutGuard(toMongoFilter(translate(resourceType, query).filter));
}

describe('one translator per parameter type', () => {
  test.each<[string, string, string, MongoFilter]>([
    // string
    ['string: folded starts-with', 'Patient', 'name=Zoë', { 'idx.name.s': { $regex: '^zoe' } }],
    ['string: regex characters are escaped', 'Patient', 'name=a.b(c', { 'idx.name.s': { $regex: '^a\\.b\\(c' } }],
    ['string :contains', 'Patient', 'name:contains=upr', { 'idx.name.s': { $regex: 'upr' } }],
    ['string :exact, OR', 'Patient', 'name:exact=Zoë,Zoe', { 'idx.name.e': { $in: ['Zoë', 'Zoe'] } }],
    ['string OR', 'Patient', 'name=a,b', { $or: [{ 'idx.name.s': { $regex: '^a' } }, { 'idx.name.s': { $regex: '^b' } }] }],
    // token
    ['token code', 'Observation', 'code=1234', { 'idx.code.c': '1234' }],
    ['token system|code', 'Observation', 'code=http://loinc.org|1234', { 'idx.code.t': 'http://loinc.org|1234' }],
    ['token |code', 'Observation', 'code=|1234', { 'idx.code.t': '|1234' }],
    ['token system|', 'Observation', 'code=http://loinc.org|', { 'idx.code.t': { $regex: '^http://loinc\\.org\\|' } }],
    ['token system| beside other forms', 'Observation', 'code=1,http://s|,http://s|3', { $or: [{ $or: [{ 'idx.code.c': '1' }, { 'idx.code.t': 'http://s|3' }] }, { 'idx.code.t': { $regex: '^http://s\\|' } }] }],
    ['token :not system|', 'Observation', 'code:not=http://s|,x', { $and: [{ 'idx.code.c': { $ne: 'x' } }, { 'idx.code.t': { $not: { $regex: '^http://s\\|' } } }] }],
    ['token OR across forms', 'Observation', 'code=1,http://s|2,http://s|3', { $or: [{ 'idx.code.c': '1' }, { 'idx.code.t': { $in: ['http://s|2', 'http://s|3'] } }] }],
    ['token :not', 'Observation', 'status:not=final', { 'idx.status.c': { $ne: 'final' } }],
    ['token :not, OR', 'Observation', 'status:not=final,http://s|x', { $and: [{ 'idx.status.c': { $ne: 'final' } }, { 'idx.status.t': { $ne: 'http://s|x' } }] }],
    ['token :text', 'Observation', 'code:text=Dépr', { 'idx.code.x': { $regex: '^depr' } }],
    ['token :of-type', 'Patient', 'identifier:of-type=http://t|MR|123', { 'idx.identifier.ot': 'http://t|MR|123' }],
    ['_id', 'Patient', '_id=a,b', { _id: { $in: ['a', 'b'] } }],
    ['_id :not', 'Patient', '_id:not=a', { _id: { $ne: 'a' } }],
    // reference
    ['reference Type/id', 'Observation', 'subject=Patient/1', { 'idx.subject.r': 'Patient/1' }],
    ['reference id (targets)', 'Observation', 'subject=1', { 'idx.subject.r': { $in: ['Group/1', 'Device/1', 'Patient/1', 'Location/1'] } }],
    ['reference id (any type)', 'Observation', 'focus=1', { 'idx.focus.r': { $regex: '^[A-Za-z]+/1$' } }],
    ['reference on our base', 'Observation', `subject=${BASE_URL}/Patient/1`, { 'idx.subject.r': 'Patient/1' }],
    ['reference :identifier', 'Observation', 'subject:identifier=urn:mrn|7', { 'idx.subject.i': 'urn:mrn|7' }],
    ['reference :identifier value only', 'Observation', 'subject:identifier=7', { 'idx.subject.i': '7' }],
    ['reference :identifier system only', 'Observation', 'subject:identifier=urn:mrn|', { 'idx.subject.i': { $regex: '^urn:mrn\\|' } }],
    // date
    ['date eq: the spans that fit in the period', 'Patient', 'birthdate=2024-06', { 'idx.birthdate.w': { $regex: '^2024-06[^\\|]*\\|2024-06' } }],
    ['date ne', 'Patient', 'birthdate=ne2024', { $or: [{ 'idx.birthdate.lo': { $lt: '2024-01-01T00:00:00.000Z' } }, { 'idx.birthdate.hi': { $gt: '2024-12-31T23:59:59.999Z' } }] }],
    ['date gt', 'Patient', 'birthdate=gt2024', { 'idx.birthdate.hi': { $gt: '2024-12-31T23:59:59.999Z' } }],
    ['date lt', 'Patient', 'birthdate=lt2024', { 'idx.birthdate.lo': { $lt: '2024-01-01T00:00:00.000Z' } }],
    ['date ge', 'Patient', 'birthdate=ge2024', { 'idx.birthdate.hi': { $gte: '2024-01-01T00:00:00.000Z' } }],
    ['date le', 'Patient', 'birthdate=le2024', { 'idx.birthdate.lo': { $lte: '2024-12-31T23:59:59.999Z' } }],
    ['date sa', 'Patient', 'birthdate=sa2024', { 'idx.birthdate.lo': { $gt: '2024-12-31T23:59:59.999Z' } }],
    ['date eb', 'Patient', 'birthdate=eb2024', { 'idx.birthdate.hi': { $lt: '2024-01-01T00:00:00.000Z' } }],
    ['date ap (widened by 10% of the distance to now)', 'Patient', 'birthdate=ap2024-12-31', { $and: [{ 'idx.birthdate.lo': { $lte: '2025-01-01T01:11:59.999Z' } }, { 'idx.birthdate.hi': { $gte: '2024-12-30T22:48:00.000Z' } }] }],
    ['date AND (repeated)', 'Patient', 'birthdate=ge2024&birthdate=lt2025', { $and: [{ 'idx.birthdate.hi': { $gte: '2024-01-01T00:00:00.000Z' } }, { 'idx.birthdate.lo': { $lt: '2025-01-01T00:00:00.000Z' } }] }],
    // number
    ['number eq: rounding bucket, or the value itself', 'RiskAssessment', 'probability=0.4', { $or: [{ 'idx.probability.b': '-1:4' }, { 'idx.probability.v': 0.4 }] }],
    ['number eq zero: any zero bucket at or below the precision', 'RiskAssessment', 'probability=0e-7', { $or: [{ 'idx.probability.b': { $in: ['-8:0', '-7:0'] } }, { 'idx.probability.v': 0 }] }],
    ['number eq beyond the stored roundings: a range', 'RiskAssessment', 'probability=0.000000001', { $and: [{ 'idx.probability.v': { $gte: 5e-10 } }, { 'idx.probability.v': { $lt: 1.5e-9 } }] }],
    ['number ne', 'RiskAssessment', 'probability=ne0.4', { $or: [{ 'idx.probability.v': { $lt: 0.35 } }, { 'idx.probability.v': { $gte: 0.45 } }] }],
    ['number gt', 'RiskAssessment', 'probability=gt0.4', { 'idx.probability.v': { $gt: 0.4 } }],
    ['number le', 'RiskAssessment', 'probability=le0.4', { 'idx.probability.v': { $lte: 0.4 } }],
    ['number sa is gt', 'RiskAssessment', 'probability=sa0.4', { 'idx.probability.v': { $gt: 0.4 } }],
    // quantity
    ['quantity without unit: all units', 'Observation', 'value-quantity=gt5', { 'idx.value-quantity.v': { $gt: 5 } }],
    ['quantity system|code: that unit\'s arrays', 'Observation', `value-quantity=5.4|${UCUM}|mg`, { $or: [{ [`idx.value-quantity.${unitRoundingKey(`${UCUM}|mg`)}`]: '-1:54' }, { [`idx.value-quantity.${unitValueKey(`${UCUM}|mg`)}`]: 5.4 }] }],
    ['quantity ||code', 'Observation', 'value-quantity=lt5||mg', { [`idx.value-quantity.${unitValueKey('|mg')}`]: { $lt: 5 } }],
    // uri
    ['uri', 'Patient', '_profile=http://x/p', { 'idx._profile.u': 'http://x/p' }],
    ['uri :below', 'Patient', '_profile:below=http://x/', { 'idx._profile.u': { $regex: '^http://x/' } }],
    ['uri :above', 'Patient', '_profile:above=http://x/a/b', { 'idx._profile.u': { $in: ['http://x', 'http://x/a', 'http://x/a/b'] } }],
    // composite
    ['composite token$token', 'Observation', 'code-value-concept=http://loinc.org|1$http://s|high', { 'idx.code-value-concept.k': 'http://loinc.org|1$http://s|high' }],
    ['composite token$string (starts-with)', 'Observation', 'code-value-string=1$Hi', { 'idx.code-value-string.k': { $regex: '^1\\$hi' } }],
    ['composite token$quantity', 'Observation', `component-code-value-quantity=8480-6$gt100|${UCUM}|mm[Hg]`, { [`idx.component-code-value-quantity.${compositePrefix('8480-6')}${unitValueKey(`${UCUM}|mm[Hg]`)}`]: { $gt: 100 } }],
    ['composite token$date', 'Observation', 'code-value-date=1$ge2024', { [`idx.code-value-date.${compositePrefix('1')}hi`]: { $gte: '2024-01-01T00:00:00.000Z' } }],
    // missing
    [':missing=true', 'Patient', 'birthdate:missing=true', { 'idx.birthdate': { $exists: false } }],
    [':missing=false', 'Patient', 'birthdate:missing=false', { 'idx.birthdate': { $exists: true } }],
    ['no conditions', 'Patient', '_count=5', {}],
  ])('%s: %s?%s', (_title, resourceType, query, expected) => {
    expect(filterOf(resourceType, query)).toEqual(expected);
  });
});

test('every filter starts with the live-document guard (deleted documents have no idx)', () => {
  expect(toMongoFilter(translate('Patient', '_count=1').filter)).toBe(LIVE_DOCUMENT);
  expect(toMongoFilter(translate('Patient', 'gender:not=male').filter)).toEqual({
    $and: [{ idx: { $exists: true } }, { 'idx.gender.c': { $ne: 'male' } }],
  });
});

describe('exactness report', () => {
  test.each<[string, string, string[]]>([
    ['Patient', 'birthdate=ap2024', []],
    ['CarePlan', 'activity-date=ap2024', ['activity-date']],
    ['RiskAssessment', 'probability=0.000000001', ['probability']],
    ['Observation', 'value-quantity=ap5', []],
    ['Observation', 'component-value-quantity=ap5', ['component-value-quantity']],
    ['Observation', 'code=1&date=2024&subject:Patient.name=x', []],
  ])('%s?%s is approximate for %p', (resourceType, query, approximate) => {
    expect(translate(resourceType, query).approximate).toEqual(approximate);
  });
});

/** The subquery after the live-document guard of an and node. */
function secondNode(node: FilterNode): SubqueryNode {
  expect(node.kind).toBe('and');
  return (node as Extract<FilterNode, { kind: 'and' }>).nodes[1] as SubqueryNode;
}

describe('chains and _has are subquery nodes', () => {
  test('chain: query the target, select _id, then match the reference', () => {
    const node = secondNode(translate('Observation', 'subject:Patient.name=smith').filter);
    expect(node).toMatchObject({
      kind: 'chain',
      param: 'subject:Patient.name',
      resourceType: 'Patient',
      select: '_id',
      where: { kind: 'filter', filter: { $and: [LIVE_DOCUMENT, { 'idx.name.s': { $regex: '^smith' } }] } },
    });
    expect(node.then(['1', '2', '1'])).toEqual({ 'idx.subject.r': { $in: ['Patient/1', 'Patient/2'] } });
  });

  test('multi-level chain nests', () => {
    const node = secondNode(translate('Observation', 'patient.organization.name=acme').filter);
    const inner = secondNode(node.where);
    expect(node).toMatchObject({ kind: 'chain', resourceType: 'Patient', where: { kind: 'and', nodes: [{ kind: 'filter', filter: LIVE_DOCUMENT }, { kind: 'chain' }] } });
    expect(inner).toMatchObject({
      kind: 'chain',
      resourceType: 'Organization',
      select: '_id',
      where: { kind: 'filter', filter: { $and: [LIVE_DOCUMENT, { 'idx.name.s': { $regex: '^acme' } }] } },
    });
    expect(inner.then(['o1'])).toEqual({ 'idx.organization.r': { $in: ['Organization/o1'] } });
  });

  test('_has: query the referrer, select its reference values, keep ids of our type', () => {
    const node = secondNode(translate('Patient', '_has:Observation:patient:code=1234').filter);
    expect(node).toMatchObject({
      kind: 'has',
      resourceType: 'Observation',
      select: 'idx.patient.r',
      where: { kind: 'filter', filter: { $and: [LIVE_DOCUMENT, { 'idx.code.c': '1234' }] } },
    });
    expect(node.then(['Patient/1', 'Patient/1/_history/2', 'Group/1', 'Patient/2'])).toEqual({ _id: { $in: ['1', '2'] } });
  });

  test('AND with plain conditions gives an and node; toMongoFilter needs the subqueries resolved', () => {
    const filter = translate('Patient', 'gender=male&_has:Observation:patient:code=1234').filter as FilterNode;
    expect(filter.kind).toBe('and');
    expect(toMongoFilter(filter)).toBeUndefined();
  });
});

describe('_sort', () => {
  test.each<[string, Record<string, number>]>([
    ['', { _id: 1 }],
    ['_sort=-birthdate,name', { 'idx.birthdate.o': -1, 'idx.name.o': 1, _id: 1 }],
    ['_sort=-birthdate', { 'idx.birthdate.o': -1, _id: -1 }],
    ['_sort=_id,name', { _id: 1 }],
    ['_sort=-_id', { _id: -1 }],
    ['_sort=_lastUpdated', { 'idx._lastUpdated.o': 1, _id: 1 }],
  ])('Patient?%s', (query, expected) => {
    const sort = sortSpec(request('Patient', query));
    expect(sort).toEqual(expected);
    expect(Object.keys(sort)).toEqual(Object.keys(expected));
  });
});

/** Paths of a filter and the operators it uses. */
function inspect(filter: unknown, paths: string[], operators: Set<string>): void {
  if (Array.isArray(filter)) {
    filter.forEach((f) => inspect(f, paths, operators));
    return;
  }
  if (typeof filter !== 'object' || filter === null) {
    return;
  }
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$')) {
      operators.add(key);
    } else {
      paths.push(key);
    }
    inspect(value, paths, operators);
  }
}

describe('every filter is on the index fields, with FerretDB-exact operators only', () => {
  const ALLOWED = new Set(['$and', '$or', '$in', '$nin', '$ne', '$exists', '$regex', '$gt', '$gte', '$lt', '$lte']);
  test.each<[string, string]>([
    ['Patient', 'name=a&family:exact=B&given:contains=c&birthdate=ne2020&identifier:of-type=a|b|c&gender:not=male&_profile:above=http://x/y'],
    ['Observation', 'code=a,s|b,|c,s|&date=ap2020&value-quantity=ne5|s|u&component-code-value-quantity=s|c$le3&combo-code-value-concept=a$b|c&subject=1&focus=2'],
    ['RiskAssessment', 'probability=0,ne1,gt2,le3,ap4,0.000000001'],
    ['DocumentReference', 'relationship=replaces$DocumentReference/1&_tag:not=s|t&_lastUpdated=sa2020'],
  ])('%s?%s', (resourceType, query) => {
    const filter = filterOf(resourceType, query);
    const paths: string[] = [];
    const operators = new Set<string>();
    inspect(filter, paths, operators);
    for (const path of paths) {
      expect(path).toMatch(/^(_id|idx\.[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)?)$/);
    }
    expect([...operators].filter((op) => !ALLOWED.has(op))).toEqual([]);
  });
});

describe('two bounds of one value (ap, a number finer than the stored roundings)', () => {
  const translateFor = (query: string, elemMatch: boolean) => translateSearch(request('Observation', query), testRegistry(), 'Observation', { now: NOW, elemMatch });
  test.each([
    ['component-value-quantity=ap50', ['$gte', '$lte']],
    ['component-value-quantity=1.000000001', ['$gte', '$lt']],
  ])('%s: MongoDB gets one exact $elemMatch; FerretDB two conditions, reported approximate', (query, operators) => {
    const path = 'idx.component-value-quantity.v';
    const ferret = translateFor(query, false);
    const [low, high] = (withoutGuard((ferret.filter as { filter: MongoFilter }).filter)?.$and ?? []) as Record<string, Record<string, number>>[];
    expect([Object.keys(low?.[path] ?? {}), Object.keys(high?.[path] ?? {})]).toEqual(operators.map((op) => [op]));
    expect(ferret.approximate).toEqual(['component-value-quantity']);
    const mongo = translateFor(query, true);
    expect(withoutGuard((mongo.filter as { filter: MongoFilter }).filter)).toEqual({ [path]: { $elemMatch: { ...low?.[path], ...high?.[path] } } });
    expect(mongo.approximate).toEqual([]);
  });
});
