/** One registry per test file (building it loads the definitions: about a second). */
import type { SearchParameter } from '@medplum/fhirtypes';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import type { SearchParameterRegistry } from '../../../src/search/registry';

export const BASE_URL = 'https://casebridge.example/fhir';

/** A custom parameter like the ones profiles/ will hold. */
export const CUSTOM_PARAMETERS: SearchParameter[] = [
  {
    resourceType: 'SearchParameter',
    url: 'http://casebridge.org/fhir/SearchParameter/careplan-case-worker',
    name: 'case-worker',
    status: 'active',
    description: 'Case worker named on a CarePlan (custom, for tests)',
    code: 'case-worker',
    base: ['CarePlan'],
    type: 'reference',
    expression: "CarePlan.contributor.where(resolve() is Practitioner)",
    target: ['Practitioner'],
  },
];

let registry: SearchParameterRegistry | undefined;

export function testRegistry(): SearchParameterRegistry {
  registry ??= buildSearchParameterRegistry({ baseUrl: BASE_URL, custom: CUSTOM_PARAMETERS });
  return registry;
}
