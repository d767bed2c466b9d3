/**
 * What a Subscription asks for, read and checked (pure): R4 criteria subscriptions (criteria is a
 * search, `Task?owner=Organization/1`) and R4 backport topic subscriptions (criteria is a topic's
 * canonical URL, filters in the backport-filter-criteria extension), both on the rest-hook
 * channel. A criteria subscription with a payload gets each resource PUT to [endpoint]/[type]/[id],
 * without one an empty POST; a topic subscription gets a notification Bundle with the payload
 * content it asks for (empty, id-only, full-resource).
 * See: https://hl7.org/fhir/R4/subscription.html and
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/ (R4 Subscription, notifications),
 * http://hl7.org/fhir/us/sdoh-clinicalcare/subscriptions.html (the Task and ServiceRequest topics).
 */
import type { Extension, Subscription } from '@medplum/fhirtypes';
import { type QueryParams, parseQueryString } from '../../core/exchange';
import { FhirError } from '../../fhir/outcomes';

export const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const FILTER_CRITERIA = `${BACKPORT}/backport-filter-criteria`;
export const PAYLOAD_CONTENT = `${BACKPORT}/backport-payload-content`;

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

/** A topic we serve: the resources it follows, what they must match, and the filters a subscriber may add. */
export interface Topic {
  readonly url: string;
  readonly resourceType: string;
  readonly base: Readonly<Record<string, readonly string[]>>;
  readonly filters: readonly string[];
}

export const TOPICS: readonly Topic[] = [
  // SDOHCC: referral Tasks created or updated (not drafts).
  { url: 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task', resourceType: 'Task', base: { 'status:not': ['draft'], intent: ['order'] }, filters: ['_lastUpdated', 'code', 'owner', 'requester', 'status', 'focus', 'patient'] },
  // SDOHCC: a referral's ServiceRequest changed (cancelled, suspended).
  { url: 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Servicerequest', resourceType: 'ServiceRequest', base: {}, filters: ['_lastUpdated', '_id', 'patient', 'requester', 'performer'] },
  // CaseBridge: a client's service plan changed (no standard topic exists for EHRs pulling care plans).
  { url: 'http://casebridge.org/fhir/SubscriptionTopic/care-plan', resourceType: 'CarePlan', base: {}, filters: ['_lastUpdated', 'patient', 'subject', 'category', 'status'] },
];

/** Header names a subscriber may not set: the request's framing and addressing are ours. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'te', 'trailer']);
/** Result parameters: a criteria only selects. */
const RESULT_PARAMETERS = /^(_count|_sort|_include|_revinclude|_summary|_elements|_total|_contained|_containedType|_format|_pretty|_cursor)(:|$)/;

export interface SubscriptionPlan {
  readonly style: 'criteria' | 'topic';
  readonly topic?: string;
  readonly resourceType: string;
  /** The search resources must match (validated against the registry by the caller). */
  readonly query: QueryParams;
  readonly content: PayloadContent;
  readonly endpoint: string;
  /** channel.header, split into name and value. */
  readonly headers: readonly (readonly [string, string])[];
}

/** The plan of `subscription`; a FhirError (422, located) says what it asks that is not served. */
export function readSubscription(subscription: Subscription): SubscriptionPlan {
  const { channel } = subscription;
  if (channel?.type !== 'rest-hook') {
    throw refusal(`Only the rest-hook channel is served, not ${channel?.type ?? 'none'}`, 'Subscription.channel.type');
  }
  const endpoint = channel.endpoint;
  if (endpoint === undefined || endpoint === '') throw refusal('A rest-hook subscription needs channel.endpoint', 'Subscription.channel.endpoint');
  const payload = channel.payload;
  if (payload !== undefined && !/^application\/(fhir\+)?json(\s*;.*)?$/.test(payload)) {
    throw refusal(`Notifications are FHIR JSON: channel.payload must be application/fhir+json, not ${payload}`, 'Subscription.channel.payload');
  }
  const headers = (channel.header ?? []).map((line, i): [string, string] => {
    const at = line.indexOf(':');
    const name = at > 0 ? line.slice(0, at).trim() : '';
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name) || RESERVED_HEADERS.has(name.toLowerCase()) || /[\r\n]/.test(line)) {
      throw refusal(`channel.header must be "Name: value" lines naming a header CaseBridge does not set itself; "${line.slice(0, 40)}" is not`, `Subscription.channel.header[${i}]`);
    }
    return [name, line.slice(at + 1).trim()];
  });
  const criteria = subscription.criteria ?? '';
  const topic = TOPICS.find((t) => t.url === criteria);
  if (topic) return { style: 'topic', topic: topic.url, resourceType: topic.resourceType, query: topicQuery(subscription, topic), content: payloadContent(subscription), endpoint, headers };
  if (/^https?:\/\//.test(criteria)) {
    throw refusal(`${criteria} is not a topic served here (${TOPICS.map((t) => t.url).join(', ')})`, 'Subscription.criteria');
  }
  const match = /^([A-Z][A-Za-z]+)(?:\?(.*))?$/.exec(criteria);
  if (!match) throw refusal('criteria must be a search ([type]?[parameters]) or a topic served here', 'Subscription.criteria');
  const query = parseQueryString(match[2] ?? '');
  const result = Object.keys(query).find((name) => RESULT_PARAMETERS.test(name));
  if (result !== undefined) throw refusal(`criteria selects resources: ${result} does not belong in it`, 'Subscription.criteria');
  return { style: 'criteria', resourceType: match[1] as string, query, content: payload === undefined ? 'empty' : 'full-resource', endpoint, headers };
}

