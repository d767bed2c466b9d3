/**
 * The OpenAPI 3.1 document of the case API (GET /cm/v1/openapi.json), generated from the
 * endpoint table (api.ts) and the very JSON Schemas that validate each command, so the document
 * cannot describe a payload the API would refuse, or the reverse. OpenAPI 3.1 schemas are JSON
 * Schema 2020-12, the dialect the commands are compiled with.
 * See: https://spec.openapis.org/oas/v3.1.0
 */
import { COMMAND_ENDPOINTS, pathParameters } from './api';
import { CASELOAD_SORTS } from './caseload';
import { COMMANDS } from './command';
import { CASE_VIEW_SCHEMA, DOCUMENTATION_REQUESTS_SCHEMA } from './view-schemas';
import { IDEMPOTENCY_KEY } from './idempotency';
import type { JsonSchema } from './schemas/common';

type Json = Record<string, unknown>;

const OUTCOME = 'application/fhir+json';

/** A reduced schema of FHIR R4 OperationOutcome: what every error of the API answers. */
export const OPERATION_OUTCOME_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'FHIR R4 OperationOutcome (https://hl7.org/fhir/R4/operationoutcome.html); `expression` locates each problem: a field of the command (`objectives[1].goal`), a header (`Idempotency-Key`) or a FHIR element',
  required: ['resourceType', 'issue'],
  properties: {
    resourceType: { const: 'OperationOutcome' },
    issue: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['severity', 'code'],
        properties: {
          severity: { enum: ['fatal', 'error', 'warning', 'information'] },
          code: { type: 'string', description: 'FHIR IssueType: invalid, not-found, conflict, business-rule…' },
          details: {
            type: 'object',
            properties: {
              coding: { type: 'array', items: { type: 'object', properties: { system: { type: 'string' }, code: { type: 'string' } } } },
              text: { type: 'string' },
            },
          },
          diagnostics: { type: 'string' },
          expression: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

export const COMMAND_RECEIPT_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'What a command wrote. The same body answers a replay of the command with the same Idempotency-Key.',
  required: ['command', 'provenance', 'recorded', 'written'],
  properties: {
    command: { enum: Object.keys(COMMANDS), description: 'The command (CodeSystem case-management, as in Provenance.activity)' },
    case: { type: 'string', pattern: '^EpisodeOfCare/[A-Za-z0-9\\-.]{1,64}$', description: 'The case (absent for a command about no case: a documentation request’s decision)' },
    provenance: { type: 'string', pattern: '^Provenance/[A-Za-z0-9\\-.]{1,64}$', description: 'The Provenance of the command' },
    recorded: { type: 'string', description: 'When it was recorded (Provenance.recorded)' },
    written: {
      type: 'array',
      description: 'Every resource written, with the version written, in writing order (the Provenance’s targets)',
      items: {
        type: 'object',
        required: ['reference', 'versionId'],
        properties: { reference: { type: 'string', description: 'Type/id' }, versionId: { type: 'string' } },
      },
    },
  },
};

const nullable = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: 'null' }] });

const CASELOAD_ROW_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status', 'client', 'programmes', 'risk', 'openFlags', 'nextDue', 'nextAppointment', 'view'],
  properties: {
    id: { type: 'string', description: 'The case: EpisodeOfCare id' },
    status: { enum: ['planned', 'waitlist', 'active', 'onhold', 'finished', 'cancelled', 'entered-in-error'] },
    client: { type: 'object', additionalProperties: false, properties: { id: { type: 'string' }, name: { type: 'string' } } },
    caseManager: { type: 'string', description: 'EpisodeOfCare.careManager (Type/id)' },
    agency: { type: 'string', description: 'EpisodeOfCare.managingOrganization (Type/id)' },
    programmes: { type: 'array', items: { type: 'string' }, description: 'Programme codes (EpisodeOfCare.type)' },
    opened: { type: 'string' },
    closed: { type: 'string' },
    risk: nullable({
      type: 'object',
      additionalProperties: false,
      required: ['level', 'source', 'reviewNeeded'],
      properties: { level: { type: 'string' }, source: { enum: ['judgement', 'score'] }, assessed: { type: 'string' }, reviewNeeded: { type: 'boolean' } },
    }),
    openFlags: { type: 'integer', minimum: 0 },
    nextDue: nullable({ type: 'object', additionalProperties: false, required: ['date', 'goal'], properties: { date: { type: 'string' }, goal: { type: 'string' }, description: { type: 'string' } } }),
    nextAppointment: nullable({ type: 'object', additionalProperties: false, required: ['id', 'start', 'status'], properties: { id: { type: 'string' }, start: { type: 'string' }, status: { type: 'string' } } }),
    view: { type: 'string' },
  },
};

