// The MongoDB suite: runs only against a real replica set named by MONGODB_URI_TEST (the whole
// `npm test` then runs on it too: test/support/global-setup.ts). How to start one with
// docker-compose.yml: docs/storage.md#the-mongodb-suite.
// - explain() of every query the benchmark's searches send: no collection scan, no in-memory sort;
// - rs.stepDown() while transaction Bundles are being posted: nothing acknowledged is lost,
//   no reader ever sees part of a Bundle, and a Bundle is reported failed only if none of it stands.
import type { Bundle } from '@medplum/fhirtypes';
import type { CommandStartedEvent, Document } from 'mongodb';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { generateClients, generatePool, toPoolBundle, toTransactionBundle } from '../../../bench/synthetic';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';

const URI = process.env.MONGODB_URI_TEST;
const SKIPPED =
  'MongoDB replica-set suite skipped: MONGODB_URI_TEST is unset. To run it: docker compose --profile mongodb-test up -d, then MONGODB_URI_TEST="mongodb://localhost:27117,localhost:27118,localhost:27119/?replicaSet=rs-test" npx jest test/integration/mongodb (docs/storage.md#the-mongodb-suite)';

if (URI === undefined || URI === '') {
  // Said once per run, so a green `npm test` does not hide that this suite did not run.
  console.warn(SKIPPED);
  test.skip(SKIPPED, () => undefined);
} else {
  replicaSetSuite(URI);
}

