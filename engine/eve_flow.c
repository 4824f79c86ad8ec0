/* The EVE "flow" event, written when a flow ends. Field names and order
 * follow Suricata's output-json-flow.c so EVE tools read it unchanged; the
 * TCP diagnosis (RTT, windows, retransmissions) is gatehouse's addition
 * inside "tcp". */
#include "app/app.h"
#include "gatehouse/flow.h"

#define NS_PER_S ((uint64_t)1000000000)

static void put_time(gh_jbuf *b, uint64_t ns)
{
    gh_jbuf_timestamp(b, (int64_t)(ns / NS_PER_S), (uint32_t)(ns % NS_PER_S));
}

/* ,"key":v for a literal key */
#define PUT_U64(b, key, v)                      \
    do {                                        \
        GH_JBUF_LIT(b, ",\"" key "\":");        \
        gh_jbuf_u64(b, v);                      \
    } while (0)

/* ,"key":ms from microseconds, three decimals ("%u.%03u") */
#define PUT_MS(b, key, us)                      \
    do {                                        \
        uint64_t us_ = (us);                    \
        PUT_U64(b, key, us_ / 1000);            \
        GH_JBUF_LIT(b, ".");                    \
        gh_jbuf_u64_pad(b, us_ % 1000, 3);      \
    } while (0)

static const char *action_name(uint8_t a)
{
    switch (a) {
    case GH_FLOW_ACTION_ACCEPT: return "accept";
    case GH_FLOW_ACTION_PASS: return "pass";
    case GH_FLOW_ACTION_DROP: return "drop";
    case GH_FLOW_ACTION_REJECT: return "reject";
    default: return NULL;
    }
}

/* tcp.state in Suricata's vocabulary. Its closing states say which side
 * closed first (a client FIN gives close_wait, a server FIN fin_wait1) and
 * how far the peer got; our FIN flags and FIN-acked flags tell the same. A
 * reset flow is "closed" there too (the rst flag shows why). */
static const char *eve_tcp_state(const gh_flow *f)
{
    uint8_t c = f->tcp[GH_FLOW_TOSERVER].flags, s = f->tcp[GH_FLOW_TOCLIENT].flags;
    switch (f->tcp_state) {
    case GH_TCP_FIN_WAIT:
        if (c & GH_FLOWD_FIN)
            return "close_wait";
        return (s & GH_FLOWD_FIN_ACKED) ? "fin_wait2" : "fin_wait1";
    case GH_TCP_CLOSING:
        if ((c & GH_FLOWD_FIN_ACKED) && !(s & GH_FLOWD_FIN_ACKED))
            return "last_ack";   /* client closed first, server's FIN unanswered */
        if ((s & GH_FLOWD_FIN_ACKED) && !(c & GH_FLOWD_FIN_ACKED))
            return "time_wait";  /* server closed first, client's FIN unanswered */
        return "closing";
    case GH_TCP_RESET:
        return "closed";
    default:
        return gh_tcp_state_name((gh_tcp_state)f->tcp_state);
    }
}

static void put_tcp(gh_jbuf *b, const gh_flow *f)
{
    const gh_flow_tcp_dir *ts = &f->tcp[GH_FLOW_TOSERVER], *tc = &f->tcp[GH_FLOW_TOCLIENT];
    uint8_t all = ts->tcp_flags | tc->tcp_flags;
    GH_JBUF_LIT(b, ",\"tcp\":{\"tcp_flags\":\"");
    gh_jbuf_hex(b, all, 2);
    GH_JBUF_LIT(b, "\",\"tcp_flags_ts\":\"");
    gh_jbuf_hex(b, ts->tcp_flags, 2);
    GH_JBUF_LIT(b, "\",\"tcp_flags_tc\":\"");
    gh_jbuf_hex(b, tc->tcp_flags, 2);
    GH_JBUF_LIT(b, "\"");
    static const struct {
        uint8_t bit;
        const char *name;
    } fl[] = {
        {GH_TCP_SYN, "syn"}, {GH_TCP_FIN, "fin"}, {GH_TCP_RST, "rst"}, {GH_TCP_PSH, "psh"},
        {GH_TCP_ACK, "ack"}, {GH_TCP_URG, "urg"}, {GH_TCP_ECE, "ecn"}, {GH_TCP_CWR, "cwr"},
    };
    for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
        if (all & fl[i].bit) {
            gh_jbuf_key(b, true, fl[i].name);
            GH_JBUF_LIT(b, "true");
        }
    GH_JBUF_LIT(b, ",\"state\":");
    gh_jbuf_quoted(b, eve_tcp_state(f));

    /* gatehouse diagnosis */
    if (f->flags & GH_FLOWF_RTT) {
        PUT_MS(b, "rtt_ms", (uint64_t)f->rtt_synack_us + f->rtt_ack_us);
        PUT_MS(b, "rtt_server_ms", f->rtt_synack_us);
        PUT_MS(b, "rtt_client_ms", f->rtt_ack_us);
    }
    if (f->flags & GH_FLOWF_WSCALE) {
        PUT_U64(b, "wscale_toserver", ts->wscale);
        PUT_U64(b, "wscale_toclient", tc->wscale);
    }
    if (ts->min_win != UINT32_MAX)
        PUT_U64(b, "min_window_toserver", ts->min_win);
    if (tc->min_win != UINT32_MAX)
        PUT_U64(b, "min_window_toclient", tc->min_win);
    PUT_U64(b, "zero_window_toserver", ts->zero_win);
    PUT_U64(b, "zero_window_toclient", tc->zero_win);
    PUT_U64(b, "retransmissions_toserver", ts->retrans);
    PUT_U64(b, "retransmissions_toclient", tc->retrans);
    GH_JBUF_LIT(b, "}");
}

