/**
 * References to other entries of a transaction, rewritten to the local references of what the
 * entries became (https://hl7.org/fhir/R4/http.html#trules). Conditional references need the
 * database: test/integration/rest/bundle.test.ts covers them with the rest of a transaction.
 */
import type { CarePlan, Resource } from '@medplum/fhirtypes';
import type { FhirServices } from '../../../src/core/services';
import { parseFhirJson, stringifyFhirJson } from '../../../src/fhir/json-text';
import { rewriteReferences } from '../../../src/rest/bundle/references';
import { refusal } from '../../support/errors';

// No conditional reference below, so no search: any use of the services would throw.
const services = undefined as unknown as FhirServices;
const byFullUrl = new Map([
  ['urn:uuid:0f1a', 'Patient/p1'],
  ['urn:uuid:2b3c', 'Goal/g1'],
]);

function plan(): CarePlan {
  return parseFhirJson(
    JSON.stringify({
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: 'urn:uuid:0f1a', display: 'Ana' },
      goal: [{ reference: 'Goal/existing' }, { reference: 'urn:uuid:2b3c' }],
      activity: [{ detail: { status: 'scheduled', dailyAmount: { value: 2.50 } } }],
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><a href="urn:uuid:0f1a">Ana</a></div>' },
    }).replace('"value":2.5', '"value":2.50'),
  ) as CarePlan;
}

test('references to entries become local references, in arrays and in the narrative', async () => {
  const rewritten = (await rewriteReferences(services, plan(), byFullUrl)) as CarePlan;
  expect(rewritten.subject).toEqual({ reference: 'Patient/p1', display: 'Ana' });
  expect(rewritten.goal).toEqual([{ reference: 'Goal/existing' }, { reference: 'Goal/g1' }]);
  expect(rewritten.text?.div).toContain('href="Patient/p1"');
});

test('the request body is left as it was; only the way to a replaced value is copied', async () => {
  const original = plan();
  const before = JSON.stringify(original);
  const rewritten = (await rewriteReferences(services, original, byFullUrl)) as CarePlan;
  expect(JSON.stringify(original)).toBe(before);
  expect(rewritten).not.toBe(original);
  expect(rewritten.goal).not.toBe(original.goal);
  expect(rewritten.goal?.[0]).toBe(original.goal?.[0]);
  expect(rewritten.activity).toBe(original.activity);
  expect(stringifyFhirJson(rewritten)).toContain('"dailyAmount":{"value":2.50}');
});

test('a resource without references to entries comes back as it is', async () => {
  const resource = { resourceType: 'Goal', lifecycleStatus: 'active', subject: { reference: 'Patient/p9' } } as Resource;
  expect(await rewriteReferences(services, resource, byFullUrl)).toBe(resource);
});

test('a urn:uuid that no entry has is refused', async () => {
  const resource = { resourceType: 'Goal', subject: { reference: 'urn:uuid:ffff' } } as Resource;
  expect(await refusal(() => rewriteReferences(services, resource, byFullUrl))).toMatchObject({ code: 'INVALID_BUNDLE' });
});

test('a copied object keeps the text of its decimals', async () => {
  const text = '{"resourceType":"ChargeItem","status":"billable","code":{"text":"visit"},"subject":{"reference":"urn:uuid:0f1a"},"factorOverride":0.80}';
  const rewritten = await rewriteReferences(services, parseFhirJson(text) as Resource, byFullUrl);
  expect(stringifyFhirJson(rewritten)).toBe(text.replace('urn:uuid:0f1a', 'Patient/p1'));
});
