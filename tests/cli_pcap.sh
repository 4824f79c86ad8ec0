#!/usr/bin/env bash
# End-to-end test of `gatehouse pcap`: shipped samples, error paths, and every
# corpus capture checked against capinfos/tshark (when the corpus and the
# tools are present). Usage: cli_pcap.sh GATEHOUSE DATA_DIR [CORPUS_DIR]
set -u
GH=$1
DATA=$2
CORPUS=${3:-}
. "$(dirname "$0")/check_lib.sh"


# stats.decoder.<field> of the final stats event in an EVE file
stat_of() { jq -r "select(.event_type==\"stats\") | .stats.decoder.$2" "$1" | tail -n1; }

need jq || { echo "jq is required"; exit 1; }

# --- usage and exit codes ---------------------------------------------------
"$GH" pcap --help | grep -q -- "--write-accepted" && ok || fail "pcap --help"
"$GH" --help >/dev/null && ok || fail "gatehouse --help"
"$GH" pcap --bogus >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "unknown option must exit 2"
"$GH" pcap >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "missing -r must exit 2"
"$GH" pcap -r "$DATA/sample.pcap" -k bogus >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "-k bogus must exit 2"
for v in -1 1025 8x ""; do
    "$GH" pcap -r "$DATA/sample.pcap" --warm-heap "$v" 2>"$TMP/err" >/dev/null; rc=$?
    [ $rc -eq 2 ] && grep -q "warm-heap" "$TMP/err" && ok || fail "--warm-heap '$v': rc=$rc"
done
"$GH" pcap -r "$TMP/does-not-exist.pcap" 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q "does-not-exist.pcap" "$TMP/err" && ok || fail "missing file: rc=$rc $(cat "$TMP/err")"

# --- the README's sample ----------------------------------------------------
"$GH" pcap -r "$DATA/sample.pcap" --eve "$TMP/eve.json" --write-accepted "$TMP/acc.pcap" \
    --write-dropped "$TMP/drop.pcap" 2>"$TMP/sum"; rc=$?
[ $rc -eq 0 ] && ok || fail "sample.pcap exit $rc"
grep -q "^packets: 35 " "$TMP/sum" && ok || fail "sample summary: $(head -1 "$TMP/sum")"
# a pipe (-r /dev/stdin): read once, its magic left to libpcap
cat "$DATA/sample.pcap" | "$GH" pcap -r /dev/stdin 2>&1 | grep -q "^packets: 35 " && ok ||
    fail "sample.pcap through a pipe"
[ "$(stat_of "$TMP/eve.json" pkts)" = 35 ] && ok || fail "sample stats pkts"
jq -e . "$TMP/eve.json" >/dev/null && ok || fail "EVE is not valid JSON lines"
if need capinfos; then
    [ "$(capinfos -c -M "$TMP/acc.pcap" | awk '/Number of packets/{print $NF}')" = 35 ] && ok ||
        fail "accepted pcap should hold all 35 packets"
    [ "$(capinfos -c -M "$TMP/drop.pcap" | awk '/Number of packets/{print $NF}')" = 0 ] && ok ||
        fail "dropped pcap should be empty"
    cmp -s <(tshark -r "$DATA/sample.pcap" -T fields -e frame.time_epoch -e frame.len 2>/dev/null) \
        <(tshark -r "$TMP/acc.pcap" -T fields -e frame.time_epoch -e frame.len 2>/dev/null) && ok ||
        fail "accepted pcap differs from the input (timestamps/lengths)"
fi

# --- --eve-types: only the types listed are written --------------------------
types() { jq -r .event_type "$1" | sort -u | tr '\n' ' '; }
APP="-S $DATA/app/app.rules -r $DATA/app/dns_udp.pcap"
"$GH" pcap --help | grep -q -- "--eve-types LIST" && ok || fail "pcap --help: --eve-types"
"$GH" nfq --help | grep -q -- "--eve-types LIST" && ok || fail "nfq --help: --eve-types"
"$GH" pcap $APP --eve "$TMP/all.json" 2>"$TMP/all.sum"; rc=$?
[ $rc -eq 0 ] && ok || fail "dns_udp.pcap: exit $rc"
expect "dns_udp.pcap types" "$(types "$TMP/all.json")" "alert dns flow stats "
"$GH" pcap $APP --eve "$TMP/ad.json" --eve-types alert,dns 2>"$TMP/ad.sum"; rc=$?
[ $rc -eq 0 ] && ok || fail "--eve-types alert,dns: exit $rc"
expect "--eve-types alert,dns" "$(types "$TMP/ad.json")" "alert dns "
# the same lines as without the option, and the same summary (counters)
cmp -s <(jq -c 'select(.event_type=="alert" or .event_type=="dns")' "$TMP/all.json") \
    <(jq -c . "$TMP/ad.json") && ok || fail "--eve-types alert,dns: lines differ from the full run"
nontimed() { grep -v -e '^time:' -e '^signatures: loaded' "$1"; }
cmp -s <(nontimed "$TMP/all.sum") <(nontimed "$TMP/ad.sum") && ok ||
    fail "--eve-types alert,dns: the summary changed"
