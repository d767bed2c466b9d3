// The OpenAPI 3.1 document of /cm/v1: its structure (the OpenAPI object, paths, operations,
// parameters, responses, references), and that every schema in it compiles with ajv in strict
// mode — the same schemas that validate the commands.
import { COMMAND_ENDPOINTS, pathParameters } from '../../../src/casemgmt/api';
import { openApiDocument } from '../../../src/casemgmt/openapi';
import { caseApiAjv, describeErrors, validatePayload } from '../../../src/casemgmt/payload';

type Json = Record<string, unknown>;
const doc = openApiDocument() as Json & { paths: Record<string, Record<string, Json>>; components: Record<string, Record<string, Json>> };
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The parts of the OpenAPI 3.1 schema (https://spec.openapis.org/oas/3.1/schema) this document uses. */
const OPENAPI_STRUCTURE = {
  type: 'object',
  required: ['openapi', 'info', 'paths'],
  properties: {
    openapi: { type: 'string', pattern: '^3\\.1\\.\\d+(-.+)?$' },
    jsonSchemaDialect: { type: 'string' },
    info: { type: 'object', required: ['title', 'version'], properties: { title: { type: 'string' }, version: { type: 'string' }, description: { type: 'string' } } },
    servers: { type: 'array', items: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } } },
    paths: {
      type: 'object',
      propertyNames: { pattern: '^/' },
      additionalProperties: {
        type: 'object',
        propertyNames: { enum: [...METHODS, 'parameters', 'summary', 'description'] },
        additionalProperties: {
          type: 'object',
          required: ['responses'],
          properties: {
            operationId: { type: 'string' },
            summary: { type: 'string' },
            description: { type: 'string' },
            parameters: {
              type: 'array',
              items: {
                type: 'object',
                anyOf: [
                  { type: 'object', properties: { $ref: { type: 'string' } }, required: ['$ref'] },
                  { type: 'object', properties: { name: { type: 'string' }, in: { enum: ['query', 'header', 'path', 'cookie'] } }, required: ['name', 'in'] },
                ],
              },
            },
            requestBody: { type: 'object', required: ['content'], properties: { content: { type: 'object', minProperties: 1 } } },
            responses: {
              type: 'object',
              minProperties: 1,
              propertyNames: { pattern: '^([1-5]\\d\\d|[1-5]XX|default)$' },
              additionalProperties: { type: 'object', required: ['description'], properties: { description: { type: 'string' }, content: { type: 'object' }, headers: { type: 'object' } } },
            },
          },
        },
      },
    },
    components: {
      type: 'object',
      properties: {
        schemas: { type: 'object', propertyNames: { pattern: '^[a-zA-Z0-9._-]+$' } },
        parameters: { type: 'object', additionalProperties: { type: 'object', properties: { name: { type: 'string' }, in: { type: 'string' } }, required: ['name', 'in'] } },
        headers: { type: 'object' },
      },
    },
  },
};

describe('the OpenAPI document', () => {
  test('has the structure of an OpenAPI 3.1 document', () => {
    const validate = caseApiAjv().compile(OPENAPI_STRUCTURE);
    const valid = validate(doc);
    expect(valid ? [] : describeErrors(validate.errors ?? [])).toEqual([]);
    expect(doc.openapi).toBe('3.1.0');
  });

  test('every $ref resolves inside the document', () => {
    const refs: string[] = [];
    const walk = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else walk(v);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith('#/')).toBe(true);
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);
      expect({ ref, resolved: target !== undefined }).toEqual({ ref, resolved: true });
    }
  });

  test('operation ids are unique; each path parameter is declared, required, in the path', () => {
    const ids: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(METHODS).toContain(method);
        ids.push(operation.operationId as string);
        const declared = ((operation.parameters as Json[] | undefined) ?? []).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name).sort()).toEqual(pathParameters(path).sort());
        expect(declared.every((p) => p.required === true)).toBe(true);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('every command is described with its own schema, the Idempotency-Key header and OperationOutcome errors', () => {
    for (const endpoint of COMMAND_ENDPOINTS) {
      const operation = doc.paths[endpoint.path]?.[endpoint.method.toLowerCase()] as Json;
      expect(operation).toBeDefined();
      const ref = ((operation.requestBody as Json).content as Record<string, { schema: { $ref: string } }>)['application/json']?.schema.$ref as string;
      expect(doc.components.schemas?.[ref.split('/').pop() as string]).toBe(endpoint.command.schema);
      expect(operation.parameters).toContainEqual({ $ref: '#/components/parameters/IdempotencyKey' });
      const responses = operation.responses as Record<string, { content?: Record<string, { schema: { $ref: string } }> }>;
      for (const status of ['400', '404', '409', '422']) {
        expect(responses[status]?.content?.['application/fhir+json']?.schema.$ref).toBe('#/components/schemas/OperationOutcome');
      }
      expect(Object.keys(responses)).toEqual(expect.arrayContaining(['200', '201']));
    }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/cases', '/cases/{caseId}', '/openapi.json']));
  });

  test.each(Object.keys(openApiDocument().components as Json).length ? Object.entries((openApiDocument() as { components: { schemas: Record<string, object> } }).components.schemas) : [])(
    'schema %s compiles with ajv in strict mode',
    (_name, schema) => {
      expect(() => caseApiAjv().compile(schema)).not.toThrow();
    },
  );
});

describe('payload errors', () => {
  test('are located with the field’s path in the command', () => {
    const schema = COMMAND_ENDPOINTS.find((e) => e.operationId === 'createServicePlan')?.command.schema as Record<string, unknown>;
    let caught: { status: number; outcome: { issue: { expression?: string[]; diagnostics?: string }[] } } | undefined;
    try {
      validatePayload(schema, { goals: [{ key: 'a', description: 'x' }], objectives: [{ goal: 'a', description: 'y', measure: { text: 'm' }, target: {}, due: '2025-13-01' }] }, 'create-service-plan');
    } catch (err) {
      caught = err as typeof caught;
    }
    expect(caught?.status).toBe(400);
    expect(caught?.outcome.issue.map((i) => i.expression?.[0]).sort()).toEqual(['objectives[0].due', 'objectives[0].target']);
    expect(caught?.outcome.issue.find((i) => i.expression?.[0] === 'objectives[0].target')?.diagnostics).toMatch(/at least one of: value; text/);
  });
});
