/**
 * The resources every client shares: the case-management agency, the partner agencies that
 * receive referrals, the agency's staff (Practitioner + PractitionerRole) and the two
 * Questionnaires. Ids are fixed strings derived from the seed (seed-independent for the
 * Questionnaires, whose content is too), so the pool can be loaded with PUT, and client
 * resources can reference it as `Type/id` from any transaction.
 */
import type { Organization, Practitioner, PractitionerRole, Questionnaire, Reference, Resource } from '@medplum/fhirtypes';
import { INSTRUMENTS, questionnaire } from './instruments';
import { emailLocal, personName, phone, streetAddress } from './people';
import type { Gender } from './people';
import { Random, STREAM } from './random';
import { AGENCY, PARTNERS, STAFF_ROLES, SYSTEM } from './vocabulary';
import type { PartnerKey, StaffKind } from './vocabulary';

export interface StaffMember {
  readonly kind: StaffKind;
  readonly name: string;
  readonly practitioner: Reference<never>;
  readonly role: Reference<never>;
}

export interface SharedPool {
  readonly seed: number;
  readonly agency: Organization;
  readonly partners: Readonly<Record<PartnerKey, Organization>>;
  readonly practitioners: readonly Practitioner[];
  readonly roles: readonly PractitionerRole[];
  readonly questionnaires: readonly Questionnaire[];
  /** Staff by kind, for assigning case managers and clinicians to clients. */
  readonly staff: Readonly<Record<StaffKind, readonly StaffMember[]>>;
  /** Every pool resource, in load order (organisations, practitioners, roles, questionnaires). */
  readonly resources: readonly Resource[];
}

export function assertSeed(seed: unknown): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32 - 1], got ${String(seed)}`);
  }
}

/**
 * A literal reference `Type/id`. Typed Reference<never> (it carries no `resource`), so that it
 * fits any typed reference element of @medplum/fhirtypes.
 */
export function reference(resource: Resource): Reference<never> {
  return { reference: `${resource.resourceType}/${resource.id}` };
}

const EMAIL_DOMAIN = 'riverside.example.org';

function organization(rng: Random, seed: number, key: string, def: { name: string; type: { code: string; display: string } }): Organization {
  const address = streetAddress(rng, 'work');
  return {
    resourceType: 'Organization',
    id: `syn${seed}-org-${key}`,
    identifier: [{ system: SYSTEM.agency, value: `${seed}-${key}` }],
    active: true,
    type: [{ coding: [{ system: SYSTEM.organizationType, code: def.type.code, display: def.type.display }] }],
    name: def.name,
    telecom: [{ system: 'phone', value: phone(rng), use: 'work' }],
    address: [{ ...address, use: 'work', type: 'physical' }],
  };
}

export function generatePool(options: { seed: number }): SharedPool {
  const { seed } = options;
  assertSeed(seed);
  const rng = Random.of(seed, STREAM.pool);
  const agency = organization(rng, seed, AGENCY.key, AGENCY);
  const partners = Object.fromEntries(
    (Object.keys(PARTNERS) as PartnerKey[]).map((key) => [key, organization(rng, seed, key, PARTNERS[key])]),
  ) as Record<PartnerKey, Organization>;

  const practitioners: Practitioner[] = [];
  const roles: PractitionerRole[] = [];
  const staff = { 'case-manager': [], 'social-worker': [], counselor: [], psychologist: [], psychiatrist: [] } as Record<StaffKind, StaffMember[]>;
  for (const kind of Object.keys(STAFF_ROLES) as StaffKind[]) {
    const def = STAFF_ROLES[kind];
    for (let i = 0; i < def.count; i++) {
      const n = String(practitioners.length + 1).padStart(2, '0');
      const gender: Gender = rng.chance(0.7) ? 'female' : 'male';
      const name = personName(rng, gender);
      const practitioner: Practitioner = {
        resourceType: 'Practitioner',
        id: `syn${seed}-practitioner-${n}`,
        identifier: [{ system: SYSTEM.staff, value: `${seed}-S${n}` }],
        active: true,
        name: [{ use: 'official', family: name.family, given: [name.given] }],
        telecom: [{ system: 'email', value: `${emailLocal(name.given, name.family)}@${EMAIL_DOMAIN}`, use: 'work' }],
        gender,
      };
      const role: PractitionerRole = {
        resourceType: 'PractitionerRole',
        id: `syn${seed}-role-${n}`,
        active: true,
        practitioner: reference(practitioner),
        organization: reference(agency),
        code: [{ coding: [{ system: SYSTEM.nucc, code: def.code, display: def.display }] }],
        telecom: [{ system: 'phone', value: phone(rng), use: 'work' }],
      };
      practitioners.push(practitioner);
      roles.push(role);
      staff[kind].push({ kind, name: `${name.given} ${name.family}`, practitioner: reference(practitioner), role: reference(role) });
    }
  }
  const questionnaires = INSTRUMENTS.map(questionnaire);
  return {
    seed,
    agency,
    partners,
    practitioners,
    roles,
    questionnaires,
    staff,
    resources: [agency, ...Object.values(partners), ...practitioners, ...roles, ...questionnaires],
  };
}
