import request from 'supertest';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FHIR_JSON, type TestApp, testApp } from '../support/app';
let t: TestApp;
beforeAll(async () => { t = await testApp(); });
afterAll(async () => { await t.close(); });
test('dbg', async () => {
  for (const where of ['family', 'given', 'text', 'line']) {
    const big = 'é ab '.repeat(200000);
    const body = where === 'line' ? { resourceType: 'Patient', address: [{ line: [big] }] } : { resourceType: 'Patient', name: [where === 'family' ? { family: big } : where === 'text' ? { text: big } : { given: [big] }] };
    const h = monitorEventLoopDelay({ resolution: 5 }); h.enable();
    const s = Date.now();
    const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify(body));
    const w = Date.now() - s; h.disable(); console.log('max blocked', h.max / 1e6);
    const s2 = Date.now();
    const r2 = await request(t.app).get(`/fhir/Patient?given=${encodeURIComponent('é ab é')}`);
    console.log(where, res.status, w, 'ms; search', r2.status, Date.now() - s2, r2.body.total);
  }
  const big = 'abc '.repeat(1_000_000);
  const res = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Patient', name: [{ family: big, given: [big] }] }));
  console.log('4MB', res.status, JSON.stringify(res.body).slice(0, 300));
});
