/**
 * Da Vinci CDex `$submit-attachment`: the Parameters a provider posts to a payer's endpoint with
 * solicited attachments (answering the payer's attachment request Task) and unsolicited ones (sent
 * with or after a claim or prior authorization, no request). Built exactly as the operation's
 * definition has them (STU 2.1):
 *   TrackingId 1..1 Identifier · AttachTo 1..1 code (claim | preauthorization) · PayerId 0..1
 *   Identifier · OrganizationId 0..1 / ProviderId 0..1 Identifier (one of them SHALL be present) ·
 *   MemberId 1..1 Identifier · ServiceDate 0..1 dateTime (SHALL, to the day, for a claim) ·
 *   Attachment 1..* { LineItem 0..* string, Code 0..1 CodeableConcept, Content 1..1 Resource } ·
 *   Final 0..1 boolean (omitted: true).
 * Pure, besides `memberIdentifier`, which reads the client's coverage as the caller may see it.
 * See: https://hl7.org/fhir/us/davinci-cdex/OperationDefinition-submit-attachment.html
 */
import type { CodeableConcept, Coverage, Identifier, Organization, Parameters, ParametersParameter, Patient, Resource } from '@medplum/fhirtypes';
import type { FhirServices } from '../../core/services';
import { readIfPresent } from '../../store/repository';
import { CASE_MANAGEMENT_SYSTEM } from '../../casemgmt/vocabulary';
import { findAll } from '../find';

export const ATTACH_TO = ['claim', 'preauthorization'] as const;
export type AttachTo = (typeof ATTACH_TO)[number];

/** The unsolicited attachments a case manager sends: a Communication of this category (case-management), docs/workflows.md. */
export { CASE_MANAGEMENT_SYSTEM };
export const UNSOLICITED_ATTACHMENT = 'unsolicited-attachment';
/** The date of service of an unsolicited attachment's claim (on its Communication). */
export const SERVICE_DATE_EXTENSION = 'http://casebridge.org/fhir/StructureDefinition/service-date';
/** A claim line item an attachment supports (on the Communication's payload entry). */
export const LINE_ITEM_EXTENSION = 'http://casebridge.org/fhir/StructureDefinition/claim-line-item';

/** The purpose of use a payer receives attachments for: claim attachment, or coverage authorization. */
export const ATTACHMENT_PURPOSE: Readonly<Record<AttachTo, string>> = { claim: 'CLMATTCH', preauthorization: 'COVAUTH' };

const LOINC = 'http://loinc.org';
const NPI = 'http://hl7.org/fhir/sid/us-npi';

export interface AttachmentSubmission {
  readonly trackingId: Identifier;
  readonly attachTo: AttachTo;
  readonly payerId?: Identifier;
  readonly organizationId?: Identifier;
  readonly providerId?: Identifier;
  readonly memberId: Identifier;
  readonly serviceDate?: string;
  readonly attachments: readonly { readonly lineItems?: readonly string[]; readonly code?: CodeableConcept; readonly content: Resource }[];
}

/** The $submit-attachment input Parameters (the operation's own rules are the caller's to have checked). */
export function submitAttachmentParameters(submission: AttachmentSubmission): Parameters {
  const parameter: ParametersParameter[] = [
    { name: 'TrackingId', valueIdentifier: submission.trackingId },
    { name: 'AttachTo', valueCode: submission.attachTo },
    ...(submission.payerId ? [{ name: 'PayerId', valueIdentifier: submission.payerId }] : []),
    ...(submission.organizationId ? [{ name: 'OrganizationId', valueIdentifier: submission.organizationId }] : []),
    ...(submission.providerId ? [{ name: 'ProviderId', valueIdentifier: submission.providerId }] : []),
    { name: 'MemberId', valueIdentifier: submission.memberId },
    ...(submission.serviceDate ? [{ name: 'ServiceDate', valueDateTime: submission.serviceDate }] : []),
    ...submission.attachments.map((attachment) => ({
      name: 'Attachment',
      part: [
        ...(attachment.lineItems ?? []).map((item) => ({ name: 'LineItem', valueString: item })),
        ...(attachment.code ? [{ name: 'Code', valueCodeableConcept: attachment.code }] : []),
        { name: 'Content', resource: attachment.content },
      ],
    })),
  ];
  return { resourceType: 'Parameters', parameter };
}

/** The attachment code of a document: its LOINC type (a DocumentReference's, a DiagnosticReport's…), if it has one. */
export function attachmentCode(resource: Resource): CodeableConcept | undefined {
  const concept = (resource as { type?: CodeableConcept }).type ?? (resource as { code?: CodeableConcept }).code;
  const loinc = concept?.coding?.find((c) => c.system === LOINC && c.code);
  return loinc ? { coding: [loinc], ...(concept?.text ? { text: concept.text } : {}) } : undefined;
}

/**
 * The client's member id at the payer: the identifier of their active Coverage with it (the one
 * typed MB, member number, first), else its subscriberId, else the client's first identifier;
 * undefined when the client has no active Coverage with that payer (as `services` sees it).
 */
export async function memberIdentifier(services: FhirServices, patient: string, payer: string): Promise<Identifier | undefined> {
  const coverages = (await findAll(services, 'Coverage', { beneficiary: patient, payor: payer, status: 'active' }, 10)).map((m) => m.resource as Coverage);
  if (coverages.length === 0) return undefined;
  for (const coverage of coverages) {
    const member = coverage.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MB') && i.value) ?? coverage.identifier?.find((i) => i.value);
    if (member) return { ...(member.system ? { system: member.system } : {}), value: member.value as string };
    if (coverage.subscriberId) return { value: coverage.subscriberId };
  }
  const client = await readIfPresent(services.repo, 'Patient', patient.split('/')[1] ?? '');
  const identifier = (client?.resource as Patient | undefined)?.identifier?.find((i) => i.value);
  return identifier ? { ...(identifier.system ? { system: identifier.system } : {}), value: identifier.value as string } : { system: 'urn:ietf:rfc:3986', value: `${services.settings.baseUrl}/${patient}` };
}

/** How an organisation is identified to a payer: its NPI, else its first identifier, else its URL here. */
export async function organizationIdentifier(services: FhirServices, organization: string): Promise<Identifier> {
  const found = await readIfPresent(services.repo, 'Organization', organization.split('/')[1] ?? '');
  const identifiers = (found?.resource as Organization | undefined)?.identifier ?? [];
  const chosen = identifiers.find((i) => i.system === NPI && i.value) ?? identifiers.find((i) => i.value);
  return chosen ? { ...(chosen.system ? { system: chosen.system } : {}), value: chosen.value as string } : { system: 'urn:ietf:rfc:3986', value: `${services.settings.baseUrl}/${organization}` };
}
