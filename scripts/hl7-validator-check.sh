#!/usr/bin/env bash
# The HL7 validator engine (tools/hl7-validator-check) on the fixtures and on what a fresh CaseBridge,
# loaded with them, answers. Needs Java 17+ and Maven; not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  echo "casebridge: the HL7 validator check needs Java 17+ and Maven (mvn) on the PATH" >&2
  exit 2
fi
scripts/with-fresh-service.sh bash -c '
  node dist/src/seed.js --url "$CASEBRIDGE_BASE_URL" >/dev/null
  mvn -q -f tools/hl7-validator-check/pom.xml compile exec:java -Dexec.args="$PWD $CASEBRIDGE_BASE_URL"
'
