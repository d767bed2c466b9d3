// The operational records (mongoose models on the FHIR store's own connection) against a real
// FerretDB: registered clients, the used-assertion ledger and its sweep, the signing keys.
import * as mongodb from 'mongodb';
import mongoose from 'mongoose';
import { operationalRecords, type OperationalRecords, RECORD_COLLECTIONS, workflowRecords } from '../../../src/store/records';
import { type TestDatabase, testDatabase } from '../../support/database';

let database: TestDatabase;
let records: OperationalRecords;
beforeAll(async () => {
  database = await testDatabase();
  records = await operationalRecords(database.connection);
  // The workflows' records share the list of operational collections.
  await workflowRecords(database.connection);
});
afterAll(async () => {
  await database.drop();
});

const JWKS = { keys: [{ kty: 'EC', crv: 'P-384', x: 'x', y: 'y', kid: 'k1' }] };
const NOW = new Date('2026-03-01T10:00:00Z');

test('mongoose uses the one mongodb driver the store uses', () => {
  expect(mongoose.mongo.MongoClient).toBe(mongodb.MongoClient);
});

test('the records live in the FHIR database, in their own collections, created with their indexes', async () => {
  const names = (await database.connection.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  expect(names).toEqual(expect.arrayContaining([...RECORD_COLLECTIONS]));
  const indexes = await database.connection.db.collection('used_client_assertions').indexes();
  expect(indexes.map((i) => Object.keys(i.key))).toEqual(expect.arrayContaining([['expiresAt']]));
  // Running it again (a second instance, a restart) changes nothing.
  await expect(operationalRecords(database.connection)).resolves.toBeDefined();
});

describe('registered clients', () => {
  test('registers, finds, lists, counts, disables and enables a client', async () => {
    const before = await records.clients.count();
    const client = await records.clients.register(
      { clientId: 'c-1', name: 'Riverside', organization: 'Organization/riverside', role: 'agency', scopes: ['system/*.rs'], purposes: ['TREAT'], jwks: JWKS },
      NOW,
    );
    expect(client).toEqual({ clientId: 'c-1', name: 'Riverside', organization: 'Organization/riverside', role: 'agency', scopes: ['system/*.rs'], purposes: ['TREAT'], jwks: JWKS, active: true, created: NOW });
    expect(await records.clients.find('c-1')).toEqual(client);
    expect(await records.clients.count()).toBe(before + 1);
    expect((await records.clients.list()).map((c) => c.clientId)).toContain('c-1');
    expect(await records.clients.setActive('c-1', false, NOW)).toBe(true);
    expect(await records.clients.find('c-1')).toMatchObject({ active: false, disabled: NOW });
    expect(await records.clients.setActive('c-1', true, NOW)).toBe(true);
    expect(await records.clients.find('c-1')).toMatchObject({ active: true });
    expect((await records.clients.find('c-1'))?.disabled).toBeUndefined();
    expect(await records.clients.setActive('nobody', false, NOW)).toBe(false);
  });

  test('an unknown client is undefined, and an operator object is not a filter', async () => {
    expect(await records.clients.find('nobody')).toBeUndefined();
    // sanitizeFilter wraps it in $eq, and the String _id refuses to cast it: no client matches it.
    await expect(records.clients.find({ $ne: null } as unknown as string)).rejects.toThrow(/Cast to string failed/);
  });

  test.each([
    ['both a JWKS and a jwks_uri', { jwks: JWKS, jwksUri: 'https://keys.example.org/jwks' }, /either an inline JWKS or a jwks_uri/],
    ['neither', {}, /either an inline JWKS or a jwks_uri/],
    ['an unknown role', { jwks: JWKS, role: 'superuser' }, /role/],
    ['an organization that is not a reference', { jwks: JWKS, organization: 'riverside' }, /organization/],
  ])('refuses a client with %s', async (_title, fields, message) => {
    await expect(
      records.clients.register({ clientId: `bad-${Math.random()}`, name: 'x', role: 'agency', scopes: [], purposes: [], ...fields } as never, NOW),
    ).rejects.toThrow(message);
  });

  test('a client_id is registered once', async () => {
    const client = { clientId: 'c-twice', name: 'x', role: 'administrator' as const, scopes: [], purposes: [], jwks: JWKS };
    await records.clients.register(client, NOW);
    await expect(records.clients.register(client, NOW)).rejects.toMatchObject({ code: 11000 });
  });
});

describe('the used-assertion ledger', () => {
  test('accepts a jti once per client, and again for another client', async () => {
    const expiresAt = new Date(NOW.getTime() + 300_000);
    expect(await records.usedAssertions.record({ clientId: 'a', jti: 'j-1', expiresAt })).toBe('recorded');
    expect(await records.usedAssertions.record({ clientId: 'a', jti: 'j-1', expiresAt })).toBe('replayed');
    expect(await records.usedAssertions.record({ clientId: 'b', jti: 'j-1', expiresAt })).toBe('recorded');
    expect(await records.usedAssertions.record({ clientId: 'a', jti: 'j-\u0000$where', expiresAt })).toBe('recorded');
  });

  test('the sweep removes what expired, and only that', async () => {
    await records.usedAssertions.record({ clientId: 's', jti: 'old', expiresAt: new Date(NOW.getTime() - 1) });
    await records.usedAssertions.record({ clientId: 's', jti: 'new', expiresAt: new Date(NOW.getTime() + 1000) });
    expect(await records.usedAssertions.sweep(NOW)).toBeGreaterThanOrEqual(1);
    expect(await records.usedAssertions.record({ clientId: 's', jti: 'old', expiresAt: new Date(NOW.getTime() + 1000) })).toBe('recorded');
    expect(await records.usedAssertions.record({ clientId: 's', jti: 'new', expiresAt: new Date(NOW.getTime() + 1000) })).toBe('replayed');
  });
});

describe('signing keys', () => {
  test('are listed oldest first; a kid is added once', async () => {
    const key = (kid: string, created: Date) => ({ kid, alg: 'ES384' as const, publicJwk: { kty: 'EC', kid }, privateJwk: { kty: 'EC', kid, d: 'secret' }, created });
    expect(await records.signingKeys.add(key('k-new', new Date(NOW.getTime() + 1)))).toBe(true);
    expect(await records.signingKeys.add(key('k-old', NOW))).toBe(true);
    expect(await records.signingKeys.add(key('k-old', NOW))).toBe(false);
    expect((await records.signingKeys.list()).map((k) => k.kid)).toEqual(['k-old', 'k-new']);
  });
});