const CASE_LIST_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'A caseload page (or a client’s cases)',
  required: ['total', 'page', 'pages', 'count', 'sort', 'fhirSearch', 'links', 'cases'],
  properties: {
    total: { type: 'integer', minimum: 0, description: 'Cases matching every filter' },
    page: { type: 'integer', minimum: 1 },
    pages: { type: 'integer', minimum: 1 },
    count: { type: 'integer', minimum: 1, maximum: 100 },
    sort: { type: 'string' },
    client: { type: 'string' },
    fhirSearch: { type: 'string', description: 'The FHIR search the filters stand for (risk and dueBefore apply after it)' },
    links: { type: 'object', additionalProperties: false, required: ['self'], properties: { self: { type: 'string' }, next: { type: 'string' }, previous: { type: 'string' } } },
    cases: { type: 'array', items: CASELOAD_ROW_SCHEMA },
  },
};

const query = (name: string, description: string, schema: JsonSchema = { type: 'string' }): Json => ({ name, in: 'query', required: false, description, schema });

const CASELOAD_PARAMETERS_DOC: Json[] = [
  query('client', 'A client’s cases: Patient id (EpisodeOfCare?patient=)'),
  query('caseManager', 'PractitionerRole/[id] or Practitioner/[id] (EpisodeOfCare?care-manager=)'),
  query('team', 'CareTeam/[id] (EpisodeOfCare?team=)'),
  query('teamMember', 'A member of the case’s CareTeam: Type/id (EpisodeOfCare?team:CareTeam.participant=)'),
  query('organization', 'The agency: Organization/[id] (EpisodeOfCare?organization=)'),
  query('programme', 'A programme code, or system|code (EpisodeOfCare?type=)'),
  query('status', 'One or more EpisodeOfCare statuses, comma-separated'),
  query('risk', 'One or more current risk levels (low, moderate, high…), comma-separated'),
  query('dueBefore', 'Cases with an open goal or objective due before this date', { type: 'string', format: 'date' }),
  query('sort', 'nextDue (default), opened, risk, client, nextAppointment; a leading - for descending', { enum: [...CASELOAD_SORTS] }),
  query('count', 'Cases per page (default 20, at most 100)', { type: 'integer', minimum: 1, maximum: 100 }),
  query('page', 'The page, from 1', { type: 'integer', minimum: 1 }),
];

const REPORT_PARAMETERS: Json[] = [
  { name: 'periodStart', in: 'query', required: true, description: 'First day of the period', schema: { type: 'string', format: 'date' } },
  { name: 'periodEnd', in: 'query', required: true, description: 'Last day of the period', schema: { type: 'string', format: 'date' } },
];

const CSV: Json = { 'text/csv': { schema: { type: 'string', description: 'Comma-separated values, CRLF line ends, a header row' } } };

const error = (description: string): Json => ({ description, content: { [OUTCOME]: { schema: { $ref: '#/components/schemas/OperationOutcome' } } } });

const json = (ref: string): Json => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });

const pathParameter = (name: string): Json => ({
  name,
  in: 'path',
  required: true,
  description: name === 'caseId' ? 'The case: the id of its EpisodeOfCare' : `The id of the ${name.replace(/Id$/, '')}`,
  schema: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' },
});

const schemaName = (operationId: string) => `${operationId[0]?.toUpperCase()}${operationId.slice(1)}Command`;

let cached: Json | undefined;

