#!/usr/bin/env bash
# ET Open (corpus) through `gatehouse check -S`: every et-open-*.rules file
# must parse and check with 0 errors using the default variables. Prints the
# per-file summaries and the rules per unsupported keyword. Exits 77 (skip)
# when the corpus is absent.
# Usage: rules_etopen.sh GATEHOUSE CORPUS_DIR VARS_CONF
set -u
GH=$1
CORPUS=$2
VARS=$3
shopt -s nullglob
files=("$CORPUS"/rules/et-open-*.rules)
if [ ${#files[@]} -eq 0 ]; then
    echo "SKIP: no et-open-*.rules under $CORPUS/rules"
    exit 77
fi
args=()
for f in "${files[@]}"; do args+=(-S "$f"); done
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$GH" check --vars "$VARS" "${args[@]}" 2>"$TMP/err"
rc=$?
sed "s|$CORPUS/rules/||" "$TMP/err"
errors=$(sed -n 's/^total: .* disabled, \([0-9]*\) errors.*/\1/p' "$TMP/err")
if [ $rc -ne 0 ] || [ "$errors" != 0 ]; then
    echo "FAIL: exit $rc, ${errors:-?} errors"
    exit 1
fi
echo "rules_etopen: ${#files[@]} files, 0 errors"
