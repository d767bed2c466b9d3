/**
 * Open a case (intake): the client (an existing Patient, or a new one matched by identifier as a
 * conditional create would), the case (EpisodeOfCare cb-case), its CareTeam (the case manager
 * and the team named) and the presenting problems (Conditions, in EpisodeOfCare.diagnosis).
 * See: https://hl7.org/fhir/R4/episodeofcare.html
 */
import type { CareTeam, CareTeamParticipant, Condition, EpisodeOfCare, Patient } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import type { FhirServices } from '../../core/services';
import { parseSearch } from '../../search/parse';
import type { PlannedWrite } from '../../store/repository';
import { readOrUndefined, searchAll } from '../case-record';
import { type CaseCommand, created } from '../command';
import type { IdFactory } from '../idempotency';
import { type OpenCasePayload, openCaseSchema } from '../schemas/open-case';
import { CASE_MANAGEMENT_SYSTEM, PROGRAMMES, SYSTEMS, claiming, coded, coding, ref, today } from '../vocabulary';

/** NUCC 171M00000X Case Manager/Care Coordinator: the case manager's role on the CareTeam. */
export const CASE_MANAGER_ROLE = coded(SYSTEMS.nucc, '171M00000X', 'Case Manager/Care Coordinator');

export const openCase: CaseCommand<OpenCasePayload> = {
  name: 'open-case',
  schema: openCaseSchema,
  conditions(services, payload) {
    // The criteria a conditional create by the same identifier resolves: the two cannot both create.
    return payload.client ? [clientQuery(services, payload.client.identifier)] : [];
  },
  async plan({ services, payload, ids, now }) {
    const writes: PlannedWrite[] = [];
    const clientRef = await clientReference({ services, payload, ids, writes });
    const opened = payload.opened ?? today(now);
    const caseId = ids.next('case');
    const teamId = ids.next('team');
    const status = payload.status ?? 'active';

    const conditions: (Condition & { id: string })[] = (payload.presentingProblems ?? []).map((problem, i) => ({
      resourceType: 'Condition',
      id: ids.next(`problem-${i + 1}`),
      clinicalStatus: coded(SYSTEMS.conditionClinical, 'active', 'Active'),
      category: [
        problem.category === 'problem-list-item'
          ? coded(SYSTEMS.conditionCategory, 'problem-list-item', 'Problem List Item')
          : coded(SYSTEMS.usCoreConditionCategory, 'health-concern', 'Health Concern'),
      ],
      code: { ...(problem.code ? { coding: [coding(problem.code.system, problem.code.code, problem.code.display)] } : {}), text: problem.description },
      subject: ref(clientRef),
      ...(problem.onset ? { onsetDateTime: problem.onset } : {}),
      recordedDate: opened,
      ...(payload.recordedBy ? { recorder: ref(payload.recordedBy) } : {}),
    }));

    const participants: CareTeamParticipant[] = [
      { role: [CASE_MANAGER_ROLE], member: ref(payload.caseManager), period: { start: opened } },
      ...(payload.team ?? []).map((m) => ({ role: [{ text: m.role }], member: ref(m.member), period: { start: opened } })),
    ];
    const team: CareTeam & { id: string } = {
      resourceType: 'CareTeam',
      id: teamId,
      status: 'active',
      name: 'Case-management team',
      subject: ref(clientRef),
      period: { start: opened },
      participant: participants,
      managingOrganization: [ref(payload.agency)],
    };

    const episode: EpisodeOfCare & { id: string } = {
      resourceType: 'EpisodeOfCare',
      id: caseId,
      ...claiming('cb-case'),
      status,
      statusHistory: [{ status, period: { start: opened } }],
      type: [coded(CASE_MANAGEMENT_SYSTEM, 'case-management', 'Case management'), ...(payload.programme ? [coded(CASE_MANAGEMENT_SYSTEM, payload.programme, PROGRAMMES[payload.programme])] : [])],
      ...(conditions.length > 0
        ? { diagnosis: conditions.map((c, i) => ({ condition: ref(`Condition/${c.id}`), role: coded(SYSTEMS.diagnosisRole, 'CC', 'Chief complaint'), rank: i + 1 })) }
        : {}),
      patient: ref(clientRef),
      managingOrganization: ref(payload.agency),
      period: { start: opened },
      careManager: ref(payload.caseManager),
      team: [ref(`CareTeam/${teamId}`)],
    };
    writes.push(created(episode), created(team), ...conditions.map(created));
    return { caseId, writes };
  },
};

function clientQuery(services: FhirServices, identifier: { system: string; value: string }) {
  return parseSearch('Patient', { identifier: `${escape(identifier.system)}|${escape(identifier.value)}` }, services.registry, {
    strict: true,
    defaultCount: 2,
    maxCount: 2,
    baseUrl: services.settings.baseUrl,
  });
}

/** Search values escape `\`, `,`, `$` and `|`. See: https://hl7.org/fhir/R4/search.html#escaping */
const escape = (value: string) => value.replace(/[\\,$|]/g, (c) => `\\${c}`);

/** `Patient/<id>` of the client: read (404), matched by identifier, or created (added to `writes`). */
async function clientReference(args: {
  services: FhirServices;
  payload: OpenCasePayload;
  ids: IdFactory;
  writes: PlannedWrite[];
}): Promise<string> {
  const { services, payload, ids, writes } = args;
  if (payload.clientId !== undefined) {
    if (!(await readOrUndefined(services, 'Patient', payload.clientId))) {
      throw new FhirError('NOT_FOUND', `There is no client ${payload.clientId} (Patient/${payload.clientId})`, { expression: ['clientId'] });
    }
    return `Patient/${payload.clientId}`;
  }
  const client = payload.client as NonNullable<OpenCasePayload['client']>;
  const { identifier } = client;
  const found = await searchAll(services, 'Patient', { identifier: `${escape(identifier.system)}|${escape(identifier.value)}` });
  if (found.matches.length > 1) {
    throw new FhirError('CONFLICT', `${found.matches.length} clients have the identifier ${identifier.system}|${identifier.value}: name one by clientId`, {
      expression: ['client.identifier'],
    });
  }
  const [match] = found.matches;
  if (match) return `Patient/${match.id}`;
  const patient: Patient & { id: string } = {
    resourceType: 'Patient',
    id: ids.next('client'),
    ...claiming('cb-client'),
    identifier: [{ system: identifier.system, value: identifier.value }],
    active: true,
    name: [{ ...(client.name.text ? { text: client.name.text } : {}), ...(client.name.family ? { family: client.name.family } : {}), ...(client.name.given ? { given: client.name.given } : {}) }],
    gender: client.gender,
    ...(client.birthDate ? { birthDate: client.birthDate } : {}),
    ...(client.phone ? { telecom: [{ system: 'phone', value: client.phone }] } : {}),
  };
  writes.push(created(patient));
  return `Patient/${patient.id}`;
}
