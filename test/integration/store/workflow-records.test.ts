// The workflows' operational records against a real FerretDB: leases that one instance holds at a
// time and another takes over when they lapse, an outbox whose entries are recorded once and
// retried with their attempts counted, export files written and read back in chunks, export jobs.
import { randomBytes } from 'node:crypto';
import { type WorkflowRecords, workflowRecords } from '../../../src/store/records';
import { CHUNK_BYTES } from '../../../src/store/records/export-files';
import { type TestDatabase, testDatabase } from '../../support/database';

let database: TestDatabase;
let records: WorkflowRecords;
beforeAll(async () => {
  database = await testDatabase();
  records = await workflowRecords(database.connection);
});
afterAll(async () => {
  await database.drop();
});

const at = (seconds: number) => new Date(Date.UTC(2026, 2, 1, 10, 0, seconds));

describe('leases', () => {
  test('one holder at a time; the holder renews; another takes over once it lapsed; released, it is free', async () => {
    const take = (owner: string, s: number) => records.leases.acquire('work:1', owner, { now: at(s), ttlMs: 10_000 });
    const attempts = await Promise.all([take('a', 0), take('b', 0), take('c', 0)]);
    expect(attempts.filter(Boolean)).toHaveLength(1);
    const holder = ['a', 'b', 'c'][attempts.indexOf(true)] as string;
    const other = holder === 'a' ? 'b' : 'a';
    expect(await take(other, 5)).toBe(false);
    expect(await take(holder, 5)).toBe(true);
    // The holder renewed until 15 s; at 16 s it has lapsed (a crash): another takes over.
    expect(await take(other, 16)).toBe(true);
    expect(await records.leases.renew('work:1', holder, at(40))).toBe(false);
    await records.leases.release('work:1', other);
    expect(await take(holder, 17)).toBe(true);
    expect(await records.leases.sweep(at(60))).toBe(1);
  });
});

describe('outbox', () => {
  test('enqueued once by id; due in order; a failure counts an attempt and sets the next; done is final', async () => {
    const entry = (id: string, due: number) => ({ id, kind: 'notification', target: 'sub-1', payload: { n: id }, due: at(due) });
    expect(await records.outbox.enqueue(entry('n-1', 0), at(0))).toBe('enqueued');
    expect(await records.outbox.enqueue(entry('n-1', 0), at(1))).toBe('exists');
    await records.outbox.enqueue(entry('n-2', 2), at(0));
    await records.outbox.enqueue({ ...entry('other', 0), kind: 'referral-send', target: 'partner-1' }, at(0));
    expect((await records.outbox.due(['notification'], at(1), 10)).map((e) => e.id)).toEqual(['n-1']);
    expect((await records.outbox.due(['notification'], at(3), 10)).map((e) => e.id)).toEqual(['n-1', 'n-2']);
    await records.outbox.reschedule('n-1', { due: at(30), error: 'HTTP 503' });
    await records.outbox.deferTarget('sub-1', at(30));
    expect(await records.outbox.due(['notification'], at(29), 10)).toEqual([]);
    expect(await records.outbox.get('n-1')).toMatchObject({ attempts: 1, lastError: 'HTTP 503', state: 'pending' });
    await records.outbox.complete('n-1', at(31));
    await records.outbox.abandon('n-2', at(31), 'gone');
    expect(await records.outbox.get('n-2')).toMatchObject({ state: 'dead', attempts: 1 });
    expect(await records.outbox.count({ target: 'sub-1', state: 'pending' })).toBe(0);
    expect(await records.outbox.sweep(at(40))).toBe(2);
    expect(await records.outbox.get('other')).toMatchObject({ state: 'pending' });
  });
});

