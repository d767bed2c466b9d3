/**
 * The notification Bundle of a backport topic subscription (pure): a `history` Bundle whose first
 * entry is the subscription's status (a Parameters resource), followed — for full-resource — by
 * the resources that triggered it. Event numbers count the subscription's events from its start,
 * so a subscriber can tell when it missed one and catch up with a search.
 * See: https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/notifications.html and
 * https://hl7.org/fhir/uv/subscriptions-backport/STU1.1/StructureDefinition-backport-subscription-notification-r4.html
 */
import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, ParametersParameter, Resource } from '@medplum/fhirtypes';
import type { PayloadContent } from './subscription-request';

export const NOTIFICATION_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4';
export const STATUS_PROFILE = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4';

export interface NotificationEvent {
  readonly number: number;
  readonly timestamp: Date;
  /** `Type/id` of the resource that triggered it. */
  readonly focus: string;
  /** The resource, for full-resource content (as the subscriber may see it). */
  readonly resource?: Resource;
}

export interface NotificationInput {
  /** The Bundle's and the status Parameters' ids. */
  readonly id: string;
  readonly baseUrl: string;
  readonly subscriptionId: string;
  readonly topic: string;
  readonly status: 'requested' | 'active' | 'error' | 'off';
  readonly type: 'event-notification' | 'handshake' | 'heartbeat';
  readonly eventsSinceStart: number;
  readonly events: readonly NotificationEvent[];
  readonly content: PayloadContent;
  readonly timestamp: Date;
}

export function notificationBundle(input: NotificationInput): Bundle {
  const subscription = `${input.baseUrl}/Subscription/${input.subscriptionId}`;
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: subscription } },
    { name: 'topic', valueCanonical: input.topic },
    { name: 'status', valueCode: input.status },
    { name: 'type', valueCode: input.type },
    // A string in R4: the count is an integer64 in R5.
    { name: 'events-since-subscription-start', valueString: String(input.eventsSinceStart) },
    ...input.events.map(
      (event): ParametersParameter => ({
        name: 'notification-event',
        part: [
          { name: 'event-number', valueString: String(event.number) },
          { name: 'timestamp', valueInstant: event.timestamp.toISOString() },
          ...(input.content === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: `${input.baseUrl}/${event.focus}` } }]),
        ],
      }),
    ),
  ];
  const status: BundleEntry = {
    fullUrl: `urn:uuid:${uuidOf(input.id)}`,
    resource: { resourceType: 'Parameters', id: input.id, meta: { profile: [STATUS_PROFILE] }, parameter },
    // bdl-3/bdl-4: a history Bundle's entries have a request and a response.
    request: { method: 'GET', url: `${subscription}/$status` },
    response: { status: '200' },
  };
  const resources: BundleEntry[] =
    input.content === 'full-resource'
      ? input.events.flatMap((event) =>
          event.resource ? [{ fullUrl: `${input.baseUrl}/${event.focus}`, resource: event.resource, request: { method: 'PUT' as const, url: event.focus }, response: { status: '200' } }] : [],
        )
      : [];
  return { resourceType: 'Bundle', id: input.id, meta: { profile: [NOTIFICATION_PROFILE] }, type: 'history', timestamp: input.timestamp.toISOString(), entry: [status, ...resources] };
}

/** A name-based UUID (version 5 layout, SHA-1) of the notification's id: the same for every attempt of one notification. */
function uuidOf(name: string): string {
  const hex = createHash('sha1').update(name).digest('hex');
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
