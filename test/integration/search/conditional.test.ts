/**
 * Conditional interactions with the status codes of the spec for 0, 1 and several matches:
 * create (If-None-Exist), update, delete (single, or all with _multiple=true), patch, and
 * conditional references inside a transaction; concurrent identical conditional creates make one
 * resource. Over real HTTP on FerretDB. Each test uses its own identifiers.
 * See: https://hl7.org/fhir/R4/http.html#ccreate, #cond-update, #3.1.0.7.1, #patch, #trules
 */
import type { Bundle, Patient } from '@medplum/fhirtypes';
import request from 'supertest';
import { BASE_URL, FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { idsOf, search } from './support';

const CLIENTS = 'urn:agency:clients';

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.close();
});

function client(value: string, fields: Partial<Patient> = {}): Patient {
  return { resourceType: 'Patient', identifier: [{ system: CLIENTS, value }], name: [{ family: 'Okafor', given: ['Ada'] }], ...fields };
}

async function create(body: Patient): Promise<string> {
  const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(body);
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function withIdentifier(value: string): Promise<Patient[]> {
  const res = await search(t, `Patient?identifier=${CLIENTS}|${value}&_sort=_lastUpdated`);
  expect(res.status).toBe(200);
  return ((res.body as Bundle).entry ?? []).map((e) => e.resource as Patient);
}

async function historyLength(id: string): Promise<number> {
  const res = await request(t.app).get(`/fhir/Patient/${id}/_history`);
  expect(res.status).toBe(200);
  return (res.body.entry ?? []).length;
}

describe('conditional create (If-None-Exist)', () => {
  test('no match: 201 Created with Location and ETag', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=${CLIENTS}|CC-0`).send(client('CC-0'));
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`${BASE_URL}/Patient/${res.body.id}/_history/1`);
    expect(res.headers.etag).toBe('W/"1"');
    expect((await withIdentifier('CC-0')).map((p) => p.id)).toEqual([res.body.id]);
  });

  test.each<[string, string]>([
    ['a query', `identifier=${CLIENTS}|CC-1`],
    ['a query starting with ?', `?identifier=${CLIENTS}|CC-1`],
    ['a query starting with the type', `Patient?identifier=${CLIENTS}|CC-1`],
    // HAPI's client sends an absolute URL, with its _format among the criteria.
    ['an absolute URL on our base', `${BASE_URL}/Patient?_format=json&identifier=${encodeURIComponent(`${CLIENTS}|CC-1`)}`],
  ])('one match (If-None-Exist as %s): 200 with the existing resource and no new version', async (_title, criteria) => {
    const existing = (await withIdentifier('CC-1'))[0]?.id ?? (await create(client('CC-1')));
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', criteria).send(client('CC-1', { gender: 'female' }));
    expect(res.status).toBe(200);
    expect(res.headers.location).toBe(`${BASE_URL}/Patient/${existing}`);
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.body).toMatchObject({ resourceType: 'Patient', id: existing, meta: { versionId: '1' } });
    expect(res.body.gender).toBeUndefined();
    expect((await withIdentifier('CC-1')).map((p) => p.id)).toEqual([existing]);
    expect(await historyLength(existing)).toBe(1);
  });

  test('criteria naming another server are a 400', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `https://other.example/fhir/Patient?identifier=${CLIENTS}|CC-9`).send(client('CC-9'));
    expect(res.status).toBe(400);
    expect(res.body.issue[0].diagnostics).toMatch(/do not search Patient on this server/);
    expect(await withIdentifier('CC-9')).toEqual([]);
  });

  test('several matches: 412 multiple-matches, nothing created', async () => {
    await create(client('CC-2'));
    await create(client('CC-2'));
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=${CLIENTS}|CC-2`).send(client('CC-2'));
    expect(res.status).toBe(412);
    expect(res.body.issue[0].code).toBe('multiple-matches');
    expect(await withIdentifier('CC-2')).toHaveLength(2);
  });

  test('an unknown parameter in the criteria is a 400, even without Prefer: handling=strict (ignoring it would widen the match)', async () => {
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=${CLIENTS}|CC-3&shoe-size=42`).send(client('CC-3'));
    expect(res.status).toBe(400);
    expect(res.body.issue[0]).toMatchObject({ code: 'not-supported', expression: ['shoe-size'] });
    expect(await withIdentifier('CC-3')).toEqual([]);
  });

  test('an invalid body is a 400 even when a resource matches', async () => {
    await create(client('CC-4'));
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=${CLIENTS}|CC-4`).send({ ...client('CC-4'), gender: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Patient.gender']);
  });

  test('ten concurrent identical conditional creates make one resource: one 201, nine 200 with its id', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=${CLIENTS}|CC-RACE`).send(client('CC-RACE')),
      ),
    );
    const created = responses.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    const id = created[0]?.body.id as string;
    expect(responses.filter((r) => r.status === 200).map((r) => r.body.id)).toEqual(Array(9).fill(id));
    expect((await withIdentifier('CC-RACE')).map((p) => p.id)).toEqual([id]);
    expect(await historyLength(id)).toBe(1);
  });

  test('ten concurrent conditional creates whose criteria are written differently (order, prefix) still make one resource', async () => {
    const spellings = [
      `identifier=${CLIENTS}|CC-RACE2&family=okafor`,
      `family=okafor&identifier=${CLIENTS}|CC-RACE2`,
      `Patient?identifier=${CLIENTS}|CC-RACE2&family=okafor`,
      `?family=okafor&identifier=${CLIENTS}|CC-RACE2`,
    ];
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', spellings[i % spellings.length] as string).send(client('CC-RACE2')),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(await withIdentifier('CC-RACE2')).toHaveLength(1);
  });
});

