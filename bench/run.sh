#!/usr/bin/env bash
# The benchmark, in one command: installs wrk when missing, starts PostgreSQL
# when it is not running, builds in release mode and runs benches/rollcall.rs.
# Results: a table on stdout and target/bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [[ "${ROLLCALL_BENCH_BACKENDS:-sqlite,postgres}" == *postgres* ]] && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
cargo bench --bench rollcall "$@"
