/**
 * The client side of SMART Backend Services, for CaseBridge's own commands (npm run token, the
 * seed, the registration command's --generate-key) and tests: a key pair, a credentials file
 * (client_id and private JWK), a signed client assertion, and the token request.
 * See: https://hl7.org/fhir/smart-app-launch/backend-services.html#obtaining-an-access-token
 */
import { randomUUID } from 'node:crypto';
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { type JWK, SignJWT, exportJWK, generateKeyPair, importJWK } from 'jose';
import { CLIENT_ASSERTION_TYPE } from './client-assertion';
import type { TokenResponse } from './token-endpoint';

export type AssertionAlgorithm = 'ES384' | 'RS384';

/** What a client keeps: its client_id and its private key (a JWK with kid and alg). */
export interface ClientCredentials {
  readonly client_id: string;
  readonly private_key: JWK;
}

/** A new key pair: the private JWK (kept by the client) and the public JWKS (registered). */
export async function generateClientKey(alg: AssertionAlgorithm = 'ES384'): Promise<{ privateJwk: JWK; publicJwks: { keys: JWK[] } }> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS384' ? { modulusLength: 2048 } : {}) });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateJwk: { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' }, publicJwks: { keys: [publicJwk] } };
}

export interface AssertionOptions {
  readonly now?: Date;
  /** Default 60 s; SMART allows at most 300. */
  readonly lifetimeSeconds?: number;
}

/** A client assertion for `tokenUrl`: iss = sub = client_id, aud, exp, a fresh jti. */
export async function signClientAssertion(credentials: ClientCredentials, tokenUrl: string, options: AssertionOptions = {}): Promise<string> {
  const key = credentials.private_key;
  const alg = key.alg as AssertionAlgorithm;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg, typ: 'JWT', ...(key.kid !== undefined ? { kid: key.kid } : {}) })
    .setIssuer(credentials.client_id)
    .setSubject(credentials.client_id)
    .setAudience(tokenUrl)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.lifetimeSeconds ?? 60))
    .sign(await importJWK(key, alg));
}

/** The form of a client_credentials token request. */
export function tokenRequestForm(assertion: string, scope: string, purposes: readonly string[] = []): URLSearchParams {
  return new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
    scope,
    ...(purposes.length > 0 ? { purpose_of_use: purposes.join(' ') } : {}),
  });
}

export class TokenRequestFailed extends Error {
  override name = 'TokenRequestFailed';
}

export interface TokenRequestOptions {
  /** The token endpoint's URL, as the server names it (the assertion's aud). */
  readonly tokenUrl: string;
  /** Where to send the request when it is not tokenUrl (a loopback address of the same server). */
  readonly postTo?: string;
  readonly credentials: ClientCredentials;
  readonly scope: string;
  readonly purposes?: readonly string[];
}

/** Asks the token endpoint for an access token over HTTP; TokenRequestFailed says why not. */
export async function requestAccessToken(options: TokenRequestOptions): Promise<TokenResponse> {
  const assertion = await signClientAssertion(options.credentials, options.tokenUrl);
  const endpoint = options.postTo ?? options.tokenUrl;
  let response: Response;
  try {
    response = await fetch(endpoint, { method: 'POST', body: tokenRequestForm(assertion, options.scope, options.purposes), signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new TokenRequestFailed(`cannot reach the token endpoint ${endpoint} (${error instanceof Error ? error.message : String(error)}); is CaseBridge running?`);
  }
  const body = (await response.json().catch(() => ({}))) as Partial<TokenResponse> & { error?: string; error_description?: string };
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new TokenRequestFailed(`the token endpoint ${endpoint} answered ${response.status}: ${body.error ?? 'no error code'}${body.error_description ? ` (${body.error_description})` : ''}`);
  }
  return body as TokenResponse;
}

/** An access token that is asked for again a minute before it expires. */
export function tokenSource(options: TokenRequestOptions): () => Promise<string> {
  let current: { token: string; renewAt: number } | undefined;
  return async () => {
    if (current === undefined || Date.now() >= current.renewAt) {
      const response = await requestAccessToken(options);
      current = { token: response.access_token, renewAt: Date.now() + Math.max(0, response.expires_in - 60) * 1000 };
    }
    return current.token;
  };
}

/** The token endpoint a FHIR server publishes (SMART discovery). */
export async function discoverTokenEndpoint(fhirBaseUrl: string): Promise<string> {
  const url = `${fhirBaseUrl.replace(/\/+$/, '')}/.well-known/smart-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new TokenRequestFailed(`cannot reach ${url} (${error instanceof Error ? error.message : String(error)}); is CaseBridge running?`);
  }
  const body = (await response.json().catch(() => ({}))) as { token_endpoint?: unknown };
  if (!response.ok || typeof body.token_endpoint !== 'string') throw new TokenRequestFailed(`${url} answered ${response.status} without a token_endpoint`);
  return body.token_endpoint;
}

export async function readCredentials(file: string): Promise<ClientCredentials> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<ClientCredentials>;
  if (typeof parsed.client_id !== 'string' || typeof parsed.private_key !== 'object' || parsed.private_key === null || typeof parsed.private_key.d !== 'string') {
    throw new Error(`${file} holds no client credentials ({"client_id": …, "private_key": {private JWK}})`);
  }
  return parsed as ClientCredentials;
}

/** Writes credentials readable by their owner only (mode 0600), replacing the file whole. */
export async function writeCredentials(file: string, credentials: ClientCredentials): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'w' });
  // writeFile's mode is masked by the umask and ignored for an existing file.
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}
