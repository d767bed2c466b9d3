/**
 * CaseBridge's authorization server and the resource server's token check, HTTP-agnostic: the
 * token endpoint, introspection, the JWKS and SMART discovery documents, the one place a Bearer
 * token becomes a Caller, and the administration of registered clients. The express adapters are
 * in http/oauth.ts and http/authentication.ts.
 *
 * Time here is real time (its own clock), never the FHIR services' clock that tests move for
 * resource timestamps.
 */
import type { Config } from '../config/config';
import type { Clock } from '../platform/clock';
import { systemClock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import type { MongoConnection } from '../platform/mongo';
import { type OperationalRecords, type RegisteredClient, operationalRecords } from '../store/records';
import { type AccessTokenClaims, callerFromClaims, issueAccessToken, verifyAccessToken } from './access-tokens';
import type { ClientCaller } from './caller';
import { verifyClientAssertion } from './client-assertion';
import { ClientKeySets } from './client-keys';
import { type ClientRegistrationRequest, checkRegistration } from './client-registration';
import { OAuthError } from './oauth-error';
import { SigningKeyRing } from './signing-keys';
import { type AuthUrls, type SmartConfiguration, authUrls, smartConfiguration } from './smart-configuration';
import { type FormParameters, type TokenResponse, grantFor, parseTokenRequest, single } from './token-endpoint';

export interface AuthServiceOptions {
  readonly records: OperationalRecords;
  /** PUBLIC_URL: the OAuth endpoints are under it; the tokens' issuer. */
  readonly publicUrl: string;
  /** BASE_URL: the tokens' audience. */
  readonly fhirBaseUrl: string;
  readonly accessTokenSeconds: number;
  readonly jwksFetchTimeoutMs: number;
  readonly logger: Logger;
  /** Real time unless a test moves it. */
  readonly clock?: Clock;
  /** How long a client's registration (active or not) is trusted by the token check before it
   *  is read again: a disabled client's tokens stop working within this time (default 10 s). */
  readonly clientCacheMs?: number;
}

export interface AuthServiceDependencies {
  readonly config: Config;
  readonly connection: MongoConnection;
  readonly logger: Logger;
  /** Real time unless a test moves it; never the FHIR services' clock. */
  readonly clock?: Clock;
  readonly clientCacheMs?: number;
}

/** The authorization server on `connection`, as configured: CaseBridge's own records (clients,
 *  used assertions, signing keys) are mongoose models beside the FHIR store. */
export async function openAuthService(deps: AuthServiceDependencies): Promise<AuthService> {
  const { config } = deps;
  return AuthService.create({
    records: await operationalRecords(deps.connection),
    publicUrl: config.publicUrl,
    fhirBaseUrl: config.baseUrl,
    accessTokenSeconds: config.accessTokenSeconds,
    jwksFetchTimeoutMs: config.jwksFetchTimeoutMs,
    logger: deps.logger,
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.clientCacheMs !== undefined ? { clientCacheMs: deps.clientCacheMs } : {}),
  });
}

/** RFC 7662 §2.2: `{active:false}` says nothing more about a token. */
export type IntrospectionResponse =
  | { readonly active: false }
  | ({ readonly active: true; readonly token_type: 'Bearer' } & Pick<AccessTokenClaims, 'scope' | 'client_id' | 'sub' | 'aud' | 'iss' | 'exp' | 'iat' | 'jti' | 'role' | 'organization' | 'purpose_of_use'>);

