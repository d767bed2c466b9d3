// The audit log's group commit (audit/audit-log.ts): events that arrive while a write is in
// flight go together in the next insert, and each append still resolves only once its events
// are stored (or rejects when they could not be).
import type { AuditEvent } from '@medplum/fhirtypes';
import { storeAuditLog } from '../../../src/audit/audit-log';
import { buildSearchParameterRegistry } from '../../../src/search/registry';
import { extractIndex } from '../../../src/search/extract';
import { MongoRepository } from '../../../src/store/mongo/mongo-repository';
import { recordedTestDatabase } from '../../support/database';

const registry = buildSearchParameterRegistry({ baseUrl: 'http://casebridge.test/fhir' });
const { database, commands } = recordedTestDatabase();

const event = (n: number): AuditEvent => ({
  resourceType: 'AuditEvent',
  type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
  recorded: '2025-07-01T10:00:00Z',
  outcome: '0',
  agent: [{ requestor: true, who: { identifier: { value: `client-${n}` } } }],
  source: { observer: { display: 'CaseBridge' } },
});

test('appends made at once share inserts, and every event is stored before its append resolves', async () => {
  let failNext = false;
  const repo = new MongoRepository({
    db: database().connection.db,
    indexer: (resource) => extractIndex(resource, registry),
    registry,
    now: () => new Date('2025-07-01T10:00:00Z'),
    wildcardIndexes: false,
    beforeWrite: () => {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
    },
  });
  await repo.initialise();
  const log = storeAuditLog(repo);
  const collection = database().connection.db.collection('AuditEvent');
  commands.length = 0;
  await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      await log.append([event(i)]);
      // Stored by the time its append resolves.
      expect(await collection.countDocuments({ 'idx.k': `agent:i:client-${i}` })).toBe(1);
    }),
  );
  const inserts = commands.filter((c) => c.commandName === 'insert' && c.command.insert === 'AuditEvent');
  expect(inserts.length).toBeLessThan(40);
  expect(inserts.reduce((n, c) => n + (c.command.documents as unknown[]).length, 0)).toBe(40);

  // A write that fails rejects every append it carried; the next ones are written again.
  failNext = true;
  const outcomes = await Promise.allSettled([log.append([event(100)]), log.append([event(101)])]);
  expect(outcomes[0]).toMatchObject({ status: 'rejected' });
  await log.append([event(102)]);
  expect(await collection.countDocuments({ 'idx.k': 'agent:i:client-102' })).toBe(1);
});
