// Shared by the search integration tests: seeding resources with readable ids, and reading a
// searchset Bundle (the ids it matched, its links, its OperationOutcome entry).
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Response } from 'supertest';
import { FHIR_JSON, type TestApp } from '../../support/app';

/** Stores each resource under its own id (PUT, update-as-create) in one batch; each must succeed. */
export async function seed(t: TestApp, resources: readonly Resource[]): Promise<void> {
  const entry = resources.map((resource) => ({
    resource,
    request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
  }));
  const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'batch', entry });
  expect(res.status).toBe(200);
  const failed = (res.body as Bundle).entry?.flatMap((e, i) =>
    /^20[01]/.test(e.response?.status ?? '') ? [] : [{ id: `${resources[i]?.resourceType}/${resources[i]?.id}`, response: e.response }],
  );
  expect(failed).toEqual([]);
}

/** GET a search (path below /fhir) and check it is a searchset Bundle. */
export async function search(t: TestApp, path: string, headers: Record<string, string> = {}): Promise<Response> {
  let call = request(t.app).get(`/fhir/${path}`);
  for (const [name, value] of Object.entries(headers)) call = call.set(name, value);
  const res = await call;
  if (res.status === 200) {
    expect(res.headers['content-type']).toBe('application/fhir+json; charset=utf-8');
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
  }
  return res;
}

/** `Type/id` of the entries with search.mode `mode`, sorted. */
export function idsOf(body: Bundle, mode: 'match' | 'include' = 'match'): string[] {
  return entries(body)
    .filter((e) => e.search?.mode === mode)
    .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
    .sort();
}

/** The plain ids of the matches, in Bundle order. */
export function orderOf(body: Bundle): string[] {
  return entries(body)
    .filter((e) => e.search?.mode === 'match')
    .map((e) => e.resource?.id as string);
}

/** A search that must succeed: the sorted `Type/id`s it matched. */
export async function matched(t: TestApp, path: string): Promise<string[]> {
  const res = await search(t, path);
  expect({ path, status: res.status, outcome: res.status === 200 ? undefined : res.body }).toEqual({ path, status: 200, outcome: undefined });
  return idsOf(res.body as Bundle);
}

export function entries(body: Bundle): BundleEntry[] {
  return body.entry ?? [];
}

export function link(body: Bundle, relation: string): string | undefined {
  return body.link?.find((l) => l.relation === relation)?.url;
}

/** The OperationOutcome entry (search.mode outcome), if any. */
export function outcomeEntry(body: Bundle): OperationOutcome | undefined {
  return entries(body).find((e) => e.search?.mode === 'outcome')?.resource as OperationOutcome | undefined;
}

/** `Type/id` shorthand for expectations. */
export function refs(type: string, ...ids: string[]): string[] {
  return ids.map((id) => `${type}/${id}`);
}
