#!/usr/bin/env bash
# The vendor's published client against ROLLCALL_URL (contract/run.sh vendor).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
(cd "$here" && npm ci --no-audit --no-fund --silent)
node "$here/vendor.mjs"
