#!/usr/bin/env bash
# Evasion by fragmentation and segmentation: a signature split across 8-byte
# IP fragments (in order, reversed, conflicting overlap, IPv6) or across TCP
# segments (3 segments, 1-byte segments, reversed with retransmissions,
# conflicting overlaps) must alert once, and never on the clean copy.
# Captures come from tests/data/make_samples.py (make_evasion, make_evasion_tcp).
# Holes the capture missed: the bytes after them are inspected when the
# receiver acknowledges past the hole, or at flow end.
# Usage: cli_evasion.sh GATEHOUSE DATA_DIR [CORPUS_DIR]
set -u
GH=$1
DATA=$2
CORPUS=${3:-}
. "$(dirname "$0")/check_lib.sh"

run() { # pcap -> "alerts|defrag stats"
    "$GH" pcap -q -r "$DATA/$1" -S "$DATA/evasion.rules" --eve "$TMP/eve.json" || { echo "exit $?"; return; }
    printf '%s|%s' "$(jq -c 'select(.event_type=="alert") | [.pcap_cnt, .alert.signature_id, .src_ip]' "$TMP/eve.json" | tr -d '\n')" \
        "$(jq -c 'select(.event_type=="stats") | .stats.defrag' "$TMP/eve.json")"
}

expect "IPv4 in order" "$(run evasion_frag4_inorder.pcap)" \
    '[8,3000001,"192.0.2.1"]|{"held":14,"reassembled":2,"conflicts":0,"refused":0}'
expect "IPv4 reversed" "$(run evasion_frag4_reversed.pcap)" \
    '[8,3000001,"192.0.2.1"]|{"held":14,"reassembled":2,"conflicts":0,"refused":0}'
expect "IPv4 conflicting overlap, first data wins" "$(run evasion_frag4_overlap.pcap)" \
    '[9,3000001,"192.0.2.1"]|{"held":8,"reassembled":1,"conflicts":1,"refused":0}'
expect "IPv6 reversed" "$(run evasion_frag6.pcap)" \
    '[14,3000001,"2001:db8::1"]|{"held":12,"reassembled":2,"conflicts":0,"refused":0}'

# TCP: the signature split over segments must alert exactly once, on the
# packet that completes it; first data wins on conflicting overlaps.
alerts() { "$GH" pcap -q -r "$DATA/$1" -S "$DATA/evasion.rules" --eve - |
    jq -c 'select(.event_type=="alert") | [.pcap_cnt, .src_port, .alert.signature_id]' | tr -d '\n'; }
expect "TCP split in 3 segments" "$(alerts evasion_tcp_split.pcap)" '[6,41000,3000002]'
expect "TCP 1-byte segments" "$(alerts evasion_tcp_tiny.pcap)" '[46,41001,3000002]'
expect "TCP reversed then retransmitted" "$(alerts evasion_tcp_reorder.pcap)" '[8,41002,3000002]'
expect "TCP conflicting overlaps (first data wins)" "$(alerts evasion_tcp_overlap.pcap)" '[14,41004,3000002]'
# the two overlaps that disagree with delivered bytes are counted (compared
# with the inspection window's copy of the delivered stream)
streamstats() { "$GH" pcap -q -r "$DATA/$1" -S "$DATA/evasion.rules" --eve - |
    jq -c 'select(.event_type=="stats") | .stats.stream | [.conflicts, .gaps]'; }
expect "TCP conflicts counted" "$(streamstats evasion_tcp_overlap.pcap)" '[2,0]'
expect "TCP retransmissions equal to the data: no conflict" "$(streamstats evasion_tcp_reorder.pcap)" '[0,0]'

# tcp-pkt signatures see packets only (the split signature is not in any one
# packet); tcp-stream ones the stream only
printf '%s\n' \
    'alert tcp-pkt any any -> any 80 (msg:"packet only"; content:"EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS"; sid:11;)' \
    'alert tcp-stream any any -> any 80 (msg:"stream only"; content:"EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS"; sid:12;)' \
    >"$TMP/scope.rules"
expect "tcp-pkt vs tcp-stream" "$("$GH" pcap -q -r "$DATA/evasion_tcp_split.pcap" -S "$TMP/scope.rules" --eve - |
    jq -c 'select(.event_type=="alert") | [.pcap_cnt, .alert.signature_id]' | tr -d '\n')" '[6,12]'

# ip, tcp and tcp-stream signatures alike (types stream; an anchored ip one,
# pkt_stream, matches the stream too): each evasion alerts once, on the
# packet that completes the signature (inline), or at flow end when the
# stream is inspected once acknowledged (IDS, as Suricata 7 reports these
# captures: pcap_cnt null); the tcp-pkt one (type pkt) never
printf '%s\n' \
    'alert ip any any -> any 80 (msg:"ip"; content:"EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS"; sid:21;)' \
    'alert tcp any any -> any 80 (msg:"tcp"; content:"EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS"; sid:22;)' \
    'alert tcp-stream any any -> any 80 (msg:"tcp-stream"; content:"EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS"; sid:23;)' \
    'alert ip any any -> any 80 (msg:"ip, anchored"; content:"GET /x?q=EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS"; depth:60; sid:24;)' \
    'alert tcp-pkt any any -> any 80 (msg:"tcp-pkt"; content:"EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS"; sid:25;)' \
    >"$TMP/protos.rules"
protos() { "$GH" pcap -q -r "$DATA/$1" -S "$TMP/protos.rules" --stream-inspect "$2" --eve - |
    jq -c 'select(.event_type=="alert") | [.pcap_cnt, .alert.signature_id]' | tr -d '\n'; }
