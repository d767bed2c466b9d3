// The case API: opening a case (intake), idempotent replay, and the errors every command shares.
import { type CaseApiHarness, caseApiHarness, resources } from './case-api-support';

let h: CaseApiHarness;
beforeAll(async () => {
  h = await caseApiHarness();
});
afterAll(async () => {
  await h.t.close();
});

const intake = (value: string) => ({
  client: { identifier: { system: 'urn:agency:clients', value }, name: { family: 'Okafor', given: ['Ada'] }, gender: 'female', birthDate: '1984-03-02' },
  caseManager: 'PractitionerRole/cm-1',
  agency: 'Organization/agency',
  opened: '2025-01-20',
  team: [{ member: 'Practitioner/therapist-1', role: 'Therapist' }],
  presentingProblems: [{ description: 'Anxiety', category: 'health-concern' }, { description: 'Housing instability', category: 'problem-list-item' }],
  recordedBy: 'PractitionerRole/cm-1',
});

describe('open a case (POST /cm/v1/cases)', () => {
  test('writes client, case, team, problems and a Provenance naming each version; 201 with Location', async () => {
    const res = await h.command('/cases', intake('C-100'));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const caseId = res.body.case.split('/')[1];
    expect(res.headers.location).toBe(`/cm/v1/cases/${caseId}`);
    expect(res.body.command).toBe('open-case');
    const types = res.body.written.map((w: { reference: string }) => w.reference.split('/')[0]).sort();
    expect(types).toEqual(['CareTeam', 'Condition', 'Condition', 'EpisodeOfCare', 'Patient']);

    const episode = (await h.fhir(`EpisodeOfCare/${caseId}`)).body;
    expect(episode.meta.profile).toEqual(['http://casebridge.org/fhir/StructureDefinition/cb-case']);
    expect(episode.status).toBe('active');
    expect(episode.statusHistory).toEqual([{ status: 'active', period: { start: '2025-01-20' } }]);
    expect(episode.careManager.reference).toBe('PractitionerRole/cm-1');
    expect(episode.diagnosis).toHaveLength(2);

    const team = await h.fhir(`EpisodeOfCare?_id=${caseId}&_include=EpisodeOfCare:team&_include=EpisodeOfCare:condition&_include=EpisodeOfCare:patient`);
    expect(resources(team.body, 'CareTeam')[0]?.participant).toHaveLength(2);
    expect(resources(team.body, 'Condition')).toHaveLength(2);
    expect(resources(team.body, 'Patient')[0]?.identifier).toEqual([{ system: 'urn:agency:clients', value: 'C-100' }]);

    const provenance = (await h.fhir(`${res.body.provenance}`)).body;
    expect(provenance.target.map((t: { reference: string }) => t.reference)).toEqual(res.body.written.map((w: { reference: string; versionId: string }) => `${w.reference}/_history/${w.versionId}`));
    expect(provenance.agent[0].who.reference).toBe('PractitionerRole/cm-1');
    expect(provenance.agent[0].type.coding[0].code).toBe('author');
    expect(provenance.activity.coding[0]).toMatchObject({ system: 'http://casebridge.org/fhir/CodeSystem/case-management', code: 'open-case' });
    expect(provenance.recorded).toBe(res.body.recorded);
    // The Provenance is found from the case, as US Core clients look for it.
    const withProvenance = await h.fhir(`EpisodeOfCare?_id=${caseId}&_revinclude=Provenance:target`);
    expect(resources(withProvenance.body, 'Provenance').map((p) => p.id)).toEqual([provenance.id]);
  });

  test('a client with the same identifier is matched, not created again', async () => {
    const first = await h.command('/cases', intake('C-200'));
    const second = await h.command('/cases', intake('C-200'));
    expect(second.status).toBe(201);
    expect(second.body.written.some((w: { reference: string }) => w.reference.startsWith('Patient/'))).toBe(false);
    const patients = await h.fhir('Patient?identifier=urn:agency:clients|C-200');
    expect(resources(patients.body)).toHaveLength(1);
    const [a, b] = await Promise.all([first, second].map((r) => h.fhir(`${r.body.case}`)));
    expect(a?.body.patient).toEqual(b?.body.patient);
  });

  test('an existing client by clientId', async () => {
    const { clientId } = await h.openCase();
    const res = await h.command('/cases', { clientId, caseManager: 'Practitioner/p-2', agency: 'Organization/agency', status: 'waitlist' });
    expect(res.status).toBe(201);
    const episode = (await h.fhir(res.body.case)).body;
    expect(episode.patient.reference).toBe(`Patient/${clientId}`);
    expect(episode.status).toBe('waitlist');
    // No recordedBy: the Provenance names the caller.
    const provenance = (await h.fhir(res.body.provenance)).body;
    expect(provenance.agent[0].who).toEqual({ identifier: { system: 'http://casebridge.org/fhir/sid/caller', value: h.t.admin.clientId }, display: expect.any(String) });
  });

  test('an unknown client: 404 at clientId, nothing written', async () => {
    const before = await h.snapshot();
    const res = await h.command('/cases', { clientId: 'no-such-client', caseManager: 'PractitionerRole/cm-1', agency: 'Organization/agency' });
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0]).toMatchObject({ code: 'not-found', expression: ['clientId'] });
    expect(await h.snapshot()).toEqual(before);
  });

  test('references to what does not exist: 422 naming each field, nothing written', async () => {
    const before = await h.snapshot();
    const res = await h.command('/cases', { ...intake('C-110'), caseManager: 'PractitionerRole/nobody', agency: 'Organization/does-not-exist', team: [{ member: 'Practitioner/therapist-1', role: 'Therapist' }, { member: 'RelatedPerson/ghost', role: 'Mother' }] });
    expect(res.status).toBe(422);
    expect(res.body.issue.map((i: { code: string; expression: string[] }) => [i.code, i.expression[0]])).toEqual([
      ['not-found', 'caseManager'],
      ['not-found', 'agency'],
      ['not-found', 'team[1].member'],
    ]);
    expect(res.body.issue[1].diagnostics).toBe('agency: Organization/does-not-exist does not exist (or this client may not see it)');
    expect(await h.snapshot()).toEqual(before);
  });

  test('schema violations: 400 with every field located, nothing written', async () => {
    const before = await h.snapshot();
    const res = await h.command('/cases', {
      client: { identifier: { system: 'urn:agency:clients' }, name: {}, gender: 'f' },
      agency: 'Patient/x',
      opened: '2025-02-30',
      extra: 1,
    });
    expect(res.status).toBe(400);
    const located = res.body.issue.map((i: { expression: string[] }) => i.expression[0]).sort();
    expect(located).toEqual(['agency', 'caseManager', 'client.gender', 'client.identifier.value', 'client.name', 'extra', 'opened'].sort());
    expect(res.body.issue.every((i: { code: string; severity: string }) => i.code === 'invalid' && i.severity === 'error')).toBe(true);
    expect(await h.snapshot()).toEqual(before);
  });

  test('neither or both of clientId and client: 400 saying so', async () => {
    const res = await h.command('/cases', { caseManager: 'PractitionerRole/cm-1', agency: 'Organization/agency' });
    expect(res.status).toBe(400);
    expect(res.body.issue).toHaveLength(1);
    expect(res.body.issue[0].diagnostics).toMatch(/exactly one of: clientId; client/);
  });

  test('a body that is not JSON: 400; not JSON content: 415; no body: 400', async () => {
    const bad = await h.command('/cases', '{"client":').set('Content-Type', 'application/json');
    expect(bad.status).toBe(400);
    const xml = await h.command('/cases', '<x/>').set('Content-Type', 'application/xml');
    expect(xml.status).toBe(415);
    const none = await h.command('/cases', undefined);
    expect(none.status).toBe(400);
  });
});