describe('export files and jobs', () => {
  test('a file larger than a chunk is written in chunks and read back whole; removing the job removes its files', async () => {
    const writer = records.exportFiles.writer('job-1', 'file-1');
    const line = `${randomBytes(700).toString('hex')}\n`;
    const lines = Math.ceil((CHUNK_BYTES * 2.5) / line.length);
    for (let i = 0; i < lines; i++) await writer.write(line);
    const size = await writer.close();
    expect(size).toBe(lines * line.length);
    const chunks: Buffer[] = [];
    for await (const chunk of records.exportFiles.read('file-1')) chunks.push(chunk);
    expect(chunks.length).toBe(3);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(line.repeat(lines));
    expect(await records.exportFiles.removeJob('job-1')).toBe(3);
    const none: Buffer[] = [];
    for await (const chunk of records.exportFiles.read('file-1')) none.push(chunk);
    expect(none).toEqual([]);
  });

  test('a job is accepted, runs, completes with its files and expires; a cancelled one expires at once', async () => {
    const requestedBy = { clientId: 'payer-1', display: 'Payer', organization: 'Organization/payer', role: 'payer' as const, scopes: ['system/*.rs'], purposes: ['HPAYMT'] };
    const request = { level: 'group' as const, group: 'Group/g1', types: ['Patient'], requestUrl: 'http://x/fhir/Group/g1/$export' };
    await records.exportJobs.create({ id: 'j-1', requestedBy, request, now: at(0) });
    await records.exportJobs.create({ id: 'j-2', requestedBy, request, now: at(0) });
    expect((await records.exportJobs.unfinished(10)).map((j) => j.id)).toEqual(['j-1', 'j-2']);
    await records.exportJobs.started('j-1');
    expect(await records.exportJobs.finish('j-1', { state: 'completed', output: [{ type: 'Patient', file: 'f', count: 2, bytes: 10 }], now: at(10), expires: at(100) })).toBe(true);
    expect(await records.exportJobs.get('j-1')).toMatchObject({ state: 'completed', requestedBy, output: [{ type: 'Patient', count: 2 }] });
    expect(await records.exportJobs.cancel('j-2', at(20))).toBe(true);
    expect(await records.exportJobs.finish('j-2', { state: 'completed', output: [], now: at(21), expires: at(100) })).toBe(false);
    expect((await records.exportJobs.expired(at(50), 10)).map((j) => j.id)).toEqual(['j-2']);
    expect((await records.exportJobs.expired(at(100), 10)).map((j) => j.id).sort()).toEqual(['j-1', 'j-2']);
    expect(await records.exportJobs.cancel('nope', at(0))).toBe(false);
    // Removed with its files: its cancellation goes too, and it expires no more.
    await records.exportJobs.remove('j-2');
    await records.exportJobs.remove('j-1');
    expect(await records.exportJobs.expired(at(100), 10)).toEqual([]);
  });

  test('a cancellation stands against a write of the job made from a read before it (how FerretDB applies an update)', async () => {
    const requestedBy = { clientId: 'payer-1', display: 'Payer', organization: 'Organization/payer', role: 'payer' as const, scopes: ['system/*.rs'], purposes: ['HPAYMT'] };
    await records.exportJobs.create({ id: 'j-3', requestedBy, request: { level: 'system', types: ['Patient'], requestUrl: 'http://x/fhir/$export' }, now: at(0) });
    await records.exportJobs.started('j-3');
    const jobs = database.connection.db.collection<{ _id: string }>('workflow_export_jobs');
    // The worker's progress note reads the job...
    const read = await jobs.findOne({ _id: 'j-3' });
    // ...its owner cancels it...
    expect(await records.exportJobs.cancel('j-3', at(5))).toBe(true);
    // ...and the note is written back whole, with the state it read.
    await jobs.replaceOne({ _id: 'j-3' }, { ...read, progress: '1 of 1 types' });
    expect(await records.exportJobs.get('j-3')).toMatchObject({ state: 'cancelled', expires: at(5) });
    expect((await records.exportJobs.unfinished(10)).map((j) => j.id)).not.toContain('j-3');
    expect(await records.exportJobs.finish('j-3', { state: 'completed', output: [], now: at(6), expires: at(100) })).toBe(false);
    expect((await records.exportJobs.expired(at(5), 10)).map((j) => j.id)).toEqual(['j-3']);
  });
});

