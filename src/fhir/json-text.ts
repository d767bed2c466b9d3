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
 * back (a trailing zero in the fraction, an exponent, 16+ digits — 2^53 has 16 — , -0). It may
 * also match inside a string; the exact check below then finds nothing to keep, which costs only
 * time.
 */
const MAYBE_IMPRECISE = /[:,[]\s*(?:-?[0-9]+\.[0-9]*0\s*[,}\]]|-?[0-9.]+[eE]|-?[0-9.]{16,}|-0\s*[,}\]])/;

/**
 * JSON.parse that remembers the text of numbers a double cannot reproduce. For text the service
 * wrote itself (stored resources); a client's text goes through parseRequestJson.
 */
export function parseFhirJson(text: string): unknown {
  if (!MAYBE_IMPRECISE.test(text)) {
    return JSON.parse(text);
  }
  return withDecimalText(text, numberLexemes(text), () => JSON.parse(text) as unknown);
}

/** Deeper JSON is refused before anything recursive (patch, validation, FHIRPath) walks it. */
export const MAX_JSON_DEPTH = 200;

/** What is wrong with a client's JSON beyond its syntax, and where (path segments from the root). */
export class JsonTextError extends Error {
  constructor(
    message: string,
    readonly kind: 'duplicate-key' | 'too-deep',
    readonly path: readonly (string | number)[],
  ) {
    super(message);
    this.name = 'JsonTextError';
  }
}

/**
 * A client's JSON text: JSON.parse (syntax errors are SyntaxError), then one scan of the text
 * that refuses what JSON.parse would silently accept — a key repeated in one object (the last
 * one would win: RFC 8259 §4 leaves it undefined, FHIR JSON has no such objects) and nesting
 * deeper than MAX_JSON_DEPTH — and collects number texts so that decimals keep their text.
 * The scan jumps from quote to quote (indexOf), so its cost is in the number of tokens, not in
 * the length of strings.
 */
export function parseRequestJson(text: string): unknown {
  const parsed: unknown = JSON.parse(text);
  const lexemes = scanRequestJson(text);
  return withDecimalText(text, lexemes, () => parsed);
}

/** The number texts of valid JSON text, in document order; throws JsonTextError. */
function scanRequestJson(text: string): string[] {
  const lexemes: string[] = [];
  // One frame per open object or array: the keys seen (objects) or the current index (arrays).
  const keys: (Set<string> | undefined)[] = [];
  const at: (string | number)[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    switch (c) {
      case 0x22 /* " */: {
        const end = stringEnd(text, i);
        if (expectKey) {
          const raw = text.slice(i + 1, end);
          const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
          const seen = keys[keys.length - 1] as Set<string>;
          at[at.length - 1] = key;
          if (seen.has(key)) {
            throw new JsonTextError(`The key ${JSON.stringify(key)} appears more than once in one object`, 'duplicate-key', [...at]);
          }
          seen.add(key);
          expectKey = false;
        }
        i = end;
        break;
      }
      case 0x7b /* { */:
      case 0x5b /* [ */:
        if (keys.length >= MAX_JSON_DEPTH) {
          throw new JsonTextError(`JSON is nested more than ${MAX_JSON_DEPTH} levels deep`, 'too-deep', [...at]);
        }
        keys.push(c === 0x7b ? new Set() : undefined);
        at.push(c === 0x7b ? '' : 0);
        expectKey = c === 0x7b;
        break;
      case 0x7d /* } */:
      case 0x5d /* ] */:
        keys.pop();
        at.pop();
        expectKey = false;
        break;
      case 0x2c /* , */: {
        const top = at.length - 1;
        if (keys[top] === undefined) {
          at[top] = (at[top] as number) + 1;
        } else {
          expectKey = true;
        }
        break;
      }
      default:
        if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
          const start = i;
          while (i + 1 < n && isNumberChar(text.charCodeAt(i + 1))) i++;
          lexemes.push(text.slice(start, i + 1));
        }
    }
  }
  return lexemes;
}

/** The index of the quote that closes the string opened at `open`. */
function stringEnd(text: string, open: number): number {
  let end = text.indexOf('"', open + 1);
  for (;;) {
    let backslashes = 0;
    while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45;
}

/** `parse()` as is when every number is canonical; otherwise parsed again, remembering texts. */
function withDecimalText(text: string, lexemes: readonly string[], parse: () => unknown): unknown {
  if (!lexemes.some((lexeme) => String(Number(lexeme)) !== lexeme)) {
    return parse();
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

/**
 * JSON.stringify that writes remembered decimals with their original text. A replacer takes
 * V8 off its fast path (a call per value: a third of the time of a stored resource), so it is
 * used only when a walk finds remembered text somewhere.
 */
export function stringifyFhirJson(value: unknown, indent?: number): string {
  if (!remembersDecimalText(value)) {
    return JSON.stringify(value, undefined, indent);
  }
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

/**
 * Whether an object or array in `value` remembers the text of a number. FHIR JSON values are
 * plain (no toJSON), so what JSON.stringify writes is exactly what this walk visits.
 */
function remembersDecimalText(value: unknown): boolean {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  if ((value as Holder)[DECIMAL_TEXT]?.size) {
    return true;
  }
  if (Array.isArray(value)) {
    return value.some(remembersDecimalText);
  }
  for (const key in value) {
    if (remembersDecimalText((value as Record<string, unknown>)[key])) {
      return true;
    }
  }
  return false;
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

/**
 * `value` with each leaf (anything but an object or array) mapped to `map(leaf, key)`, `key`
 * being its member name (undefined in an array). Only the objects and arrays on the way to a
 * changed leaf are copied, keeping their remembered decimals; the rest is shared with `value`.
 */
export function mapLeaves<T>(value: T, map: (leaf: unknown, key: string | undefined) => unknown): T {
  const visit = (node: unknown, key: string | undefined): unknown => {
    if (node === null || typeof node !== 'object') {
      return map(node, key);
    }
    if (Array.isArray(node)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        const mapped = visit(item, undefined);
        if (mapped !== item) (copy ??= keepDecimalText(node, node.slice()))[i] = mapped;
      }
      return copy ?? node;
    }
    let copy: Record<string, unknown> | undefined;
    // for…in: JSON values have no inherited members, and it allocates no entry pairs.
    for (const k in node) {
      const item: unknown = (node as Record<string, unknown>)[k];
      const mapped = visit(item, k);
      if (mapped !== item) (copy ??= keepDecimalText(node, { ...node }) as Record<string, unknown>)[k] = mapped;
    }
    return copy ?? node;
  };
  return visit(value, undefined) as T;
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
