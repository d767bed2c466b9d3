/**
 * The embedded database answers searches from its indexes (tools/ferretdb/patches), and the
 * narrowing never changes an answer.
 *
 * A few thousand synthetic resources are loaded once. Two applications share that database:
 * one as shipped, whose every query is recorded, and one that asks FerretDB the same questions
 * in a form the patch does not recognise ({$nor: [{$nor: [filter]}]}, and a sort key after
 * _id), so that FerretDB scans the collection, filters and sorts as upstream FerretDB does.
 * Every search below (every R4 parameter type, modifiers and prefixes, chains, _has, includes,
 * compartments, $everything, paging) must give the same Bundle from both, page after page. Then
 * each query the first application sent is explained: it must be pushed down, and its SQLite
 * plan must read no table from end to end. An agency's queue, as CaseBridge asks for it, must
 * be read in the owner's `_id` order from the refs side table, page after page, without a sort.
 *
 * Each search is sent by three real SMART clients: the administrator (no access filter), the
 * agency that manages every synthetic case (its clients' compartments: a long `idx.k $in`), and
 * a partner agency that receives referrals (its referred clients by `_id $in`, its referrals by
 * reference terms, nothing of the other types). Their access filters (store/mongo/access.ts) are
 * ANDed with every query, sub-query and include, and must be pushed down as well.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Express } from 'express';
import type { Collection, Db, Document, FindCursor } from 'mongodb';
import pino from 'pino';
import request from 'supertest';
import { generateClients, generatePool, toPoolBundle, toTransactionBundle } from '../../../bench/synthetic';
import { createApp } from '../../../src/app';
import type { AuthService } from '../../../src/auth/service';
import { buildAuthService, buildFhirServices, buildRateLimits } from '../../../src/composition';
import { loadConfig } from '../../../src/config/config';
import type { MongoConnection } from '../../../src/platform/mongo';
import { BASE_URL, FHIR_JSON, registerTestClient } from '../../support/app';
import { type TestDatabase, testDatabase } from '../../support/database';

const CLIENTS = 90;
const SEED = 7;
const REFERENCE_DATE = '2025-06-30';

type Recorded = { collection: string; filter: Document; sort?: Document };

let database: TestDatabase;
let shipped: Express;
let scanning: Express;
let recorded: Recorded[] = [];
let recording = false;
/** MONGODB_URI_TEST runs the suite on another server: what is tested here is the embedded one. */
const embedded = process.env.MONGODB_URI_TEST === undefined || process.env.MONGODB_URI_TEST === '';

const config = loadConfig({ BASE_URL, LOG_LEVEL: 'silent', ACCESS_TOKEN_SECONDS: '3600', RATE_LIMIT_PER_MINUTE: '1000000' });
const logger = pino({ level: 'silent' });
let auth: AuthService;
/** The callers' access tokens, by name. */
const tokens: Record<string, string> = {};
type CallerName = 'admin' | 'agency' | 'partner';

async function appOn(connection: MongoConnection): Promise<Express> {
  const services = await buildFhirServices({ config, connection, logger });
  const rateLimits = await buildRateLimits({ config, connection: database.connection });
  return createApp({ services, auth, logger, bodyLimitBytes: config.bodyLimitBytes, corsOrigins: config.corsOrigins, rateLimits });
}

const get = (app: Express, path: string, caller: CallerName = 'admin') => request(app).get(path).set('Authorization', `Bearer ${tokens[caller]}`);

/** A Db whose collections' reads pass through `wrap` (writes are left alone). */
function proxied(db: Db, wrap: (name: string, filter: Document) => Document, onSort?: (name: string, filter: Document, sort: Document) => Document): Db {
  const collection = (name: string): Collection => {
    const target = db.collection(name);
    return new Proxy(target, {
      get(c, prop) {
        if (prop === 'find') {
          return (filter: Document = {}, options?: Document) => {
            const wrapped = wrap(name, filter);
            const cursor: FindCursor = c.find(wrapped, options);
            const sort = cursor.sort.bind(cursor);
            cursor.sort = ((spec: Document) => sort(onSort ? onSort(name, filter, spec) : spec)) as FindCursor['sort'];
            return cursor;
          };
        }
        if (prop === 'findOne' || prop === 'countDocuments') {
          return (filter: Document = {}, options?: Document) => (c[prop] as (f: Document, o?: Document) => unknown).call(c, wrap(name, filter), options);
        }
        const value: unknown = Reflect.get(c, prop, c);
        return typeof value === 'function' ? value.bind(c) : value;
      },
    });
  };
  return new Proxy(db, {
    get(d, prop) {
      if (prop === 'collection') return collection;
      const value: unknown = Reflect.get(d, prop, d);
      return typeof value === 'function' ? value.bind(d) : value;
    },
  });
}