void gh_eve_fmt_flow(gh_jbuf *b, const gh_flow *f)
{
    bool client_lo = f->flags & GH_FLOWF_CLIENT_IS_LO;
    const gh_addr *src = client_lo ? &f->key.lo : &f->key.hi;
    const gh_addr *dst = client_lo ? &f->key.hi : &f->key.lo;
    uint16_t sp = client_lo ? f->key.lo_port : f->key.hi_port;
    uint16_t dp = client_lo ? f->key.hi_port : f->key.lo_port;
    uint8_t proto = f->key.proto;

    char pb[8];
    GH_JBUF_LIT(b, "{\"timestamp\":");
    put_time(b, f->last_ns);
    GH_JBUF_LIT(b, ",\"flow_id\":");
    gh_jbuf_u64(b, f->flow_id);
    GH_JBUF_LIT(b, ",\"event_type\":\"flow\"");
    if (f->vlan_count) {
        GH_JBUF_LIT(b, ",\"vlan\":[");
        for (unsigned i = 0; i < f->vlan_count; i++) {
            if (i)
                GH_JBUF_LIT(b, ",");
            gh_jbuf_u64(b, f->vlan[i]);
        }
        GH_JBUF_LIT(b, "]");
    }
    bool ports = proto == 6 || proto == 17 || proto == 132;
    GH_JBUF_LIT(b, ",\"src_ip\":");
    gh_jbuf_ip(b, src->b, f->key.ip_ver);
    if (ports)
        PUT_U64(b, "src_port", sp);
    GH_JBUF_LIT(b, ",\"dest_ip\":");
    gh_jbuf_ip(b, dst->b, f->key.ip_ver);
    if (ports)
        PUT_U64(b, "dest_port", dp);
    GH_JBUF_LIT(b, ",\"proto\":");
    gh_jbuf_quoted(b, gh_proto_name(proto, pb));
    if (proto == 1 || proto == 58) {
        PUT_U64(b, "icmp_type", f->icmp_type[0]);
        PUT_U64(b, "icmp_code", f->icmp_code[0]);
        if (f->pkts[GH_FLOW_TOCLIENT]) {
            PUT_U64(b, "response_icmp_type", f->icmp_type[1]);
            PUT_U64(b, "response_icmp_code", f->icmp_code[1]);
        }
    }

    if (f->app_proto) {
        GH_JBUF_LIT(b, ",\"app_proto\":");
        gh_jbuf_quoted(b, gh_alproto_name(f->app_proto));
    }
    GH_JBUF_LIT(b, ",\"flow\":{\"pkts_toserver\":");
    gh_jbuf_u64(b, f->pkts[0]);
    PUT_U64(b, "pkts_toclient", f->pkts[1]);
    PUT_U64(b, "bytes_toserver", f->bytes[0]);
    PUT_U64(b, "bytes_toclient", f->bytes[1]);
    GH_JBUF_LIT(b, ",\"start\":");
    put_time(b, f->start_ns);
    GH_JBUF_LIT(b, ",\"end\":");
    put_time(b, f->last_ns);
    /* Suricata's age: difference of the whole-second parts */
    PUT_U64(b, "age", f->last_ns / NS_PER_S - f->start_ns / NS_PER_S);
    GH_JBUF_LIT(b, ",\"state\":");
    gh_jbuf_quoted(b, gh_flow_state_name(gh_flow_get_state(f)));
    GH_JBUF_LIT(b, ",\"reason\":");
    gh_jbuf_quoted(b, gh_flow_end_reason_name((gh_flow_end_reason)f->end_reason));
    if (f->flags & GH_FLOWF_ALERTED)
        GH_JBUF_LIT(b, ",\"alerted\":true");
    else
        GH_JBUF_LIT(b, ",\"alerted\":false");
    const char *act = action_name(f->action);
    if (act) {
        GH_JBUF_LIT(b, ",\"action\":");
        gh_jbuf_quoted(b, act);
    }
    GH_JBUF_LIT(b, "}");
    if (proto == 6)
        put_tcp(b, f);
    GH_JBUF_LIT(b, "}\n");
}
