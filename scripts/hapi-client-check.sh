#!/usr/bin/env bash
# Drives a fresh CaseBridge (embedded database, temporary data folder, free port) with HAPI FHIR's
# generic client: tools/hapi-client-check. Needs Java 17+ and Maven; not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  echo "casebridge: the HAPI client check needs Java 17+ and Maven (mvn) on the PATH" >&2
  exit 2
fi
npm run build >/dev/null
data="$(mktemp -d)"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
base="http://127.0.0.1:${port}/fhir"
DATA_DIR="$data" PORT="$port" BASE_URL="$base" LOG_LEVEL=warn node dist/src/main.js &
service=$!
trap 'kill "$service" 2>/dev/null; wait "$service" 2>/dev/null; rm -rf "$data"' EXIT
node -e '
  const url = process.argv[1];
  const until = Date.now() + 120000;
  (async function wait() {
    const ready = await fetch(url).then((r) => r.ok, () => false);
    if (ready) return;
    if (Date.now() > until) { console.error("casebridge: the service did not become ready"); process.exit(1); }
    setTimeout(wait, 500);
  })();
' "http://127.0.0.1:${port}/readyz"
mvn -q -f tools/hapi-client-check/pom.xml compile exec:java -Dexec.args="$base"
