#!/bin/sh
# acl_compare.sh: gatehouse's classifier vs DPDK rte_acl (dpdk-test-acl) on the
# same ClassBench filter sets and traces, one core, in the same run.
#
# usage: bench/acl_compare.sh [-b GATEHOUSE_BENCH] [-c CORPUS_DIR] [-r ROUNDS] [SET...]
#   SET       names under CORPUS_DIR/classbench/hypersplit (default: acl1_10K fw1_10K ipc1_10K)
#   -b        gatehouse-bench binary (default: build/gatehouse-bench next to this script's repo)
#   -c        corpus directory (default: ../shared/corpus beside the repo, else /work/shared/corpus)
#   -r        rounds; gatehouse and DPDK alternate and each reports its median (default 3)
#   DPDK_TEST_ACL=path: another dpdk-test-acl; set it empty to run gatehouse only
#
# DPDK (Debian package dpdk-dev, /usr/bin/dpdk-test-acl) reads the same rule file and
# the same trace (its parser takes the first 5 columns and ignores the 6th, the expected
# filter). It runs with --no-huge on lcore 0, builds with its default 3 categories and
# classifies 1 category in steps of 256 headers (its defaults; gatehouse-bench uses bursts
# of 256 too). It is run twice per round: with its default algorithm (the best the CPU
# and EAL allow: avx512x16 on AVX-512 machines) and forced to --alg=avx2. A separate
# verbose pass checks DPDK's answers against the trace as well.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bench="$repo/build/gatehouse-bench"
corpus="$repo/../shared/corpus"
[ -d "$corpus" ] || corpus=/work/shared/corpus
rounds=3
while getopts b:c:r:h opt; do
    case $opt in
    b) bench=$OPTARG ;;
    c) corpus=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) sed -n '2,10p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- acl1_10K fw1_10K ipc1_10K

if [ ! -x "$bench" ]; then
    echo "acl_compare: $bench not found (build it: cmake --build build --target gatehouse-bench, or pass -b)" >&2
    exit 2
fi
# DPDK_TEST_ACL=path picks another dpdk-test-acl (set it empty to skip DPDK)
dpdk=${DPDK_TEST_ACL-$(command -v dpdk-test-acl || true)}
[ -z "$dpdk" ] || [ -x "$dpdk" ] || dpdk=
if [ -z "$dpdk" ]; then
    echo "acl_compare: dpdk-test-acl is not installed (apt-get install dpdk-dev) or DPDK_TEST_ACL is empty:" \
        "gatehouse figures only" >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

median() { sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print 0}'; }
json_num() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }

# dpdk_run RULES TRACE N ITER [ALG]: prints "pkt_per_sec alg_number tries"
dpdk_run() {
    "$dpdk" --no-huge --no-pci -m 256 -l 0 --file-prefix="ghacl$$" --log-level=lib.eal:error \
        -- --rulesf="$1" --tracef="$2" --tracenum="$3" --iter="$4" --verbose=0 ${5:+--alg=$5} \
        >"$tmp/dpdk.out" 2>&1 || { sed 's/^/  dpdk: /' "$tmp/dpdk.out" | tail -5 >&2; echo "0 0 0"; return 0; }
    awk '/alg=/ {sub(/.*alg=/, ""); alg=$1}
         /num_tries=/ {sub(/.*num_tries=/, ""); tries=$1}
         /pkt\/sec/ {for (i = 1; i < NF; i++) if ($(i+1) == "pkt/sec") pps=$i}
         END {print pps + 0, alg + 0, tries + 0}' "$tmp/dpdk.out"
}

# dpdk_check RULES TRACE N: headers whose DPDK result differs from the trace
dpdk_check() {
    "$dpdk" --no-huge --no-pci -m 256 -l 0 --file-prefix="ghacl$$" --log-level=lib.eal:error \
        -- --rulesf="$1" --tracef="$2" --tracenum="$3" --iter=1 --verbose=3 >"$tmp/dpdk.v" 2>&1 || true
    awk 'NR == FNR {want[NR] = $6 - 1; next}
         /^ipv4_5tuple:/ {gsub(/,/, ""); n++; if ($6 != want[$2]) bad++}
         END {print (n ? bad + 0 : "n/a")}' "$2" "$tmp/dpdk.v"
}

