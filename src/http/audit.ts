/**
 * The audit at the HTTP edge, for what never reaches an interaction of the route table (whose
 * hook, rest/audit-hook.ts, records the rest):
 *  - a request refused before dispatch — no or invalid token, unknown route, 405, 406, 413, 415,
 *    a body that is not JSON — recorded by the error handler (auditRefusal);
 *  - an authentication attempt, recorded by the authentication code (auditAuthentication);
 *  - a case-API command or view (audited).
 * Each is written before the answer leaves; if it cannot be, the answer is 503 instead.
 */
import type { NextFunction, Request, Response } from 'express';
import { type AuditAction, type AuditFacts, type AuditRecord, type AuditSource, type AuditedCaller, LOGIN, auditEvent, disclosedEntities, failureOutcome } from '../audit/audit-event';
import { type AuditLog, appendOrWithhold, markAudited } from '../audit/audit-log';
import { auditedCaller } from '../audit/audited-caller';
import type { FhirServices } from '../core/services';
import type { FhirError } from '../fhir/outcomes';
import type { Logger } from '../platform/logger';
import { callerOf } from './request-context';

interface AuditContext {
  readonly log: AuditLog;
  readonly source: AuditSource;
  readonly now: () => Date;
  readonly logger: Logger;
}

/** The first middleware: every request's http code can record through res.locals.audit. */
export function auditContext(context: AuditContext) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.locals.audit = context;
    next();
  };
}

/** An attempt to authenticate: a token request, or an access token presented. */
export interface AuthenticationAttempt {
  /** The client it claimed to be (client_id, the assertion's iss/sub, the token's client), when it could be read. */
  readonly clientId?: string;
  readonly succeeded: boolean;
  /** Why it was refused, for the record (outcomeDesc); this function sends nothing to the client. */
  readonly reason?: string;
}

/**
 * Records an authentication attempt as an AuditEvent (DICOM 110114 User Authenticated, subtype
 * 110122 Login; outcome 0, or 4 when refused) before the answer is sent. Throws UNAVAILABLE (503)
 * when it cannot be recorded: pass that to next() instead of answering. A refusal recorded here
 * is not recorded again when its 401 reaches the error handler.
 * See: https://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_400.html
 */
export async function auditAuthentication(res: Response, attempt: AuthenticationAttempt): Promise<void> {
  const audit = auditOf(res);
  const record: AuditRecord = {
    type: 'login',
    subtype: LOGIN,
    action: 'E',
    outcome: attempt.succeeded ? { code: '0' } : { code: '4', ...(attempt.reason ? { description: attempt.reason } : {}) },
    recorded: audit.now(),
    caller: claimedCaller(attempt.clientId),
    requestId: requestIdOf(res),
  };
  await appendOrWithhold(audit.log, [auditEvent(record, audit.source)], logOf(res, audit));
  res.locals.audited = true;
}

/** Whether this request was recorded already (its failure need not be recorded again). */
export function requestAudited(res: Response): boolean {
  return res.locals.audited === true;
}

/**
 * Records a request refused before it reached an interaction: a 401 as a failed authentication,
 * anything else as a REST request with no interaction, naming what was asked (method and URL).
 */
export async function auditRefusal(req: Request, res: Response, error: FhirError): Promise<void> {
  const audit = auditOf(res);
  const unauthenticated = error.code === 'UNAUTHENTICATED';
  const record: AuditRecord = {
    type: unauthenticated ? 'login' : 'rest',
    ...(unauthenticated ? { subtype: LOGIN } : {}),
    action: unauthenticated ? 'E' : actionOfMethod(req.method),
    outcome: failureOutcome(error),
    recorded: audit.now(),
    caller: unauthenticated ? claimedCaller(undefined) : auditedCaller(callerOf(res)),
    requestId: requestIdOf(res),
    query: `${req.method} ${req.originalUrl}`,
  };
  await appendOrWithhold(audit.log, [auditEvent(record, audit.source)], logOf(res, audit));
  res.locals.audited = true;
}

/** A case-API command or view: `work` runs, its event is written, and only then may the answer go. */
export async function audited<T>(res: Response, call: { services: FhirServices; work: () => Promise<T>; facts: (answer: { value: T } | { failure: unknown }) => AuditFacts }): Promise<T> {
  const audit = auditOf(res);
  let answer: { value: T } | { failure: unknown };
  try {
    answer = { value: await call.work() };
  } catch (failure) {
    answer = { failure };
  }
  const facts = call.facts(answer);
  const disclosed = disclosedEntities(call.services.disclosures?.take() ?? []);
  const record: AuditRecord = {
    type: 'rest',
    ...facts,
    outcome: 'value' in answer ? { code: '0' } : failureOutcome(answer.failure),
    recorded: call.services.now(),
    caller: auditedCaller(callerOf(res)),
    requestId: requestIdOf(res),
    patients: [...(facts.patients ?? []), ...disclosed.patients],
    entities: [...(facts.entities ?? []), ...disclosed.entities],
  };
  await appendOrWithhold(audit.log, [auditEvent(record, audit.source)], logOf(res, audit));
  res.locals.audited = true;
  if ('failure' in answer) throw markAudited(answer.failure);
  return answer.value;
}

function auditOf(res: Response): AuditContext {
  const audit = res.locals.audit as AuditContext | undefined;
  if (!audit) throw new Error('the audit context middleware is not installed: nothing can be answered unrecorded');
  return audit;
}

function requestIdOf(res: Response): string {
  return (res.locals.requestId as string | undefined) ?? 'none';
}

function logOf(res: Response, audit: AuditContext): Logger {
  return (res.locals.log as Logger | undefined) ?? audit.logger;
}

/** Who an unauthenticated request claimed to be: no organisation, role or purpose is granted to it. */
function claimedCaller(clientId: string | undefined): AuditedCaller {
  return clientId !== undefined ? { id: clientId, display: `Client ${clientId} (not authenticated)`, purposes: [] } : { id: 'anonymous', display: 'Unidentified caller', purposes: [] };
}

function actionOfMethod(method: string): AuditAction {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      return 'R';
    case 'PUT':
    case 'PATCH':
      return 'U';
    case 'DELETE':
      return 'D';
    default:
      // A POST that reached no interaction may have been a create, a search or a Bundle.
      return 'E';
  }
}
