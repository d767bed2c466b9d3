import { FhirError } from '../../src/fhir/outcomes';

/** The FhirError `fn` throws (a test fails when it throws nothing, or something else). */
export function failure(fn: () => unknown): FhirError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FhirError) return err;
    throw err;
  }
  throw new Error('expected a FhirError');
}

/** The FhirError `fn` rejects with. */
export async function refusal(fn: () => unknown): Promise<FhirError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof FhirError) return err;
    throw err;
  }
  throw new Error('expected a FhirError');
}
