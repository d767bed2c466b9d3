/**
 * CaseBridge's conformance resources (profiles/): the profiles, compiled; the value sets and
 * code system their bindings use; the Questionnaires of the instruments we score; and our custom
 * SearchParameters. Built once from the resources (pure); load.ts reads them from disk.
 *
 * checkProfiles() is the profile stage of the validation: a resource that claims one of our
 * profiles in meta.profile is checked against it; an unknown profile is accepted with a warning
 * (validation.html: a server may validate against the profiles it knows).
 * See: https://hl7.org/fhir/R4/resource.html#profile-tags
 */
import type { CodeSystem, OperationOutcomeIssue, Questionnaire, Resource, SearchParameter, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { loadDefinitions } from '../definitions';
import { ERROR_CODE_SYSTEM } from '../outcomes';
import { checkProfile } from './check';
import { ProfileError, compileProfile } from './compile';
import type { CompiledProfile } from './model';
import { Terminology, stripVersion } from './terminology';

/** The resource types profiles/ may hold (ConceptMap: CaseBridge's services to HCPCS; Measure: the outcome measures of $evaluate-measure). */
const KINDS = ['CodeSystem', 'ValueSet', 'StructureDefinition', 'SearchParameter', 'Questionnaire', 'ConceptMap', 'Measure'] as const;

export class ConformancePackage {
  /** Every resource, in load order (by kind as in KINDS, then by url). */
  readonly resources: readonly Resource[];
  readonly searchParameters: readonly SearchParameter[];
  readonly questionnaires: readonly Questionnaire[];
  /** Compiled profiles by canonical url (without version). */
  readonly profiles: ReadonlyMap<string, CompiledProfile>;
  private readonly byType = new Map<string, string[]>();

  constructor(resources: readonly Resource[], profiles: readonly CompiledProfile[]) {
    this.resources = resources;
    this.searchParameters = resources.filter((r): r is SearchParameter => r.resourceType === 'SearchParameter');
    this.questionnaires = resources.filter((r): r is Questionnaire => r.resourceType === 'Questionnaire');
    this.profiles = new Map(profiles.map((p) => [p.url, p]));
    for (const p of profiles) {
      const list = this.byType.get(p.type) ?? [];
      list.push(p.url);
      this.byType.set(p.type, list);
    }
  }

  /** The canonical urls of our profiles on a resource type (CapabilityStatement supportedProfile). */
  supportedProfiles(resourceType: string): readonly string[] {
    return this.byType.get(resourceType) ?? [];
  }

  /** The Questionnaire with this canonical (`url` or `url|version`). */
  questionnaire(canonical: string): Questionnaire | undefined {
    const [url, version] = canonical.split('|');
    return this.questionnaires.find((q) => q.url === url && (version === undefined || q.version === version));
  }

  /**
   * The profile issues of a resource (errors and warnings), one profile claim at a time. The
   * caller has checked the resource against the base definitions first: this assumes valid JSON
   * of a known type.
   */
  checkProfiles(resource: Resource): OperationOutcomeIssue[] {
    const claims = resource.meta?.profile;
    if (!Array.isArray(claims) || claims.length === 0) {
      return [];
    }
    const issues: OperationOutcomeIssue[] = [];
    const seen = new Set<string>();
    claims.forEach((claim, i) => {
      if (typeof claim === 'string' && !seen.has(claim)) {
        seen.add(claim);
        issues.push(...this.checkClaim(resource, claim, `${resource.resourceType}.meta.profile[${i}]`));
      }
    });
    return issues;
  }

  /** The profile `canonical` (`url` or `url|version`), if it is one of ours and fits the version. */
  profile(canonical: string): CompiledProfile | undefined {
    const version = canonical.includes('|') ? canonical.slice(canonical.indexOf('|') + 1) : undefined;
    const profile = this.profiles.get(stripVersion(canonical));
    return profile && (version === undefined || version === profile.version) ? profile : undefined;
  }

  /**
   * The issues of a resource against one profile `canonical` (a meta.profile claim, or the
   * $validate `profile` parameter, located by `where`).
   */
  checkClaim(resource: Resource, canonical: string, where: string): OperationOutcomeIssue[] {
    const profile = this.profile(canonical);
    if (!profile) {
      return [
        {
          severity: 'warning',
          code: 'not-supported',
          diagnostics: `Profile ${canonical} is not known to this server: the resource was not checked against it`,
          expression: [where],
        },
      ];
    }
    if (profile.type !== resource.resourceType) {
      const text = `Profile ${profile.url} constrains ${profile.type}, not ${resource.resourceType}`;
      return [
        {
          severity: 'error',
          code: 'structure',
          details: { coding: [{ system: ERROR_CODE_SYSTEM, code: 'PROFILE_VIOLATION' }], text },
          diagnostics: text,
          expression: [where],
        },
      ];
    }
    return checkProfile(resource as unknown as Record<string, unknown>, profile);
  }
}

/**
 * Builds the package from conformance resources; throws ProfileError naming the resource and
 * element when one cannot be used (a profile that asks for what the checker cannot check, a
 * duplicate url, a resource type profiles/ should not hold).
 */
export function buildConformancePackage(resources: readonly Resource[]): ConformancePackage {
  loadDefinitions(); // the element definitions the differentials are checked against
  const urls = new Set<string>();
  for (const r of resources) {
    if (!(KINDS as readonly string[]).includes(r.resourceType)) {
      throw new ProfileError(`${r.resourceType}/${r.id ?? '?'}: profiles/ holds only ${KINDS.join(', ')}`);
    }
    const url = (r as { url?: string }).url;
    if (!url || !r.id) {
      throw new ProfileError(`${r.resourceType}/${r.id ?? '?'}: id and url are required`);
    }
    if (urls.has(url)) {
      throw new ProfileError(`${url} is defined twice`);
    }
    urls.add(url);
  }
  const ordered = [...resources].sort(
    (a, b) => KINDS.indexOf(a.resourceType as (typeof KINDS)[number]) - KINDS.indexOf(b.resourceType as (typeof KINDS)[number]) || compare(urlOf(a), urlOf(b)),
  );
  const of = <T extends Resource>(type: T['resourceType']) => ordered.filter((r): r is T => r.resourceType === type);
  const terminology = new Terminology(of<CodeSystem>('CodeSystem'), of<ValueSet>('ValueSet'));
  for (const vs of of<ValueSet>('ValueSet')) {
    try {
      terminology.expand(vs.url as string);
    } catch (err) {
      throw new ProfileError(err instanceof Error ? err.message : String(err));
    }
  }
  const definitions = of<StructureDefinition>('StructureDefinition');
  const profileTypes = new Map(definitions.map((sd) => [sd.url, sd.type]));
  const profiles = definitions.map((sd) => compileProfile(sd, { terminology, profileTypes }));
  return new ConformancePackage(ordered, profiles);
}

function urlOf(r: Resource): string {
  return (r as { url?: string }).url ?? '';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
