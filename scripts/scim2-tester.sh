#!/usr/bin/env bash
# Runs python-scim's scim2-tester (a SCIM 2.0 conformance suite built on scim2-models and scim2-client) against this
# server, started from the sources on a fresh SQLite database, for Users, Groups and IdentityProviders. Responses
# reach the checks exactly as the server sends them. Prints every check, then the counts by status.
#
#   scripts/scim2-tester.sh [ResourceType ...]      (default: User Group IdentityProvider)
#
# Needs Python >= 3.10 with venv. Installs the pinned packages below into .tmp/scim2-tester-venv from PyPI; on a
# machine without PyPI, set SCIM2_TESTER_PYTHONPATH to a directory that already holds them (and their
# dependencies: pydantic 2 with pydantic-core, email-validator, httpx) and no venv is made.
# The failures it reports, and why each is deliberate, are in docs/idcs-compatibility.md, "Strict SCIM clients".
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=(scim2-tester==0.2.8 'scim2-client[httpx]==0.7.5' scim2-models==0.6.12)
TYPES=("$@")
[ ${#TYPES[@]} -gt 0 ] || TYPES=(User Group IdentityProvider)

if [ -n "${SCIM2_TESTER_PYTHONPATH:-}" ]; then
  PYTHON=python3
  export PYTHONPATH="$SCIM2_TESTER_PYTHONPATH${PYTHONPATH:+:$PYTHONPATH}"
else
  VENV=.tmp/scim2-tester-venv
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PINS[@]}"
  fi
  PYTHON="$VENV/bin/python"
fi
"$PYTHON" -c 'import scim2_tester, scim2_client.engines.httpx' || { echo "scim2-tester is not importable with $PYTHON" >&2; exit 1; }

work=$(mktemp -d)
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
ADMIN_ID=scim2-tester
ADMIN_SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
# meta.location and $ref must be URLs the checks can follow, hence PUBLIC_URL.
PORT=$PORT HOST=127.0.0.1 PUBLIC_URL="$BASE" DATABASE_URL="sqlite:$work/identity.sqlite" LOG_LEVEL=error \
  ADMIN_CLIENT_ID=$ADMIN_ID ADMIN_CLIENT_SECRET=$ADMIN_SECRET \
  node -r ts-node/register/transpile-only -r tsconfig-paths/register apps/admin-api/src/main.ts >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  curl -fs "$BASE/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done

TOKEN=$(curl -fsS -u "$ADMIN_ID:$ADMIN_SECRET" -d 'grant_type=client_credentials&scope=urn:opc:idm:__myscopes__' "$BASE/oauth2/v1/token" |
  "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
"$PYTHON" scripts/scim2-tester/run.py "$BASE/admin/v1" "$TOKEN" "${TYPES[@]}"
