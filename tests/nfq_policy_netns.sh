#!/usr/bin/env bash
# Failure policies inline: gatehouse nfq with room for one flow, in a network
# namespace of its own (traffic to its loopback only). The nfq default for a
# full flow table is drop-packet: a first connection works, the SYNs of a
# second one get the kernel's drop verdict (connect times out), and the
# summary, stats and events say so. With --on-flow-full ignore a live flow
# is evicted instead and both connect.
# Skips (exit 77) without root, netns or NFQUEUE.
# Usage: nfq_policy_netns.sh GATEHOUSE
set -u
GH=$1
NS=gh-pol-$$
GHPID=
. "$(dirname "$0")/check_lib.sh"
killtree() { # pid: the process and its descendants
    local c
    for c in $(pgrep -P "$1"); do killtree "$c"; done
    kill -KILL "$1" 2>/dev/null
}
cleanup() {
    [ -n "$GHPID" ] && killtree "$GHPID"
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in ip iptables python3 jq; do need $t || { echo "SKIP: needs $t"; exit 77; }; done
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up || { echo "SKIP: no loopback in the namespace"; exit 77; }
nsx iptables -A OUTPUT -p tcp --dport 7101 -j NFQUEUE --queue-num 11 ||
    { echo "SKIP: no NFQUEUE target"; exit 77; }
nsx iptables -A OUTPUT -p tcp --sport 7101 -j NFQUEUE --queue-num 11

# run [OPTIONS...]: gatehouse nfq with room for one flow, two connections
# (the first held open); prints "first:ok|timeout second:ok|timeout" and
# leaves the events in $TMP/eve.json, the summary in $TMP/gh.err
run() {
    rm -f "$TMP/eve.json"
    nsx timeout -s KILL 60 "$GH" nfq --queue 11 --max-flows 1 --eve "$TMP/eve.json" \
        --stats-interval 0 "$@" 2>"$TMP/gh.err" &
    GHPID=$!
    for _ in $(seq 50); do
        grep -q "ready" "$TMP/gh.err" && break
        sleep 0.1
    done
    grep -q "ready" "$TMP/gh.err" || { cat "$TMP/gh.err" >&2; echo "not started"; return; }
    nsx timeout 20 python3 - <<'PY'
import socket
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 7101))
srv.listen(4)
res, keep = [], []
for name in ("first", "second"):
    c = socket.socket()
    c.settimeout(2.5)
    try:
        c.connect(("127.0.0.1", 7101))
        res.append(name + ":ok")
    except OSError:
        res.append(name + ":timeout")
    keep.append(c)
print(" ".join(res))
PY
    # SIGTERM to gatehouse itself (the leaf under the subshell, ip netns exec
    # and timeout): it answers what is pending, writes the summary and stats
    local leaf=$GHPID c
    for _ in 1 2 3 4; do
        c=$(pgrep -P "$leaf" | head -n1)
        [ -n "$c" ] || break
        leaf=$c
    done
    [ "$(cat /proc/$leaf/comm 2>/dev/null)" = gatehouse ] && kill -TERM "$leaf"
    for _ in $(seq 50); do kill -0 "$GHPID" 2>/dev/null || break; sleep 0.1; done
    killtree "$GHPID"
    GHPID=
}
counter() { jq -s '[.[] | select(.event_type=="stats")] | last
    | .stats.exception_policy.flow_memcap.drop_packet' "$TMP/eve.json"; }

expect "default: the second connection is dropped" "$(run)" "first:ok second:timeout"
n=$(counter)
[ "${n:-0}" -ge 1 ] 2>/dev/null && ok || fail "flow_memcap drop_packet counter: got '$n'"
expect "anomaly event" "$(jq -r 'select(.event_type=="anomaly") | .anomaly.event' \
    "$TMP/eve.json" | head -n1)" "flow_memcap"
expect "drop event of the SYN" "$(jq -r 'select(.event_type=="drop")
    | "\(.drop.reason) \(.drop.syn)"' "$TMP/eve.json" | head -n1)" "exception policy true"
grep -q "flow_memcap *drop-packet" "$TMP/gh.err" && ok || fail "summary: no flow_memcap line"

expect "ignore: a live flow is evicted" "$(run --on-flow-full ignore)" "first:ok second:ok"
expect "ignore: nothing dropped" "$(counter)" "0"

[ "$fails" -eq 0 ] || cat "$TMP/gh.err"
summary nfq_policy_netns
