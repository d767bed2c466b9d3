/**
 * Stage 4: Medplum's StructureDefinition validator: cardinality, required elements, the
 * invariants declared on elements (FHIRPath), empty objects, references. Its issues are reworded
 * and re-addressed to match the other stages; those another stage reports better are dropped.
 * See: https://hl7.org/fhir/R4/validation.html#structure
 */
import { OperationOutcomeError, validateResource as validateWithStructureDefinitions } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { IssueType } from '../outcomes';
import { issuePath, makeIssue, within } from './issues';
import { isObject, member } from './json';
import type { JsonObject } from './json';

/**
 * Medplum issues reported better elsewhere: choice conflicts by the semantic stage (Medplum's
 * expression is only the key); array-versus-single by the JSON schema (Medplum's path lacks the
 * array indexes).
 */
const MEDPLUM_REPLACED = [
  /^Conflicting choice of type properties/,
  /^Type of primitive extension does not match/,
  /^Expected (array of values|single value) for property$/,
];

/**
 * `removedKeys`: paths of the forbidden keys stage 2 removed. Removing one can leave its object
 * empty: that is not a second problem.
 */
export function checkStructureDefinitions(resource: JsonObject, type: string, removedKeys: readonly string[]): OperationOutcomeIssue[] {
  let raw: OperationOutcomeIssue[];
  try {
    raw = validateWithStructureDefinitions(resource as unknown as Resource);
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      return [
        makeIssue({
          type: 'exception',
          message: 'The resource could not be fully validated',
          diagnostics: `The resource could not be fully validated: ${err instanceof Error ? err.message : String(err)}`,
          expression: [type],
        }),
      ];
    }
    raw = err.outcome.issue ?? [];
  }
  const issues: OperationOutcomeIssue[] = [];
  for (const issue of raw) {
    const text = issue.details?.text ?? issue.diagnostics ?? 'Invalid resource';
    if (MEDPLUM_REPLACED.some((re) => re.test(text)) || isAbsoluteReferenceWarning(text) || isEmptyProbabilityRas2(resource, issue, text)) {
      continue;
    }
    const mapped = fromMedplumIssue(resource, type, issue, text);
    if (removedKeys.length > 0 && isEmptiedByRemoval(mapped, removedKeys)) {
      continue;
    }
    issues.push(mapped);
  }
  return issues;
}

function isEmptiedByRemoval(issue: OperationOutcomeIssue, removedKeys: readonly string[]): boolean {
  return /^Invalid empty/.test(issue.details?.text ?? '') && removedKeys.some((r) => within(r, issuePath(issue)));
}

/**
 * ras-2 (`probability is decimal implies (probability as decimal) <= 100`) on a prediction without
 * probabilityDecimal: Medplum's `is` answers an empty collection with empty, and Medplum counts an
 * empty result as "not met", so every prediction giving only qualitativeRisk (or a range) would be
 * refused. An empty result is not a violation (invariants.ts decides the same). Among R4's
 * resource constraints only ras-2 tests `is` on an optional element.
 */
function isEmptyProbabilityRas2(resource: JsonObject, issue: OperationOutcomeIssue, text: string): boolean {
  const at = /^RiskAssessment\.prediction\[(\d+)\]$/.exec(issue.expression?.[0] ?? '');
  if (!text.startsWith('Constraint ras-2 not met') || at?.[1] === undefined || !Array.isArray(resource.prediction)) {
    return false;
  }
  const prediction: unknown = resource.prediction[Number(at[1])];
  return isObject(prediction) && prediction.probabilityDecimal === undefined;
}

/**
 * Medplum takes the text before the first "/" as the target type, so `urn:uuid:…` (transaction
 * Bundles) and absolute URLs get a bogus "Invalid reference" warning; their type is unknown here.
 */
function isAbsoluteReferenceWarning(text: string): boolean {
  const m = /^Invalid reference: got "([^"]*)"/.exec(text);
  return m?.[1] !== undefined && m[1].includes(':');
}

function fromMedplumIssue(resource: JsonObject, type: string, issue: OperationOutcomeIssue, text: string): OperationOutcomeIssue {
  let expression = issue.expression?.[0] ?? type;
  let message = text;
  let issueType: IssueType = issue.code;
  let severity: 'error' | 'warning' = issue.severity === 'warning' || issue.severity === 'information' ? 'warning' : 'error';

  const additional = /^Invalid additional property "(.*)"$/s.exec(text);
  if (additional?.[1] !== undefined) {
    const key = additional[1];
    const parent = expression.slice(0, expression.length - key.length - 1);
    // Medplum reports a string given for a complex type once per character ("0", "1", …).
    if (/^\d+$/.test(key)) {
      expression = parent;
      message = 'Invalid JSON type: expected an object';
    } else {
      expression = member(parent, key);
      message = `Unknown element "${key}"`;
    }
  }
  if (expression.includes('[x]')) {
    expression = resolveChoicePath(resource, expression);
  }
  if (text === 'Missing required property') {
    issueType = 'required';
    message = `Missing required element "${expression.slice(expression.lastIndexOf('.') + 1)}"`;
  } else if (/^Invalid \S+ format$/.test(text) || /^(Expected number|Invalid numeric value|String )/.test(text)) {
    issueType = 'value';
  } else if (issue.code === 'processing') {
    // An invariant our FHIRPath engine cannot evaluate is our limitation, not the client's error.
    severity = 'warning';
  }
  let diagnostics = message;
  if (issue.diagnostics) {
    try {
      const data = JSON.parse(issue.diagnostics) as { fhirpath?: unknown };
      if (typeof data.fhirpath === 'string') {
        diagnostics = `${message} (FHIRPath: ${data.fhirpath})`;
      }
    } catch {
      // not JSON: keep the message
    }
  }
  return makeIssue({ severity, type: issueType, message, diagnostics, expression: [expression] });
}

/** `Patient.multipleBirth[x]` → `Patient.multipleBirthInteger`, looking at the resource. */
function resolveChoicePath(resource: JsonObject, expression: string): string {
  const parts = expression.split('.');
  let value: unknown = resource;
  for (let i = 1; i < parts.length; i++) {
    const m = /^(.*?)((?:\[\d+\])*)$/.exec(parts[i] as string);
    let name = m?.[1] ?? '';
    const indexes = m?.[2] ?? '';
    if (!isObject(value)) {
      break;
    }
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      const key = Object.keys(value).find((k) => k.startsWith(base) && /^[A-Z]/.test(k.slice(base.length)));
      if (key === undefined) {
        break;
      }
      name = key;
      parts[i] = key + indexes;
    }
    value = value[name];
    for (const idx of indexes.match(/\d+/g) ?? []) {
      value = Array.isArray(value) ? value[Number(idx)] : undefined;
    }
  }
  return parts.join('.');
}
