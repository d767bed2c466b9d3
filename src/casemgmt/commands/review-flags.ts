/**
 * Review the client's safety flags: for each Flag the case manager keeps it (the alert still
 * applies) or resolves it (status inactive, period.end), with a reason. R4's Flag has no room for
 * a reason, so each decision is a case note (DocumentReference cb-case-note) whose
 * context.related names the Flag: the case view shows each flag's latest review, and FHIR clients
 * find them with DocumentReference?related=Flag/[id]. Allowed whatever the case's state: a flag
 * outlives the case (the issue's "nothing resolves a Flag, even after closure").
 * See: https://hl7.org/fhir/R4/flag.html
 */
import type { Flag } from '@medplum/fhirtypes';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import type { PlannedWrite } from '../../store/repository';
import { loadCase, readVersioned } from '../case-record';
import { type CaseCommand, created, updated } from '../command';
import { assertCommandAllowed } from '../lifecycle';
import { FLAG_REVIEW_TITLES } from '../safety';
import { type ReviewFlagsPayload, reviewFlagsSchema } from '../schemas/review-flags';
import { idOf, localReference, today } from '../vocabulary';
import { authorOf, caseNote } from './contact';

export const reviewFlags: CaseCommand<ReviewFlagsPayload> = {
  name: 'review-flags',
  schema: reviewFlagsSchema,
  async plan({ services, payload, params, ids, now, agent }) {
    const caseRecord = await loadCase(services, params.caseId as string);
    assertCommandAllowed(caseRecord.resource, 'review-flags', 'review flags');
    const date = payload.date ?? today(now);
    const writes: PlannedWrite[] = [];
    const seen = new Set<string>();
    for (const [i, review] of payload.reviews.entries()) {
      const at = [`reviews[${i}].flag`];
      if (seen.has(review.flag)) throw new FhirError('BUSINESS_RULE', `${review.flag} is reviewed twice`, { expression: at });
      seen.add(review.flag);
      const flag = await readVersioned<Flag>(services, 'Flag', idOf(review.flag));
      if (!flag || localReference(flag.resource.subject) !== caseRecord.client) {
        throw new FhirError('BUSINESS_RULE', `${review.flag} is not a flag of the case's client (${caseRecord.client})`, { expression: at });
      }
      if (flag.resource.status !== 'active') {
        throw new FhirError('CONFLICT', `${review.flag} is ${flag.resource.status}: only an active flag is kept or resolved`, { expression: [`reviews[${i}].decision`] });
      }
      if (review.decision === 'resolve') {
        const start = flag.resource.period?.start;
        const end = start !== undefined && start.slice(0, 10) > date ? start : date;
        writes.push(updated({ ...withoutServerMeta(flag.resource), status: 'inactive', period: { ...flag.resource.period, end } } as Flag & { id: string }, flag.versionId));
      }
      writes.push(
        created(
          caseNote({
            id: ids.next(`flag-review-${i + 1}`),
            caseRecord,
            type: 'social-work-note',
            text: review.reason,
            date: now.toISOString(),
            author: authorOf(agent, caseRecord),
            context: [],
            related: [review.flag],
            period: { start: date },
            description: FLAG_REVIEW_TITLES[review.decision],
          }),
        ),
      );
    }
    return { caseId: caseRecord.resource.id, writes };
  },
};
