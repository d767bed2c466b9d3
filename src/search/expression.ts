/**
 * FHIRPath expressions of search parameters, narrowed to one resource type and analysed once.
 *
 * R4 shares one SearchParameter across many types (`clinical-patient` is a union of 30 paths), and
 * the common parameters are written on `Resource` (`Resource.meta.tag`), which Medplum's engine
 * does not evaluate on a concrete resource. Narrowing keeps the union branches rooted at the type
 * (rewriting `Resource.`/`DomainResource.` roots to the type) and parses each branch once.
 * `@medplum/core`'s getExpressionForResourceType is not used: it keys on the text `Type.` and so
 * drops the bare `Observation` branch of `Observation | Observation.component`.
 *
 * A trailing `.where(resolve() is X)` is lifted off the branch into `resolveType`: Medplum's
 * resolve() only recognises relative `Type/id` strings, so the extractor filters the references by
 * type itself after making references on our base relative.
 */
import {
  AsAtom,
  BooleanInfixOperatorAtom,
  DotAtom,
  FhirPathAtom,
  FunctionAtom,
  IndexerAtom,
  InfixOperatorAtom,
  IsAtom,
  SymbolAtom,
  UnionAtom,
  getElementDefinition,
  parseFhirPath,
} from '@medplum/core';
import type { Atom } from '@medplum/core';
import { compileSelection } from './selection';
import type { Selection } from './selection';

/** One union branch of a narrowed expression. */
export interface ExpressionBranch {
  /** The branch without a trailing `.where(resolve() is X)`. */
  readonly atom: FhirPathAtom;
  readonly text: string;
  /** X of a trailing `.where(resolve() is X)`: only references to X count. */
  readonly resolveType?: string;
  /** The branch as steps evaluated without the engine, when it only selects (selection.ts). */
  readonly selection?: Selection;
}

export interface NarrowedExpression {
  readonly branches: readonly ExpressionBranch[];
  /** The whole narrowed expression (as the CapabilityStatement and a reader would see it). */
  readonly text: string;
  /** True when the expression can yield several values for one resource. */
  readonly multiple: boolean;
  /** FHIR element types the branches end on (`HumanName`, `Reference`, …), when known. */
  readonly elementTypes: readonly string[];
  /** Resource types allowed by the elements' Reference targetProfiles (empty: unknown or any). */
  readonly referenceTargets: readonly string[];
}

const ABSTRACT_ROOTS = new Set(['Resource', 'DomainResource']);

function unionBranches(atom: Atom): Atom[] {
  return atom instanceof UnionAtom ? [...unionBranches(atom.left), ...unionBranches(atom.right)] : [atom];
}

/** The symbol a path starts from (`Observation` in `(Observation.value as Quantity)`). */
function rootSymbol(atom: Atom): string | undefined {
  if (atom instanceof SymbolAtom) {
    return atom.name;
  }
  if (atom instanceof InfixOperatorAtom) {
    // `.`, `as`, `is`, and boolean operators (`Patient.deceased.exists() and …`)
    return rootSymbol(atom.left);
  }
  if (atom instanceof IndexerAtom) {
    return rootSymbol(atom.left);
  }
  return undefined;
}

/** Splits `X.where(resolve() is T)` into X and T. */
function liftResolve(atom: Atom): { atom: Atom; resolveType?: string } {
  if (atom instanceof DotAtom && atom.right instanceof FunctionAtom && atom.right.name === 'where') {
    const arg = atom.right.args[0];
    if (
      atom.right.args.length === 1 &&
      arg instanceof IsAtom &&
      arg.left instanceof FunctionAtom &&
      arg.left.name === 'resolve' &&
      arg.right instanceof SymbolAtom
    ) {
      return { atom: atom.left, resolveType: arg.right.name };
    }
  }
  return { atom };
}

/**
 * Narrows a search parameter expression to one resource type: the union branches rooted at the
 * type, or at Resource/DomainResource (rewritten to the type). Undefined when none applies.
 */
