#!/usr/bin/env bash
# The Hyperscan database cache through the CLI (check, pcap): the default
# directory ($GATEHOUSE_CACHE_DIR, $XDG_CACHE_HOME/gatehouse, ~/.cache/gatehouse),
# --cache-dir, --no-cache writing nothing, an unusable directory (one warning,
# the load still works), a warm load reading everything, the same alerts.
# Usage: cli_cache.sh GATEHOUSE DATA_DIR
set -u
GH=$1
DATA=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }
expect() { if [ "$2" = "$3" ]; then ok; else fail "$1: got '$2', want '$3'"; fi; }
SIGS=$DATA/sample-signatures.rules
nfiles() { find "$1" -type f 2>/dev/null | wc -l; }
# every run below has its own HOME, no XDG_CACHE_HOME and no GATEHOUSE_CACHE_DIR
run() { env -u GATEHOUSE_CACHE_DIR -u XDG_CACHE_HOME HOME="$TMP/home" "$@"; }
mkdir -p "$TMP/home"

# --no-cache: nothing written anywhere
run "$GH" check --no-cache -S "$SIGS" 2>"$TMP/nc"
expect "no-cache exit" $? 0
expect "no-cache files" "$(nfiles "$TMP/home")" 0
grep -q "0 from the cache, [1-9][0-9]* compiled" "$TMP/nc" && ok || fail "no-cache: $(cat "$TMP/nc")"

# the default: ~/.cache/gatehouse, then a warm load reads every database
run "$GH" check -S "$SIGS" 2>"$TMP/cold"
expect "cold exit" $? 0
[ "$(nfiles "$TMP/home/.cache/gatehouse")" -gt 0 ] && ok || fail "nothing in ~/.cache/gatehouse"
run "$GH" check -S "$SIGS" 2>"$TMP/warm"
grep -q "distinct: \([0-9]*\) from the cache, 0 compiled" "$TMP/warm" && ok ||
    fail "warm: $(grep signatures "$TMP/warm")"

# $XDG_CACHE_HOME/gatehouse and $GATEHOUSE_CACHE_DIR, in that order of precedence
run env XDG_CACHE_HOME="$TMP/xdg" "$GH" check -q -S "$SIGS"
[ "$(nfiles "$TMP/xdg/gatehouse")" -gt 0 ] && ok || fail "nothing in \$XDG_CACHE_HOME/gatehouse"
run env XDG_CACHE_HOME="$TMP/xdg2" GATEHOUSE_CACHE_DIR="$TMP/env" "$GH" check -q -S "$SIGS"
[ "$(nfiles "$TMP/env")" -gt 0 ] && ok || fail "nothing in \$GATEHOUSE_CACHE_DIR"
expect "xdg2 unused" "$(nfiles "$TMP/xdg2")" 0

# --cache-dir wins; pcap alerts are the same cold, warm and without cache
for mode in "--no-cache" "--cache-dir $TMP/opt" "--cache-dir $TMP/opt"; do
    # shellcheck disable=SC2086
    run "$GH" pcap -q -r "$DATA/sample.pcap" -S "$SIGS" $mode --eve "$TMP/eve.json"
    jq -c 'select(.event_type=="alert") | [.pcap_cnt, .alert.signature_id]' "$TMP/eve.json" \
        >>"$TMP/alerts.$([ "$mode" = --no-cache ] && echo ref || echo c)"
done
[ -s "$TMP/alerts.ref" ] && ok || fail "sample.pcap raises no alert"
expect "alerts cached" "$(cat "$TMP/alerts.c")" "$(cat "$TMP/alerts.ref" "$TMP/alerts.ref")"
[ "$(nfiles "$TMP/opt")" -gt 0 ] && ok || fail "nothing in --cache-dir"

# unusable directory (under a regular file): one warning, the load works
touch "$TMP/plain"
run "$GH" check -S "$SIGS" --cache-dir "$TMP/plain/sub" 2>"$TMP/bad"
expect "unusable exit" $? 0
expect "one warning" "$(grep -c "warning: cannot use cache directory" "$TMP/bad")" 1
grep -q "signatures: loaded 7" "$TMP/bad" && ok || fail "unusable: $(cat "$TMP/bad")"

# a corrupt database file: ignored, recompiled, rewritten
for f in "$TMP/opt"/db-*.hs; do printf 'junk' >"$f"; done
run "$GH" check -S "$SIGS" --cache-dir "$TMP/opt" 2>"$TMP/corrupt"
expect "corrupt exit" $? 0
grep -q "distinct: 0 from the cache" "$TMP/corrupt" && ok || fail "corrupt: $(cat "$TMP/corrupt")"
run "$GH" check -S "$SIGS" --cache-dir "$TMP/opt" 2>"$TMP/again"
grep -q " 0 compiled" "$TMP/again" && ok || fail "rewritten: $(cat "$TMP/again")"

echo "cli_cache: $checks checks passed, $fails failed"
[ "$fails" -eq 0 ]
