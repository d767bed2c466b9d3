#!/usr/bin/env node
/**
 * Differential validation harness: CaseBridge's validator against the HL7 reference validator
 * (tools/hl7-validator-check, DifferentialValidate). Driven by scripts/validation-differential.sh:
 *   harness.cjs seeds <seeds.jsonl>                          candidate seeds
 *   harness.cjs cases <seeds.jsonl> <seeds.ref.jsonl> <cases.jsonl>   mutations of the seeds the reference accepts
 *   harness.cjs compare <cases.jsonl> <cases.ref.jsonl> <report.json>  both verdicts, first-error locations
 * Needs the compiled service (npm run build: dist/src/fhir/validation).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS tool, run with node */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { allSeeds } = require('./seeds.cjs');

const ROOT = path.resolve(__dirname, '..', '..');

const readLines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
const writeLines = (file, rows) => fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

/**
 * Reference messages that are not about the resource's validity as CaseBridge can judge it
 * offline: terminology the reference validator cannot reach either (external code systems),
 * and best-practice advice. Each is named in docs/validation.md.
 */
const TERMINOLOGY = [
  /^Unknown code '/,
  /Inappropriate CodeSystem URL/,
  /No code provided, and a code is required from the value set/,
  /CodeSystem is unknown and can't be validated/,
  /A definition for CodeSystem .* could not be found/,
  /Unable to validate code/,
  /could not be found, so the code cannot be validated/,
  /Unknown code system/i,
  /ValueSet .* not found/i,
];

/**
 * Resources the reference validator would fetch and CaseBridge, by design, does not: a profile in
 * meta.profile that is not one of ours is accepted with a warning (FHIR-BEHAVIOUR.md).
 */
const EXTERNAL = [/Profile reference '.*' has not been checked because it could not be found/, /Invalid profile\. Failed to retrieve profile with url=/];

function referenceErrors(messages) {
  return messages.filter(
    (m) => (m.severity === 'error' || m.severity === 'fatal') && !TERMINOLOGY.some((re) => re.test(m.message)) && !EXTERNAL.some((re) => re.test(m.message)),
  );
}

/** How many cases had reference errors that only these filters removed (reported, not hidden). */
function filteredOnly(messages) {
  const serious = messages.filter((m) => m.severity === 'error' || m.severity === 'fatal');
  return serious.length > 0 && referenceErrors(messages).length === 0;
}

