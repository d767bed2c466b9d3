import { JsonTextError, parseRequestJson } from '../fhir/json-text';
import { FhirError } from '../fhir/outcomes';

/** Refuses bytes that are not UTF-8 instead of storing U+FFFD in their place (RFC 8259 §8.1). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A request body as JSON, with decimals keeping the text the client wrote (fhir/json-text); the
 * one JSON reader of the FHIR and case APIs. 400 MALFORMED_JSON for invalid UTF-8, invalid JSON
 * and a key repeated in one object (located by FHIRPath); 400 TOO_DEEP for nesting past
 * MAX_JSON_DEPTH.
 */
export function parseJsonBody(raw: Buffer): unknown {
  const text = decodeUtf8(raw);
  try {
    return parseRequestJson(text);
  } catch (err) {
    if (err instanceof JsonTextError) {
      const where = location(text, err.path);
      throw new FhirError(err.kind === 'too-deep' ? 'TOO_DEEP' : 'MALFORMED_JSON', `${err.message}${where ? ` (at ${where})` : ''}`, {
        ...(where ? { expression: [where] } : {}),
      });
    }
    throw new FhirError('MALFORMED_JSON', `The request body is not valid JSON${err instanceof SyntaxError ? `: ${err.message}` : ''}`);
  }
}

/** The body as text; invalid UTF-8 is 400 with the offset of its first bad byte. */
export function decodeUtf8(raw: Buffer): string {
  try {
    return UTF8.decode(raw);
  } catch {
    throw new FhirError('MALFORMED_JSON', `The request body is not valid UTF-8 (first invalid byte at offset ${firstInvalidByte(raw)})`);
  }
}

/** Where UTF-8 decoding first fails: only computed for a body already known to be invalid. */
function firstInvalidByte(raw: Buffer): number {
  for (let i = 0; i < raw.length; ) {
    const b = raw[i] as number;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0 || i + length > raw.length) return i;
    try {
      UTF8.decode(raw.subarray(i, i + length));
    } catch {
      return i;
    }
    i += length;
  }
  return raw.length;
}

/**
 * A FHIRPath-like location (`Patient.name[0].family`) of path segments from the root: the root
 * is named by its resourceType when the body says one, as validation names it.
 */
function location(text: string, path: readonly (string | number)[]): string {
  const type = resourceTypeOf(text);
  let out = type ?? '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

function resourceTypeOf(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    const type = (parsed as { resourceType?: unknown } | null)?.resourceType;
    return typeof type === 'string' && /^[A-Z][A-Za-z]+$/.test(type) ? type : undefined;
  } catch {
    return undefined;
  }
}
