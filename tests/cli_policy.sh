#!/usr/bin/env bash
# Failure policies (README "Failure policies"): each condition, under pcap's
# default (ignore) and under other policies, on captures that
# tests/policy_pcaps.py writes with small limits set by options. Checked:
# verdicts and drop reasons (stats), the counter of the condition and policy,
# the anomaly events, the packets --write-dropped wrote, and that a dropped
# flow stays dropped.
# Usage: cli_policy.sh GATEHOUSE TESTS_DIR
set -u
GH=$1
SRC=$2
. "$(dirname "$0")/check_lib.sh"
need jq || { echo "SKIP: jq not installed"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "SKIP: python3 scapy missing"; exit 77; }
/usr/bin/python3 "$SRC/policy_pcaps.py" "$TMP" || { echo "FAIL: policy_pcaps.py"; exit 1; }
cat > "$TMP/p.rules" <<'R'
alert tcp any any -> any any (msg:"evil"; content:"EVIL"; sid:1;)
alert http any any -> any any (msg:"evil uri"; http.uri; content:"EVIL"; sid:2;)
R

# run PCAP COND [OPTIONS...] -> "accepted dropped|policy counts of COND|anomaly
# events (pcap_cnt:event:policy)|alerts (pcap_cnt:sid)|packets written dropped"
run() {
    local pcap=$1 cond=$2
    shift 2
    rm -f "$TMP/e.json" "$TMP/d.pcap"
    "$GH" pcap -q -r "$TMP/$pcap" -S "$TMP/p.rules" --eve "$TMP/e.json" \
        --write-dropped "$TMP/d.pcap" "$@" || { echo "exit $?"; return; }
    local v c a al w
    v=$(jq -r 'select(.event_type=="stats") | .stats.verdict
        | "\(.accepted) \(.dropped)"' "$TMP/e.json")
    c=$(jq -r --arg c "$cond" 'select(.event_type=="stats") | .stats.exception_policy[$c]
        | to_entries | map(select(.value > 0) | "\(.key)=\(.value)") | join(",")' "$TMP/e.json")
    a=$(jq -r 'select(.event_type=="anomaly" and .anomaly.type=="exception_policy")
        | "\(.pcap_cnt):\(.anomaly.event):\(.anomaly.policy)"' "$TMP/e.json" | tr '\n' ' ')
    al=$(jq -r 'select(.event_type=="alert") | "\(.pcap_cnt):\(.alert.signature_id)"' \
        "$TMP/e.json" | tr '\n' ' ')
    w=0
    [ -s "$TMP/d.pcap" ] && w=$("$GH" pcap -q -r "$TMP/d.pcap" --eve - |
        jq -r 'select(.event_type=="stats") | .stats.decoder.pkts')
    echo "$v|$c|$a|$al|$w"
}
# drop reasons: "exception policy" (the packet the policy applied to) and
# "flow drop" (the later packets of a flow it dropped)
reasons() { jq -r 'select(.event_type=="drop") | "\(.pcap_cnt):\(.drop.reason)"' "$TMP/e.json" |
    head -n "${1:-1000}" | tr '\n' ','; }

# --- flow table full: 4 connections at once, room for 2 -----------------------
# ignore (pcap's default) evicts live flows to make room: every packet inspected
expect "flow-full default" "$(run flows.pcap flow_memcap --max-flows 2)" \
    "32 0|||13:1 15:1 17:1 19:1 19:2 |0"
# drop-packet: the 10 packets of the 2 connections that found no room (until
# the first 2 closed); events at the 1st, 2nd, 4th and 8th of them
expect "flow-full drop-packet" \
    "$(run flows.pcap flow_memcap --max-flows 2 --on-flow-full drop-packet)" \
    "22 10|drop_packet=10|7:flow_memcap:drop_packet 8:flow_memcap:drop_packet \
10:flow_memcap:drop_packet 18:flow_memcap:drop_packet |13:1 13:2 15:1 15:2 |10"
# a flow policy on a packet condition acts on the packet (as Suricata)
expect "flow-full drop-flow is drop-packet" \
    "$(run flows.pcap flow_memcap --max-flows 2 --on-flow-full drop-flow | cut -d'|' -f1,2)" \
    "22 10|drop_packet=10"
# pass-packet: accepted without inspection (no alerts from the 2 connections)
expect "flow-full pass-packet" \
    "$(run flows.pcap flow_memcap --max-flows 2 --on-flow-full pass-packet | cut -d'|' -f1,2,4,5)" \
    "32 0|pass_packet=10|13:1 13:2 15:1 15:2 |0"
# the same with 2 threads (the flows share an address pair: one worker)
expect "flow-full drop-packet, 2 threads" \
    "$(run flows.pcap flow_memcap --max-flows 2 --on-flow-full drop-packet --threads 2 |
        cut -d'|' -f1,2,5)" "22 10|drop_packet=10|10"

# --- stream state full: room for one connection's stream state ----------------
expect "stream-memcap default" "$(run flows.pcap stream_memcap --stream-max-flows 1)" \
    "32 0|ignore=24||13:1 13:2 15:1 17:1 19:1 |0"
# drop-flow: the 3 connections without state are dropped from their SYN on
expect "stream-memcap drop-flow" \
    "$(run flows.pcap stream_memcap --stream-max-flows 1 --on-stream-memcap drop-flow)" \
    "8 24|drop_flow=3|4:stream_memcap:drop_flow 7:stream_memcap:drop_flow \
10:stream_memcap:drop_flow |13:1 13:2 |24"
expect "stream-memcap drop-flow: reasons" "$(reasons 3)" \
    "4:exception policy,5:flow drop,6:flow drop,"
# bypass: accepted, never inspected again (one event per flow)
expect "stream-memcap bypass" \
    "$(run flows.pcap stream_memcap --stream-max-flows 1 --on-stream-memcap bypass)" \
    "32 0|bypass=3|4:stream_memcap:bypass 7:stream_memcap:bypass \
10:stream_memcap:bypass |13:1 13:2 |0"
# the reassembly memcap: 2 KiB hold 3 chunks, the 4th of 5 segments sent ahead
# of the first finds none (not a flow's own out-of-order limit)
expect "stream-memcap reassembly default" "$(run ooo.pcap stream_memcap --stream-memcap 2k)" \
    "14 0|ignore=2||null:1 |0"
expect "stream-memcap reassembly within the memcap" \
    "$(run ooo.pcap stream_memcap | cut -d'|' -f1,2,4)" "14 0||11:1 "
expect "stream-memcap reassembly drop-flow" \
    "$(run ooo.pcap stream_memcap --stream-memcap 2k --on-stream-memcap drop-flow)" \
    "6 8|drop_flow=1|7:stream_memcap:drop_flow ||8"
expect "stream-memcap sizes: bad value" \
    "$("$GH" pcap -q -r "$TMP/flows.pcap" --stream-memcap 12x 2>&1; echo "rc=$?")" \
    "gatehouse pcap: a memcap takes 1 byte to 1024g (k, m, g suffixes), not '12x'
rc=2"

# --- parser states full: room for one connection's HTTP parser ----------------
expect "app-memcap default" "$(run flows.pcap app_layer_memcap --app-max-flows 1)" \
    "32 0|ignore=3||13:1 13:2 15:1 17:1 19:1 |0"
expect "app-memcap bypass" \
    "$(run flows.pcap app_layer_memcap --app-max-flows 1 --on-app-memcap bypass)" \
    "32 0|bypass=3|15:app_layer_memcap:bypass 17:app_layer_memcap:bypass \
19:app_layer_memcap:bypass |13:1 13:2 |0"
expect "app-memcap drop-packet" \
    "$(run flows.pcap app_layer_memcap --app-max-flows 1 --on-app-memcap drop-packet |
        cut -d'|' -f1,2,5)" "29 3|drop_packet=3|3"

# --- parser error: a request with an invalid Content-Length ------------------
expect "app-error default" "$(run apperr.pcap app_layer_error)" "9 0|ignore=1||6:1 |0"
# drop-packet drops the packet the error was found in, the flow goes on
expect "app-error drop-packet" "$(run apperr.pcap app_layer_error --on-app-error drop-packet)" \
    "8 1|drop_packet=1|4:app_layer_error:drop_packet |6:1 |1"
expect "app-error drop-flow" "$(run apperr.pcap app_layer_error --on-app-error drop-flow)" \
    "3 6|drop_flow=1|4:app_layer_error:drop_flow ||6"
# pass-flow: tracked and parsed, no signature matches any more
expect "app-error pass-flow" "$(run apperr.pcap app_layer_error --on-app-error pass-flow)" \
    "9 0|pass_flow=1|4:app_layer_error:pass_flow ||0"

# --- midstream: a connection without its handshake, then a whole one ---------
expect "midstream default" "$(run midstream.pcap stream_midstream)" \
    "10 0|ignore=1||1:1 3:1 7:1 |0"
expect "midstream drop-flow" "$(run midstream.pcap stream_midstream --on-midstream drop-flow)" \
    "7 3|drop_flow=1|1:stream_midstream:drop_flow |7:1 |3"
expect "midstream drop-flow: reasons" "$(reasons)" \
    "1:exception policy,2:flow drop,3:flow drop,"
expect "midstream bypass" "$(run midstream.pcap stream_midstream --on-midstream bypass)" \
    "10 0|bypass=1|1:stream_midstream:bypass |7:1 |0"
# a packet policy on a flow condition acts on the flow
expect "midstream drop-packet is drop-flow" \
    "$(run midstream.pcap stream_midstream --on-midstream drop-packet | cut -d'|' -f1,2)" \
    "7 3|drop_flow=1"
# the master switch; a specific option wins over it
expect "exception-policy drop-flow" \
    "$(run midstream.pcap stream_midstream --exception-policy drop-flow | cut -d'|' -f1,2)" \
    "7 3|drop_flow=1"
expect "specific option over the master switch" \
    "$(run midstream.pcap stream_midstream --exception-policy drop-flow --on-midstream ignore |
        cut -d'|' -f1,2)" "10 0|ignore=1"
