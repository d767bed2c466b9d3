/**
 * What a client registration must hold before it is stored: a known role, the organisation it
 * acts for, system scopes of known types, purposes of use from the value set, and public keys
 * CaseBridge can verify its assertions with — an inline JWKS of RS384/ES384 public keys, each
 * with its kid, or a jwks_uri (https; http only on the loopback interface, for development).
 * See: https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#registering-a-client-communicating-public-keys
 */
import { randomUUID } from 'node:crypto';
import { type JWK, importJWK } from 'jose';
import { isResourceType } from '../fhir/definitions';
import { CLIENT_ROLES, type ClientRole, type JsonWebKeySet, type RegisteredClient } from '../store/records';
import { PURPOSES_OF_USE } from './purposes-of-use';
import { parseScope } from './scopes';

/** The assertion algorithms SMART names; nothing else is accepted. */
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384'] as const;

/** What a client_id may look like: anything else is refused before it reaches the database. */
export const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

/** Roles that act for an organisation and must name it. */
const ORGANIZATION_ROLES: ReadonlySet<ClientRole> = new Set(['agency', 'ehr', 'payer']);
const ORGANIZATION = /^Organization\/[A-Za-z0-9.-]{1,64}$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface ClientRegistrationRequest {
  readonly name: string;
  readonly role: string;
  readonly organization?: string;
  readonly scopes: readonly string[];
  readonly purposes?: readonly string[];
  readonly jwks?: unknown;
  readonly jwksUri?: string;
  /** Chosen by the administrator; a random UUID otherwise. */
  readonly clientId?: string;
}

export type NewClient = Omit<RegisteredClient, 'active' | 'created' | 'disabled'>;

/** A registration that cannot be stored; the message says why in one sentence. */
export class RegistrationRefused extends Error {
  override name = 'RegistrationRefused';
}

export async function checkRegistration(request: ClientRegistrationRequest): Promise<NewClient> {
  const clientId = request.clientId ?? randomUUID();
  if (!CLIENT_ID.test(clientId)) refuse(`a client_id is 1 to 128 letters, digits or . _ ~ -, got "${clientId}"`);
  const name = request.name.trim();
  if (name === '' || name.length > 200 || /[\u0000-\u001f]/.test(name)) refuse('a client needs a name of 1 to 200 printable characters');
  if (!(CLIENT_ROLES as readonly string[]).includes(request.role)) refuse(`the role must be one of ${CLIENT_ROLES.join(', ')}, got "${request.role}"`);
  const role = request.role as ClientRole;
  if (request.organization !== undefined && !ORGANIZATION.test(request.organization)) {
    refuse(`the organization must be a reference such as Organization/riverside-cmhs, got "${request.organization}"`);
  }
  if (request.organization === undefined && ORGANIZATION_ROLES.has(role)) refuse(`a client with role ${role} acts for an organization: give --organization Organization/<id>`);
  const scopes = checkScopes(request.scopes);
  const purposes = [...new Set(request.purposes ?? [])];
  const unknown = purposes.filter((p) => !PURPOSES_OF_USE.has(p));
  if (unknown.length > 0) refuse(`unknown purpose of use ${unknown.join(', ')} (codes of http://terminology.hl7.org/ValueSet/v3-PurposeOfUse, such as TREAT, HPAYMT, HOPERAT, PUBHLTH)`);
  if ((request.jwks === undefined) === (request.jwksUri === undefined)) refuse('a client registers either a JWKS (its public keys) or a jwks_uri, not both and not neither');
  const keys = request.jwks === undefined ? { jwksUri: checkJwksUri(request.jwksUri as string) } : { jwks: await checkJwks(request.jwks) };
  return { clientId, name, ...(request.organization !== undefined ? { organization: request.organization } : {}), role, scopes, purposes, ...keys };
}

function checkScopes(scopes: readonly string[]): string[] {
  if (scopes.length === 0) refuse('a client needs at least one scope, such as system/*.rs');
  for (const text of scopes) {
    const scope = parseScope(text);
    if (scope === undefined || scope.context !== 'system') refuse(`"${text}" is not a SMART system scope such as system/Patient.rs or system/*.read`);
    if (scope.resourceType !== '*' && !isResourceType(scope.resourceType)) refuse(`"${text}" names no R4 resource type`);
  }
  return [...new Set(scopes)];
}

function checkJwksUri(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    refuse(`the jwks_uri must be an absolute URL, got "${text}"`);
  }
  const loopback = LOOPBACK.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) refuse('the jwks_uri must use https (http only for localhost, in development)');
  if (url.username !== '' || url.password !== '' || url.hash !== '') refuse('the jwks_uri must carry no credentials and no fragment');
  return url.href;
}

async function checkJwks(jwks: unknown): Promise<JsonWebKeySet> {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 20) refuse('a JWKS is an object {"keys": [...]} of 1 to 20 public keys');
  const kids = new Set<string>();
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key)) refuse('each key of the JWKS is a JSON object');
    const jwk = key as Record<string, unknown>;
    const kid = jwk.kid;
    if (typeof kid !== 'string' || kid === '') refuse('each key of the JWKS needs a kid: the client names it in its assertions');
    if (kids.has(kid)) refuse(`the kid "${kid}" appears twice in the JWKS`);
    kids.add(kid);
    const leaked = PRIVATE_MEMBERS.filter((m) => m in jwk);
    if (leaked.length > 0) refuse(`key "${kid}" holds private key material (${leaked.join(', ')}): register the public key only`);
    const alg = algorithmOf(jwk, kid);
    if (jwk.use !== undefined && jwk.use !== 'sig') refuse(`key "${kid}" is not a signing key (use "${String(jwk.use)}")`);
    try {
      await importJWK(jwk as unknown as JWK, alg);
    } catch (error) {
      refuse(`key "${kid}" is not a usable ${alg} public key (${error instanceof Error ? error.message : String(error)})`);
    }
    if (jwk.kty === 'RSA' && typeof jwk.n === 'string' && Buffer.from(jwk.n, 'base64url').length * 8 < 2048) refuse(`RSA key "${kid}" is shorter than 2048 bits`);
  }
  return { keys: keys as Record<string, unknown>[] };
}

/** The algorithm a key is for: its alg, else the one its type allows (EC P-384 → ES384, RSA → RS384). */
function algorithmOf(jwk: Record<string, unknown>, kid: string): (typeof ASSERTION_ALGORITHMS)[number] {
  const implied = jwk.kty === 'EC' && jwk.crv === 'P-384' ? 'ES384' : jwk.kty === 'RSA' ? 'RS384' : undefined;
  if (implied === undefined) refuse(`key "${kid}" must be an RSA key or an EC key on P-384 (SMART assertions are signed RS384 or ES384)`);
  if (jwk.alg !== undefined && jwk.alg !== implied) refuse(`key "${kid}" has alg "${String(jwk.alg)}"; only ${implied} is accepted for a ${String(jwk.kty)} key`);
  return implied;
}

function refuse(message: string): never {
  throw new RegistrationRefused(message.charAt(0).toUpperCase() + message.slice(1) + '.');
}
