// Scheduling and service units: appointments booked, rescheduled, cancelled, missed or attended
// (→ the contact); each contact's service, minutes, units, programme and funding; ChargeItems a
// payer finds by member, period and service.
import request from 'supertest';
import { FHIR_JSON } from '../../support/app';
import { type CaseApiHarness, caseApiHarness, refsOf, resources } from './case-api-support';

let h: CaseApiHarness;
let caseId: string;
let clientId: string;
let coverage: string;
let intervention: string;
beforeAll(async () => {
  h = await caseApiHarness();
  ({ caseId, clientId } = await h.openCase({ programme: 'targeted-case-management', client: { identifier: { system: 'urn:agency:clients', value: 'SCHED-1' }, name: { family: 'Nguyen', given: ['Bao'] }, gender: 'male' } }));
  const post = await request(h.t.app)
    .post('/fhir/Coverage')
    .set('Content-Type', FHIR_JSON)
    .send(JSON.stringify({ resourceType: 'Coverage', status: 'active', subscriberId: 'MCD-5550001', beneficiary: { reference: `Patient/${clientId}` }, payor: [{ reference: 'Organization/agency-2' }] }));
  expect(post.status).toBe(201);
  coverage = `Coverage/${post.body.id}`;
  const plan = await h.command(`/cases/${caseId}/plan`, {
    start: '2025-02-01',
    goals: [{ key: 'g', description: 'Stable housing' }],
    objectives: [{ goal: 'g', description: 'Two housing applications', measure: { text: 'applications' }, target: { value: 2 }, due: '2025-06-30' }],
    interventions: [{ service: { text: 'Housing navigation' }, goal: 'g' }],
  });
  intervention = refsOf(plan.body, 'ServiceRequest')[0] as string;
});
afterAll(async () => {
  await h.t.close();
});

async function book(start: string, end: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await h.command(`/cases/${caseId}/appointments`, { start, end, type: 'home-visit', service: 'targeted-case-management', intervention, ...extra });
  expect(res.status).toBe(201);
  return refsOf(res.body, 'Appointment')[0] as string;
}

