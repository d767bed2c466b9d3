/**
 * Security labels and consent directives: which labels make a resource sensitive, which consents
 * disclose it to whom and for what, and what a disclosure obliges the recipient to. Pure.
 *
 * - A resource labelled 42CFRPart2 (substance-use disorder records), PSYTHPN (psychotherapy
 *   notes), or restricted / very restricted (v3-Confidentiality R, V) is shown outside the
 *   organisation that owns it only under an active Consent of its patient that names the
 *   recipient (provision.actor), covers the label and a purpose the recipient stated, within
 *   its period. 42 CFR Part 2 and psychotherapy notes need a consent that names their label
 *   (provision.securityLabel, or for Part 2 the Part 2 policy); any permitting consent covers R and V.
 * - Part 2 data disclosed under consent carries NORDSCLCD: no redisclosure without consent (42 CFR 2.32).
 * See: https://hl7.org/fhir/R4/security-labels.html, http://hl7.org/fhir/uv/security-label-ds4p,
 * https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2
 */
import type { Coding, Consent } from '@medplum/fhirtypes';

export const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const PART2_POLICY = 'https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2';

/** A label as the `_security` index holds it: `system|code`. */
export const labelKey = (system: string, code: string): string => `${system}|${code}`;

export const PART2 = labelKey(ACT_CODE, '42CFRPart2');
export const PSYCHOTHERAPY_NOTE = labelKey(ACT_CODE, 'PSYTHPN');
export const RESTRICTED = labelKey(CONFIDENTIALITY, 'R');
export const VERY_RESTRICTED = labelKey(CONFIDENTIALITY, 'V');

/** The labels that hide a resource from everyone but its owner and those its patient's consents name. */
export const SENSITIVE_LABELS: readonly string[] = [PART2, PSYCHOTHERAPY_NOTE, RESTRICTED, VERY_RESTRICTED];

/** Labels a consent must name (or, for Part 2, whose policy it must cite) to disclose them. */
const SPECIFIC: ReadonlySet<string> = new Set([PART2, PSYCHOTHERAPY_NOTE]);

export const NO_REDISCLOSURE: Coding = { system: ACT_CODE, code: 'NORDSCLCD', display: 'no redisclosure without consent directive' };

/** What a recipient must honour when shown a resource carrying the key label. */
export const OBLIGATIONS: ReadonlyMap<string, Coding> = new Map([[PART2, NO_REDISCLOSURE]]);

export interface Recipient {
  /** References that stand for the recipient: its Organization and its PractitionerRoles. */
  readonly references: ReadonlySet<string>;
  /** Purposes of use it stated (v3 ActReason codes); none stated: none granted. */
  readonly purposes: readonly string[];
  readonly now: Date;
}

/**
 * For each sensitive label, the patients (`Patient/<id>`) whose consents disclose resources
 * carrying it to `recipient`. Only active permit consents in their period count.
 */
export function consentedPatients(consents: readonly Consent[], recipient: Recipient): Map<string, Set<string>> {
  const result = new Map(SENSITIVE_LABELS.map((label) => [label, new Set<string>()]));
  for (const consent of consents) {
    const patient = consent.patient?.reference;
    if (!patient?.startsWith('Patient/') || !permits(consent, recipient)) continue;
    for (const label of coveredLabels(consent)) result.get(label)?.add(patient);
  }
  return result;
}

function permits(consent: Consent, recipient: Recipient): boolean {
  const provision = consent.provision;
  if (consent.status !== 'active' || provision?.type !== 'permit') return false;
  const now = recipient.now.getTime();
  const start = provision.period?.start ? Date.parse(provision.period.start) : -Infinity;
  // A period ending on a date covers that whole day.
  const end = provision.period?.end ? Date.parse(provision.period.end.length === 10 ? `${provision.period.end}T23:59:59.999Z` : provision.period.end) : Infinity;
  if (now < start || now > end) return false;
  const named = (provision.actor ?? []).some((a) => a.reference?.reference !== undefined && recipient.references.has(a.reference.reference));
  if (!named) return false;
  const purposes = (provision.purpose ?? []).filter((p) => p.system === ACT_REASON).map((p) => p.code);
  // A consent that names purposes discloses only for those; one that names none, for the purpose stated.
  return recipient.purposes.length > 0 && (purposes.length === 0 || recipient.purposes.some((p) => purposes.includes(p)));
}

function coveredLabels(consent: Consent): string[] {
  const named = (consent.provision?.securityLabel ?? []).flatMap((c) => (c.system && c.code ? [labelKey(c.system, c.code)] : []));
  const part2Policy = (consent.policy ?? []).some((p) => p.uri === PART2_POLICY);
  const specific = [...named.filter((l) => SPECIFIC.has(l)), ...(part2Policy ? [PART2] : [])];
  return [...new Set([...specific, RESTRICTED, VERY_RESTRICTED])];
}

const PART2_LABELS: readonly Coding[] = [
  { system: CONFIDENTIALITY, code: 'R', display: 'restricted' },
  { system: ACT_CODE, code: '42CFRPart2', display: '42 CFR Part2' },
];

/**
 * The labels a write must carry whatever the client sent: what a 42 CFR Part 2 programme
 * (PART2_PROGRAMS) records in a patient's record is Part 2 information, identity included
 * (42 CFR 2.11, 2.13(c)). Returns the codings to add (none when they are there already).
 */
export function requiredLabels(args: { resourceType: string; inPatientRecord: boolean; writer: string | undefined; part2Programs: ReadonlySet<string>; present: readonly Coding[] }): Coding[] {
  if (!args.inPatientRecord || args.writer === undefined || !args.part2Programs.has(args.writer)) return [];
  return PART2_LABELS.filter((label) => !args.present.some((c) => c.system === label.system && c.code === label.code));
}