function replicaSetSuite(uri: string): void {
  jest.setTimeout(180_000);
  let t: TestApp;
  const commands: CommandStartedEvent[] = [];

  beforeAll(async () => {
    t = await testApp({ database: { uri, monitorCommands: true } });
    t.database.connection.client.on('commandStarted', (event) => commands.push(event));
    const { flavour } = t.database.connection;
    if (flavour.kind !== 'mongodb' || !flavour.transactions) {
      throw new Error(`MONGODB_URI_TEST must name a MongoDB replica set; it names ${JSON.stringify(flavour)}`);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = async (path: string) => {
    const res = await request(t.app).get(`/fhir/${path}`).set('Accept', FHIR_JSON);
    expect({ path, status: res.status }).toEqual({ path, status: 200 });
    return res.body as Bundle;
  };
  const post = (bundle: Bundle) => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify(bundle));

  describe('every benchmark search is answered from indexes, without sorting in memory', () => {
    beforeAll(async () => {
      const pool = generatePool({ seed: 42 });
      expect((await post(toPoolBundle(pool))).status).toBe(200);
      for (const client of generateClients({ seed: 42, clients: 30, firstIndex: 0, referenceDate: '2025-06-30', pool })) {
        expect((await post(toTransactionBundle(client))).status).toBe(200);
      }
    });

    /** The benchmark's searches (bench/scenarios.ts), with targets found in the loaded data. */
    async function benchmarkPaths(): Promise<string[]> {
      const carePlan = (await get('CarePlan?_count=1')).entry?.[0]?.resource as { subject?: { reference?: string } };
      const patient = carePlan.subject?.reference?.split('/')[1] as string;
      const episode = (await get('EpisodeOfCare?_count=1')).entry?.[0]?.resource?.id as string;
      const task = (await get('Task?_count=1&owner:missing=false')).entry?.[0]?.resource as { owner?: { reference?: string } } | undefined;
      const someone = (await get('Patient?_count=1')).entry?.[0]?.resource as { id: string; identifier?: { system: string; value: string }[] };
      const identifier = someone.identifier?.find((i) => i.system === 'urn:casebridge:synthetic:client');
      const ident = encodeURIComponent(`${identifier?.system}|${identifier?.value}`);
      let deep = 'Encounter?_count=50&_sort=date';
      const deepPages: string[] = [deep];
      for (let page = 0; page < 10; page++) {
        const next = (await get(deep)).link?.find((l) => l.relation === 'next')?.url;
        if (!next) break;
        deep = next.slice(next.indexOf('/fhir/') + '/fhir/'.length);
        deepPages.push(deep);
      }
      return [
        `CarePlan?patient=${patient}&category=assess-plan&status=active&_include=CarePlan:goal&_include=CarePlan:care-team`,
        `Task?owner=${task?.owner?.reference ?? 'Organization/none'}&status=requested,accepted,in-progress`,
        'Observation?code=http://loinc.org|44261-6&date=ge2025-01-01&date=le2025-06-30',
        `Encounter?episode-of-care=EpisodeOfCare/${episode}&_sort=-date`,
        `Patient?identifier=${ident}`,
        `Observation?subject:Patient.identifier=${ident}`,
        'Patient?_has:Observation:patient:code=http://loinc.org|44261-6&_count=20',
        `CarePlan?patient=${patient}&_revinclude=Provenance:target`,
        `DocumentReference?patient=${patient}&category=clinical-note`,
        ...deepPages,
        `Patient/${someone.id}/$everything?_count=1000`,
      ];
    }

    /** Every stage of a plan, whatever the engine's nesting (classic or SBE `queryPlan`). */
    function stages(plan: unknown): string[] {
      if (plan === null || typeof plan !== 'object') return [];
      const node = plan as Document;
      return [
        ...(typeof node.stage === 'string' ? [node.stage] : []),
        ...stages(node.queryPlan),
        ...stages(node.inputStage),
        ...((node.inputStages as unknown[] | undefined) ?? []).flatMap(stages),
      ];
    }

    test('explain() of every find and count they send: no COLLSCAN, no SORT', async () => {
      const paths = await benchmarkPaths();
      const db = t.database.connection.db;
      for (const path of paths) {
        commands.length = 0;
        await get(path);
        const queries = commands.filter((c) => (c.commandName === 'find' || c.commandName === 'aggregate') && /^[A-Z]/.test(String(c.command[c.commandName])));
        expect(queries.length).toBeGreaterThan(0);
        for (const { commandName, command } of queries) {
          const collection = db.collection(String(command[commandName]));
          // The driver sends a sort as a Map: shown as an object.
          const sort = command.sort instanceof Map ? Object.fromEntries(command.sort as Map<string, unknown>) : command.sort;
          const query = commandName === 'find' ? { filter: command.filter, sort, limit: command.limit, skip: command.skip } : { pipeline: command.pipeline };
          const explained =
            commandName === 'find'
              ? await collection
                  .find((command.filter ?? {}) as Document, {
                    ...(command.sort ? { sort: command.sort as Document } : {}),
                    ...(command.limit !== undefined ? { limit: Number(command.limit) } : {}),
                    ...(Number(command.skip ?? 0) > 0 ? { skip: Number(command.skip) } : {}),
                    ...(command.projection ? { projection: command.projection as Document } : {}),
                  })
                  .explain('queryPlanner')
              : await collection.aggregate(command.pipeline as Document[]).explain('queryPlanner');
          const planner = (explained.queryPlanner ?? explained.stages?.[0]?.$cursor?.queryPlanner) as Document | undefined;
          const used = stages(planner?.winningPlan);
          const what = `${path} → ${JSON.stringify(query).slice(0, 300)}: ${used.join(' < ')}`;
          expect({ what, planned: used.length > 0 }).toEqual({ what, planned: true });
          expect({ what, collscan: used.includes('COLLSCAN'), sort: used.includes('SORT') }).toEqual({ what, collscan: false, sort: false });
        }
      }
    });
  });

  test('a transaction Bundle is one MongoDB transaction: snapshot reads, a majority commit, no journal', async () => {
    commands.length = 0;
    const res = await post({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5b0e4a3c-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', name: [{ family: 'Okafor' }] }, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Observation', status: 'final', code: { text: 'mood' }, subject: { reference: 'urn:uuid:5b0e4a3c-0000-4000-8000-000000000001' } }, request: { method: 'POST', url: 'Observation' } },
      ],
    });
    expect(res.status).toBe(200);
    const started = commands.filter((c) => c.command.startTransaction === true);
    expect(started.length).toBeGreaterThan(0);
    expect(started[0]?.command.readConcern).toMatchObject({ level: 'snapshot' });
    const commits = commands.filter((c) => c.commandName === 'commitTransaction');
    expect(commits.length).toBeGreaterThan(0);
    expect(commits[0]?.command.writeConcern).toMatchObject({ w: 'majority', j: true });
    const journalWrites = commands.filter((c) => ['insert', 'update', 'delete'].includes(c.commandName) && ['journal', 'journal_targets'].includes(String(c.command[c.commandName])));
    expect(journalWrites).toEqual([]);
  });

  test('rs.stepDown() during Bundle load: nothing acknowledged is lost, nothing partial is ever visible', async () => {
    const BUNDLES = 60;
    const PER_BUNDLE = 8;
    const system = `urn:casebridge:stepdown:${Date.now()}`;
    const bundle = (n: number): Bundle => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, resource: { resourceType: 'Patient', identifier: [{ system, value: String(n) }] }, request: { method: 'POST', url: 'Patient' } },
        ...Array.from({ length: PER_BUNDLE }, (_, i) => ({
          resource: {
            resourceType: 'Observation' as const,
            status: 'final' as const,
            identifier: [{ system, value: String(n) }],
            code: { text: `step-down ${i}` },
            subject: { reference: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}` },
          },
          request: { method: 'POST' as const, url: 'Observation' },
        })),
      ],
    });
    /** What of bundle n a reader sees: its Observations and whether its Patient is included. */
    const visible = async (n: number) => {
      const res = await request(t.app).get(`/fhir/Observation?identifier=${encodeURIComponent(`${system}|${n}`)}&_include=Observation:subject&_count=100`).set('Accept', FHIR_JSON);
      if (res.status !== 200) return undefined; // unavailable during the election: nothing shown
      const entries = (res.body as Bundle).entry ?? [];
      return { observations: entries.filter((e) => e.resource?.resourceType === 'Observation').length, patients: entries.filter((e) => e.resource?.resourceType === 'Patient').length };
    };
    const whole = { observations: PER_BUNDLE, patients: 1 };
    const none = { observations: 0, patients: 0 };

    const outcome = new Map<number, number>();
    let next = 0;
    let done = false;
    const partial: string[] = [];
    const writers = Array.from({ length: 4 }, async () => {
      for (let n = next++; n < BUNDLES; n = next++) outcome.set(n, (await post(bundle(n))).status);
    });
    const reader = (async () => {
      while (!done) {
        for (let n = 0; n < Math.min(next, BUNDLES); n++) {
          const seen = await visible(n);
          if (seen && !(seen.observations === 0 && seen.patients === 0) && !(seen.observations === PER_BUNDLE && seen.patients === 1)) partial.push(`${n}: ${JSON.stringify(seen)}`);
        }
      }
    })();
    // Step the primary down once a third of the Bundles are in.
    while (outcome.size < BUNDLES / 3) await new Promise((resolve) => setTimeout(resolve, 50));
    const admin = new MongoClient(uri, { serverSelectionTimeoutMS: 30_000 });
    try {
      await admin.db('admin').command({ replSetStepDown: 20, secondaryCatchUpPeriodSecs: 10 }).catch(() => undefined);
      await Promise.all(writers);
    } finally {
      await admin.close();
    }
    done = true;
    await reader;

    expect(partial).toEqual([]);
    for (let n = 0; n < BUNDLES; n++) {
      const status = outcome.get(n);
      const seen = await visible(n);
      expect({ n, status: [200, 503].includes(status ?? 0) }).toEqual({ n, status: true });
      // Acknowledged: all of it stands. Reported failed: none of it stands.
      expect({ n, status, seen }).toEqual({ n, status, seen: status === 200 ? whole : none });
    }
    expect([...outcome.values()].filter((s) => s === 200).length).toBeGreaterThan(BUNDLES / 2);
  });
}
