#!/usr/bin/env bash
# Evasion by IP fragmentation: a signature split across 8-byte fragments,
# in order, reversed, with a conflicting overlap (first data wins), and over
# IPv6, must still alert once, on the datagram, and never on the clean one.
# Captures come from tests/data/make_samples.py (make_evasion).
# Usage: cli_evasion.sh GATEHOUSE DATA_DIR
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

echo "cli_evasion: $checks checks passed, $fails failed"
[ $fails -eq 0 ]
