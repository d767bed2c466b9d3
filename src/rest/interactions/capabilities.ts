/**
 * The CapabilityStatement, generated from what is really wired: every resource type with the
 * interactions the route table serves, the search parameters the registry can answer, the
 * includes that work, and the registered operations.
 * See: https://hl7.org/fhir/R4/capabilitystatement.html and http.html#capabilities
 */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { AUDIT_TYPES } from '../../auth/access-scope';
import type { Interaction } from '../../auth/caller';
import type { FhirRequest, FhirResponse } from '../../core/exchange';
import type { FhirServices } from '../../core/services';
import { R4_RESOURCE_TYPES } from '../../fhir/definitions';
import { FHIR_JSON, JSON_PATCH } from '../../fhir/media-types';
import { FhirError } from '../../fhir/outcomes';

export const SOFTWARE_VERSION = '0.1.0';

let cached: { key: string; statement: CapabilityStatement } | undefined;

/** The interactions a CapabilityStatement lists, in the order it lists them, at each level. */
const SYSTEM_INTERACTIONS = ['transaction', 'batch', 'search-system', 'history-system'] as const;
const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;
const WRITES: ReadonlySet<string> = new Set(['update', 'patch', 'delete', 'create']);

/** `served`: the interactions the route table serves. */
export async function capabilities(services: FhirServices, request: FhirRequest, served: ReadonlySet<Interaction>): Promise<FhirResponse> {
  const mode = request.query.mode?.[0];
  if (mode !== undefined && mode !== 'full') {
    throw new FhirError('NOT_IMPLEMENTED', `mode=${mode} is not supported; the full CapabilityStatement is served`, { expression: ['mode'] });
  }
  return { status: 200, body: capabilityStatement(services, served), headers: {} };
}

/** Built once per set of services and routes (it only changes when the wiring does). */
export function capabilityStatement(services: FhirServices, served: ReadonlySet<Interaction>): CapabilityStatement {
  const key = [
    services.settings.baseUrl,
    services.settings.oauthUris.token,
    services.registry.fingerprint(),
    [...services.operations.keys()].join(','),
    [...services.profiles.profiles.keys()].join(','),
    [...served].join(','),
  ].join('|');
  if (cached?.key !== key) {
    cached = { key, statement: build(services, served) };
  }
  return cached.statement;
}

/** Parameters every resource type has, listed once at the system level. */
const COMMON_PARAMETERS = ['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source'];