const INTERNAL = new Set(['history', 'journal', 'locks', 'settings']);

async function post(app: Express, bundle: Bundle | Record<string, unknown>): Promise<void> {
  const res = await request(app).post('/fhir').set('Authorization', `Bearer ${tokens.admin}`).set('Content-Type', FHIR_JSON).send(bundle);
  expect(res.status).toBe(200);
}

async function ids(path: string): Promise<string[]> {
  const res = await get(shipped, `/fhir/${path}`);
  expect(res.status).toBe(200);
  return ((res.body as Bundle).entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id as string);
}

/** What a Bundle says: its matches in order, its includes as a set, its total and next page. */
function summary(body: Bundle): { status?: number; matches: string[]; included: string[]; total?: number; next: boolean } {
  const key = (e: NonNullable<Bundle['entry']>[number]) => `${e.resource?.resourceType}/${e.resource?.id}`;
  return {
    matches: (body.entry ?? []).filter((e) => e.search?.mode === 'match').map(key),
    included: (body.entry ?? []).filter((e) => e.search?.mode === 'include').map(key).sort(),
    ...(body.total !== undefined ? { total: body.total } : {}),
    next: body.link?.some((l) => l.relation === 'next') ?? false,
  };
}

/** Up to `pages` pages of a search, from one application, as one caller. */
async function pagesOf(app: Express, path: string, pages: number, caller: CallerName): Promise<ReturnType<typeof summary>[]> {
  const out: ReturnType<typeof summary>[] = [];
  let url: string | undefined = `/fhir/${path}`;
  while (url && out.length < pages) {
    const res = await get(app, url, caller);
    if (caller === 'admin') {
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
    } else if (res.status !== 200) {
      // What a scoped caller may not see (the $everything of another agency's client: 404) answers the same from both.
      out.push({ status: res.status, matches: [], included: [], next: false });
      break;
    }
    const body = res.body as Bundle;
    out.push(summary(body));
    url = body.link?.find((l) => l.relation === 'next')?.url?.replace(BASE_URL, '/fhir');
  }
  return out;
}

