/**
 * The `_sort`s clients use, per resource type, declared beside the search parameters. On MongoDB
 * each one gets compound indexes (store/mongo/search-indexes.ts), so that a sorted search, and
 * every page of it, reads an index in order instead of sorting in memory; a `_sort` that is not
 * declared here still works, sorted in memory after its filter (docs/performance.md). An entry is
 * a `_sort` value; its reverse (every rule flipped) is served by the same indexes.
 *
 * Chosen from the workflows (docs/storage.md#indexes): clinical lists newest first (an episode's
 * encounters, a patient's observations, notes and care plans), work queues by when the work was
 * asked for (tasks, referrals), the client list by family name, the audit log by time.
 */
import { parseSort } from './parse-result';
import type { SortRule } from './request';

export const INDEXED_SORTS: Readonly<Record<string, readonly string[]>> = {
  AuditEvent: ['date'],
  CarePlan: ['date'],
  Communication: ['sent'],
  Condition: ['onset-date'],
  DocumentReference: ['date'],
  Encounter: ['date'],
  EpisodeOfCare: ['date'],
  Observation: ['date'],
  Patient: ['family'],
  QuestionnaireResponse: ['authored'],
  ServiceRequest: ['authored'],
  Task: ['authored-on'],
};

/** The declared sorts of a type, as sort rules (a declaration is written as a `_sort` value; the unit test checks each names a sortable parameter). */
export function indexedSorts(resourceType: string): SortRule[][] {
  return (INDEXED_SORTS[resourceType] ?? []).map((value) => parseSort(value, () => true));
}

/**
 * The order a search is read in: its rules, then `_id` to break ties, in the direction of the
 * last rule, so that `_sort=date` and `_sort=-date` are one order and its reverse, and one index
 * serves both (an `_id` ascending after `-date` would need an index of its own). An explicit
 * `_id` ends the order where it stands (it is unique: rules after it change nothing).
 */
export function withTieBreak(rules: readonly SortRule[]): SortRule[] {
  const byId = rules.findIndex((rule) => rule.code === '_id');
  if (byId !== -1) return rules.slice(0, byId + 1);
  return [...rules, { code: '_id', descending: rules[rules.length - 1]?.descending ?? false }];
}
