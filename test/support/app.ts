// Builds the real application on a per-file FerretDB database: the same wiring as main.ts
// (buildFhirServices + buildAuthService + createApp), with hooks tests need (clock, write
// observer), and real tokens: the harness registers an administrator client with its own key
// pair in the test's database and gets its access tokens from the real token endpoint with a
// signed assertion. `t.app` sends that token with every request that carries no Authorization
// header; `t.bareApp` sends only what the test sets.
import express, { type Express } from 'express';
import type { JWK } from 'jose';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import type { ClientRole } from '../../src/auth/caller';
import { type AssertionAlgorithm, type AssertionOptions, type ClientCredentials, generateClientKey, signClientAssertion, tokenRequestForm } from '../../src/auth/client-credentials';
import type { AuthService } from '../../src/auth/service';
import type { TokenResponse } from '../../src/auth/token-endpoint';
import { type Config, loadConfig } from '../../src/config/config';
import type { FhirServices } from '../../src/core/services';
import { buildAuthService, buildBulkDataStore, buildFhirServices, buildPartnerDirectory, buildRateLimits, buildWorkflows } from '../../src/composition';
import type { Fetch } from '../../src/workflows/outbound';
import type { Workflows } from '../../src/workflows/runtime';
import type { RegisteredClient } from '../../src/store/records';
import type { WriteObserver } from '../../src/store/mongo/mongo-repository';
import { type TestDatabase, testDatabase } from './database';

export const BASE_URL = 'http://casebridge.test/fhir';
/** The token endpoint of an app built on BASE_URL (PUBLIC_URL is BASE_URL without /fhir). */
export const TOKEN_URL = 'http://casebridge.test/auth/token';

export interface TestApp {
  /** The application, as the harness's administrator client sees it: a request without an
   *  Authorization header gets the harness's access token (refreshed before it expires). */
  readonly app: Express;
  /** The application itself: requests carry only the headers the test sets. */
  readonly bareApp: Express;
  readonly services: FhirServices;
  readonly auth: AuthService;
  readonly database: TestDatabase;
  /** The harness's client: administrator, system/*.cruds. */
  readonly admin: TestClient;
  readonly config: Config;
  /** The workflows on this app's services, not started: the test runs their rounds (runOnce, settle). */
  workflows(options?: { now?: () => Date; fetch?: Fetch; instanceId?: string }): Promise<Workflows>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  readonly beforeWrite?: WriteObserver;
  readonly afterWrite?: WriteObserver;
  /** The FHIR services' clock (resource timestamps). Token validity does not follow it. */
  readonly now?: () => Date;
  /** The authorization server's clock (token validity); real time when absent. */
  readonly authNow?: () => Date;
  readonly env?: Record<string, string>;
  /** Another database server than the run-wide one, and how long the driver waits for it. */
  readonly database?: { readonly uri?: string; readonly serverSelectionTimeoutMS?: number; readonly monitorCommands?: boolean };
  /** As main.ts passes the embedded database's state (app.ts databaseAvailable). */
  readonly databaseAvailable?: () => boolean;
  /** Another app's database: this app is that instance started again (its close() leaves the database to the first). */
  readonly restartOf?: TestDatabase;
}

export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.restartOf ?? (await testDatabase(options.database ?? {}));
  const config = loadConfig({ BASE_URL: BASE_URL, LOG_LEVEL: 'silent', ...options.env });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const services = await buildFhirServices({
    config,
    connection: database.connection,
    logger,
    ...(options.now ? { now: options.now } : {}),
    ...(options.beforeWrite ? { beforeWrite: options.beforeWrite } : {}),
    ...(options.afterWrite ? { afterWrite: options.afterWrite } : {}),
  });
  const auth = await buildAuthService({ config, connection: database.connection, logger, ...(options.authNow ? { clock: { now: options.authNow } } : {}) });
  const rateLimits = await buildRateLimits({ config, connection: database.connection });
  const bulkData = await buildBulkDataStore({ services, connection: database.connection });
  const bareApp = createApp({
    services,
    auth,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    corsOrigins: config.corsOrigins,
    rateLimits,
    bulkData,
    partners: await buildPartnerDirectory({ connection: database.connection }),
    ...(options.databaseAvailable ? { databaseAvailable: options.databaseAvailable } : {}),
  });
  const partial = { bareApp, auth };
  const admin = await registerTestClient(partial, { name: 'Test harness administrator', role: 'administrator', scopes: ['system/*.cruds'] });
  // The first token now, so that a test's first request writes nothing of the harness's own.
  const app = await withToken(bareApp, admin, () => (options.authNow ?? (() => new Date()))());
  return {
    app,
    bareApp,
    services,
    auth,
    database,
    admin,
    config,
    workflows: (workflowOptions = {}) => buildWorkflows({ services, config, connection: database.connection, logger, ...workflowOptions }),
    close: async () => {
      await rateLimits.close();
      if (!options.restartOf) await database.drop();
    },
  };
}

export const FHIR_JSON = 'application/fhir+json';

