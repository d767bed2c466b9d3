import { FhirError } from '../fhir/outcomes';
import type { FhirSettings } from './services';

/** _count: absent → the default page size; above the maximum → the maximum (search.html#count). */
export function pageSize(value: string | undefined, settings: Pick<FhirSettings, 'defaultPageSize' | 'maxPageSize'>): number {
  if (value === undefined) {
    return settings.defaultPageSize;
  }
  if (!/^\d{1,9}$/.test(value)) {
    throw new FhirError('INVALID_REQUEST', `_count must be a non-negative integer, got "${value}"`, { expression: ['_count'] });
  }
  return Math.min(Number(value), settings.maxPageSize);
}
