/**
 * SearchRequest → canonical query string, for Bundle.link (self, next, previous).
 * Conditions keep their query order and their values as written; result parameters follow in a
 * fixed order. Ignored (unknown) parameters are left out: the self link shows what was applied.
 * See: https://hl7.org/fhir/R4/search.html#conformance and https://hl7.org/fhir/R4/bundle.html#searchset
 */
import { splitUnescaped } from './parse-value';
import type { IncludeTarget, SearchRequest } from './request';

/** encodeURIComponent, keeping the characters that are legal in a query and read better. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/%(2C|3A|2F|24|40)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function include(target: IncludeTarget): string {
  if (target.resourceType === '*') {
    return '*';
  }
  return [target.resourceType, target.code, ...(target.targetType ? [target.targetType] : [])].join(':');
}

/** The request as `a=1&b=2` (no leading `?`). Pass `{ ...request, offset }` for paging links. */
export function formatSearch(request: SearchRequest): string {
  const pairs: [string, string][] = [];
  for (const c of request.conditions) {
    pairs.push([c.name, c.raw]);
  }
  if (request.types.length > 0) {
    pairs.push(['_type', request.types.join(',')]);
  }
  for (const t of request.include) {
    pairs.push([t.iterate ? '_include:iterate' : '_include', include(t)]);
  }
  for (const t of request.revinclude) {
    pairs.push([t.iterate ? '_revinclude:iterate' : '_revinclude', include(t)]);
  }
  if (request.sort.length > 0) {
    pairs.push(['_sort', request.sort.map((s) => (s.descending ? `-${s.code}` : s.code)).join(',')]);
  }
  pairs.push(['_count', String(request.count)]);
  if (request.offset > 0) {
    pairs.push(['_offset', String(request.offset)]);
  }
  if (request.total) {
    pairs.push(['_total', request.total]);
  }
  if (request.summary) {
    pairs.push(['_summary', request.summary]);
  }
  if (request.elements) {
    pairs.push(['_elements', request.elements.join(',')]);
  }
  return pairs.map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&');
}

/**
 * The conditions of a request in a form that does not depend on how they were written: parameters
 * sorted, and the comma-separated values of each sorted. Two conditional creates whose criteria
 * differ only in order share this key, and so the lock that keeps them from both creating.
 */
export function conditionKey(request: SearchRequest): string {
  const parts = request.conditions.map((c) => `${encode(c.name)}=${splitUnescaped(c.raw, ',').sort().map(encode).join(',')}`);
  return [`${request.resourceType ?? ''}?`, ...parts.sort()].join('&');
}