expect "midstream with --midstream" \
    "$(run midstream.pcap stream_midstream --midstream | cut -d'|' -f1,2)" "10 0|ignore=1"

# --- decompression cap: a gzip body inflating to 64 KiB, cap 1 KiB -----------
expect "decompress-cap default" "$(run bomb.pcap decompress_cap --decompress-cap 1k)" \
    "10 0|ignore=1||7:1 7:2 |0"
expect "decompress-cap drop-flow" \
    "$(run bomb.pcap decompress_cap --decompress-cap 1k --on-decompress-cap drop-flow)" \
    "4 6|drop_flow=1|5:decompress_cap:drop_flow ||6"
expect "decompress-cap under the cap" "$(run bomb.pcap decompress_cap | cut -d'|' -f1,2)" "10 0|"

# --- usage errors --------------------------------------------------------------
expect "bad policy" "$("$GH" pcap -q -r "$TMP/flows.pcap" --on-app-error drop 2>&1; echo "rc=$?")" \
    "gatehouse pcap: --on-app-error: unknown policy 'drop' (auto, ignore, pass-packet, \
pass-flow, bypass, drop-packet or drop-flow)
rc=2"
expect "bad master policy" \
    "$("$GH" pcap -q -r "$TMP/flows.pcap" --exception-policy x 2>&1 | head -c 40; echo)" \
    "gatehouse pcap: --exception-policy: unkn"
expect "bad count" "$("$GH" pcap -q -r "$TMP/flows.pcap" --max-flows 0 2>&1; echo "rc=$?")" \
    "gatehouse pcap: --max-flows takes 1 to 2^30 flows, not '0'
rc=2"
expect "nfq takes the options" \
    "$("$GH" nfq --queue 0 --on-flow-full sideways 2>&1 | head -c 43; echo)" \
    "gatehouse nfq: --on-flow-full: unknown poli"

summary cli_policy