describe('conditional update (PUT [type]?criteria)', () => {
  test('no match and no id in the body: 201, a new resource', async () => {
    const res = await request(t.app).put(`/fhir/Patient?identifier=${CLIENTS}|CU-0`).set('Content-Type', FHIR_JSON).send(client('CU-0'));
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`${BASE_URL}/Patient/${res.body.id}/_history/1`);
    expect((await withIdentifier('CU-0')).map((p) => p.id)).toEqual([res.body.id]);
  });

  test('no match with an id in the body: 201, created under that id', async () => {
    const res = await request(t.app).put(`/fhir/Patient?identifier=${CLIENTS}|CU-1`).set('Content-Type', FHIR_JSON).send({ ...client('CU-1'), id: 'cu-chosen' });
    expect(res.status).toBe(201);
    expect(res.body.id).toBe('cu-chosen');
  });

  test('one match: 200, a new version of it', async () => {
    const id = await create(client('CU-2'));
    const res = await request(t.app).put(`/fhir/Patient?identifier=${CLIENTS}|CU-2`).set('Content-Type', FHIR_JSON).send(client('CU-2', { gender: 'female' }));
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
    expect(res.body).toMatchObject({ id, gender: 'female', meta: { versionId: '2' } });
    expect(await withIdentifier('CU-2')).toHaveLength(1);
  });

  test('one match whose id differs from the body id: 400, nothing changed', async () => {
    const id = await create(client('CU-3'));
    const res = await request(t.app).put(`/fhir/Patient?identifier=${CLIENTS}|CU-3`).set('Content-Type', FHIR_JSON).send({ ...client('CU-3', { gender: 'male' }), id: 'someone-else' });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].code).toBe('invalid');
    expect(await historyLength(id)).toBe(1);
  });

  test('several matches: 412 multiple-matches, nothing changed', async () => {
    const ids = [await create(client('CU-4')), await create(client('CU-4'))];
    const res = await request(t.app).put(`/fhir/Patient?identifier=${CLIENTS}|CU-4`).set('Content-Type', FHIR_JSON).send(client('CU-4', { gender: 'male' }));
    expect(res.status).toBe(412);
    expect(res.body.issue[0].code).toBe('multiple-matches');
    for (const id of ids) expect(await historyLength(id)).toBe(1);
  });

  test('ten concurrent conditional updates with no match yet: one creates, the others update it', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(t.app).put(`/fhir/Patient?identifier=${CLIENTS}|CU-RACE`).set('Content-Type', FHIR_JSON).send(client('CU-RACE', { name: [{ family: `Writer${i}` }] })),
      ),
    );
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const found = await withIdentifier('CU-RACE');
    expect(found).toHaveLength(1);
    expect(found[0]?.meta?.versionId).toBe('10');
  });
});