describe('appointments', () => {
  test('booked: participants, service, case link; an EHR scheduler finds it by patient, date, status and actor', async () => {
    const appointment = await book('2025-03-10T17:00:00Z', '2025-03-10T18:00:00Z', { description: 'Home visit: housing forms' });
    const a = (await h.fhir(appointment)).body;
    expect(a).toMatchObject({ status: 'booked', start: '2025-03-10T17:00:00Z', minutesDuration: 60, supportingInformation: [{ reference: `EpisodeOfCare/${caseId}` }], basedOn: [{ reference: intervention }] });
    expect(a.participant.map((p: { actor: { reference: string } }) => p.actor.reference)).toEqual([`Patient/${clientId}`, 'PractitionerRole/cm-1']);
    const found = await h.fhir(`Appointment?patient=Patient/${clientId}&date=ge2025-03-01&date=lt2025-04-01&status=booked`);
    expect(resources(found.body).map((r) => `Appointment/${r.id}`)).toContain(appointment);
    const byActor = await h.fhir(`Appointment?actor=PractitionerRole/cm-1&date=2025-03-10`);
    expect(resources(byActor.body).map((r) => `Appointment/${r.id}`)).toContain(appointment);
  });

  test('rescheduled, then attended: the Appointment fulfilled, the contact recorded with its units and ChargeItem', async () => {
    const appointment = await book('2025-03-12T17:00:00Z', '2025-03-12T18:00:00Z');
    const id = appointment.split('/')[1];
    const moved = await h.command(`/cases/${caseId}/appointments/${id}/reschedule`, { start: '2025-03-13T17:00:00Z', end: '2025-03-13T17:45:00Z', reason: 'Client at a medical appointment' });
    expect(moved.status).toBe(201);
    expect((await h.fhir(appointment)).body).toMatchObject({ status: 'booked', start: '2025-03-13T17:00:00Z', comment: 'Rescheduled from 2025-03-12T17:00:00Z: Client at a medical appointment' });
    // 38 minutes: two full units (30) and 8 more, which makes a third (15-minute units, 8-minute midpoint).
    const attended = await h.command(`/cases/${caseId}/appointments/${id}/attended`, { end: '2025-03-13T17:38:00Z', note: 'Completed two housing applications.', coverage });
    expect(attended.status).toBe(201);
    expect((await h.fhir(appointment)).body.status).toBe('fulfilled');
    const encounter = (await h.fhir(refsOf(attended.body, 'Encounter')[0] as string)).body;
    expect(encounter).toMatchObject({
      appointment: [{ reference: appointment }],
      basedOn: [{ reference: intervention }],
      period: { start: '2025-03-13T17:00:00Z', end: '2025-03-13T17:38:00Z' },
      length: { value: 38, code: 'min' },
      serviceType: { coding: [{ code: 'targeted-case-management' }] },
    });
    expect(encounter.type[1].coding).toEqual([
      expect.objectContaining({ system: 'http://casebridge.org/fhir/CodeSystem/case-management-service', code: 'targeted-case-management' }),
      expect.objectContaining({ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'T1017' }),
    ]);
    const charge = (await h.fhir(refsOf(attended.body, 'ChargeItem')[0] as string)).body;
    expect(charge).toMatchObject({ status: 'billable', quantity: { value: 3 }, subject: { reference: `Patient/${clientId}` }, context: { reference: `Encounter/${encounter.id}` } });
    expect(charge.supportingInformation.map((r: { reference: string }) => r.reference)).toEqual(expect.arrayContaining([coverage, intervention]));
    const view = (await h.get(`/cases/${caseId}`)).body;
    expect(view.appointments.find((x: { id: string }) => x.id === id)).toMatchObject({ status: 'fulfilled' });
    expect(view.timeline.find((e: { id: string }) => e.id === encounter.id)).toMatchObject({ kind: 'contact', service: 'Targeted case management', minutes: 38, appointment });
  });

  test('cancelled by the client; a no-show; the next appointment in the case view', async () => {
    const cancelled = await book('2025-03-20T17:00:00Z', '2025-03-20T18:00:00Z');
    const missed = await book('2025-03-21T17:00:00Z', '2025-03-21T18:00:00Z');
    const upcoming = await book('2025-04-02T17:00:00Z', '2025-04-02T18:00:00Z');
    const cancel = await h.command(`/cases/${caseId}/appointments/${cancelled.split('/')[1]}/cancel`, { by: 'client', reason: 'Sick' });
    expect(cancel.status).toBe(201);
    expect((await h.fhir(cancelled)).body).toMatchObject({ status: 'cancelled', cancelationReason: { coding: [{ code: 'pat' }], text: 'Sick' } });
    expect((await h.command(`/cases/${caseId}/appointments/${missed.split('/')[1]}/no-show`, { note: 'Called twice, no answer' })).status).toBe(201);
    expect((await h.fhir(missed)).body.status).toBe('noshow');
    // The harness clock reads 2025-03-01: the soonest booked one still to come is next.
    const view = (await h.get(`/cases/${caseId}`)).body;
    const booked = view.appointments.filter((a: { status: string }) => a.status === 'booked').map((a: { id: string; start: string }) => a);
    expect(view.nextAppointment.id).toBe(booked.sort((a: { start: string }, b: { start: string }) => (a.start < b.start ? -1 : 1))[0].id);
    expect(view.appointments.map((a: { id: string }) => `Appointment/${a.id}`)).toContain(upcoming);
  });

  test('refusals: a cancelled appointment cannot be attended (409); another case’s appointment is 404; end before start is 422; a date without time is 400', async () => {
    const appointment = await book('2025-05-01T17:00:00Z', '2025-05-01T18:00:00Z');
    const id = appointment.split('/')[1];
    await h.command(`/cases/${caseId}/appointments/${id}/cancel`, { by: 'provider', reason: 'Staff sick' });
    const other = await h.openCase();
    const before = await h.snapshot();
    const attended = await h.command(`/cases/${caseId}/appointments/${id}/attended`, { note: 'x' });
    expect(attended.status).toBe(409);
    expect(attended.body.issue[0].diagnostics).toMatch(/is cancelled: attended is recorded for an appointment that is booked, arrived, checked-in, pending/);
    expect((await h.command(`/cases/${other.caseId}/appointments/${id}/cancel`, { by: 'client', reason: 'x' })).status).toBe(404);
    const backwards = await h.command(`/cases/${caseId}/appointments`, { start: '2025-05-02T18:00:00Z', end: '2025-05-02T17:00:00Z' });
    expect(backwards.status).toBe(422);
    expect(backwards.body.issue[0].expression).toEqual(['end']);
    expect((await h.command(`/cases/${caseId}/appointments`, { start: '2025-05-02', end: '2025-05-02' })).status).toBe(400);
    expect(await h.snapshot()).toEqual(before);
  });
});

