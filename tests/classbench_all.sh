#!/usr/bin/env bash
# Every ClassBench filter set with a trace (corpus classbench/hypersplit):
# the compiled classifier must give each trace header its expected rule.
# Usage: classbench_all.sh GATEHOUSE_BENCH CORPUS_DIR   (exit 77: corpus absent)
set -u
BENCH=$1
DIR=$2/classbench/hypersplit
[ -d "$DIR/rules" ] || { echo "corpus not found at $DIR: skipped"; exit 77; }
fails=0
sets=0
for rules in "$DIR"/rules/*; do
    name=$(basename "$rules")
    trace=$DIR/traces/${name}_trace
    [ -f "$trace" ] || continue
    out=$("$BENCH" classbench "$rules" "$trace" --runs 1 --min-lookups 1) || true
    mism=$(printf '%s' "$out" | jq -r '.mismatches' 2>/dev/null)
    lookups=$(printf '%s' "$out" | jq -r '.lookups' 2>/dev/null)
    sets=$((sets + 1))
    if [ "$mism" = 0 ] && [ "${lookups:-0}" -gt 0 ]; then
        printf '%-10s %6s rules %7s lookups  0 mismatches\n' "$name" "$(printf '%s' "$out" | jq -r .rules)" "$lookups"
    else
        echo "FAIL: $name: ${out:-no output}"
        fails=$((fails + 1))
    fi
done
echo "classbench: $sets sets, $fails failed"
[ $sets -gt 0 ] && [ $fails -eq 0 ]
