// Changing the set of search parameters makes the stored index stale; a reindex brings every
// stored resource up to date and reports its progress.
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { extractIndex } from '../../../src/search/extract';
import { parseSearch } from '../../../src/search/parse';
import { buildSearchParameterRegistry, type SearchParameterRegistry } from '../../../src/search/registry';
import { MongoRepository } from '../../../src/store/mongo/mongo-repository';
import type { ReindexProgress } from '../../../src/store/mongo/reindex';
import { type TestDatabase, testDatabase } from '../../support/database';

const BASE = 'http://casebridge.test/fhir';
let database: TestDatabase;
beforeAll(async () => {
  database = await testDatabase();
});
afterAll(async () => {
  await database.drop();
});

const nickname: SearchParameter = {
  resourceType: 'SearchParameter',
  url: 'http://casebridge.test/fhir/SearchParameter/patient-nickname',
  name: 'nickname',
  status: 'active',
  description: 'A nickname of the client',
  code: 'nickname',
  base: ['Patient'],
  type: 'string',
  expression: "Patient.name.where(use = 'nickname').given",
};

function repository(registry: SearchParameterRegistry): MongoRepository {
  return new MongoRepository({
    db: database.connection.db,
    registry,
    indexer: (resource) => extractIndex(resource, registry),
    now: () => new Date('2025-05-01T00:00:00Z'),
    wildcardIndexes: false,
  });
}

async function searchNickname(repo: MongoRepository, registry: SearchParameterRegistry): Promise<string[]> {
  const request = parseSearch('Patient', { nickname: ['Ziggy'] }, registry, { strict: true, defaultCount: 20, maxCount: 100, baseUrl: BASE });
  return (await repo.search(request)).matches.map((m) => m.id);
}

test('a new search parameter makes the index stale until a reindex, which reports progress', async () => {
  const before = buildSearchParameterRegistry({ baseUrl: BASE });
  const first = repository(before);
  await first.initialise();
  expect(await first.searchIndexStatus()).toBe('current');
  for (let i = 0; i < 3; i++) {
    await first.create({ resourceType: 'Patient', id: `p${i}`, name: [{ use: 'nickname', given: [i === 1 ? 'Ziggy' : 'Max'] }] } as Resource & { id: string });
  }
  await first.create({ resourceType: 'Organization', id: 'o1', name: 'Harbour Housing' } as Resource & { id: string });

  const after = buildSearchParameterRegistry({ baseUrl: BASE, custom: [nickname] });
  expect(after.fingerprint()).not.toBe(before.fingerprint());
  const second = repository(after);
  await second.initialise();
  expect(await second.searchIndexStatus()).toBe('stale');
  expect(await searchNickname(second, after)).toEqual([]);

  const progress: ReindexProgress[] = [];
  expect(await second.reindex((p) => progress.push(p))).toBe(4);
  expect(progress).toEqual([
    { resourceType: 'Organization', done: 1, total: 1 },
    { resourceType: 'Patient', done: 3, total: 3 },
  ]);
  expect(await second.searchIndexStatus()).toBe('current');
  expect(await searchNickname(second, after)).toEqual(['p1']);
  const read = await second.read('Patient', 'p1');
  expect(read.versionId).toBe(1);
});
