# Shared by the shell tests (source it after reading the arguments): a
# temporary directory $TMP removed at exit, the check counters and helpers.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
need() { command -v "$1" >/dev/null 2>&1; }
expect() { if [ "$2" = "$3" ]; then ok; else fail "$1: got '$2', want '$3'"; fi; } # name got want
# summary NAME: the counts; its status is the test's (every check passed)
summary() { echo "$1: $checks checks passed, $fails failed"; [ "$fails" -eq 0 ]; }
