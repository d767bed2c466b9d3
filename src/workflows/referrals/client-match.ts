/**
 * Whether the client a partner refers is already one of the receiving agency's clients (pure).
 *
 * The rule (docs/workflows.md §3c): the referred Patient's business identifiers (system and
 * value both present, not `use: old`) and the partner's own (`[partner base]/Patient|[id]`, which
 * the client recorded from an earlier referral carries) are looked up among the Patients the
 * receiving agency may see — nothing else is searched; one in our own id system (a client we
 * referred, referred back) names our record outright, if the agency may see it. Exactly one match whose birth date does
 * not contradict the referral's is the client; no match is a new client; several matches, or one
 * that contradicts, are not merged: a new client is recorded and an administrative Flag asks the
 * case manager to check for a duplicate (the case manager's own review-flags command resolves it).
 * Demographics alone (name, birth date) never match: a wrong match would file one person's
 * referral in another's record, which is worse than a duplicate the case manager merges.
 * See: https://hl7.org/fhir/R4/patient.html#match (matching is the server's business, and a
 * server should not merge on a weak match)
 */
import type { Flag, Identifier, Patient } from '@medplum/fhirtypes';
import { FLAG_DETAIL, SYSTEMS } from '../../casemgmt/vocabulary';

/** The identifiers a client is matched on: the referral's business identifiers and the partner's id of the client. */
export function matchingIdentifiers(referred: Patient, source: Identifier): Identifier[] {
  const usable = (referred.identifier ?? []).filter((i) => i.system && i.value && i.use !== 'old');
  const all = [...usable, source];
  return all.filter((i, n) => all.findIndex((j) => j.system === i.system && j.value === i.value) === n);
}

export type ClientMatch =
  | { readonly kind: 'none' }
  | { readonly kind: 'one'; readonly patient: string }
  | { readonly kind: 'ambiguous'; readonly candidates: readonly string[]; readonly reason: string };

/** The decision for the Patients found (each `Patient/<id>` with its resource, any order, duplicates allowed). */
export function decideMatch(referred: Patient, found: readonly { readonly reference: string; readonly patient: Patient }[]): ClientMatch {
  const unique = [...new Map(found.map((f) => [f.reference, f])).values()].sort((a, b) => a.reference.localeCompare(b.reference));
  if (unique.length === 0) return { kind: 'none' };
  const candidates = unique.map((f) => f.reference);
  if (unique.length > 1) return { kind: 'ambiguous', candidates, reason: `the referral's identifiers match ${unique.length} clients` };
  const [only] = unique as [{ reference: string; patient: Patient }];
  if (referred.birthDate && only.patient.birthDate && referred.birthDate !== only.patient.birthDate) {
    return { kind: 'ambiguous', candidates, reason: `the referral's identifiers match a client born ${only.patient.birthDate}, the referral says ${referred.birthDate}` };
  }
  return { kind: 'one', patient: only.reference };
}

/**
 * The Flag that asks the receiving agency's case manager to check a possible duplicate client: on
 * the client recorded, administrative, naming the clients it may duplicate and the referral
 * (flag-detail) that raised it. Only the agency sees it: the partner is never told about our other
 * clients.
 */
export function possibleDuplicateFlag(args: { id: string; patient: string; match: Extract<ClientMatch, { kind: 'ambiguous' }>; task: string; author: string; start: string }): Flag & { id: string } {
  return {
    resourceType: 'Flag',
    id: args.id,
    extension: [{ url: FLAG_DETAIL, valueReference: { reference: args.task } }],
    status: 'active',
    category: [{ coding: [{ system: SYSTEMS.flagCategory, code: 'admin', display: 'Administrative' }] }],
    code: { text: `Possible duplicate client: ${args.match.reason} (${args.match.candidates.join(', ')}); not merged — check and merge by hand if they are the same person` },
    subject: { reference: args.patient },
    period: { start: args.start },
    author: { reference: args.author },
  };
}
