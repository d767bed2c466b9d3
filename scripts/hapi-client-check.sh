#!/usr/bin/env bash
# Drives a fresh CaseBridge with HAPI FHIR's generic client (tools/hapi-client-check).
# Needs Java 17+ and Maven; not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  echo "casebridge: the HAPI client check needs Java 17+ and Maven (mvn) on the PATH" >&2
  exit 2
fi
scripts/with-fresh-service.sh bash -c 'mvn -q -f tools/hapi-client-check/pom.xml compile exec:java -Dexec.args="$CASEBRIDGE_BASE_URL"'