/**
 * Requests to `app` as the holder of `token`: FHIR JSON bodies (or `type`), and case API commands
 * (`/cm/v1…`, JSON, with an Idempotency-Key when given).
 */
export function bearerRequests(app: Express, token: string | undefined) {
  const bearer = (req: request.Test) => req.set('Authorization', `Bearer ${token}`);
  const body = (req: request.Test, value: unknown, type: string) => req.set('Content-Type', type).send(JSON.stringify(value));
  return {
    get: (path: string) => bearer(request(app).get(path)),
    delete: (path: string) => bearer(request(app).delete(path)),
    post: (path: string, value: unknown, type = FHIR_JSON) => body(bearer(request(app).post(path)), value, type),
    put: (path: string, value: unknown) => body(bearer(request(app).put(path)), value, FHIR_JSON),
    command: (path: string, value: unknown, key?: string) => {
      const req = bearer(request(app).post(`/cm/v1${path}`));
      if (key) req.set('Idempotency-Key', key);
      return body(req, value, 'application/json');
    },
  };
}

export interface TestClientOptions {
  readonly name?: string;
  readonly clientId?: string;
  readonly organization?: string;
  readonly role: ClientRole;
  readonly scopes: readonly string[];
  readonly purposes?: readonly string[];
  /** The key the client signs its assertions with (ES384 unless said). */
  readonly alg?: AssertionAlgorithm;
  /** Register this jwks_uri instead of the public key itself (the test serves the key there). */
  readonly jwksUri?: string;
}

export interface TestClient {
  readonly clientId: string;
  readonly registration: RegisteredClient;
  readonly credentials: ClientCredentials;
  /** The public keys the client registered (or serves at its jwks_uri). */
  readonly publicJwks: { keys: JWK[] };
  /** A signed client assertion for the test app's token endpoint. */
  assertion(options?: AssertionOptions): Promise<string>;
  /** An access token from the real token endpoint; `scope` defaults to the registered scopes,
   *  `assertionTime` (when the assertion says it was made) to now. */
  token(options?: { scope?: string; purposes?: readonly string[]; assertionTime?: Date }): Promise<string>;
}

/**
 * Registers a client in the test's database, as `npm run client:register` does, with a new key
 * pair; its token() asks the real token endpoint with a signed assertion.
 */
export async function registerTestClient(t: Pick<TestApp, 'bareApp' | 'auth'>, options: TestClientOptions): Promise<TestClient> {
  const { privateJwk, publicJwks } = await generateClientKey(options.alg ?? 'ES384');
  const registration = await t.auth.register({
    name: options.name ?? `Test ${options.role} client`,
    role: options.role,
    scopes: options.scopes,
    ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
    ...(options.organization !== undefined ? { organization: options.organization } : {}),
    ...(options.purposes !== undefined ? { purposes: options.purposes } : {}),
    ...(options.jwksUri !== undefined ? { jwksUri: options.jwksUri } : { jwks: publicJwks }),
  });
  const credentials: ClientCredentials = { client_id: registration.clientId, private_key: privateJwk };
  const tokenUrl = t.auth.urls.tokenUrl;
  return {
    clientId: registration.clientId,
    registration,
    credentials,
    publicJwks,
    assertion: (assertionOptions) => signClientAssertion(credentials, tokenUrl, assertionOptions),
    async token(tokenOptions = {}) {
      const assertion = await signClientAssertion(credentials, tokenUrl, tokenOptions.assertionTime ? { now: tokenOptions.assertionTime } : {});
      const res = await tokenRequest(t, tokenRequestForm(assertion, tokenOptions.scope ?? registration.scopes.join(' '), tokenOptions.purposes));
      if (res.status !== 200) throw new Error(`token request refused: ${res.status} ${JSON.stringify(res.body)}`);
      return (res.body as TokenResponse).access_token;
    },
  };
}

/** POST /auth/token with a form body, as a client sends it. */
export function tokenRequest(t: Pick<TestApp, 'bareApp'>, form: URLSearchParams | Record<string, string>): request.Test {
  const body = form instanceof URLSearchParams ? form : new URLSearchParams(form);
  return request(t.bareApp).post('/auth/token').type('form').send(body.toString());
}

/** `app` with `client`'s access token on every request that has no Authorization header,
 *  refreshed a minute before it expires (by the authorization server's clock). */
async function withToken(app: Express, client: TestClient, now: () => Date): Promise<Express> {
  let current: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const token = async (): Promise<string> => {
    if (current !== undefined && current.expiresAt - now().getTime() > 60_000) return current.token;
    pending ??= client.token().then((fresh) => {
      const { exp } = JSON.parse(Buffer.from(fresh.split('.')[1] as string, 'base64url').toString('utf8')) as { exp: number };
      current = { token: fresh, expiresAt: exp * 1000 };
      pending = undefined;
      return fresh;
    }, (error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
  await token();
  const outer = express();
  outer.disable('x-powered-by');
  outer.set('etag', false);
  outer.use(async (req, _res, next) => {
    if (req.headers.authorization === undefined) req.headers.authorization = `Bearer ${await token()}`;
    next();
  });
  outer.use(app);
  return outer;
}