export function narrowExpression(resourceType: string, expression: string): NarrowedExpression | undefined {
  const parsed = parseFhirPath(expression);
  const branches: ExpressionBranch[] = [];
  const analyses: BranchAnalysis[] = [];
  for (const branch of unionBranches(parsed.child)) {
    const root = rootSymbol(branch);
    let atom: Atom;
    if (root === resourceType) {
      atom = branch;
    } else if (root !== undefined && ABSTRACT_ROOTS.has(root)) {
      atom = parseFhirPath(resourceType + branch.toString().slice(root.length)).child;
    } else if (root !== undefined && /^[a-z]/.test(root) && getElementDefinition(resourceType, root)) {
      // A path relative to the resource (R4's InsurancePlan `name | alias`).
      atom = parseFhirPath(`${resourceType}.${branch.toString()}`).child;
    } else {
      continue;
    }
    const lifted = liftResolve(atom);
    const text = lifted.atom.toString();
    const selection = compileSelection(lifted.atom);
    branches.push({
      atom: new FhirPathAtom(text, lifted.atom),
      text,
      ...(lifted.resolveType ? { resolveType: lifted.resolveType } : {}),
      ...(selection ? { selection } : {}),
    });
    analyses.push(analyse(lifted.atom, resourceType));
  }
  if (branches.length === 0) {
    return undefined;
  }
  const text = branches
    .map((b) => (b.resolveType ? `${b.text}.where(resolve() is ${b.resolveType})` : b.text))
    .join(' | ');
  return {
    branches,
    text,
    multiple: isMultiple(analyses),
    elementTypes: [...new Set(analyses.flatMap((a) => a.types))],
    referenceTargets: [...new Set(analyses.flatMap((a) => a.targets))],
  };
}

/** Parses a composite component expression (relative to the composite's base items). */
export function componentExpression(expression: string): FhirPathAtom {
  return parseFhirPath(expression);
}

interface BranchAnalysis {
  /** Element path without type casts, to recognise `(x as A) | (x as B)` as one element. */
  readonly path: string;
  readonly multiple: boolean;
  readonly types: readonly string[];
  readonly targets: readonly string[];
}

/** Several branches on one single-valued element (choice casts) still give at most one value. */
function isMultiple(analyses: readonly BranchAnalysis[]): boolean {
  if (analyses.some((a) => a.multiple)) {
    return true;
  }
  const first = analyses[0];
  return analyses.length > 1 && !analyses.every((a) => a.path === first?.path);
}

const UNKNOWN: BranchAnalysis = { path: '?', multiple: true, types: [], targets: [] };

/**
 * Walks a path (`Observation.component.value.as(Quantity)`) through the element definitions:
 * the element types it ends on, and whether any step can repeat. Anything it does not
 * understand is taken as "may repeat" (the safe side: it only affects what is reported exact).
 */
function analyse(atom: Atom, resourceType: string): BranchAnalysis {
  if (atom instanceof BooleanInfixOperatorAtom) {
    return { path: atom.toString(), multiple: false, types: ['boolean'], targets: [] };
  }
  if (atom instanceof SymbolAtom) {
    return atom.name === resourceType ? { path: resourceType, multiple: false, types: [resourceType], targets: [] } : UNKNOWN;
  }
  if (atom instanceof AsAtom && atom.right instanceof SymbolAtom) {
    const left = analyse(atom.left, resourceType);
    return { ...left, types: [atom.right.name], targets: [] };
  }
  if (atom instanceof IndexerAtom) {
    return { ...analyse(atom.left, resourceType), multiple: false };
  }
  if (!(atom instanceof DotAtom)) {
    return UNKNOWN;
  }
  const left = analyse(atom.left, resourceType);
  if (atom.right instanceof FunctionAtom) {
    return applyFunction(left, atom.right);
  }
  if (!(atom.right instanceof SymbolAtom) || left === UNKNOWN) {
    return UNKNOWN;
  }
  const name = atom.right.name;
  const types: string[] = [];
  const targets: string[] = [];
  let multiple = left.multiple;
  for (const type of left.types) {
    const element = getElementDefinition(type, name);
    if (!element) {
      continue;
    }
    multiple ||= element.isArray === true;
    for (const t of element.type ?? []) {
      types.push(t.code);
      for (const profile of t.targetProfile ?? []) {
        targets.push(profile.slice(profile.lastIndexOf('/') + 1));
      }
    }
  }
  if (types.length === 0) {
    return UNKNOWN;
  }
  return { path: `${left.path}.${name}`, multiple, types: [...new Set(types)], targets: [...new Set(targets)] };
}

function applyFunction(left: BranchAnalysis, fn: FunctionAtom): BranchAnalysis {
  const typeArg = fn.args[0] instanceof SymbolAtom ? fn.args[0].name : undefined;
  switch (fn.name) {
    case 'where':
      return left;
    case 'first':
    case 'last':
    case 'single':
      return { ...left, multiple: false };
    case 'as':
    case 'ofType':
      return typeArg ? { ...left, types: [typeArg], targets: [] } : UNKNOWN;
    default:
      return UNKNOWN;
  }
}