/** The topic's own criteria and the subscriber's filters (each filter a `[type]?[parameters]` of the topic's type). */
function topicQuery(subscription: Subscription, topic: Topic): QueryParams {
  const query: Record<string, string[]> = Object.fromEntries(Object.entries(topic.base).map(([k, v]) => [k, [...v]]));
  const filters = (primitiveExtensions(subscription, '_criteria') ?? []).filter((e) => e.url === FILTER_CRITERIA);
  for (const [i, filter] of filters.entries()) {
    const text = filter.valueString ?? '';
    const [type, parameters = ''] = text.includes('?') ? [text.slice(0, text.indexOf('?')), text.slice(text.indexOf('?') + 1)] : [topic.resourceType, text];
    if (type !== topic.resourceType) {
      throw refusal(`The topic ${topic.url} is about ${topic.resourceType}: its filters are ${topic.resourceType}?…, not "${text}"`, `Subscription.criteria.extension[${i}]`);
    }
    for (const [name, values] of Object.entries(parseQueryString(parameters))) {
      if (!topic.filters.includes(name.split(':')[0] as string)) {
        throw refusal(`The topic ${topic.url} can be filtered by ${topic.filters.join(', ')}, not ${name}`, `Subscription.criteria.extension[${i}]`);
      }
      (query[name] ??= []).push(...values);
    }
  }
  return query;
}

function payloadContent(subscription: Subscription): PayloadContent {
  const code = (primitiveExtensions(subscription.channel ?? {}, '_payload') ?? []).find((e) => e.url === PAYLOAD_CONTENT)?.valueCode;
  if (code === undefined) return 'id-only';
  if (code === 'empty' || code === 'id-only' || code === 'full-resource') return code;
  throw refusal(`payload content must be empty, id-only or full-resource, not ${code}`, 'Subscription.channel.payload');
}

/** The extensions of a primitive element (FHIR JSON `_name`), which the generated types leave out. */
function primitiveExtensions(element: object, key: string): Extension[] | undefined {
  return (element as Record<string, { extension?: Extension[] } | undefined>)[key]?.extension;
}

function refusal(message: string, expression: string): FhirError {
  return new FhirError('BUSINESS_RULE', message, { expression: [expression] });
}
