// A database that goes away (issue 12, item 2): the embedded FerretDB is restarted by the
// service when it dies, requests meanwhile are 503 with Retry-After and an OperationOutcome,
// /readyz says not ready, and everything works again without anyone stepping in; with a
// MONGODB_URI server that is lost, the same 503, and the driver reconnects when it is back.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../../src/platform/embedded-database';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { ferretdbBinaryPath } from '../../support/database';

const logger = pino({ level: 'silent' });

/** Waits for a condition the service reaches by itself (a restart), checking every 50 ms. */
async function eventually<T>(probe: () => Promise<T | undefined>, limitMs = 20_000): Promise<T> {
  const giveUpAt = Date.now() + limitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error('the condition was not reached');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function expectUnavailable(res: request.Response): void {
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toBe('5');
  expect(res.body.resourceType).toBe('OperationOutcome');
  expect(res.body.issue[0].code).toBe('transient');
  expect(res.body.issue[0].diagnostics).toMatch(/database/);
}

describe('the embedded database, supervised', () => {
  let dir: string;
  let database: EmbeddedDatabase;
  let t: TestApp;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-supervised-'));
    database = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir: dir, logger, supervise: true });
    t = await testApp({ database: { uri: database.uri, serverSelectionTimeoutMS: 2_000 }, databaseAvailable: () => database.available() });
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await database?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('kill -9 of FerretDB: 503 while it is down, not ready, then it is restarted and serves the same data', async () => {
    const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', gender: 'female' });
    expect(created.status).toBe(201);
    const before = database.pid;
    process.kill(before, 'SIGKILL');
    await eventually(async () => (database.available() ? undefined : true));

    expectUnavailable(await request(t.app).get(`/fhir/Patient/${created.body.id}`));
    const ready = await request(t.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toBe('5');

    await eventually(async () => ((await request(t.app).get('/readyz')).status === 200 ? true : undefined));
    expect(database.pid).not.toBe(before);
    const read = await request(t.app).get(`/fhir/Patient/${created.body.id}`);
    expect(read.status).toBe(200);
    const write = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', gender: 'male' });
    expect(write.status).toBe(201);
  });
});

describe('a MONGODB_URI server that is lost', () => {
  let dir: string;
  let database: EmbeddedDatabase;
  let t: TestApp;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'casebridge-lost-'));
    database = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir: dir, logger });
    // No databaseAvailable: the service knows only what the driver tells it, as with MONGODB_URI.
    t = await testApp({ database: { uri: database.uri, serverSelectionTimeoutMS: 1_000 } });
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined);
    await database?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('503 with Retry-After while it is gone, not ready, and served again once it is back', async () => {
    const created = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', gender: 'female' });
    expect(created.status).toBe(201);
    const port = Number(new URL(database.uri).port);
    process.kill(database.pid, 'SIGKILL');
    await eventually(async () => (database.available() ? undefined : true));

    expectUnavailable(await request(t.app).get(`/fhir/Patient/${created.body.id}`));
    expectUnavailable(await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', gender: 'male' }));
    expect((await request(t.app).get('/readyz')).status).toBe(503);

    database = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir: dir, logger, port });
    await eventually(async () => ((await request(t.app).get('/readyz')).status === 200 ? true : undefined));
    expect((await request(t.app).get(`/fhir/Patient/${created.body.id}`)).status).toBe(200);
  });
});
