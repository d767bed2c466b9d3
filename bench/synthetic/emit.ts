/**
 * Output forms of the synthetic data:
 *  - the shared pool as one transaction of PUTs (ids are chosen by the generator);
 *  - each client as one transaction Bundle: POST entries with urn:uuid fullUrls, references
 *    between entries rewritten to those urn:uuids, references to the pool left as `Type/id`,
 *    and the Patient created conditionally (ifNoneExist on its identifier);
 *  - NDJSON per resource type (bulk-data form): resources keep their ids, references `Type/id`.
 * See: https://hl7.org/fhir/R4/http.html#transaction and https://hl7.org/fhir/uv/bulkdata/
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { ClientRecord } from './client';
import type { SharedPool } from './pool';

/** The pool as a transaction of PUTs: loading it twice changes nothing but versions. */
export function toPoolBundle(pool: SharedPool): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: pool.resources.map((resource) => ({
      resource,
      request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
    })),
  };
}

/** Replaces every `reference` found in `local` by its urn:uuid; drops nothing else. */
function rewrite(value: unknown, local: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => rewrite(v, local));
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = key === 'reference' && typeof v === 'string' ? (local.get(v) ?? v) : rewrite(v, local);
    }
    return out;
  }
  return value;
}

/** The conditional-create criteria of a client's Patient. */
export function patientCriteria(record: ClientRecord): string {
  return `identifier=${record.identifier.system}|${record.identifier.value}`;
}

export function toTransactionBundle(record: ClientRecord): Bundle {
  const local = new Map<string, string>();
  for (const resource of record.resources) {
    local.set(`${resource.resourceType}/${resource.id}`, `urn:uuid:${resource.id}`);
  }
  const entry: BundleEntry[] = record.resources.map((resource) => {
    const { id, ...body } = resource;
    return {
      fullUrl: `urn:uuid:${id}`,
      resource: rewrite(body, local) as Resource,
      request: {
        method: 'POST',
        url: resource.resourceType,
        ...(resource.resourceType === 'Patient' ? { ifNoneExist: patientCriteria(record) } : {}),
      },
    };
  });
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/** One NDJSON line per resource, in generation order. Streams: nothing is kept. */
export function* ndjsonLines(records: Iterable<ClientRecord>, options: { pool?: SharedPool } = {}): Generator<{ resourceType: string; line: string }> {
  for (const resource of options.pool?.resources ?? []) {
    yield { resourceType: resource.resourceType, line: `${JSON.stringify(resource)}\n` };
  }
  for (const record of records) {
    for (const resource of record.resources) {
      yield { resourceType: resource.resourceType, line: `${JSON.stringify(resource)}\n` };
    }
  }
}

/**
 * NDJSON text per resource type ({ Patient: '…\n…\n', … }), the pool first when given. Holds
 * everything in memory: for large sizes use ndjsonLines() or writeDataset().
 */
export function toNdjson(records: Iterable<ClientRecord>, options: { pool?: SharedPool } = {}): Record<string, string> {
  const parts = new Map<string, string[]>();
  for (const { resourceType, line } of ndjsonLines(records, options)) {
    let list = parts.get(resourceType);
    if (!list) {
      list = [];
      parts.set(resourceType, list);
    }
    list.push(line);
  }
  return Object.fromEntries([...parts].map(([type, lines]) => [type, lines.join('')]));
}
