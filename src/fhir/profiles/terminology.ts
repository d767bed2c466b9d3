/**
 * Expansion of CaseBridge's own value sets, for the required bindings of its profiles. A value
 * set may list concepts of any code system explicitly (`compose.include.concept`), include a
 * whole CodeSystem that CaseBridge defines, or include other value sets of ours. Filters and
 * whole external code systems cannot be expanded without a terminology server: a binding to
 * such a value set is refused when the profile is compiled, rather than silently not checked.
 * See: https://hl7.org/fhir/R4/valueset.html#compose
 */
import type { CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';

export class TerminologyError extends Error {
  override readonly name = 'TerminologyError';
}

export interface Expansion {
  /** `system|code` */
  readonly codes: ReadonlySet<string>;
  readonly bareCodes: ReadonlySet<string>;
}

export class Terminology {
  private readonly codeSystems = new Map<string, CodeSystem>();
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly expansions = new Map<string, Expansion>();

  constructor(codeSystems: readonly CodeSystem[], valueSets: readonly ValueSet[]) {
    for (const cs of codeSystems) {
      if (cs.url) this.codeSystems.set(cs.url, cs);
    }
    for (const vs of valueSets) {
      if (vs.url) this.valueSets.set(vs.url, vs);
    }
  }

  /** True when `url` (without `|version`) names one of our value sets. */
  has(url: string): boolean {
    return this.valueSets.has(stripVersion(url));
  }

  /** The codes of one of our value sets; throws TerminologyError when it cannot be expanded. */
  expand(url: string, seen: readonly string[] = []): Expansion {
    const key = stripVersion(url);
    const cached = this.expansions.get(key);
    if (cached) {
      return cached;
    }
    if (seen.includes(key)) {
      throw new TerminologyError(`ValueSet ${key} includes itself`);
    }
    const vs = this.valueSets.get(key);
    if (!vs) {
      throw new TerminologyError(`ValueSet ${key} is not one of CaseBridge's value sets`);
    }
    const codes = new Set<string>();
    for (const include of vs.compose?.include ?? []) {
      for (const pair of this.includePairs(key, include, [...seen, key])) {
        codes.add(pair);
      }
    }
    for (const exclude of vs.compose?.exclude ?? []) {
      for (const pair of this.includePairs(key, exclude, [...seen, key])) {
        codes.delete(pair);
      }
    }
    const expansion: Expansion = { codes, bareCodes: new Set([...codes].map((c) => c.slice(c.lastIndexOf('|') + 1))) };
    this.expansions.set(key, expansion);
    return expansion;
  }

  private includePairs(valueSet: string, include: NonNullable<ValueSet['compose']>['include'][number], seen: readonly string[]): string[] {
    if (include.filter && include.filter.length > 0) {
      throw new TerminologyError(`ValueSet ${valueSet}: filters cannot be expanded here`);
    }
    let pairs: string[] | undefined;
    if (include.system !== undefined) {
      const system = include.system;
      if (include.concept && include.concept.length > 0) {
        pairs = include.concept.map((c) => `${system}|${c.code}`);
      } else {
        const cs = this.codeSystems.get(system);
        if (!cs) {
          throw new TerminologyError(`ValueSet ${valueSet}: the whole of ${system} cannot be expanded (list its concepts)`);
        }
        pairs = allConcepts(cs.concept ?? []).map((c) => `${system}|${c.code}`);
      }
    }
    for (const other of include.valueSet ?? []) {
      const codes = [...this.expand(other, seen).codes];
      // Several sources in one include intersect (valueset.html#compose).
      pairs = pairs === undefined ? codes : pairs.filter((p) => codes.includes(p));
    }
    return pairs ?? [];
  }
}

function allConcepts(concepts: readonly CodeSystemConcept[]): CodeSystemConcept[] {
  return concepts.flatMap((c) => [c, ...allConcepts(c.concept ?? [])]);
}

export function stripVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar === -1 ? canonical : canonical.slice(0, bar);
}
