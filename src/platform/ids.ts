import { randomUUID } from 'node:crypto';

/** Server-assigned logical ids: UUIDs fit FHIR's id type ([A-Za-z0-9\-\.]{1,64}). */
export function newId(): string {
  return randomUUID();
}
