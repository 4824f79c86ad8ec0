#!/usr/bin/env bash
# End-to-end test of the signature tier through `gatehouse pcap -S`:
# alerts (allowed/blocked), action precedence and --action-order, a drop
# dropping the rest of its flow, skipped unsupported rules, and rule errors.
# Usage: cli_signatures.sh GATEHOUSE DATA_DIR
set -u
GH=$1
DATA=$2
. "$(dirname "$0")/check_lib.sh"
SIGS=$DATA/sample-signatures.rules

"$GH" pcap -r "$DATA/fw_mix.pcap" -S "$SIGS" --eve "$TMP/eve.json" 2>"$TMP/sum"
expect "exit" $? 0
grep -q "signatures: loaded 7, skipped 0" "$TMP/sum" && ok || fail "load report: $(head -1 "$TMP/sum")"
expect "events" "$(jq -c 'select(.event_type=="alert" or .event_type=="drop") | [.pcap_cnt, .event_type, .alert.action, (.alert.signature_id // .drop.reason)]' \
    "$TMP/eve.json" | tr -d '\n')" \
    '[4,"alert","allowed",2000001][5,"alert","blocked",2000002][5,"drop",null,"signature"][6,"drop",null,"flow drop"][11,"alert","allowed",2000005]'
expect "detect stats" "$(jq -c 'select(.event_type=="stats") | .stats.detect' "$TMP/eve.json")" \
    '{"inspected":13,"alerts":3,"passed":1,"truncated":0,"threshold_expired":0,"threshold_evicted":0,"tagged":0,"tag_refused":0,"tag_evicted":0}'
expect "alert fields" "$(jq -c 'select(.event_type=="alert" and .pcap_cnt==4) | [.src_ip, .dest_port, .alert.signature, .alert.rev, .alert.severity]' \
    "$TMP/eve.json")" '["192.168.1.10",80,"HTTP GET request",1,3]'

# real traffic: the SQL injection capture (content + pcre)
"$GH" pcap -q -r "$DATA/sample.pcap" -S "$SIGS" --eve "$TMP/eve2.json"
expect "sqli alerts" "$(jq -c 'select(.event_type=="alert") | [.pcap_cnt, .alert.signature_id]' "$TMP/eve2.json" | tr -d '\n')" \
    '[4,2000001][16,2000001][16,2000006][27,2000001][27,2000006]'

# firewall first: a flow the firewall passes is never inspected
printf 'pass tcp any any -> any 80 (msg:"trusted web"; sid:1;)\n' >"$TMP/fw.rules"
"$GH" pcap -q -r "$DATA/fw_mix.pcap" -F "$TMP/fw.rules" -S "$SIGS" --eve "$TMP/eve3.json"
expect "pass skips DPI" "$(jq -c 'select(.event_type=="alert") | .alert.signature_id' "$TMP/eve3.json" | tr -d '\n')" 2000005

# a directory of rules, read in name order
mkdir "$TMP/dir" && cp "$SIGS" "$TMP/dir/a.rules" && echo "not rules" >"$TMP/dir/README"
"$GH" pcap -q -r "$DATA/fw_mix.pcap" -S "$TMP/dir" --eve "$TMP/eve4.json"
expect "-S DIR" "$(jq -c 'select(.event_type=="stats") | .stats.detect.alerts' "$TMP/eve4.json")" 3

# the flow keyword sees the flow as each packet found it (not as the end of
# its batch left it): only the SYN and SYN/ACK are before establishment
printf 'alert tcp any any -> any any (msg:"not yet"; flow:not_established; sid:7;)\n' >"$TMP/ne.rules"
"$GH" pcap -q -r "$DATA/evasion_tcp_split.pcap" -S "$TMP/ne.rules" --eve "$TMP/eve5.json"
expect "flow state per packet" "$(jq -c 'select(.event_type=="alert") | .pcap_cnt' "$TMP/eve5.json" | tr '\n' ' ')" "1 2 "

# --action-order: the matches of a packet apply in that order; a pass ends
# the list, a drop of a stream match drops the rest of the flow
printf '%s\n' 'alert tcp any any -> any 80 (msg:"get"; content:"GET"; sid:21;)' \
    'pass tcp any any -> any 80 (msg:"pass get"; content:"GET"; sid:22;)' \
    'drop tcp any any -> any 80 (msg:"drop get"; content:"GET"; sid:23;)' >"$TMP/ao.rules"
ao() {
    "$GH" pcap -q -r "$DATA/fw_mix.pcap" -S "$TMP/ao.rules" $1 --eve "$TMP/ao.json"
    jq -c 'select(.event_type=="alert" or .event_type=="drop") | [.pcap_cnt, .alert.action, (.alert.signature_id // .drop.reason)]' \
        "$TMP/ao.json" | tr -d '\n'
}
expect "action order default" "$(ao "")" ""
expect "action order default, explicit" "$(ao "--action-order pass,drop,reject,alert")" ""
expect "action order drop first" "$(ao "--action-order drop,pass,reject,alert")" \
    '[4,"blocked",23][4,null,"signature"][5,null,"flow drop"][6,null,"flow drop"]'
