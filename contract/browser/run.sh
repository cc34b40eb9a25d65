#!/usr/bin/env bash
# Swagger UI in a real browser: installs Debian's chromium and the pinned
# playwright-core when missing, then runs swagger.mjs against ROLLCALL_URL.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd "$here" && npm ci --no-audit --no-fund --silent)
export SCREENSHOT="$(cd "$here/../.." && pwd)/target/contract/swagger-ui.png"
node "$here/swagger.mjs"