describe('conditional delete (DELETE [type]?criteria)', () => {
  test('no match: 200, nothing deleted', async () => {
    const bystander = await create(client('CD-0-other'));
    const res = await request(t.app).delete(`/fhir/Patient?identifier=${CLIENTS}|CD-0`);
    expect(res.status).toBe(200);
    expect(res.body.issue[0].code).toBe('informational');
    expect((await request(t.app).get(`/fhir/Patient/${bystander}`)).status).toBe(200);
  });

  test('one match: it is deleted (later reads 410)', async () => {
    const id = await create(client('CD-1'));
    const res = await request(t.app).delete(`/fhir/Patient?identifier=${CLIENTS}|CD-1`);
    expect(res.status).toBe(200);
    expect((await request(t.app).get(`/fhir/Patient/${id}`)).status).toBe(410);
    expect(await withIdentifier('CD-1')).toEqual([]);
  });

  test('several matches: 412 multiple-matches, nothing deleted', async () => {
    await create(client('CD-2'));
    await create(client('CD-2'));
    const res = await request(t.app).delete(`/fhir/Patient?identifier=${CLIENTS}|CD-2`);
    expect(res.status).toBe(412);
    expect(res.body.issue[0].code).toBe('multiple-matches');
    expect(await withIdentifier('CD-2')).toHaveLength(2);
  });

  test('several matches with _multiple=true: all of them are deleted, and nothing else', async () => {
    const ids = [await create(client('CD-3')), await create(client('CD-3')), await create(client('CD-3'))];
    const bystander = await create(client('CD-3-other'));
    const res = await request(t.app).delete(`/fhir/Patient?identifier=${CLIENTS}|CD-3&_multiple=true`);
    expect(res.status).toBe(200);
    for (const id of ids) expect((await request(t.app).get(`/fhir/Patient/${id}`)).status).toBe(410);
    expect((await request(t.app).get(`/fhir/Patient/${bystander}`)).status).toBe(200);
  });

  test('without criteria: 400, nothing deleted', async () => {
    const id = await create(client('CD-4'));
    const res = await request(t.app).delete('/fhir/Patient');
    expect(res.status).toBe(400);
    expect((await request(t.app).get(`/fhir/Patient/${id}`)).status).toBe(200);
  });
});

describe('conditional patch (PATCH [type]?criteria)', () => {
  const patch = [{ op: 'add', path: '/gender', value: 'female' }];
  const send = (criteria: string) => request(t.app).patch(`/fhir/Patient?${criteria}`).set('Content-Type', 'application/json-patch+json').send(JSON.stringify(patch));

  test('one match: 200, patched', async () => {
    const id = await create(client('CP-1'));
    const res = await send(`identifier=${CLIENTS}|CP-1`);
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
    expect(res.body).toMatchObject({ id, gender: 'female' });
  });

  test('no match: 404', async () => {
    const res = await send(`identifier=${CLIENTS}|CP-0`);
    expect(res.status).toBe(404);
    expect(res.body.issue[0].code).toBe('not-found');
  });

  test('several matches: 412 multiple-matches, nothing patched', async () => {
    const ids = [await create(client('CP-2')), await create(client('CP-2'))];
    const res = await send(`identifier=${CLIENTS}|CP-2`);
    expect(res.status).toBe(412);
    expect(res.body.issue[0].code).toBe('multiple-matches');
    for (const id of ids) expect(await historyLength(id)).toBe(1);
  });
});

