/**
 * References inside a transaction: those to other entries (their fullUrl, urn:uuid:… or an
 * absolute URL) become the local reference of the resource the entry became, and conditional
 * references (`Patient?identifier=…`) are resolved to their one match.
 * See: https://hl7.org/fhir/R4/http.html#trules
 */
import type { Resource } from '@medplum/fhirtypes';
import { conditionOf, parseCriteria, soleMatch } from '../../core/criteria';
import type { FhirServices } from '../../core/services';
import { keepDecimalText } from '../../fhir/json-text';
import { FhirError } from '../../fhir/outcomes';

/**
 * `resource` with every reference to an entry or a condition replaced by its local reference.
 * Only the objects and arrays on the way to a replaced value are copied; the rest is shared
 * with the request's parsed body, which nothing writes to.
 */
export async function rewriteReferences(services: FhirServices, resource: Resource | undefined, byFullUrl: ReadonlyMap<string, string>): Promise<Resource | undefined> {
  if (!resource) {
    return resource;
  }
  const conditional = await resolveConditionalReferences(services, resource);
  const rewrite = (value: unknown, key: string | undefined): unknown => {
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const rewritten = rewrite(item, undefined);
        if (rewritten !== item) {
          copy ??= keepDecimalText(value, value.slice());
          copy[i] = rewritten;
        }
      }
      return copy ?? value;
    }
    if (value !== null && typeof value === 'object') {
      let copy: Record<string, unknown> | undefined;
      for (const [k, item] of Object.entries(value)) {
        const rewritten = rewrite(item, k);
        if (rewritten !== item) {
          copy ??= keepDecimalText(value, { ...value });
          copy[k] = rewritten;
        }
      }
      return copy ?? value;
    }
    if (typeof value === 'string' && key === 'reference') {
      const local = byFullUrl.get(value) ?? conditional.get(value);
      if (local) {
        return local;
      }
      if (value.startsWith('urn:uuid:') || value.startsWith('urn:oid:')) {
        throw new FhirError('INVALID_BUNDLE', `Reference ${value} does not match the fullUrl of any entry in the transaction`);
      }
    }
    if (typeof value === 'string' && key === 'div') {
      return value.replace(/(href|src)="(urn:uuid:[^"]+)"/g, (whole, attr: string, url: string) => {
        const local = byFullUrl.get(url);
        return local ? `${attr}="${local}"` : whole;
      });
    }
    return value;
  };
  return rewrite(resource, undefined) as Resource;
}

/** Each conditional reference in `resource`, resolved to exactly one match (412 for none or several). */
async function resolveConditionalReferences(services: FhirServices, resource: Resource): Promise<Map<string, string>> {
  const references = new Set<string>();
  const walk = (value: unknown, key?: string): void => {
    if (Array.isArray(value)) value.forEach((v) => walk(v));
    else if (value !== null && typeof value === 'object') Object.entries(value).forEach(([k, v]) => walk(v, k));
    else if (key === 'reference' && typeof value === 'string' && /^[A-Z][A-Za-z]+\?/.test(value)) references.add(value);
  };
  walk(resource);
  const resolved = new Map<string, string>();
  for (const reference of references) {
    const [type = '', queryText = ''] = reference.split(/\?(.*)/s, 2);
    const condition = conditionOf(services, type, parseCriteria(queryText, type, services.settings.baseUrl));
    const id = await soleMatch(services, condition, 'reference');
    if (id === undefined) {
      throw new FhirError('NO_MATCH', `The conditional reference ${reference} matches no resource`);
    }
    resolved.set(reference, `${type}/${id}`);
  }
  return resolved;
}
