/**
 * Loading the synthetic dataset through the FHIR API (one transaction Bundle per client), which
 * is itself the ingest measurement, and collecting the server ids the scenarios address.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { type SharedPool, generateClients, generatePool, toPoolBundle, toTransactionBundle } from './synthetic';

export const SEED = 42;
export const REFERENCE_DATE = '2025-06-30';

export interface IngestResult {
  readonly clients: number;
  readonly resources: number;
  readonly seconds: number;
  readonly resourcesPerSecond: number;
  readonly failures: number;
}

/** The access token every request carries (run.ts sets it: CaseBridge answers 401 without one). */
let bearer: () => Promise<string> = () => Promise.reject(new Error('bench: no access token (authenticateWith)'));

export function authenticateWith(token: () => Promise<string>): void {
  bearer = token;
}

export async function fhirPost(base: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${await bearer()}` }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

export async function fhirGet<T = Bundle>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/fhir+json', authorization: `Bearer ${await bearer()}` } });
  if (!res.ok) {
    throw new Error(`GET ${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
  return (await res.json()) as T;
}

export function pool(): SharedPool {
  return generatePool({ seed: SEED });
}

export async function loadPool(base: string, shared: SharedPool): Promise<void> {
  const res = await fhirPost(base, toPoolBundle(shared));
  if (res.status !== 200) {
    throw new Error(`loading the shared pool failed with ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  }
}

/** Posts clients [firstIndex, firstIndex + clients) as transaction Bundles from `concurrency` loops. */
export async function ingest(options: { base: string; shared: SharedPool; firstIndex: number; clients: number; concurrency: number }): Promise<IngestResult> {
  const bundles = generateClients({ seed: SEED, clients: options.clients, firstIndex: options.firstIndex, referenceDate: REFERENCE_DATE, pool: options.shared });
  let resources = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      for (let next = bundles.next(); !next.done; next = bundles.next()) {
        const bundle = toTransactionBundle(next.value);
        const res = await fhirPost(options.base, bundle);
        if (res.status === 200) {
          resources += bundle.entry?.length ?? 0;
        } else {
          failures++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { clients: options.clients, resources, seconds, resourcesPerSecond: resources / seconds, failures };
}

/** Ids of up to `count` resources of a type (with optional criteria), as the server assigned them. */
export async function ids(base: string, query: string, count = 200): Promise<string[]> {
  const bundle = await fhirGet(`${base}/${query}${query.includes('?') ? '&' : '?'}_count=${count}&_elements=id`);
  return (bundle.entry ?? []).filter((e) => e.search?.mode !== 'outcome').map((e) => e.resource?.id as string);
}
