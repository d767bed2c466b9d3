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
    });
    expect(config.mongodbUri).toBeUndefined();
  });

  test('EMBEDDED_DB_SYNCHRONOUS=normal relaxes durability for development', () => {
    expect(loadConfig({ EMBEDDED_DB_SYNCHRONOUS: 'normal' }).embeddedSynchronous).toBe('normal');
  });

  test('CORS_ORIGINS takes a comma-separated list of origins', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.org, http://localhost:3000' }).corsOrigins).toEqual(['https://a.example.org', 'http://localhost:3000']);
  });

  test.each<[string, Record<string, string>, RegExp]>([
    ['a port out of range', { PORT: '70000' }, /^PORT must be an integer/],
    ['a relative BASE_URL', { BASE_URL: '/fhir' }, /^BASE_URL must be an absolute/],
    ['an unknown LOG_LEVEL', { LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    ['a default page above the maximum', { DEFAULT_PAGE_SIZE: '50', MAX_PAGE_SIZE: '10' }, /^DEFAULT_PAGE_SIZE must not exceed/],
    ['an origin with a path', { CORS_ORIGINS: 'https://a.example.org/app' }, /^CORS_ORIGINS must be \*/],
    ['an unknown EMBEDDED_DB_SYNCHRONOUS', { EMBEDDED_DB_SYNCHRONOUS: 'off' }, /^EMBEDDED_DB_SYNCHRONOUS must be one of full, normal/],
  ])('%s stops start-up', (_title, env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
