/**
 * The last middleware: every failure leaves as an OperationOutcome with its status. Unknown
 * errors are 500s, logged with the request id; no stack trace or driver message reaches a client.
 */
import type { NextFunction, Request, Response } from 'express';
import { FhirError, toFhirError } from '../fhir/outcomes';
import type { Logger } from '../platform/logger';
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

export function errorHandler(logger: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const error = fromBodyReader(err) ?? toFhirError(err);
    const log = (res.locals.log as Logger | undefined) ?? logger;
    if (error.status >= 500) {
      log.error({ err: error.cause ?? err }, 'request failed');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(error.status).setHeader('Content-Type', `${FHIR_JSON}; charset=utf-8`);
    res.send(JSON.stringify(error.outcome));
  };
}
