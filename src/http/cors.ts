/**
 * CORS: browser-based FHIR clients (SMART apps, fhirclient.js, EHR web front-ends) call the API
 * from another origin. Preflights are answered here; the response headers a FHIR client reads
 * (ETag for If-Match, Location after a create, Last-Modified, and the WWW-Authenticate challenge
 * of a 401) are exposed to scripts.
 * See: https://hl7.org/fhir/R4/security.html#cors
 */
import cors from 'cors';
import type { RequestHandler } from 'express';

/** `*`: any origin (no cookies are used, so none are shared); otherwise only the listed origins. */
export type CorsOrigins = '*' | readonly string[];

export function corsPolicy(origins: CorsOrigins): RequestHandler {
  return cors({
    origin: origins === '*' ? '*' : [...origins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['ETag', 'Location', 'Content-Location', 'Last-Modified', 'X-Request-Id', 'WWW-Authenticate'],
    maxAge: 600,
  });
}
