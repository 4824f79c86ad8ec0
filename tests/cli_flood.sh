#!/usr/bin/env bash
# Floods through `gatehouse pcap`, bounded in time and count: captures built
# by gen_flows at test time, every run under timeout(1), peak RSS measured
# with /usr/bin/time against a bound derived from the engine's defaults.
#   syn N        N SYNs, each a new flow (N > 2^20 fills the default table):
#                every packet gets a verdict, the written captures add up,
#                flows evicted = N - 2^20, none refused (pool_full 0), RSS
#                within the flow table's size over a 1000-SYN run
#   http N       N pipelined requests on one connection, 8 a segment:
#                N http events, the last request's signatures fire, RSS
#                independent of N; then N requests never answered: the
#                16-slot transaction ring fills, counted as one anomaly
#   slowloris F  F connections (F > 8192, the default per-flow parser and
#                stream states) sending a request head 3 bytes a second,
#                never finished, and 16 sending past header_limit: bounded
#                RSS, one REQUEST_FIELD_TOO_LONG per long head, every flow
#                ends by timeout with its flow and http events
# With "sanitized" last, RSS bounds are not checked (ASan's shadow memory
# and quarantine are not the engine's).
# Usage: cli_flood.sh GATEHOUSE GEN_FLOWS syn|http|slowloris COUNT [sanitized]
set -u
GH=$1
GEN=$2
MODE=$3
COUNT=$4
SANITIZED=${5:-}
. "$(dirname "$0")/check_lib.sh"

RUN_LIMIT=300 # seconds any one run may take
# run NAME ARGS...: gatehouse pcap ARGS, stderr to $TMP/NAME.err, peak RSS (KiB) to $TMP/NAME.rss;
# no heap mapped ahead (--warm-heap 0): its size follows the capture's, and the
# bounds are about what the engine itself grows to
run() {
    local name=$1
    shift
    timeout -s KILL $RUN_LIMIT /usr/bin/time -f %M -o "$TMP/$name.rss" "$GH" pcap --warm-heap 0 "$@" \
        2>"$TMP/$name.err"
    local rc=$?
    expect "$name: exit code" $rc 0
    [ $rc -eq 137 ] && fail "$name: killed after $RUN_LIMIT s (a hang?)"
}
rss() { tail -n1 "$TMP/$1.rss"; }
# rss_within NAME BOUND_KIB WHY
rss_within() {
    [ -n "$SANITIZED" ] && return
    local got
    got=$(rss "$1")
    if [ "$got" -le "$2" ]; then ok; else fail "$1: peak RSS $got KiB above $2 KiB ($3)"; fi
    echo "$1: peak RSS $got KiB (bound $2 KiB: $3)"
}
# field NAME REGEX: the number after REGEX in run NAME's summary
field() { sed -n "s/$2 \([0-9][0-9]*\).*/\1/p" "$TMP/$1.err" | head -n1; }
events() { jq -c "select(.event_type==\"$2\") ${3:-}" "$TMP/$1.json" | wc -l; } # NAME TYPE [FILTER]
# packets in a pcap written by gatehouse whose frames are all LEN bytes
pcap_count() { echo $((($(stat -c %s "$1") - 24) / (16 + $2))); }

need jq || { echo "SKIP: needs jq"; exit 77; }
[ -x /usr/bin/time ] || { echo "SKIP: needs /usr/bin/time"; exit 77; }

