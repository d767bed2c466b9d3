/**
 * The case API's endpoints, in one table that the HTTP router (src/http/case-api.ts) mounts and
 * the OpenAPI document (openapi.ts) describes, so the two cannot drift apart.
 */
import type { CaseCommand } from './command';
import { bookAppointment, cancelAppointment, recordAttendance, recordNoShow, rescheduleAppointment } from './commands/appointments';
import { logContact, recordSignificantEvent } from './commands/contact';
import { changeCaseStatus, reassignCase, reopenCase } from './commands/lifecycle';
import { openCase } from './commands/open-case';
import { recordConsent, revokeConsent } from './commands/record-consent';
import { makeReferral, updateReferralStatus } from './commands/referral';
import { closeCase, transferCase } from './commands/transition';
import { recordProgress } from './commands/record-progress';
import { recordAssessment } from './commands/record-assessment';
import { evaluateCase } from './commands/evaluate-case';
import { reviewFlags } from './commands/review-flags';
import { recordScreening } from './commands/record-screening';
import { createServicePlan, reviseServicePlan } from './commands/service-plan';
import { setRiskLevel } from './commands/set-risk-level';
import { approveDocumentationRequest, declineDocumentationRequest } from './commands/documentation-requests';
import { sendAttachments } from './commands/send-attachments';