describe('partners and subscription state', () => {
  test('a partner is registered once per organisation and found again', async () => {
    const partner = { id: 'harbor', name: 'Harbor', organization: 'Organization/harbor', baseUrl: 'https://harbor.example.org/fhir', credentials: { type: 'none' as const } };
    await records.partners.register(partner, at(0));
    await expect(records.partners.register({ ...partner, id: 'harbor-2' }, at(0))).rejects.toThrow();
    await expect(records.partners.register({ ...partner, id: 'bad', organization: 'Organization/bad', baseUrl: 'not a url' }, at(0))).rejects.toThrow();
    expect(await records.partners.find('harbor')).toMatchObject({ ...partner, active: true });
  });

  test('a subscription counts its events and its run of failures', async () => {
    const subscriber = { clientId: 'ehr', display: 'EHR', organization: 'Organization/st-mary', role: 'ehr' as const, scopes: ['system/Task.rs'], purposes: [] };
    await records.subscriptions.subscribe('s-1', subscriber, at(0));
    expect(await records.subscriptions.addEvents('s-1', 2, at(1))).toBe(2);
    expect(await records.subscriptions.failed('s-1', 'HTTP 500', at(2))).toBe(1);
    expect(await records.subscriptions.failed('s-1', 'HTTP 500', at(3))).toBe(2);
    await records.subscriptions.succeeded('s-1', at(4));
    await records.subscriptions.subscribe('s-1', subscriber, at(5));
    expect(await records.subscriptions.get('s-1')).toMatchObject({ subscriber, events: 2, failures: 0 });
  });

  test("a delivery's failure written back from a read before the scan counted does not give an event number twice (how FerretDB applies an update)", async () => {
    const subscriber = { clientId: 'ehr', display: 'EHR', organization: 'Organization/st-mary', role: 'ehr' as const, scopes: ['system/Task.rs'], purposes: [] };
    await records.subscriptions.subscribe('s-2', subscriber, at(0));
    expect(await records.subscriptions.addEvents('s-2', 1, at(1))).toBe(1);
    const states = database.connection.db.collection<{ _id: string }>('workflow_subscriptions');
    // A delivery's failure count reads the state...
    const read = await states.findOne({ _id: 's-2' });
    // ...the scan counts the next event...
    expect(await records.subscriptions.addEvents('s-2', 1, at(2))).toBe(2);
    // ...and the failure is written back whole, with what it read.
    await states.replaceOne({ _id: 's-2' }, { ...read, failures: 1, lastError: 'HTTP 503' });
    expect(await records.subscriptions.addEvents('s-2', 1, at(3))).toBe(3);
    expect(await records.subscriptions.get('s-2')).toMatchObject({ events: 3, failures: 1 });
  });

  test('a count kept by an earlier version in the state is carried on', async () => {
    const subscriber = { clientId: 'ehr', display: 'EHR', organization: 'Organization/st-mary', role: 'ehr' as const, scopes: ['system/Task.rs'], purposes: [] };
    await records.subscriptions.subscribe('s-3', subscriber, at(0));
    await database.connection.db.collection<{ _id: string }>('workflow_subscriptions').updateOne({ _id: 's-3' }, { $set: { events: 7 } });
    expect(await records.subscriptions.get('s-3')).toMatchObject({ events: 7 });
    expect(await records.subscriptions.addEvents('s-3', 1, at(1))).toBe(8);
    await records.subscriptions.remove('s-3');
    expect(await records.subscriptions.get('s-3')).toBeUndefined();
    expect(await database.connection.db.collection('workflow_subscription_events').countDocuments({ _id: 's-3' as never })).toBe(0);
  });
});
