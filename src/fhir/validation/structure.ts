/**
 * Stage 4: one walk of the resource along the R4 StructureDefinitions (Medplum's index of them),
 * checking what the JSON schema cannot:
 *  - the JSON format rules: no empty objects (ele-1), null only where a repeating primitive's
 *    `_x` partner holds an extension at that index, `_x` an object for a single primitive and an
 *    array aligned with the values for a repeating one, the content of `_x` (id, extensions)
 *    validated like any element, a primitive present as a value or extensions;
 *  - each primitive's lexical form and range (primitives.ts), required code bindings the schema
 *    has no enum for, narrative (narrative.ts);
 *  - cardinality (min, max), one type per choice element;
 *  - the invariants of every element, data type and resource (invariants.ts, FHIRPath), in
 *    contained resources, Bundle entries and Parameters as well.
 * Issues are located with FHIRPath as the HL7 validator locates them: `ofType()` for a choice
 * type, a primitive's `_x` part at the primitive's own path, an index on every repeating element,
 * cardinality and choice conflicts at the element that holds them.
 * See: https://hl7.org/fhir/R4/json.html, https://hl7.org/fhir/R4/validation.html
 */
import type { InternalSchemaElement, InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isResourceType } from '../definitions';
import type { IssueType } from '../outcomes';
import { PRIMITIVE_TYPES, choiceKey, elementIndex, isResourceElement, typeSchema } from './element-types';
import type { ElementInfo } from './element-types';
import { requiredCodes } from './generated-validator';
import { NATIVE_CONSTRAINTS, evaluateInvariant } from './invariants';
import type { Constraint, InvariantScope } from './invariants';
import { invalidCode, makeIssue } from './issues';
import { isObject, member } from './json';
import type { JsonObject } from './json';
import { decimalTextOf } from '../json-text';
import { narrativeProblem } from './narrative';
import { primitiveProblem } from './primitives';

/**
 * `skipInvariantsAt(p)`: true where an earlier stage reported an error at, above or below `p`;
 * invariants of such an element are not evaluated (they would only restate the fault).
 */
export function checkStructure(resource: JsonObject, type: string, skipInvariantsAt: (p: string) => boolean = () => false): OperationOutcomeIssue[] {
  const walker = new StructureWalker(skipInvariantsAt);
  walker.walkResource(resource, type, type, { resource, rootResource: resource });
  return walker.issues;
}

const EMPTY_OBJECT = 'Object must have some content: an element needs a value or children (ele-1); omit it instead';

class StructureWalker {
  readonly issues: OperationOutcomeIssue[] = [];

  constructor(private readonly skipInvariantsAt: (p: string) => boolean) {}

  walkResource(resource: JsonObject, type: string, p: string, scope: InvariantScope): void {
    const schema = typeSchema(type);
    if (!schema) {
      return;
    }
    // A resource id given only as extensions (`_id`) is no id. See: https://hl7.org/fhir/R4/resource.html#id
    if (resource.id === undefined && resource._id !== undefined) {
      this.error('value', 'A resource id needs a value, not only extensions', member(p, 'id'));
    }
    // The id's pattern (JSON schema stage) admits `.` and `..`, which are URL dot-segments (fhir/versioning.ts).
    if (resource.id === '.' || resource.id === '..') {
      this.error('value', `Invalid id ${JSON.stringify(resource.id)}: "." and ".." are URL path segments, not ids`, member(p, 'id'));
    }
    if (!this.walkObject(resource, schema, p, scope)) {
      this.checkInvariants(resource, p, scope, [[type, schema.constraints]]);
    }
  }

  /** Returns true when an issue was found in or below the object. */
  private walkObject(obj: JsonObject, schema: InternalTypeSchema, p: string, scope: InvariantScope): boolean {
    const before = this.issues.length;
    const keys = Object.keys(obj);
    if (keys.length === 0 || (keys.length === 1 && keys[0] === 'resourceType')) {
      this.error('structure', EMPTY_OBJECT, p);
      return true;
    }
    const index = elementIndex(schema);
    let choices: Map<string, string[]> | undefined;
    for (const key of keys) {
      const underscore = key.startsWith('_');
      const name = underscore ? key.slice(1) : key;
      const info = index.get(name);
      if (!info || obj[key] === undefined) {
        continue; // unknown element (or resourceType): the JSON schema stage reports it
      }
      if (info.choice) {
        choices ??= new Map();
        const forChoice = choices.get(info.choice) ?? [];
        if (!forChoice.includes(name)) forChoice.push(name);
        choices.set(info.choice, forChoice);
      }
      if (PRIMITIVE_TYPES.has(info.code)) {
        // A value and its `_name` part are checked together, once: at the value's key, or at
        // `_name` when there is no value.
        if (!underscore || obj[name] === undefined) {
          this.checkPrimitiveElement({ obj, name, info, p: p + info.pathSuffix, scope });
        }
      } else if (!underscore) {
        this.walkComplexElement(obj[key], info, p + info.pathSuffix, { scope, container: obj });
      }
    }
    this.checkCardinality(obj, schema, p);
    if (choices) {
      this.checkChoices(choices, p);
    }
    return this.issues.length > before;
  }