/** The searches, with the values they need taken from the loaded data. */
async function searches(): Promise<[string, string, number][]> {
  const first = await get(shipped, '/fhir/Patient?_count=1');
  const patient = (first.body as Bundle).entry?.[0]?.resource as { id: string; identifier: { system: string; value: string }[]; name: { family: string }[] };
  const client = patient.identifier.find((i) => i.system === 'urn:casebridge:synthetic:client') as { system: string; value: string };
  const family = patient.name[0]?.family as string;
  const [episode] = await ids('EpisodeOfCare?_count=1');
  const [task] = (await get(shipped, '/fhir/Task?_count=1')).body.entry as { resource: { owner: { reference: string } } }[];
  const owner = task?.resource.owner.reference as string;
  const p = patient.id;
  const phq9 = 'http://loinc.org|44261-6';
  const q = 'http://casebridge.example.org/fhir/Questionnaire/phq-9';
  // [label, path, pages to compare]
  return [
    // string: prefix (default), :contains, :exact, on folded and written values
    ['string prefix', `Patient?family=${family.slice(0, 2)}&_count=10`, 3],
    ['string :contains', 'Patient?name:contains=an&_count=15', 2],
    ['string :exact', `Patient?family:exact=${family}`, 1],
    ['string on an address', 'Patient?address-state=OR&_count=20', 2],
    // token: code, system|code, |code, system|, :not, :text, :of-type, identifier
    ['token identifier', `Patient?identifier=${client.system}|${client.value}`, 1],
    ['token system only', `Patient?identifier=${client.system}|&_count=25`, 2],
    ['token code and gender', 'Patient?gender=female&_count=20', 2],
    ['token :not', 'Observation?category=survey&code:not=44261-6&_count=25', 2],
    ['token :text', 'Observation?code:text=patient&_count=20', 2],
    ['token in a list', 'Task?owner=' + owner + '&status=requested,accepted,in-progress', 2],
    ['token :missing', 'Patient?telecom:missing=false&_count=20', 2],
    // reference: Type/id, bare id, :identifier, chains
    ['reference', `Observation?subject=Patient/${p}`, 1],
    ['reference by bare id', `Encounter?patient=${p}`, 1],
    ['reference chain on an identifier', `Observation?subject:Patient.identifier=${client.system}|${client.value}`, 1],
    ['reference chain on a name', `Encounter?subject:Patient.family=${family.slice(0, 3)}&_count=20`, 2],
    ['canonical reference', `QuestionnaireResponse?questionnaire=${q}|1.0.0&_count=20`, 2],
    // date: every prefix, with sorting
    ['date ge and le', `Observation?code=${phq9}&date=ge2025-01-01&date=le2025-06-30`, 2],
    ['date eq (a year)', 'Observation?date=eq2024&_count=30', 2],
    ['date ne', 'Encounter?date=ne2024&_count=30', 2],
    ['date gt and lt', 'Encounter?date=gt2024-03-01&date=lt2024-09-01&_count=25', 2],
    ['date sa and eb', 'Observation?date=sa2024-12-31&_count=20', 2],
    ['date eb', 'Observation?date=eb2024-09-01&_count=20', 2],
    ['date ap', 'Observation?date=ap2024-06-15&_count=20', 2],
    ['birth date', 'Patient?birthdate=lt1980&_sort=-birthdate&_count=15', 2],
    ['last updated', 'Patient?_lastUpdated=gt2000-01-01&_count=40', 2],
    // number
    ['number gt', 'RiskAssessment?probability=gt0.5', 1],
    ['number eq at its precision', 'RiskAssessment?probability=0.25', 1],
    ['number ap', 'RiskAssessment?probability=ap0.3', 1],
    // quantity
    ['quantity', 'Observation?value-quantity=gt15&_count=20', 2],
    ['quantity with a unit', 'Observation?value-quantity=le4|http://unitsofmeasure.org|{score}&_count=20', 2],
    ['quantity in minutes', 'Encounter?length=gt45&_count=20', 2],
    // uri
    ['uri', `Questionnaire?url=${q}`, 1],
    ['uri :below', 'Questionnaire?url:below=http://casebridge.example.org/fhir', 1],
    // composite
    ['composite code and value', `Observation?code-value-quantity=${phq9}$gt14&_count=20`, 2],
    // unions: combo-* searched through their members (registry.ts findUnions)
    ['union of tokens', `Observation?combo-code=${phq9}&_count=20`, 2],
    ['union of quantities', 'Observation?combo-value-quantity=gt15&_count=20', 2],
    ['union of composites', `Observation?combo-code-value-quantity=${phq9}$gt14&_count=20`, 2],
    ['union :missing', 'Observation?combo-value-quantity:missing=false&category=survey&_count=20', 2],
    // special: _id, several types
    ['_id list', `Patient?_id=${p},nobody`, 1],
    ['several types', 'Practitioner?_count=10', 1],
    // sorting and deep keyset paging
    ['sort by date, paged', 'Encounter?_sort=date&_count=40', 5],
    ['sort by date descending, paged', 'Encounter?_sort=-date&_count=40', 4],
    ['sort on a second key', 'Goal?_sort=lifecycle-status,-start-date&_count=30', 3],
    ['encounters of an episode by date', `Encounter?episode-of-care=EpisodeOfCare/${episode}&_sort=-date`, 1],
    // _has, small (references collected first) and large (checked page by page)
    ['_has, large', `Patient?_has:Observation:patient:code=${phq9}&_count=20`, 3],
    ['_has, small', 'Patient?_has:Task:patient:status=requested', 1],
    ['_has and a plain parameter', `Patient?_has:Observation:patient:code=${phq9}&gender=male&_count=10`, 2],
    // includes and compartments
    ['_include', `CarePlan?patient=${p}&category=assess-plan&_include=CarePlan:goal&_include=CarePlan:care-team`, 1],
    ['_revinclude', `CarePlan?patient=${p}&_revinclude=Provenance:target`, 1],
    ['_include *', 'Task?status=accepted&_include=*&_count=10', 2],
    ['compartment search', `Patient/${p}/Observation`, 1],
    ['$everything', `Patient/${p}/$everything?_count=1000`, 1],
    ['$everything, paged', `Patient/${p}/$everything?_count=7`, 6],
    ['totals', 'Observation?category=survey&_total=accurate&_count=5', 2],
  ];
}

