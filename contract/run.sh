#!/usr/bin/env bash
# Proves the contract with the tools API consumers use, against a live,
# seeded server: spec validation (3.1 and 3.0.3), schemathesis, generated
# Rust (progenitor) and Python (openapi-python-client) clients, and Swagger UI
# in headless Chromium. Fails on any failure. Artifacts go to target/contract/.
#
# Usage: contract/run.sh [step...]   steps: validate browser vendor scim python rust schemathesis
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/contract"
mkdir -p "$out"
steps=("$@")
# schemathesis last: it deletes and renames what it finds, the documents' example
# group included, which the browser step uses.
[ ${#steps[@]} -eq 0 ] && steps=(validate browser vendor scim python rust schemathesis)

log() { printf '\n== contract: %s\n' "$*"; }

# --- tools -------------------------------------------------------------------
venv="$out/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r "$root/contract/requirements.txt"

cargo build --quiet --manifest-path "$root/Cargo.toml" --bin rollcall
bin="$root/target/debug/rollcall"

# --- a live server on a fresh database, seeded ----------------------------------
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export DATABASE_URL="sqlite://$work/contract.db"
boot=$("$bin" bootstrap --account contract --username admin --email admin@example.com 2>/dev/null)
export ROLLCALL_TOKEN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$boot")
export ROLLCALL_ACCOUNT=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["account_id"])' "$boot")
"$bin" seed-examples --account "$ROLLCALL_ACCOUNT" 2>/dev/null
# An administrator's API key: the client credentials of the vendor client and
# of Swagger UI's Authorize dialog.
key=$("$bin" api-key create --account "$ROLLCALL_ACCOUNT" --user admin --name contract 2>/dev/null)
export ROLLCALL_KEY_ID=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$key")
export ROLLCALL_KEY_SECRET=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret"])' "$key")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ROLLCALL_URL="http://127.0.0.1:$port"
RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$port" > "$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "$ROLLCALL_URL/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "$ROLLCALL_URL/readyz" >/dev/null

for step in "${steps[@]}"; do
  case "$step" in
    validate)
      log "spec validation (openapi-spec-validator)"
      curl -sf "$ROLLCALL_URL/api-docs/openapi.json" > "$out/served-openapi.json"
      curl -sf "$ROLLCALL_URL/api-docs/openapi-3.0.json" > "$out/served-openapi-3.0.json"
      "$venv/bin/python" - "$out/served-openapi.json" "$out/served-openapi-3.0.json" <<'PY'
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
for path, cls, version in [(sys.argv[1], OpenAPIV31SpecValidator, "3.1"), (sys.argv[2], OpenAPIV30SpecValidator, "3.0.3")]:
    doc = json.load(open(path))
    assert doc["openapi"].startswith(version), (path, doc["openapi"])
    validate(doc, cls=cls)
    print(f"valid OpenAPI {doc['openapi']}: {path}")
PY
      ;;
    scim)
      scim_venv="$out/scim-venv"
      [ -x "$scim_venv/bin/python" ] || python3 -m venv "$scim_venv"
      "$scim_venv/bin/pip" install -q --disable-pip-version-check -r "$root/contract/scim-requirements.txt"
      # An identity provider's credential: a scim API key, sent as it is.
      scim_key=$("$bin" api-key create --account "$ROLLCALL_ACCOUNT" --user admin --name idp --purpose scim 2>/dev/null)
      scim_secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret"])' "$scim_key")
      log "SCIM: scim2-cli $("$scim_venv/bin/pip" show scim2-cli | sed -n 's/^Version: //p') / scim2-tester $("$scim_venv/bin/pip" show scim2-tester | sed -n 's/^Version: //p') (every check a success)"
      SCIM_CLI_HEADERS="Authorization: Bearer $scim_secret" "$scim_venv/bin/scim2" --url "$ROLLCALL_URL/scim/v2" test > "$out/scim2-tester.log" 2>&1 \
        || { grep -v -i success "$out/scim2-tester.log" | tail -60; false; }
      echo "$(grep -c "^SUCCESS" "$out/scim2-tester.log") checks, every one SUCCESS"
      log "SCIM: scim-sanity $("$scim_venv/bin/pip" show scim-sanity | sed -n 's/^Version: //p') probe, strict"
      "$scim_venv/bin/scim-sanity" probe "$ROLLCALL_URL/scim/v2" --token "$scim_secret" --i-accept-side-effects > "$out/scim-sanity.log" 2>&1 \
        || { cat "$out/scim-sanity.log"; false; }
      grep -q "FAIL\]" "$out/scim-sanity.log" && { cat "$out/scim-sanity.log"; false; }
      tail -5 "$out/scim-sanity.log"
      ;;
    schemathesis)
      log "schemathesis $("$venv/bin/schemathesis" --version 2>/dev/null | tail -1)"
      rm -rf "$out/schemathesis"
      (cd "$root/contract" && "$venv/bin/schemathesis" run "$ROLLCALL_URL/api-docs/openapi.json" \
        --checks all --exclude-checks use_after_free \
        --phases examples,coverage,fuzzing,stateful --no-color \
        --report ndjson,junit --report-dir "$out/schemathesis") > "$out/schemathesis.log" 2>&1 || { tail -60 "$out/schemathesis.log"; false; }; tail -25 "$out/schemathesis.log"
      "$venv/bin/python" "$root/contract/summarize.py" "$out"/schemathesis/ndjson-*.ndjson "$out/served-openapi.json" 2>/dev/null \
        || "$venv/bin/python" "$root/contract/summarize.py" "$out"/schemathesis/ndjson-*.ndjson "$root/openapi/openapi.json"
      ;;
    python)
      log "Python client (openapi-python-client)"
      rm -rf "$out/python"
      "$venv/bin/openapi-python-client" generate --path "$root/openapi/openapi.json" \
        --output-path "$out/python/rollcall_client" --meta none > "$out/python-client.log" 2>&1 \
        || { cat "$out/python-client.log"; exit 1; }
      PYTHONPATH="$out/python" "$venv/bin/python" "$root/contract/clients/python/driver.py"
      ;;
    rust)
      log "Rust client (progenitor)"
      cargo run --quiet --manifest-path "$root/contract/clients/rust/Cargo.toml" --target-dir "$root/target/contract/rust"
      ;;
    vendor)
      log "the vendor's client (npm contensis-management-api)"
      bash "$root/contract/vendor/run.sh"
      ;;
    browser)
      log "Swagger UI in headless Chromium (playwright-core)"
      bash "$root/contract/browser/run.sh"
      ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
done
log "all passed"
