/**
 * Cases in which an R4 invariant plainly holds, read off the JSON before the FHIRPath engine is
 * asked: an `or` operand or an `implies` antecedent settled by an absent element, two dates or
 * instants of one form in order. On the synthetic client Bundles these invariants were half of
 * validation's time (ref-1, on every Reference, a sixth of it): the engine wraps each node and
 * walks each expression anew, for what a property test answers.
 *
 * A shortcut only ever says "holds"; whatever it does not settle goes to the engine, which also
 * words a failure. Each applies to the one expression it was written for: a profile or a later
 * release that words a key differently is evaluated by the engine.
 * test/unit/fhir/invariant-shortcuts.test.ts checks each against the engine.
 */
import { isObject } from './json';
import type { JsonObject } from './json';

interface Shortcut {
  /** The R4 expression, exactly as the StructureDefinition has it. */
  readonly expression: string;
  /** True only where the expression is true. */
  readonly holds: (node: JsonObject) => boolean;
}

/** No value and no extensions: FHIRPath finds nothing there (`exists()` false, `hasValue()` false). */
function missing(node: JsonObject, name: string): boolean {
  return node[name] === undefined && node[`_${name}`] === undefined;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A dateTime or instant to the second or below, with its time zone: one instant on the timeline. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `start <= end` as FHIRPath has it, where that is plain: two dates (compared as text), or two
 * instants with time zones (compared on the timeline). Other pairs (partial dates, times without
 * zones, mixed precisions, where FHIRPath may answer empty) are left to the engine.
 */
function inOrder(start: unknown, end: unknown): boolean {
  if (typeof start !== 'string' || typeof end !== 'string') return false;
  if (DATE.test(start) && DATE.test(end)) return start <= end;
  const [a, b] = [INSTANT.exec(start), INSTANT.exec(end)];
  // One precision: as many digits of a second on both sides.
  if (a && b && (a[1] ?? '').length === (b[1] ?? '').length) {
    const [from, to] = [Date.parse(start), Date.parse(end)];
    return Number.isFinite(from) && Number.isFinite(to) && from <= to;
  }
  return false;
}

/** Whether a choice element `name[x]` is there in any type, as a value or as extensions. */
function hasChoice(node: JsonObject, name: string): boolean {
  for (const key of Object.keys(node)) {
    const at = key.startsWith('_') ? 1 : 0;
    if (key.startsWith(name, at) && key.length > at + name.length) {
      const next = key.charCodeAt(at + name.length);
      if (next >= 65 && next <= 90) return true; // valueString, _valueCode: an upper-case type name follows
    }
  }
  return false;
}

const hasContent = (value: unknown): boolean => isObject(value) && Object.keys(value).length > 0;

/** A complex element FHIRPath plainly finds (`exists()` true): an object with content, or an array holding one. */
function present(node: JsonObject, name: string): boolean {
  const value = node[name];
  return Array.isArray(value) ? value.some(hasContent) : hasContent(value);
}

/** No coding of a CodeableConcept (absent counts) has exactly this system and code. */
function lacksCoding(concept: unknown, system: string, code: string): boolean {
  if (concept === undefined) return true;
  if (!isObject(concept)) return false;
  const { coding } = concept;
  if (coding === undefined) return true;
  return Array.isArray(coding) && coding.every((c) => isObject(c) && !(c.system === system && c.code === code));
}

/** Consent's ppc-2 to ppc-5: a patient, or no scope coding of a placeholder system. */
const consentForPatient = (code: string): Shortcut => ({
  expression: `patient.exists() or scope.coding.where(system='something' and code='${code}').exists().not()`,
  holds: (node) => present(node, 'patient'),
});

/** No contained resources: every DomainResource invariant on them holds. */
const noContained = (node: JsonObject) => node.contained === undefined;

const SHORTCUTS: Readonly<Record<string, Shortcut>> = {
  'ref-1': {
    expression: "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
    holds: (node) => missing(node, 'reference') || (typeof node.reference === 'string' && !node.reference.startsWith('#')),
  },
  'per-1': {
    expression: 'start.hasValue().not() or end.hasValue().not() or (start <= end)',
    holds: (node) => missing(node, 'start') || missing(node, 'end') || inOrder(node.start, node.end),
  },
  'qrs-1': {
    expression: '(answer.exists() and item.exists()).not()',
    holds: (node) => missing(node, 'answer') || missing(node, 'item'),
  },
  'drt-1': {
    expression: 'code.exists() implies ((system = %ucum) and value.exists())',
    holds: (node) => missing(node, 'code') || (node.system === 'http://unitsofmeasure.org' && typeof node.value === 'number'),
  },
  'ext-1': {
    expression: 'extension.exists() != value.exists()',
    holds: (node) => (node.extension !== undefined) !== hasChoice(node, 'value'),
  },
  'gol-1': {
    expression: '(detail.exists() and measure.exists()) or detail.exists().not()',
    holds: (node) => !hasChoice(node, 'detail') || node.measure !== undefined,
  },
  'obs-6': {
    expression: 'dataAbsentReason.empty() or value.empty()',
    holds: (node) => node.dataAbsentReason === undefined || !hasChoice(node, 'value'),
  },
  'obs-7': {
    expression: 'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()',
    holds: (node) => !hasChoice(node, 'value') || node.component === undefined,
  },
  'ctm-1': {
    expression: 'onBehalfOf.exists() implies (member.resolve().iif(empty(), true, ofType(Practitioner).exists()))',
    holds: (node) => node.onBehalfOf === undefined,
  },
  'cpt-2': {
    expression: 'value.empty() or system.exists()',
    holds: (node) => missing(node, 'value') || typeof node.system === 'string',
  },
  'ppc-1': {
    expression: 'policy.exists() or policyRule.exists()',
    holds: (node) => node.policy !== undefined || node.policyRule !== undefined,
  },
  'qty-3': {
    expression: 'code.empty() or system.exists()',
    holds: (node) => missing(node, 'code') || typeof node.system === 'string',
  },
  'att-1': {
    expression: 'data.empty() or contentType.exists()',
    holds: (node) => missing(node, 'data') || typeof node.contentType === 'string',
  },
  'inv-1': {
    expression: 'lastModified.exists().not() or authoredOn.exists().not() or lastModified >= authoredOn',
    holds: (node) => missing(node, 'lastModified') || missing(node, 'authoredOn') || inOrder(node.authoredOn, node.lastModified),
  },
  'con-2': {
    expression: 'code.exists() or detail.exists()',
    holds: (node) => present(node, 'code') || present(node, 'detail'),
  },
  'con-4': {
    expression:
      "abatement.empty() or clinicalStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-clinical' and (code='resolved' or code='remission' or code='inactive')).exists()",
    holds: (node) => !hasChoice(node, 'abatement'),
  },
  'con-5': {
    expression: "verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()",
    holds: (node) => missing(node, 'clinicalStatus') || lacksCoding(node.verificationStatus, 'http://terminology.hl7.org/CodeSystem/condition-ver-status', 'entered-in-error'),
  },
  'prr-1': {
    expression: 'orderDetail.empty() or code.exists()',
    holds: (node) => missing(node, 'orderDetail') || present(node, 'code'),
  },
  'cpl-3': {
    expression: 'detail.empty() or reference.empty()',
    holds: (node) => missing(node, 'detail') || missing(node, 'reference'),
  },
  'ppc-2': consentForPatient('patient-privacy'),
  'ppc-3': consentForPatient('research'),
  'ppc-4': consentForPatient('adr'),
  'ppc-5': consentForPatient('treatment'),
  'dom-2': { expression: 'contained.contained.empty()', holds: noContained },
  'dom-3': {
    expression:
      "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()",
    holds: noContained,
  },
  'dom-4': { expression: 'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()', holds: noContained },
  'dom-5': { expression: 'contained.meta.security.empty()', holds: noContained },
};

/** Whether the invariant `key` with `expression` plainly holds on `node` (false: ask the engine). */
export function plainlyHolds(key: string, expression: string, node: JsonObject): boolean {
  const shortcut = SHORTCUTS[key];
  return shortcut !== undefined && shortcut.expression === expression && shortcut.holds(node);
}

/** The keys and expressions shortcuts exist for (tests compare them with the R4 definitions). */
export const SHORTCUT_EXPRESSIONS: ReadonlyMap<string, string> = new Map(Object.entries(SHORTCUTS).map(([key, s]) => [key, s.expression]));
