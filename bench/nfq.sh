#!/usr/bin/env bash
# NFQUEUE throughput through one queue: the minimal accept-everything loop
# (gatehouse-bench nfq-loop) next to gatehouse nfq with the firewall only and
# with firewall + signatures, each with and without batching, on the same
# generated traffic (gatehouse-bench udp-flood: PACKETS UDP datagrams of 256
# bytes over 64 flows to 127.0.0.1, inside a network namespace this script
# creates and removes). The traffic is queued while the consumer is stopped,
# then the consumer drains it: timed from its first to its last packet, so
# the figure is the consumer's speed (verdict, reinjection and delivery
# included), not the sender's. Median of RUNS. Prints one JSON object. Root.
# Usage: bench/nfq.sh [-b BUILD_DIR] [--packets N] [--runs N] [-S SIGNATURES]
set -u
BUILD=build
PACKETS=60000
RCVBUF=$((512 << 20))
RUNS=3
SIGS=
while [ $# -gt 0 ]; do
    case $1 in
    -b) BUILD=$2; shift 2 ;;
    --packets) PACKETS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    -S) SIGS=$2; shift 2 ;;
    *) echo "usage: $0 [-b BUILD_DIR] [--packets N] [--runs N] [-S SIGNATURES]" >&2; exit 2 ;;
    esac
done
HERE=$(cd "$(dirname "$0")/.." && pwd)
GH=$BUILD/gatehouse
GHB=$BUILD/gatehouse-bench
[ "$(id -u)" -eq 0 ] || { echo "bench/nfq.sh: needs root" >&2; exit 1; }
if [ -z "$SIGS" ]; then
    SIGS=$HERE/../shared/corpus/rules/et-open-SUBSET-basic-keywords.rules
    [ -f "$SIGS" ] || SIGS=/work/shared/corpus/rules/et-open-SUBSET-basic-keywords.rules
    [ -f "$SIGS" ] || SIGS=$HERE/tests/data/sample-signatures.rules
fi
NS=gh-nfqbench-$$
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    # ip netns exec forks: its child is the program
    for p in "${PIDS[@]}"; do
        kill -KILL $(pgrep -P "$p") "$p" 2>/dev/null
    done
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$NS" || exit 1
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up
nsx iptables -A OUTPUT -p udp --dport 9000 -j NFQUEUE --queue-num 0 || exit 1
# a sink that never reads: delivered datagrams are dropped at its full buffer
nsx python3 -c 'import socket,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",9000)); time.sleep(600)' \
    </dev/null >/dev/null 2>&1 &
PIDS+=($!)
cat >"$TMP/fw.rules" <<'EOF'
drop tcp any any -> any 23 (msg:"telnet"; sid:1;)
reject tcp any any -> any 22 (msg:"ssh"; sid:2;)
drop udp any any -> any 161:162 (msg:"snmp"; sid:3;)
accept udp 127.0.0.0/8 any -> 127.0.0.1 9000 (msg:"bench traffic"; sid:4;)
accept tcp any any -> any 80 (msg:"web"; flow:to_server; sid:5;)
EOF

wait_for() { # file pattern
    for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "bench/nfq.sh: timed out waiting for '$2' in $1" >&2
    cat "$1" >&2
    return 1
}
# consumer on CPU 1, flood on CPU 0 (when there are two): less scheduler noise
PIN_C=; PIN_F=
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN_C="taskset -c 1"; PIN_F="taskset -c 0"; fi

queue_total() { nsx awk '$1==0 {print $3}' /proc/net/netfilter/nfnetlink_queue; }

