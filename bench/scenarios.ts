/**
 * What the benchmark measures: the FHIR interactions and the search shapes a case-management
 * integration really sends (issue 4), each as autocannon requests over a fixed duration.
 */
import type autocannon from 'autocannon';
import type { Bundle } from '@medplum/fhirtypes';
import { fhirGet, ids } from './dataset';

export type Limit = 'read' | 'insert' | 'update' | 'search';

export interface Scenario {
  readonly name: string;
  /** Which storage limit the scenario is compared with (none for composite work like $everything). */
  readonly limit?: Limit;
  readonly requests: autocannon.Request[];
  /** For a search: the query (the storage limit runs its translated filter with the raw driver). */
  readonly query?: { resourceType: string; params: Record<string, string[]> };
  /** Resources per response, to report resources per second (e.g. $everything). */
  readonly resourcesPerResponse?: number;
  /** Overrides the run's connection count (a single client streaming $everything). */
  readonly connections?: number;
}

const JSON_HEADERS = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };

/** Targets found in the loaded data. */
export interface Targets {
  readonly patients: readonly string[];
  readonly goals: readonly string[];
  readonly carePlanPatient: string;
  readonly episode: string;
  readonly partner: string;
  readonly identifier: string;
  readonly deepPage: string;
  readonly everythingPatient: string;
  readonly everythingSize: number;
  /** The patient the write scenarios add Observations to (not the $everything one). */
  readonly writePatient: string;
}

export async function findTargets(base: string, partnerId: string): Promise<Targets> {
  const patients = await ids(base, 'Patient', 500);
  // Goals without security labels: the update bodies carry no meta, and CaseBridge refuses an
  // update that would strip a 42 CFR Part 2 label (403), which is not what this scenario measures.
  const goalBundle = await fhirGet(`${base}/Goal?_count=1000`);
  const goals = (goalBundle.entry ?? [])
    .map((e) => e.resource as { id?: string; meta?: { security?: unknown[] } } | undefined)
    .filter((g) => g?.id !== undefined && (g.meta?.security ?? []).length === 0)
    .map((g) => g?.id as string)
    .slice(0, 500);
  const carePlan = (await fhirGet(`${base}/CarePlan?_count=1`)).entry?.[0]?.resource as { subject?: { reference?: string } } | undefined;
  const episode = (await ids(base, 'EpisodeOfCare', 1))[0] as string;
  const identifierPatient = (await fhirGet(`${base}/Patient?_count=1`)).entry?.[0]?.resource as { identifier?: { system: string; value: string }[] };
  const identifier = identifierPatient.identifier?.find((i) => i.system === 'urn:casebridge:synthetic:client');
  const everythingPatient = patients[0] as string;
  const everything = await fhirGet(`${base}/Patient/${everythingPatient}/$everything?_count=1000`);
  return {
    patients,
    goals,
    carePlanPatient: carePlan?.subject?.reference?.split('/')[1] as string,
    episode,
    partner: partnerId,
    identifier: `${identifier?.system}|${identifier?.value}`,
    deepPage: await deepPageUrl(base),
    everythingPatient,
    everythingSize: everything.entry?.length ?? 0,
    writePatient: patients[patients.length - 1] as string,
  };
}

/**
 * The `next` link ten pages into the Encounters (keyset continuation: cost independent of
 * depth), or the last full page when there are fewer: every size then reads a page of 50 (at 100
 * clients the tenth page was empty, which compared an empty answer with a full one).
 */
async function deepPageUrl(base: string): Promise<string> {
  const PAGE = 50;
  let url = `${base}/Encounter?_count=${PAGE}&_sort=date`;
  let lastFull: string | undefined;
  for (let page = 1; page <= 10; page++) {
    const bundle: Bundle = await fhirGet(url);
    if ((bundle.entry?.length ?? 0) < PAGE) break;
    lastFull = url;
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (page === 10 || !next) break;
    url = next;
  }
  return (lastFull ?? url).replace(base, '');
}

function rotating(paths: readonly string[], method = 'GET'): autocannon.Request[] {
  let i = 0;
  return [{ method, setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] as string, headers: JSON_HEADERS }) }];
}

// Written Observations go to one patient under a code no search scenario asks for, and the write
// scenarios run last: what they add must not change what the read and search scenarios measure.
const observation = (patient: string) =>
  JSON.stringify({
    resourceType: 'Observation',
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: '2025-06-30T10:00:00-07:00',
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  });

/** 20 requests in the proportions of the CRUD mix, interleaved. */
function crudCycle(): ('create' | 'read' | 'update' | 'delete')[] {
  return ['create', 'read', 'read', 'update', 'read', 'read', 'read', 'update', 'read', 'delete', 'create', 'read', 'read', 'update', 'read', 'read', 'update', 'read', 'read', 'update'];
}

