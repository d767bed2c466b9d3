/**
 * FHIR JSON text ↔ values, keeping the precision of decimals. FHIR decimals keep their precision
 * (`1.50` is not `1.5`, and `100.00` is a price, not an integer), but JSON.parse turns every number
 * into a double. A number whose text the double does not reproduce is remembered on the object or
 * array that holds it, under a symbol that validation, FHIRPath and the database never see, and is
 * written back as it came — but only while the value is still that number, so a change to the
 * value (a patch, a rewrite) simply wins.
 * See: https://hl7.org/fhir/R4/json.html#primitive (decimal) and https://hl7.org/fhir/R4/datatypes.html#decimal
 */
import { randomBytes } from 'node:crypto';

const DECIMAL_TEXT = Symbol('decimal text');

type Holder = object & { [DECIMAL_TEXT]?: Map<string, string> };

/**
 * Cheap pre-check on the raw text: a number in value position whose text a double would not give
 * back (a trailing zero in the fraction, an exponent, 17+ digits, -0). It may also match inside a
 * string; the exact check below then finds nothing to keep, which costs only time.
 */
const MAYBE_IMPRECISE = /[:,[]\s*(?:-?[0-9]+\.[0-9]*0\s*[,}\]]|-?[0-9.]+[eE]|-?[0-9.]{17,}|-0\s*[,}\]])/;

/** JSON.parse that remembers the text of numbers a double cannot reproduce. */
export function parseFhirJson(text: string): unknown {
  if (!MAYBE_IMPRECISE.test(text)) {
    return JSON.parse(text);
  }
  const lexemes = numberLexemes(text);
  if (!lexemes.some((lexeme) => String(Number(lexeme)) !== lexeme)) {
    return JSON.parse(text);
  }
  // The reviver sees numbers in document order, as the scan found them; a mismatch (duplicate
  // keys, integer-like keys reordered) stops the pairing rather than pairing wrongly.
  let next = 0;
  let paired = true;
  return JSON.parse(text, function (this: Holder, key: string, value: unknown) {
    if (typeof value === 'number' && paired) {
      const lexeme = lexemes[next++];
      if (lexeme === undefined || Number(lexeme) !== value) {
        paired = false;
      } else if (String(value) !== lexeme) {
        (this[DECIMAL_TEXT] ??= new Map()).set(key, lexeme);
      }
    }
    return value;
  });
}

/** The text of every number outside strings, in document order. */
function numberLexemes(text: string): string[] {
  const lexemes: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      }
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      while (i + 1 < text.length && /[-+.eE0-9]/.test(text.charAt(i + 1))) i++;
      lexemes.push(text.slice(start, i + 1));
    }
  }
  return lexemes;
}

// A per-process marker no client can forge: a string carrying it becomes a bare number below.
const MARK = `\u0000${randomBytes(12).toString('hex')}:`;
const MARKED = new RegExp(`"\\\\u0000${MARK.slice(1)}([-+.eE0-9]+)"`, 'g');

/** JSON.stringify that writes remembered decimals with their original text. */
export function stringifyFhirJson(value: unknown, indent?: number): string {
  let marked = false;
  const text = JSON.stringify(
    value,
    function (this: Holder, key: string, v: unknown) {
      const lexeme = typeof v === 'number' ? this[DECIMAL_TEXT]?.get(key) : undefined;
      if (lexeme !== undefined && Number(lexeme) === v) {
        marked = true;
        return MARK + lexeme;
      }
      return v;
    },
    indent,
  );
  return marked ? text.replace(MARKED, '$1') : text;
}

/** The remembered text of the number at holder[key], if any. */
export function decimalTextOf(holder: object, key: string): string | undefined {
  return (holder as Holder)[DECIMAL_TEXT]?.get(key);
}

/** Remembers the text of the number now at holder[key] (or forgets the old one). */
export function setDecimalText(holder: object, key: string, text: string | undefined): void {
  const target = holder as Holder;
  if (text !== undefined) {
    (target[DECIMAL_TEXT] ??= new Map()).set(key, text);
  } else {
    target[DECIMAL_TEXT]?.delete(key);
  }
}

/** Carries the remembered decimals of `from` to `to`, a rebuilt copy with the same keys. */
export function keepDecimalText<T extends object>(from: object, to: T): T {
  const table = (from as Holder)[DECIMAL_TEXT];
  if (table) {
    (to as Holder)[DECIMAL_TEXT] = new Map(table);
  }
  return to;
}

/** A deep copy that keeps remembered decimals (structuredClone drops them). */
export function cloneFhirJson<T>(value: T): T {
  if (Array.isArray(value)) {
    return keepDecimalText(value, value.map((item: unknown) => cloneFhirJson(item))) as T;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = cloneFhirJson(item);
    }
    return keepDecimalText(value, copy) as T;
  }
  return value;
}