  private walkComplexElement(value: unknown, info: ElementInfo, p: string, at: { scope: InvariantScope; container: JsonObject }): void {
    const items = info.element.isArray ? (Array.isArray(value) ? value : undefined) : Array.isArray(value) ? undefined : [value];
    if (!items) {
      return; // array for a single element or the reverse: the JSON schema stage reports it
    }
    items.forEach((item, i) => {
      const itemPath = info.element.isArray ? `${p}[${i}]` : p;
      if (item === null) {
        this.error('structure', 'null is not a valid value: omit the element instead', itemPath);
      } else if (isObject(item)) {
        this.walkComplexValue(item, info, itemPath, at);
      }
    });
  }

  private walkComplexValue(value: JsonObject, info: ElementInfo, p: string, at: { scope: InvariantScope; container: JsonObject }): void {
    const { scope } = at;
    if (isResourceElement(info.code)) {
      if (!isResourceType(value.resourceType)) {
        return; // missing or unknown resourceType: reported by the JSON schema stage
      }
      // A contained resource keeps its container as %rootResource; an entry or a parameter is
      // a resource of its own, resolve() looking in the Bundle that holds it.
      const contained = info.element.path.endsWith('.contained');
      const bundle = scope.resource.resourceType === 'Bundle' ? scope.resource : scope.bundle;
      this.walkResource(value, value.resourceType, p, {
        resource: value,
        rootResource: contained ? scope.rootResource : value,
        ...(bundle ? { bundle } : {}),
      });
      return;
    }
    const schema = typeSchema(info.code);
    if (!schema || this.walkObject(value, schema, p, scope)) {
      return;
    }
    if (info.code === 'Reference') {
      this.checkReferenceTarget(value, info, p);
    }
    const sources: Array<[string, readonly Constraint[] | undefined]> = [];
    if (!info.choice) {
      sources.push([info.element.path, info.element.constraints]);
    }
    if (schema.kind === 'complex-type') {
      sources.push([info.code, schema.constraints]);
    }
    this.checkInvariants(value, p, scope, sources);
  }

  /** The error-severity invariants from each [base, constraints] source, each key once. */
  private checkInvariants(node: JsonObject, p: string, scope: InvariantScope, sources: Array<[string, readonly Constraint[] | undefined]>): void {
    if (this.skipInvariantsAt(p)) {
      return;
    }
    const done = new Set<string>();
    for (const [base, constraints] of sources) {
      for (const constraint of constraints ?? []) {
        if (constraint.severity !== 'error' || NATIVE_CONSTRAINTS.has(constraint.key) || done.has(constraint.key)) {
          continue;
        }
        done.add(constraint.key);
        const result = evaluateInvariant(base, constraint, node, scope);
        if (result.outcome === 'pass') {
          continue;
        }
        const description = constraint.description ?? constraint.expression;
        if (result.outcome === 'fail') {
          const message = `Constraint ${constraint.key} not met: ${description}`;
          for (const at of failureLocations(constraint.key, node, p, result.unmatched)) {
            this.issues.push(makeIssue({ type: 'invariant', message, diagnostics: `${message} (FHIRPath: ${constraint.expression})`, expression: [at] }));
          }
        } else {
          const message = `Constraint ${constraint.key} (${description}) was not checked: ${result.reason}`;
          this.issues.push(makeIssue({ severity: 'warning', type: 'informational', message, diagnostics: `${message} (FHIRPath: ${constraint.expression})`, expression: [p] }));
        }
      }
    }
  }

