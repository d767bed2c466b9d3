// A full disk (issue 12, item 3): writes are refused 507 with an OperationOutcome that says so,
// /readyz is not ready, a transaction that meets it leaves nothing behind and holds no locks,
// and once space is freed everything works again. Needs a small filesystem of its own: a tmpfs,
// which only root can mount; elsewhere the test is skipped and says why.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { type EmbeddedDatabase, startEmbeddedDatabase } from '../../../src/platform/embedded-database';
import { FHIR_JSON, type TestApp, testApp } from '../../support/app';
import { ferretdbBinaryPath } from '../../support/database';

const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'casebridge-full-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mountPoint]).status === 0;
if (!mounted) rmSync(mountPoint, { recursive: true, force: true });

const suite = mounted ? describe : describe.skip;
const why = mounted ? '' : ' (SKIPPED: cannot mount a small tmpfs here, which needs root; run as root to try a full disk)';

suite(`a full disk${why}`, () => {
  let database: EmbeddedDatabase;
  let t: TestApp;
  const filler = path.join(mountPoint, 'filler');

  beforeAll(async () => {
    database = await startEmbeddedDatabase({ binaryPath: ferretdbBinaryPath, dataDir: path.join(mountPoint, 'db'), logger: pino({ level: 'silent' }) });
    t = await testApp({ database: { uri: database.uri, serverSelectionTimeoutMS: 2_000 } });
  });
  afterAll(async () => {
    await rm(filler, { force: true });
    await t?.close().catch(() => undefined);
    await database?.stop();
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  /** Fills the filesystem to the last block. */
  function fillDisk(): void {
    const chunk = Buffer.alloc(256 * 1024, 1);
    let size = 0;
    for (;;) {
      try {
        writeFileSync(filler, chunk, { flag: 'a' });
        size += chunk.length;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        break;
      }
    }
    for (const small of [4096, 512]) {
      for (;;) {
        try {
          writeFileSync(filler, Buffer.alloc(small, 1), { flag: 'a' });
        } catch {
          break;
        }
      }
    }
    expect(size).toBeGreaterThan(0);
  }

  const transaction = (tag: string) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: Array.from({ length: 30 }, (_, i) => ({
      resource: { resourceType: 'Patient', identifier: [{ system: 'http://casebridge.test/batch', value: `${tag}-${i}` }], name: [{ text: 'x'.repeat(20_000) }] },
      request: { method: 'POST', url: 'Patient' },
    })),
  });

  test('writes are 507 with an OperationOutcome, not ready, nothing partial; all works again once space is freed', async () => {
    const kept = await request(t.app).post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', gender: 'female' });
    expect(kept.status).toBe(201);
    fillDisk();

    const refused = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(transaction('full'));
    expect(refused.status).toBe(507);
    expect(refused.body.resourceType).toBe('OperationOutcome');
    expect(refused.body.issue[0].diagnostics).toMatch(/out of disk space/);
    const ready = await request(t.app).get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.issue[0].diagnostics).toMatch(/disk space/);

    // Every request is recorded in the audit log before it is answered, so on a full disk reads
    // are refused too (507); what is stored shows no untagged trace of the transaction.
    const stored = await t.database.connection.db.collection('Patient').find({ tx: { $exists: false } }).toArray();
    expect(stored.filter((d) => String(d.json).includes('full-'))).toHaveLength(0);

    await rm(filler);
    expect((await request(t.app).get('/readyz')).status).toBe(200);
    // Nothing of it can be seen.
    const partial = await request(t.app).get('/fhir/Patient?identifier=http://casebridge.test/batch|&_summary=count');
    expect(partial.status).toBe(200);
    expect(partial.body.total).toBe(0);
    expect((await request(t.app).get(`/fhir/Patient/${kept.body.id}`)).status).toBe(200);
    // No lock or open journal of the refused transaction stands in the way.
    const again = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(transaction('after'));
    expect(again.status).toBe(200);
    const all = await request(t.app).get('/fhir/Patient?identifier=http://casebridge.test/batch|&_summary=count');
    expect(all.body.total).toBe(30);
    const update = await request(t.app).put(`/fhir/Patient/${kept.body.id}`).set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', id: kept.body.id, gender: 'male' });
    expect(update.status).toBe(200);
  });
});