# One measurement: the consumer is started and stopped (SIGSTOP), PACKETS
# datagrams are queued for it, then it is let go (SIGCONT) and timed from
# its first to its last packet while it drains them: its own speed, not the
# sender's. Prints "packets_per_sec packets queued".
measure() { # kind batch
    local kind=$1 batch=$2 nb= pid
    [ "$batch" = false ] && nb=--no-batch
    : >"$TMP/err"
    rm -f "$TMP/eve.json" "$TMP/out"
    local q="--queue 0 --queue-maxlen $((PACKETS + 1000)) --rcvbuf $RCVBUF $nb"
    case $kind in
    minimal) nsx $PIN_C "$GHB" nfq-loop $q >"$TMP/out" 2>"$TMP/err" & pid=$! ;;
    fw)      nsx $PIN_C "$GH" nfq $q -F "$TMP/fw.rules" --policy drop \
                 --eve "$TMP/eve.json" --stats-interval 0 --no-flow-events 2>"$TMP/err" & pid=$! ;;
    fwdpi)   nsx $PIN_C "$GH" nfq $q -F "$TMP/fw.rules" --policy drop -S "$SIGS" \
                 --eve "$TMP/eve.json" --stats-interval 0 --no-flow-events 2>"$TMP/err" & pid=$! ;;
    esac
    PIDS+=($pid)
    wait_for "$TMP/err" ready || return 1
    # ip netns exec forks: its child is the consumer
    local c
    c=$(pgrep -P $pid | head -n1)
    kill -STOP "$c"
    nsx $PIN_F "$GHB" udp-flood --port 9000 --count "$PACKETS" --flows 64 --size 256 >/dev/null
    sleep 0.2
    local queued
    queued=$(queue_total)
    kill -CONT "$c"
    for _ in $(seq 1200); do [ "$(queue_total)" = 0 ] && break; sleep 0.05; done
    kill -TERM "$c"
    wait $pid
    if [ "$kind" = minimal ]; then
        jq -r --arg q "$queued" '"\(.packets_per_sec) \(.packets) \($q)"' "$TMP/out"
    else
        jq -r --arg q "$queued" 'select(.event_type=="stats") | .stats.nfq |
            "\((.packets / .active_seconds) | floor) \(.packets) \($q)"' "$TMP/eve.json" | tail -n1
    fi
}

# RUNS rounds, each measuring every consumer once in turn (so a slow minute
# of this shared machine hits them all alike); then the median of each.
declare -A V
KINDS="minimal.true fw.true fwdpi.true minimal.false fw.false fwdpi.false"
for _ in $(seq "$RUNS"); do
    for kb in $KINDS; do
        line=$(measure "${kb%.*}" "${kb#*.}") || exit 1
        [ -n "$line" ] || { echo "bench/nfq.sh: no result for $kb" >&2; exit 1; }
        V[$kb]+="$line"$'\n'
    done
done
declare -A R
for kb in $KINDS; do
    R[$kb]=$(printf '%s' "${V[$kb]}" | sort -n | awk -v n="$RUNS" -v k="${kb%.*}" -v b="${kb#*.}" '
        {pps[NR]=$1; pk[NR]=$2; qd[NR]=$3}
        END {m=int((n+1)/2); printf "{\"consumer\":\"%s\",\"batch\":%s,\"packets_per_sec\":%d,\"min\":%d,\"max\":%d,\"packets\":%d,\"queued\":%d}", k, b, pps[m], pps[1], pps[n], pk[m], qd[m]}')
done
pps() { echo "${R[$1]}" | jq .packets_per_sec; }
ratio() { awk -v a="$(pps "$1")" -v b="$(pps "$2")" 'BEGIN {printf("%.3f", (b > 0) ? a / b : 0)}'; }
nsig=$(grep -c '^[a-z]' "$SIGS")
printf '{"bench":"nfq","packets":%s,"runs":%s,"udp_payload":256,"flows":64,"signatures":"%s","signature_lines":%s,' \
    "$PACKETS" "$RUNS" "$(basename "$SIGS")" "$nsig"
printf '"batch":{"minimal":%s,"fw":%s,"fw_dpi":%s,"ratio_fw":%s,"ratio_fw_dpi":%s},' \
    "${R[minimal.true]}" "${R[fw.true]}" "${R[fwdpi.true]}" "$(ratio fw.true minimal.true)" \
    "$(ratio fwdpi.true minimal.true)"
printf '"no_batch":{"minimal":%s,"fw":%s,"fw_dpi":%s,"ratio_fw":%s,"ratio_fw_dpi":%s}}\n' \
    "${R[minimal.false]}" "${R[fw.false]}" "${R[fwdpi.false]}" "$(ratio fw.false minimal.false)" \
    "$(ratio fwdpi.false minimal.false)"
