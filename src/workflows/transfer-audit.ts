/**
 * The audit of what the workflows send and fetch: every delivery, referral sent, partner read and
 * attachment pushed leaves an AuditEvent (DICOM 110106 Export / 110107 Import, audit-event.ts) —
 * for whom it was done, the other system's URL, the resources and patients it carried, what of it
 * was disclosed under consent, and how it ended. Recorded once the attempt has an outcome; if the
 * event cannot be written the work is not marked done, so it is attempted (and recorded) again.
 */
import type { Caller } from '../auth/caller';
import { type AuditedEntity, auditEvent, disclosedEntities } from '../audit/audit-event';
import { type AuditLog, appendOrWithhold } from '../audit/audit-log';
import { auditedCaller } from '../audit/audited-caller';
import type { FhirServices } from '../core/services';
import type { Logger } from '../platform/logger';

export interface Transfer {
  readonly type: 'export' | 'import';
  /** The other system's URL. */
  readonly remote: string;
  /** For whom: the subscriber, the requester, the partner. */
  readonly caller: Caller;
  readonly requestId: string;
  /** The request sent (`POST https://…`), as the Query entity. */
  readonly query: string;
  readonly patients?: readonly string[];
  readonly entities?: readonly AuditedEntity[];
  /** Absent: it went through. */
  readonly failure?: { readonly status: number; readonly description: string };
}

export class TransferAudit {
  constructor(private readonly options: { readonly log: AuditLog; readonly baseUrl: string; readonly now: () => Date; readonly logger: Logger }) {}

  /** Records `transfer`; the disclosures `services` (the caller's view) reported go with it. Throws when it cannot be recorded. */
  async record(transfer: Transfer, services?: FhirServices): Promise<void> {
    const disclosed = disclosedEntities(services?.disclosures?.take() ?? []);
    const event = auditEvent(
      {
        type: transfer.type,
        remote: transfer.remote,
        action: transfer.type === 'export' ? 'R' : 'C',
        outcome: transfer.failure ? { code: transfer.failure.status >= 500 || transfer.failure.status === 0 ? '8' : '4', description: transfer.failure.description } : { code: '0' },
        recorded: this.options.now(),
        caller: auditedCaller(transfer.caller),
        requestId: transfer.requestId,
        patients: [...(transfer.patients ?? []), ...disclosed.patients],
        entities: [...(transfer.entities ?? []), ...disclosed.entities],
        query: transfer.query,
      },
      { baseUrl: this.options.baseUrl },
    );
    await appendOrWithhold(this.options.log, [event], this.options.logger);
  }
}
