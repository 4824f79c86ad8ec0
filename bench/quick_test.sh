#!/bin/sh
# ctest: bench/run --quick finishes and writes valid results.json, results.md
# and its plots (so bench/run cannot rot). Timings from here mean nothing.
# usage: quick_test.sh GATEHOUSE_BENCH CORPUS_DIR OUT_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bench=$1 corpus=$2 out=$3
rm -rf "$out"
/usr/bin/python3 "$here/run" --quick -b "$bench" -c "$corpus" -o "$out"
/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
res = json.load(open(os.path.join(out, "results.json")))
for key in ("machine", "data", "scenarios", "plots"):
    assert key in res, "results.json lacks " + key
assert res["failed"] == 0, "failed scenarios"
assert res["data"]["stages"] and res["data"]["packet_size"], "no stage rows"
assert res["data"]["e2e"]["rows"], "no end-to-end rows (gatehouse pcap as a process)"
assert os.path.getsize(os.path.join(out, "results.md")) > 0
assert len(res["plots"]) >= 2, "too few plots"
for p in res["plots"]:
    txt = open(os.path.join(out, p)).read()
    assert txt.startswith("<svg") and txt.rstrip().endswith("</svg>"), p
print("bench/run --quick: %d scenarios, %d plots" % (len(res["scenarios"]), len(res["plots"])))
PY
