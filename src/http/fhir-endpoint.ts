/**
 * The express adapter of the FHIR API: wire request → FhirRequest → dispatch (rest/ route table)
 * → wire response. Body bytes are read raw so the Content-Type is checked (415) before anything
 * is parsed.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Dispatch } from '../core/context';
import { type FhirRequest, HTTP_METHODS, type HttpMethod, type Prefer, type QueryParams, parseQueryString } from '../core/exchange';
import { FhirError } from '../fhir/outcomes';
import { parseJsonBody } from './json-body';
import { requestContextOf } from './request-context';
import { type BinaryPath, asksForFhir, binaryFromContent, binaryPath, isRawContent, writeNativeBinary } from './binary';
import { type BodyKind, FHIR_JSON, requestBodyKind, responseMediaType } from './negotiation';
import { writeFhirResponse } from './response-writer';

const METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);

export function fhirEndpoint(dispatch: Dispatch): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const query = parseQuery(req.originalUrl);
      const method = req.method.toUpperCase() as HttpMethod;
      if (!METHODS.has(method)) {
        throw new FhirError('METHOD_NOT_ALLOWED', `${req.method} is not a FHIR interaction`);
      }
      const path = decodePath(req.path);
      // A Binary read that does not ask for FHIR is answered with the content (errors stay FHIR).
      const binary = binaryPath(path);
      const nativeBinary = binary?.id !== undefined && (method === 'GET' || method === 'HEAD') && !asksForFhir(req.get('accept'), query._format?.[0]);
      const mediaType = nativeBinary ? FHIR_JSON : responseMediaType(req.get('accept'), query._format?.[0]);
      const { body, form } = parseBody(req, method, path, binary);
      const request: FhirRequest = {
        method,
        path,
        query: form ? mergeQuery(query, form) : query,
        headers: {
          ...header(req, 'if-match', 'ifMatch'),
          ...header(req, 'if-none-match', 'ifNoneMatch'),
          ...header(req, 'if-none-exist', 'ifNoneExist'),
          ...header(req, 'if-modified-since', 'ifModifiedSince'),
          ...header(req, 'content-type', 'contentType'),
        },
        ...(body !== undefined ? { body } : {}),
      };
      const ctx = requestContextOf(res, parsePrefer(req.get('prefer')));
      const response = await dispatch(ctx, request);
      if (nativeBinary && writeNativeBinary(res, response, method === 'HEAD')) {
        return;
      }
      writeFhirResponse(res, response, { mediaType, pretty: query._pretty?.[0] === 'true', head: method === 'HEAD' });
    } catch (err) {
      next(err);
    }
  };
}

/** The query string of a request URL as a multimap in request order. */
function parseQuery(originalUrl: string): QueryParams {
  return parseQueryString(originalUrl.includes('?') ? originalUrl.slice(originalUrl.indexOf('?') + 1) : '');
}

function mergeQuery(query: QueryParams, form: QueryParams): QueryParams {
  const merged: Record<string, string[]> = {};
  for (const source of [query, form]) {
    for (const [name, values] of Object.entries(source)) {
      (merged[name] ??= []).push(...values);
    }
  }
  return merged;
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path).replace(/^\/+/, '').replace(/\/+$/, '');
  } catch {
    throw new FhirError('INVALID_REQUEST', 'The URL path is not valid percent-encoding');
  }
}

/** Parses the raw body by its Content-Type: FHIR JSON, JSON Patch, or a _search form. */
function parseBody(req: Request, method: HttpMethod, path: string, binary: BinaryPath | undefined): { body?: unknown; form?: QueryParams } {
  const raw = req.body as Buffer | undefined;
  // An absent body is left to the interaction, which says what it needed.
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE' || !Buffer.isBuffer(raw) || raw.length === 0) {
    return {};
  }
  const contentType = req.get('content-type');
  const binaryWrite = binary !== undefined && !binary.version && (method === 'POST' ? binary.id === undefined : method === 'PUT' && binary.id !== undefined);
  const asBinary = () => ({ body: binaryFromContent(raw, contentType as string, { ...(binary?.id !== undefined ? { id: binary.id } : {}), ...securityContext(req) }) });
  if (binaryWrite && isRawContent(contentType)) {
    return asBinary();
  }
  const kind: BodyKind = requestBodyKind(contentType, method);
  if (path.endsWith('/_search') || path === '_search') {
    if (kind !== 'form') {
      throw new FhirError('UNSUPPORTED_MEDIA_TYPE', 'POST _search takes application/x-www-form-urlencoded parameters');
    }
    return { form: parseQueryString(raw.toString('utf8')) };
  }
  if (kind === 'form') {
    throw new FhirError('UNSUPPORTED_MEDIA_TYPE', 'Form parameters are accepted only by POST [type]/_search');
  }
  if (method !== 'PATCH' && kind === 'json-patch') {
    throw new FhirError('UNSUPPORTED_MEDIA_TYPE', `${method} takes a FHIR resource (Content-Type: application/fhir+json)`);
  }
  const body = parseJsonBody(raw);
  // FHIR JSON sent to Binary is content like any other, unless it is a Binary resource.
  const isBinaryResource = typeof body === 'object' && body !== null && (body as { resourceType?: unknown }).resourceType === 'Binary';
  return binaryWrite && !isBinaryResource ? asBinary() : { body };
}

function securityContext(req: Request): { securityContext?: string } {
  const value = req.get('x-security-context');
  return value ? { securityContext: value } : {};
}

function header<K extends string>(req: Request, name: string, key: K): Partial<Record<K, string>> {
  const value = req.get(name);
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** Prefer: return=…, handling=…, respond-async. See: https://hl7.org/fhir/R4/http.html#ops */
export function parsePrefer(header: string | undefined): Prefer {
  const prefer: { return?: Prefer['return']; handling?: Prefer['handling']; respondAsync?: boolean } = {};
  for (const part of (header ?? '').split(/[,;]/)) {
    const [name, rawValue] = part.split('=').map((s) => s.trim());
    const value = rawValue?.replace(/^"|"$/g, '');
    if (name === 'return' && (value === 'minimal' || value === 'representation' || value === 'OperationOutcome')) {
      prefer.return = value;
    } else if (name === 'handling' && (value === 'strict' || value === 'lenient')) {
      prefer.handling = value;
    } else if (name === 'respond-async') {
      prefer.respondAsync = true;
    }
  }
  return prefer;
}