alg_name() {
    case $1 in
    1) echo scalar ;; 2) echo sse ;; 3) echo avx2 ;; 4) echo neon ;; 5) echo altivec ;;
    6) echo avx512x16 ;; 7) echo avx512x32 ;; *) echo "?" ;;
    esac
}

printf '%-9s %6s | %11s %8s %9s %6s | %11s %-9s %6s | %11s %6s | %s\n' \
    set rules "gatehouse/s" build_ms mem_KiB mism "dpdk dflt/s" alg ratio "dpdk avx2/s" ratio "dpdk mism"
for set in "$@"; do
    rules="$corpus/classbench/hypersplit/rules/$set"
    trace="$corpus/classbench/hypersplit/traces/${set}_trace"
    if [ ! -f "$rules" ] || [ ! -f "$trace" ]; then
        echo "acl_compare: $set: $rules or $trace missing" >&2
        continue
    fi
    n=$(grep -c . "$trace")
    iter=$(( (10000000 + n - 1) / n ))
    : >"$tmp/gh" ; : >"$tmp/dd" ; : >"$tmp/da"
    r=0
    while [ $r -lt "$rounds" ]; do
        "$bench" classbench "$rules" "$trace" >"$tmp/gh.json" || {
            echo "acl_compare: $set: gatehouse-bench failed" >&2; cat "$tmp/gh.json" >&2; exit 1; }
        json_num lookups_per_sec <"$tmp/gh.json" >>"$tmp/gh"
        if [ -n "$dpdk" ]; then
            dpdk_run "$rules" "$trace" "$n" "$iter" >>"$tmp/dd"
            dpdk_run "$rules" "$trace" "$n" "$iter" avx2 >>"$tmp/da"
        fi
        r=$((r + 1))
    done
    gh=$(median <"$tmp/gh")
    build=$(json_num build_ms <"$tmp/gh.json")
    mem=$(json_num memory_bytes <"$tmp/gh.json")
    mism=$(json_num mismatches <"$tmp/gh.json")
    nrules=$(json_num rules <"$tmp/gh.json")
    if [ -n "$dpdk" ]; then
        dd=$(cut -d' ' -f1 "$tmp/dd" | median)
        alg=$(alg_name "$(head -1 "$tmp/dd" | cut -d' ' -f2)")
        da=$(cut -d' ' -f1 "$tmp/da" | median)
        dmism=$(dpdk_check "$rules" "$trace" "$n")
        awk -v s="$set" -v nr="$nrules" -v gh="$gh" -v b="$build" -v m="$mem" -v mm="$mism" \
            -v dd="$dd" -v alg="$alg" -v da="$da" -v dm="$dmism" 'BEGIN {
            printf "%-9s %6d | %10.2fM %8.1f %9.0f %6d | %10.2fM %-9s %6.2f | %10.2fM %6.2f | %s\n",
                s, nr, gh / 1e6, b, m / 1024, mm, dd / 1e6, alg, (dd > 0 ? gh / dd : 0),
                da / 1e6, (da > 0 ? gh / da : 0), dm }'
    else
        awk -v s="$set" -v nr="$nrules" -v gh="$gh" -v b="$build" -v m="$mem" -v mm="$mism" 'BEGIN {
            printf "%-9s %6d | %10.2fM %8.1f %9.0f %6d | %11s %-9s %6s | %11s %6s | %s\n",
                s, nr, gh / 1e6, b, m / 1024, mm, "-", "-", "-", "-", "-", "-" }'
    fi
done
echo "(lookups per second, one core; gatehouse: burst API, median of $rounds rounds of gatehouse-bench's own median of 5"
[ -z "$dpdk" ] || echo " dpdk: $dpdk --no-huge -l 0, median of $rounds; ratio = gatehouse / dpdk, > 1: gatehouse faster"
echo ")"
