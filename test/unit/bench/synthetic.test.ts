import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Bundle, DocumentReference, Observation, QuestionnaireResponse, Resource, Task } from '@medplum/fhirtypes';
import {
  generateClient,
  generateClients,
  generatePool,
  toNdjson,
  toPoolBundle,
  toTransactionBundle,
  writeDataset,
} from '../../../bench/synthetic';
import type { ClientRecord } from '../../../bench/synthetic';
import { validateResource } from '../../../src/fhir/validation';

const OPTIONS = { seed: 42, clients: 50, referenceDate: '2025-06-30' } as const;
const REFERENCE_INSTANT = Date.parse('2025-06-30T00:00:00-07:00');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** LOINC answer list LL358-3, written out here rather than imported: the test checks the generator. */
const SCORE: Record<string, number> = { 'LA6568-5': 0, 'LA6569-3': 1, 'LA6570-1': 2, 'LA6571-9': 3 };
const INSTRUMENTS: Record<string, { total: string; items: number }> = {
  'http://casebridge.example.org/fhir/Questionnaire/phq-9|1.0.0': { total: '44261-6', items: 9 },
  'http://casebridge.example.org/fhir/Questionnaire/gad-7|1.0.0': { total: '70274-6', items: 7 },
};

/** Per-client count ranges the generator promises (README). */
const RANGES: Record<string, [number, number]> = {
  Patient: [1, 1],
  EpisodeOfCare: [1, 1],
  CareTeam: [1, 1],
  Encounter: [3, 7],
  QuestionnaireResponse: [2, 6],
  Observation: [2, 6],
  Condition: [1, 3],
  Goal: [2, 7],
  CarePlan: [1, 1],
  ServiceRequest: [1, 3],
  Task: [1, 3],
  Communication: [1, 6],
  DocumentReference: [1, 7],
  Consent: [1, 1],
  Provenance: [1, 1],
};
const TOTAL_RANGE: [number, number] = [20, 50];

// Built once and deep-frozen: the emitters must not mutate what they are given.
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
const pool = deepFreeze(generatePool({ seed: OPTIONS.seed }));
const records: readonly ClientRecord[] = deepFreeze([...generateClients(OPTIONS)]);

function serialise(recs: Iterable<ClientRecord>, seed: number): string {
  const list = [...recs];
  return JSON.stringify({ pool: toPoolBundle(generatePool({ seed })), bundles: list.map(toTransactionBundle), ndjson: toNdjson(list) });
}

/** Every `reference` string anywhere in a value. */
function references(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    value.forEach((v) => references(v, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'reference' && typeof v === 'string') out.push(v);
      else references(v, out);
    }
  }
  return out;
}