export function scenarios(prefix: string, t: Targets): Scenario[] {
  const search = (name: string, resourceType: string, params: Record<string, string[]>): Scenario => {
    const pairs: [string, string][] = Object.entries(params).flatMap(([k, vs]) => vs.map((v): [string, string] => [k, v]));
    const query = new URLSearchParams(pairs).toString();
    return { name, limit: 'search', requests: rotating([`${prefix}/${resourceType}?${query}`]), query: { resourceType, params } };
  };
  const versions = new Map<string, number>();
  let updateIndex = 0;
  let mixIndex = 0;
  const created: string[] = [];
  const goalBody = (id: string) => JSON.stringify({ resourceType: 'Goal', id, lifecycleStatus: 'active', description: { text: `Objective ${id.slice(0, 6)}` }, subject: { reference: `Patient/${t.patients[0]}` } });
  return [
    { name: 'read Patient by id', limit: 'read', requests: rotating(t.patients.map((id) => `${prefix}/Patient/${id}`)) },
    { name: 'vread Patient', limit: 'read', requests: rotating(t.patients.map((id) => `${prefix}/Patient/${id}/_history/1`)) },
    search('search: care plans of a patient + goals + care team', 'CarePlan', {
      patient: [t.carePlanPatient],
      category: ['assess-plan'],
      status: ['active'],
      _include: ['CarePlan:goal', 'CarePlan:care-team'],
    }),
    search('search: active referrals owned by an organisation', 'Task', { owner: [`Organization/${t.partner}`], status: ['requested,accepted,in-progress'] }),
    search('search: PHQ-9 totals in a date range', 'Observation', { code: ['http://loinc.org|44261-6'], date: ['ge2025-01-01', 'le2025-06-30'] }),
    search('search: encounters of an episode, by date', 'Encounter', { 'episode-of-care': [`EpisodeOfCare/${t.episode}`], _sort: ['-date'] }),
    search('search: patient by identifier', 'Patient', { identifier: [t.identifier] }),
    search('search: chained Patient.identifier', 'Observation', { 'subject:Patient.identifier': [t.identifier] }),
    search('search: _has (patients with a PHQ-9 in 2025)', 'Patient', { '_has:Observation:patient:code': ['http://loinc.org|44261-6'], _count: ['20'] }),
    search('search: care plan + _revinclude Provenance', 'CarePlan', { patient: [t.carePlanPatient], _revinclude: ['Provenance:target'] }),
    search('search: case notes of a patient (US Core)', 'DocumentReference', { patient: [t.carePlanPatient], category: ['clinical-note'] }),
    { name: 'search: paging 10 pages deep (50 per page)', limit: 'search', requests: rotating([`${prefix}${t.deepPage}`]) },
    {
      name: 'Patient/$everything',
      requests: rotating([`${prefix}/Patient/${t.everythingPatient}/$everything?_count=1000`]),
      resourcesPerResponse: t.everythingSize,
      connections: 1,
    },
    {
      name: 'create Observation',
      limit: 'insert',
      requests: [{ method: 'POST', path: `${prefix}/Observation`, headers: { ...JSON_HEADERS, prefer: 'return=minimal' }, body: observation(t.writePatient) }],
    },
    {
      name: 'update Goal with If-Match',
      limit: 'update',
      requests: [
        {
          method: 'PUT',
          setupRequest: (req, context) => {
            const id = t.goals[updateIndex++ % t.goals.length] as string;
            context.id = id;
            return { ...req, path: `${prefix}/Goal/${id}`, headers: { ...JSON_HEADERS, prefer: 'return=minimal', 'if-match': `W/"${versions.get(id) ?? 1}"` }, body: goalBody(id) };
          },
          // Each success makes the next version; counting them keeps If-Match current. A 412 (a
          // response lost when a run stopped) names the current version: take it from there.
          onResponse: (status, body, context) => {
            const id = context.id as string;
            if (status === 200) versions.set(id, (versions.get(id) ?? 1) + 1);
            const current = status === 412 ? /current version is (\d+)/.exec(body)?.[1] : undefined;
            if (current) versions.set(id, Number(current));
          },
        },
      ],
    },
    {
      name: 'CRUD mix (10 create / 60 read / 25 update / 5 delete)',
      limit: 'read',
      // autocannon sends a connection's requests in this order, round and round: per 20
      // requests 2 creates, 12 reads, 5 updates (no If-Match) and 1 delete of an earlier create.
      requests: [
        ...crudCycle().map((kind): autocannon.Request => {
          switch (kind) {
            case 'create':
              return {
                method: 'POST',
                path: `${prefix}/Observation`,
                headers: JSON_HEADERS,
                body: observation(t.writePatient),
                onResponse: (status, body) => {
                  if (status === 201) created.push((JSON.parse(body) as { id: string }).id);
                },
              };
            case 'read':
              return { method: 'GET', setupRequest: (req) => ({ ...req, path: `${prefix}/Patient/${t.patients[mixIndex++ % t.patients.length]}`, headers: JSON_HEADERS }) };
            case 'update':
              return {
                method: 'PUT',
                setupRequest: (req) => {
                  const id = t.goals[mixIndex++ % t.goals.length] as string;
                  return { ...req, path: `${prefix}/Goal/${id}`, headers: { ...JSON_HEADERS, prefer: 'return=minimal' }, body: goalBody(id) };
                },
              };
            case 'delete':
              return {
                method: 'DELETE',
                setupRequest: (req) => ({ ...req, path: `${prefix}/Observation/${created.shift() ?? 'none-yet'}`, headers: JSON_HEADERS }),
              };
          }
        }),
      ],
    },
  ];
}
