/**
 * AuditEvents in the shape of IHE Basic Audit Log Patterns (BALP), built from a small record of
 * what happened: who (the client, the organisation it acts for, its role and purposes of use),
 * what (the interaction, the resources touched with their versions, the query), which patients,
 * the outcome, and what of it was disclosed outside the organisation that owns it. Pure: no
 * clock, no ids, no I/O — audit-log.ts writes what this builds.
 *
 * See: https://hl7.org/fhir/R4/auditevent.html (outcome codes 0/4/8/12, action C/R/U/D/E),
 * https://profiles.ihe.net/ITI/BALP/ (Read, Query, Create/Update/Delete, PatientQuery: the agent,
 * entity and purposeOfEvent patterns; PrivacyDisclosure.Source: disclosures).
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, CodeableConcept, Coding } from '@medplum/fhirtypes';
import { ACT_REASON } from '../auth/labels';
import { toFhirError } from '../fhir/outcomes';
import type { Disclosure } from '../store/repository';

/** C create, R read, U update, D delete, E execute (searches, Bundles, operations, commands). */
export type AuditAction = NonNullable<AuditEvent['action']>;
/** 0 success, 4 minor failure (4xx), 8 serious failure (5xx), 12 major failure (the service unavailable). */
export type AuditOutcome = NonNullable<AuditEvent['outcome']>;

export const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
export const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
export const DICOM = 'http://dicom.nema.org/resources/ontology/DCM';
export const LIFECYCLE = 'http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle';
export const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
export const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
/** BALP's entity type for the X-Request-Id. See: https://profiles.ihe.net/ITI/BALP/CodeSystem-BasicAuditEntityType.html */
export const BALP_ENTITY_TYPE = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';
/** The client's identifier, as the Provenance of a case command names it (casemgmt/command.ts). */
export const CALLER_SYSTEM = 'http://casebridge.org/fhir/sid/caller';
/** The kind of client (auth/caller.ts Role), as agent.role. */
export const CLIENT_ROLE_SYSTEM = 'http://casebridge.org/fhir/CodeSystem/client-role';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const NETWORK_URI = '5';
const URI = 'urn:ietf:rfc:3986';

const REST: Coding = { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'Restful Operation' };
const USER_AUTHENTICATED: Coding = { system: DICOM, code: '110114', display: 'User Authenticated' };
const EXPORT: Coding = { system: DICOM, code: '110106', display: 'Export' };
const IMPORT: Coding = { system: DICOM, code: '110107', display: 'Import' };
const EVENT_TYPES: Record<AuditRecord['type'], Coding> = { rest: REST, login: USER_AUTHENTICATED, export: EXPORT, import: IMPORT };
export const LOGIN: Coding = { system: DICOM, code: '110122', display: 'Login' };
export const DISCLOSE: Coding = { system: LIFECYCLE, code: 'disclose', display: 'Disclose Record Lifecycle Event' };

/** The caller as the audit names it (auth/caller.ts Caller, read by the http and rest layers). */
export interface AuditedCaller {
  /** The client id (`anonymous` for a request with no valid token). */
  readonly id: string;
  readonly display: string;
  /** The organisation it acts for, `Organization/<id>`. */
  readonly organization?: string;
  readonly role?: string;
  /** Purposes of use in force (v3 ActReason codes). */
  readonly purposes: readonly string[];
  /** The access token's id (jti): BALP records it as the client agent's policy. */
  readonly tokenId?: string;
}

/** A resource the event touched. */
export interface AuditedEntity {
  /** `Type/id`. */
  readonly reference: string;
  readonly versionId?: string;
  /** Set when it was shown outside the organisation that owns it under a sensitive label (labels as `system|code`). */
  readonly disclosed?: { readonly labels: readonly string[]; readonly custodian?: string };
}

export interface AuditRecord {
  /**
   * `rest`: an interaction of the FHIR or case API (or a request refused before it reached one);
   * `login`: an authentication; `export` / `import`: CaseBridge sending data to another system
   * (a subscription notification, a referral sent to a partner, an attachment pushed to a payer)
   * or fetching it from one (a partner's referral and its outcome) — DICOM 110106 / 110107.
   */
  readonly type: 'rest' | 'login' | 'export' | 'import';
  /** For `export` and `import`: the other system's URL (the destination, or the source). */
  readonly remote?: string;
  /** What exactly: a restful-interaction code, a case command; absent when the request never reached one. */
  readonly subtype?: Coding;
  readonly action: AuditAction;
  readonly outcome: { readonly code: AuditOutcome; readonly description?: string };
  readonly recorded: Date;
  readonly caller: AuditedCaller;
  /** The request id (X-Request-Id): ties the event to the request's log lines. */
  readonly requestId: string;
  /** `Patient/<id>` of the patients the event is about. */
  readonly patients?: readonly string[];
  readonly entities?: readonly AuditedEntity[];
  /** The request as received (`GET [base]/Observation?patient=…`): BALP's Query entity. */
  readonly query?: string;
}

