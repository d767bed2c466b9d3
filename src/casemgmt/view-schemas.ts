/**
 * The JSON Schemas of what the case API answers (the case view, its parts), for the OpenAPI
 * document: closed objects (additionalProperties false), so a generated client gets a full model
 * and a test that validates real answers against them (test/integration/casemgmt/
 * case-api-openapi-responses.test.ts) fails when the view and its schema drift apart.
 */
import type { JsonSchema } from './schemas/common';

const str: JsonSchema = { type: 'string' };
const int: JsonSchema = { type: 'integer' };
const num: JsonSchema = { type: 'number' };
const bool: JsonSchema = { type: 'boolean' };
const strings: JsonSchema = { type: 'array', items: str };
const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });
const closed = (properties: Record<string, JsonSchema>, required: readonly string[] = [], description?: string): JsonSchema => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
  ...(required.length > 0 ? { required: [...required] } : {}),
  additionalProperties: false,
});
const list = (items: JsonSchema, description?: string): JsonSchema => ({ type: 'array', items, ...(description ? { description } : {}) });

const PERIOD = closed({ start: str, end: str }, [], 'FHIR Period');

const INTERVENTION = closed({ id: str, service: str, provider: str, frequency: str, status: str }, ['id', 'status']);

const PROGRESS = closed({ id: str, date: str, value: num, unit: str, text: str, note: str }, ['id']);

const OBJECTIVE = closed(
  {
    id: str,
    description: str,
    measure: str,
    target: { anyOf: [closed({ value: num, unit: str, comparator: { enum: ['<', '<=', '>=', '>'] } }, ['comparator']), closed({ text: str })] },
    due: str,
    lifecycleStatus: str,
    achievementStatus: str,
    statusDate: str,
    progress: list(PROGRESS, 'Measurements, oldest first'),
  },
  ['id', 'target', 'lifecycleStatus', 'progress'],
);

const GOAL = closed(
  { id: str, description: str, priority: str, lifecycleStatus: str, achievementStatus: str, statusDate: str, objectives: list(OBJECTIVE), interventions: list(INTERVENTION) },
  ['id', 'lifecycleStatus', 'objectives', 'interventions'],
);

const PLAN = closed(
  { id: str, title: str, status: str, period: PERIOD, created: str, replaces: strings, goals: list(GOAL), otherInterventions: list(INTERVENTION) },
  ['id', 'status', 'goals', 'otherInterventions'],
  'The plan in force: the active (or paused) one; after closure, the last one',
);

const PLAN_SUMMARY = closed({ id: str, status: str, title: str, period: PERIOD, created: str, replaces: strings, description: str, goals: strings }, ['id', 'status', 'goals']);

const REFERRAL = closed(
  {
    id: str,
    service: str,
    to: str,
    reason: str,
    priority: str,
    authored: str,
    status: str,
    task: nullable(closed({ id: str, status: str, reason: str, owner: str, lastModified: str }, ['id', 'status'])),
  },
  ['id', 'status', 'task'],
);

const NOTE_FIELDS = { id: str, type: str, written: str, author: str, title: str, text: str };
const NOTE = closed(NOTE_FIELDS, ['id']);

const TIMELINE_ENTRY: JsonSchema = {
  description: 'One entry of the timeline, by kind',
  oneOf: [
    closed(
      { date: str, kind: { const: 'contact' }, id: str, type: str, service: str, minutes: num, appointment: str, setting: str, end: str, location: str, participants: strings, notes: list(NOTE) },
      ['kind', 'id', 'participants', 'notes'],
    ),
    closed({ date: str, kind: { enum: ['note', 'event', 'transition-summary'] }, category: str, ...NOTE_FIELDS }, ['kind', 'id']),
    closed({ date: str, kind: { const: 'screening' }, id: str, instrument: str }, ['kind', 'id']),
    closed({ date: str, kind: { const: 'referral' }, id: str, service: str, to: str }, ['kind', 'id']),
    closed({ date: str, kind: { const: 'progress' }, id: str, objective: str, value: num, text: str }, ['kind', 'id']),
  ],
};

const SCREENING = closed({ id: str, instrument: str, authored: str, status: str, score: int, band: str, scoreObservation: str }, ['id', 'status']);

const RISK_ENTRY_FIELDS = { id: str, level: str, assessed: str, method: str, source: { enum: ['judgement', 'score'] }, rationale: str };
const RISK_ENTRY = closed(RISK_ENTRY_FIELDS, ['id', 'source']);
const RISK = closed(
  { ...RISK_ENTRY_FIELDS, reviewNeeded: bool, judgement: RISK_ENTRY, newerScores: list(RISK_ENTRY), history: list(RISK_ENTRY) },
  ['id', 'source', 'reviewNeeded', 'newerScores', 'history'],
  'The current risk: the case manager’s latest judgement, raised (never lowered) by a newer score',
);

const FLAG = closed(
  {
    id: str,
    status: str,
    alert: str,
    category: str,
    since: str,
    until: str,
    lastReview: closed({ date: str, decision: { enum: ['keep', 'resolve'] }, reason: str, by: str, note: str }, ['decision', 'note']),
  },
  ['id', 'status'],
);