for c in split:6 tiny:46 reorder:8 overlap:14; do
    cap=evasion_tcp_${c%%:*}.pcap
    n=${c##*:}
    expect "$cap: ip, tcp, tcp-stream alike, inline" "$(protos "$cap" arrival)" \
        "[$n,21][$n,22][$n,23][$n,24]"
    expect "$cap: ip, tcp, tcp-stream alike, IDS" "$(protos "$cap" acked)" \
        '[null,21][null,22][null,23][null,24]'
done

# Without an anchored or tcp-pkt signature (no packet-scope fast pattern in
# the streaming database) IDS inspection feeds the Hyperscan stream when it
# verifies, a chunk at a time, not each packet on arrival: the same alerts.
grep -v 'sid:2[45];' "$TMP/protos.rules" >"$TMP/stream_only.rules"
streamonly() { "$GH" pcap -q -r "$DATA/$1" -S "$TMP/stream_only.rules" --stream-inspect "$2" --eve - |
    jq -c 'select(.event_type=="alert") | [.pcap_cnt, .alert.signature_id]' | tr -d '\n'; }
for c in split:6 tiny:46 reorder:8 overlap:14; do
    cap=evasion_tcp_${c%%:*}.pcap
    n=${c##*:}
    expect "$cap: stream signatures only, inline" "$(streamonly "$cap" arrival)" "[$n,21][$n,22][$n,23]"
    expect "$cap: stream signatures only, IDS (fed when verified)" "$(streamonly "$cap" acked)" \
        '[null,21][null,22][null,23]'
done

# A packet-scope signature (type pkt) matches on its packet in both modes.
# Its candidates come from the one Hyperscan stream scan of the packet's
# bytes, which IDS runs on arrival though it verifies the stream only once
# acknowledged: no payload is scanned twice (stats.stream.rescans).
printf '%s\n' \
    'alert tcp-pkt any any -> any 80 (msg:"tcp-pkt, one segment"; content:"P-SIGNATURE-AC"; sid:26;)' \
    'alert tcp any any -> any 80 (msg:"tcp, split"; content:"EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS"; sid:27;)' \
    >"$TMP/pkt.rules"
pktscope() { "$GH" pcap -q -r "$DATA/evasion_tcp_split.pcap" -S "$TMP/pkt.rules" --stream-inspect "$1" --eve - |
    jq -c 'if .event_type=="alert" then [.pcap_cnt, .alert.signature_id] elif .event_type=="stats" then .stats.stream.rescans else empty end' | tr -d '\n'; }
expect "packet scope on its packet, inline, no rescan" "$(pktscope arrival)" '[5,26][6,27]0'
expect "packet scope on its packet, IDS, no rescan" "$(pktscope acked)" '[5,26][null,27]0'

# alert payload fields: a stream match shows the reassembled bytes, a
# reassembled datagram the whole datagram's payload and pkt_src "defrag"
expect "stream match payload" "$("$GH" pcap -q -r "$DATA/evasion_tcp_split.pcap" -S "$DATA/evasion.rules" \
    --eve-payload-printable --eve - | jq -c 'select(.event_type=="alert") | [.pcap_cnt, .pkt_src, .stream, .payload_printable]')" \
    '[6,"wire/pcap",1,"GET /x?q=EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS HTTP/1.0\r\n\r\n"]'
expect "datagram payload" "$("$GH" pcap -q -r "$DATA/evasion_frag4_inorder.pcap" -S "$DATA/evasion.rules" \
    --eve-payload --eve - | jq -c 'select(.event_type=="alert") | [.pkt_src, .stream, (.payload | @base64d)]')" \
    '["defrag",0,"xxxxxxxEVIL-SIGNATURE-SPLIT-ACROSS-FRAGMENTSxxxxxxx"]'

# A hole never filled (4 bytes the capture missed, the receiver ACKs past
# them): "DATA" after it is still inspected, at flow end; in both modes.
SV=$CORPUS/suricata-verify/eve-payload-05-tcp-data-gap
if [ -n "$CORPUS" ] && [ -f "$SV/tcp-simple-gap2.pcap" ]; then
    holes() { "$GH" pcap -q -r "$SV/tcp-simple-gap2.pcap" -S "$SV/test.rules" -k none \
        --stream-inspect "$1" --eve-payload-printable --eve - |
        jq -c 'select(.event_type=="alert" and .stream==1) | [.pcap_cnt, .alert.signature_id, .pkt_src, .payload_printable]' | tr -d '\n'; }
    expect "hole, inspected on arrival then at flow end" "$(holes arrival)" \
        '[5,1,"wire/pcap","VERY"][null,3,"stream (flow timeout)","VERY[4 bytes missing]DATA"]'
    expect "hole, IDS: everything at flow end (no packet of the sender after the ACK)" "$(holes acked)" \
        '[null,1,"stream (flow timeout)","VERY[4 bytes missing]DATA"][null,3,"stream (flow timeout)","VERY[4 bytes missing]DATA"]'
    expect "bad --stream-inspect value" "$("$GH" pcap -q -r "$SV/tcp-simple-gap2.pcap" --stream-inspect sometimes 2>&1 >/dev/null; echo "rc=$?")" \
        "gatehouse pcap: --stream-inspect: unknown value 'sometimes' (arrival or acked)
rc=2"
else
    echo "skipped: hole checks (no corpus at '$CORPUS')"
fi

summary cli_evasion
