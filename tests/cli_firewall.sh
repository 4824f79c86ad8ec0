#!/usr/bin/env bash
# End-to-end test of the firewall tier through `gatehouse pcap -F`:
# verdicts, drop events naming the rule, the flow fast path, pcaps out, and
# rule errors. Usage: cli_firewall.sh GATEHOUSE DATA_DIR
set -u
GH=$1
DATA=$2
. "$(dirname "$0")/check_lib.sh"
stats() { jq -c "select(.event_type==\"stats\") | .stats.$2" "$1" | tail -n1; }

RULES=$DATA/sample-firewall.rules
PCAP=$DATA/fw_mix.pcap

"$GH" pcap -r "$PCAP" -F "$RULES" --policy drop --eve "$TMP/eve.json" \
    --write-accepted "$TMP/acc.pcap" --write-dropped "$TMP/drop.pcap" 2>"$TMP/sum"
expect "exit code" $? 0
expect "verdicts" "$(stats "$TMP/eve.json" verdict)" \
    '{"accepted":11,"dropped":3,"rejected":2,"drop_reason":{"firewall rule":4,"firewall policy":1,"signature":0,"flow drop":0,"exception policy":0}}'
expect "firewall counters" "$(stats "$TMP/eve.json" firewall)" '{"lookups":8,"fastpath":7,"non_ip":1}'
# one drop event per dropped packet, naming the rule (or the policy)
expect "drop events" "$(jq -c 'select(.event_type=="drop") | [.pcap_cnt, .verdict.action, .rule.signature_id]' \
    "$TMP/eve.json" | tr -d '\n')" '[7,"reject",1000002][8,"reject",1000002][13,"drop",1000003][15,"drop",1000003][16,"drop",null]'
expect "drop event rule file:line" "$(jq -r 'select(.event_type=="drop" and .pcap_cnt==13) | "\(.rule.line) \(.rule.signature)"' \
    "$TMP/eve.json")" "5 other TCP"
expect "drop event fields" "$(jq -c 'select(.event_type=="drop" and .pcap_cnt==7) | [.src_ip, .dest_port, .proto, .drop.syn, .drop.reason]' \
    "$TMP/eve.json")" '["192.168.1.10",22,"TCP",true,"firewall rule"]'
# the web flow's response and the DNS answer took the fast path: the flow
# event records the firewall's decision
expect "flow events" "$(jq -c 'select(.event_type=="flow")' "$TMP/eve.json" | wc -l)" 7
expect "summary per-rule hits" "$(grep -c 'sid 1000002    2 ' "$TMP/sum")" 1
if command -v capinfos >/dev/null; then
    expect "accepted pcap" "$(capinfos -c -M "$TMP/acc.pcap" | awk '/Number of packets/{print $NF}')" 11
    expect "dropped pcap" "$(capinfos -c -M "$TMP/drop.pcap" | awk '/Number of packets/{print $NF}')" 5
fi

# policy accept: the unmatched NTP packet is let through
"$GH" pcap -q -r "$PCAP" -F "$RULES" --policy accept --eve "$TMP/eve2.json"
expect "policy accept" "$(stats "$TMP/eve2.json" verdict.accepted)" 12

# --var overrides HOME_NET: the web rule no longer matches, rule 3 drops the SYN
"$GH" pcap -q -r "$PCAP" -F "$RULES" --policy drop --var 'HOME_NET=[10.0.0.0/8]' --eve "$TMP/eve3.json"
expect "--var HOME_NET" "$(jq -c 'select(.event_type=="drop" and .pcap_cnt==1) | .rule.signature_id' "$TMP/eve3.json")" 1000003

# a bad rule: exit 1, file:line:col naming the token, no packet processed
printf 'accept tcp any any -> any 80 (msg:"ok"; sid:1;)\ndrop tcp any any -> any any (content:"x"; sid:2;)\n' >"$TMP/bad.rules"
"$GH" pcap -r "$PCAP" -F "$TMP/bad.rules" --eve "$TMP/eve4.json" 2>"$TMP/err"
expect "bad rule exit" $? 1
grep -q "bad.rules:2:30: payload keyword 'content' is not allowed in a firewall rule" "$TMP/err" && ok ||
    fail "bad rule message: $(cat "$TMP/err")"
[ ! -s "$TMP/eve4.json" ] && ok || fail "no events may be written when the rules do not compile"
"$GH" pcap -r "$PCAP" --policy maybe 2>/dev/null
expect "--policy maybe" $? 2

# gatehouse check compiles the firewall too
"$GH" check -F "$RULES" 2>"$TMP/chk"
expect "check exit" $? 0
grep -q "^firewall: 5 rules" "$TMP/chk" && ok || fail "check summary: $(cat "$TMP/chk")"

summary cli_firewall
