/**
 * The token endpoint's grant, HTTP-agnostic: SMART Backend Services' client_credentials grant
 * with private_key_jwt client authentication. The granted scopes are those requested, narrowed to
 * those the client is registered for; the purposes of use it states must each be registered too.
 * See: https://hl7.org/fhir/smart-app-launch/backend-services.html#obtaining-an-access-token and
 * https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
import type { RegisteredClient } from '../store/records';
import { CLIENT_ASSERTION_TYPE } from './client-assertion';
import { OAuthError } from './oauth-error';
import { grantScopes, splitScopes } from './scopes';

/** Form parameters in request order; a name may appear more than once (which is refused). */
export type FormParameters = readonly (readonly [string, string])[];

/** The SMART token response (RFC 6749 §5.1). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'bearer';
  readonly expires_in: number;
  readonly scope: string;
}

export interface TokenRequest {
  readonly assertion: string;
  /** Present only when the client sent client_id (optional with private_key_jwt). */
  readonly clientId?: string;
  readonly scopes: readonly string[];
  readonly purposes: readonly string[];
}

/** Reads a client_credentials request; the assertion itself is checked afterwards. */
export function parseTokenRequest(form: FormParameters): TokenRequest {
  const grantType = single(form, 'grant_type');
  if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
  if (grantType !== 'client_credentials') throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported: use client_credentials`);
  const assertionType = single(form, 'client_assertion_type');
  const assertion = single(form, 'client_assertion');
  // No client authentication, or another method: invalid_client (RFC 6749 §5.2).
  if (assertionType !== CLIENT_ASSERTION_TYPE || assertion === undefined || assertion === '') {
    throw new OAuthError('invalid_client', `authenticate with a signed JWT: client_assertion_type=${CLIENT_ASSERTION_TYPE} and client_assertion`);
  }
  const scope = single(form, 'scope');
  if (scope === undefined || splitScopes(scope).length === 0) throw new OAuthError('invalid_request', 'scope is required, e.g. scope=system/Patient.rs');
  const clientId = single(form, 'client_id');
  return {
    assertion,
    ...(clientId !== undefined ? { clientId } : {}),
    scopes: splitScopes(scope),
    purposes: splitScopes(single(form, 'purpose_of_use') ?? ''),
  };
}

/** What the authenticated client is granted, or invalid_scope / invalid_request. */
export function grantFor(client: RegisteredClient, request: TokenRequest): { scopes: readonly string[]; purposes: readonly string[] } {
  if (request.clientId !== undefined && request.clientId !== client.clientId) {
    throw new OAuthError('invalid_client', 'client_id is not the client the assertion authenticates');
  }
  const { granted } = grantScopes(request.scopes, client.scopes);
  if (granted.length === 0) {
    throw new OAuthError('invalid_scope', `none of the requested scopes is granted to this client (registered for: ${client.scopes.join(' ')})`);
  }
  const unregistered = request.purposes.filter((p) => !client.purposes.includes(p));
  if (unregistered.length > 0) {
    throw new OAuthError('invalid_request', `purpose_of_use ${unregistered.join(' ')} is not registered for this client (registered: ${client.purposes.join(' ') || 'none'})`);
  }
  return { scopes: granted, purposes: request.purposes };
}

/** The value of a parameter sent at most once (RFC 6749 §3.2: never more than once). */
export function single(form: FormParameters, name: string): string | undefined {
  const values = form.filter(([key]) => key === name);
  if (values.length > 1) throw new OAuthError('invalid_request', `${name} is given more than once`);
  return values[0]?.[1];
}
