/**
 * The life of a case as a state machine (pure). A case is an EpisodeOfCare and its states are R4's
 * EpisodeOfCare.status (https://hl7.org/fhir/R4/valueset-episode-of-care-status.html):
 *
 *   referral received  planned    "planned to start; the organization may assess eligibility"
 *   waitlist           waitlist
 *   active             active
 *   on hold            onhold     (a hospital stay, a prison term: services paused)
 *   closed             finished   (close or transfer), or cancelled ("withdrawn before it could start")
 *
 *   planned → waitlist | active | cancelled      waitlist → active | cancelled
 *   active → onhold | finished                   onhold → active | finished
 *   finished → active (reopen)                   cancelled → active (reopen)
 *
 * Each move is made by one command; a move the machine does not allow is refused with 422 naming
 * the moves it allows from there. Other commands are allowed in some states only (409 naming them).
 */
import type { EpisodeOfCare } from '@medplum/fhirtypes';
import { FhirError } from '../fhir/outcomes';
import type { CommandName } from './command';

export type CaseStatus = EpisodeOfCare['status'];

/** The command that makes each move. */
const MOVES: Readonly<Record<CaseStatus, Partial<Record<CaseStatus, readonly CommandName[]>>>> = {
  planned: { waitlist: ['change-case-status'], active: ['change-case-status'], cancelled: ['change-case-status'] },
  waitlist: { active: ['change-case-status'], cancelled: ['change-case-status'] },
  active: { onhold: ['change-case-status'], finished: ['close-case', 'transfer-case'] },
  onhold: { active: ['change-case-status'], finished: ['close-case', 'transfer-case'] },
  finished: { active: ['reopen-case'] },
  cancelled: { active: ['reopen-case'] },
  'entered-in-error': {},
};

/** How each state reads in messages. */
export const STATUS_WORDS: Readonly<Record<CaseStatus, string>> = {
  planned: 'planned (referral received)',
  waitlist: 'on the waitlist',
  active: 'active',
  onhold: 'on hold',
  finished: 'finished',
  cancelled: 'cancelled',
  'entered-in-error': 'entered in error',
};

/** The moves allowed from `from`, as `status (command)`. */
export function allowedMoves(from: CaseStatus): string[] {
  return Object.entries(MOVES[from]).map(([to, commands]) => `${to} (${(commands ?? []).join(' or ')})`);
}

/**
 * Refuses (422) a move `command` would make from the case's status to `to`, naming the moves
 * allowed from there.
 */
export function assertMove(episode: EpisodeOfCare & { id: string }, to: CaseStatus, command: CommandName): void {
  const from = episode.status;
  if ((MOVES[from][to] ?? []).includes(command)) return;
  const since = episode.period?.end && (from === 'finished' || from === 'cancelled') ? ` (since ${episode.period.end})` : '';
  const allowed = allowedMoves(from);
  throw new FhirError(
    'BUSINESS_RULE',
    `Case ${episode.id} is ${from}${since}: it cannot become ${to} by ${command}; from ${from} it may become ${allowed.length > 0 ? allowed.join(', ') : 'nothing else'}`,
    { expression: ['EpisodeOfCare.status'] },
  );
}

const OPEN: readonly CaseStatus[] = ['planned', 'waitlist', 'active', 'onhold'];
const ANY: readonly CaseStatus[] = [...OPEN, 'finished', 'cancelled'];

/**
 * The states in which each command that is not a move may run. A plan is made and worked for an
 * active case (on hold, its plan is paused; waitlisted, there is no service yet); what a case
 * manager records about the client (screenings, risk, referrals, consents, appointments) while
 * the case is open; contacts, events, notes, flag reviews, referral and appointment updates
 * whatever the state — follow-up after closure is part of the work.
 */
export const COMMAND_STATES: Readonly<Partial<Record<CommandName, readonly CaseStatus[]>>> = {
  'record-screening': OPEN,
  'record-assessment': OPEN,
  'set-risk-level': OPEN,
  'create-service-plan': ['active'],
  'revise-service-plan': ['active'],
  'record-progress': ['active'],
  'make-referral': OPEN,
  'record-consent': OPEN,
  'reassign-case': OPEN,
  'book-appointment': OPEN,
  'evaluate-case': ['active', 'onhold', 'finished'],
  'update-referral-status': ANY,
  'log-contact': ANY,
  'record-significant-event': ANY,
  'revoke-consent': ANY,
  'review-flags': ANY,
  'reschedule-appointment': OPEN,
  'cancel-appointment': ANY,
  'record-no-show': ANY,
  'record-attendance': ANY,
  // Claims are often billed after the case closed.
  'send-attachments': ANY,
};

/** Refuses (409) a command the case's state does not allow, naming the states that do. */
export function assertCommandAllowed(episode: EpisodeOfCare & { id: string }, command: CommandName, what: string): void {
  const allowed = COMMAND_STATES[command];
  if (!allowed || allowed.includes(episode.status)) return;
  const since = episode.period?.end && (episode.status === 'finished' || episode.status === 'cancelled') ? ` (since ${episode.period.end})` : '';
  throw new FhirError(
    'CONFLICT',
    `Case ${episode.id} is ${STATUS_WORDS[episode.status]}${since}: cannot ${what} (allowed when the case is ${allowed.map((s) => STATUS_WORDS[s]).join(', ')})`,
    { expression: ['EpisodeOfCare.status'] },
  );
}