export interface CommandEndpoint {
  readonly kind: 'command';
  readonly method: 'POST' | 'PUT';
  /** Below /cm/v1, with `{caseId}`-style parameters. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each endpoint has its own payload type
  readonly command: CaseCommand<any>;
}

export const COMMAND_ENDPOINTS: readonly CommandEndpoint[] = [
  {
    kind: 'command',
    method: 'POST',
    path: '/cases',
    operationId: 'openCase',
    summary: 'Open a case for a client (intake)',
    description:
      'Writes the client (Patient cb-client, when new: matched by identifier first), the case (EpisodeOfCare cb-case), its CareTeam and the presenting problems (Condition), with a Provenance.',
    command: openCase,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/screenings',
    operationId: 'recordScreening',
    summary: 'Record a screening or assessment (PHQ-9, PHQ-2, GAD-7)',
    description:
      'Writes a completed QuestionnaireResponse (cb-screening-response) linked to the case, and what scoring derives from it in the same unit: the total score Observation, a RiskAssessment and, when PHQ-9 item 9 is positive, a safety Flag. Answers that cannot be scored are 422, located at the answer.',
    command: recordScreening,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/risk',
    operationId: 'setRiskLevel',
    summary: 'Set the risk level',
    description:
      'Writes a RiskAssessment (cb-risk-assessment) of the case manager’s judgement. High: also an active safety Flag (cb-risk-flag, code high-risk). Earlier active high-risk Flags of the client end.',
    command: setRiskLevel,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/plan',
    operationId: 'createServicePlan',
    summary: 'Create the service plan',
    description:
      'Writes the plan (CarePlan cb-service-plan: assess-plan + service-plan), its goals (Goal cb-goal, naming their objectives with goal-relationship milestone extensions), the objectives (Goal cb-objective) and the interventions (ServiceRequest cb-planned-intervention, referenced from CarePlan.activity). 409 when the case already has an active plan; 422 for an objective without a goal.',
    command: createServicePlan,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/plan/revisions',
    operationId: 'reviseServicePlan',
    summary: 'Revise the service plan',
    description:
      'Writes a new plan that replaces the active one (which becomes revoked, its period ended). Entries with id carry goals, objectives and interventions forward (updated when changed); what is not carried forward is cancelled (goals, objectives) or revoked (interventions).',
    command: reviseServicePlan,
  },
  {
    kind: 'command',
    method: 'PUT',
    path: '/cases/{caseId}/plan',
    operationId: 'replaceServicePlan',
    summary: 'Revise the service plan (same as POST …/plan/revisions)',
    description: 'The same command as POST /cases/{caseId}/plan/revisions: PUT the whole revised plan.',
    command: reviseServicePlan,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/objectives/{objectiveId}/progress',
    operationId: 'recordProgress',
    summary: 'Record progress on an objective',
    description:
      'Writes an Observation of the measurement (focus and Goal.outcomeReference link it to the objective) and updates the objective’s and its goal’s lifecycleStatus, achievementStatus and statusDate.',
    command: recordProgress,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/referrals',
    operationId: 'makeReferral',
    summary: 'Make a referral',
    description:
      'Writes a ServiceRequest (cb-referral: intent order, performer = the receiving organization, supportingInfo = the consent) and its Task (cb-referral-task: status requested, code fulfill, owner = the receiving organization).',
    command: makeReferral,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/referrals/{referralId}/status',
    operationId: 'updateReferralStatus',
    summary: 'Record a referral status change',
    description:
      'Moves the referral Task (accepted, rejected, in-progress, on-hold, completed, cancelled, failed; a reason is required for rejected, cancelled, on-hold and failed) and the ServiceRequest with it (completed; revoked when rejected, cancelled or failed). The receiving organization may instead update the Task through the FHIR API. Allowed on a closed case. 409 for a transition the referral workflow does not allow.',
    command: updateReferralStatus,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/contacts',
    operationId: 'logContact',
    summary: 'Log a contact or home visit with its note',
    description:
      'Writes an Encounter (cb-contact: class HH home visit, AMB office, FLD field, VR phone/video) and its note (DocumentReference cb-case-note, text/plain, context.encounter = the contact and the case). Allowed on a closed case (post-transition follow-up).',
    command: logContact,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/events',
    operationId: 'recordSignificantEvent',
    summary: 'Record a significant event (crisis, hospitalization, mandated report…)',
    description:
      'Writes a case note (DocumentReference cb-case-note) with the event category, and a safety Flag (cb-risk-flag) when safetyConcern is true. Allowed on a closed case.',
    command: recordSignificantEvent,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/transfer',
    operationId: 'transferCase',
    summary: 'Transfer the case to another agency',
    description:
      'Writes a referral to the receiving agency (ServiceRequest cb-referral + Task cb-referral-task, the summary as Task.input), the transition summary (DocumentReference, LOINC 57133-1 or 18842-5), the case finished (EpisodeOfCare status and statusHistory), the active plan completed, its open goals cancelled (achieved ones completed) and active interventions completed. 409 on a closed case.',
    command: transferCase,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/close',
    operationId: 'closeCase',
    summary: 'Close the case',
    description:
      'Writes the case finished (EpisodeOfCare status, period.end, statusHistory), the active plan completed, its open goals cancelled (achieved ones completed) and active interventions completed. 409 on a closed case.',
    command: closeCase,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/consents',
    operationId: 'recordConsent',
    summary: 'Record a consent (treatment, disclosure, 42 CFR Part 2)',
    description:
      'Writes a Consent (cb-consent). 42 CFR Part 2: policy uri of Part 2, a provision with recipients, purposes and expiry, security labels R, 42CFRPart2 and NORDSCLCD.',
    command: recordConsent,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/consents/{consentId}/revoke',
    operationId: 'revokeConsent',
    summary: 'Revoke a consent',
    description:
      'The client withdraws a consent: the Consent becomes inactive and its provision ends on the date given (default today). Nothing is disclosed under it from then on. 404 for a consent of another client; 409 when it is not active. Allowed on a closed case.',
    command: revokeConsent,
  },
  // ── Issue 15: the case's life (lifecycle.ts) ──
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/status',
    operationId: 'changeCaseStatus',
    summary: 'Put the case on the waitlist, activate, hold, resume or cancel it',
    description:
      'Moves the case (EpisodeOfCare status and statusHistory) along its state machine: planned → waitlist | active | cancelled; waitlist → active | cancelled; active → onhold; onhold → active. On hold, the plan and its interventions are on hold too; resuming makes them active again; cancelling winds the case up as closing does. A reason (required for onhold and cancelled) is kept in a case note. Any other move is 422 naming the moves allowed.',
    command: changeCaseStatus,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/reopen',
    operationId: 'reopenCase',
    summary: 'Reopen a finished or cancelled case',
    description:
      'The case becomes active again (a new statusHistory entry; period.end removed), its CareTeam active; the completed plan stays in the plan history (create a new one). The reason is kept in a case note. 422 from any other state.',
    command: reopenCase,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/reassign',
    operationId: 'reassignCase',
    summary: 'Reassign the case to another case manager',
    description:
      'EpisodeOfCare.careManager becomes the new case manager; on the CareTeam the previous case manager’s participation ends and the new one’s begins; appointments still to come with the previous case manager move to the new one (participant status needs-action). The reason is kept in a case note. 409 on a closed case.',
    command: reassignCase,
  },
  // ── Issue 15: comprehensive assessment ──
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/assessments',
    operationId: 'recordAssessment',
    summary: 'Record the comprehensive needs and psychosocial assessment',
    description:
      'A QuestionnaireResponse to Questionnaire needs-assessment (housing, income, employment, social support, substance use, physical health, legal); an Observation per domain answered (social-history, and sdoh where Gravity has the domain); a Condition (health-concern, SDOH category) per domain with a need, which goals address with goals[].addresses. 409 on a closed case.',
    command: recordAssessment,
  },
  // ── Issue 15: safety ──
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/flags/review',
    operationId: 'reviewFlags',
    summary: 'Review the client’s safety flags: keep or resolve each, with a reason',
    description:
      'For each active Flag of the client: keep (the alert still applies) or resolve (the Flag becomes inactive, period.end the review day). Each decision and its reason is a case note whose context.related names the Flag (R4 Flag has no reason element); the case view shows each flag’s latest review, open flags first. 422 for a flag of another client, 409 for one not active. Allowed whatever the case’s state.',
    command: reviewFlags,
  },
  // ── Issue 15: scheduling ──
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/appointments',
    operationId: 'bookAppointment',
    summary: 'Book an appointment',
    description:
      'An Appointment (booked) for the case: supportingInformation → the EpisodeOfCare, participants the client and the case manager (or `with`), serviceType the contact type and service, basedOn the intervention. Found by EHR schedulers with Appointment?patient=…&date=…&status=booked or Appointment?actor=…. 409 on a closed case; 422 when the end is not after the start.',
    command: bookAppointment,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/appointments/{appointmentId}/reschedule',
    operationId: 'rescheduleAppointment',
    summary: 'Move an appointment to another time',
    description: 'The Appointment keeps its id and becomes booked at the new time; the comment says from when and why (the earlier version stays in its history). 409 unless proposed, pending or booked.',
    command: rescheduleAppointment,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/appointments/{appointmentId}/cancel',
    operationId: 'cancelAppointment',
    summary: 'Cancel an appointment',
    description: 'The Appointment becomes cancelled with cancelationReason (appointment-cancellation-reason pat, prov or other, the reason as text). 409 unless proposed, pending, booked or waitlist.',
    command: cancelAppointment,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/appointments/{appointmentId}/no-show',
    operationId: 'recordNoShow',
    summary: 'Record that the client did not come',
    description: 'The Appointment becomes noshow (the client’s participation declined). 409 unless booked or pending.',
    command: recordNoShow,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/appointments/{appointmentId}/attended',
    operationId: 'recordAttendance',
    summary: 'Record an attended appointment: the contact it became',
    description:
      'The Appointment becomes fulfilled and the contact is recorded as log-contact does (Encounter with appointment → the Appointment, its case note, its service units and ChargeItem), its times, type, service and intervention defaulting to the appointment’s. 409 unless booked, arrived, checked-in or pending.',
    command: recordAttendance,
  },
  // ── Issue 15: evaluation (phase 9) ──
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/evaluation',
    operationId: 'evaluateCase',
    summary: 'Evaluate the outcomes of the case',
    description:
      'An Observation (case-management#case-evaluation: the outcome, with the goals achieved out of the goals of the latest plan and the PHQ-9 totals at intake and at the last screening, computed from the record) and the evaluation as a case note. Allowed on an active, on-hold or finished case; the case view shows it after closure.',
    command: evaluateCase,
  },
  // ── Issue 14: payers' documentation requests (Da Vinci CDex) ──
  {
    kind: 'command',
    method: 'POST',
    path: '/documentation-requests/{requestId}/approve',
    operationId: 'approveDocumentationRequest',
    summary: 'Approve a payer’s documentation request waiting for review',
    description:
      'The request’s Task becomes accepted; CaseBridge then fulfils it as it fulfils one policy allows at once: the query or the documents of the LOINC types asked for, searched as the payer may see the client’s record for the purpose it stated (minimum necessary, consents and 42 CFR Part 2 labels applied), named in Task.output, the Task completed, the disclosure audited, attachments pushed to the payer’s $submit-attachment when it named one. 404 for a request the caller’s organisation does not own; 409 when it was already decided.',
    command: approveDocumentationRequest,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/documentation-requests/{requestId}/decline',
    operationId: 'declineDocumentationRequest',
    summary: 'Decline a payer’s documentation request, with a reason',
    description: 'The request’s Task becomes rejected with the reason in Task.statusReason (what the payer reads). Nothing is released. 404 for a request the caller’s organisation does not own; 409 when it was already decided.',
    command: declineDocumentationRequest,
  },
  {
    kind: 'command',
    method: 'POST',
    path: '/cases/{caseId}/attachments',
    operationId: 'sendAttachments',
    summary: 'Send documents of the client to a payer for a claim (unsolicited attachments)',
    description:
      'Records what is sent as a Communication (category unsolicited-attachment, in-progress: the payer, the client, the claim’s tracking number, the date of service, the documents with the claim lines each supports); CaseBridge then posts them to the payer’s $submit-attachment (Da Vinci CDex Parameters) from its durable outbox, retried until the payer accepts them, read as the payer may see the record; the Communication becomes completed (sent), or stopped/not-done saying why. 422 when the payer is not a registered partner, the client has no active coverage with it, or a document is not the client’s or not one the payer may receive (42 CFR Part 2 without consent). Allowed on a closed case.',
    command: sendAttachments,
  },
];

/** Path parameters of a path: `/cases/{caseId}/x/{y}` → [caseId, y]. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1] as string);
}