[ "$(jq -r .event_type "$TMP/ad.json" | grep -c alert)" -gt 0 ] && ok || fail "no alert events"
# blanks around names, repeated options add up
"$GH" pcap -q $APP --eve "$TMP/t.json" --eve-types " flow" --eve-types "stats , dns"
expect "--eve-types repeated" "$(types "$TMP/t.json")" "dns flow stats "
# --no-flow-events takes flow out of the list, in either order
"$GH" pcap -q $APP --eve "$TMP/t.json" --no-flow-events --eve-types flow,alert
expect "--no-flow-events with --eve-types" "$(types "$TMP/t.json")" "alert "
"$GH" pcap -q $APP --eve "$TMP/t.json" --no-flow-events --no-anomaly-events
expect "--no-flow-events" "$(types "$TMP/t.json")" "alert dns stats "
# unknown or empty names: usage errors naming the token
"$GH" pcap $APP --eve "$TMP/t.json" --eve-types alert,nosuchtype 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "'nosuchtype'" "$TMP/err" && ok ||
    fail "--eve-types alert,nosuchtype: rc=$rc $(cat "$TMP/err")"
"$GH" pcap $APP --eve-types "alert,,dns" 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "empty event type" "$TMP/err" && ok || fail "--eve-types alert,,dns: rc=$rc"
"$GH" nfq -Q 0 --eve-types smb 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "'smb'" "$TMP/err" && ok || fail "nfq --eve-types smb: rc=$rc $(cat "$TMP/err")"

# --- corrupt input: everything before the bad record is processed ----------
if [ -f "$DATA/truncated.pcap" ]; then
    "$GH" pcap -r "$DATA/truncated.pcap" --eve "$TMP/t.json" 2>"$TMP/err"; rc=$?
    [ $rc -eq 1 ] && ok || fail "truncated.pcap must exit 1 (got $rc)"
    grep -q "truncated.pcap: packet 7 " "$TMP/err" && grep -q "byte offset" "$TMP/err" && ok ||
        fail "truncated.pcap error must name file, packet 7 and offset: $(cat "$TMP/err")"
    [ "$(stat_of "$TMP/t.json" pkts)" = 6 ] && ok || fail "truncated.pcap: the 6 good packets must be counted"
fi
if [ -f "$DATA/notapcap.pcap" ]; then
    "$GH" pcap -r "$DATA/notapcap.pcap" 2>"$TMP/err"; rc=$?
    [ $rc -eq 1 ] && grep -q "notapcap.pcap" "$TMP/err" && ok || fail "notapcap.pcap: rc=$rc"
fi

# --- every shipped sample decodes and counts right --------------------------
for f in "$DATA"/*.pcap "$DATA"/*.pcapng; do
    [ -f "$f" ] || continue
    case $(basename "$f") in truncated.pcap|corrupt_header.pcap|notapcap.pcap) continue ;; esac
    "$GH" pcap -q -r "$f" --eve "$TMP/s.json" 2>"$TMP/err" || { fail "$f: exit $? $(cat "$TMP/err")"; continue; }
    if need capinfos; then
        want=$(capinfos -c -M "$f" | awk '/Number of packets/{print $NF}')
        [ "$(stat_of "$TMP/s.json" pkts)" = "$want" ] && ok || fail "$f: pkts != capinfos $want"
    fi
done

# --- the corpus: packet counts vs capinfos, TCP/UDP vs tshark ---------------
if [ -n "$CORPUS" ] && [ -d "$CORPUS/pcaps" ] && need capinfos && need tshark; then
    total=0
    for f in "$CORPUS"/pcaps/*.pcap; do
        name=$(basename "$f")
        "$GH" pcap -r "$f" --eve "$TMP/c.json" 2>"$TMP/sum"; rc=$?
        [ $rc -eq 0 ] || { fail "$name: exit $rc"; continue; }
        want=$(capinfos -c -M "$f" | awk '/Number of packets/{print $NF}')
        total=$((total + want))
        got=$(stat_of "$TMP/c.json" pkts)
        grep -q "^packets: $want " "$TMP/sum" && [ "$got" = "$want" ] && ok ||
            fail "$name: packets summary/stats $got, capinfos $want"
        # tshark counts a TCP/UDP header wherever it appears, including the one
        # an ICMP error quotes; gatehouse counts those apart (icmp_quoting_*).
        tt=$(tshark -r "$f" -Y tcp 2>/dev/null | wc -l)
        tu=$(tshark -r "$f" -Y udp 2>/dev/null | wc -l)
        gt=$(( $(stat_of "$TMP/c.json" tcp) + $(stat_of "$TMP/c.json" icmp_quoting_tcp) ))
        gu=$(( $(stat_of "$TMP/c.json" udp) + $(stat_of "$TMP/c.json" icmp_quoting_udp) ))
        [ "$gt" = "$tt" ] && ok || fail "$name: tcp $gt, tshark $tt"
        [ "$gu" = "$tu" ] && ok || fail "$name: udp $gu, tshark $tu"
    done
    # the whole folder as a directory source: same total, ids continuous
    "$GH" pcap -q -r "$CORPUS/pcaps" --eve "$TMP/dir.json"; rc=$?
    [ $rc -eq 0 ] && [ "$(stat_of "$TMP/dir.json" pkts)" = "$total" ] && ok ||
        fail "directory run: rc=$rc pkts $(stat_of "$TMP/dir.json" pkts), want $total"
    # heap mapped ahead or not, or more of it (--warm-heap): the same events
    W="-r $CORPUS/pcaps -S $DATA/sample-signatures.rules -S $DATA/app/app.rules --stream-inspect acked"
    "$GH" pcap -q $W --eve "$TMP/w.json"; rc=$?
    for mib in 0 64; do
        "$GH" pcap -q $W --warm-heap $mib --eve "$TMP/w$mib.json"
        [ $rc -eq 0 ] && cmp -s "$TMP/w.json" "$TMP/w$mib.json" && ok ||
            fail "--warm-heap $mib: events differ from the default's"
    done
else
    echo "note: corpus or capinfos/tshark missing; corpus checks skipped"
fi

summary cli_pcap
