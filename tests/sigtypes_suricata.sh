#!/usr/bin/env bash
# Signature types against the reference engine: `gatehouse check
# --explain-types=all` must give every rule the type `suricata
# --engine-analysis` writes for it (rules.json "type"), on the golden file
# tests/rules/sigtypes.rules (every type) and on all of ET Open from the
# corpus. Exit 77 (skip) without suricata.
# Usage: sigtypes_suricata.sh GATEHOUSE TESTS_DIR CORPUS_DIR
set -u
GH=$1
TESTS=$2
CORPUS=${3:-}
command -v suricata >/dev/null || { echo "sigtypes_suricata: suricata not installed: skipped"; exit 77; }
command -v jq >/dev/null || { echo "sigtypes_suricata: jq not installed: skipped"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0

# compare NAME RULEFILE CLASSIFICATION [gatehouse -S arguments...]
compare() {
    local name=$1 rules=$2 cls=$3
    shift 3
    "$GH" check -q --explain-types=all --classification "$cls" "$@" >"$TMP/$name.gh" 2>"$TMP/$name.err"
    [ -s "$TMP/$name.gh" ] || { echo "FAIL $name: gatehouse printed no types: $(head -3 "$TMP/$name.err")"; fails=$((fails + 1)); return; }
    mkdir -p "$TMP/$name.sa"
    suricata -c /etc/suricata/suricata.yaml --set classification-file="$cls" \
        --engine-analysis -S "$rules" -l "$TMP/$name.sa" >/dev/null 2>&1
    [ -s "$TMP/$name.sa/rules.json" ] || { echo "FAIL $name: no engine analysis from suricata"; fails=$((fails + 1)); return; }
    jq -r '"\(.gid // 1):\(.id)\t\(.type)"' "$TMP/$name.sa/rules.json" | sort -u >"$TMP/$name.s"
    awk -F'\t' '{print "1:" $2 "\t" $3}' "$TMP/$name.gh" | sort -u >"$TMP/$name.g"
    local n diff missing
    n=$(join -t$'\t' "$TMP/$name.g" "$TMP/$name.s" | wc -l)
    diff=$(join -t$'\t' "$TMP/$name.g" "$TMP/$name.s" | awk -F'\t' '$2 != $3')
    missing=$(join -t$'\t' -v2 "$TMP/$name.g" "$TMP/$name.s" | wc -l)
    if [ -n "$diff" ] || [ "$n" -eq 0 ] || [ "$missing" -ne 0 ]; then
        echo "FAIL $name: $n rules compared, $missing only in suricata; sid, gatehouse type, suricata type:"
        echo "$diff" | head -20
        fails=$((fails + 1))
    else
        echo "ok $name: $n rules, every type as suricata's ($(cut -f2 "$TMP/$name.s" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//'))"
    fi
}

compare golden "$TESTS/rules/sigtypes.rules" /etc/suricata/classification.config \
    --vars "$TESTS/../rules/vars.conf" -S "$TESTS/rules/sigtypes.rules"

if [ -n "$CORPUS" ] && [ -d "$CORPUS/rules" ]; then
    files=()
    for f in "$CORPUS"/rules/et-open-*.rules; do
        case $f in *SUBSET*) continue ;; esac
        files+=("$f")
    done
    # every ET rule that parses, as one file, so both engines read the same text
    args=()
    for f in "${files[@]}"; do args+=(-S "$f"); done
    "$GH" check -q --explain-types=all --classification "$CORPUS/rules/et-open-classification.config" \
        "${args[@]}" 2>/dev/null | cut -f1 | awk -F: '
        { if (!($1 in seen)) { seen[$1] = 1; n = 0; while ((getline l < $1) > 0) text[$1, ++n] = l }
          print text[$1, $2] }' >"$TMP/et.rules"
    compare et-open "$TMP/et.rules" "$CORPUS/rules/et-open-classification.config" -S "$TMP/et.rules"
else
    echo "sigtypes_suricata: no corpus: ET Open not compared"
fi
[ $fails -eq 0 ] || exit 1
