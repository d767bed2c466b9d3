/**
 * References inside a transaction: those to other entries (their fullUrl, urn:uuid:… or an
 * absolute URL) become the local reference of the resource the entry became, and conditional
 * references (`Patient?identifier=…`) are resolved to their one match.
 * See: https://hl7.org/fhir/R4/http.html#trules
 */
import type { Resource } from '@medplum/fhirtypes';
import { conditionOf, parseCriteria, soleMatch } from '../../core/criteria';
import type { FhirServices } from '../../core/services';
import { mapLeaves } from '../../fhir/json-text';
import { FhirError } from '../../fhir/outcomes';

/**
 * `resource` with every reference to an entry or a condition replaced by its local reference.
 * The rest is shared with the request's parsed body, which nothing writes to.
 */
export async function rewriteReferences(services: FhirServices, resource: Resource | undefined, byFullUrl: ReadonlyMap<string, string>): Promise<Resource | undefined> {
  if (!resource) {
    return resource;
  }
  const conditional = await resolveConditionalReferences(services, resource);
  return mapLeaves(resource, (value, key) => {
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
  });
}

/** Each conditional reference in `resource`, resolved to exactly one match (412 for none or several). */
async function resolveConditionalReferences(services: FhirServices, resource: Resource): Promise<Map<string, string>> {
  const references = new Set<string>();
  mapLeaves(resource, (value, key) => {
    if (key === 'reference' && typeof value === 'string' && /^[A-Z][A-Za-z]+\?/.test(value)) references.add(value);
    return value;
  });
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
