/**
 * The case API in the audit's terms (audit/audit-event.ts):
 *  - a command is executed (action E), coded as its Provenance's activity is (CodeSystem
 *    case-management); it names every resource it wrote with the version written, its Provenance,
 *    and the patients whose record it wrote to; a refused one names the case it was about;
 *  - a case view is a read of the case (EpisodeOfCare) and names its client;
 *  - a case list (a client's cases, a caseload) is a search (BALP Query) naming every client listed.
 * Who called, when, the outcome and any disclosure are added by the HTTP adapter (http/audit.ts).
 */
import { type AuditFacts, restfulInteraction } from '../audit/audit-event';
import { COMMANDS, type CommandName, type CommandResult } from './command';
import { CASE_MANAGEMENT_SYSTEM } from './vocabulary';

type Answer<T> = { readonly value: T } | { readonly failure: unknown };

export function commandAudit(command: CommandName, params: Readonly<Record<string, string>>, answer: Answer<CommandResult>): AuditFacts {
  const subtype = { system: CASE_MANAGEMENT_SYSTEM, code: command, display: COMMANDS[command] };
  if ('failure' in answer) {
    const about = [...(params.caseId !== undefined ? [`EpisodeOfCare/${params.caseId}`] : []), ...(params.requestId !== undefined ? [`Task/${params.requestId}`] : [])];
    return { subtype, action: 'E', entities: about.map((reference) => ({ reference })) };
  }
  const { receipt, patients } = answer.value;
  return {
    subtype,
    action: 'E',
    patients,
    entities: [
      ...receipt.written.map((w) => ({ reference: w.reference, ...(w.versionId ? { versionId: w.versionId } : {}) })),
      { reference: receipt.provenance, versionId: '1' },
    ],
  };
}

export function caseViewAudit(caseId: string, answer: Answer<{ readonly fhir: { readonly client: string } }>): AuditFacts {
  const client = 'value' in answer ? answer.value.fhir.client : '';
  return {
    subtype: restfulInteraction('read'),
    action: 'R',
    entities: [{ reference: `EpisodeOfCare/${caseId}` }],
    patients: client.startsWith('Patient/') ? [client] : [],
  };
}

/**
 * `request`: the request line as received (`GET /cm/v1/cases?caseManager=…`). The patients are
 * the clients of the cases listed (a caseload discloses each of them); a refused list names the
 * client asked for, if any.
 */
export function caseListAudit(client: string | undefined, request: string, answer?: Answer<{ readonly cases: readonly { readonly client: { readonly id?: string | undefined } }[] }>): AuditFacts {
  const asked = client?.replace(/^Patient\//, '');
  const listed = answer && 'value' in answer ? answer.value.cases.map((c) => c.client.id).filter((id): id is string => id !== undefined) : [];
  const ids = [...new Set([...(asked !== undefined && /^[A-Za-z0-9\-.]{1,64}$/.test(asked) ? [asked] : []), ...listed])];
  return {
    subtype: restfulInteraction('search-type'),
    action: 'E',
    patients: ids.map((id) => `Patient/${id}`),
    query: request,
  };
}

/** A CSV report: a search (BALP Query) naming every client whose cases it counts. */
export function reportAudit(request: string, answer: Answer<{ readonly patients: readonly string[] }>): AuditFacts {
  return {
    subtype: restfulInteraction('search-type'),
    action: 'E',
    patients: 'value' in answer ? [...answer.value.patients] : [],
    query: request,
  };
}

/** The documentation requests waiting for review: a search (BALP Query) naming every client listed. */
export function documentationRequestsAudit(request: string, answer: Answer<{ readonly requests: readonly { readonly id: string; readonly client: { readonly id: string } }[] }>): AuditFacts {
  const clients = 'value' in answer ? [...new Set(answer.value.requests.map((r) => r.client.id).filter((id) => /^[A-Za-z0-9\-.]{1,64}$/.test(id)))] : [];
  return {
    subtype: restfulInteraction('search-type'),
    action: 'E',
    patients: clients.map((id) => `Patient/${id}`),
    entities: 'value' in answer ? answer.value.requests.map((r) => ({ reference: `Task/${r.id}` })) : [],
    query: request,
  };
}
