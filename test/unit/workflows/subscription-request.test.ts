/** What a Subscription asks for (criteria or backport topic, payload, headers), and the backoff of its retries. */
import type { Subscription } from '@medplum/fhirtypes';
import { retryDelayMs } from '../../../src/workflows/backoff';
import { endpointRefusal, isUnder } from '../../../src/workflows/destinations';
import { readSubscription } from '../../../src/workflows/subscriptions/subscription-request';

const base = (extra: Record<string, unknown>): Subscription =>
  ({ resourceType: 'Subscription', status: 'requested', reason: 'x', criteria: 'Task', channel: { type: 'rest-hook', endpoint: 'https://ehr.example.org/hook' }, ...extra }) as Subscription;

test('a criteria subscription: its search, and a full resource when it has a payload', () => {
  expect(readSubscription(base({ criteria: 'Task?owner=Organization/1&status=requested' }))).toMatchObject({
    style: 'criteria',
    resourceType: 'Task',
    query: { owner: ['Organization/1'], status: ['requested'] },
    content: 'empty',
  });
  expect(readSubscription(base({ channel: { type: 'rest-hook', endpoint: 'https://e/h', payload: 'application/fhir+json' } })).content).toBe('full-resource');
});

test('a topic subscription: the topic’s criteria and the subscriber’s filters; id-only by default', () => {
  const plan = readSubscription(
    base({
      criteria: 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task',
      _criteria: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria', valueString: 'Task?requester=Organization/r' }] },
    }),
  );
  expect(plan).toMatchObject({ style: 'topic', resourceType: 'Task', content: 'id-only', query: { 'status:not': ['draft'], intent: ['order'], requester: ['Organization/r'] } });
});

test.each([
  ['a filter of another type', { criteria: 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task', _criteria: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria', valueString: 'Patient?name=x' }] } }, 'Subscription.criteria.extension[0]'],
  ['a filter the topic does not offer', { criteria: 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task', _criteria: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria', valueString: 'Task?description=x' }] } }, 'Subscription.criteria.extension[0]'],
  ['a websocket', { channel: { type: 'websocket' } }, 'Subscription.channel.type'],
  ['no endpoint', { channel: { type: 'rest-hook' } }, 'Subscription.channel.endpoint'],
  ['a header line without a name', { channel: { type: 'rest-hook', endpoint: 'https://e/h', header: ['no colon'] } }, 'Subscription.channel.header[0]'],
  ['a payload content code that does not exist', { criteria: 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task', channel: { type: 'rest-hook', endpoint: 'https://e/h', _payload: { extension: [{ url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content', valueCode: 'everything' }] } } }, 'Subscription.channel.payload'],
])('refuses %s', (_title, extra, where) => {
  expect(() => readSubscription(base(extra))).toThrow(expect.objectContaining({ status: 422, outcome: expect.objectContaining({ issue: [expect.objectContaining({ expression: [where] })] }) }));
});

test('endpoints: only at allowed origins or a partner’s; URLs under a base', () => {
  const allowed = { endpointOrigins: ['https://ehr.example.org'], partnerBases: ['https://harbor.example.org/fhir'] };
  expect(endpointRefusal('https://ehr.example.org/hook', allowed)).toBeUndefined();
  expect(endpointRefusal('https://harbor.example.org/notify', allowed)).toBeUndefined();
  expect(endpointRefusal('https://evil.example.org/hook', allowed)).toMatch(/not one/);
  expect(endpointRefusal('https://user:pw@ehr.example.org/hook', allowed)).toMatch(/without credentials/);
  expect(endpointRefusal('file:///etc/passwd', allowed)).toMatch(/http/);
  expect(isUnder('https://harbor.example.org/fhir/Task/1', 'https://harbor.example.org/fhir')).toBe(true);
  expect(isUnder('https://harbor.example.org/fhirx/Task/1', 'https://harbor.example.org/fhir')).toBe(false);
  expect(isUnder('https://harbor.example.org.evil.org/fhir/Task', 'https://harbor.example.org/fhir')).toBe(false);
});

test('retries back off exponentially from 15 s to an hour, with a bounded spread', () => {
  expect(retryDelayMs(1, 'a')).toBeGreaterThanOrEqual(15_000);
  expect(retryDelayMs(1, 'a')).toBeLessThan(16_500);
  expect(retryDelayMs(2, 'a')).toBeGreaterThanOrEqual(30_000);
  expect(retryDelayMs(20, 'a')).toBeGreaterThanOrEqual(3_600_000);
  expect(retryDelayMs(20, 'a')).toBeLessThanOrEqual(3_960_000);
  expect(retryDelayMs(3, 'same')).toBe(retryDelayMs(3, 'same'));
});
