// The MongoDB query shapes, run on FerretDB: `indexedFilters` (MongoDB: any filter can use an
// index and a filtered write is atomic) is separate from `wildcardIndexes` (creating MongoDB's
// search indexes), so each shape the store sends only to MongoDB — two bounds of one value as
// one `$elemMatch`, the compare-and-set as one filtered replace — runs here against a real server and must give the answers the FerretDB shapes give
// (or, for `$elemMatch`, the exact answer where FerretDB's is a reported superset).
import type { Resource } from '@medplum/fhirtypes';
import type { CommandStartedEvent, Document } from 'mongodb';
import { extractIndex } from '../../../src/search/extract';
import { parseSearch } from '../../../src/search/parse';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { MongoRepository } from '../../../src/store/mongo/mongo-repository';
import { type TestDatabase, testDatabase } from '../../support/database';

const BASE = 'http://casebridge.test/fhir';
const registry = buildSearchParameterRegistry({ baseUrl: BASE });
let database: TestDatabase;
const commands: CommandStartedEvent[] = [];
let mongoShapes: MongoRepository;
let ferretShapes: MongoRepository;

const observation = (id: string, values: number[]) =>
  ({
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { text: 'panel' },
    subject: { reference: 'Patient/shape-p' },
    performer: [{ reference: 'Practitioner/shape-a' }, { reference: 'Practitioner/shape-b' }],
    component: values.map((value) => ({ code: { text: 'part' }, valueQuantity: { value, system: 'http://unitsofmeasure.org', code: 'mg' } })),
  }) as Resource & { id: string };

beforeAll(async () => {
  database = await testDatabase({ monitorCommands: true });
  database.connection.client.on('commandStarted', (event) => commands.push(event));
  const base = { db: database.connection.db, registry, indexer: (r: Resource) => extractIndex(r, registry), now: () => new Date(), wildcardIndexes: false } as const;
  mongoShapes = new MongoRepository({ ...base, indexedFilters: true });
  ferretShapes = new MongoRepository({ ...base, indexedFilters: false });
  await ferretShapes.initialise();
  await ferretShapes.create({ resourceType: 'Patient', id: 'shape-p' } as Resource & { id: string });
  await ferretShapes.create({ resourceType: 'Practitioner', id: 'shape-a' } as Resource & { id: string });
  await ferretShapes.create({ resourceType: 'Practitioner', id: 'shape-b' } as Resource & { id: string });
  await ferretShapes.create(observation('apart', [10, 100]));
  await ferretShapes.create(observation('inside', [50]));
});
afterAll(async () => {
  await database.drop();
});

const search = (repo: MongoRepository, query: Record<string, string[]>) =>
  repo.search(parseSearch('Observation', query, registry, { strict: true, defaultCount: 20, maxCount: 100, baseUrl: BASE }));

async function sent(body: () => Promise<unknown>): Promise<CommandStartedEvent[]> {
  commands.length = 0;
  await body();
  return [...commands];
}

test('two bounds of one value: one $elemMatch (MongoDB shape, exact) or two conditions (FerretDB shape, a reported superset)', async () => {
  const query = { 'component-value-quantity': ['ap50'] };
  let mongo: Awaited<ReturnType<typeof search>> | undefined;
  const finds = await sent(async () => {
    mongo = await search(mongoShapes, query);
  });
  const ferret = await search(ferretShapes, query);
  const filter = JSON.stringify(finds.find((c) => c.commandName === 'find' && c.command.find === 'Observation')?.command.filter);
  expect(filter).toContain('"idx.r.component-value-quantity~v":{"$elemMatch":{"$gte":45,"$lte":55}}');
  expect(mongo?.approximate).toEqual([]);
  expect(ferret.matches.map((m) => m.id).sort()).toEqual(['apart', 'inside']);
  expect(ferret.approximate).toEqual(['component-value-quantity']);
  // FerretDB 1.24 evaluates $elemMatch on an array of scalars element by element per condition
  // (uncorrelated), so [10, 100] matches there: that is why FerretDB keeps its own shape. On
  // MongoDB (MONGODB_URI_TEST), one element must satisfy both bounds.
  const ids = mongo?.matches.map((m) => m.id).sort();
  expect(ids).toEqual(database.connection.flavour.kind === 'mongodb' ? ['inside'] : ['apart', 'inside']);
});

test('included resources: one $in query per type with either shape (our FerretDB patch answers `_id` lists from its index)', async () => {
  const query = { _id: ['apart'], _include: ['Observation:performer'] };
  for (const repo of [mongoShapes, ferretShapes]) {
    let included: string[] = [];
    const finds = await sent(async () => {
      included = (await search(repo, query)).included.map((r) => r.id).sort();
    });
    expect(included).toEqual(['shape-a', 'shape-b']);
    const practitionerFinds = finds.filter((c) => c.commandName === 'find' && c.command.find === 'Practitioner').map((c) => c.command.filter as Document);
    expect(practitionerFinds).toEqual([expect.objectContaining({ _id: { $in: ['shape-a', 'shape-b'] } })]);
  }
});

test('the compare-and-set: one replace filtered on _id and vid (MongoDB shape); a read of vid by _id, then a replace by _id (FerretDB shape)', async () => {
  const replaces = (cs: CommandStartedEvent[]) => cs.filter((c) => c.commandName === 'update' && c.command.update === 'Observation').flatMap((c) => (c.command.updates as Document[]).map((u) => u.q as Document));
  const mongo = await sent(() => mongoShapes.update(observation('inside', [50, 51])));
  expect(replaces(mongo)).toEqual([{ _id: 'inside', vid: 1 }]);
  const ferret = await sent(() => ferretShapes.update(observation('inside', [50])));
  expect(replaces(ferret)).toEqual([{ _id: 'inside' }]);
  const check = ferret.filter((c) => c.commandName === 'find' && c.command.find === 'Observation' && (c.command.projection as Document | undefined)?.vid === 1);
  expect(check.map((c) => c.command.filter as Document)).toEqual([{ _id: 'inside' }]);
  expect((await ferretShapes.read('Observation', 'inside')).versionId).toBe(3);
});

test('the resources an organisation owns are found by its owner term, which the terms index serves', async () => {
  const owned = mongoShapes.scoped({ owner: 'Organization/shape-org' }) as MongoRepository;
  await owned.create({ resourceType: 'Patient', id: 'shape-owned' } as Resource & { id: string });
  const finds = await sent(async () => {
    expect(await mongoShapes.ownedIds('Patient', 'Organization/shape-org', 10)).toEqual(['shape-owned']);
  });
  const filters = finds.filter((c) => c.commandName === 'find' && c.command.find === 'Patient').map((c) => Object.keys(c.command.filter as Document));
  expect(filters).toEqual([['idx.k']]);
});