/** The request carries no Bearer token (RFC 6750 §3: the challenge then names no error). */
export class MissingBearerToken extends Error {
  override name = 'MissingBearerToken';
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export class AuthService {
  readonly urls: AuthUrls;
  private readonly clock: Clock;
  private readonly keySets: ClientKeySets;
  private readonly clientCache = new Map<string, { client: RegisteredClient | undefined; readAt: number }>();
  /** Tokens verified already, until their exp: an ES384 verification costs about half a
   *  millisecond of CPU, on every request otherwise. Emptied when the signing keys change. */
  private readonly verified = new Map<string, AccessTokenClaims>();
  private verifiedGeneration = 0;

  private constructor(
    private readonly options: AuthServiceOptions,
    private readonly keys: SigningKeyRing,
  ) {
    this.urls = authUrls(options.publicUrl, options.fhirBaseUrl);
    this.clock = options.clock ?? systemClock;
    this.keySets = new ClientKeySets({ fetchTimeoutMs: options.jwksFetchTimeoutMs });
  }

  /** Loads the signing keys (generating the first on an empty database). */
  static async create(options: AuthServiceOptions): Promise<AuthService> {
    const keys = new SigningKeyRing(options.records.signingKeys, options.clock ?? systemClock);
    await keys.load();
    return new AuthService(options, keys);
  }

  /** POST /auth/token. Throws OAuthError. */
  async token(form: FormParameters): Promise<TokenResponse> {
    const now = this.clock.now();
    let clientId: string | undefined;
    try {
      const request = parseTokenRequest(form);
      const client = await verifyClientAssertion(request.assertion, {
        clients: this.options.records.clients,
        keySets: this.keySets,
        usedAssertions: this.options.records.usedAssertions,
        tokenUrl: this.urls.tokenUrl,
        now,
      });
      clientId = client.clientId;
      const grant = grantFor(client, request);
      const { token, claims } = await issueAccessToken(
        { client, ...grant },
        { issuer: this.urls.issuer, audience: this.urls.fhirBaseUrl, keys: this.keys, lifetimeSeconds: this.options.accessTokenSeconds, now },
      );
      this.options.logger.info({ clientId, scope: claims.scope, purposes: grant.purposes, tokenId: claims.jti }, 'access token issued');
      return { access_token: token, token_type: 'bearer', expires_in: this.options.accessTokenSeconds, scope: claims.scope };
    } catch (error) {
      if (error instanceof OAuthError) {
        this.options.logger.warn({ clientId, error: error.code, reason: error.description, ...(error.cause !== undefined ? { err: error.cause } : {}) }, 'token request refused');
      }
      throw error;
    }
  }

  /**
   * POST /auth/introspect, for an authenticated client (`authorization`: its Bearer token).
   * Anything but a valid token of an active client is `{active:false}`.
   * See: https://www.rfc-editor.org/rfc/rfc7662#section-2
   */
  async introspect(form: FormParameters, authorization: string | undefined): Promise<IntrospectionResponse> {
    await this.authenticate(authorization);
    const token = single(form, 'token');
    if (token === undefined || token === '') throw new OAuthError('invalid_request', 'token is required');
    let claims: AccessTokenClaims;
    try {
      claims = await this.verify(token);
    } catch (error) {
      if (error instanceof OAuthError) return { active: false };
      throw error;
    }
    // Read now, not from the cache: introspection answers for this moment.
    const client = await this.options.records.clients.find(claims.client_id);
    if (client?.active !== true) return { active: false };
    const { scope, client_id, sub, aud, iss, exp, iat, jti, role, organization, purpose_of_use } = claims;
    return {
      active: true,
      token_type: 'Bearer',
      scope,
      client_id,
      sub,
      aud,
      iss,
      exp,
      iat,
      jti,
      role,
      ...(organization !== undefined ? { organization } : {}),
      ...(purpose_of_use !== undefined ? { purpose_of_use } : {}),
    };
  }

  /**
   * The Caller an `Authorization` header proves: a valid access token of a registered, active
   * client. Throws MissingBearerToken without one, OAuthError invalid_token for a bad one.
   * See: https://www.rfc-editor.org/rfc/rfc6750#section-2.1 (the header only: a token in the
   * query string ends up in logs).
   */
  async authenticate(authorization: string | undefined): Promise<ClientCaller> {
    if (authorization === undefined || authorization.trim() === '') throw new MissingBearerToken('No access token');
    const match = BEARER.exec(authorization);
    if (match === null) throw new OAuthError('invalid_token', 'the Authorization header must be: Bearer <access token>');
    const claims = await this.verify(match[1] as string);
    const client = await this.cachedClient(claims.client_id);
    if (client?.active !== true) throw new OAuthError('invalid_token', 'the client this token was issued to is disabled');
    return callerFromClaims(claims, client.name);
  }

  /** GET /auth/jwks: the public keys access tokens are signed with. */
  jwks(): { keys: unknown[] } {
    return this.keys.jwks();
  }

  smartConfiguration(): SmartConfiguration {
    return smartConfiguration(this.urls);
  }

  /** Checks and stores a new client (the registration command, the development client, tests). */
  async register(request: ClientRegistrationRequest): Promise<RegisteredClient> {
    const client = await this.options.records.clients.register(await checkRegistration(request), this.clock.now());
    this.clientCache.delete(client.clientId);
    this.options.logger.info({ clientId: client.clientId, role: client.role, organization: client.organization, scopes: client.scopes }, 'client registered');
    return client;
  }

  /** Disables (or enables again) a client; its tokens stop (or start) working on this instance
   *  at once, on others within clientCacheMs. False when there is no such client. */
  async setClientActive(clientId: string, active: boolean): Promise<boolean> {
    const found = await this.options.records.clients.setActive(clientId, active, this.clock.now());
    this.clientCache.delete(clientId);
    if (found) this.options.logger.info({ clientId, active }, active ? 'client enabled' : 'client disabled');
    return found;
  }

  /** Deletes a temporary client (the seed command's); others are disabled, not deleted. */
  async removeClient(clientId: string): Promise<boolean> {
    const removed = await this.options.records.clients.remove(clientId);
    this.clientCache.delete(clientId);
    return removed;
  }

  clients(): Promise<RegisteredClient[]> {
    return this.options.records.clients.list();
  }

  /** Adds a newer signing key (docs/security.md, key rotation); answers its kid. */
  rotateSigningKey(): Promise<string> {
    return this.keys.rotate();
  }

  /** Removes an older signing key (not the newest); false when there is none with that kid. */
  retireSigningKey(kid: string): Promise<boolean> {
    return this.keys.retire(kid);
  }

  signingKeys(): { kid: string; signing: boolean }[] {
    return this.keys.list();
  }

  /** Periodic upkeep: forget expired assertion ids (FerretDB has no TTL index) and pick up a
   *  signing key another instance added. */
  async maintain(): Promise<{ sweptAssertions: number }> {
    const sweptAssertions = await this.options.records.usedAssertions.sweep(this.clock.now());
    await this.keys.load();
    return { sweptAssertions };
  }

  /** Runs maintain() every `intervalMs` until the returned function is called. */
  startMaintenance(intervalMs = 60_000): () => void {
    const timer = setInterval(() => {
      this.maintain().catch((err: unknown) => this.options.logger.error({ err }, 'auth maintenance failed'));
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async verify(token: string): Promise<AccessTokenClaims> {
    const now = this.clock.now();
    if (this.verifiedGeneration !== this.keys.generation) {
      this.verified.clear();
      this.verifiedGeneration = this.keys.generation;
    }
    const known = this.verified.get(token);
    if (known !== undefined && known.exp * 1000 > now.getTime()) return known;
    this.verified.delete(token);
    const claims = await verifyAccessToken(token, { issuer: this.urls.issuer, audience: this.urls.fhirBaseUrl, keys: this.keys, now });
    if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value as string);
    // The key set may have changed while verifying (a reload for an unknown kid).
    if (this.verifiedGeneration === this.keys.generation) this.verified.set(token, claims);
    return claims;
  }

  private async cachedClient(clientId: string): Promise<RegisteredClient | undefined> {
    const now = this.clock.now().getTime();
    const cached = this.clientCache.get(clientId);
    if (cached !== undefined && now - cached.readAt < (this.options.clientCacheMs ?? 10_000)) return cached.client;
    const client = await this.options.records.clients.find(clientId);
    if (this.clientCache.size > 10_000) this.clientCache.clear();
    this.clientCache.set(clientId, { client, readAt: now });
    return client;
  }
}