export function openApiDocument(): Json {
  if (cached) return cached;
  const schemas: Record<string, JsonSchema> = {
    OperationOutcome: OPERATION_OUTCOME_SCHEMA,
    CommandReceipt: COMMAND_RECEIPT_SCHEMA,
    CaseView: CASE_VIEW_SCHEMA,
    CaseList: CASE_LIST_SCHEMA,
    DocumentationRequests: DOCUMENTATION_REQUESTS_SCHEMA,
  };
  const names = new Map<JsonSchema, string>();
  const paths: Record<string, Record<string, Json>> = {
    '/cases/{caseId}': {
      get: {
        operationId: 'getCase',
        summary: 'Read a case',
        description: 'The case view: client, status history, team, current plan with goals, objectives and their progress, plan history, referrals and their Task status, timeline of contacts and notes, scores and risk, active flags, consents. Assembled from FHIR on every read.',
        parameters: [pathParameter('caseId')],
        responses: { '200': { description: 'The case', content: json('CaseView') }, '404': error('No such case') },
      },
    },
    '/cases': {
      get: {
        operationId: 'listCases',
        summary: 'List cases: a caseload, or a client’s cases',
        description: 'Filtered by case manager, team, organisation, programme, status, risk and next due date; sorted; paged. Each FHIR-searchable filter is a standard EpisodeOfCare search through the caller’s access (docs/case-api.md, Caseloads).',
        parameters: CASELOAD_PARAMETERS_DOC,
        responses: { '200': { description: 'One page of cases', content: json('CaseList') }, '400': error('A parameter that is unknown or malformed (its name in expression)'), '403': error('The caller may not read cases'), '404': error('No such client') },
      },
    },
    '/documentation-requests': {
      get: {
        operationId: 'listDocumentationRequests',
        summary: 'Payers’ documentation requests waiting for review (Da Vinci CDex)',
        description:
          'The data and attachment requests payers posted (Task) that policy did not let CaseBridge fulfil at once, owned by the caller’s organisation, oldest first: who asks, for which client, what (the query, or the LOINC document types), for what purpose, claim and period, since when. Decide each with …/approve or …/decline.',
        parameters: [
          query('client', 'A client’s requests: Patient id'),
          query('kind', 'data (a query) or attachment (documents for a claim)', { enum: ['data', 'attachment'] }),
          query('count', 'Requests per page (default 20, at most 100)', { type: 'integer', minimum: 1, maximum: 100 }),
          query('page', 'The page, from 1', { type: 'integer', minimum: 1 }),
        ],
        responses: { '200': { description: 'One page of requests', content: json('DocumentationRequests') }, '400': error('A parameter that is unknown or malformed (its name in expression)'), '403': error('The caller may not search Tasks') },
      },
    },
    '/reports/measures.csv': {
      get: {
        operationId: 'getMeasuresReport',
        summary: 'The outcome measures as CSV, per case manager',
        description: 'One row per measure and case manager (and all): the same numbers as Measure/[id]/$evaluate-measure.',
        parameters: REPORT_PARAMETERS,
        responses: { '200': { description: 'RFC 4180 CSV with a header row', content: CSV }, '400': error('A period date missing or malformed'), '403': error('The caller may not read cases') },
      },
    },
    '/reports/outcomes.csv': {
      get: {
        operationId: 'getOutcomesReport',
        summary: 'The outcome of each case open in the period, as CSV',
        parameters: REPORT_PARAMETERS,
        responses: { '200': { description: 'RFC 4180 CSV with a header row', content: CSV }, '400': error('A period date missing or malformed'), '403': error('The caller may not read cases') },
      },
    },
    '/openapi.json': {
      get: { operationId: 'getOpenApi', summary: 'This document', responses: { '200': { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } } },
    },
  };
  for (const endpoint of COMMAND_ENDPOINTS) {
    let name = names.get(endpoint.command.schema);
    if (!name) {
      name = schemaName(endpoint.operationId);
      names.set(endpoint.command.schema, name);
      schemas[name] = endpoint.command.schema;
    }
    const operation: Json = {
      operationId: endpoint.operationId,
      summary: endpoint.summary,
      description: endpoint.description,
      parameters: [...pathParameters(endpoint.path).map(pathParameter), { $ref: '#/components/parameters/IdempotencyKey' }],
      requestBody: { required: true, content: json(name) },
      responses: {
        '201': {
          description: 'Written, as one unit with its Provenance',
          headers: { Location: { $ref: '#/components/headers/Location' } },
          content: json('CommandReceipt'),
        },
        '200': {
          description: 'A replay (same Idempotency-Key, same command): nothing written, the first answer again',
          headers: { Location: { $ref: '#/components/headers/Location' }, 'Idempotent-Replayed': { $ref: '#/components/headers/IdempotentReplayed' } },
          content: json('CommandReceipt'),
        },
        '400': error('The payload does not match the schema (each issue locates the field), or a malformed Idempotency-Key'),
        '403': error('The caller may not write what the command writes'),
        '404': error('No such case, client, objective, referral or documentation request'),
        '409': error('The Idempotency-Key was used for a different command, the case is closed, or its state does not allow the command'),
        '415': error('The body is not JSON'),
        '422': error('A reference to something that does not exist or is not the case’s (at its field), a move the case’s state machine does not allow (naming the moves allowed), or another business rule'),
      },
    };
    const method = endpoint.method.toLowerCase();
    paths[endpoint.path] = { ...(paths[endpoint.path] ?? {}), [method]: operation };
  }
  // Every operation may answer 405 (another method on a path it serves) and 401/403 (authorization).
  for (const methods of Object.values(paths)) {
    for (const operation of Object.values(methods)) {
      const responses = operation.responses as Record<string, Json>;
      responses['401'] ??= error('No valid bearer token');
      responses['403'] ??= error('The caller may not do this');
      responses['405'] = error('Another method on a path this API serves: the OperationOutcome names the methods allowed');
    }
  }
  cached = {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'CaseBridge case-management API',
      version: '1',
      description:
        'Commands in the case manager’s vocabulary, each written to FHIR R4 as one all-or-nothing unit with a Provenance, and the case view read back from FHIR. Dates: `format: date` is YYYY-MM-DD; `format: fhir-date-time` is a date or a date-time with a time zone. Errors are FHIR OperationOutcomes. See docs/case-api.md.',
    },
    servers: [{ url: '/cm/v1' }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : 1))),
    components: {
      schemas,
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description: 'Makes the command idempotent: its ids derive from (key, caller, command); sending it again answers the first result (200) and writes nothing; the same key with another payload is 409',
          schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
        },
      },
      headers: {
        Location: { description: 'The case view: /cm/v1/cases/{caseId} (not sent by a command about no case)', schema: { type: 'string' } },
        IdempotentReplayed: { description: '"true" on a replay', schema: { type: 'string', enum: ['true'] } },
      },
    },
  };
  return cached;
}
