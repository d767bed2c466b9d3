/**
 * Unsolicited attachments (Da Vinci CDex): a case manager sends documents of the case's client —
 * notes, completed questionnaires, reports — to a payer for a claim or a prior authorization,
 * without the payer having asked. The command records what is sent as a Communication
 * (category case-management#unsolicited-attachment, status in-progress: the sender, the payer,
 * the client, the claim's tracking number, the date of service, the documents as payload with
 * the claim lines each supports) with its Provenance; the workflows then deliver it to the payer's
 * `$submit-attachment` from the durable outbox, with retries, as they push solicited attachments
 * (workflows/cdex/cdex-worker.ts), read as the payer may see the record, and complete the
 * Communication (sent) once the payer accepted it — or stop it, saying why.
 *
 * Checked here, so that what cannot be delivered is refused at once (422 at the field): the payer
 * is a registered, active partner; the client has active coverage with it (its member id); each
 * document is the client's and is one the payer may receive (its coverage, and for 42 CFR Part 2
 * or psychotherapy records a consent of the client naming it for this purpose).
 * See: https://hl7.org/fhir/us/davinci-cdex/OperationDefinition-submit-attachment.html
 */
import type { Communication } from '@medplum/fhirtypes';
import { servicesFor } from '../../core/scoped-services';
import { FhirError, issue } from '../../fhir/outcomes';
import { compartmentPatients } from '../../search/compartment';
import { readIfPresent } from '../../store/repository';
import { payerCaller, workContext } from '../../workflows/actors';
import { CDEX_TEMP } from '../../workflows/cdex/cdex-request';
import {
  ATTACHMENT_PURPOSE,
  CASE_MANAGEMENT_SYSTEM as ATTACHMENT_CATEGORY_SYSTEM,
  LINE_ITEM_EXTENSION,
  SERVICE_DATE_EXTENSION,
  UNSOLICITED_ATTACHMENT,
  memberIdentifier,
  organizationIdentifier,
} from '../../workflows/cdex/submit-attachment';
import { loadCase } from '../case-record';
import { assertCommandAllowed } from '../lifecycle';
import { type CaseCommand, created } from '../command';
import { type SendAttachmentsPayload, sendAttachmentsSchema } from '../schemas/send-attachments';
import { caseLink, localReference } from '../vocabulary';

export const sendAttachments: CaseCommand<SendAttachmentsPayload> = {
  name: 'send-attachments',
  schema: sendAttachmentsSchema,
  async plan({ services, ctx, payload, params, ids, now, partners }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'send-attachments', 'send attachments');
    const client = caseRecord.client;
    const agency = localReference(caseRecord.resource.managingOrganization);
    if (!agency?.startsWith('Organization/')) {
      throw new FhirError('BUSINESS_RULE', `Case ${caseRecord.resource.id} names no managing organisation to send from`, { expression: ['EpisodeOfCare.managingOrganization'] });
    }
    if (!partners || !(await partners.isActivePartner(payload.payer))) {
      throw new FhirError('BUSINESS_RULE', `${payload.payer} is not a registered, active partner: CaseBridge sends attachments only to a payer server an administrator registered (npm run partner:register)`, { expression: ['payer'] });
    }
    if (!(await memberIdentifier(services, client, payload.payer))) {
      throw new FhirError('BUSINESS_RULE', `The client (${client}) has no active Coverage with ${payload.payer}: there is no member to attach documents for`, { expression: ['payer'] });
    }
    const purpose = ATTACHMENT_PURPOSE[payload.attachTo];
    // As the payer will receive them: the members it covers, for this purpose, labels and consents applied.
    const payer = await servicesFor(services, workContext(payerCaller(payload.payer, purpose, 'send-attachments'), ctx.log, 'send-attachments'));
    const problems: ReturnType<typeof issue>[] = [];
    const seen = new Set<string>();
    for (const [i, { document }] of payload.documents.entries()) {
      const field = `documents[${i}].document`;
      const [type = '', id = ''] = document.split('/');
      if (seen.has(document)) {
        problems.push(issue('BUSINESS_RULE', `${document} is listed twice`, [field]));
        continue;
      }
      seen.add(document);
      const mine = await readIfPresent(services.repo, type, id);
      if (!mine || !compartmentPatients(mine.resource, services.registry).includes(client)) {
        problems.push(issue('BUSINESS_RULE', `${document} is not a record of the case’s client (${client})`, [field]));
      } else if (!(await readIfPresent(payer.repo, type, id))) {
        problems.push(
          issue('BUSINESS_RULE', `${payload.payer} may not receive ${document}: it is a sensitive record (42 CFR Part 2, psychotherapy notes, restricted) and no active consent of the client names ${payload.payer} for ${purpose}`, [field]),
        );
      }
    }
    if (problems.length > 0) throw new FhirError('BUSINESS_RULE', problems[0]?.diagnostics ?? 'A document cannot be sent', { issues: problems });
    const communication: Communication & { id: string } = {
      resourceType: 'Communication',
      id: ids.next('attachments'),
      extension: [caseLink(caseRecord.resource.id), ...(payload.serviceDate ? [{ url: SERVICE_DATE_EXTENSION, valueDate: payload.serviceDate }] : [])],
      identifier: [{ type: { coding: [{ system: CDEX_TEMP, code: 'tracking-id' }] }, ...(payload.trackingId.system ? { system: payload.trackingId.system } : {}), value: payload.trackingId.value }],
      status: 'in-progress',
      category: [{ coding: [{ system: ATTACHMENT_CATEGORY_SYSTEM, code: UNSOLICITED_ATTACHMENT, display: 'Unsolicited attachments for a claim' }] }],
      subject: { reference: client },
      about: [{ type: 'Claim', identifier: { ...(payload.trackingId.system ? { system: payload.trackingId.system } : {}), value: payload.trackingId.value } }],
      recipient: [{ reference: payload.payer, ...(payload.payerId ? { identifier: { ...(payload.payerId.system ? { system: payload.payerId.system } : {}), value: payload.payerId.value } } : {}) }],
      sender: { reference: agency, identifier: await organizationIdentifier(services, agency) },
      reasonCode: [{ coding: [{ system: 'http://hl7.org/fhir/claim-use', code: payload.attachTo }] }],
      payload: payload.documents.map(({ document, lineItems }) => ({
        ...(lineItems && lineItems.length > 0 ? { extension: lineItems.map((item) => ({ url: LINE_ITEM_EXTENSION, valueString: item })) } : {}),
        contentReference: { reference: document },
      })),
      ...(payload.note ? { note: [{ text: payload.note, time: now.toISOString() }] } : {}),
    };
    return { caseId: caseRecord.resource.id, writes: [created(communication)] };
  },
};
