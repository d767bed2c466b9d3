/**
 * Authentication in one place: every request to the FHIR API (/fhir) and the case API (/cm/v1)
 * passes here, and its `Authorization: Bearer` access token becomes the Caller on res.locals,
 * which the request context hands to every interaction. No token, or one that is malformed,
 * expired, not yet valid, for another audience or issuer, not signed by us (alg none, forged,
 * unknown kid), or of a disabled client: 401 with an OperationOutcome (login/UNAUTHENTICATED)
 * and the RFC 6750 challenge. The few public endpoints (the CapabilityStatement, the case API's
 * OpenAPI document) keep the unauthenticated caller, which holds no scope.
 * See: https://www.rfc-editor.org/rfc/rfc6750#section-3 and
 * https://hl7.org/fhir/R4/http.html#capabilities (the CapabilityStatement is public)
 */
import type { NextFunction, Request, Response } from 'express';
import { bearerTokenOf, claimedClientId } from '../auth/claimed-client';
import { OAuthError } from '../auth/oauth-error';
import { type AuthService, MissingBearerToken } from '../auth/service';
import { FhirError } from '../fhir/outcomes';
import type { Logger } from '../platform/logger';
import { auditAuthentication } from './audit';

const REALM = 'CaseBridge';

/** `WWW-Authenticate` for a missing token (no error attribute) or an invalid one. */
export function bearerChallenge(invalidTokenDescription?: string): string {
  if (invalidTokenDescription === undefined) return `Bearer realm="${REALM}"`;
  // error_description is limited to printable ASCII without " and \ (RFC 6750 §3).
  const description = invalidTokenDescription.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, ' ');
  return `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`;
}

/** `isPublic`: requests that need no token (they keep the unauthenticated caller). */
export function authentication(auth: AuthService, isPublic: (req: Request) => boolean = () => false) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (isPublic(req)) {
      next();
      return;
    }
    try {
      const caller = await auth.authenticate(req.get('authorization'));
      res.locals.caller = caller;
      res.locals.log = (res.locals.log as Logger).child({ clientId: caller.clientId });
      next();
    } catch (error) {
      if (error instanceof MissingBearerToken) {
        res.setHeader('WWW-Authenticate', bearerChallenge());
        next(new FhirError('UNAUTHENTICATED', `This endpoint needs an access token (Authorization: Bearer …); how to get one: ${auth.urls.fhirBaseUrl}/.well-known/smart-configuration`));
        return;
      }
      if (error instanceof OAuthError) {
        res.setHeader('WWW-Authenticate', bearerChallenge(error.description));
        // The refusal is recorded with the client the token claimed (unverified), before the 401.
        await auditAuthentication(res, { clientId: claimedClientId(bearerTokenOf(req.get('authorization'))), succeeded: false, reason: error.description }).then(
          () => next(new FhirError('UNAUTHENTICATED', `The access token is not valid: ${error.description}`)),
          next,
        );
        return;
      }
      next(error);
    }
  };
}

/** GET or HEAD of `path` (relative to where the middleware is mounted), with or without a
 *  trailing slash. */
export function publicRead(path: string): (req: Request) => boolean {
  return (req) => (req.method === 'GET' || req.method === 'HEAD') && (req.path === path || req.path === `${path}/`);
}
