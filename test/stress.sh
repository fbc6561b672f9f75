#!/usr/bin/env bash
# Runs the test suite N times (default 3) while two CPU-bound processes run
# beside it, as on a small busy machine, and reports pass/fail per run.
#
#   test/stress.sh                  # go test ./... three times
#   test/stress.sh -n 5             # five runs
#   test/stress.sh -n 1 ./tip/...   # narrower package patterns
#   HOGS=4 test/stress.sh           # four CPU hogs instead of two
#
# Each run is `go test -count=1` (no cached results). Logs go to
# $STRESS_LOG_DIR (default a temporary directory, printed at the end). The
# hogs are stopped on exit, including on Ctrl-C. Exit status: 0 when every
# run passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=3
while getopts "n:h" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    h) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
case $runs in '' | *[!0-9]* | 0) echo "stress: -n wants a positive number, not '$runs'" >&2; exit 2 ;; esac
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
hogs=${HOGS:-2}
logdir=${STRESS_LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/tipctl-stress.XXXXXX")}
mkdir -p "$logdir"

hog_pids=()
stop_hogs() {
  for pid in "${hog_pids[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${hog_pids[@]}"; do
    wait "$pid" 2>/dev/null
  done
  hog_pids=()
}
trap stop_hogs EXIT
trap 'stop_hogs; exit 130' INT
trap 'stop_hogs; exit 143' TERM

for _ in $(seq "$hogs"); do
  sh -c 'while :; do :; done' &
  hog_pids+=($!)
done
echo "stress: $runs run(s) of go test ${pkgs[*]} beside $hogs CPU hog(s) (pids ${hog_pids[*]}); logs in $logdir"

passed=0
for i in $(seq "$runs"); do
  log="$logdir/run-$i.log"
  start=$(date +%s)
  if go test -count=1 "${pkgs[@]}" >"$log" 2>&1; then
    result=PASS
    passed=$((passed + 1))
  else
    result=FAIL
  fi
  echo "stress: run $i/$runs: $result in $(($(date +%s) - start))s ($log)"
  if [ $result = FAIL ]; then
    grep -E '^(--- FAIL|FAIL|panic:)' "$log" | head -20 | sed 's/^/    /'
  fi
done
stop_hogs
echo "stress: $passed of $runs runs passed"
[ "$passed" -eq "$runs" ]