case $MODE in
syn)
    printf 'drop tcp any any -> any 81 (msg:"no 81"; sid:1;)\n' >"$TMP/fw.rules"
    printf 'alert tcp any any -> any 80 (msg:"evil"; content:"evil"; sid:2;)\n' >"$TMP/sig.rules"
    "$GEN" --syn "$TMP/syn.pcap" "$COUNT" >"$TMP/gen.out" || fail "gen_flows --syn"
    "$GEN" --syn "$TMP/base.pcap" 1000 >/dev/null || fail "gen_flows --syn 1000"
    table=$(sed -n 's/^flow table: \([0-9]*\) bytes for \([0-9]*\) flows/\1/p' "$TMP/gen.out")
    slots=$(sed -n 's/^flow table: \([0-9]*\) bytes for \([0-9]*\) flows/\2/p' "$TMP/gen.out")
    args=(-F "$TMP/fw.rules" -S "$TMP/sig.rules" --no-flow-events)
    run base -r "$TMP/base.pcap" "${args[@]}"
    run syn -r "$TMP/syn.pcap" "${args[@]}" --write-accepted "$TMP/acc.pcap" \
        --write-dropped "$TMP/drop.pcap"
    expect "packets read" "$(field syn "^packets:")" "$COUNT"
    acc=$(field syn "^verdicts: accepted")
    drop=$(field syn "^verdicts:.*  dropped")
    rej=$(field syn "^verdicts:.*  rejected")
    expect "accepted + dropped + rejected" $((acc + drop + rej)) "$COUNT"
    expect "accepted (port 80)" "$acc" $(((COUNT + 1) / 2))
    expect "written accepted" "$(pcap_count "$TMP/acc.pcap" 54)" "$acc"
    expect "written dropped" "$(pcap_count "$TMP/drop.pcap" 54)" "$drop"
    live=$((COUNT < slots ? COUNT : slots))
    expect "flows line" "$(grep '^flows:' "$TMP/syn.err")" \
        "flows: $COUNT (0 timed out, $((COUNT - live)) evicted, $live at end of input)"
    grep -q "^flow table full" "$TMP/syn.err" &&
        fail "packets without a flow: $(grep '^flow table full' "$TMP/syn.err")"
    # every flow's 192-byte entry and the index touched once, nothing per packet
    rss_within syn $(($(rss base) + table / 1024 + 16384)) \
        "1000-SYN run + flow table of $slots flows ($table bytes) + 16 MiB"
    ;;
http)
    cat >"$TMP/http.rules" <<'EOF'
alert http any any -> any any (msg:"last request"; http.uri; content:"/last-request"; sid:10;)
alert tcp any any -> any 80 (msg:"last request raw"; content:"GET /last-request"; sid:11;)
EOF
    "$GEN" --pipeline "$TMP/pipe.pcap" "$COUNT" 8 >/dev/null || fail "gen_flows --pipeline"
    "$GEN" --pipeline "$TMP/base.pcap" 100 8 >/dev/null || fail "gen_flows --pipeline 100"
    "$GEN" --pipeline "$TMP/unans.pcap" "$COUNT" 8 unanswered >/dev/null ||
        fail "gen_flows --pipeline unanswered"
    run base -r "$TMP/base.pcap" -S "$TMP/http.rules"
    run pipe -r "$TMP/pipe.pcap" -S "$TMP/http.rules" --eve "$TMP/pipe.json"
    expect "http events" "$(events pipe http)" "$COUNT"
    expect "app layer line" "$(grep '^app layer:' "$TMP/pipe.err")" \
        "app layer: $COUNT transactions, 0 parser anomalies, 0 flows not parsed (parser pool full)"
    expect "http.uri alert on the last tx" \
        "$(jq -c 'select(.event_type=="alert" and .alert.signature_id==10) | .tx_id' \
            "$TMP/pipe.json")" $((COUNT - 1))
    expect "raw alert on the last request" \
        "$(events pipe alert '| select(.alert.signature_id==11)')" 1
    # transactions retire as answered: the state is that of a 100-request flow
    rss_within pipe $(($(rss base) + 2048)) "100-request run + 2 MiB"

    # never answered: 16 (max_tx) transactions, then the request side stops,
    # counted even without anomaly events; the stream is still inspected
    run unans -r "$TMP/unans.pcap" -S "$TMP/http.rules" --eve "$TMP/unans.json" \
        --no-anomaly-events
    expect "unanswered: http events" "$(events unans http)" 16
    expect "unanswered: app layer line" "$(grep '^app layer:' "$TMP/unans.err")" \
        "app layer: 16 transactions, 1 parser anomalies, 0 flows not parsed (parser pool full)"
    expect "unanswered: stats event anomalies" \
        "$(jq -c 'select(.event_type=="stats") | .stats.app_layer' "$TMP/unans.json")" \
        '{"tx":16,"anomalies":1,"no_state":0}'
    expect "unanswered: raw alert on the last request" \
        "$(events unans alert '| select(.alert.signature_id==11)')" 1
    run unans_ev -r "$TMP/unans.pcap" -S "$TMP/http.rules" --eve "$TMP/unans_ev.json"
    expect "unanswered: the anomaly event" \
        "$(jq -c 'select(.event_type=="anomaly") | .anomaly.event' "$TMP/unans_ev.json")" \
        '"UNKNOWN_ERROR"'
    rss_within unans $(($(rss base) + 2048)) "100-request run + 2 MiB"
    ;;
