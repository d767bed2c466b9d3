/**
 * Environment → validated, frozen Config. Units are in the names. A bad value stops start-up
 * with one sentence naming the variable.
 */
import path from 'node:path';

export interface Config {
  readonly port: number;
  /** Absent: start the embedded FerretDB. */
  readonly mongodbUri: string | undefined;
  readonly databaseName: string;
  /** Public base of the FHIR API, e.g. https://fhir.example.org/fhir (no trailing slash). */
  readonly baseUrl: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Folder of the embedded database. */
  readonly dataDir: string;
  readonly ferretdbBinary: string;
  /** SQLite's synchronous setting for the embedded database: 'full' makes acknowledged writes durable. */
  readonly embeddedSynchronous: (typeof SYNCHRONOUS)[number];
  readonly bodyLimitBytes: number;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  readonly maxBundleEntries: number;
  /** Origins browsers may call from: `*` or a list of origins. */
  readonly corsOrigins: '*' | readonly string[];
  /** How long what a caller may see is reused before it is computed again (auth/access-policy.ts). */
  readonly accessCacheSeconds: number;
  /** Organisations that are 42 CFR Part 2 programmes (`Organization/<id>`): their records are labelled Part 2. */
  readonly part2Programs: readonly string[];
  /** Requests a client may make per minute to the FHIR and case APIs (429 beyond), shared by instances. */
  readonly rateLimitPerMinute: number;
  /** Token and introspection requests one address may make per minute. */
  readonly tokenRateLimitPerMinute: number;
  /** Express's `trust proxy` (which X-Forwarded-For hops give the client's address): false unless configured. */
  readonly trustProxy: false | string;
  /** Public origin (and path prefix, if any) the service is reached at, without trailing slash:
   *  the OAuth endpoints are under it (`<publicUrl>/auth/token`) and it is the tokens' issuer. */
  readonly publicUrl: string;
  /** Lifetime of the access tokens the token endpoint issues. */
  readonly accessTokenSeconds: number;
  /** How long to wait for a client's registered jwks_uri before refusing its assertion. */
  readonly jwksFetchTimeoutMs: number;
  /** Socket limits of the HTTP server (http/server.ts). */
  readonly http: HttpServerLimits;
  /** Run the workflows' background work (deliveries, referral exchange, exports) in this process. */
  readonly workflowsEnabled: boolean;
  /** How often the workflows look for due work (writes in this process wake them at once). */
  readonly workflowIntervalMs: number;
  /** Origins (besides registered partners') Subscription rest-hook endpoints may be at. */
  readonly subscriptionEndpointOrigins: readonly string[];
  /** How long an outbound request (notification, partner call) may take. */
  readonly outboundTimeoutMs: number;
  /** How often a referral sent to a partner is polled for its status (SDOHCC: 15 minutes at most often, daily at least). */
  readonly referralPollSeconds: number;
  /** How long the files of a finished export are kept. */
  readonly bulkExportTtlSeconds: number;
  /** Fulfil a payer's documentation request without a case manager when policy allows (docs/workflows.md). */
  readonly cdexAutomatic: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const SYNCHRONOUS = ['full', 'normal'] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const port = integer(env, 'PORT', 8080, { min: 0, max: 65535 });
  const baseUrl = (env.BASE_URL ?? `http://localhost:${port}/fhir`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(baseUrl)) {
    throw new ConfigError(`BASE_URL must be an absolute http(s) URL, got "${baseUrl}".`);
  }
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}".`);
  }
  const publicUrl = (nonEmpty(env.PUBLIC_URL) ?? defaultPublicUrl(baseUrl)).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(publicUrl)) {
    throw new ConfigError(`PUBLIC_URL must be an absolute http(s) URL without query or fragment, got "${publicUrl}".`);
  }
  const defaultPageSize = integer(env, 'DEFAULT_PAGE_SIZE', 20, { min: 1, max: 10_000 });
  const maxPageSize = integer(env, 'MAX_PAGE_SIZE', 1000, { min: 1, max: 10_000 });
  if (defaultPageSize > maxPageSize) {
    throw new ConfigError('DEFAULT_PAGE_SIZE must not exceed MAX_PAGE_SIZE.');
  }
  return Object.freeze({
    port,
    mongodbUri: nonEmpty(env.MONGODB_URI),
    databaseName: env.MONGODB_DATABASE ?? 'casebridge',
    baseUrl,
    logLevel,
    dataDir: path.resolve(cwd, env.DATA_DIR ?? 'data'),
    ferretdbBinary: path.resolve(cwd, env.FERRETDB_BINARY ?? '.cache/bin/ferretdb'),
    embeddedSynchronous: oneOf(env, 'EMBEDDED_DB_SYNCHRONOUS', SYNCHRONOUS, 'full'),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 5 * 1024 * 1024, { min: 1024, max: 512 * 1024 * 1024 }),
    defaultPageSize,
    maxPageSize,
    maxBundleEntries: integer(env, 'MAX_BUNDLE_ENTRIES', 1000, { min: 1, max: 100_000 }),
    corsOrigins: origins(env.CORS_ORIGINS),
    accessCacheSeconds: integer(env, 'ACCESS_CACHE_SECONDS', 5, { min: 0, max: 300 }),
    part2Programs: references(env, 'PART2_PROGRAMS', 'Organization'),
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 6000, { min: 1, max: 10_000_000 }),
    tokenRateLimitPerMinute: integer(env, 'TOKEN_RATE_LIMIT_PER_MINUTE', 120, { min: 1, max: 1_000_000 }),
    trustProxy: nonEmpty(env.TRUST_PROXY) ?? false,
    publicUrl,
    accessTokenSeconds: integer(env, 'ACCESS_TOKEN_SECONDS', 300, { min: 30, max: 3600 }),
    jwksFetchTimeoutMs: integer(env, 'JWKS_FETCH_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
    http: Object.freeze(httpLimits(env)),
    workflowsEnabled: flag(env, 'WORKFLOWS_ENABLED', true),
    workflowIntervalMs: integer(env, 'WORKFLOW_INTERVAL_MS', 2000, { min: 50, max: 600_000 }),
    subscriptionEndpointOrigins: endpointOrigins(env.SUBSCRIPTION_ENDPOINT_ORIGINS),
    outboundTimeoutMs: integer(env, 'OUTBOUND_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    referralPollSeconds: integer(env, 'REFERRAL_POLL_SECONDS', 900, { min: 1, max: 86_400 }),
    bulkExportTtlSeconds: integer(env, 'BULK_EXPORT_TTL_SECONDS', 86_400, { min: 60, max: 30 * 86_400 }),
    cdexAutomatic: flag(env, 'CDEX_AUTOMATIC', true),
  });
}

