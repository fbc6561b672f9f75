#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md in one go and writes the raw results
# to bench/results/ (not committed). Loopback only; bounded in time.
#
#   bench/run.sh            # full run (~5 minutes, plus the memory run)
#   QUICK=1 bench/run.sh    # shorter runs, for a smoke check
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results
mkdir -p "$out"
runs=200; dur=10s; bt=3s; sessions=260000
if [ "${QUICK:-}" = 1 ]; then runs=30; dur=2s; bt=1s; sessions=20000; fi

command -v hyperfine >/dev/null || echo "bench: hyperfine not installed (apt-get install hyperfine); using a Go timing loop" >&2

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -m), $(go version | cut -d' ' -f3)"
  echo
  echo "## Whole processes (bench/procbench)"
  go run ./bench/procbench -runs "$runs" -json "$out/procbench.json"
  echo
  echo "## Sandbox throughput vs moto_server (bench/loadgen)"
  go run ./bench/loadgen -duration "$dur" -concurrency 8 -json "$out/loadgen.json"
  echo
  echo "## CloudTrail recording off vs on, with moto_server (bench/loadgen -compare-record)"
  go run ./bench/loadgen -compare-record 8 -window 1s -concurrency 8
  echo
  echo "## Sandbox memory under load vs moto_server (bench/loadgen -sessions)"
  go run ./bench/loadgen -sessions "$sessions" -duration "$dur" -concurrency 8
  echo
  echo "## In-process (go test -bench)"
  go test -run '^$' -benchtime "$bt" -count 1 \
    -bench 'AssumeRoleProvidedContexts|CachedGetDataAccess|SnapshotThreeFormats|GetDataAccess$|GetObject$|StartToResults' \
    ./sandbox/sts/ ./sandbox/s3/ ./sandbox/s3control/ ./sandbox/quicksight/ ./sandbox/athena/ ./tip/s3ag/ ./tip/quicksight/ 2>&1 |
    grep -E '^(Benchmark|ok|pkg)'
} | tee "$out/summary.txt"