slowloris)
    printf 'alert http any any -> any any (msg:"slow"; http.uri; content:"/slow"; sid:20;)\n' \
        >"$TMP/slow.rules"
    states=8192 # gh_engine_config stream_flows: parser and stream states at once
    "$GEN" --slowloris "$TMP/many.pcap" "$COUNT" 8 3 >/dev/null || fail "gen_flows --slowloris"
    "$GEN" --slowloris "$TMP/base.pcap" 1 8 3 >/dev/null || fail "gen_flows --slowloris 1"
    # 16 heads of 24000 bytes sent 4 bytes a second: past header_limit (18000)
    "$GEN" --slowloris "$TMP/long.pcap" 16 6000 4 >/dev/null || fail "gen_flows --slowloris long"
    run base -r "$TMP/base.pcap" -S "$TMP/slow.rules"
    run many -r "$TMP/many.pcap" -S "$TMP/slow.rules" --eve "$TMP/many.json"
    expect "flow events ended by timeout" \
        "$(events many flow '| select(.flow.reason=="timeout")')" "$COUNT"
    expect "http events: one per parser state" "$(events many http)" \
        $((COUNT < states ? COUNT : states))
    expect "alerts: one per parsed head" "$(events many alert)" $((COUNT < states ? COUNT : states))
    alone=$(field many "^streams:.*reassembled,")
    [ "$alone" -ge $(((COUNT - states) * 8)) ] && ok ||
        fail "flows beyond the states: $alone packets inspected alone," \
            "want >= $(((COUNT - states) * 8))"
    # a parser state with its 16 transaction slots, inflate buffer and
    # states and the two 4 KiB stream windows stays under 48 KiB
    rss_within many $(($(rss base) + states * 48)) "1-flow run + $states states x 48 KiB"

    run long -r "$TMP/long.pcap" -S "$TMP/slow.rules" --eve "$TMP/long.json"
    expect "REQUEST_FIELD_TOO_LONG, one per long head" \
        "$(events long anomaly '| select(.anomaly.event=="REQUEST_FIELD_TOO_LONG")')" 16
    expect "long heads: flows ended by timeout" \
        "$(events long flow '| select(.flow.reason=="timeout")')" 16
    expect "long heads: http events" "$(events long http)" 16
    expect "long heads: app layer line" "$(grep '^app layer:' "$TMP/long.err")" \
        "app layer: 16 transactions, 16 parser anomalies, 0 flows not parsed (parser pool full)"
    # buffers stop at header_limit: at most 2 x 32 KiB (line, raw head) more per flow
    rss_within long $(($(rss base) + 16 * (48 + 64) + 4096)) "1-flow run + 16 x 112 KiB + 4 MiB"
    ;;
*)
    fail "unknown mode $MODE"
    ;;
esac
for f in "$TMP"/*.rss; do
    printf '%s: %s KiB peak, ' "$(basename "$f" .rss)" "$(rss "$(basename "$f" .rss)")"
done
echo
summary "cli_flood $MODE"
