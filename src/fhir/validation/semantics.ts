/**
 * Stage 5: what neither the JSON schema nor Medplum checks, found in one walk of the resource
 * along its StructureDefinitions: calendar validity of dates (dates.ts), required code bindings
 * the schema has no enum for (CarePlan.status, CarePlan.intent), choice-type conflicts
 * (valueString + valueBoolean), narrative (narrative.ts) and data-type invariants
 * (invariants.ts). Runs on what the earlier stages let through, and skips the invariants of an
 * element an earlier stage already reported an error at, above or below.
 */
import { toTypedValue } from '@medplum/core';
import type { InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isResourceType } from '../definitions';
import { calendarProblem } from './dates';
import { elementIndex, isResourceElement, typeSchema } from './element-types';
import { requiredCodes } from './generated-validator';
import { checkTypeInvariants } from './invariants';
import type { ResourceContext } from './invariants';
import { invalidCode, makeIssue } from './issues';
import { isObject, member } from './json';
import type { JsonObject } from './json';
import { narrativeProblem } from './narrative';

export function checkSemantics(resource: JsonObject, type: string, touchesError: (p: string) => boolean): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const schema = typeSchema(type);
  if (!schema) {
    return issues;
  }
  const self: TypedValue = toTypedValue(resource);
  new SemanticWalker(issues, touchesError).walkObject(resource, schema, type, { resource: self, rootResource: self });
  return issues;
}

/** Where the walker is: the element's type and definition, its path and resource. */
interface Position {
  code: string;
  element?: InternalSchemaElement;
  path: string;
  ctx: ResourceContext;
  /** For a contained resource: the resource containing it (%rootResource for ref-1). */
  containedIn?: TypedValue;
}

class SemanticWalker {
  constructor(
    private readonly issues: OperationOutcomeIssue[],
    private readonly touchesError: (p: string) => boolean,
  ) {}

  /** Returns true when an issue was found in or below the object. */
  walkObject(obj: JsonObject, schema: InternalTypeSchema, p: string, ctx: ResourceContext): boolean {
    const before = this.issues.length;
    const index = elementIndex(schema);
    let choices: Map<string, string[]> | undefined;
    for (const key of Object.keys(obj)) {
      const extension = key.startsWith('_');
      const info = index.get(extension ? key.slice(1) : key);
      if (!info || obj[key] === undefined) {
        continue; // unknown element: reported by the JSON schema
      }
      if (info.choice) {
        choices ??= new Map();
        const keys = choices.get(info.choice) ?? [];
        keys.push(key);
        choices.set(info.choice, keys);
      }
      const at: Position = { code: info.code, element: info.element, path: member(p, key), ctx };
      if (extension) {
        this.walkValue(obj[key], { ...at, code: 'Element', element: undefined });
      } else if (key === 'contained') {
        this.walkValue(obj[key], { ...at, containedIn: ctx.rootResource });
      } else {
        this.walkValue(obj[key], at);
      }
    }
    if (choices) {
      this.checkChoices(choices, p);
    }
    return this.issues.length > before;
  }

  private walkValue(value: unknown, at: Position): void {
    if (Array.isArray(value)) {
      value.forEach((item, i) => this.walkItem(item, { ...at, path: `${at.path}[${i}]` }));
    } else {
      this.walkItem(value, at);
    }
  }

  private walkItem(value: unknown, at: Position): void {
    const { code, path: p } = at;
    if (typeof value === 'string') {
      if (code === 'date' || code === 'dateTime' || code === 'instant') {
        const problem = calendarProblem(value, code);
        if (problem) {
          this.issues.push(makeIssue({ type: 'value', message: problem, expression: [p] }));
        }
      } else if (code === 'code' && at.element?.binding?.strength === 'required') {
        this.checkRequiredBinding(value, at.element.binding.valueSet, p);
      } else if (code === 'xhtml') {
        const problem = narrativeProblem(value);
        if (problem) {
          this.issues.push(makeIssue({ type: problem.type, message: problem.message, expression: [p] }));
        }
      }
      return;
    }
    if (!isObject(value)) {
      return;
    }
    if (isResourceElement(code)) {
      const schema = isResourceType(value.resourceType) ? typeSchema(value.resourceType) : undefined;
      if (schema) {
        const self = toTypedValue(value);
        this.walkObject(value, schema, p, { resource: self, rootResource: at.containedIn ?? self });
      }
      return;
    }
    const schema = typeSchema(code);
    if (schema && !this.walkObject(value, schema, p, at.ctx) && schema.kind === 'complex-type' && !this.touchesError(p)) {
      checkTypeInvariants(value, schema, at, this.issues);
    }
  }

  /** Required bindings the JSON schema has no enum for (CarePlan.status, CarePlan.intent, …). */
  private checkRequiredBinding(value: string, valueSet: string | undefined, p: string): void {
    const codes = valueSet === undefined ? undefined : requiredCodes(valueSet.split('|')[0] as string);
    if (codes && !codes.has(value)) {
      this.issues.push(invalidCode(value, codes, p));
    }
  }

  /** `value[x]` may appear once: valueString + valueBoolean (or _valueBoolean) is invalid. */
  private checkChoices(choices: Map<string, string[]>, p: string): void {
    for (const [choice, keys] of choices) {
      const types = new Set(keys.map((k) => (k.startsWith('_') ? k.slice(1) : k)));
      if (types.size > 1) {
        this.issues.push(
          makeIssue({
            type: 'structure',
            message: `Only one type may be given for ${choice}: found ${keys.join(', ')}`,
            expression: keys.map((k) => member(p, k)),
          }),
        );
      }
    }
  }
}