  /**
   * A primitive element, single or repeating: its values and its `_name` part together.
   * See: https://hl7.org/fhir/R4/json.html#primitive
   */
  private checkPrimitiveElement(at: { obj: JsonObject; name: string; info: ElementInfo; p: string; scope: InvariantScope }): void {
    const { obj, name, info, p, scope } = at;
    const value = obj[name];
    const extra = obj[info.extensionKey];
    if (!info.element.isArray) {
      if (value === null) {
        this.error('structure', 'null is not a valid value: omit the element instead', p);
      } else if (value !== undefined && !Array.isArray(value)) {
        this.checkPrimitiveValue(value, info, p, decimalTextOf(obj, name));
      }
      if (extra !== undefined) {
        if (!isObject(extra)) {
          this.error('structure', `The extensions of a single primitive ("_${name}") must be an object, not ${describe(extra)}`, p);
        } else {
          this.checkPrimitivePart(extra, value !== undefined && value !== null, p, scope);
        }
      }
      return;
    }
    const values = Array.isArray(value) ? value : undefined;
    if (value !== undefined && !values) {
      return; // a single value for a repeating element: reported by the JSON schema stage
    }
    if (extra !== undefined && !Array.isArray(extra)) {
      this.error('structure', `The extensions of a repeating primitive ("_${name}") must be an array aligned with "${name}", not ${describe(extra)}`, p);
      return;
    }
    // Items of "_name" past the end of "name" stand for values given only as extensions (the
    // HL7 validator reads them so); each must then have extensions.
    const parts = extra as unknown[] | undefined;
    const n = Math.max(values?.length ?? 0, parts?.length ?? 0);
    for (let i = 0; i < n; i++) {
      const v = values?.[i];
      const part = parts?.[i];
      const itemPath = `${p}[${i}]`;
      const hasValue = v !== undefined && v !== null;
      if (hasValue) {
        this.checkPrimitiveValue(v, info, itemPath, values ? decimalTextOf(values, String(i)) : undefined);
      }
      if (part !== undefined && part !== null) {
        if (!isObject(part)) {
          this.error('structure', `Items of "_${name}" must be objects or null, not ${describe(part)}`, itemPath);
          continue;
        }
        this.checkPrimitivePart(part, hasValue, itemPath, scope);
      } else if (!hasValue) {
        // json.html: null stands in for a missing value only where "_name" has the extensions.
        this.error('structure', `null in "${name}" needs an id or extensions at the same index of "_${name}"`, itemPath);
      }
    }
  }

  /** `written`: the number's text as the client wrote it, when a double does not reproduce it (fhir/json-text). */
  private checkPrimitiveValue(value: unknown, info: ElementInfo, p: string, written?: string): void {
    const problem = primitiveProblem(info.code, value, written);
    if (problem) {
      this.error(problem.type, problem.message, p);
      return;
    }
    if (typeof value !== 'string') {
      return;
    }
    if (info.code === 'code' && info.element.binding?.strength === 'required') {
      const valueSet = info.element.binding.valueSet;
      const codes = valueSet === undefined ? undefined : requiredCodes(valueSet.split('|')[0] as string);
      if (codes && !codes.has(value)) {
        this.issues.push(invalidCode(value, codes, p));
      }
    } else if (info.code === 'xhtml') {
      const problem = narrativeProblem(value);
      if (problem) {
        this.error(problem.type, problem.message, p);
      }
    }
  }

  /** The `_name` object of a primitive: an Element (id, extensions) that must not be empty. */
  private checkPrimitivePart(part: JsonObject, hasValue: boolean, p: string, scope: InvariantScope): void {
    if (Object.keys(part).length === 0) {
      this.error('structure', EMPTY_OBJECT, p);
      return;
    }
    const element = typeSchema('Element');
    if (element) {
      this.walkObject(part, element, p, scope);
    }
    if (!hasValue && !(Array.isArray(part.extension) && part.extension.length > 0)) {
      this.error('structure', 'A primitive without a value must have extensions (ele-1)', p);
    }
  }

  /** min and max of each element, counted in this object; reported at the object, as the HL7 validator does. */
  private checkCardinality(obj: JsonObject, schema: InternalTypeSchema, p: string): void {
    for (const rule of cardinalityRules(schema)) {
      const { name, element } = rule;
      const count = presentCount(obj, rule);
      if (count < element.min) {
        this.error('required', `${element.path}: minimum required = ${element.min}, but only found ${count}`, p, `Missing required element "${name}"`);
      } else if (element.max !== undefined && element.max !== null && Number.isFinite(element.max) && count > element.max && element.isArray) {
        this.error('structure', `${element.path}: max allowed = ${element.max}, but found ${count}`, p);
      }
    }
  }

