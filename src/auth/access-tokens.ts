/**
 * Access tokens: short-lived JWTs the server signs (ES384), in the shape of RFC 9068 (header typ
 * `at+jwt`; iss, sub = client_id, aud = the FHIR base URL, exp, iat, jti, client_id, scope) plus
 * what the access policy needs to know about the client: the organisation it acts for, its role,
 * and the purposes of use it stated. Resource requests present them as `Authorization: Bearer`.
 * See: https://www.rfc-editor.org/rfc/rfc9068 and
 * https://hl7.org/fhir/smart-app-launch/backend-services.html#response-1
 */
import { randomUUID } from 'node:crypto';
import { type JWTPayload, SignJWT, errors, jwtVerify } from 'jose';
import type { ClientRole, RegisteredClient } from '../store/records';
import { CLIENT_ROLES } from '../store/records';
import type { ClientCaller } from './caller';
import { OAuthError } from './oauth-error';
import { ACCESS_TOKEN_ALGORITHM, type SigningKeyRing } from './signing-keys';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Tolerance for the clocks of other instances sharing the keys. */
const CLOCK_TOLERANCE_SECONDS = 5;

export interface AccessTokenClaims extends JWTPayload {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  /** Space-separated, as granted. */
  readonly scope: string;
  readonly role: ClientRole;
  readonly organization?: string;
  /** v3-ActReason codes the client stated; absent when it stated none. */
  readonly purpose_of_use?: readonly string[];
}

export interface TokenAudience {
  /** The authorization server (PUBLIC_URL). */
  readonly issuer: string;
  /** The FHIR base URL: the resource server the token is for. */
  readonly audience: string;
}

export interface AccessGrant {
  readonly client: RegisteredClient;
  readonly scopes: readonly string[];
  readonly purposes: readonly string[];
}

export async function issueAccessToken(
  grant: AccessGrant,
  options: TokenAudience & { readonly keys: SigningKeyRing; readonly lifetimeSeconds: number; readonly now: Date },
): Promise<{ token: string; claims: AccessTokenClaims }> {
  const iat = Math.floor(options.now.getTime() / 1000);
  const { client } = grant;
  const claims: AccessTokenClaims = {
    iss: options.issuer,
    sub: client.clientId,
    aud: options.audience,
    iat,
    exp: iat + options.lifetimeSeconds,
    jti: randomUUID(),
    client_id: client.clientId,
    scope: grant.scopes.join(' '),
    role: client.role,
    ...(client.organization !== undefined ? { organization: client.organization } : {}),
    ...(grant.purposes.length > 0 ? { purpose_of_use: [...grant.purposes] } : {}),
  };
  const { kid, privateKey } = options.keys.signingKey();
  const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid }).sign(privateKey);
  return { token, claims };
}

/**
 * The claims of a token we signed and that is valid now: our key (by kid), ES384 only (so no
 * `none`, no HMAC), typ at+jwt, our issuer and the FHIR audience, not expired, not before its
 * time. Anything else is OAuthError invalid_token, whose description says which.
 */
export async function verifyAccessToken(token: string, options: TokenAudience & { readonly keys: SigningKeyRing; readonly now: Date }): Promise<AccessTokenClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      async (header) => {
        const key = await options.keys.verificationKey(header.kid);
        if (key === undefined) throw new OAuthError('invalid_token', 'the token was not signed by this server (unknown kid)');
        return key;
      },
      {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        issuer: options.issuer,
        audience: options.audience,
        currentDate: options.now,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'scope', 'role'],
      },
    ));
  } catch (error) {
    throw invalidToken(error);
  }
  return checkClaims(payload);
}

/** The Caller a valid token describes; `display` is the client's registered name. */
export function callerFromClaims(claims: AccessTokenClaims, display: string): ClientCaller {
  return {
    kind: 'system',
    id: claims.client_id,
    display,
    clientId: claims.client_id,
    scopes: Object.freeze(claims.scope.split(' ').filter((s) => s !== '')),
    role: claims.role,
    ...(claims.organization !== undefined ? { organization: claims.organization } : {}),
    purposes: Object.freeze([...(claims.purpose_of_use ?? [])]),
    tokenId: claims.jti,
    expiresAt: new Date(claims.exp * 1000),
  };
}

function checkClaims(payload: JWTPayload): AccessTokenClaims {
  const p = payload as Record<string, unknown>;
  const strings = (value: unknown) => Array.isArray(value) && value.every((v) => typeof v === 'string');
  if (
    typeof p.client_id !== 'string' ||
    p.sub !== p.client_id ||
    typeof p.scope !== 'string' ||
    !(CLIENT_ROLES as readonly unknown[]).includes(p.role) ||
    (p.organization !== undefined && typeof p.organization !== 'string') ||
    (p.purpose_of_use !== undefined && !strings(p.purpose_of_use))
  ) {
    throw new OAuthError('invalid_token', 'the token claims are not those this server issues');
  }
  return payload as AccessTokenClaims;
}

function invalidToken(error: unknown): unknown {
  if (error instanceof OAuthError) return error;
  if (error instanceof errors.JWTExpired) return new OAuthError('invalid_token', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const what: Record<string, string> = { aud: 'the token is not for this FHIR server (aud)', iss: 'the token was not issued by this server (iss)', nbf: 'the token is not valid yet', typ: 'not an access token (typ)' };
    return new OAuthError('invalid_token', what[error.claim] ?? `the token's ${error.claim} claim is not valid (${error.reason})`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new OAuthError('invalid_token', 'the token alg is not accepted');
  if (error instanceof errors.JWSSignatureVerificationFailed) return new OAuthError('invalid_token', 'the token signature does not verify');
  if (error instanceof errors.JOSEError) return new OAuthError('invalid_token', 'the token is malformed');
  return error;
}