/** Every string with a time part (dateTime / instant), with its path. */
function dateTimes(value: unknown, at: string, out: { at: string; value: string }[] = []): { at: string; value: string }[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => dateTimes(v, `${at}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) dateTimes(v, `${at}.${key}`, out);
  } else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) {
    out.push({ at, value });
  }
  return out;
}

const ofType = <T extends Resource>(record: ClientRecord, type: T['resourceType']): T[] =>
  record.resources.filter((r) => r.resourceType === type) as T[];
const poolIds = new Set(pool.resources.map((r) => `${r.resourceType}/${r.id}`));

describe('determinism', () => {
  test('the same seed gives byte-identical bundles and NDJSON', () => {
    const again = generateClients(OPTIONS);
    expect(serialise(again, OPTIONS.seed)).toBe(serialise(records, OPTIONS.seed));
  });

  test('different seeds give different data and no shared ids', () => {
    const other = [...generateClients({ ...OPTIONS, seed: 43 })];
    expect(serialise(other, 43)).not.toBe(serialise(records, OPTIONS.seed));
    const ids = new Set(records.flatMap((r) => r.resources.map((x) => x.id)));
    expect(other.flatMap((r) => r.resources.map((x) => x.id)).filter((id) => ids.has(id))).toEqual([]);
    expect(generatePool({ seed: 43 }).resources.filter((r) => r.resourceType !== 'Questionnaire').map((r) => r.id)).not.toEqual(
      pool.resources.filter((r) => r.resourceType !== 'Questionnaire').map((r) => r.id),
    );
  });

  test('client i does not depend on how many clients are generated, nor on where the run starts', () => {
    expect(generateClient({ seed: 42, index: 17, referenceDate: OPTIONS.referenceDate })).toEqual(records[17]);
    const tail = [...generateClients({ ...OPTIONS, clients: 3, firstIndex: 47 })];
    expect(tail).toEqual(records.slice(47));
  });

  test('uses neither Math.random nor the clock', () => {
    const random = jest.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random called');
    });
    const now = jest.spyOn(Date, 'now').mockImplementation(() => {
      throw new Error('Date.now called');
    });
    try {
      expect([...generateClients({ ...OPTIONS, clients: 5 })]).toEqual(records.slice(0, 5));
    } finally {
      random.mockRestore();
      now.mockRestore();
    }
  });

  test('rejects a bad seed or reference date', () => {
    expect(() => generateClients({ ...OPTIONS, seed: -1 })).toThrow(RangeError);
    expect(() => generateClients({ ...OPTIONS, seed: 1.5 })).toThrow(RangeError);
    expect(() => generateClients({ ...OPTIONS, clients: -3 })).toThrow(RangeError);
    expect(() => generateClients({ ...OPTIONS, referenceDate: '2025-02-30' })).toThrow(RangeError);
    expect(() => generateClients({ ...OPTIONS, referenceDate: '2025-06-30T00:00:00Z' })).toThrow(RangeError);
    expect(() => generateClient({ seed: 42, index: 0, referenceDate: OPTIONS.referenceDate, pool: generatePool({ seed: 7 }) })).toThrow(RangeError);
  });
});

describe('validity', () => {
  test('every pool and client resource passes the validator without errors', () => {
    const failures: string[] = [];
    for (const resource of [...pool.resources, ...records.flatMap((r) => r.resources)]) {
      for (const issue of validateResource(resource)) {
        if (issue.severity === 'error' || issue.severity === 'fatal') {
          failures.push(`${resource.resourceType}/${resource.id} ${issue.expression?.[0] ?? ''}: ${issue.details?.text ?? issue.diagnostics}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  test('transaction Bundles pass the validator as Bundles', () => {
    for (const bundle of [toPoolBundle(pool), ...records.slice(0, 5).map(toTransactionBundle)]) {
      expect(validateResource(bundle).filter((i) => i.severity === 'error')).toEqual([]);
    }
  });

  test('ids are distinct version 4 UUIDs', () => {
    const ids = records.flatMap((r) => r.resources.map((x) => x.id as string));
    expect(ids.filter((id) => !UUID_V4.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('no dateTime is after the reference date, except the end of the consent period', () => {
    const late = records
      .flatMap((r) => r.resources.flatMap((x) => dateTimes(x, x.resourceType)))
      .filter((d) => d.at !== 'Consent.provision.period.end' && Date.parse(d.value) >= REFERENCE_INSTANT);
    expect(late).toEqual([]);
  });
});

describe('transaction Bundles', () => {
  test('POST every entry under a urn:uuid fullUrl, the Patient conditionally', () => {
    for (const record of records) {
      const bundle = toTransactionBundle(record);
      expect(bundle.type).toBe('transaction');
      for (const entry of bundle.entry ?? []) {
        expect(entry.fullUrl).toMatch(/^urn:uuid:/);
        expect(UUID_V4.test((entry.fullUrl as string).slice(9))).toBe(true);
        expect(entry.resource?.id).toBeUndefined();
        expect(entry.request?.method).toBe('POST');
        expect(entry.request?.url).toBe(entry.resource?.resourceType);
      }
      const patients = (bundle.entry ?? []).filter((e) => e.resource?.resourceType === 'Patient');
      expect(patients).toHaveLength(1);
      expect(patients[0]?.request?.ifNoneExist).toBe(`identifier=urn:casebridge:synthetic:client|${record.identifier.value}`);
      expect(patients[0]?.resource).toMatchObject({ identifier: [expect.objectContaining(record.identifier)] });
    }
  });

  test('every reference resolves to an entry of the Bundle or to the shared pool', () => {
    const unresolved: string[] = [];
    for (const record of records) {
      const bundle = toTransactionBundle(record);
      const fullUrls = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
      for (const ref of references(bundle)) {
        if (!fullUrls.has(ref) && !poolIds.has(ref)) unresolved.push(`${record.index}: ${ref}`);
      }
    }
    expect(unresolved).toEqual([]);
  });

  test('the pool is a transaction of PUTs at the resources’ own ids', () => {
    const bundle: Bundle = toPoolBundle(pool);
    expect(bundle.type).toBe('transaction');
    for (const entry of bundle.entry ?? []) {
      expect(entry.request).toEqual({ method: 'PUT', url: `${entry.resource?.resourceType}/${entry.resource?.id}` });
    }
    expect(references(bundle).filter((r) => !poolIds.has(r))).toEqual([]);
  });
});

describe('NDJSON', () => {
  const ndjson = toNdjson(records, { pool });
  const all = Object.entries(ndjson).flatMap(([type, text]) =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => ({ type, resource: JSON.parse(line) as Resource })),
  );

  test('one line per resource, filed under its type', () => {
    expect(all.every(({ type, resource }) => resource.resourceType === type)).toBe(true);
    expect(all).toHaveLength(pool.resources.length + records.reduce((n, r) => n + r.resources.length, 0));
    expect(Object.values(ndjson).every((text) => text.endsWith('\n'))).toBe(true);
  });

  test('every reference is Type/id of a resource in the data set', () => {
    const ids = new Set(all.map(({ resource }) => `${resource.resourceType}/${resource.id}`));
    expect(ids.size).toBe(all.length);
    expect(all.flatMap(({ resource }) => references(resource)).filter((r) => !ids.has(r))).toEqual([]);
  });
});

describe('writeDataset', () => {
  test('writes the pool, one transaction per line and NDJSON per type, as the in-memory emitters do', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'casebridge-synthetic-'));
    try {
      const summary = writeDataset({ ...OPTIONS, clients: 3, firstIndex: 10, out });
      const expected = records.slice(10, 13);
      expect(fs.readFileSync(path.join(out, 'pool.json'), 'utf8')).toBe(`${JSON.stringify(toPoolBundle(pool))}\n`);
      expect(fs.readFileSync(path.join(out, 'transactions.ndjson'), 'utf8')).toBe(expected.map((r) => `${JSON.stringify(toTransactionBundle(r))}\n`).join(''));
      const ndjson = toNdjson(expected, { pool });
      for (const [type, text] of Object.entries(ndjson)) {
        expect(fs.readFileSync(path.join(out, 'ndjson', `${type}.ndjson`), 'utf8')).toBe(text);
        expect(summary.resources[type]).toBe(text.split('\n').length - 1);
      }
      expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'))).toEqual(summary);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('instruments', () => {
  test('PHQ-9 and GAD-7 totals equal the sum of the item answers', () => {
    let checked = 0;
    for (const record of records) {
      const observations = ofType<Observation>(record, 'Observation');
      for (const response of ofType<QuestionnaireResponse>(record, 'QuestionnaireResponse')) {
        const instrument = INSTRUMENTS[response.questionnaire as string];
        expect(instrument).toBeDefined();
        const items = (response.item ?? []).filter((i) => i.linkId !== instrument?.total);
        expect(items).toHaveLength(instrument?.items ?? -1);
        const sum = items.reduce((n, i) => n + (SCORE[i.answer?.[0]?.valueCoding?.code ?? ''] ?? NaN), 0);
        const totalItem = response.item?.find((i) => i.linkId === instrument?.total);
        expect(totalItem?.answer?.[0]?.valueInteger).toBe(sum);

        const derived = observations.filter((o) => o.derivedFrom?.[0]?.reference === `QuestionnaireResponse/${response.id}`);
        expect(derived).toHaveLength(1);
        const observation = derived[0] as Observation;
        expect(observation.code.coding?.[0]).toMatchObject({ system: 'http://loinc.org', code: instrument?.total });
        expect(observation.category?.[0]?.coding?.[0]).toMatchObject({ code: 'survey' });
        expect(observation.valueQuantity?.value).toBe(sum);
        expect(observation.effectiveDateTime).toBe(response.authored);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(records.length * 2);
  });
});

describe('composition', () => {
  test('each client has a count of each resource type within the stated range', () => {
    const outside: string[] = [];
    for (const record of records) {
      const counts = new Map<string, number>();
      for (const r of record.resources) counts.set(r.resourceType, (counts.get(r.resourceType) ?? 0) + 1);
      for (const [type, [min, max]] of Object.entries(RANGES)) {
        const n = counts.get(type) ?? 0;
        if (n < min || n > max) outside.push(`client ${record.index}: ${n} ${type}`);
      }
      expect([...counts.keys()].sort()).toEqual(Object.keys(RANGES).sort());
      const total = record.resources.length;
      if (total < TOTAL_RANGE[0] || total > TOTAL_RANGE[1]) outside.push(`client ${record.index}: ${total} resources`);
      if (counts.get('Task') !== counts.get('ServiceRequest')) outside.push(`client ${record.index}: Tasks ≠ ServiceRequests`);
      if (counts.get('Observation') !== counts.get('QuestionnaireResponse')) outside.push(`client ${record.index}: Observations ≠ responses`);
    }
    expect(outside).toEqual([]);
  });

  test('Encounters belong to the EpisodeOfCare and spread over the episode in date order', () => {
    for (const record of records) {
      const [episode] = ofType(record, 'EpisodeOfCare');
      const encounters = ofType(record, 'Encounter') as { episodeOfCare?: { reference?: string }[]; period?: { start?: string } }[];
      const starts = encounters.map((e) => Date.parse(e.period?.start ?? ''));
      expect(encounters.every((e) => e.episodeOfCare?.[0]?.reference === `EpisodeOfCare/${episode?.id}`)).toBe(true);
      expect([...starts].sort((a, b) => a - b)).toEqual(starts);
      expect(new Set(encounters.map((e) => e.period?.start?.slice(0, 10))).size).toBe(encounters.length);
    }
    const spans = records.map((r) => {
      const starts = ofType(r, 'Encounter').map((e) => Date.parse((e as { period?: { start?: string } }).period?.start ?? ''));
      return (Math.max(...starts) - Math.min(...starts)) / 86_400_000;
    });
    expect(Math.max(...spans)).toBeGreaterThan(250);
    expect(Math.min(...spans)).toBeLessThan(60);
  });

  test('referral Tasks focus their ServiceRequest, are for the Patient and owned by a partner agency', () => {
    const statuses = new Set<string>();
    const partners = new Set(Object.values(pool.partners).map((o) => `Organization/${o.id}`));
    for (const record of records) {
      const requests = new Set(ofType(record, 'ServiceRequest').map((s) => `ServiceRequest/${s.id}`));
      const patient = `Patient/${record.resources[0]?.id}`;
      for (const task of ofType<Task>(record, 'Task')) {
        expect(requests.has(task.focus?.reference ?? '')).toBe(true);
        expect(task.for?.reference).toBe(patient);
        expect(partners.has(task.owner?.reference ?? '')).toBe(true);
        expect(task.code?.coding?.[0]).toMatchObject({ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' });
        statuses.add(task.status);
      }
    }
    expect([...statuses].sort()).toEqual(['accepted', 'completed', 'in-progress', 'requested']);
  });

  test('the CarePlan is an assess-plan referencing all goals, problems and referrals; Provenance targets it', () => {
    for (const record of records) {
      const [plan] = ofType(record, 'CarePlan') as { id?: string; category?: { coding?: { system?: string; code?: string }[] }[]; goal?: unknown[]; addresses?: unknown[]; activity?: unknown[] }[];
      expect(plan?.category?.[0]?.coding?.[0]).toEqual(
        expect.objectContaining({ system: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category', code: 'assess-plan' }),
      );
      expect(plan?.goal).toHaveLength(ofType(record, 'Goal').length);
      expect(plan?.addresses).toHaveLength(ofType(record, 'Condition').length);
      expect(plan?.activity).toHaveLength(ofType(record, 'ServiceRequest').length);
      const [provenance] = ofType(record, 'Provenance') as { target?: { reference?: string }[] }[];
      expect(provenance?.target).toEqual([{ reference: `CarePlan/${plan?.id}` }]);
    }
  });

  test('objectives are linked to their parent goal by the goal-relationship extension (milestone)', () => {
    let links = 0;
    for (const record of records) {
      const goals = new Set(ofType(record, 'Goal').map((g) => `Goal/${g.id}`));
      for (const goal of ofType(record, 'Goal')) {
        for (const ext of (goal as { extension?: { url: string; extension?: { url: string; valueCodeableConcept?: { coding?: { code?: string }[] }; valueReference?: { reference?: string } }[] }[] }).extension ?? []) {
          expect(ext.url).toBe('http://hl7.org/fhir/StructureDefinition/goal-relationship');
          expect(ext.extension?.find((e) => e.url === 'type')?.valueCodeableConcept?.coding?.[0]?.code).toBe('milestone');
          expect(goals.has(ext.extension?.find((e) => e.url === 'target')?.valueReference?.reference ?? '')).toBe(true);
          links++;
        }
      }
    }
    expect(links).toBeGreaterThanOrEqual(records.length);
  });

  test('42 CFR Part 2 labels appear on some clients only, on their substance use records', () => {
    const labelled = records.filter((r) => r.partTwo);
    expect(labelled.length).toBeGreaterThan(0);
    expect(labelled.length).toBeLessThan(records.length / 2);
    const hasLabel = (r: Resource): boolean => (r.meta?.security ?? []).some((s) => s.code === '42CFRPart2');
    for (const record of records) {
      const sud = ofType(record, 'Condition').filter((c) => /^F1[0-9]\./.test((c as { code?: { coding?: { code?: string }[] } }).code?.coding?.[0]?.code ?? ''));
      expect(sud.length > 0).toBe(record.partTwo);
      expect(sud.every(hasLabel)).toBe(true);
      expect(record.resources.some(hasLabel)).toBe(record.partTwo);
      expect(ofType(record, 'Patient').some(hasLabel)).toBe(false);
    }
  });

  test('case notes are base64 text/plain attachments that decode to their size', () => {
    for (const record of records) {
      for (const note of ofType<DocumentReference>(record, 'DocumentReference')) {
        const attachment = note.content[0]?.attachment;
        expect(attachment?.contentType).toMatch(/^text\/plain\b/);
        const bytes = Buffer.from(attachment?.data ?? '', 'base64');
        expect(bytes.toString('base64')).toBe(attachment?.data);
        expect(bytes.length).toBe(attachment?.size);
        expect(bytes.toString('utf8')).toContain(record.resources[0] && (record.resources[0] as { name?: { family?: string }[] }).name?.[0]?.family);
        expect(['11506-3', '28656-7', '18842-5']).toContain(note.type?.coding?.[0]?.code);
      }
    }
  });

  test('names come from several languages, accents included', () => {
    const names = records.map((r) => JSON.stringify((r.resources[0] as { name?: unknown }).name));
    expect(names.filter((n) => /[^\u0000-\u007f]/.test(n)).length).toBeGreaterThan(5);
    const languages = new Set(records.flatMap((r) => ((r.resources[0] as { communication?: { language: { coding?: { code?: string }[] } }[] }).communication ?? []).map((c) => c.language.coding?.[0]?.code)));
    expect(languages.size).toBeGreaterThanOrEqual(3);
  });
});