expect "action order pass last" "$(ao "--action-order drop,alert,reject,pass")" \
    '[4,"blocked",23][4,"blocked",21][4,null,"signature"][5,null,"flow drop"][6,null,"flow drop"]'
expect "action order alert first" "$(ao "--action-order alert,pass,drop,reject")" '[4,"allowed",21]'
"$GH" pcap -q -r "$DATA/fw_mix.pcap" -S "$TMP/ao.rules" --action-order drop,pass,rejct,alert 2>"$TMP/err"
expect "bad action order exit" $? 2
grep -q "unknown action 'rejct'" "$TMP/err" && ok || fail "bad action order message: $(cat "$TMP/err")"

# classtype: category and severity from classification.config (the shipped
# default, or --classification); a rule's priority wins; unknown classtypes
# and malformed lines are errors naming file:line
printf '%s\n' 'alert tcp any any -> any 80 (msg:"a"; content:"GET"; classtype:web-application-attack; sid:31;)' \
    'alert tcp any any -> any 80 (msg:"b"; content:"GET"; classtype:Misc-Activity; priority:1; sid:32;)' \
    'alert tcp any any -> any 80 (msg:"c"; content:"GET"; sid:33;)' >"$TMP/ct.rules"
ct() { jq -c 'select(.event_type=="alert") | [.alert.signature_id, .alert.category, .alert.severity]' "$1" | tr -d '\n'; }
"$GH" pcap -q -r "$DATA/fw_mix.pcap" -S "$TMP/ct.rules" --eve "$TMP/ct.json"
expect "classification default" "$(ct "$TMP/ct.json")" \
    '[31,"Web Application Attack",1][32,"Misc activity",1][33,"",3]'
printf 'config classification: web-application-attack,Web attack,2\nconfig classification: misc-activity,Misc,3\n' >"$TMP/my.config"
"$GH" pcap -q -r "$DATA/fw_mix.pcap" -S "$TMP/ct.rules" --classification "$TMP/my.config" --eve "$TMP/ct2.json"
expect "classification file" "$(ct "$TMP/ct2.json")" '[31,"Web attack",2][32,"Misc",1][33,"",3]'
printf 'config classification: web-application-attack,Web attack,2\n' >"$TMP/short.config"
"$GH" pcap -q -r "$DATA/fw_mix.pcap" -S "$TMP/ct.rules" --classification "$TMP/short.config" 2>"$TMP/err"
expect "unknown classtype exit" $? 1
grep -q "ct.rules:2:64: unknown classtype 'Misc-Activity'" "$TMP/err" && ok || fail "unknown classtype: $(cat "$TMP/err")"
"$GH" check -q -S "$TMP/ct.rules" --classification "$TMP/short.config" 2>"$TMP/err"
expect "check unknown classtype exit" $? 1
grep -q "ct.rules:2:64: unknown classtype" "$TMP/err" && ok || fail "check unknown classtype: $(cat "$TMP/err")"
printf 'config classification: a,A,2\nconfig classification: b;B;1\n' >"$TMP/bad.config"
"$GH" pcap -q -r "$DATA/fw_mix.pcap" -S "$TMP/ct.rules" --classification "$TMP/bad.config" 2>"$TMP/err"
expect "bad classification exit" $? 1
grep -q "bad.config:2: expected 'config classification: SHORTNAME,DESCRIPTION,PRIORITY'" "$TMP/err" && ok ||
    fail "bad classification message: $(cat "$TMP/err")"

# errors: file:line:col naming the token, exit 1
printf 'alert tcp any any -> any any (msg:"bad"; pcre:"/a(/"; sid:9;)\n' >"$TMP/bad.rules"
"$GH" pcap -r "$DATA/fw_mix.pcap" -S "$TMP/bad.rules" 2>"$TMP/err"
expect "bad pcre exit" $? 1
grep -q "bad.rules:1:" "$TMP/err" && ok || fail "bad pcre message: $(cat "$TMP/err")"

# a signature that only the build rejects (directions in conflict) under
# --explain-types: the error, exit 1, no types printed
printf 'alert http any any -> any any (msg:"x"; flow:to_client; http.uri; content:"a"; sid:9;)\n' >"$TMP/dir.rules"
"$GH" check -S "$TMP/dir.rules" --explain-types >"$TMP/out" 2>"$TMP/err"
expect "explain with a build error exit" $? 1
grep -q "dir.rules:1:1: signature mixes keywords with conflicting directions" "$TMP/err" && ok ||
    fail "explain with a build error: $(cat "$TMP/err")"
expect "explain with a build error output" "$(cat "$TMP/out")" ""

summary cli_signatures
