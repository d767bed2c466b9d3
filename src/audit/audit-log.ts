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
  /** Appends `events` (not as a unit: a failure may leave some written). Throws when they cannot be written. */
  append(events: readonly AuditEvent[]): Promise<void>;
}

/** The most events one insert carries. */
const MOST_PER_WRITE = 200;

/**
 * The audit log on `repo`, which must be the unscoped repository (every caller's view hides
 * AuditEvents). Events that arrive while a write is in flight wait for it and then go together
 * in the next (group commit): under load one insert carries many requests' events, which costs
 * the database far less than one insert each (an AuditEvent's search index is its largest
 * cost), and each request still has its events written before its answer leaves.
 */
export function storeAuditLog(repo: FhirRepository): AuditLog {
  const waiting: { events: readonly AuditEvent[]; settle: (err?: unknown) => void }[] = [];
  let writing = false;

  async function writeWaiting(): Promise<void> {
    writing = true;
    while (waiting.length > 0) {
      const batch = [waiting.shift() as (typeof waiting)[number]];
      let count = batch[0]?.events.length ?? 0;
      while (waiting.length > 0 && count + (waiting[0]?.events.length ?? 0) <= MOST_PER_WRITE) {
        const next = waiting.shift() as (typeof waiting)[number];
        count += next.events.length;
        batch.push(next);
      }
      try {
        await repo.createEach(batch.flatMap((b) => b.events.map((event) => ({ ...event, id: newId() }))));
        for (const b of batch) b.settle();
      } catch (err) {
        for (const b of batch) b.settle(err);
      }
    }
    writing = false;
  }

  return {
    append(events) {
      if (events.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiting.push({ events, settle: (err) => (err === undefined ? resolve() : reject(err)) });
        if (!writing) void writeWaiting();
      });
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
