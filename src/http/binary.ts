/**
 * Binary in its native form. A read of Binary/[id] that does not ask for FHIR (by Accept or
 * _format) is answered with the content itself, typed by Binary.contentType, so a case note's
 * PDF opens from its attachment URL; raw content POSTed or PUT to Binary becomes a Binary.
 * The security context travels in X-Security-Context both ways.
 * See: https://hl7.org/fhir/R4/binary.html#rest
 */
import type { Binary } from '@medplum/fhirtypes';
import type { Response } from 'express';
import { FHIR_JSON, mediaTypeOf } from '../fhir/media-types';
import type { FhirResponse } from '../core/exchange';

const FHIR_MEDIA_TYPES = new Set([FHIR_JSON, 'application/json', 'application/fhir+xml', 'application/xml+fhir', 'application/json+fhir']);

export interface BinaryPath {
  readonly id?: string;
  readonly version?: boolean;
}

/** `Binary`, `Binary/[id]` or `Binary/[id]/_history/[vid]`; the id when there is one. */
export function binaryPath(path: string): BinaryPath | undefined {
  const segments = path.split('/');
  if (segments[0] !== 'Binary' || segments.length > 4 || (segments.length >= 3 && segments[2] !== '_history')) {
    return undefined;
  }
  const id = segments[1];
  if (id !== undefined && (id.startsWith('$') || id.startsWith('_'))) {
    return undefined;
  }
  return { ...(id !== undefined ? { id } : {}), ...(segments.length === 4 ? { version: true } : {}) };
}

/** True when the client names a FHIR format; anything else (a content type, * / *, none) asks for the content. */
export function asksForFhir(accept: string | undefined, format: string | undefined): boolean {
  if (format !== undefined) {
    return true;
  }
  return (accept ?? '').split(',').some((range) => FHIR_MEDIA_TYPES.has(mediaTypeOf(range)));
}

/** Raw content for Binary: every media type but a FHIR one, which carries a Binary resource. */
export function isRawContent(contentType: string | undefined): contentType is string {
  const media = mediaTypeOf(contentType ?? '');
  return media !== '' && !FHIR_MEDIA_TYPES.has(media);
}

export function binaryFromContent(content: Buffer, contentType: string, options: { id?: string; securityContext?: string }): Binary {
  return {
    resourceType: 'Binary',
    ...(options.id !== undefined ? { id: options.id } : {}),
    contentType: contentType.trim(),
    ...(options.securityContext ? { securityContext: { reference: options.securityContext } } : {}),
    ...(content.length > 0 ? { data: content.toString('base64') } : {}),
  };
}

/** Answers a read of a Binary with its content; false when the response is not one (an error, a 304). */
export function writeNativeBinary(res: Response, response: FhirResponse, head: boolean): boolean {
  const binary = response.body as Binary | undefined;
  if (response.status !== 200 || binary?.resourceType !== 'Binary') {
    return false;
  }
  const content = Buffer.from(binary.data ?? '', 'base64');
  const { etag, lastModified } = response.headers;
  res.status(200);
  if (etag) res.setHeader('ETag', etag);
  if (lastModified) res.setHeader('Last-Modified', lastModified);
  if (binary.securityContext?.reference) res.setHeader('X-Security-Context', binary.securityContext.reference);
  res.setHeader('Content-Type', binary.contentType);
  res.setHeader('Content-Length', content.length);
  // Content from clients is never interpreted by a browser on our origin.
  res.setHeader('Content-Disposition', 'attachment');
  if (head) {
    res.end();
  } else {
    res.end(content);
  }
  return true;
}
