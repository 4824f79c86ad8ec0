#!/usr/bin/env bash
# End-to-end test of `gatehouse nfq` (WireGuard's tests/netns.sh idea): a
# network namespace of its own, its loopback up, iptables NFQUEUE rules for
# the test ports, gatehouse judging them, traffic to 127.0.0.1 only.
# Checks verdicts (accept, drop, reject with RST / ICMP, the pass mark), EVE
# events, stats with the kernel's queue counters, SIGHUP with a broken and a
# good rule file, SIGHUP every second under 15 s of load (every reload
# counted, no packet lost or unanswered; a leak fails the exit code under
# ASan), and SIGTERM during a burst (nothing left unanswered).
# Skips (exit 77) without root or without netns/NFQUEUE support.
# Usage: nfq_netns.sh GATEHOUSE TESTS_DIR
set -u
GH=$1
TESTS=$2
SKIP=77
NS=gh-nfq-$$
TMP=$(mktemp -d)
GHPID=
fails=0
checks=0

skip() { echo "SKIP: $*"; exit $SKIP; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok $*"; checks=$((checks + 1)); }

WATCHDOG=
killtree() { # pid: the process and its descendants (ip netns exec -> timeout -> gatehouse)
    local c
    for c in $(pgrep -P "$1"); do killtree "$c"; done
    kill -KILL "$1" 2>/dev/null
}
cleanup() {
    [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
    [ -n "$GHPID" ] && killtree "$GHPID"
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "FAIL: interrupted (or longer than the 120 s watchdog)"; exit 1' TERM INT
# the whole test stays under ctest's TIMEOUT (180 s) so cleanup always runs
# (a trap runs once the current step, at most 30 s, is over);
# the watchdog's output goes to /dev/null so a leftover sleep holds no pipe
( sleep 120; kill -TERM $$ ) >/dev/null 2>&1 &
WATCHDOG=$!

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace, iptables, NFQUEUE)"
for t in ip iptables python3 jq; do
    command -v $t >/dev/null || skip "needs $t"
done
ip netns add "$NS" 2>"$TMP/err" || skip "cannot create a network namespace: $(cat "$TMP/err")"
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up || skip "cannot bring up loopback in the namespace"

# Which queue rule works here: the nft `queue` statement needs nft_queue,
# which some kernels lack; the xt NFQUEUE target through iptables is the
# fallback the test uses either way.
if command -v nft >/dev/null && nsx nft -f - 2>/dev/null <<'EOF'
table inet ghprobe { chain c { type filter hook output priority 0; meta l4proto udp udp dport 9 queue num 9 bypass; } }
EOF
then
    echo "nft queue statement: available (test uses iptables -j NFQUEUE)"
    nsx nft delete table inet ghprobe
else
    echo "nft queue statement: NOT available on this kernel; using iptables -j NFQUEUE"
fi

# Locally generated traffic is queued in OUTPUT. Packets carrying 0x10
# (gatehouse's RSTs/ICMP errors, and flows it passed: the mark is copied to
# the connection after the verdict, and back onto the flow's packets) skip
# the queue.
MARK=0x10
ipt() { nsx iptables "$@" || skip "iptables $* failed (no NFQUEUE/conntrack support?)"; }
ipt -t mangle -A OUTPUT -m connmark --mark $MARK/$MARK -j MARK --set-xmark $MARK/$MARK
ipt -A OUTPUT -m mark --mark $MARK/$MARK -j ACCEPT
ipt -A OUTPUT -p udp --dport 7010 -j NFQUEUE --queue-balance 1:2 --queue-bypass
ipt -A OUTPUT -p tcp -m multiport --ports 7001:7009 -j NFQUEUE --queue-num 0 --queue-bypass
ipt -A OUTPUT -p udp -m multiport --ports 7001:7009 -j NFQUEUE --queue-num 0 --queue-bypass
ipt -t mangle -A POSTROUTING -m mark --mark $MARK/$MARK -j CONNMARK --save-mark --mask $MARK

cat >"$TMP/fw.rules" <<'EOF'
reject tcp any any -> any 7002 (msg:"no 7002"; sid:10;)
drop udp any any -> any 7003 (msg:"no 7003"; sid:11;)
reject udp any any -> any 7004 (msg:"reject 7004"; sid:12;)
pass tcp any any -> any 7005 (msg:"trusted 7005"; sid:13;)
EOF
cat >"$TMP/sig.rules" <<'EOF'
drop tcp any any -> any 7001 (msg:"evil tcp"; content:"EVILTCP"; sid:100;)
drop udp any any -> any 7001 (msg:"evil udp"; content:"EVILUDP"; sid:101;)
EOF

# timeout(1) bounds the whole run even if a signal is lost
nsx timeout -s KILL 100 "$GH" nfq --queue 0 -F "$TMP/fw.rules" -S "$TMP/sig.rules" \
    --mark $MARK --eve "$TMP/eve.json" --stats-interval 1 --queue-maxlen 8192 \
    2>"$TMP/gh.err" &
GHPID=$!
for _ in $(seq 50); do
    grep -q "ready" "$TMP/gh.err" && break
    kill -0 $GHPID 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "ready" "$TMP/gh.err"; then
    cat "$TMP/gh.err"
    if grep -q "bind" "$TMP/gh.err"; then skip "cannot bind an NFQUEUE queue here"; fi
    echo "FAIL: gatehouse nfq did not start"
    exit 1
fi
# the gatehouse process itself: the leaf under ip-netns-exec and timeout
GHREAL=$GHPID
for _ in 1 2 3; do
    c=$(pgrep -P "$GHREAL" | head -n1)
    [ -n "$c" ] || break
    GHREAL=$c
done
[ "$(cat /proc/$GHREAL/comm 2>/dev/null)" = gatehouse ] || { echo "FAIL: gatehouse pid not found"; exit 1; }

tally() { # phase: count the ok/FAIL lines of its output
    cat "$TMP/py.out"
    checks=$((checks + $(grep -c '^ok ' "$TMP/py.out")))
    fails=$((fails + $(grep -c '^FAIL ' "$TMP/py.out")))
    grep -qE '^(ok|FAIL) ' "$TMP/py.out" || fail "traffic phase $1 printed no result"
}
traffic() { # phase args...
    nsx timeout 30 python3 "$TESTS/nfq_traffic.py" "$@" >"$TMP/py.out" 2>&1
    tally "$1"
}

traffic basic "rules 1"
traffic pass
traffic before-reload
traffic mixed 2000

# EVE while running: alerts, drops with the rule, a stats event with kernel counters
sleep 1.5
ev() { jq -c "$1" "$TMP/eve.json" 2>/dev/null | head -n1; }
[ -n "$(ev 'select(.event_type=="alert" and .alert.signature_id==100 and .alert.action=="blocked")')" ] &&
    ok "alert event for the TCP signature" || fail "no alert event for sid 100"
[ -n "$(ev 'select(.event_type=="alert" and .alert.signature_id==101)')" ] &&
    ok "alert event for the UDP signature" || fail "no alert event for sid 101"
[ -n "$(ev 'select(.event_type=="drop" and .rule.signature_id==10 and .verdict.action=="reject")')" ] &&
    ok "drop event for the TCP reject" || fail "no reject drop event for sid 10"
# the latest stats event (the first may precede every packet: id_sequence 0)
st=$(jq -c 'select(.event_type=="stats") | .stats.nfq | [.queue, (.kernel.queue_dropped|type), (.kernel.user_dropped|type), (.kernel.id_sequence > 0)]' \
    "$TMP/eve.json" 2>/dev/null | tail -n1)
[ "$st" = '[0,"number","number",true]' ] && ok "stats event with the kernel's queue counters" ||
    fail "stats event: got '$st'"

# SIGHUP with a broken rule file: reported, the old rules keep filtering
cp "$TMP/fw.rules" "$TMP/fw.good"
printf 'drop udp any any -> any 7006 (msg:"new"; sid:14;)\nthis is not a rule\n' >>"$TMP/fw.rules"
kill -HUP "$GHREAL"
for _ in $(seq 50); do grep -q "reload failed" "$TMP/gh.err" && break; sleep 0.1; done
grep -q "reload failed" "$TMP/gh.err" && ok "broken rule file: reload reported as failed" ||
    fail "no 'reload failed' after SIGHUP with a broken file"
grep -q "fw.rules:6:" "$TMP/gh.err" && ok "broken rule file: error names file:line" ||
    fail "reload error without file:line: $(cat "$TMP/gh.err")"
traffic basic "after a failed reload"
traffic before-reload

# a good file: the new rules take over
{ cat "$TMP/fw.good"; echo 'drop udp any any -> any 7006 (msg:"new"; sid:14;)'; } >"$TMP/fw.rules"
kill -HUP "$GHREAL"
for _ in $(seq 50); do grep -q "reloaded: rules generation 2" "$TMP/gh.err" && break; sleep 0.1; done
grep -q "reloaded: rules generation 2" "$TMP/gh.err" && ok "good rule file: reloaded" ||
    fail "no 'reloaded' after SIGHUP with a good file"
sleep 0.5
traffic after-reload
traffic basic "rules 2"

# 15 s of load (signatures matching, TCP connections) with SIGHUP every
# second: each reload counted, every packet answered, nothing lost
LOAD_S=15
nsx timeout 40 python3 "$TESTS/nfq_traffic.py" reload-load $LOAD_S 1000 >"$TMP/py.out" 2>&1 &
TRAFFIC=$!
hups=0
for _ in $(seq $LOAD_S); do
    sleep 1
    kill -HUP "$GHREAL" && hups=$((hups + 1))
done
wait $TRAFFIC
tally reload-load
gen=$((2 + hups))
for _ in $(seq 100); do
    grep -q "reloaded: rules generation $gen$" "$TMP/gh.err" && break
    sleep 0.1
done
got=$(grep -c "reloaded: rules generation" "$TMP/gh.err")
[ "$got" -eq $((1 + hups)) ] && ok "$hups SIGHUPs under load: $hups reloads" ||
    fail "$hups SIGHUPs under load: $((got - 1)) reloads" \
        "($(grep -c 'try again' "$TMP/gh.err") refused)"
sleep 1.5 # a stats event after the last reload
st=$(jq -c 'select(.event_type=="stats") | .stats.nfq | [.rules_generation, .held,
    .kernel.queue_dropped, .kernel.user_dropped, .verdict_errors]' "$TMP/eve.json" | tail -n1)
[ "$st" = "[$gen,0,0,0,0]" ] && ok "stats after the reloads: generation $gen, no drops" ||
    fail "stats after the reloads [generation, held, queue/socket drops, verdict errors]: $st"

# SIGTERM in the middle of a burst: every packet answered, exit 0
traffic flood "$GHREAL" 3000
for _ in $(seq 100); do kill -0 $GHPID 2>/dev/null || break; sleep 0.1; done
wait $GHPID
rc=$?
GHPID=
[ $rc -eq 0 ] && ok "exit code 0 after SIGTERM" || fail "exit code $rc after SIGTERM"
grep -q "^unanswered packets: 0$" "$TMP/gh.err" && ok "no packet left unanswered" ||
    fail "unanswered: $(grep unanswered "$TMP/gh.err")"

# the passed flow: after its first packet the kernel stopped queueing it
pk=$(jq -c 'select(.event_type=="flow" and .dest_port==7005) | .flow.pkts_toserver + .flow.pkts_toclient' \
    "$TMP/eve.json" | head -n1)
[ -n "$pk" ] && [ "$pk" -le 3 ] && ok "passed flow left the queue after its first packets ($pk seen)" ||
    fail "passed flow: gatehouse saw '$pk' packets (the mark did not stop queueing)"
# the final stats event counts every packet as answered
last=$(jq -c 'select(.event_type=="stats") | .stats.nfq | [.held, .packets > 3000]' "$TMP/eve.json" | tail -n1)
[ "$last" = '[0,true]' ] && ok "final stats: nothing held" || fail "final stats: got '$last'"

echo "--- gatehouse stderr ---"
cat "$TMP/gh.err"

# Two queues, one worker each, fail-open: --queue-balance spreads the
# sources over queues 1 and 2; both must see traffic and answer all of it.
nsx timeout -s KILL 60 "$GH" nfq --queue 1-2 --fail-open --eve "$TMP/eve2.json" \
    --stats-interval 0 2>"$TMP/gh2.err" &
GHPID=$!
for _ in $(seq 50); do grep -q "ready" "$TMP/gh2.err" && break; sleep 0.1; done
grep -q "ready: queues 1-2, fail-open on" "$TMP/gh2.err" && ok "two queues bound, fail-open accepted" ||
    fail "two queues: $(cat "$TMP/gh2.err")"
traffic balance 32 10
kill -TERM $(pgrep -P "$(pgrep -P $GHPID | head -n1)" | head -n1)
wait $GHPID
rc=$?
GHPID=
[ $rc -eq 0 ] && ok "two queues: exit code 0" || fail "two queues: exit code $rc"
qs=$(jq -c 'select(.event_type=="stats") | .stats.nfq | [.queue, .packets, .fail_open, .held]' "$TMP/eve2.json" |
    sort | tr -d '\n')
echo "per-queue final stats [queue, packets, fail_open, held]: $qs"
jq -s -e '[.[] | select(.event_type=="stats") | .stats.nfq] | length == 2 and all(.packets > 0)
    and all(.fail_open) and all(.held == 0) and (map(.packets) | add) == 320' "$TMP/eve2.json" >/dev/null &&
    ok "two queues: both saw traffic, 320 packets answered in all" || fail "two queues: stats $qs"
echo "nfq_netns: $checks checks passed, $fails failed"
[ $fails -eq 0 ] && [ $checks -gt 20 ]
