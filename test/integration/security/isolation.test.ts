/**
 * Agency isolation, scopes, consent and 42 CFR Part 2, with real tokens of registered clients:
 * each client sees the clients of the cases its organisation manages or whose care team it is
 * on, the referrals it is party to, what it wrote and the directories — nothing else, and what
 * it may not see answers as if it did not exist (404). A Part 2 programme's records reach another
 * organisation only under the client's consent, with the no-redisclosure obligation, and no
 * longer once the consent is revoked. Over real HTTP on FerretDB.
 */
import type { AuditEvent, Bundle, Observation } from '@medplum/fhirtypes';
import request from 'supertest';
import { bearerRequests, FHIR_JSON, registerTestClient, type TestApp, testApp, type TestClient } from '../../support/app';
import { seedDirectory } from '../../support/directory';

const A = 'Organization/agency-a';
const B = 'Organization/agency-b';
const CLEARWATER = 'Organization/clearwater';
const PAYER = 'Organization/payer';

let t: TestApp;
let agencyA: TestClient;
let agencyB: TestClient;
let clearwater: TestClient;
let payer: TestClient;
let narrow: TestClient;
const tokens: Record<string, string> = {};

/** A request as `who` sends it: its own token, nothing else. */
const as = (who: string) => bearerRequests(t.bareApp, tokens[who]);

const ids = (bundle: Bundle, type?: string) =>
  (bundle.entry ?? []).filter((e) => e.search?.mode !== 'outcome' && (!type || e.resource?.resourceType === type)).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);

async function openCase(who: string, agency: string, identifier: string, team: { member: string; role: string }[] = []) {
  const res = await as(who).post(
    '/cm/v1/cases',
    { client: { identifier: { system: 'urn:test:clients', value: identifier }, name: { family: identifier }, gender: 'female' }, caseManager: 'PractitionerRole/cm', agency, team },
    'application/json',
  );
  expect(res.status).toBe(201);
  const patient = (res.body.written as { reference: string }[]).find((w) => w.reference.startsWith('Patient/'))?.reference as string;
  return { caseId: (res.body.case as string).split('/')[1] as string, patient };
}

function observation(subject: string, text: string, extra: Partial<Observation> = {}): Observation {
  return { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '44261-6' }], text }, subject: { reference: subject }, ...extra };
}

let pa: string; // agency A's client
let pb: string; // agency B's client
let pc: string; // Clearwater's client, with agency A on the care team
let clearwaterCase: string;
let obsA: string;
let obsB: string;
let obsC: string; // Part 2 data about pc

beforeAll(async () => {
  t = await testApp({ env: { PART2_PROGRAMS: CLEARWATER } });
  // The case manager's role names no organisation: on every case's care team, it must widen no agency's view.
  await seedDirectory(t, { organizations: ['agency-a', 'agency-b', 'clearwater', 'payer'], roles: { cm: {} } });
  const everything = ['system/*.cruds'];
  agencyA = await registerTestClient(t, { role: 'agency', organization: A, scopes: everything });
  agencyB = await registerTestClient(t, { role: 'agency', organization: B, scopes: everything });
  clearwater = await registerTestClient(t, { role: 'agency', organization: CLEARWATER, scopes: everything });
  payer = await registerTestClient(t, { role: 'payer', organization: PAYER, scopes: ['system/*.rs'], purposes: ['HPAYMT'] });
  narrow = await registerTestClient(t, { role: 'agency', organization: A, scopes: ['system/Patient.rs'] });
  for (const [name, client] of Object.entries({ agencyA, agencyB, clearwater, narrow })) tokens[name] = await client.token();
  tokens.payer = await payer.token({ purposes: ['HPAYMT'] });

  ({ patient: pa } = await openCase('agencyA', A, 'A-1'));
  ({ patient: pb } = await openCase('agencyB', B, 'B-1'));
  ({ patient: pc, caseId: clearwaterCase } = await openCase('clearwater', CLEARWATER, 'C-1', [{ member: A, role: 'Primary mental-health agency' }]));
  obsA = `Observation/${(await as('agencyA').post('/fhir/Observation', observation(pa, 'A score'))).body.id}`;
  obsB = `Observation/${(await as('agencyB').post('/fhir/Observation', observation(pb, 'B score'))).body.id}`;
  const c = await as('clearwater').post('/fhir/Observation', observation(pc, 'SUD screening', { code: { coding: [{ system: 'http://loinc.org', code: '75624-7' }], text: 'AUDIT-C' } }));
  expect(c.status).toBe(201);
  obsC = `Observation/${c.body.id}`;
  // A payer covers agency A's client.
  const coverage = (await request(t.app).post('/fhir/Coverage').set('Content-Type', FHIR_JSON).send({ resourceType: 'Coverage', status: 'active', beneficiary: { reference: pa }, payor: [{ reference: PAYER }] }));
  expect(coverage.status).toBe(201);
});
afterAll(async () => {
  await t.close();
});