describe('idempotency', () => {
  test('replaying a command with the same key answers the same, 200, and writes nothing', async () => {
    const body = intake('C-300');
    const first = await h.command('/cases', body, { key: 'intake-C-300-0001' });
    expect(first.status).toBe(201);
    const before = await h.snapshot();
    const again = await h.command('/cases', body, { key: 'intake-C-300-0001' });
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(again.headers.location).toBe(first.headers.location);
    expect(await h.snapshot()).toEqual(before);
  });

  test('ids derive from the key: the same key from the same caller gives the same ids', async () => {
    const first = await h.command('/cases', intake('C-301'), { key: 'intake-C-301-0001' });
    expect(first.body.case).toMatch(/^EpisodeOfCare\/[0-9a-f]{24}-case$/);
    expect(first.body.provenance).toBe(`Provenance/${first.body.case.split('/')[1].replace(/-case$/, '')}-provenance`);
  });

  test('the same key with a different payload: 409, nothing written', async () => {
    await h.command('/cases', intake('C-400'), { key: 'intake-C-400-0001' });
    const before = await h.snapshot();
    const res = await h.command('/cases', intake('C-401'), { key: 'intake-C-400-0001' });
    expect(res.status).toBe(409);
    expect(res.body.issue[0]).toMatchObject({ code: 'conflict', expression: ['Idempotency-Key'] });
    expect(await h.snapshot()).toEqual(before);
  });

  test('two identical commands at once: one writes, the other is its replay', async () => {
    const body = intake('C-500');
    const [a, b] = await Promise.all([h.command('/cases', body, { key: 'intake-C-500-0001' }), h.command('/cases', body, { key: 'intake-C-500-0001' })]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body).toEqual(b.body);
    expect(resources((await h.fhir('Patient?identifier=urn:agency:clients|C-500')).body)).toHaveLength(1);
  });

  test.each(['short', 'has space in it', 'x'.repeat(129)])('a malformed key (%s) is 400', async (key) => {
    const res = await h.command('/cases', intake('C-600'), { key });
    expect(res.status).toBe(400);
    expect(res.body.issue[0].expression).toEqual(['Idempotency-Key']);
  });
});

describe('routing', () => {
  test('GET /cm/v1/openapi.json serves the OpenAPI 3.1 document', async () => {
    const res = await h.get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.paths['/cases'].post.operationId).toBe('openCase');
  });

  test('unknown path: 404 OperationOutcome; wrong method: 405', async () => {
    const unknown = await h.get('/nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.body.resourceType).toBe('OperationOutcome');
    const method = await h.command('/cases', {}, { method: 'put' });
    expect(method.status).toBe(405);
  });
});
