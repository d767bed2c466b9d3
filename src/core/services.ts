/**
 * What the FHIR interactions, operations and case commands need, wired once by the composition
 * root (src/composition.ts) and passed down. It sits below rest/, operations/ and casemgmt/ so
 * that each of them can depend on it without depending on another.
 */
import type { AccessPolicy } from '../auth/caller';
import type { ConformancePackage } from '../fhir/profiles';
import type { SearchParameterRegistry } from '../search/registry';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirRepository, PlannedWrite, StoreAccess } from '../store/repository';
import type { Disclosures } from './disclosures';
import type { RequestContext } from './context';
import type { FhirRequest, FhirResponse } from './exchange';

export interface FhirSettings {
  /** Public base of the FHIR API, without trailing slash. */
  readonly baseUrl: string;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  readonly maxBundleEntries: number;
  /** Organisations (`Organization/<id>`) that are 42 CFR Part 2 programmes: what they write is labelled Part 2. */
  readonly part2Programs: ReadonlySet<string>;
  /** The OAuth endpoints the CapabilityStatement names in its security section. */
  readonly oauthUris: { readonly token: string; readonly introspect: string };
}

/** Where an operation may be invoked. See: https://hl7.org/fhir/R4/operations.html */
export interface OperationTarget {
  readonly level: 'system' | 'type' | 'instance';
  readonly resourceType?: string;
  readonly id?: string;
}

/** An $operation; operations/ implements them, the route table finds them by name. */
export interface FhirOperation {
  /** Without the `$`, e.g. "validate". */
  readonly name: string;
  /** Canonical of its OperationDefinition (for the CapabilityStatement). */
  readonly definition: string;
  readonly levels: readonly OperationTarget['level'][];
  /** Resource types it applies to at type/instance level; undefined means every type. */
  readonly resourceTypes?: readonly string[];
  /** True when GET is not allowed (the operation changes state). */
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
  /** Writes that follow other writes, applied by the write pipeline's derive stage. */
  readonly derivations: readonly Derivation[];
  /** Business rules on the writes of some types (who may move a referral where), checked before the derive stage. */
  readonly rules?: readonly WriteRule[];
  /** CaseBridge's profiles and other conformance resources (profiles/), loaded at start-up. */
  readonly profiles: ConformancePackage;
  /** When these are one request's services (core/scoped-services): what its caller may see, as `repo` applies it. */
  readonly storeAccess?: StoreAccess;
  /** One request's services: the sensitive resources its `repo` has shown outside their owner, for the audit. */
  readonly disclosures?: Disclosures;
}

/**
 * Derived writes: resources that must change together with a written resource, in the same
 * all-or-nothing unit (a scored QuestionnaireResponse brings its score Observation, risk
 * assessment and safety flag). The case-management layer provides them, the composition
 * registers them, and the write pipeline applies them to every create, update and patch, whether
 * it comes from the FHIR API, a transaction Bundle or a case command.
 */
export interface Derivation {
  /** The resource types whose writes it follows. */
  readonly resourceTypes: readonly string[];
  /**
   * The writes that must land with `resource` (valid, with its final id). Throwing a FhirError
   * refuses the whole write, e.g. a completed questionnaire that cannot be scored (422).
   */
  derive(services: FhirServices, resource: Resource & { id: string }): Promise<PlannedWrite[]>;
}

/**
 * A business rule a write must follow that depends on who writes and on the version it replaces
 * (a referral Task's status may move only as the requester's or the owner's role allows). The
 * workflows layer provides them, the composition registers them, and the write pipeline checks
 * them for every create, update and patch the caller asks for — FHIR API, transaction Bundle or
 * case command alike — after validation and before the derive stage. Derived writes are the
 * server's, and are not checked.
 */
export interface WriteRule {
  /** The resource types whose writes it checks. */
  readonly resourceTypes: readonly string[];
  /**
   * Throws a FhirError to refuse `write` (a create or update of one of `resourceTypes`, valid),
   * made by `ctx.caller`; reads what it needs (the current version) through `services.repo`.
   */
  check(services: FhirServices, ctx: RequestContext, write: PlannedWrite & { readonly kind: 'create' | 'update' }): Promise<void>;
}