/** How long idle and slow connections may hold a socket, and how many may be open at once. */
export interface HttpServerLimits {
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** A client must have sent all its headers within this. */
  readonly headersTimeoutMs: number;
  /** A client must have sent its whole request (headers and body) within this. */
  readonly requestTimeoutMs: number;
  /** Connections beyond this are refused at once (the socket is closed). */
  readonly maxConnections: number;
}

function httpLimits(env: Env): HttpServerLimits {
  const keepAliveTimeoutMs = integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, { min: 100, max: 600_000 });
  const headersTimeoutMs = integer(env, 'HTTP_HEADERS_TIMEOUT_MS', 20_000, { min: 100, max: 600_000 });
  const requestTimeoutMs = integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 120_000, { min: 100, max: 3_600_000 });
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS.');
  }
  return { keepAliveTimeoutMs, headersTimeoutMs, requestTimeoutMs, maxConnections: integer(env, 'HTTP_MAX_CONNECTIONS', 1_000, { min: 1, max: 1_000_000 }) };
}

/** BASE_URL without its `/fhir` (the service serves the FHIR API there), else BASE_URL's origin.
 *  Never the Host or X-Forwarded-* headers of a request: URLs come from configuration only. */
function defaultPublicUrl(baseUrl: string): string {
  return baseUrl.endsWith('/fhir') ? baseUrl.slice(0, -'/fhir'.length) : new URL(baseUrl).origin;
}

function origins(raw: string | undefined): Config['corsOrigins'] {
  const value = nonEmpty(raw);
  if (value === undefined || value === '*') {
    return '*';
  }
  const list = value.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '');
  const bad = list.find((origin) => !/^https?:\/\/[^/\s]+$/.test(origin));
  if (bad !== undefined) {
    throw new ConfigError(`CORS_ORIGINS must be * or a comma-separated list of origins such as https://app.example.org, got "${bad}".`);
  }
  return Object.freeze(list);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) {
    return fallback;
  }
  if (!allowed.includes(raw as T)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}".`);
  }
  return raw as T;
}

/** A comma-separated list of `Type/id` references of one type. */
function references(env: Env, name: string, type: string): readonly string[] {
  const list = (nonEmpty(env[name]) ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
  const bad = list.find((r) => !new RegExp(`^${type}/[A-Za-z0-9\-.]{1,64}$`).test(r));
  if (bad !== undefined) {
    throw new ConfigError(`${name} must be a comma-separated list of ${type}/<id> references, got "${bad}".`);
  }
  return Object.freeze(list);
}

/** A comma-separated list of http(s) origins (no path). */
function endpointOrigins(raw: string | undefined): readonly string[] {
  const list = (nonEmpty(raw) ?? '').split(',').map((origin) => origin.trim().replace(/\/+$/, '')).filter((origin) => origin !== '');
  const bad = list.find((origin) => !/^https?:\/\/[^/\s?#@]+$/.test(origin));
  if (bad !== undefined) {
    throw new ConfigError(`SUBSCRIPTION_ENDPOINT_ORIGINS must be a comma-separated list of origins such as https://ehr.example.org, got "${bad}".`);
  }
  return Object.freeze(list);
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(`${name} must be true or false, got "${raw}".`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function integer(env: Env, name: string, fallback: number, range: { min: number; max: number }): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) {
    return fallback;
  }
  if (!/^\d+$/.test(raw) || Number(raw) < range.min || Number(raw) > range.max) {
    throw new ConfigError(`${name} must be an integer from ${range.min} to ${range.max}, got "${raw}".`);
  }
  return Number(raw);
}
