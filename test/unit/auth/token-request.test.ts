/** The token request's form and what the authenticated client is granted, without HTTP. */
import { CLIENT_ASSERTION_TYPE } from '../../../src/auth/client-assertion';
import { OAuthError } from '../../../src/auth/oauth-error';
import { type FormParameters, grantFor, parseTokenRequest } from '../../../src/auth/token-endpoint';
import type { RegisteredClient } from '../../../src/store/records';

const form = (fields: Record<string, string>, extra: [string, string][] = []): FormParameters => [...Object.entries(fields), ...extra];
const valid = { grant_type: 'client_credentials', client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: 'a.b.c', scope: 'system/Patient.rs system/Task.cruds' };
const client = { clientId: 'c-1', scopes: ['system/Patient.rs', 'system/Task.rs'], purposes: ['TREAT', 'HPAYMT'] } as unknown as RegisteredClient;

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof OAuthError) return { status: error.status, error: error.code, description: error.description };
    throw error;
  }
  throw new Error('not refused');
};

describe('parseTokenRequest', () => {
  test('reads the assertion, the scopes and the purposes of use (space-separated)', () => {
    expect(parseTokenRequest(form({ ...valid, purpose_of_use: 'TREAT  HPAYMT', client_id: 'c-1', unknown_parameter: 'ignored' }))).toEqual({
      assertion: 'a.b.c',
      clientId: 'c-1',
      scopes: ['system/Patient.rs', 'system/Task.cruds'],
      purposes: ['TREAT', 'HPAYMT'],
    });
  });

  test.each<[string, FormParameters, number, string, RegExp]>([
    ['no grant_type', form({ ...valid, grant_type: '' }).filter(([k]) => k !== 'grant_type'), 400, 'invalid_request', /grant_type is required/],
    ['another grant_type', form({ ...valid, grant_type: 'authorization_code' }), 400, 'unsupported_grant_type', /authorization_code is not supported/],
    ['the jwt-bearer grant instead of client_credentials', form({ ...valid, grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer' }), 400, 'unsupported_grant_type', /not supported/],
    ['no client_assertion', form(valid).filter(([k]) => k !== 'client_assertion'), 401, 'invalid_client', /client_assertion/],
    ['another client_assertion_type', form({ ...valid, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' }), 401, 'invalid_client', /client_assertion_type/],
    ['no scope', form(valid).filter(([k]) => k !== 'scope'), 400, 'invalid_request', /scope is required/],
    ['a blank scope', form({ ...valid, scope: '   ' }), 400, 'invalid_request', /scope is required/],
    ['scope twice', form(valid, [['scope', 'system/Goal.rs']]), 400, 'invalid_request', /scope is given more than once/],
    ['client_assertion twice', form(valid, [['client_assertion', 'x.y.z']]), 400, 'invalid_request', /client_assertion is given more than once/],
  ])('refuses %s', (_title, parameters, status, error, description) => {
    const refused = refusal(() => parseTokenRequest(parameters));
    expect(refused).toMatchObject({ status, error });
    expect(refused.description).toMatch(description);
  });
});

describe('grantFor', () => {
  test('the requested scopes narrowed to the registered ones, and the stated purposes', () => {
    expect(grantFor(client, { assertion: 'x', scopes: ['system/Patient.rs', 'system/Task.cruds', 'system/Goal.rs'], purposes: ['TREAT'] })).toEqual({
      scopes: ['system/Patient.rs', 'system/Task.rs'],
      purposes: ['TREAT'],
    });
  });

  test('no purpose stated: none in the token', () => {
    expect(grantFor(client, { assertion: 'x', scopes: ['system/Patient.read'], purposes: [] })).toEqual({ scopes: ['system/Patient.read'], purposes: [] });
  });

  test.each<[string, Parameters<typeof grantFor>[1], number, string, RegExp]>([
    ['nothing requested is registered', { assertion: 'x', scopes: ['system/Goal.rs', 'patient/Patient.rs'], purposes: [] }, 400, 'invalid_scope', /none of the requested scopes/],
    ['a purpose the client is not registered for', { assertion: 'x', scopes: ['system/Patient.rs'], purposes: ['TREAT', 'PUBHLTH'] }, 400, 'invalid_request', /purpose_of_use PUBHLTH is not registered/],
    ['a client_id that is not the authenticated client', { assertion: 'x', clientId: 'c-2', scopes: ['system/Patient.rs'], purposes: [] }, 401, 'invalid_client', /client_id is not the client/],
  ])('refuses %s', (_title, request, status, error, description) => {
    const refused = refusal(() => grantFor(client, request));
    expect(refused).toMatchObject({ status, error });
    expect(refused.description).toMatch(description);
  });
});
