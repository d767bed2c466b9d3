#!/usr/bin/env bash
# The differential validation harness (docs/validation.md): mutations of valid resources validated
# by CaseBridge and by the HL7 reference validator (HAPI FHIR's instance validator, offline, from
# Maven). Needs Java 17+ and Maven; not part of npm test. Output in $OUT (default .cache/differential).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-.cache/differential}
mkdir -p "$OUT"
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  echo "casebridge: the differential harness needs Java 17+ and Maven (mvn) on the PATH" >&2
  exit 2
fi
reference() { # cases.jsonl out.jsonl
  mvn -q ${MAVEN_OFFLINE:+-o} -f tools/hl7-validator-check/pom.xml compile exec:java \
    -Dexec.mainClass=org.casebridge.interop.DifferentialValidate -Dexec.args="$PWD $1 $2" 2>&1 | grep -v '^\[main\] INFO\|SLF4J' >&2 || true
}
[ "${SKIP_BUILD:-}" = 1 ] || npm run -s build
node tools/validation-differential/harness.cjs seeds "$OUT/seeds.jsonl"
reference "$OUT/seeds.jsonl" "$OUT/seeds.ref.jsonl"
node tools/validation-differential/harness.cjs cases "$OUT/seeds.jsonl" "$OUT/seeds.ref.jsonl" "$OUT/cases.jsonl"
[ "${SKIP_REFERENCE:-}" = 1 ] && [ -s "$OUT/cases.ref.jsonl" ] || reference "$OUT/cases.jsonl" "$OUT/cases.ref.jsonl"
node tools/validation-differential/harness.cjs compare "$OUT/cases.jsonl" "$OUT/cases.ref.jsonl" "$OUT/report.json"