/** What one call did, as the code that served it knows it; who called, when, the outcome and what the store disclosed are added around it. */
export type AuditFacts = Pick<AuditRecord, 'subtype' | 'action' | 'entities' | 'patients' | 'query'>;

/** The server that records: CaseBridge at its public base URL. */
export interface AuditSource {
  readonly baseUrl: string;
}

/** The event for `record`, without an id (the audit log assigns it). */
export function auditEvent(record: AuditRecord, source: AuditSource): AuditEvent {
  const entities = record.entities ?? [];
  const disclosed = entities.some((e) => e.disclosed !== undefined);
  const subtype = [...(record.subtype ? [record.subtype] : []), ...(disclosed ? [DISCLOSE] : [])];
  const purposes = record.caller.purposes.map(purpose);
  return {
    resourceType: 'AuditEvent',
    type: EVENT_TYPES[record.type],
    ...(subtype.length > 0 ? { subtype } : {}),
    action: record.action,
    recorded: record.recorded.toISOString(),
    outcome: record.outcome.code,
    ...(record.outcome.description ? { outcomeDesc: record.outcome.description } : {}),
    ...(purposes.length > 0 ? { purposeOfEvent: purposes } : {}),
    agent: [...callerAgents(record.caller, purposes), ...(record.remote !== undefined ? transferAgents(record.type, record.remote, source) : [serverAgent(source)]), ...custodianAgents(entities)],
    source: {
      site: siteOf(source.baseUrl),
      observer: server(source),
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
    entity: [
      // BALP entity[transaction]: the X-Request-Id, so the event and the request's log lines meet.
      { type: { system: BALP_ENTITY_TYPE, code: 'XrequestId' }, what: { identifier: { value: record.requestId } } },
      ...unique(record.patients ?? []).map(patientEntity),
      ...mergeEntities(entities).map(dataEntity),
      ...(record.query !== undefined ? [queryEntity(record.query)] : []),
    ],
  };
}

/** The outcome of an answer with `status`. */
export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return '0';
  if (status < 500) return '4';
  return status === 503 ? '12' : '8';
}

/** The outcome of a failure: its status's code and its message (an unknown error says no more than its 500 does). */
export function failureOutcome(err: unknown): AuditRecord['outcome'] {
  const error = toFhirError(err);
  return { code: outcomeOf(error.status), description: error.message };
}

/** What the store reported disclosed (store/repository.ts Disclosure), as entities and their patients. */
export function disclosedEntities(disclosures: readonly Disclosure[]): { entities: AuditedEntity[]; patients: string[] } {
  return {
    entities: disclosures.map((d) => ({
      reference: d.reference,
      ...(d.versionId !== undefined ? { versionId: d.versionId } : {}),
      disclosed: { labels: d.labels, ...(d.custodian !== undefined ? { custodian: d.custodian } : {}) },
    })),
    patients: disclosures.flatMap((d) => d.patients),
  };
}

/** A restful-interaction code as an event subtype. See: https://hl7.org/fhir/R4/codesystem-restful-interaction.html */
export function restfulInteraction(code: string): Coding {
  return { system: RESTFUL_INTERACTION, code, display: code };
}

/** What an interaction of the FHIR RESTful API does, as AuditEvent.action (BALP: reads R, queries E). */
export function actionOf(interaction: string): AuditAction {
  switch (interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
    case 'history-type':
    case 'history-system':
    case 'capabilities':
      return 'R';
    case 'create':
      return 'C';
    case 'update':
    case 'patch':
      return 'U';
    case 'delete':
      return 'D';
    default:
      return 'E';
  }
}

/**
 * The client, requestor (BALP: Source Role ID, and the OAuth client as Application, its token id
 * as policy), and the organisation it acts for — the party responsible for what the client does.
 */
