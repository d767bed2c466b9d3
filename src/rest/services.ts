/**
 * What the FHIR interactions need, wired once in main.ts (composition root) and passed down.
 */
import type { AccessPolicy } from '../auth/caller';
import type { ConformancePackage } from '../fhir/profiles';
import type { SearchParameterRegistry } from '../search/registry';
import type { FhirRepository } from '../store/repository';
import type { Derivation } from './derivations';
import type { FhirRequest, FhirResponse, RequestContext } from './types';

export interface FhirSettings {
  /** Public base of the FHIR API, without trailing slash. */
  readonly baseUrl: string;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  readonly maxBundleEntries: number;
}

/** Where an operation may be invoked. See: https://hl7.org/fhir/R4/operations.html */
export interface OperationTarget {
  readonly level: 'system' | 'type' | 'instance';
  readonly resourceType?: string;
  readonly id?: string;
}

/** An $operation; operations/ implements them, the router finds them by name. */
export interface FhirOperation {
  /** Without the `$`, e.g. "validate". */
  readonly name: string;
  /** Canonical of its OperationDefinition (for the CapabilityStatement). */
  readonly definition: string;
  readonly levels: readonly OperationTarget['level'][];
  /** Resource types it applies to at type/instance level; undefined means every type. */
  readonly resourceTypes?: readonly string[];
  /** True when GET is allowed (the operation does not change state). */
  readonly affectsState: boolean;
  invoke(services: FhirServices, ctx: RequestContext, target: OperationTarget, request: FhirRequest): Promise<FhirResponse>;
}

export interface FhirServices {
  readonly repo: FhirRepository;
  readonly settings: FhirSettings;
  readonly access: AccessPolicy;
  readonly now: () => Date;
  readonly operations: ReadonlyMap<string, FhirOperation>;
  readonly registry: SearchParameterRegistry;
  /** Writes that follow other writes (see derivations.ts). */
  readonly derivations: readonly Derivation[];
  /** CaseBridge's profiles and other conformance resources (profiles/), loaded at start-up. */
  readonly profiles: ConformancePackage;
}
