#!/usr/bin/env bash
# `gatehouse pcap --threads N` must give what one thread gives: the same exit
# code, verdict counts, alerts (sid, pcap_cnt, addresses), event set (order
# aside) and summary, and byte-identical --write-accepted/--write-dropped
# captures. Inputs: the shipped captures, the corpus captures with an ET Open
# subset (skipped when the corpus is absent) and a generated capture of many
# flows with fragments and ICMP errors.
# Usage: cli_threads.sh GATEHOUSE GEN_FLOWS DATA_DIR [CORPUS_DIR [VARS_FILE]]
set -u
GH=$1
GEN=$2
DATA=$3
CORPUS=${4:-}
VARS=${5:-}
. "$(dirname "$0")/check_lib.sh"

command -v jq >/dev/null 2>&1 || { echo "jq is required"; exit 1; }

# run NAME THREADS ARGS...: outputs in $TMP/NAME.THREADS.*; prints the exit code
run() {
    local name=$1 t=$2
    shift 2
    "$GH" pcap "$@" --threads "$t" --eve "$TMP/$name.$t.eve" \
        --write-accepted "$TMP/$name.$t.acc" --write-dropped "$TMP/$name.$t.drop" \
        2>"$TMP/$name.$t.sum"
    echo $?
}

alerts() {
    jq -r 'select(.event_type=="alert") |
           "\(.alert.signature_id) \(.pcap_cnt) \(.src_ip) \(.dest_ip) \(.alert.action)"' "$1" |
        sort
}

# same NAME "THREADS..." ARGS...: each thread count against one thread
same() {
    local name=$1 counts=$2
    shift 2
    local rc1 rcn t a=$TMP/$name.1
    rc1=$(run "$name" 1 "$@")
    [ "$rc1" = 0 ] && ok || fail "$name: one thread exits $rc1: $(tail -3 "$a.sum")"
    for t in $counts; do
        local b=$TMP/$name.$t
        rcn=$(run "$name" "$t" "$@")
        [ "$rcn" = "$rc1" ] && ok || fail "$name: $t threads exit $rcn, one thread $rc1"
        [ "$(grep '^verdicts:' "$a.sum")" = "$(grep '^verdicts:' "$b.sum")" ] && ok ||
            fail "$name: $t threads: $(grep '^verdicts:' "$b.sum") vs $(grep '^verdicts:' "$a.sum")"
        diff <(alerts "$a.eve") <(alerts "$b.eve") >"$TMP/d" && ok ||
            fail "$name: $t threads: alerts differ: $(head -4 "$TMP/d")"
        diff <(jq -c 'select(.event_type!="stats")' "$a.eve" | sort) \
             <(jq -c 'select(.event_type!="stats")' "$b.eve" | sort) >"$TMP/d" && ok ||
            fail "$name: $t threads: events differ: $(head -4 "$TMP/d" | cut -c1-300)"
        cmp -s "$a.acc" "$b.acc" && ok || fail "$name: $t threads: accepted capture differs"
        cmp -s "$a.drop" "$b.drop" && ok || fail "$name: $t threads: dropped capture differs"
        diff <(grep -v 'compiled in\|^time:' "$a.sum") <(grep -v 'compiled in\|^time:' "$b.sum") \
            >"$TMP/d" && ok || fail "$name: $t threads: summary differs: $(head -6 "$TMP/d")"
    done
}

# --- usage ------------------------------------------------------------------
"$GH" pcap --help | grep -q -- "--threads" && ok || fail "pcap --help names --threads"
for bad in x 65 -1 2x; do
    "$GH" pcap -r "$DATA/sample.pcap" --threads "$bad" >/dev/null 2>&1
    [ $? -eq 2 ] && ok || fail "--threads $bad must exit 2"
done
"$GH" pcap -r "$DATA/sample.pcap" --threads auto -q && ok || fail "--threads auto"

# --- shipped captures (every link type; fragments; HTTP), one run each ------
# (a directory of unrelated captures whose times go back and forth is not one
# capture: each worker's clock, following its own packets, would end flows
# at other moments than one thread's)
for f in "$DATA"/*.pcap "$DATA"/*.pcapng "$DATA"/http/*.pcap "$DATA"/misc/*.pcap; do
    name=$(basename "$(dirname "$f")")_$(basename "$f")
    case $(basename "$f") in
    notapcap.pcap | corrupt_header.pcap | truncated.pcap) ;;
    evasion_*) same "$name" "4" -r "$f" -S "$DATA/evasion.rules" ;;
    *) same "$name" "4" -r "$f" -S "$DATA/sample-signatures.rules" -S "$DATA/http/http.rules" \
        -S "$DATA/misc/misc.rules" -F "$DATA/sample-firewall.rules" -k none ;;
    esac
done
same fw_policy_drop "2 3" -r "$DATA/fw_mix.pcap" -F "$DATA/sample-firewall.rules" --policy drop

# --- a generated capture: many flows, fragments, ICMP errors, VLANs, IPv6 ----
cat >"$TMP/gen.rules" <<'EOF'
alert tcp any any -> any 80 (msg:"gen GET 1"; flow:established; content:"GET /gen-1"; sid:9000001;)
drop tcp any any -> any 80 (msg:"gen GET 2"; flow:to_server; content:"/gen-2 "; sid:9000002;)
alert tcp any 80 -> any any (msg:"gen answer"; content:"threads-3"; sid:9000003;)
alert udp any any -> any 53 (msg:"gen udp"; content:"udp-marker 1"; sid:9000004;)
alert icmp any any -> any any (msg:"gen unreachable"; itype:3; sid:9000005;)
EOF
cat >"$TMP/gen.fw" <<'EOF'
drop tcp 10.2.0.0/16 any -> any 80 (msg:"gen fw"; flags:S; sid:9100001;)
accept ip any any -> any any (msg:"gen rest"; sid:9100002;)
EOF
"$GEN" "$TMP/gen.pcap" 20000 >/dev/null && ok || fail "gen_flows"
same generated "2 4" -r "$TMP/gen.pcap" -S "$TMP/gen.rules" -F "$TMP/gen.fw" -k none

# --- the corpus merged into one capture, with an ET Open subset --------------
if [ -n "$CORPUS" ] && [ -d "$CORPUS/pcaps" ] && [ -n "$VARS" ] &&
    command -v mergecap >/dev/null; then
    mergecap -F pcap -w "$TMP/corpus.pcap" "$CORPUS"/pcaps/*.pcap && ok || fail "mergecap"
    same corpus "4" -r "$TMP/corpus.pcap" \
        -S "$CORPUS/rules/et-open-SUBSET-basic-keywords.rules" -S "$DATA/sample-signatures.rules" \
        -F "$DATA/sample-firewall.rules" --vars "$VARS" -k none
else
    echo "note: corpus (at '$CORPUS') or mergecap missing: corpus comparison skipped"
fi

summary cli_threads