describe('scopes', () => {
  test('a client whose scopes do not allow the interaction is 403 forbidden', async () => {
    expect((await as('narrow').get(`/fhir/${pa}`)).status).toBe(200);
    const search = await as('narrow').get('/fhir/Observation');
    expect(search.status).toBe(403);
    expect(search.body.issue[0].code).toBe('forbidden');
    const create = await as('narrow').post('/fhir/Patient', { resourceType: 'Patient' });
    expect(create.status).toBe(403);
    expect(create.body.issue[0].code).toBe('forbidden');
  });
});

describe('agency isolation', () => {
  test("agency A reads its client and its data; agency B's are 404, as unknown ones are", async () => {
    expect((await as('agencyA').get(`/fhir/${pa}`)).status).toBe(200);
    expect((await as('agencyA').get(`/fhir/${obsA}`)).status).toBe(200);
    for (const hidden of [pb, obsB, `${pb}/_history`, `${obsB}/_history/1`]) {
      const res = await as('agencyA').get(`/fhir/${hidden}`);
      expect(res.status).toBe(404);
      expect(res.body.issue[0].code).toBe('not-found');
    }
    const unknown = await as('agencyA').get('/fhir/Patient/no-such-patient');
    expect((await as('agencyA').get(`/fhir/${pb}`)).body.issue[0].code).toBe(unknown.body.issue[0].code);
  });

  test('searches answer only what the agency may see, with exact totals', async () => {
    const patients = (await as('agencyA').get('/fhir/Patient?_total=accurate')).body as Bundle;
    expect(ids(patients)).toContain(pa);
    expect(ids(patients)).not.toContain(pb);
    // On agency A's care team, but Part 2 data (the client's identity included) needs consent.
    expect(ids(patients)).not.toContain(pc);
    expect(patients.total).toBe(ids(patients).length);
    const observations = (await as('agencyB').get('/fhir/Observation?code=http://loinc.org|44261-6')).body as Bundle;
    expect(ids(observations)).toEqual([obsB]);
    const system = (await as('agencyB').get('/fhir?_type=Patient,Observation')).body as Bundle;
    expect(ids(system).sort()).toEqual([obsB, pb].sort());
  });

  test("_include, _revinclude, chains and _has do not reach another agency's data", async () => {
    // An observation of A's that points at one of B's (written by the administrator).
    const linked = await request(t.app).post('/fhir/Observation').set('Content-Type', FHIR_JSON).send(observation(pa, 'linked', { derivedFrom: [{ reference: obsB }] }));
    const included = (await as('agencyA').get(`/fhir/Observation?_id=${linked.body.id}&_include=Observation:derived-from`)).body as Bundle;
    expect(ids(included)).toEqual([`Observation/${linked.body.id}`]);
    const revincluded = (await as('agencyA').get(`/fhir/Patient?_id=${pa.split('/')[1]},${pb.split('/')[1]}&_revinclude=Observation:subject`)).body as Bundle;
    expect(ids(revincluded)).toEqual(expect.arrayContaining([pa, obsA]));
    expect(ids(revincluded)).not.toContain(pb);
    expect(ids(revincluded)).not.toContain(obsB);
    const chained = (await as('agencyA').get('/fhir/Observation?subject:Patient.identifier=urn:test:clients|B-1')).body as Bundle;
    expect(ids(chained)).toEqual([]);
    const has = (await as('agencyA').get('/fhir/Patient?_has:Observation:subject:code=http://loinc.org|44261-6')).body as Bundle;
    expect(ids(has)).toEqual([pa]);
  });

  test("Patient/$everything of another agency's client is 404; of its own, only what it may see", async () => {
    expect((await as('agencyA').get(`/fhir/${pb}/$everything`)).status).toBe(404);
    const own = (await as('agencyB').get(`/fhir/${pb}/$everything`)).body as Bundle;
    expect(ids(own)).toEqual(expect.arrayContaining([pb, obsB]));
    expect(ids(own).filter((r) => r === pa || r === obsA)).toEqual([]);
  });

  test("Bulk Data export: agency A's system export holds its own data and none of agency B's, nor unconsented Part 2; B's Group cannot name A's client, and A cannot export B's Group", async () => {
    const workflows = await t.workflows();
    const exported = async (who: string, path: string): Promise<string[]> => {
      const kickOff = await as(who).get(path).set('Prefer', 'respond-async');
      expect(kickOff.status).toBe(202);
      const status = (kickOff.headers['content-location'] as string).replace(/^.*\/fhir\//, '/fhir/');
      await workflows.settle();
      const manifest = await as(who).get(status);
      expect(manifest.status).toBe(200);
      const found: string[] = [];
      for (const output of manifest.body.output as { url: string }[]) {
        const file = await as(who).get(output.url.replace(/^.*\/fhir\//, '/fhir/')).buffer(true).parse((res, done) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => done(null, text));
        });
        expect(file.status).toBe(200);
        for (const line of (file.body as string).split('\n').filter((l) => l !== '')) {
          const resource = JSON.parse(line) as { resourceType: string; id: string };
          found.push(`${resource.resourceType}/${resource.id}`);
        }
      }
      return found;
    };
    const ofA = await exported('agencyA', '/fhir/$export?_type=Patient,Observation');
    expect(ofA).toEqual(expect.arrayContaining([pa, obsA]));
    for (const hidden of [pb, obsB, pc, obsC]) expect(ofA).not.toContain(hidden);
    // Agency B cannot list A's client in a Group (a write about a client it does not serve); its own Group exports only its own.
    const intruding = await as('agencyB').post('/fhir/Group', { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: pa } }, { entity: { reference: pb } }] });
    expect(intruding.status).toBe(403);
    const group = await as('agencyB').post('/fhir/Group', { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: pb } }] });
    expect(group.status).toBe(201);
    expect((await as('agencyA').get(`/fhir/Group/${group.body.id}/$export`).set('Prefer', 'respond-async')).status).toBe(404);
    const ofGroup = await exported('agencyB', `/fhir/Group/${group.body.id}/$export?_type=Patient,Observation`);
    expect(ofGroup).toEqual(expect.arrayContaining([pb, obsB]));
    for (const hidden of [pa, obsA, pc, obsC]) expect(ofGroup).not.toContain(hidden);
    // A Patient-level export of another agency's client is refused or empty of it, never a leak.
    const ofPatient = await exported('agencyA', `/fhir/Patient/$export?_type=Patient,Observation`);
    for (const hidden of [pb, obsB]) expect(ofPatient).not.toContain(hidden);
  });

  test('history at type and system level shows only versions of what the agency may see', async () => {
    const history = (await as('agencyB').get('/fhir/Observation/_history')).body as Bundle;
    expect([...new Set(history.entry?.map((e) => e.fullUrl?.split('/fhir/')[1]))]).toEqual([obsB]);
  });

  test("the case API: another agency's case is 404", async () => {
    const { caseId } = await openCase('agencyB', B, 'B-2');
    expect((await as('agencyB').get(`/cm/v1/cases/${caseId}`)).status).toBe(200);
    const res = await as('agencyA').get(`/cm/v1/cases/${caseId}`);
    expect(res.status).toBe(404);
    const command = await as('agencyA').post(`/cm/v1/cases/${caseId}/contacts`, { type: 'phone-call', start: '2025-02-01T10:00:00Z', note: 'x' }, 'application/json');
    expect(command.status).toBe(404);
  });

  test("a caseload, the outcome measures and the CSV reports count only the agency's own cases", async () => {
    const { caseId } = await openCase('agencyB', B, 'B-3');
    const listB = (await as('agencyB').get('/cm/v1/cases?count=100')).body as { cases: { id: string }[] };
    expect(listB.cases.map((c) => c.id)).toContain(caseId);
    const listA = (await as('agencyA').get('/cm/v1/cases?count=100')).body as { cases: { id: string }[] };
    expect(listA.cases.map((c) => c.id)).not.toContain(caseId);
    const size = async (who: string) => ((await as(who).get('/fhir/Measure/caseload-size/$evaluate-measure?periodStart=2000-01-01&periodEnd=2100-12-31&reportType=subject-list')).body as { contained?: { entry?: { item: { reference: string } }[] }[] }).contained?.[0]?.entry?.map((e) => e.item.reference) ?? [];
    expect(await size('agencyB')).toContain(caseId);
    expect(await size('agencyA')).not.toContain(caseId);
    const csv = await as('agencyA').get('/cm/v1/reports/outcomes.csv?periodStart=2000-01-01&periodEnd=2100-12-31');
    expect(csv.status).toBe(200);
    expect(csv.text).not.toContain(caseId);
  });

  test("an agency cannot write into another agency's client record, nor change or delete what it cannot see", async () => {
    const into = await as('agencyB').post('/fhir/Observation', observation(pa, 'intrusion'));
    expect(into.status).toBe(403);
    expect(into.body.issue[0].code).toBe('forbidden');
    const [, id] = obsA.split('/');
    const update = await as('agencyB').put(`/fhir/${obsA}`, { ...observation(pb, 'overwrite'), id });
    expect(update.status).toBe(404);
    const removed = await as('agencyB').delete(`/fhir/${obsA}`);
    expect(removed.status).toBe(200);
    expect(removed.body.issue[0].diagnostics).toBe(`${obsA} was not present`);
    expect((await as('agencyA').get(`/fhir/${obsA}`)).status).toBe(200);
  });

  test('a conditional create sees only what the agency may see: it does not match, or reveal, another agency’s client', async () => {
    const res = await as('agencyA')
      .post('/fhir/Patient', { resourceType: 'Patient', identifier: [{ system: 'urn:test:clients', value: 'B-1' }] })
      .set('If-None-Exist', 'identifier=urn:test:clients|B-1');
    expect(res.status).toBe(201);
    expect(`Patient/${res.body.id}`).not.toBe(pb);
  });

  test('operator injection and prototype pollution in query strings and bodies widen nothing', async () => {
    const everyoneButNothing = ids((await as('agencyB').get('/fhir/Patient?_id:not=nothing')).body as Bundle);
    expect(everyoneButNothing).toContain(pb);
    expect(everyoneButNothing).not.toContain(pa);
    expect(everyoneButNothing).not.toContain(pc);
    expect((await as('agencyB').get('/fhir/Patient?_id[$ne]=x')).status).toBe(400);
    expect((await as('agencyB').get('/fhir/Patient?$where=1')).status).toBe(400);
    const pollution = await request(t.bareApp).post('/fhir/Patient').set('Authorization', `Bearer ${tokens.agencyB}`).set('Content-Type', FHIR_JSON).send('{"resourceType":"Patient","__proto__":{"role":"administrator"}}');
    expect(pollution.status).toBe(400);
    expect(ids((await as('agencyB').get('/fhir/Patient')).body as Bundle)).not.toContain(pa);
  });
});

