#!/usr/bin/env bash
# Golden-file tests of the rule parser (pfctl regress style), run by ctest:
#   tests/rules/NAME.rules      input; fw_* and bad_fw_* are firewall files (-F),
#                               the others signature files (-S)
#   tests/rules/NAME.args       optional extra arguments, one per line (--var ...)
#   tests/rules/NAME.dump       expected `gatehouse check --dump` output (stdout)
#   tests/rules/NAME.types      optional expected `check --explain-types=all` output
#   tests/rules/bad_NAME.expected  expected messages and summary (stderr), exactly
# Good files must exit 0 and dump(parse(dump)) must equal the dump; bad files
# must exit 1. Also checks usage errors (exit 2) and the default vars.conf.
# Usage: rules_golden.sh GATEHOUSE TESTS_RULES_DIR VARS_CONF
set -u
GH=$1
DIR=$2
VARS=$3
. "$(dirname "$0")/check_lib.sh"

cd "$DIR" || exit 1
# Messages name files as given, so run with relative names from DIR.
for f in *.rules; do
    name=${f%.rules}
    tier=-S
    case $name in fw_* | bad_fw_*) tier=-F ;; esac
    args=()
    [ -f "$name.args" ] && mapfile -t args <"$name.args"
    "$GH" check --vars "$VARS" "${args[@]}" "$tier" "$f" --dump >"$TMP/out" 2>"$TMP/err"
    rc=$?
    case $name in
    bad_*)
        [ $rc -eq 1 ] && ok || fail "$f: exit $rc, expected 1"
        if [ -f "$name.expected" ]; then
            diff -u "$name.expected" "$TMP/err" >"$TMP/diff" && ok ||
                fail "$f: messages differ from $name.expected:$(printf '\n')$(cat "$TMP/diff")"
        else
            fail "$f: no $name.expected"
        fi
        ;;
    *)
        [ $rc -eq 0 ] && ok || fail "$f: exit $rc, expected 0: $(cat "$TMP/err")"
        grep -q ", 0 errors$" "$TMP/err" && ok || fail "$f: summary: $(cat "$TMP/err")"
        if [ -f "$name.dump" ]; then
            diff -u "$name.dump" "$TMP/out" >"$TMP/diff" && ok ||
                fail "$f: dump differs from $name.dump:$(printf '\n')$(cat "$TMP/diff")"
        else
            fail "$f: no $name.dump"
        fi
        # The canonical form is a fixed point.
        cp "$TMP/out" "$TMP/again.rules"
        "$GH" check -q --vars "$VARS" "${args[@]}" "$tier" "$TMP/again.rules" --dump \
            >"$TMP/out2" 2>"$TMP/err2" && ok || fail "$f: the dump does not check: $(cat "$TMP/err2")"
        cmp -s "$TMP/out" "$TMP/out2" && ok || fail "$f: dump(parse(dump)) != dump"
        # NAME.types: the signature types and their reasons
        if [ -f "$name.types" ]; then
            "$GH" check -q --vars "$VARS" "${args[@]}" "$tier" "$f" --explain-types=all \
                >"$TMP/types" 2>"$TMP/err3"
            diff -u "$name.types" "$TMP/types" >"$TMP/diff" && ok ||
                fail "$f: types differ from $name.types:$(printf '\n')$(cat "$TMP/diff")"
        fi
        ;;
    esac
done

# --- command line -------------------------------------------------------------
"$GH" check --help | grep -q -- "--dump" && ok || fail "check --help"
"$GH" check >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "no input must exit 2"
"$GH" check --bogus -S sig_syntax.rules >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "bad option must exit 2"
"$GH" check --var NOEQUALS -S sig_syntax.rules >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "--var without = must exit 2"
"$GH" check --var '1BAD=1' -S sig_syntax.rules >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "--var bad name must exit 2"
"$GH" check -S "$TMP/missing.rules" 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q "missing.rules" "$TMP/err" && ok || fail "missing file: rc=$rc $(cat "$TMP/err")"
"$GH" check --vars "$TMP/missing.conf" -S sig_syntax.rules 2>/dev/null; [ $? -eq 1 ] && ok || fail "missing --vars file must exit 1"
# The default vars.conf is found next to the binary (or in the source tree).
"$GH" check -S sig_syntax.rules >/dev/null 2>"$TMP/err" && ok || fail "default vars: $(cat "$TMP/err")"
# A directory: every *.rules in it, in name order, with a total line.
mkdir "$TMP/dir"
cp sig_syntax.rules "$TMP/dir/b.rules"
cp vars_nested.rules "$TMP/dir/a.rules"
printf 'ignored\n' >"$TMP/dir/c.txt"
"$GH" check --vars "$VARS" --var 'MY_NET=10.0.0.0/8' --var 'MY_DMZ=10.1.0.0/16' \
    --var 'OUTSIDE=!$MY_NET' --var 'WEB_PORTS=80' --var 'MY_PORTS=1024:' -S "$TMP/dir" 2>"$TMP/err"
rc=$?
[ $rc -eq 0 ] && grep -q "^total: 28 rules, 2 disabled, 0 errors in 2 files" "$TMP/err" &&
    [ "$(grep -c ", 0 errors$" "$TMP/err")" = 2 ] && head -1 "$TMP/err" | grep -q "/a.rules:" && ok ||
    fail "directory: rc=$rc $(cat "$TMP/err")"
# Errors are reported for every file, and the exit code is 1.
"$GH" check --vars "$VARS" -S sig_syntax.rules -S bad_header.rules -F fw_basic.rules >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] && grep -q "^total: 66 rules, 2 disabled, 23 errors in 3 files" "$TMP/err" && ok ||
    fail "several files: rc=$rc $(tail -3 "$TMP/err")"

summary rules_golden
