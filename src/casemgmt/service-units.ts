/**
 * Service units (pure): the case-management services CaseBridge codes a contact with, their
 * mapping to HCPCS Level II where one applies, and the unit rule that turns a contact's minutes
 * into billable units.
 *
 * Services are codes of CodeSystem case-management-service (profiles/); their HCPCS mapping is
 * ConceptMap case-management-service-to-hcpcs. The HCPCS codes used here are per-15-minute
 * codes; their descriptors were read in third-party sources and the design notes
 * (CASE-MANAGEMENT-FHIR.md §6: T1017 targeted case management, each 15 minutes), not in the CMS
 * release file — a payer's own fee schedule decides what it pays for.
 *
 * The unit rule (15-minute units, the "midpoint" rule many Medicaid programmes apply to
 * per-15-minute codes): a unit is billed for each full 15 minutes, plus one more when the
 * remainder is at least 8 minutes; under 8 minutes in all, nothing is billable.
 *   units = floor(minutes / 15) + (minutes mod 15 >= 8 ? 1 : 0)
 */
export const SERVICE_SYSTEM = 'http://casebridge.org/fhir/CodeSystem/case-management-service';
export const HCPCS_SYSTEM = 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';

export interface ServiceDefinition {
  readonly display: string;
  readonly definition: string;
  /** The HCPCS Level II code it is billed under, when there is one. */
  readonly hcpcs?: { readonly code: string; readonly display: string };
}

export const SERVICES = {
  'targeted-case-management': {
    display: 'Targeted case management',
    definition: 'Assessment, planning, linkage and monitoring for a client in a target group, with or on behalf of the client.',
    hcpcs: { code: 'T1017', display: 'Targeted case management, each 15 minutes' },
  },
  'case-management': {
    display: 'Case management',
    definition: 'Case management outside a targeted programme.',
    hcpcs: { code: 'T1016', display: 'Case management, each 15 minutes' },
  },
  'crisis-intervention': {
    display: 'Crisis intervention',
    definition: 'Face-to-face or telephone intervention in a behavioural-health crisis.',
    hcpcs: { code: 'H2011', display: 'Crisis intervention service, per 15 minutes' },
  },
  'peer-support': {
    display: 'Peer support',
    definition: 'Support by a certified peer specialist.',
    hcpcs: { code: 'H0038', display: 'Self-help/peer services, per 15 minutes' },
  },
  'care-coordination': {
    display: 'Care coordination (not billable)',
    definition: 'Coordination that no payer code covers here (e.g. collateral calls without the client): documented, not billed.',
  },
} as const satisfies Record<string, ServiceDefinition>;

export type ServiceCode = keyof typeof SERVICES;
export const SERVICE_CODES = Object.keys(SERVICES) as ServiceCode[];

export const UNIT_MINUTES = 15;
export const MIDPOINT_MINUTES = 8;

/** Billable units for a contact of `minutes` minutes (the rule above). */
export function unitsFor(minutes: number): number {
  if (!Number.isFinite(minutes) || minutes <= 0) return 0;
  const whole = Math.floor(minutes);
  return Math.floor(whole / UNIT_MINUTES) + (whole % UNIT_MINUTES >= MIDPOINT_MINUTES ? 1 : 0);
}

/** Whole minutes between two FHIR date-times (a date-time needs a zone; dates only are 0). */
export function minutesBetween(start: string, end: string | undefined): number | undefined {
  if (end === undefined || !start.includes('T') || !end.includes('T')) return undefined;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? Math.floor(ms / 60_000) : undefined;
}