describe('payers', () => {
  test('a payer sees the members it covers, for the purpose it stated, and nobody else', async () => {
    expect((await as('payer').get(`/fhir/${pa}`)).status).toBe(200);
    expect(ids((await as('payer').get(`/fhir/Observation?subject=${pa}`)).body as Bundle)).toContain(obsA);
    expect((await as('payer').get(`/fhir/${pb}`)).status).toBe(404);
    expect(ids((await as('payer').get('/fhir/Patient')).body as Bundle)).toEqual([pa]);
  });
});

describe('42 CFR Part 2', () => {
  test("what a Part 2 programme writes is labelled 42CFRPart2 and R, the client's identity included", async () => {
    const own = (await as('clearwater').get(`/fhir/${obsC}`)).body as Observation;
    expect(own.meta?.security?.map((c) => c.code)).toEqual(['R', '42CFRPart2']);
    const patient = (await as('clearwater').get(`/fhir/${pc}`)).body as Observation;
    expect(patient.meta?.security?.map((c) => c.code)).toEqual(['R', '42CFRPart2']);
  });

  test('withheld from a care-team agency without consent, disclosed with consent and the obligation, withheld again after revocation', async () => {
    // Agency A is on the care team, but the client has not consented: nothing of the Part 2 record.
    expect((await as('agencyA').get(`/fhir/${obsC}`)).status).toBe(404);
    expect((await as('agencyA').get(`/fhir/${pc}`)).status).toBe(404);
    expect(ids((await as('agencyA').get(`/fhir/Observation?subject=${pc}`)).body as Bundle)).toEqual([]);
    expect(ids((await as('agencyA').get('/fhir/Patient?_has:Observation:subject:code=http://loinc.org|75624-7')).body as Bundle)).toEqual([]);

    const consent = await as('clearwater').post(
      `/cm/v1/cases/${clearwaterCase}/consents`,
      { kind: '42cfr-part2', date: '2025-01-01', expires: '2099-12-31', recipients: [A], purposes: ['TREAT'] },
      'application/json',
    );
    expect(consent.status).toBe(201);
    const disclosed = await as('agencyA').get(`/fhir/${obsC}`);
    expect(disclosed.status).toBe(200);
    expect(disclosed.body.meta.security.map((c: { code: string }) => c.code)).toEqual(['R', '42CFRPart2', 'NORDSCLCD']);
    expect(ids((await as('agencyA').get(`/fhir/Observation?subject=${pc}`)).body as Bundle)).toEqual([obsC]);
    // The programme itself sees its record as stored, without the recipient's obligation.
    expect((await as('clearwater').get(`/fhir/${obsC}`)).body.meta.security.map((c: { code: string }) => c.code)).toEqual(['R', '42CFRPart2']);
    // A consent for treatment discloses nothing to a payer asking for payment.
    expect((await as('payer').get(`/fhir/${obsC}`)).status).toBe(404);

    const consentId = (consent.body.written as { reference: string }[]).find((w) => w.reference.startsWith('Consent/'))?.reference.split('/')[1];
    const revoked = await as('clearwater').post(`/cm/v1/cases/${clearwaterCase}/consents/${consentId}/revoke`, {}, 'application/json');
    expect(revoked.status).toBe(201);
    expect((await as('agencyA').get(`/fhir/${obsC}`)).status).toBe(404);
    expect(ids((await as('agencyA').get(`/fhir/Observation?subject=${pc}`)).body as Bundle)).toEqual([]);
  });

  test("no client can take the labels off: the programme's own update keeps them, an administrator's is 403", async () => {
    const { meta: _meta, ...unlabelled } = (await as('clearwater').get(`/fhir/${obsC}`)).body as Observation;
    const own = await as('clearwater').put(`/fhir/${obsC}`, unlabelled);
    expect(own.status).toBe(200);
    expect(own.body.meta.security.map((c: { code: string }) => c.code)).toEqual(['R', '42CFRPart2']);
    const admin = await request(t.app).put(`/fhir/${obsC}`).set('Content-Type', FHIR_JSON).send(unlabelled);
    expect(admin.status).toBe(403);
    expect(admin.body.issue[0].expression).toEqual(['Observation.meta.security']);
    expect((await as('clearwater').get(`/fhir/${obsC}`)).body.meta.security.map((c: { code: string }) => c.code)).toEqual(['R', '42CFRPart2']);
  });
});

