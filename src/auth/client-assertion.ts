/**
 * Client authentication at the token endpoint with a signed JWT (private_key_jwt): the assertion
 * must be signed RS384 or ES384 with a key the client registered, name the client as both iss
 * and sub, be addressed to the token URL, expire within five minutes, and carry a jti this client
 * never used before. Every failure is `invalid_client` (401).
 * See: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint
 * and https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
import { type JWTPayload, type ProtectedHeaderParameters, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { RegisteredClient, RegisteredClients, UsedAssertions } from '../store/records';
import { ASSERTION_ALGORITHMS, CLIENT_ID } from './client-registration';
import type { ClientKeySets } from './client-keys';
import { OAuthError } from './oauth-error';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** "exp … SHALL be no more than five minutes in the future." */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Allowance for the client's clock and ours disagreeing, in each direction. */
export const CLOCK_TOLERANCE_SECONDS = 30;
const MAX_JTI_LENGTH = 256;

export interface ExpectedAssertion {
  readonly clientId: string;
  /** The token endpoint's URL, which the assertion's aud must name exactly. */
  readonly tokenUrl: string;
  readonly now: Date;
}

/** The checks of the assertion's claims (pure): answers the jti and until when to remember it. */
export function checkAssertionClaims(payload: JWTPayload, expected: ExpectedAssertion): { jti: string; rememberUntil: Date } {
  const now = Math.floor(expected.now.getTime() / 1000);
  if (payload.iss !== expected.clientId) refuse('iss must be the client_id');
  if (payload.sub !== expected.clientId) refuse('sub must be the client_id');
  const audiences = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
  if (!audiences.includes(expected.tokenUrl)) refuse(`aud must be the token endpoint, ${expected.tokenUrl}`);
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) refuse('exp is required');
  if (payload.exp <= now - CLOCK_TOLERANCE_SECONDS) refuse('the assertion has expired (exp is in the past)');
  if (payload.exp > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) refuse('exp must be at most five minutes in the future');
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + CLOCK_TOLERANCE_SECONDS)) refuse('the assertion is not valid yet (nbf)');
  if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > now + CLOCK_TOLERANCE_SECONDS)) refuse('iat is in the future');
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > MAX_JTI_LENGTH) refuse(`jti is required (1 to ${MAX_JTI_LENGTH} characters)`);
  return { jti: payload.jti, rememberUntil: new Date((payload.exp + CLOCK_TOLERANCE_SECONDS) * 1000) };
}

/** The checks of the assertion's header against the client's registration (pure). */
export function checkAssertionHeader(header: ProtectedHeaderParameters, client: RegisteredClient): void {
  if (!(ASSERTION_ALGORITHMS as readonly (string | undefined)[]).includes(header.alg)) {
    refuse(`alg ${header.alg ?? '(none)'} is not accepted: sign with ${ASSERTION_ALGORITHMS.join(' or ')}`);
  }
  if (typeof header.kid !== 'string' || header.kid === '') refuse('the assertion header needs the kid of the signing key');
  if (header.typ !== undefined && header.typ.toUpperCase() !== 'JWT') refuse(`typ must be JWT, got ${header.typ}`);
  // A jku is never fetched: it may only repeat the jwks_uri an administrator registered.
  if (header.jku !== undefined && header.jku !== client.jwksUri) refuse('jku is not the jwks_uri registered for this client');
}

export interface AssertionVerification {
  readonly clients: RegisteredClients;
  readonly keySets: ClientKeySets;
  readonly usedAssertions: UsedAssertions;
  readonly tokenUrl: string;
  readonly now: Date;
}

/** The registered, active client the assertion authenticates; OAuthError invalid_client otherwise. */
export async function verifyClientAssertion(assertion: string, deps: AssertionVerification): Promise<RegisteredClient> {
  let header: ProtectedHeaderParameters;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(assertion);
    unverified = decodeJwt(assertion);
  } catch {
    refuse('client_assertion is not a signed JWT');
  }
  // Cheap refusals first, before any database or key work.
  if (!(ASSERTION_ALGORITHMS as readonly (string | undefined)[]).includes(header.alg)) {
    refuse(`alg ${header.alg ?? '(none)'} is not accepted: sign with ${ASSERTION_ALGORITHMS.join(' or ')}`);
  }
  const clientId = unverified.iss;
  if (typeof clientId !== 'string' || !CLIENT_ID.test(clientId)) refuse('iss must be the client_id');
  const client = await deps.clients.find(clientId);
  if (client === undefined) refuse('unknown client');
  if (!client.active) refuse('the client is disabled');
  checkAssertionHeader(header, client);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, deps.keySets.for(client), {
      algorithms: [...ASSERTION_ALGORITHMS],
      currentDate: deps.now,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    }));
  } catch (error) {
    throw verificationFailure(error, client);
  }
  const { jti, rememberUntil } = checkAssertionClaims(payload, { clientId: client.clientId, tokenUrl: deps.tokenUrl, now: deps.now });
  // Last, so that only an otherwise valid assertion uses up its jti.
  if ((await deps.usedAssertions.record({ clientId: client.clientId, jti, expiresAt: rememberUntil })) === 'replayed') {
    refuse('this jti was used before: sign a new assertion for each token request');
  }
  return client;
}

/** An OAuthError for what jose refused; anything else (a bug) goes on as it is. */
function verificationFailure(error: unknown, client: RegisteredClient): unknown {
  if (error instanceof errors.JWKSNoMatchingKey) return new OAuthError('invalid_client', 'no key registered for this client matches the assertion kid and alg');
  if (error instanceof errors.JWKSMultipleMatchingKeys) return new OAuthError('invalid_client', 'several registered keys match the assertion kid');
  if (error instanceof errors.JWSSignatureVerificationFailed) return new OAuthError('invalid_client', 'the assertion signature does not verify');
  if (error instanceof errors.JWTExpired) return new OAuthError('invalid_client', 'the assertion has expired (exp is in the past)');
  if (error instanceof errors.JWTClaimValidationFailed) return new OAuthError('invalid_client', `the assertion's ${error.claim} claim is not valid (${error.reason})`);
  if (error instanceof errors.JOSEAlgNotAllowed) return new OAuthError('invalid_client', 'the assertion alg is not accepted');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return new OAuthError('invalid_client', 'client_assertion is not a valid signed JWT');
  // Reading the registered jwks_uri failed (timeout, refused, not 200, not a JWKS).
  if (client.jwksUri !== undefined) return new OAuthError('invalid_client', 'the JWKS registered for this client (jwks_uri) could not be read', { cause: error });
  if (error instanceof errors.JOSEError) return new OAuthError('invalid_client', `the assertion could not be verified (${error.code})`, { cause: error });
  return error;
}

function refuse(description: string): never {
  throw new OAuthError('invalid_client', description);
}