  /**
   * A relative reference (`Type/id`) to a type the element does not allow is a warning, as in
   * the HL7 validator: the target is not checked further. See: https://hl7.org/fhir/R4/references.html
   */
  private checkReferenceTarget(value: JsonObject, info: ElementInfo, p: string): void {
    if (typeof value.reference === 'string' && /[ \t\r\n]/.test(value.reference)) {
      this.error('value', `The reference ${JSON.stringify(value.reference)} is not a valid reference: a reference has no whitespace`, p);
      return;
    }
    const m = typeof value.reference === 'string' ? /^([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(value.reference) : null;
    const targets = info.referenceTargets;
    const target = m?.[1];
    if (target === undefined || targets.length === 0 || targets.includes('Resource') || targets.includes(target)) {
      return;
    }
    this.issues.push(
      makeIssue({
        severity: 'warning',
        type: 'invalid',
        message: `Invalid reference: a ${target} is not allowed here (allowed: ${targets.join(', ')})`,
        expression: [p],
      }),
    );
  }

  /** `value[x]` may appear once: valueString + valueBoolean (or _valueBoolean) is invalid. */
  private checkChoices(choices: Map<string, string[]>, p: string): void {
    for (const [choice, names] of choices) {
      if (names.length > 1) {
        this.error('structure', `Only one type may be given for ${choice}: found ${names.join(', ')}`, p);
      }
    }
  }

  private error(type: IssueType, message: string, p: string, shortMessage?: string): void {
    this.issues.push(makeIssue({ type, message: shortMessage ?? message, diagnostics: message, expression: [p] }));
  }
}

/**
 * Where a failed invariant is reported: at the element it is declared on, except dom-3, which the
 * HL7 validator reports at each contained resource nobody refers to (the ids its expression
 * traces as `unmatched`).
 */
function failureLocations(key: string, node: JsonObject, p: string, unmatched: unknown[]): string[] {
  const contained = node.contained;
  if (key !== 'dom-3' || !Array.isArray(contained) || unmatched.length === 0) {
    return [p];
  }
  const at = contained.flatMap((c, i) => (isObject(c) && unmatched.includes(c.id) ? [`${p}.contained[${i}]`] : []));
  return at.length > 0 ? at : [p];
}

/** An element whose cardinality is checked: with a minimum, or at most one (or none). */
interface CardinalityRule {
  readonly name: string;
  /** `_name`, where a primitive's extensions are. */
  readonly extensionKey: string;
  readonly element: InternalSchemaElement;
  /** For a choice element `x[x]`: every key it may take in JSON (`xString`, `_xString`, …). */
  readonly choiceKeys?: readonly string[];
}

const cardinalityRulesBySchema = new WeakMap<InternalTypeSchema, readonly CardinalityRule[]>();

/** The top-level elements of a type whose cardinality constrains an object, worked out once per type. */
function cardinalityRules(schema: InternalTypeSchema): readonly CardinalityRule[] {
  let rules = cardinalityRulesBySchema.get(schema);
  if (!rules) {
    rules = Object.entries(schema.elements)
      .filter(([name, element]) => !name.includes('.') && !(element.min === 0 && (element.max === undefined || element.max > 1 || element.max === null || !Number.isFinite(element.max))))
      .map(([name, element]) => {
        if (!name.endsWith('[x]')) return { name, extensionKey: `_${name}`, element };
        const keys = element.type.map((t) => choiceKey(name, t.code));
        return { name, extensionKey: `_${name}`, element, choiceKeys: keys.flatMap((key) => [key, `_${key}`]) };
      });
    cardinalityRulesBySchema.set(schema, rules);
  }
  return rules;
}

/** How many occurrences of an element an object holds (a primitive present only as `_name` counts). */
function presentCount(obj: JsonObject, rule: CardinalityRule): number {
  const { choiceKeys } = rule;
  if (choiceKeys) {
    for (const key of choiceKeys) if (obj[key] !== undefined) return 1;
    return 0;
  }
  const value = obj[rule.name] ?? obj[rule.extensionKey];
  if (value === undefined || value === null) {
    return 0;
  }
  return Array.isArray(value) ? value.length : 1;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
