/**
 * Real FHIR client libraries against CaseBridge over a real socket: fhir-kit-client (what many
 * Node integrations use) and MedplumClient (@medplum/core). They build URLs, send headers and
 * follow paging links their own way; whatever they do must work as it does against other servers.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { MedplumClient } from '@medplum/core';
import type { Bundle, Observation, Patient } from '@medplum/fhirtypes';
import Client from 'fhir-kit-client';
import { type TestApp, testApp } from '../../support/app';

// The CommonJS module hangs CapabilityTool on the client class; its typings do not say so.
interface Capabilities {
  serverCan(interaction: string): boolean;
  resourceCan(resourceType: string, interaction: string): boolean;
  resourceSearch(resourceType: string, parameter: string): boolean;
}
const { CapabilityTool } = Client as unknown as { CapabilityTool: new (statement: unknown) => Capabilities };

let t: TestApp;
let server: Server;
let baseUrl: string;

/** A port that is free now: the service must know its public base before it listens. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}/fhir`;
  t = await testApp({ env: { BASE_URL: baseUrl } });
  server = t.app.listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await t.close();
});

describe('fhir-kit-client', () => {
  let client: Client;
  beforeAll(() => {
    client = new Client({ baseUrl });
  });

  test('reads the CapabilityStatement and finds what it needs', async () => {
    const capabilities = await client.capabilityStatement();
    const tool = new CapabilityTool(capabilities);
    expect(tool.serverCan('transaction')).toBe(true);
    expect(tool.resourceCan('Patient', 'patch')).toBe(true);
    expect(tool.resourceSearch('Patient', 'identifier')).toBe(true);
  });

  test('create, read, version-aware update, patch, history, delete', async () => {
    const created = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Kit' }] } })) as Patient;
    const id = created.id as string;
    expect(created.meta?.versionId).toBe('1');
    const read = (await client.read({ resourceType: 'Patient', id })) as Patient;
    expect(read.name?.[0]?.family).toBe('Kit');
    const updated = (await client.update({
      resourceType: 'Patient',
      id,
      body: { ...read, active: true },
      options: { headers: { 'If-Match': 'W/"1"' } },
    })) as Patient;
    expect(updated.meta?.versionId).toBe('2');
    await expect(client.update({ resourceType: 'Patient', id, body: { ...read, active: false }, options: { headers: { 'If-Match': 'W/"1"' } } })).rejects.toMatchObject({
      response: { status: 412 },
    });
    const patched = (await client.patch({ resourceType: 'Patient', id, JSONPatch: [{ op: 'add', path: '/gender', value: 'female' }] })) as Patient;
    expect(patched.gender).toBe('female');
    const history = (await client.resourceHistory({ resourceType: 'Patient', id })) as Bundle;
    expect(history.entry?.map((e) => e.resource?.meta?.versionId)).toEqual(['3', '2', '1']);
    expect((await client.vread({ resourceType: 'Patient', id, version: '1' })) as Patient).toMatchObject({ meta: { versionId: '1' } });
    await client.delete({ resourceType: 'Patient', id });
    await expect(client.read({ resourceType: 'Patient', id })).rejects.toMatchObject({ response: { status: 410 } });
  });

  test('a transaction with urn:uuid references, then the compartment of the new patient', async () => {
    const response = (await client.transaction({
      body: {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:0b9a0d0e-8c7d-4f0e-9a51-6a3b0c1d2e3f', resource: { resourceType: 'Patient', name: [{ family: 'Transacted' }] }, request: { method: 'POST', url: 'Patient' } },
          {
            resource: { resourceType: 'Observation', status: 'final', code: { text: 'mood' }, subject: { reference: 'urn:uuid:0b9a0d0e-8c7d-4f0e-9a51-6a3b0c1d2e3f' } },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
    })) as Bundle;
    expect(response.type).toBe('transaction-response');
    const patientId = (response.entry?.[0]?.resource as Patient).id as string;
    expect((response.entry?.[1]?.resource as Observation).subject?.reference).toBe(`Patient/${patientId}`);
    const inCompartment = (await client.compartmentSearch({ resourceType: 'Observation', compartment: { resourceType: 'Patient', id: patientId } })) as Bundle;
    expect(inCompartment.entry).toHaveLength(1);
  });

  test('follows next links through every page without loss or repetition', async () => {
    const subject = (await client.create({ resourceType: 'Patient', body: { resourceType: 'Patient', name: [{ family: 'Paged' }] } })) as Patient;
    for (let i = 0; i < 12; i++) {
      await client.create({
        resourceType: 'Observation',
        body: { resourceType: 'Observation', status: 'final', code: { text: `score ${i}` }, subject: { reference: `Patient/${subject.id}` }, valueInteger: i },
      });
    }
    const ids: string[] = [];
    let page = (await client.search({ resourceType: 'Observation', searchParams: { subject: `Patient/${subject.id}`, _count: 5, _sort: '-_lastUpdated' } })) as Bundle;
    for (;;) {
      ids.push(...(page.entry ?? []).map((e) => e.resource?.id as string));
      const next = (await client.nextPage({ bundle: page })) as Bundle | undefined;
      if (!next) {
        break;
      }
      page = next;
    }
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    const back = (await client.prevPage({ bundle: page })) as Bundle;
    expect(back.entry).toHaveLength(5);
  });
});

describe('MedplumClient', () => {
  let medplum: MedplumClient;
  beforeAll(() => {
    medplum = new MedplumClient({ baseUrl: baseUrl.replace(/fhir$/, ''), fhirUrlPath: 'fhir', cacheTime: 0, fetch: (url: string, options?: RequestInit) => fetch(url, options) });
  });

  test('conditional create twice gives the same client', async () => {
    const client: Patient = { resourceType: 'Patient', identifier: [{ system: 'urn:agency:clients', value: 'MP-1' }], name: [{ family: 'Medplum' }] };
    const first = await medplum.createResourceIfNoneExist(client, 'identifier=urn:agency:clients|MP-1');
    const second = await medplum.createResourceIfNoneExist(client, 'identifier=urn:agency:clients|MP-1');
    expect(second.id).toBe(first.id);
    const found = await medplum.searchResources('Patient', { identifier: 'urn:agency:clients|MP-1' });
    expect(found.map((p) => p.id)).toEqual([first.id]);
  });

  test('update, patch and history as Medplum sends them', async () => {
    const created = await medplum.createResource<Patient>({ resourceType: 'Patient', name: [{ family: 'Before' }] });
    const updated = await medplum.updateResource({ ...created, name: [{ family: 'After' }] });
    expect(updated.meta?.versionId).toBe('2');
    const patched = await medplum.patchResource('Patient', created.id, [{ op: 'replace', path: '/name/0/family', value: 'Patched' }]);
    expect(patched.name?.[0]?.family).toBe('Patched');
    const history = await medplum.readHistory('Patient', created.id);
    expect(history.entry).toHaveLength(3);
  });

  test('a batch answers each entry', async () => {
    const response = await medplum.executeBatch({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: 'Batched' }] }, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      ],
    });
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['201 Created', '404 Not Found']);
  });
});
