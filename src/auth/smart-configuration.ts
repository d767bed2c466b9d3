/**
 * Where CaseBridge's authorization server is and what it supports, as SMART discovery publishes
 * it at {FHIR base}/.well-known/smart-configuration. Every URL comes from configuration
 * (BASE_URL, PUBLIC_URL), never from the request's Host or X-Forwarded-* headers.
 * See: https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known
 */
import { ASSERTION_ALGORITHMS } from './client-registration';

export interface AuthUrls {
  /** The authorization server's identifier (PUBLIC_URL): the access tokens' iss. */
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly introspectionUrl: string;
  readonly jwksUrl: string;
  /** The resource server: the access tokens' aud. */
  readonly fhirBaseUrl: string;
}

export function authUrls(publicUrl: string, fhirBaseUrl: string): AuthUrls {
  return {
    issuer: publicUrl,
    tokenUrl: `${publicUrl}/auth/token`,
    introspectionUrl: `${publicUrl}/auth/introspect`,
    jwksUrl: `${publicUrl}/auth/jwks`,
    fhirBaseUrl,
  };
}

export interface SmartConfiguration {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly token_endpoint: string;
  readonly introspection_endpoint: string;
  readonly token_endpoint_auth_methods_supported: readonly string[];
  readonly token_endpoint_auth_signing_alg_values_supported: readonly string[];
  readonly grant_types_supported: readonly string[];
  readonly scopes_supported: readonly string[];
  readonly capabilities: readonly string[];
}

/** Backend services only: no authorization endpoint (no user-facing launch), so no
 *  response_types or PKCE methods are advertised. */
export function smartConfiguration(urls: AuthUrls): SmartConfiguration {
  return {
    issuer: urls.issuer,
    jwks_uri: urls.jwksUrl,
    token_endpoint: urls.tokenUrl,
    introspection_endpoint: urls.introspectionUrl,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    grant_types_supported: ['client_credentials'],
    // Any system/<Type>.<cruds> scope (with ?param=value restrictions) or v1 .read/.write/.*
    // may be requested; these are the wildcard forms.
    scopes_supported: ['system/*.cruds', 'system/*.rs', 'system/*.read', 'system/*.write', 'system/*.*'],
    capabilities: ['client-confidential-asymmetric', 'permission-v1', 'permission-v2'],
  };
}
