#!/usr/bin/env bash
# Measures what CloudTrail recording costs the sandbox under load (issue 15:
# "the throughput benchmark against moto_server keeps its ratio within 10%
# with recording on"). Each round runs bench/loadgen twice, with
# `tipctl sandbox --record=false` and with recording on (the default), in
# alternating order, each run measuring moto_server too; the sandbox-vs-moto
# throughput ratio of every run normalizes for the machine's load at that
# moment. Prints each round's ratios and the median and range of on/off.
#
#   bench/recordcmp.sh                 # 5 rounds of 3 s per operation
#   ROUNDS=3 DUR=2s bench/recordcmp.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}; dur=${DUR:-3s}; conc=${CONC:-8}
out=bench/results/recordcmp; mkdir -p "$out"; rm -f "$out"/*.json
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
go build -o "$bin/tipctl" ./cmd/tipctl
go build -o "$bin/loadgen" ./bench/loadgen
for r in $(seq 1 "$rounds"); do
  order="false true"; [ $((r % 2)) = 0 ] && order="true false"
  for rec in $order; do
    "$bin/loadgen" -tipctl "$bin/tipctl" -duration "$dur" -concurrency "$conc" \
      -sandbox-args "--record=$rec" -json "$out/round$r-record=$rec.json" >/dev/null
  done
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
pairs = [("AssumeRole+ProvidedContexts", "AssumeRole"), ("AssumeRole", "AssumeRole"), ("S3 GetObject", "S3 GetObject")]
def ratios(path):
    rs = {(x["target"], x["operation"]): x["per_second"] for x in json.load(open(path))}
    return {sb: (rs.get(("sandbox", sb), 0) / rs[("moto", mo)]) if rs.get(("moto", mo)) else None for sb, mo in pairs}
rel = {sb: [] for sb, _ in pairs}
print("| round | " + " | ".join(f"{sb} off / on" for sb, _ in pairs) + " |")
print("|---|" + "---:|" * len(pairs))
for r in range(1, rounds + 1):
    off, on = ratios(f"{out}/round{r}-record=false.json"), ratios(f"{out}/round{r}-record=true.json")
    cells = []
    for sb, _ in pairs:
        if off[sb] is None or on[sb] is None:
            cells.append("— (moto failed)")
            continue
        cells.append(f"{off[sb]:.1f}× / {on[sb]:.1f}×")
        rel[sb].append(on[sb] / off[sb])
    print(f"| {r} | " + " | ".join(cells) + " |")
print()
for sb, _ in pairs:
    v = rel[sb]
    if v:
        print(f"{sb}: ratio on/off median {statistics.median(v):.3f}, range {min(v):.3f} … {max(v):.3f} over {len(v)} rounds")
PY