function build(services: FhirServices, served: ReadonlySet<Interaction>): CapabilityStatement {
  const { settings, registry } = services;
  const operations = [...services.operations.values()];
  const revIncludes = reverseIncludes(registry);
  return {
    resourceType: 'CapabilityStatement',
    // name (cpt-0) and title identify the statement to validators and people.
    name: 'CaseBridge',
    title: 'CaseBridge FHIR R4 server',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    publisher: 'CaseBridge',
    software: { name: 'CaseBridge', version: SOFTWARE_VERSION },
    implementation: { description: 'CaseBridge FHIR R4 server for mental-health and social-work case management', url: settings.baseUrl },
    fhirVersion: '4.0.1',
    format: [FHIR_JSON, 'json'],
    patchFormat: [JSON_PATCH, FHIR_JSON],
    rest: [
      {
        mode: 'server',
        documentation:
          `Search pages hold ${settings.defaultPageSize} entries unless _count asks for another size, up to ${settings.maxPageSize}. ` +
          'Bundle.total is given when one page holds every match, or when _total=accurate (or estimate) asks for it. ' +
          'Paging links are keyset continuations (_cursor): resources written between two pages never shift later pages. ' +
          'Conditional delete removes several matches only with _multiple=true. ' +
          'Binary is read and written in its native form (Content-Type = Binary.contentType, X-Security-Context) unless FHIR JSON is asked for.',
        security: smartSecurity(settings.baseUrl, settings.oauthUris),
        interaction: SYSTEM_INTERACTIONS.filter((code) => served.has(code)).map((code) => ({ code })),
        compartment: ['http://hl7.org/fhir/CompartmentDefinition/patient'],
        searchParam: COMMON_PARAMETERS.flatMap((code) => {
          const p = registry.get('Patient', code);
          return p ? [{ name: p.code, type: p.type, definition: p.url }] : [];
        }),
        ...listed('operation', operations.filter((o) => o.levels.includes('system')).map((o) => ({ name: o.name, definition: o.definition }))),
        resource: R4_RESOURCE_TYPES.map((type): CapabilityStatementRestResource => ({
          type: type as CapabilityStatementRestResource['type'],
          profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
          // Our profiles of the type: a write that claims one is checked against it (422 when it fails).
          ...listed('supportedProfile', services.profiles.supportedProfiles(type)),
          // AuditEvents are CaseBridge's own record: clients read and search them, never write them.
          interaction: TYPE_INTERACTIONS.filter((code) => served.has(code) && !(AUDIT_TYPES.has(type) && WRITES.has(code))).map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: true,
          ...(AUDIT_TYPES.has(type) ? {} : { updateCreate: true, conditionalCreate: true }),
          conditionalRead: 'full-support',
          ...(AUDIT_TYPES.has(type) ? {} : { conditionalUpdate: true, conditionalDelete: 'multiple' as const }),
          referencePolicy: ['literal', 'logical', 'local'],
          searchInclude: ['*', ...registry.list(type).filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`)],
          ...listed('searchRevInclude', revIncludes.get(type) ?? []),
          searchParam: registry.list(type).map((p) => ({
            name: p.code,
            type: p.type,
            definition: p.url,
            ...(p.description ? { documentation: p.description } : {}),
          })),
          ...listed(
            'operation',
            operations
              .filter((o) => (o.levels.includes('type') || o.levels.includes('instance')) && (!o.resourceTypes || o.resourceTypes.includes(type)))
              .map((o) => ({ name: o.name, definition: o.definition })),
          ),
        })),
      },
    ],
  };
}

/**
 * SMART on FHIR: every interaction but this CapabilityStatement needs a Bearer access token from
 * the token endpoint (SMART Backend Services). The endpoints are published where SMART 2 clients
 * look, {base}/.well-known/smart-configuration, and named here in words. The R4 oauth-uris
 * extension is left out on purpose: its definition requires an `authorize` endpoint (there is
 * none: no user-facing launch) and knows no `introspect`, so the HL7 validator rejects it
 * (npm run interop:validate).
 * See: https://hl7.org/fhir/smart-app-launch/conformance.html
 */
function smartSecurity(baseUrl: string, uris: { token: string; introspect: string }): NonNullable<CapabilityStatement['rest']>[number]['security'] {
  return {
    cors: true,
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)' }],
    description:
      'SMART Backend Services: a registered client signs a JWT assertion (RS384 or ES384) and exchanges it at the token endpoint ' +
      `(${uris.token}, client_credentials) for a short-lived access token, sent as Authorization: Bearer. ` +
      `Scopes are SMART v1 (system/Patient.read) or v2 (system/Patient.rs). Discovery: ${baseUrl}/.well-known/smart-configuration; ` +
      `introspection: ${uris.introspect}. CORS is answered for browser clients.`,
  };
}

/** FHIR JSON has no empty arrays: an empty list is left out. */
function listed<K extends string, T>(key: K, items: readonly T[]): Partial<Record<K, T[]>> {
  return items.length > 0 ? ({ [key]: [...items] } as Partial<Record<K, T[]>>) : {};
}

/** For each target type, the `Source:param` references that can point at it. */
function reverseIncludes(registry: FhirServices['registry']): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const source of registry.resourceTypes()) {
    for (const p of registry.list(source)) {
      if (p.type !== 'reference') continue;
      for (const target of p.targets) {
        let list = result.get(target);
        if (!list) result.set(target, (list = []));
        list.push(`${source}:${p.code}`);
      }
    }
  }
  return result;
}