describe('conditional references in a transaction', () => {
  function transaction(reference: string, marker: string) {
    return {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:8a5c2f4e-0f0e-4c6b-9a39-4f4f3f1d2b10',
          resource: { resourceType: 'Observation', status: 'final', code: { text: marker }, subject: { reference } },
          request: { method: 'POST', url: 'Observation' },
        },
        {
          resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: marker }, subject: { reference } },
          request: { method: 'POST', url: 'Goal' },
        },
      ],
    };
  }

  async function written(marker: string): Promise<string[]> {
    const observations = await search(t, `Observation?code:text=${marker}`);
    const goals = await search(t, `Goal?description:text=${marker}`);
    return [...idsOf(observations.body as Bundle), ...idsOf(goals.body as Bundle)];
  }

  test('one match: every Patient?identifier=… reference is rewritten to it', async () => {
    const id = await create(client('TX-1'));
    const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(transaction(`Patient?identifier=${CLIENTS}|TX-1`, 'tx-one'));
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['201 Created', '201 Created']);
    expect(res.body.entry.map((e: { resource: { subject: unknown } }) => e.resource.subject)).toEqual([{ reference: `Patient/${id}` }, { reference: `Patient/${id}` }]);
    expect(await written('tx-one')).toHaveLength(2);
    const observations = await search(t, `Observation?subject=Patient/${id}`);
    expect(idsOf(observations.body as Bundle)).toHaveLength(1);
  });

  test.each<[string, string, string]>([
    ['no match', 'TX-0', 'not-found'],
    ['several matches', 'TX-2', 'multiple-matches'],
  ])('%s: 412 and nothing of the transaction is written', async (_title, value, code) => {
    if (value === 'TX-2') {
      await create(client('TX-2'));
      await create(client('TX-2'));
    }
    const marker = `tx-${value.toLowerCase()}`;
    const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(transaction(`Patient?identifier=${CLIENTS}|${value}`, marker));
    expect(res.status).toBe(412);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].code).toBe(code);
    expect(await written(marker)).toEqual([]);
  });

  test('an If-None-Exist entry with one match is answered 200 with the existing resource, and references to it point at it', async () => {
    const id = await create(client('TX-3'));
    const res = await request(t.app)
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:3d6f1c8e-5b1a-4e2b-8c2f-1f0a9b7d6e55', resource: client('TX-3'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${CLIENTS}|TX-3` } },
          {
            resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'tx-three' }, subject: { reference: 'urn:uuid:3d6f1c8e-5b1a-4e2b-8c2f-1f0a9b7d6e55' } },
            request: { method: 'POST', url: 'Goal' },
          },
        ],
      });
    expect(res.status).toBe(200);
    expect(res.body.entry[0].response.status).toBe('200 OK');
    expect(res.body.entry[1].resource.subject).toEqual({ reference: `Patient/${id}` });
    expect(await historyLength(id)).toBe(1);
    expect(await withIdentifier('TX-3')).toHaveLength(1);
  });
});

describe('conditional entries of concurrent transactions', () => {
  function intake(value: string, marker: string) {
    const fullUrl = 'urn:uuid:6f0b7a52-2f7e-4c1d-9b0e-5d2c8a1e4f33';
    return {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl, resource: client(value), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${CLIENTS}|${value}` } },
        {
          resource: { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: marker }, subject: { reference: fullUrl } },
          request: { method: 'POST', url: 'Goal' },
        },
      ],
    };
  }

  test('ten concurrent transactions with the same If-None-Exist make one client, and every Goal points at it', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, () => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(intake('TXR-1', 'txr-one'))));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const clients = await withIdentifier('TXR-1');
    expect(clients).toHaveLength(1);
    const id = clients[0]?.id as string;
    expect(responses.map((r) => r.body.entry[0].response.status).sort()).toEqual([...Array(9).fill('200 OK'), '201 Created']);
    const goals = await search(t, `Goal?description:text=txr-one&_count=50`);
    const subjects = ((goals.body as Bundle).entry ?? []).map((e) => (e.resource as { subject: { reference: string } }).subject.reference);
    expect(subjects).toEqual(Array(10).fill(`Patient/${id}`));
    expect(await historyLength(id)).toBe(1);
  });

  test('transactions and plain conditional creates on the same criteria, racing, make one client', async () => {
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(intake('TXR-2', 'txr-two'))
          : request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=${CLIENTS}|TXR-2`).send(client('TXR-2')),
      ),
    );
    expect(responses.every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(await withIdentifier('TXR-2')).toHaveLength(1);
  });

  test('ten concurrent transactions updating by the same criteria with no match yet: one creates, the others update it', async () => {
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: client('TXR-3'), request: { method: 'PUT', url: `Patient?identifier=${CLIENTS}|TXR-3` } }] };
    const responses = await Promise.all(Array.from({ length: 10 }, () => request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(bundle)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(responses.map((r) => r.body.entry[0].response.status).sort()).toEqual(['200 OK', '200 OK', '200 OK', '200 OK', '200 OK', '200 OK', '200 OK', '200 OK', '200 OK', '201 Created']);
    const clients = await withIdentifier('TXR-3');
    expect(clients).toHaveLength(1);
    expect(await historyLength(clients[0]?.id as string)).toBe(10);
  });
});