const CONSENT = closed(
  { id: str, status: str, category: str, date: str, expires: str, recipients: strings, purposes: strings, policy: str, securityLabels: strings },
  ['id', 'status', 'recipients', 'purposes'],
);

const APPOINTMENT = closed(
  { id: str, status: str, start: str, end: str, type: str, service: str, with: strings, description: str, cancellation: str, comment: str },
  ['id', 'status', 'with'],
);

const MESSAGE = closed(
  { id: str, status: str, sent: str, received: str, from: str, to: strings, text: str, attachments: strings, about: strings },
  ['id', 'status', 'to', 'text', 'attachments', 'about'],
  'A message between agencies (Communication)',
);

const SCORE_POINT = closed({ score: int, date: str, observation: str }, ['score', 'date', 'observation']);

const EVALUATION = closed(
  {
    goals: closed({ total: int, achieved: int }, ['total', 'achieved']),
    phq9: closed({ intake: nullable(SCORE_POINT), latest: nullable(SCORE_POINT), response: nullable(bool), remission: nullable(bool) }, ['intake', 'latest', 'response', 'remission']),
    closure: nullable(closed({ date: nullable(str), reason: nullable(str) }, ['date', 'reason'])),
    recorded: nullable(closed({ id: str, date: str, outcome: str, summary: str }, ['id'])),
  },
  ['goals', 'phq9', 'closure', 'recorded'],
  'Goals met, PHQ-9 at intake and latest, the closure and the recorded evaluation',
);

export const CASE_VIEW_SCHEMA: JsonSchema = closed(
  {
    id: str,
    status: { enum: ['planned', 'waitlist', 'active', 'onhold', 'finished', 'cancelled', 'entered-in-error'] },
    opened: str,
    closed: str,
    statusHistory: list(closed({ status: str, start: str, end: str }, ['status'])),
    client: {
      anyOf: [
        closed({ id: str, name: str, identifiers: list(closed({ system: str, value: str })), gender: str, birthDate: str }, ['id', 'name', 'identifiers']),
        closed({ reference: str }),
      ],
    },
    caseManager: str,
    agency: str,
    team: list(closed({ member: str, role: str })),
    presentingProblems: list(closed({ id: str, description: str, category: str, status: str }, ['id'])),
    plan: nullable(PLAN),
    planHistory: list(PLAN_SUMMARY, 'Every plan of the case, newest first'),
    referrals: list(REFERRAL),
    evaluation: EVALUATION,
    nextAppointment: nullable(APPOINTMENT),
    appointments: list(APPOINTMENT, 'By start'),
    timeline: list(TIMELINE_ENTRY, 'Oldest first'),
    screenings: list(SCREENING),
    risk: nullable(RISK),
    flags: list(FLAG, 'Every flag of the client, open first'),
    consents: list(CONSENT),
    messages: list(MESSAGE, 'Messages between agencies about the client since the case opened, oldest first'),
    fhir: closed({ case: str, client: str }, ['case', 'client']),
    warnings: strings,
  },
  ['id', 'status', 'statusHistory', 'client', 'team', 'presentingProblems', 'plan', 'planHistory', 'referrals', 'evaluation', 'nextAppointment', 'appointments', 'timeline', 'screenings', 'risk', 'flags', 'consents', 'messages', 'fhir'],
  'The case as the case manager reads it, assembled from the FHIR resources (docs/case-api.md)',
);

const DOCUMENTATION_REQUEST = closed(
  {
    id: str,
    kind: { enum: ['data', 'attachment'] },
    status: str,
    requester: closed({ reference: str, name: str }, ['reference']),
    client: closed({ id: str, name: str }, ['id']),
    query: { type: 'string', description: 'A data request: the FHIR query the payer wants run for the client' },
    documents: list(closed({ code: str, display: str }, ['code']), 'An attachment request: the LOINC document types asked for'),
    purpose: nullable(closed({ code: str, display: str }, ['code'])),
    claim: closed({ use: str, identifier: closed({ system: str, value: str }), reference: str }, [], 'The claim or preauthorization it is for (Task.reasonCode claim-use, Task.reasonReference)'),
    trackingId: str,
    period: PERIOD,
    serviceDate: str,
    payerUrl: str,
    requested: str,
    waitingSince: str,
    fhir: str,
    approve: str,
    decline: str,
  },
  ['id', 'kind', 'status', 'requester', 'client', 'purpose', 'fhir', 'approve', 'decline'],
);

export const DOCUMENTATION_REQUESTS_SCHEMA: JsonSchema = closed(
  {
    total: { type: 'integer', minimum: 0 },
    page: { type: 'integer', minimum: 1 },
    pages: { type: 'integer', minimum: 1 },
    count: { type: 'integer', minimum: 1, maximum: 100 },
    requests: list(DOCUMENTATION_REQUEST, 'Oldest first'),
  },
  ['total', 'page', 'pages', 'count', 'requests'],
  'Payers’ documentation requests (Da Vinci CDex) waiting for the caller’s organisation to review',
);
