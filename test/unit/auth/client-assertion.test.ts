/** The client assertion's claims and header, checked without keys or database (the signature
 *  and the jti ledger are exercised against a real token endpoint in test/integration/auth). */
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { checkAssertionClaims, checkAssertionHeader } from '../../../src/auth/client-assertion';
import { OAuthError } from '../../../src/auth/oauth-error';
import type { RegisteredClient } from '../../../src/store/records';

const TOKEN_URL = 'https://cb.example.org/auth/token';
const NOW = new Date('2026-03-01T10:00:00Z');
const now = NOW.getTime() / 1000;
const expected = { clientId: 'client-1', tokenUrl: TOKEN_URL, now: NOW };
const valid: JWTPayload = { iss: 'client-1', sub: 'client-1', aud: TOKEN_URL, exp: now + 240, jti: 'j-1', iat: now };

const refusal = (run: () => unknown): { status: number; code: string; description: string } => {
  try {
    run();
  } catch (error) {
    if (error instanceof OAuthError) return { status: error.status, code: error.code, description: error.description };
    throw error;
  }
  throw new Error('not refused');
};

describe('checkAssertionClaims', () => {
  test('a valid assertion: its jti, remembered until exp plus the clock tolerance', () => {
    expect(checkAssertionClaims(valid, expected)).toEqual({ jti: 'j-1', rememberUntil: new Date((now + 240 + 30) * 1000) });
  });

  test.each<[string, JWTPayload]>([
    ['aud as an array that holds the token URL', { ...valid, aud: ['https://other.example.org', TOKEN_URL] }],
    ['exp exactly five minutes ahead', { ...valid, exp: now + 300 }],
    ['exp a little in the past, within the tolerance', { ...valid, exp: now - 10 }],
    ['no iat and no nbf', { iss: 'client-1', sub: 'client-1', aud: TOKEN_URL, exp: now + 60, jti: 'j' }],
  ])('accepts %s', (_title, payload) => {
    expect(() => checkAssertionClaims(payload, expected)).not.toThrow();
  });

  test.each<[string, JWTPayload, RegExp]>([
    ['iss another client', { ...valid, iss: 'client-2' }, /^iss must be the client_id$/],
    ['no iss', { ...valid, iss: undefined }, /^iss must be the client_id$/],
    ['sub another client', { ...valid, sub: 'client-2' }, /^sub must be the client_id$/],
    ['aud the FHIR base', { ...valid, aud: 'https://cb.example.org/fhir' }, /^aud must be the token endpoint/],
    ['aud the token URL with a trailing slash', { ...valid, aud: `${TOKEN_URL}/` }, /^aud must be the token endpoint/],
    ['aud an array without the token URL', { ...valid, aud: ['https://cb.example.org'] }, /^aud must be the token endpoint/],
    ['no aud', { ...valid, aud: undefined }, /^aud must be the token endpoint/],
    ['no exp', { ...valid, exp: undefined }, /^exp is required$/],
    ['exp not a number', { ...valid, exp: '1767261600' as unknown as number }, /^exp is required$/],
    ['exp past', { ...valid, exp: now - 60 }, /expired/],
    ['exp more than five minutes ahead', { ...valid, exp: now + 400 }, /at most five minutes/],
    ['nbf in the future', { ...valid, nbf: now + 120 }, /not valid yet/],
    ['iat in the future', { ...valid, iat: now + 120 }, /iat is in the future/],
    ['no jti', { ...valid, jti: undefined }, /^jti is required/],
    ['an empty jti', { ...valid, jti: '' }, /^jti is required/],
    ['a jti of 257 characters', { ...valid, jti: 'x'.repeat(257) }, /^jti is required \(1 to 256/],
  ])('refuses %s: 401 invalid_client', (_title, payload, description) => {
    const refused = refusal(() => checkAssertionClaims(payload, expected));
    expect(refused).toMatchObject({ status: 401, code: 'invalid_client' });
    expect(refused.description).toMatch(description);
  });
});

describe('checkAssertionHeader', () => {
  const inline = { clientId: 'client-1', jwks: { keys: [] } } as unknown as RegisteredClient;
  const remote = { clientId: 'client-1', jwksUri: 'https://keys.example.org/jwks.json' } as unknown as RegisteredClient;

  test.each<[string, ProtectedHeaderParameters, RegisteredClient]>([
    ['ES384 with a kid', { alg: 'ES384', kid: 'k1' }, inline],
    ['RS384 with typ JWT', { alg: 'RS384', kid: 'k1', typ: 'JWT' }, inline],
    ['a jku that is the registered jwks_uri', { alg: 'ES384', kid: 'k1', jku: 'https://keys.example.org/jwks.json' }, remote],
  ])('accepts %s', (_title, header, client) => {
    expect(() => checkAssertionHeader(header, client)).not.toThrow();
  });

  test.each<[string, ProtectedHeaderParameters, RegisteredClient, RegExp]>([
    ['alg none', { alg: 'none', kid: 'k1' }, inline, /^alg none is not accepted/],
    ['HS256', { alg: 'HS256', kid: 'k1' }, inline, /^alg HS256 is not accepted/],
    ['RS256', { alg: 'RS256', kid: 'k1' }, inline, /^alg RS256 is not accepted/],
    ['no alg', { kid: 'k1' }, inline, /^alg \(none\) is not accepted/],
    ['no kid', { alg: 'ES384' }, inline, /needs the kid/],
    ['typ at+jwt (an access token)', { alg: 'ES384', kid: 'k1', typ: 'at+jwt' }, inline, /^typ must be JWT/],
    ['a jku for a client registered with inline keys', { alg: 'ES384', kid: 'k1', jku: 'https://evil.example.org/jwks' }, inline, /^jku is not the jwks_uri registered/],
    ['a jku other than the registered jwks_uri', { alg: 'ES384', kid: 'k1', jku: 'https://evil.example.org/jwks' }, remote, /^jku is not the jwks_uri registered/],
  ])('refuses %s: 401 invalid_client', (_title, header, client, description) => {
    const refused = refusal(() => checkAssertionHeader(header, client));
    expect(refused).toMatchObject({ status: 401, code: 'invalid_client' });
    expect(refused.description).toMatch(description);
  });
});
