/**
 * Per-request identity and logging: a request id (the client's X-Request-Id when well formed),
 * a child logger carrying it, and the caller: unauthenticated until the authentication middleware
 * (http/authentication.ts) sets the one the access token proves.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { type Caller, UNAUTHENTICATED } from '../auth/caller';
import type { RequestContext } from '../core/context';
import type { Prefer } from '../core/exchange';
import type { Logger } from '../platform/logger';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const offered = req.get('x-request-id');
    const requestId = offered !== undefined && REQUEST_ID.test(offered) ? offered : randomUUID();
    res.locals.requestId = requestId;
    res.locals.log = logger.child({ requestId });
    res.locals.caller = UNAUTHENTICATED;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const log = res.locals.log as Logger;
      // Query values can carry patient data: log parameter names only.
      const path = req.originalUrl.split('?')[0];
      const params = [...new URLSearchParams(req.originalUrl.split('?')[1] ?? '').keys()];
      log.info(
        { method: req.method, path, params, status: res.statusCode, durationMs: Number(process.hrtime.bigint() - started) / 1e6 },
        'request completed',
      );
    });
    next();
  };
}

export function callerOf(res: Response): Caller {
  return res.locals.caller as Caller;
}

export function requestLog(res: Response): Logger {
  return res.locals.log as Logger;
}

/** The context every interaction receives: request id, caller, logger, and the client's Prefer. */
export function requestContextOf(res: Response, prefer: Prefer): RequestContext {
  return { requestId: res.locals.requestId as string, caller: callerOf(res), log: requestLog(res), prefer };
}
