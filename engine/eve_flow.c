/* The EVE "flow" event, written when a flow ends. Field names and order
 * follow Suricata's output-json-flow.c so EVE tools read it unchanged; the
 * TCP diagnosis (RTT, windows, retransmissions) is gatehouse's addition
 * inside "tcp". */
#include <inttypes.h>

#include "app/app.h"
#include "gatehouse/flow.h"

#define JLIT(b, s) gh_jbuf_append((b), (s), sizeof(s) - 1)
#define NS_PER_S ((uint64_t)1000000000)

static void put_time(gh_jbuf *b, const char *name, uint64_t ns)
{
    char ts[40];
    gh_eve_timestamp(ts, (int64_t)(ns / NS_PER_S), (uint32_t)(ns % NS_PER_S));
    gh_jbuf_printf(b, ",\"%s\":\"%s\"", name, ts);
}

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
    gh_jbuf_printf(b, ",\"tcp\":{\"tcp_flags\":\"%02x\",\"tcp_flags_ts\":\"%02x\",\"tcp_flags_tc\":\"%02x\"",
                   all, ts->tcp_flags, tc->tcp_flags);
    static const struct {
        uint8_t bit;
        const char *name;
    } fl[] = {
        {GH_TCP_SYN, "syn"}, {GH_TCP_FIN, "fin"}, {GH_TCP_RST, "rst"}, {GH_TCP_PSH, "psh"},
        {GH_TCP_ACK, "ack"}, {GH_TCP_URG, "urg"}, {GH_TCP_ECE, "ecn"}, {GH_TCP_CWR, "cwr"},
    };
    for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
        if (all & fl[i].bit)
            gh_jbuf_printf(b, ",\"%s\":true", fl[i].name);
    gh_jbuf_printf(b, ",\"state\":\"%s\"", eve_tcp_state(f));

    /* gatehouse diagnosis */
    if (f->flags & GH_FLOWF_RTT) {
        uint64_t rtt = (uint64_t)f->rtt_synack_us + f->rtt_ack_us;
        gh_jbuf_printf(b, ",\"rtt_ms\":%" PRIu64 ".%03u,\"rtt_server_ms\":%u.%03u,\"rtt_client_ms\":%u.%03u",
                       rtt / 1000, (unsigned)(rtt % 1000), f->rtt_synack_us / 1000,
                       f->rtt_synack_us % 1000, f->rtt_ack_us / 1000, f->rtt_ack_us % 1000);
    }
    if (f->flags & GH_FLOWF_WSCALE)
        gh_jbuf_printf(b, ",\"wscale_toserver\":%u,\"wscale_toclient\":%u", ts->wscale, tc->wscale);
    if (ts->min_win != UINT32_MAX)
        gh_jbuf_printf(b, ",\"min_window_toserver\":%" PRIu32, ts->min_win);
    if (tc->min_win != UINT32_MAX)
        gh_jbuf_printf(b, ",\"min_window_toclient\":%" PRIu32, tc->min_win);
    gh_jbuf_printf(b,
                   ",\"zero_window_toserver\":%" PRIu32 ",\"zero_window_toclient\":%" PRIu32
                   ",\"retransmissions_toserver\":%" PRIu32 ",\"retransmissions_toclient\":%" PRIu32 "}",
                   ts->zero_win, tc->zero_win, ts->retrans, tc->retrans);
}

void gh_eve_fmt_flow(gh_jbuf *b, const gh_flow *f)
{
    bool client_lo = f->flags & GH_FLOWF_CLIENT_IS_LO;
    const gh_addr *src = client_lo ? &f->key.lo : &f->key.hi;
    const gh_addr *dst = client_lo ? &f->key.hi : &f->key.lo;
    uint16_t sp = client_lo ? f->key.lo_port : f->key.hi_port;
    uint16_t dp = client_lo ? f->key.hi_port : f->key.lo_port;
    uint8_t proto = f->key.proto;

    char ts[40], a[64], d[64], pb[8];
    gh_eve_timestamp(ts, (int64_t)(f->last_ns / NS_PER_S), (uint32_t)(f->last_ns % NS_PER_S));
    gh_addr_str(src, f->key.ip_ver, a, sizeof(a));
    gh_addr_str(dst, f->key.ip_ver, d, sizeof(d));
    gh_jbuf_printf(b, "{\"timestamp\":\"%s\",\"flow_id\":%" PRIu64 ",\"event_type\":\"flow\"", ts,
                   f->flow_id);
    if (f->vlan_count) {
        JLIT(b, ",\"vlan\":[");
        for (unsigned i = 0; i < f->vlan_count; i++)
            gh_jbuf_printf(b, "%s%u", i ? "," : "", f->vlan[i]);
        JLIT(b, "]");
    }
    bool ports = proto == 6 || proto == 17 || proto == 132;
    gh_jbuf_printf(b, ",\"src_ip\":\"%s\"", a);
    if (ports)
        gh_jbuf_printf(b, ",\"src_port\":%u", sp);
    gh_jbuf_printf(b, ",\"dest_ip\":\"%s\"", d);
    if (ports)
        gh_jbuf_printf(b, ",\"dest_port\":%u", dp);
    gh_jbuf_printf(b, ",\"proto\":\"%s\"", gh_proto_name(proto, pb));
    if (proto == 1 || proto == 58) {
        gh_jbuf_printf(b, ",\"icmp_type\":%u,\"icmp_code\":%u", f->icmp_type[0], f->icmp_code[0]);
        if (f->pkts[GH_FLOW_TOCLIENT])
            gh_jbuf_printf(b, ",\"response_icmp_type\":%u,\"response_icmp_code\":%u",
                           f->icmp_type[1], f->icmp_code[1]);
    }

    if (f->app_proto)
        gh_jbuf_printf(b, ",\"app_proto\":\"%s\"", gh_alproto_name(f->app_proto));
    gh_jbuf_printf(b,
                   ",\"flow\":{\"pkts_toserver\":%" PRIu32 ",\"pkts_toclient\":%" PRIu32
                   ",\"bytes_toserver\":%" PRIu64 ",\"bytes_toclient\":%" PRIu64,
                   f->pkts[0], f->pkts[1], f->bytes[0], f->bytes[1]);
    put_time(b, "start", f->start_ns);
    put_time(b, "end", f->last_ns);
    /* Suricata's age: difference of the whole-second parts */
    gh_jbuf_printf(b, ",\"age\":%" PRIu64 ",\"state\":\"%s\",\"reason\":\"%s\",\"alerted\":%s",
                   f->last_ns / NS_PER_S - f->start_ns / NS_PER_S,
                   gh_flow_state_name(gh_flow_get_state(f)),
                   gh_flow_end_reason_name((gh_flow_end_reason)f->end_reason),
                   (f->flags & GH_FLOWF_ALERTED) ? "true" : "false");
    const char *act = action_name(f->action);
    if (act)
        gh_jbuf_printf(b, ",\"action\":\"%s\"", act);
    JLIT(b, "}");
    if (proto == 6)
        put_tcp(b, f);
    JLIT(b, "}\n");
}