(embedded ? describe : describe.skip)('searches on the embedded database', () => {
  beforeAll(async () => {
    database = await testDatabase();
    expect(database.connection.flavour.kind).toBe('ferretdb');
    const db = database.connection.db;
    auth = await buildAuthService({ config, connection: database.connection, logger });
    // The shipped application; its search queries (not its bookkeeping) are recorded.
    shipped = await appOn({
      ...database.connection,
      db: proxied(
        db,
        (name, filter) => {
          if (recording && !INTERNAL.has(name)) recorded.push({ collection: name, filter });
          return filter;
        },
        (name, filter, sort) => {
          const last = recorded[recorded.length - 1];
          if (recording && last && last.collection === name && last.filter === filter) last.sort = sort;
          return sort;
        },
      ),
    });
    // The same questions, in a form the patch leaves to FerretDB's own scan and sort.
    scanning = await appOn({
      ...database.connection,
      db: proxied(
        db,
        (_name, filter) => ({ $nor: [{ $nor: [filter] }] }),
        (_name, _filter, sort) => ({ ...sort, not_pushed_down: 1 }),
      ),
    });
    const pool = generatePool({ seed: SEED });
    const partner = Object.values(pool.partners)[0];
    const callers: [CallerName, Parameters<typeof registerTestClient>[1]][] = [
      ['admin', { role: 'administrator', scopes: ['system/*.cruds'] }],
      ['agency', { role: 'agency', organization: `Organization/${pool.agency.id}`, scopes: ['system/*.rs'] }],
      ['partner', { role: 'agency', organization: `Organization/${partner?.id}`, scopes: ['system/*.rs'] }],
    ];
    for (const [name, options] of callers) {
      tokens[name] = await (await registerTestClient({ bareApp: shipped, auth }, { clientId: `pushdown-${name}`, ...options })).token();
    }
    await post(shipped, toPoolBundle(pool));
    for (const client of generateClients({ seed: SEED, clients: CLIENTS, referenceDate: REFERENCE_DATE, pool })) {
      await post(shipped, toTransactionBundle(client));
    }
    // Number parameters: nothing in the synthetic cases has one.
    const patients = await ids('Patient?_count=30');
    // Seen once in a full run: the number searches then found nothing, as if this page had been
    // empty right after the clients' transactions were acknowledged. Fail here if it happens.
    expect(patients).toHaveLength(30);
    await post(shipped, {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: patients.map((id, i) => ({
        request: { method: 'POST', url: 'RiskAssessment' },
        resource: {
          resourceType: 'RiskAssessment',
          status: 'final',
          subject: { reference: `Patient/${id}` },
          prediction: [{ probabilityDecimal: [0.05, 0.25, 0.3, 0.5, 0.75, 0.9][i % 6] }],
        } as Resource,
      })),
    });
  }, 300_000);

  afterAll(async () => {
    await database?.drop();
  });

  test('every search answers as FerretDB scanning does, page after page', async () => {
    recorded = [];
    recording = true;
    const list = await searches();
    const empty: string[] = [];
    for (const [label, path, pages] of list) {
      const got = await pagesOf(shipped, path, pages, 'admin');
      const want = await pagesOf(scanning, path, pages, 'admin');
      expect({ label, path, pages: got }).toEqual({ label, path, pages: want });
      if ((want[0]?.matches.length ?? 0) === 0) empty.push(label);
    }
    recording = false;
    // A search that finds nothing proves nothing.
    expect(empty).toEqual([]);
  }, 240_000);

  test('every search answers as FerretDB scanning does for scoped callers (access filters ANDed in)', async () => {
    recording = true;
    const list = await searches();
    const found: Record<string, number> = { agency: 0, partner: 0 };
    const emptyForAgency: string[] = [];
    for (const caller of ['agency', 'partner'] as const) {
      for (const [label, path, pages] of list) {
        const got = await pagesOf(shipped, path, Math.min(pages, 2), caller);
        const want = await pagesOf(scanning, path, Math.min(pages, 2), caller);
        expect({ caller, label, path, pages: got }).toEqual({ caller, label, path, pages: want });
        if ((want[0]?.matches.length ?? 0) > 0) found[caller] = (found[caller] ?? 0) + 1;
        else if (caller === 'agency') emptyForAgency.push(`${label}: ${JSON.stringify(want[0])}`);
      }
    }
    recording = false;
    // The agency manages every case: it finds what the administrator finds; the partner, its referrals' clients.
    expect(emptyForAgency).toEqual([]);
    expect(found.partner).toBeGreaterThan(5);
  }, 300_000);

  test('every query those searches sent is pushed down, and reads no table from end to end', async () => {
    expect(recorded.length).toBeGreaterThan(100);
    const failures: unknown[] = [];
    for (const { collection, filter, sort } of recorded) {
      const explained = await database.connection.db.command({ explain: { find: collection, filter, ...(sort ? { sort } : {}) } });
      const plan = (explained.queryPlanner?.Plan ?? []) as string[];
      const fullScans = plan.filter((line) => {
        const m = /detail=SCAN (\S+)(.*)$/.exec(line);
        return m !== null && m[1] !== 'D' && !(m[1] ?? '').startsWith('(') && !/USING (COVERING )?INDEX/.test(m[2] ?? '');
      });
      if (!(explained.filterPushdown || explained.sortPushdown) || fullScans.length > 0) {
        failures.push({ collection, filter, sort, query: explained.queryPlanner?.Query, plan });
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test("an agency's queue is read in its owner's _id order, without sorting every Task it owns", async () => {
    // The pushdown walks the owner's references in _id order when the owner is the smallest
    // condition (or every condition is too large to drive): a partner with fewer Tasks than
    // there are open Tasks in all (docs/storage.md).
    const OPEN = 'status=requested,accepted,in-progress';
    const count = async (path: string) => ((await get(shipped, `/fhir/${path}&_summary=count`)).body as Bundle).total as number;
    const open = await count(`Task?${OPEN}`);
    const partners = Object.values(generatePool({ seed: SEED }).partners).map((p) => `Organization/${p.id}`);
    const owned = await Promise.all(partners.map(async (owner) => ({ owner, tasks: await count(`Task?owner=${owner}`) })));
    const small = owned.filter((o) => o.tasks < open).sort((a, b) => b.tasks - a.tasks)[0];
    expect(small).toBeDefined();
    const path = `Task?owner=${small?.owner}&${OPEN}&_count=2`;
    recorded = [];
    recording = true;
    const got = await pagesOf(shipped, path, 3, 'admin');
    recording = false;
    expect(got).toEqual(await pagesOf(scanning, path, 3, 'admin'));
    expect(got[1]?.matches.length).toBeGreaterThan(0); // a page after a position too
    const queues = recorded.filter((r) => r.collection === 'Task' && JSON.stringify(r.filter).includes(`"owner:r:${small?.owner}"`));
    expect(queues.length).toBeGreaterThanOrEqual(2);
    for (const { filter, sort } of queues) {
      const explained = await database.connection.db.command({ explain: { find: 'Task', filter, sort } });
      const plan = ((explained.queryPlanner?.Plan ?? []) as string[]).join('\n');
      expect({ query: explained.queryPlanner?.Query as string, temporaryBTree: plan.includes('TEMP B-TREE') }).toEqual({ query: expect.stringMatching(/_refs" AS R WHERE R\.term = \?/), temporaryBTree: false });
    }
  }, 60_000);
});
