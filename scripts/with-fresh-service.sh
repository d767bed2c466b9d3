#!/usr/bin/env bash
# Runs a command against a fresh CaseBridge: built, on the embedded database in a temporary folder,
# on a free port. The command finds the FHIR base in $CASEBRIDGE_BASE_URL and an access token of the
# local development client (administrator) in $CASEBRIDGE_TOKEN; the service stops after.
# Used by the optional interoperability checks (npm run interop:hapi, npm run interop:validate).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
data="$(mktemp -d)"
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export CASEBRIDGE_BASE_URL="http://127.0.0.1:${port}/fhir"
# An hour's token: the first run of a check downloads its Maven dependencies before using it.
DATA_DIR="$data" PORT="$port" BASE_URL="$CASEBRIDGE_BASE_URL" ACCESS_TOKEN_SECONDS=3600 LOG_LEVEL=warn node dist/src/main.js &
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
# Ready means the development client is registered: its token.
CASEBRIDGE_TOKEN="$(DATA_DIR="$data" BASE_URL="$CASEBRIDGE_BASE_URL" node dist/src/token.js)"
export CASEBRIDGE_TOKEN
"$@"