describe('AuditEvents', () => {
  test('no client but an auditor sees them, and none may write one', async () => {
    const search = await as('agencyA').get('/fhir/AuditEvent');
    expect(ids(search.body as Bundle)).toEqual([]);
    const write = await as('agencyA').post('/fhir/AuditEvent', {
      resourceType: 'AuditEvent',
      type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
      recorded: '2025-01-01T00:00:00Z',
      agent: [{ requestor: true, who: { display: 'x' } }],
      source: { observer: { display: 'x' } },
    });
    expect(write.status).toBe(403);
  });
});

describe('each case above leaves its AuditEvent', () => {
  let auditorToken: string;
  beforeAll(async () => {
    const auditor = await registerTestClient(t, { role: 'auditor', scopes: ['system/AuditEvent.rs'] });
    auditorToken = await auditor.token();
  });

  /** The events of one request, as an auditor finds them (by the request id entity). */
  async function eventsOf(requestId: string) {
    const res = await request(t.bareApp).get(`/fhir/AuditEvent?entity:identifier=${requestId}&_count=50`).set('Authorization', `Bearer ${auditorToken}`);
    expect(res.status).toBe(200);
    return ((res.body as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);
  }
  const clientOf = (e: AuditEvent) => e.agent.find((a) => a.requestor)?.who?.identifier?.value;

  test.each([
    ['a 403 of a scope too narrow', () => as('narrow').get('/fhir/Observation'), 'narrow', '4'],
    ["a 404 of another agency's client", () => as('agencyA').get(`/fhir/${pb}`), 'agencyA', '4'],
    ['a read of its own client', () => as('agencyA').get(`/fhir/${pa}`), 'agencyA', '0'],
  ] as const)('%s: outcome %s, the client named', async (_title, send, who, outcome) => {
    const id = `iso-${Math.random().toString(36).slice(2)}`;
    await send().set('X-Request-Id', id);
    const events = await eventsOf(id);
    expect(events.map((e) => [e.outcome, clientOf(e)])).toEqual([[outcome, ({ narrow, agencyA } as Record<string, TestClient>)[who]?.clientId]]);
  });

  test('a token refused at the API is a failed login', async () => {
    const id = `iso-${Math.random().toString(36).slice(2)}`;
    const res = await request(t.bareApp).get('/fhir/Patient').set('Authorization', 'Bearer not.a.token').set('X-Request-Id', id);
    expect(res.status).toBe(401);
    expect((await eventsOf(id)).map((e) => [e.type.code, e.outcome])).toEqual([['110114', '4']]);
  });

  test('Part 2 data shown under consent is recorded as a disclosure to the recipient, for its purpose', async () => {
    const consent = await as('clearwater').post(
      `/cm/v1/cases/${clearwaterCase}/consents`,
      { kind: '42cfr-part2', date: '2025-01-01', expires: '2099-12-31', recipients: [A], purposes: ['TREAT'] },
      'application/json',
    );
    expect(consent.status).toBe(201);
    const id = `iso-${Math.random().toString(36).slice(2)}`;
    expect((await as('agencyA').get(`/fhir/${obsC}`).set('X-Request-Id', id)).status).toBe(200);
    const [event] = await eventsOf(id);
    expect(event?.subtype?.map((c) => c.code)).toContain('disclose');
    expect(event?.entity?.some((e) => e.what?.reference?.startsWith(obsC))).toBe(true);
    expect(clientOf(event as AuditEvent)).toBe(agencyA.clientId);
  });
});
