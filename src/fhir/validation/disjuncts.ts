/**
 * The operands of a FHIRPath expression's top-level `or` chain, read from its text.
 *
 * An invariant such as ref-1 (`reference.startsWith('#').not() or (… in %rootResource.contained.id)`)
 * holds as soon as one operand is true; fhirpath.js evaluates every operand anyway, and the HL7
 * validator's engine does not (it short-circuits `or`). Evaluating the operands one by one lets a
 * passing invariant stop at the first true one: on a service plan, about half of the FHIRPath time.
 *
 * `or` binds looser than every operator but `xor` and `implies` (FHIRPath N1 §6.8 precedence), so
 * an expression with either of those at top level is not split. Strings, delimited identifiers,
 * comments and brackets are skipped while looking for the word `or`.
 * See: https://hl7.org/fhirpath/N1/#operator-precedence
 */
export function topLevelDisjuncts(expression: string): string[] | undefined {
  const operands: string[] = [];
  let depth = 0;
  let start = 0;
  let i = 0;
  const n = expression.length;
  while (i < n) {
    const c = expression[i] as string;
    if (c === "'" || c === '`') {
      i = skipQuoted(expression, i, c);
      continue;
    }
    if (c === '/' && expression[i + 1] === '/') {
      const end = expression.indexOf('\n', i);
      i = end < 0 ? n : end;
      continue;
    }
    if (c === '/' && expression[i + 1] === '*') {
      const end = expression.indexOf('*/', i + 2);
      if (end < 0) return undefined;
      i = end + 2;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth < 0) return undefined;
    } else if (depth === 0 && isWordStart(expression, i)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expression.slice(i))?.[0] ?? '';
      if (word === 'xor' || word === 'implies') {
        return undefined;
      }
      if (word === 'or' && /\s/.test(expression[i - 1] ?? '') && /\s/.test(expression[i + 2] ?? '')) {
        operands.push(expression.slice(start, i).trim());
        start = i + 2;
      }
      i += Math.max(word.length, 1);
      continue;
    }
    i++;
  }
  if (depth !== 0) return undefined;
  operands.push(expression.slice(start).trim());
  return operands.length > 1 && operands.every((o) => o.length > 0) ? operands : undefined;
}

/** The index after a quoted string or delimited identifier starting at `from` (backslash escapes). */
function skipQuoted(text: string, from: number, quote: string): number {
  let i = from + 1;
  while (i < text.length) {
    if (text[i] === '\\') {
      i += 2;
      continue;
    }
    if (text[i] === quote) return i + 1;
    i++;
  }
  return text.length;
}

/** A word starts here: a letter or underscore not preceded by an identifier character, `.`, `%` or `$`. */
function isWordStart(text: string, i: number): boolean {
  return /[A-Za-z_]/.test(text[i] as string) && !/[A-Za-z0-9_.%$]/.test(text[i - 1] ?? '');
}
