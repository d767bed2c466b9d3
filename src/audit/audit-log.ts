/**
 * The audit log: AuditEvents appended straight to the store — unscoped, and outside the write
 * pipeline, which refuses AuditEvents to every client because they are CaseBridge's own record.
 * Append-only: no client can update or delete one (auth/authorize.ts), and nothing here can.
 *
 * A request's events are written before its answer leaves; when they cannot be, the answer is
 * withheld (503): an access that cannot be recorded does not happen, as far as the client sees.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/outcomes';
import { newId } from '../platform/ids';
import type { Logger } from '../platform/logger';
import type { FhirRepository } from '../store/repository';

export interface AuditLog {
  /** Appends `events` in one store write (one unit when several). Throws when they cannot be written. */
  append(events: readonly AuditEvent[]): Promise<void>;
}

/** The audit log on `repo`, which must be the unscoped repository (every caller's view hides AuditEvents). */
export function storeAuditLog(repo: FhirRepository): AuditLog {
  return {
    async append(events) {
      if (events.length === 0) return;
      await repo.apply(events.map((event) => ({ kind: 'create', resource: { ...event, id: newId() } })));
    },
  };
}

/**
 * Appends `events`, or throws UNAVAILABLE (503) for the request to answer instead of its result.
 * The events are then logged (references only, no query values) so the record is not lost.
 */
export async function appendOrWithhold(log: AuditLog, events: readonly AuditEvent[], logger: Logger): Promise<void> {
  try {
    await log.append(events);
  } catch (err) {
    logger.error({ err, audit: events.map(summary) }, 'audit log write failed: the answer is withheld');
    throw markAudited(
      new FhirError('UNAVAILABLE', 'The audit log could not record this request, so its answer is withheld. A change it made may have been saved: read it before sending the request again.', { cause: err }),
    );
  }
}

/** Errors whose request has been recorded already: the error handler does not record them again. */
const audited = new WeakSet<object>();

export function markAudited<T>(err: T): T {
  if (typeof err === 'object' && err !== null) audited.add(err);
  return err;
}

export function wasAudited(err: unknown): boolean {
  return typeof err === 'object' && err !== null && audited.has(err);
}

/** What a log line may carry of an event: codes and references, not the query (it may hold patient data). */
function summary(event: AuditEvent) {
  return {
    type: event.type.code,
    subtype: event.subtype?.map((c) => c.code),
    action: event.action,
    outcome: event.outcome,
    recorded: event.recorded,
    agents: event.agent.map((a) => a.who?.reference ?? a.who?.identifier?.value),
    entities: event.entity?.flatMap((e) => (e.what?.reference ? [e.what.reference] : [])),
  };
}