/** `Bundle.entry[0].resource/*Patient/1*\/.name` → `Bundle.entry[0].resource.name`. */
function normaliseLocation(location) {
  return String(location ?? '').replace(/\/\*.*?\*\//g, '');
}

/**
 * For comparing: the reference validator's JSON parser names a choice element `value[x]`, its
 * validator `value.ofType(integer)`, CaseBridge always the latter; both name the same element.
 */
function comparable(location) {
  return normaliseLocation(location).replace(/\.ofType\([A-Za-z]+\)/g, '[x]');
}

function seeds(out) {
  writeLines(out, allSeeds(ROOT).map((s) => ({ id: s.seed, text: JSON.stringify(s.resource) })));
}

function cases(seedFile, seedRefFile, out) {
  const { loadDefinitions } = require(path.join(ROOT, 'dist/src/fhir/definitions'));
  loadDefinitions();
  const { generate } = require('./mutate.cjs');
  const verdicts = new Map(readLines(seedRefFile).map((r) => [r.id, referenceErrors(r.messages)]));
  const accepted = [];
  const refused = [];
  for (const s of allSeeds(ROOT)) {
    const errors = verdicts.get(s.seed);
    if (errors && errors.length === 0) accepted.push(s);
    else refused.push({ seed: s.seed, first: errors?.[0] });
  }
  const generated = generate(accepted);
  writeLines(out, [...accepted.map((s) => ({ id: `${s.seed}~seed~0`, seed: s.seed, kind: 'seed', text: JSON.stringify(s.resource) })), ...generated]);
  process.stderr.write(`harness: ${accepted.length} seeds accepted by the reference validator, ${refused.length} refused; ${generated.length} mutations\n`);
  for (const r of refused) process.stderr.write(`  seed refused: ${r.seed}: ${r.first ? `${r.first.location}: ${r.first.message}` : 'no result'}\n`);
}

function compare(caseFile, refFile, out) {
  const { validateResource } = require(path.join(ROOT, 'dist/src/fhir/validation'));
  const { parseFhirJson } = require(path.join(ROOT, 'dist/src/fhir/json-text'));
  const ref = new Map(readLines(refFile).map((r) => [r.id, r]));
  const rows = [];
  for (const c of readLines(caseFile)) {
    const r = ref.get(c.id);
    if (!r) continue;
    const theirs = referenceErrors(r.messages);
    const crashed = r.messages.some((m) => m.messageId === 'exception');
    const ours = validateResource(parseFhirJson(c.text)).filter((i) => i.severity === 'error' || i.severity === 'fatal');
    const ourLocations = ours.map((i) => comparable(i.expression?.[0] ?? ''));
    const theirLocations = theirs.map((m) => comparable(m.location));
    const bothInvalid = ours.length > 0 && theirs.length > 0;
    rows.push({
      id: c.id,
      kind: c.kind,
      crashed,
      filteredOnly: filteredOnly(r.messages),
      ours: ours.length > 0 ? 'invalid' : 'valid',
      theirs: theirs.length > 0 ? 'invalid' : 'valid',
      ourFirst: ourLocations[0],
      theirFirst: theirLocations[0],
      // CaseBridge's first error is at a place the reference validator reports an error too.
      locationAgrees: bothInvalid ? theirLocations.includes(ourLocations[0]) : undefined,
      // The reference's first error is one of ours.
      referenceFirstInOurs: bothInvalid ? ourLocations.includes(theirLocations[0]) : undefined,
      ourMessage: ours[0]?.details?.text,
      theirMessage: theirs[0]?.message,
    });
  }
  const judged = rows.filter((r) => !r.crashed);
  const verdictAgree = judged.filter((r) => r.ours === r.theirs).length;
  const located = judged.filter((r) => r.locationAgrees !== undefined);
  const locationAgree = located.filter((r) => r.locationAgrees).length;
  const classes = new Map();
  for (const r of judged) {
    let what;
    if (r.ours !== r.theirs) what = r.ours === 'invalid' ? 'ours stricter' : 'reference stricter';
    else if (r.locationAgrees === false) what = 'location differs';
    else continue;
    const key = `${what} | ${r.kind}`;
    const list = classes.get(key) ?? [];
    list.push(r);
    classes.set(key, list);
  }
  const summary = {
    cases: rows.length,
    referenceCrashed: rows.length - judged.length,
    judged: judged.length,
    referenceErrorsOnlyTerminologyOrExternal: judged.filter((r) => r.filteredOnly).length,
    invalidByReference: judged.filter((r) => r.theirs === 'invalid').length,
    invalidByUs: judged.filter((r) => r.ours === 'invalid').length,
    verdictAgreement: verdictAgree / judged.length,
    bothInvalid: located.length,
    firstErrorLocationAgreement: located.length ? locationAgree / located.length : 1,
    referenceFirstErrorAmongOurs: located.length ? located.filter((r) => r.referenceFirstInOurs).length / located.length : 1,
    disagreements: [...classes.entries()].sort((a, b) => b[1].length - a[1].length).map(([key, list]) => ({ class: key, count: list.length, example: list[0] })),
  };
  fs.writeFileSync(out, JSON.stringify({ summary, rows }, null, 1));
  const pct = (x) => `${(100 * x).toFixed(2)}%`;
  console.log(`cases ${summary.cases} (reference crashed on ${summary.referenceCrashed}); judged ${summary.judged}`);
  console.log(`reference errors all about terminology or external profiles (counted as valid): ${summary.referenceErrorsOnlyTerminologyOrExternal}`);
  console.log(`invalid: reference ${summary.invalidByReference}, CaseBridge ${summary.invalidByUs}`);
  console.log(`verdict agreement ${pct(summary.verdictAgreement)}; first-error location agreement ${pct(summary.firstErrorLocationAgreement)} of ${summary.bothInvalid}`);
  console.log(`(the reference's first error among CaseBridge's errors: ${pct(summary.referenceFirstErrorAmongOurs)})`);
  for (const d of summary.disagreements) {
    console.log(`${String(d.count).padStart(5)}  ${d.class}   e.g. ${d.example.id}: ours ${d.example.ourFirst ?? '-'} "${d.example.ourMessage ?? ''}" / reference ${d.example.theirFirst ?? '-'} "${(d.example.theirMessage ?? '').slice(0, 160)}"`);
  }
}

const [command, ...args] = process.argv.slice(2);
if (command === 'seeds') seeds(...args);
else if (command === 'cases') cases(...args);
else if (command === 'compare') compare(...args);
else {
  console.error('usage: harness.cjs seeds|cases|compare …');
  process.exit(2);
}
