/**
 * The express adapter of the OAuth endpoints (auth/service.ts does the work): the token endpoint
 * and introspection take form-encoded bodies and answer OAuth JSON (errors included: that is
 * what OAuth clients read, not OperationOutcomes); the JWKS and SMART discovery are public.
 * SMART puts discovery under the FHIR base; it is also served at the root for clients that look
 * there. See: https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known
 */
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { claimedClientId } from '../auth/claimed-client';
import { OAuthError } from '../auth/oauth-error';
import { type AuthService, MissingBearerToken } from '../auth/service';
import type { FormParameters } from '../auth/token-endpoint';
import { auditAuthentication } from './audit';
import { bearerChallenge } from './authentication';

const FORM = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;
/** Token requests are small: a signed assertion and a few parameters. */
const FORM_LIMIT_BYTES = 64 * 1024;

export function oauthRoutes(auth: AuthService): Router {
  const router = Router();
  const form = express.raw({ type: () => true, limit: FORM_LIMIT_BYTES });

  // Every token request is recorded (issued, or refused with why) before it is answered.
  router.post('/auth/token', form, answer(async (req, res) => {
    const issued = await auth.token(formParameters(req)).catch(async (error: unknown) => {
      if (error instanceof OAuthError) await auditAuthentication(res, { clientId: claimedClientId(assertionOf(req)), succeeded: false, reason: `${error.code}: ${error.description}` });
      throw error;
    });
    await auditAuthentication(res, { clientId: claimedClientId(issued.access_token), succeeded: true });
    sendJson(res, 200, issued, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  }));
  router.post('/auth/introspect', form, answer(async (req, res) => {
    sendJson(res, 200, await auth.introspect(formParameters(req), req.get('authorization')), { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  }));
  router.get('/auth/jwks', (_req, res) => {
    sendJson(res, 200, auth.jwks(), { 'Cache-Control': 'public, max-age=300', 'Content-Type': 'application/jwk-set+json; charset=utf-8' });
  });
  router.get(['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration'], (_req, res) => {
    sendJson(res, 200, auth.smartConfiguration(), { 'Cache-Control': 'public, max-age=300' });
  });
  for (const [path, allowed] of [['/auth/token', 'POST'], ['/auth/introspect', 'POST'], ['/auth/jwks', 'GET, HEAD'], ['/.well-known/smart-configuration', 'GET, HEAD'], ['/fhir/.well-known/smart-configuration', 'GET, HEAD']] as const) {
    router.all(path, (req, res) => {
      res.setHeader('Allow', allowed);
      sendJson(res, 405, { error: 'invalid_request', error_description: `${req.method} is not allowed on ${path} (allowed: ${allowed})` });
    });
  }
  // The body reader's refusals (too large, bad encoding) in OAuth's terms too.
  router.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    const type = (error as { type?: unknown } | null)?.type;
    if (!req.path.startsWith('/auth/') || typeof type !== 'string') {
      next(error);
      return;
    }
    const status = type === 'entity.too.large' ? 413 : 400;
    sendJson(res, status, { error: 'invalid_request', error_description: status === 413 ? `the body exceeds ${FORM_LIMIT_BYTES} bytes` : 'the body could not be read' });
  });
  return router;
}

/** The client assertion of a token request, if its body holds one (for the audit record only). */
function assertionOf(req: Request): string | undefined {
  const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  return new URLSearchParams(body).get('client_assertion') ?? undefined;
}

/** The body as ordered name/value pairs; only the form encoding OAuth requires (RFC 6749 §3.2). */
function formParameters(req: Request): FormParameters {
  if (!FORM.test(req.get('content-type') ?? '')) {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
  return [...new URLSearchParams(body)];
}

function answer(run: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction) => {
    run(req, res).catch((error: unknown) => {
      if (error instanceof OAuthError) {
        // A bad token at introspection is a Bearer challenge (RFC 7662 §2.3, RFC 6750 §3).
        if (error.code === 'invalid_token') res.setHeader('WWW-Authenticate', bearerChallenge(error.description));
        sendJson(res, error.status, error.toJSON(), { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
        return;
      }
      if (error instanceof MissingBearerToken) {
        res.setHeader('WWW-Authenticate', bearerChallenge());
        sendJson(res, 401, { error: 'invalid_request', error_description: 'introspection needs the Bearer access token of a registered client' });
        return;
      }
      next(error);
    });
  };
}

function sendJson(res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.status(status).setHeader('Content-Type', 'application/json; charset=utf-8');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.send(JSON.stringify(body));
}
