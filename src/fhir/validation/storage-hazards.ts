/**
 * Stage 2: what would be dangerous to store or to hand to the later stages, anywhere in the tree:
 * keys MongoDB would read as operators or paths (`$where`, `a.b`) and keys JavaScript treats
 * specially (`__proto__`, `constructor`, `prototype`); control characters and unpaired surrogates
 * in strings; nested and empty arrays; JSON deeper than MAX_DEPTH, which the recursive validators
 * after this one must never see. FHIR JSON has no free-form maps, so no valid element is lost.
 * See: https://hl7.org/fhir/R4/json.html
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { MAX_ISSUES, makeIssue } from './issues';
import { isObject, member } from './json';
import type { JsonObject } from './json';

/** Deeper JSON is rejected before any recursive validator sees it (stack safety). */
export const MAX_DEPTH = 100;

/** A quick filter: control characters (except tab, LF, CR) and surrogates. */
const SUSPICIOUS_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF]/;
const CONTROL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a key may not be stored, or undefined. FHIR JSON has no free-form maps, so no element is named like this. */
function forbiddenKeyReason(key: string): string | undefined {
  if (key.startsWith('$')) {
    return 'FHIR element names never begin with "$", which databases read as an operator';
  }
  if (key.includes('.')) {
    return 'FHIR element names never contain ".", which databases read as a path';
  }
  if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
    return 'the name is a JavaScript prototype property';
  }
  if (CONTROL_CHAR.test(key)) {
    return 'names may not contain control characters';
  }
  return undefined;
}

function stringProblem(value: string): string | undefined {
  const control = CONTROL_CHAR.exec(value);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `String contains the control character U+${code} at position ${control.index}; only tab, carriage return and line feed are allowed below U+0020`;
  }
  if (LONE_SURROGATE.test(value)) {
    return 'String contains an unpaired UTF-16 surrogate (not valid Unicode)';
  }
  return undefined;
}

export interface HazardScan {
  issues: OperationOutcomeIssue[];
  /** Some key was forbidden: later stages must get withoutForbiddenKeys() of the resource. */
  forbiddenKeys: boolean;
  /** Deeper than MAX_DEPTH: validation stops here. */
  tooDeep: boolean;
}

export function scanHazards(resource: JsonObject, rootPath: string): HazardScan {
  const scan: HazardScan = { issues: [], forbiddenKeys: false, tooDeep: false };
  // One past the cap, so that the issue list knows it truncated.
  const report = (issue: OperationOutcomeIssue): void => {
    if (scan.issues.length <= MAX_ISSUES) {
      scan.issues.push(issue);
    }
  };
  // The keys and indexes from the root to the value visited: its location is written out only
  // when an issue needs it (building one for every value was a third of this stage).
  const at: (string | number)[] = [];
  const location = (): string => at.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : member(p, k)), rootPath);
  const visit = (value: unknown, depth: number): void => {
    if (typeof value === 'string') {
      const problem = SUSPICIOUS_CHAR.test(value) ? stringProblem(value) : undefined;
      if (problem) {
        report(makeIssue({ type: 'value', message: problem, expression: [location()] }));
      }
      return;
    }
    if (typeof value !== 'object' || value === null || scan.tooDeep) {
      return;
    }
    if (depth >= MAX_DEPTH) {
      scan.tooDeep = true;
      report(
        makeIssue({ type: 'too-costly', message: `JSON is nested more than ${MAX_DEPTH} levels deep`, expression: [location()] }),
      );
      return;
    }
    if (Array.isArray(value)) {
      if (value.length === 0) {
        report(
          makeIssue({ type: 'structure', message: 'Empty arrays are not valid FHIR JSON: omit the element instead', expression: [location()] }),
        );
      }
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        at.push(i);
        if (Array.isArray(item)) {
          report(makeIssue({ type: 'structure', message: 'Nested arrays are not valid FHIR JSON', expression: [location()] }));
        }
        visit(item, depth + 1);
        at.pop();
      }
      return;
    }
    for (const key of Object.keys(value)) {
      at.push(key);
      const reason = forbiddenKeyReason(key);
      if (reason) {
        scan.forbiddenKeys = true;
        report(
          makeIssue({
            type: 'security',
            code: 'FORBIDDEN_KEY',
            message: `Element name ${JSON.stringify(key)} is not allowed: ${reason}`,
            expression: [location()],
          }),
        );
      } else {
        visit((value as JsonObject)[key], depth + 1);
      }
      at.pop();
    }
  };
  visit(resource, 0);
  return scan;
}

/** A copy without the forbidden keys, so that later stages neither see nor repeat them. */
export function withoutForbiddenKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withoutForbiddenKeys);
  }
  if (!isObject(value)) {
    return value;
  }
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    if (!forbiddenKeyReason(key)) {
      copy[key] = withoutForbiddenKeys(value[key]);
    }
  }
  return copy;
}
