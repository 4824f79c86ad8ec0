#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan + UBSan, -Werror: clang's
# warnings fail as gcc's do) and run each for a bounded time; exit 1 when any
# target finds a crash, leak, timeout or sanitizer report (the input is
# left in BUILD/findings/TARGET/).
#   tests/fuzz/run.sh SECONDS [TARGET...]     (default: every target)
# Environment: GH_FUZZ_BUILD (build directory, default build-fuzz),
# GH_FUZZ_ARGS (more libFuzzer options, e.g. -jobs=2 or -dict=FILE).
# New inputs go to BUILD/corpus/TARGET, which later runs start from, along
# with the seeds of tests/fuzz/corpus/TARGET and tests/fuzz/crashes/TARGET.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
build=${GH_FUZZ_BUILD:-build-fuzz}
all=$(sed -n 's/^set(GH_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
targets=${*:-$all}

CC=clang cmake -S . -B "$build" -DGH_FUZZ=ON -DGH_BUILD_BENCH=OFF -DGH_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $(printf 'fuzz_%s ' $targets)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=
for t in $targets; do
    mkdir -p "$build/corpus/$t" "$build/findings/$t"
    log=$build/findings/$t.log
    seeds=(tests/fuzz/corpus/"$t")
    [ -d tests/fuzz/crashes/"$t" ] && seeds+=(tests/fuzz/crashes/"$t")
    # shellcheck disable=SC2086
    if "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$build/findings/$t/" ${GH_FUZZ_ARGS:-} \
            "$build/corpus/$t" "${seeds[@]}" >"$log" 2>&1; then
        res=ok
    else
        res=FAILED
        failed="$failed $t"
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" >&2 || tail -n 20 "$log" >&2
    fi
    # a finding on a seed stops the target before it prints any statistics
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 || true)
    printf 'fuzz %-9s %s  %s executions  %s  (log: %s)\n' "$t" "$res" "${execs:-?}" \
        "${cov:-cov: ?}" "$log"
done
if [ -n "$failed" ]; then
    echo "fuzz: findings in:$failed" >&2
    exit 1
fi
