/**
 * Record a consent: Consent cb-consent (SDOHCC style: scope patient-privacy, the client as
 * patient and performer, the agency as organization, a permit provision with its period,
 * recipients as actors (role IRCP) and purposes of use).
 * - treatment and disclosure: policyRule `consentpolicycodes#hipaa-auth`; category
 *   v3-ActCode INFA (information access) for treatment, IDSCL (information disclosure) otherwise;
 * - 42 CFR Part 2: policy.uri = the eCFR text of Part 2, category IDSCL, an expiry, recipients
 *   and purposes (cb-consent-2, 42 CFR 2.31); the provision applies to information labelled
 *   42CFRPart2 (provision.securityLabel), and the Consent itself is labelled restricted (R),
 *   42CFRPart2 and NORDSCLCD (no redisclosure without consent) in meta.security, as
 *   CASE-MANAGEMENT.md decides for sensitive records.
 * See: https://hl7.org/fhir/R4/consent.html, https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2
 */
import type { Coding, Consent } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import { loadCase, readVersioned } from '../case-record';
import { assertCommandAllowed } from '../lifecycle';
import { type CaseCommand, created, updated } from '../command';
import { type RecordConsentPayload, recordConsentSchema } from '../schemas/record-consent';
import { type RevokeConsentPayload, revokeConsentSchema } from '../schemas/revoke-consent';
import { SYSTEMS, claiming, coded, coding, escapeXhtml, narrative, ref, today } from '../vocabulary';

export const PART2_POLICY = 'https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2';

const PURPOSE_DISPLAYS: Record<string, string> = {
  TREAT: 'treatment',
  HPAYMT: 'healthcare payment',
  HOPERAT: 'healthcare operations',
  COVERAGE: 'coverage under policy or program',
  CAREMGT: 'care management',
  ETREAT: 'Emergency Treatment',
  HRESCH: 'healthcare research',
  PATRQT: 'patient requested',
};

const PART2_LABELS: Coding[] = [
  coding(SYSTEMS.confidentiality, 'R', 'restricted'),
  coding(SYSTEMS.actCode, '42CFRPart2', '42 CFR Part2'),
  coding(SYSTEMS.actCode, 'NORDSCLCD', 'no redisclosure without consent directive'),
];

export const recordConsent: CaseCommand<RecordConsentPayload> = {
  name: 'record-consent',
  schema: recordConsentSchema,
  async plan({ services, payload, params, ids, now }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'record-consent', 'record a consent');
    const part2 = payload.kind === '42cfr-part2';
    const start = payload.date ?? today(now);
    const consent: Consent & { id: string } = {
      resourceType: 'Consent',
      id: ids.next('consent'),
      meta: { ...claiming('cb-consent').meta, ...(part2 ? { security: PART2_LABELS } : {}) },
      status: 'active',
      scope: coded(SYSTEMS.consentScope, 'patient-privacy', 'Privacy Consent'),
      category: [
        payload.kind === 'treatment'
          ? coded(SYSTEMS.actCode, 'INFA', 'information access', 'Consent to share information for treatment')
          : coded(SYSTEMS.actCode, 'IDSCL', 'information disclosure', part2 ? 'Consent to disclose 42 CFR Part 2 information' : 'Release of information'),
      ],
      patient: ref(caseRecord.client),
      dateTime: start,
      performer: [ref(caseRecord.client)],
      ...(caseRecord.resource.managingOrganization ? { organization: [caseRecord.resource.managingOrganization] } : {}),
      ...(payload.form ? { sourceAttachment: { title: payload.form.title, ...(payload.form.url ? { url: payload.form.url } : {}) } } : {}),
      ...(part2 ? { policy: [{ uri: PART2_POLICY }] } : { policyRule: coded(SYSTEMS.consentPolicy, 'hipaa-auth', 'HIPAA Authorization') }),
      provision: {
        type: 'permit',
        period: { start, ...(payload.expires ? { end: payload.expires } : {}) },
        ...(payload.recipients ? { actor: payload.recipients.map((r) => ({ role: coded(SYSTEMS.participationType, 'IRCP', 'information recipient'), reference: ref(r) })) } : {}),
        purpose: (payload.purposes ?? ['TREAT']).map((p) => coding(SYSTEMS.actReason, p, PURPOSE_DISPLAYS[p])),
        ...(part2 ? { securityLabel: [coding(SYSTEMS.actCode, '42CFRPart2', '42 CFR Part2')] } : {}),
      },
      // What the consent covers, in words: R4 Consent has no element for it besides the narrative.
      ...(payload.information ? { text: { status: 'additional', div: narrative(`<p>Information covered: ${escapeXhtml(payload.information)}</p>`).div } } : {}),
    };
    return { caseId: caseRecord.resource.id, writes: [created(consent)] };
  },
};

/**
 * Revoke a consent: the client withdraws it (42 CFR 2.31(a)(6), HIPAA 164.508(b)(5)). The Consent
 * becomes inactive and its provision ends on the day of revocation; from then on nothing is
 * disclosed under it (auth/labels.ts counts active consents only). What was disclosed before
 * stays disclosed. Allowed on a closed case: a client may withdraw consent at any time.
 */
export const revokeConsent: CaseCommand<RevokeConsentPayload> = {
  name: 'revoke-consent',
  schema: revokeConsentSchema,
  async plan({ services, payload, params, now }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    const found = await readVersioned<Consent>(services, 'Consent', params.consentId as string);
    if (!found || found.resource.patient?.reference !== caseRecord.client) {
      throw new FhirError('NOT_FOUND', `There is no consent ${String(params.consentId)} of the client of case ${caseRecord.resource.id}`);
    }
    if (found.resource.status !== 'active') {
      throw new FhirError('CONFLICT', `The consent is ${found.resource.status}: only an active consent can be revoked`);
    }
    const end = payload.date ?? today(now);
    const consent = withoutServerMeta(found.resource);
    const revoked: Consent & { id: string } = {
      ...consent,
      status: 'inactive',
      ...(consent.provision ? { provision: { ...consent.provision, period: { ...consent.provision.period, end } } } : {}),
    };
    return { caseId: caseRecord.resource.id, writes: [updated(revoked, found.versionId)] };
  },
};