function callerAgents(caller: AuditedCaller, purposes: readonly CodeableConcept[]): AuditEventAgent[] {
  const client: AuditEventAgent = {
    type: {
      coding: [
        { system: DICOM, code: '110153', display: 'Source Role ID' },
        { system: DICOM, code: '110150', display: 'Application' },
      ],
    },
    ...(caller.role ? { role: [{ coding: [{ system: CLIENT_ROLE_SYSTEM, code: caller.role }] }] } : {}),
    who: { identifier: { system: CALLER_SYSTEM, value: caller.id }, display: caller.display },
    name: caller.display,
    requestor: true,
    ...(caller.tokenId ? { policy: [caller.tokenId] } : {}),
    ...(purposes.length > 0 ? { purposeOfUse: [...purposes] } : {}),
  };
  if (!caller.organization) return [client];
  return [
    client,
    {
      type: { coding: [{ system: PARTICIPATION, code: 'RESP', display: 'responsible party' }] },
      who: { reference: caller.organization },
      requestor: false,
    },
  ];
}

/** BALP: the server as Destination Role ID, at its base URL. */
function serverAgent(source: AuditSource): AuditEventAgent {
  return {
    type: { coding: [{ system: DICOM, code: '110152', display: 'Destination Role ID' }] },
    who: server(source),
    requestor: false,
    network: { address: source.baseUrl, type: NETWORK_URI },
  };
}

/** An export or import: CaseBridge is the source (export) or the destination (import), the other system the other end. */
function transferAgents(type: AuditRecord['type'], remote: string, source: AuditSource): AuditEventAgent[] {
  const sourceRole = { system: DICOM, code: '110153', display: 'Source Role ID' };
  const destinationRole = { system: DICOM, code: '110152', display: 'Destination Role ID' };
  const exporting = type === 'export';
  return [
    { type: { coding: [exporting ? sourceRole : destinationRole] }, who: server(source), requestor: false, network: { address: source.baseUrl, type: NETWORK_URI } },
    { type: { coding: [exporting ? destinationRole : sourceRole] }, who: { identifier: { system: URI, value: remote } }, requestor: false, network: { address: remote, type: NETWORK_URI } },
  ];
}

/** BALP PrivacyDisclosure.Source: the organisation whose records were disclosed is their custodian. */
function custodianAgents(entities: readonly AuditedEntity[]): AuditEventAgent[] {
  const custodians = unique(entities.flatMap((e) => (e.disclosed?.custodian ? [e.disclosed.custodian] : [])));
  return custodians.map((reference) => ({
    type: { coding: [{ system: 'http://snomed.info/sct', code: '159541003', display: 'Record keeping/library clerk' }] },
    who: { reference },
    requestor: false,
  }));
}

function server(source: AuditSource) {
  return { identifier: { system: URI, value: source.baseUrl }, display: 'CaseBridge' };
}

function siteOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).host;
  } catch {
    return baseUrl;
  }
}

function purpose(code: string): CodeableConcept {
  return { coding: [{ system: ACT_REASON, code }] };
}

function patientEntity(reference: string): AuditEventEntity {
  return {
    what: { reference },
    type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
    role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
  };
}

function dataEntity(entity: AuditedEntity): AuditEventEntity {
  const { disclosed } = entity;
  return {
    what: { reference: entity.versionId !== undefined ? `${entity.reference}/_history/${entity.versionId}` : entity.reference },
    type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
    role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    ...(disclosed ? { lifecycle: DISCLOSE, securityLabel: disclosed.labels.map(labelCoding) } : {}),
  };
}

/** BALP Query: the request base64 in entity.query (exactly as asked), readable in description. */
function queryEntity(query: string): AuditEventEntity {
  return {
    type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
    role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
    description: query,
    query: Buffer.from(query, 'utf8').toString('base64'),
  };
}

/** One entity per resource version; a disclosure marks the entity it concerns. */
function mergeEntities(entities: readonly AuditedEntity[]): AuditedEntity[] {
  const merged = new Map<string, AuditedEntity>();
  for (const entity of entities) {
    const key = `${entity.reference}|${entity.versionId ?? ''}`;
    const seen = merged.get(key);
    merged.set(key, seen ? { ...seen, ...(entity.disclosed ? { disclosed: entity.disclosed } : {}) } : entity);
  }
  return [...merged.values()];
}

function labelCoding(label: string): Coding {
  const at = label.lastIndexOf('|');
  return { system: label.slice(0, at), code: label.slice(at + 1) };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
