/** Environment → Config: defaults, and one sentence naming the variable for a bad value. */
import { ConfigError, loadConfig } from '../../../src/config/config';

describe('loadConfig', () => {
  test('defaults', () => {
    const config = loadConfig({}, '/srv/casebridge');
    expect(config).toMatchObject({
      port: 8080,
      baseUrl: 'http://localhost:8080/fhir',
      dataDir: '/srv/casebridge/data',
      defaultPageSize: 20,
      maxPageSize: 1000,
      corsOrigins: '*',
      embeddedSynchronous: 'full',
      publicUrl: 'http://localhost:8080',
      accessTokenSeconds: 300,
      jwksFetchTimeoutMs: 5000,
    });
    expect(config.mongodbUri).toBeUndefined();
  });

  test('EMBEDDED_DB_SYNCHRONOUS=normal relaxes durability for development', () => {
    expect(loadConfig({ EMBEDDED_DB_SYNCHRONOUS: 'normal' }).embeddedSynchronous).toBe('normal');
  });

  test.each([
    ['BASE_URL ending in /fhir: BASE_URL without it', { BASE_URL: 'https://cb.example.org/casebridge/fhir/' }, 'https://cb.example.org/casebridge'],
    ['any other BASE_URL: its origin', { BASE_URL: 'https://cb.example.org/r4' }, 'https://cb.example.org'],
    ['PUBLIC_URL when set', { BASE_URL: 'https://cb.example.org/fhir', PUBLIC_URL: 'https://auth.example.org/cb/' }, 'https://auth.example.org/cb'],
  ])('the public URL (OAuth endpoints, token issuer): %s', (_title, env, publicUrl) => {
    expect(loadConfig(env).publicUrl).toBe(publicUrl);
  });

  test('CORS_ORIGINS takes a comma-separated list of origins', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.org, http://localhost:3000' }).corsOrigins).toEqual(['https://a.example.org', 'http://localhost:3000']);
  });

  test('PART2_PROGRAMS lists the organisations whose records are 42 CFR Part 2 data; ACCESS_CACHE_SECONDS how long access is reused', () => {
    const config = loadConfig({ PART2_PROGRAMS: 'Organization/clearwater, Organization/harbor-sud', ACCESS_CACHE_SECONDS: '0' });
    expect(config.part2Programs).toEqual(['Organization/clearwater', 'Organization/harbor-sud']);
    expect(config.accessCacheSeconds).toBe(0);
    expect(loadConfig({}).part2Programs).toEqual([]);
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['a port out of range', { PORT: '70000' }, /^PORT must be an integer/],
    ['a relative BASE_URL', { BASE_URL: '/fhir' }, /^BASE_URL must be an absolute/],
    ['an unknown LOG_LEVEL', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    ['a default page above the maximum', { DEFAULT_PAGE_SIZE: '50', MAX_PAGE_SIZE: '10' }, /^DEFAULT_PAGE_SIZE must not exceed/],
    ['an origin with a path', { CORS_ORIGINS: 'https://a.example.org/app' }, /^CORS_ORIGINS must be \*/],
    ['an unknown EMBEDDED_DB_SYNCHRONOUS', { EMBEDDED_DB_SYNCHRONOUS: 'off' }, /^EMBEDDED_DB_SYNCHRONOUS must be one of full, normal/],
    ['a Part 2 programme that is not an Organization', { PART2_PROGRAMS: 'Practitioner/x' }, /^PART2_PROGRAMS must be a comma-separated list of Organization/],
    ['an access cache of an hour', { ACCESS_CACHE_SECONDS: '3600' }, /^ACCESS_CACHE_SECONDS must be an integer/],
    ['a relative PUBLIC_URL', { PUBLIC_URL: 'auth.example.org' }, /^PUBLIC_URL must be an absolute/],
    ['a PUBLIC_URL with a query', { PUBLIC_URL: 'https://a.example.org/?x=1' }, /^PUBLIC_URL must be an absolute/],
    ['an access token lifetime under 30 s', { ACCESS_TOKEN_SECONDS: '5' }, /^ACCESS_TOKEN_SECONDS must be an integer from 30 to 3600/],
    ['an access token lifetime over an hour', { ACCESS_TOKEN_SECONDS: '86400' }, /^ACCESS_TOKEN_SECONDS must be an integer/],
  ])('%s stops start-up', (_title, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