describe('service units and payers', () => {
  test('a logged contact with a service: units by the 15-minute rule; under 8 minutes nothing is billable; a non-billable service has no ChargeItem', async () => {
    const contact = (minutes: number, service: string) =>
      h.command(`/cases/${caseId}/contacts`, {
        type: 'phone-call',
        start: '2025-03-03T16:00:00Z',
        end: new Date(Date.parse('2025-03-03T16:00:00Z') + minutes * 60_000).toISOString().replace('.000Z', 'Z'),
        note: 'Call.',
        service,
        coverage,
      });
    const seven = await contact(7, 'targeted-case-management');
    expect(refsOf(seven.body, 'ChargeItem')).toEqual([]);
    const twentyTwo = await contact(22, 'case-management');
    const charge = (await h.fhir(refsOf(twentyTwo.body, 'ChargeItem')[0] as string)).body;
    expect(charge.quantity.value).toBe(1);
    expect(charge.code.coding[1]).toMatchObject({ code: 'T1016' });
    const coordination = await contact(30, 'care-coordination');
    expect(refsOf(coordination.body, 'ChargeItem')).toEqual([]);
    expect((await h.fhir(refsOf(coordination.body, 'Encounter')[0] as string)).body.length.value).toBe(30);
  });

  test('a payer finds the billable contacts by member id, period and service', async () => {
    const found = await h.fhir('ChargeItem?patient:Patient.identifier=urn:agency:clients|SCHED-1&occurrence=ge2025-03-01&occurrence=lt2025-04-01&code=http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets|T1017&_include=ChargeItem:context');
    expect(found.status).toBe(200);
    const charges = resources(found.body, 'ChargeItem');
    expect(charges.length).toBeGreaterThanOrEqual(1);
    expect(charges.every((c) => (c.code as { coding: { code: string }[] }).coding.some((x) => x.code === 'T1017'))).toBe(true);
    expect(resources(found.body, 'Encounter').length).toBe(charges.length);
    const encounters = await h.fhir(`Encounter?patient=Patient/${clientId}&date=ge2025-03-01&date=lt2025-04-01&type=http://casebridge.org/fhir/CodeSystem/case-management-service|targeted-case-management`);
    expect(resources(encounters.body).length).toBeGreaterThanOrEqual(2);
  });

  test('a coverage of another client, or an intervention of another case: 422 at the field', async () => {
    const other = await h.openCase();
    const res = await h.command(`/cases/${other.caseId}/contacts`, { type: 'phone-call', start: '2025-03-03T16:00:00Z', end: '2025-03-03T16:30:00Z', note: 'x', service: 'case-management', coverage });
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression).toEqual(['coverage']);
    const wrongIntervention = await h.command(`/cases/${other.caseId}/contacts`, { type: 'phone-call', start: '2025-03-03T16:00:00Z', note: 'x', intervention });
    expect(wrongIntervention.status).toBe(422);
    expect(wrongIntervention.body.issue[0].expression).toEqual(['intervention']);
    const noEnd = await h.command(`/cases/${other.caseId}/contacts`, { type: 'phone-call', start: '2025-03-03T16:00:00Z', note: 'x', service: 'case-management' });
    expect(noEnd.status).toBe(400);
  });
});
