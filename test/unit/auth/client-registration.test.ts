/** What a client registration must hold before it is stored (the command and the harness both
 *  go through checkRegistration). */
import { generateKeyPairSync } from 'node:crypto';
import { generateClientKey } from '../../../src/auth/client-credentials';
import { type ClientRegistrationRequest, RegistrationRefused, checkRegistration } from '../../../src/auth/client-registration';

let es384: { keys: Record<string, unknown>[] };
let rs384: { keys: Record<string, unknown>[] };
let privateJwk: Record<string, unknown>;
beforeAll(async () => {
  const es = await generateClientKey('ES384');
  es384 = es.publicJwks as never;
  privateJwk = es.privateJwk as never;
  rs384 = (await generateClientKey('RS384')).publicJwks as never;
});

const base = (): ClientRegistrationRequest => ({ name: 'Riverside CMHS', role: 'agency', organization: 'Organization/riverside', scopes: ['system/*.rs'], jwks: es384 });

test('a valid registration: a client_id is chosen, scopes and purposes kept once each', async () => {
  const client = await checkRegistration({ ...base(), scopes: ['system/*.rs', 'system/*.rs', 'system/Task.cruds'], purposes: ['TREAT', 'TREAT', 'CAREMGT'] });
  expect(client).toEqual({
    clientId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    name: 'Riverside CMHS',
    organization: 'Organization/riverside',
    role: 'agency',
    scopes: ['system/*.rs', 'system/Task.cruds'],
    purposes: ['TREAT', 'CAREMGT'],
    jwks: es384,
  });
});

test.each<[string, Partial<ClientRegistrationRequest>]>([
  ['an RS384 key', { jwks: undefined }],
  ['a jwks_uri over https', { jwks: undefined, jwksUri: 'https://keys.example.org/jwks.json' }],
  ['a jwks_uri on localhost over http (development)', { jwks: undefined, jwksUri: 'http://127.0.0.1:9999/jwks.json' }],
  ['an administrator for no organization', { role: 'administrator', organization: undefined }],
  ['an auditor for no organization', { role: 'auditor', organization: undefined }],
  ['v1 scopes and granular v2 scopes', { scopes: ['system/Patient.read', 'system/Observation.rs?category=laboratory'] }],
  ['a chosen client_id', { clientId: 'ehr-epic-prod' }],
])('accepts %s', async (title, fields) => {
  const request = { ...base(), ...fields, ...(title === 'an RS384 key' ? { jwks: rs384 } : {}) };
  await expect(checkRegistration(request)).resolves.toBeDefined();
});

test.each<[string, () => Partial<ClientRegistrationRequest>, RegExp]>([
  ['an unknown role', () => ({ role: 'superuser' }), /^The role must be one of agency, ehr, payer, auditor, administrator/],
  ['an agency for no organization', () => ({ organization: undefined }), /^A client with role agency acts for an organization/],
  ['a payer for no organization', () => ({ role: 'payer', organization: undefined }), /role payer acts for an organization/],
  ['an organization that is not a reference', () => ({ organization: 'riverside' }), /^The organization must be a reference/],
  ['no name', () => ({ name: '  ' }), /needs a name/],
  ['no scope', () => ({ scopes: [] }), /at least one scope/],
  ['a patient scope', () => ({ scopes: ['patient/*.rs'] }), /not a SMART system scope/],
  ['a malformed scope', () => ({ scopes: ['system/*.sr'] }), /not a SMART system scope/],
  ['an unknown resource type', () => ({ scopes: ['system/Patients.rs'] }), /names no R4 resource type/],
  ['an unknown purpose of use', () => ({ purposes: ['TRAET'] }), /^Unknown purpose of use TRAET/],
  ['both a JWKS and a jwks_uri', () => ({ jwksUri: 'https://keys.example.org/jwks.json' }), /either a JWKS .* or a jwks_uri/],
  ['neither', () => ({ jwks: undefined }), /either a JWKS .* or a jwks_uri/],
  ['a jwks_uri over http elsewhere', () => ({ jwks: undefined, jwksUri: 'http://keys.example.org/jwks.json' }), /must use https/],
  ['a jwks_uri with credentials', () => ({ jwks: undefined, jwksUri: 'https://user:pw@keys.example.org/jwks.json' }), /no credentials/],
  ['a relative jwks_uri', () => ({ jwks: undefined, jwksUri: '/jwks.json' }), /must be an absolute URL/],
  ['a JWKS without keys', () => ({ jwks: { keys: [] } }), /1 to 20 public keys/],
  ['a JWKS that is a bare key', () => ({ jwks: es384.keys[0] }), /1 to 20 public keys/],
  ['a private key', () => ({ jwks: { keys: [privateJwk] } }), /holds private key material \(d\)/],
  ['a key without kid', () => ({ jwks: { keys: [{ ...es384.keys[0], kid: undefined }] } }), /needs a kid/],
  ['a kid twice', () => ({ jwks: { keys: [es384.keys[0], es384.keys[0]] } }), /appears twice/],
  ['an EC key on P-256', () => ({ jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k' }] } }), /RSA key or an EC key on P-384/],
  ['an HMAC key', () => ({ jwks: { keys: [{ kty: 'oct', kid: 'k' }] } }), /RSA key or an EC key on P-384/],
  ['an EC key marked RS384', () => ({ jwks: { keys: [{ ...es384.keys[0], alg: 'RS384' }] } }), /only ES384 is accepted/],
  ['an encryption key', () => ({ jwks: { keys: [{ ...es384.keys[0], use: 'enc' }] } }), /not a signing key/],
  ['a broken key', () => ({ jwks: { keys: [{ ...es384.keys[0], x: 'AAAA' }] } }), /not a usable ES384 public key/],
  ['an RSA key of 1024 bits', () => ({ jwks: { keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' }), kid: 'small' }] } }), /shorter than 2048 bits/],
  ['a client_id with a space', () => ({ clientId: 'a b' }), /client_id is 1 to 128/],
])('refuses %s, in one sentence', async (_title, fields, message) => {
  const refusal = checkRegistration({ ...base(), ...fields() });
  await expect(refusal).rejects.toThrow(RegistrationRefused);
  await expect(refusal).rejects.toThrow(message);
  await expect(refusal).rejects.toThrow(/\.$/);
});
