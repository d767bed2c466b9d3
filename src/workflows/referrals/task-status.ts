/**
 * The referral Task's state machine (Gravity SDOHCC Task for Referral Management): who may move
 * a referral from which status to which, and which statuses must say why. Pure.
 *
 * The requester (the referring organisation) sends, cancels, or withdraws what should never have
 * existed; the owner (the receiving organisation) accepts or rejects, then works the referral
 * (in progress, on hold) to completed or failed, and may also cancel. `ready` and `received` are
 * not in the SDOHCC value set. Rejected, cancelled, on hold and failed need `statusReason.text`.
 * See: http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition-SDOHCC-TaskForReferralManagement.html
 * and http://hl7.org/fhir/us/sdoh-clinicalcare/referral_workflow.html (CASE-MANAGEMENT-FHIR.md §1.3).
 */

export const REFERRAL_STATUSES = ['draft', 'requested', 'accepted', 'rejected', 'in-progress', 'on-hold', 'failed', 'completed', 'cancelled', 'entered-in-error'] as const;
export type ReferralStatus = (typeof REFERRAL_STATUSES)[number];

/** The part an organisation plays in a referral. */
export type ReferralRole = 'requester' | 'owner';

/** Statuses that must say why (statusReason.text). */
export const STATUSES_NEEDING_REASON: ReadonlySet<string> = new Set(['rejected', 'cancelled', 'on-hold', 'failed']);

/** Statuses a referral ends in. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['rejected', 'completed', 'failed', 'cancelled', 'entered-in-error']);

/** Where each role may take a referral from each status. */
const TRANSITIONS: Readonly<Record<ReferralRole, Readonly<Partial<Record<ReferralStatus, readonly ReferralStatus[]>>>>> = {
  requester: {
    draft: ['requested', 'cancelled', 'entered-in-error'],
    requested: ['cancelled', 'entered-in-error'],
    accepted: ['cancelled'],
    'in-progress': ['cancelled'],
    'on-hold': ['cancelled'],
  },
  owner: {
    requested: ['accepted', 'rejected'],
    accepted: ['in-progress', 'on-hold', 'completed', 'failed', 'cancelled'],
    'in-progress': ['on-hold', 'completed', 'failed', 'cancelled'],
    'on-hold': ['in-progress', 'failed', 'cancelled'],
  },
};

/** A referral is created as a draft or as sent. */
export const INITIAL_STATUSES: readonly ReferralStatus[] = ['draft', 'requested'];

/** The statuses `roles` may move a referral to from `from`, in the value set's order. */
export function allowedNext(from: string, roles: readonly ReferralRole[]): ReferralStatus[] {
  const next = new Set(roles.flatMap((role) => TRANSITIONS[role][from as ReferralStatus] ?? []));
  return REFERRAL_STATUSES.filter((s) => next.has(s));
}

export type TransitionCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly problem: 'not-allowed'; readonly allowed: readonly ReferralStatus[] }
  | { readonly ok: false; readonly problem: 'reason-required' };

/**
 * Whether `roles` may move a referral from `from` (undefined: it is being created) to `to`, with
 * or without a reason. Staying in the same status is always allowed (a note, an output added),
 * but a status that needs a reason still needs one.
 */
export function checkTransition(args: { from: string | undefined; to: string; roles: readonly ReferralRole[]; hasReason: boolean }): TransitionCheck {
  const { from, to, roles } = args;
  if (from === undefined) {
    if (!INITIAL_STATUSES.includes(to as ReferralStatus)) return { ok: false, problem: 'not-allowed', allowed: [...INITIAL_STATUSES] };
  } else if (from !== to && !allowedNext(from, roles).includes(to as ReferralStatus)) {
    return { ok: false, problem: 'not-allowed', allowed: allowedNext(from, roles) };
  }
  if (STATUSES_NEEDING_REASON.has(to) && !args.hasReason) return { ok: false, problem: 'reason-required' };
  return { ok: true };
}

/**
 * The shortest way from `from` to `to` for the owner, as statuses after `from` (empty when equal,
 * undefined when there is none). The sender's copy of a referral follows the receiver's: when the
 * receiver went through several statuses between two looks, each step is recorded in order.
 */
export function pathTo(from: string, to: string, roles: readonly ReferralRole[] = ['owner', 'requester']): ReferralStatus[] | undefined {
  if (from === to) return [];
  const previous = new Map<string, string>([[from, '']]);
  const queue = [from];
  while (queue.length > 0) {
    const at = queue.shift() as string;
    for (const next of allowedNext(at, roles)) {
      if (previous.has(next)) continue;
      previous.set(next, at);
      if (next === to) {
        const path: ReferralStatus[] = [];
        for (let s: string = to; s !== from; s = previous.get(s) as string) path.unshift(s as ReferralStatus);
        return path;
      }
      queue.push(next);
    }
  }
  return undefined;
}
