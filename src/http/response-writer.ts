import type { Response } from 'express';
import { stringifyFhirJson } from '../fhir/json-text';
import type { FhirResponse } from '../core/exchange';

/** Writes a FhirResponse: status, version headers, Location, and the JSON body. */
export function writeFhirResponse(res: Response, response: FhirResponse, options: { mediaType: string; pretty: boolean; head: boolean }): void {
  res.status(response.status);
  const { location, etag, lastModified, contentLocation } = response.headers;
  if (location) res.setHeader('Location', location);
  if (etag) res.setHeader('ETag', etag);
  if (lastModified) res.setHeader('Last-Modified', lastModified);
  if (contentLocation) res.setHeader('Content-Location', contentLocation);
  if (response.body === undefined || response.status === 204 || response.status === 304) {
    res.end();
    return;
  }
  const text = stringifyFhirJson(response.body, options.pretty ? 2 : undefined);
  res.setHeader('Content-Type', `${options.mediaType}; charset=utf-8`);
  if (options.head) {
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end();
    return;
  }
  res.send(text);
}
