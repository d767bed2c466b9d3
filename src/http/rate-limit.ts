import type { NextFunction, Request, Response } from 'express';
import { FhirError } from '../fhir/outcomes';
import type { RateLimit } from '../platform/rate-limit';

/**
 * 429 with Retry-After once `keyOf`'s budget is spent (a client's, or an address's before it has
 * authenticated). A request `keyOf` cannot place is passed on: it is refused later anyway.
 * See: https://hl7.org/fhir/R4/http.html (429 Too Many Requests), RFC 6585 §4.
 */
export function rateLimited(limit: RateLimit, keyOf: (req: Request, res: Response) => string | undefined) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const key = keyOf(req, res);
      if (key === undefined) {
        next();
        return;
      }
      const budget = await limit.consume(key);
      if (!budget.allowed) {
        res.setHeader('Retry-After', String(budget.retryAfterSeconds));
        next(new FhirError('TOO_MANY_REQUESTS', `Too many requests: try again in ${budget.retryAfterSeconds} s`));
        return;
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}
