/**
 * The last middleware: every failure leaves as an OperationOutcome with its status. Unknown
 * errors are 500s, logged with the request id; no stack trace or driver message reaches a client.
 * A failure not yet audited is audited first (http/audit.ts); if that fails, the answer is 503.
 */
import type { NextFunction, Request, Response } from 'express';
import { wasAudited } from '../audit/audit-log';
import { FhirError, toFhirError } from '../fhir/outcomes';
import type { Logger } from '../platform/logger';
import { databaseFault } from '../platform/mongo';
import { auditRefusal, requestAudited } from './audit';
import { FHIR_JSON } from './negotiation';

/** Errors raised by express's body reader, by their `type`. */
function fromBodyReader(err: unknown): FhirError | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.too.large':
      return new FhirError('PAYLOAD_TOO_LARGE', `The request body exceeds the limit of ${(err as { limit?: number }).limit ?? '?'} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new FhirError('UNSUPPORTED_MEDIA_TYPE', 'The request body encoding is not supported; send UTF-8 (optionally gzip or deflate)');
    case 'request.aborted':
    case 'request.size.invalid':
      return new FhirError('INVALID_REQUEST', 'The request body was incomplete');
    default:
      return undefined;
  }
}

/** How long a client should wait before trying again when the database is down or full. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * A fault of the database rather than of the request: 503 while it cannot be reached (the
 * embedded one restarts by itself; a lost MONGODB_URI connection is retried by the driver), 507
 * when it is out of disk space. Either way nothing partial was kept (docs/reliability.md).
 */
export function fromDatabase(err: unknown): FhirError | undefined {
  switch (databaseFault(err)) {
    case 'unavailable':
      return new FhirError(
        'UNAVAILABLE',
        `The database is not reachable at the moment. Try again in ${RETRY_AFTER_SECONDS} seconds; a transaction is all or nothing, but a single write may have been made just before the connection was lost: read before sending it again.`,
        { cause: err },
      );
    case 'storage-full':
      return new FhirError('INSUFFICIENT_STORAGE', 'The database is out of disk space: the change was not made. An operator must free or add space.', { cause: err });
    default:
      return undefined;
  }
}

/** Anything thrown, as the FhirError it is answered with. */
function classify(err: unknown): FhirError {
  return fromBodyReader(err) ?? (err instanceof FhirError && err.status < 500 ? err : fromDatabase(err)) ?? toFhirError(err);
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    answer(err, req, res, logger).catch((failure: unknown) => {
      ((res.locals.log as Logger | undefined) ?? logger).error({ err: failure }, 'the error could not be answered');
      if (!res.headersSent) res.status(500).end();
    });
  };
}

async function answer(err: unknown, req: Request, res: Response, logger: Logger): Promise<void> {
  let error = classify(err);
  const log = (res.locals.log as Logger | undefined) ?? logger;
  if (error.status >= 500) {
    log.error({ err: error.cause ?? err }, 'request failed');
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  // A refusal that no interaction recorded (401, unknown route, 415…) is recorded here, before it is answered.
  if (!wasAudited(err) && !requestAudited(res)) {
    try {
      await auditRefusal(req, res, error);
    } catch (auditFailure) {
      // appendOrWithhold has logged a failed write already; anything else is a fault of its own.
      if (!wasAudited(auditFailure)) log.error({ err: auditFailure }, 'refusal could not be recorded');
      error = classify(auditFailure);
    }
  }
  res.status(error.status).setHeader('Content-Type', `${FHIR_JSON}; charset=utf-8`);
  if (error.status === 503 || error.status === 507) {
    res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
  }
  res.send(JSON.stringify(error.outcome));
}
