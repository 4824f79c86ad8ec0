/* EVE JSON events (Suricata-compatible field names and formats). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gatehouse/eve.h"

/* ---- growable buffer ---------------------------------------------------- */

void gh_jbuf_init(gh_jbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void gh_jbuf_free(gh_jbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static bool jbuf_reserve(gh_jbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np) {
        b->oom = true;
        return false;
    }
    b->p = np;
    b->cap = cap;
    return true;
}

void gh_jbuf_append(gh_jbuf *b, const char *s, size_t n)
{
    if (!jbuf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void gh_jbuf_printf(gh_jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        gh_jbuf_append(b, tmp, (size_t)n);
        return;
    }
    if (!jbuf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

#define JLIT(b, s) gh_jbuf_append((b), (s), sizeof(s) - 1)

/* Length of the well-formed UTF-8 sequence at @p q (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *q)
{
    unsigned char c = q[0];
    if (c >= 0xc2 && c <= 0xdf)
        return (q[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return q[1] >= lo && q[1] <= hi && (q[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return q[1] >= lo && q[1] <= hi && (q[2] & 0xc0) == 0x80 && (q[3] & 0xc0) == 0x80 ? 4
                                                                                        : 0;
    }
    return 0;
}

void gh_jbuf_json_str(gh_jbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    JLIT(b, "\"");
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        unsigned char ch = *q;
        switch (ch) {
        case '"': JLIT(b, "\\\""); break;
        case '\\': JLIT(b, "\\\\"); break;
        case '\n': JLIT(b, "\\n"); break;
        case '\r': JLIT(b, "\\r"); break;
        case '\t': JLIT(b, "\\t"); break;
        default:
            if (ch >= 0x80) {
                /* well-formed UTF-8 (a rule's msg) passes through; any other
                 * byte becomes \u00XX, so the line is always valid JSON */
                size_t n = utf8_len(q); /* reads stop at the NUL terminator */
                if (n) {
                    gh_jbuf_append(b, (const char *)q, n);
                    q += n - 1;
                    break;
                }
            }
            if (ch < 0x20 || ch >= 0x7f) {
                char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
                gh_jbuf_append(b, e, 6);
            } else {
                gh_jbuf_append(b, (const char *)q, 1);
            }
        }
    }
    JLIT(b, "\"");
}

/* ---- field formatting --------------------------------------------------- */

void gh_eve_timestamp(char out[40], int64_t sec, uint32_t nsec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06u+0000", base, (unsigned)(nsec / 1000u) % 1000000u);
}

const char *gh_proto_name(uint8_t proto, char buf[8])
{
    switch (proto) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 41: return "IPv6";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 58: return "IPv6-ICMP";
    case 88: return "EIGRP";
    case 89: return "OSPF";
    case 103: return "PIM";
    case 112: return "VRRP";
    case 132: return "SCTP";
    default:
        snprintf(buf, 8, "%03u", proto);
        return buf;
    }
}

void gh_eve_fmt_begin(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, const char *event_type)
{
    gh_eve_fmt_begin_flow(b, in, pkt, 0, event_type);
}

void gh_eve_fmt_begin_flow(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                           uint64_t flow_id, const char *event_type)
{
    char ts[40];
    gh_eve_timestamp(ts, in ? in->ts_sec : 0, in ? in->ts_nsec : 0);
    gh_jbuf_printf(b, "{\"timestamp\":\"%s\"", ts);
    if (flow_id)
        gh_jbuf_printf(b, ",\"flow_id\":%" PRIu64, flow_id);
    if (in && in->id) /* 0: no packet (a flow's end) */
        gh_jbuf_printf(b, ",\"pcap_cnt\":%" PRIu64, in->id);
    JLIT(b, ",\"event_type\":");
    gh_jbuf_json_str(b, event_type);
    if (pkt && pkt->ip_ver) {
        char a[64], d[64], pb[8];
        gh_addr_str(&pkt->src, pkt->ip_ver, a, sizeof(a));
        gh_addr_str(&pkt->dst, pkt->ip_ver, d, sizeof(d));
        bool ports = pkt->layers & (GH_LAYER_TCP | GH_LAYER_UDP);
        gh_jbuf_printf(b, ",\"src_ip\":\"%s\"", a);
        if (ports)
            gh_jbuf_printf(b, ",\"src_port\":%u", pkt->sport);
        gh_jbuf_printf(b, ",\"dest_ip\":\"%s\"", d);
        if (ports)
            gh_jbuf_printf(b, ",\"dest_port\":%u", pkt->dport);
        gh_jbuf_printf(b, ",\"proto\":\"%s\"", gh_proto_name(pkt->ip_proto, pb));
        if (pkt->layers & (GH_LAYER_ICMPV4 | GH_LAYER_ICMPV6))
            gh_jbuf_printf(b, ",\"icmp_type\":%u,\"icmp_code\":%u", pkt->icmp_type, pkt->icmp_code);
    }
    if (pkt && pkt->vlan_count) {
        JLIT(b, ",\"vlan\":[");
        for (unsigned i = 0; i < pkt->vlan_count; i++)
            gh_jbuf_printf(b, "%s%u", i ? "," : "", pkt->vlan_id[i]);
        JLIT(b, "]");
    }
}

void gh_eve_fmt_end(gh_jbuf *b)
{
    JLIT(b, "}\n");
}

void gh_eve_fmt_anomaly(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, gh_anomaly a)
{
    gh_eve_fmt_begin(b, in, pkt, "anomaly");
    gh_jbuf_printf(b, ",\"anomaly\":{\"type\":\"decode\",\"event\":\"decoder.%s\"}",
                   gh_anomaly_name(a));
    gh_eve_fmt_end(b);
}

/* A JSON string of @p n bytes that may hold anything (escaped as UTF-8
 * would be; bytes >= 0x80 as \u00XX, as Suricata's JSON writer does for
 * invalid sequences). */
void gh_jbuf_json_bytes(gh_jbuf *b, const void *v, size_t n)
{
    const unsigned char *p = v;
    char tmp[4096];
    size_t k = 0;
    gh_jbuf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (k + 8 > sizeof(tmp)) {
            gh_jbuf_append(b, tmp, k);
            k = 0;
        }
        if (c == '"' || c == '\\') {
            tmp[k++] = '\\';
            tmp[k++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            static const char hx[] = "0123456789abcdef";
            if (c == '\n' || c == '\r' || c == '\t') {
                tmp[k++] = '\\';
                tmp[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            } else {
                memcpy(tmp + k, "\\u00", 4);
                tmp[k + 4] = hx[c >> 4];
                tmp[k + 5] = hx[c & 15];
                k += 6;
            }
        } else {
            tmp[k++] = (char)c;
        }
    }
    gh_jbuf_append(b, tmp, k);
    gh_jbuf_append(b, "\"", 1);
}

/* Is @p p a valid UTF-8 sequence (Rust's std::str::from_utf8)? */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        /* overlong forms, surrogates and code points past U+10FFFF */
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

void gh_jbuf_json_jb(gh_jbuf *b, const void *v, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    const unsigned char *p = v;
    bool valid = utf8_valid(p, n);
    char tmp[4096];
    size_t k = 0;
    gh_jbuf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (k + 8 > sizeof(tmp)) {
            gh_jbuf_append(b, tmp, k);
            k = 0;
        }
        if (c >= 0x80 && !valid) { /* the text \xHH, its backslash escaped */
            memcpy(tmp + k, "\\\\x", 3);
            tmp[k + 3] = hx[c >> 4];
            tmp[k + 4] = hx[c & 15];
            k += 5;
        } else if (c == '"' || c == '\\') {
            tmp[k++] = '\\';
            tmp[k++] = (char)c;
        } else if (c < 0x20) {
            static const char esc[] = "btnvfr"; /* 8..13, v (11) has none */
            if (c >= 8 && c <= 13 && c != 11) {
                tmp[k++] = '\\';
                tmp[k++] = esc[c - 8];
            } else {
                memcpy(tmp + k, "\\u00", 4);
                tmp[k + 4] = hx[c >> 4];
                tmp[k + 5] = hx[c & 15];
                k += 6;
            }
        } else {
            tmp[k++] = (char)c;
        }
    }
    gh_jbuf_append(b, tmp, k);
    gh_jbuf_append(b, "\"", 1);
}

static void http_field(gh_jbuf *b, bool *first, const char *name, gh_eve_str v)
{
    if (!v.p)
        return;
    gh_jbuf_printf(b, "%s\"%s\":", *first ? "" : ",", name);
    gh_jbuf_json_bytes(b, v.p, v.n);
    *first = false;
}

void gh_eve_fmt_http(gh_jbuf *b, const gh_eve_http *h)
{
    bool first = true;
    JLIT(b, ",\"http\":{");
    http_field(b, &first, "hostname", h->hostname);
    http_field(b, &first, "url", h->url);
    http_field(b, &first, "http_user_agent", h->user_agent);
    http_field(b, &first, "http_content_type", h->content_type);
    http_field(b, &first, "http_refer", h->referer);
    http_field(b, &first, "http_method", h->method);
    http_field(b, &first, "protocol", h->protocol);
    if (h->status) {
        gh_jbuf_printf(b, "%s\"status\":%u", first ? "" : ",", h->status);
        first = false;
    }
    http_field(b, &first, "redirect", h->redirect);
    gh_jbuf_printf(b, "%s\"length\":%llu}", first ? "" : ",", (unsigned long long)h->length);
}

void gh_eve_fmt_app_event(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                          uint64_t flow_id, const char *event_type, const char *members,
                          size_t len)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, event_type);
    gh_jbuf_append(b, members, len);
    gh_eve_fmt_end(b);
}

void gh_eve_fmt_exc_anomaly(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                            uint64_t flow_id, gh_exc_cond cond, gh_exc_policy policy)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, "anomaly");
    gh_jbuf_printf(b, ",\"anomaly\":{\"type\":\"exception_policy\",\"event\":\"%s\","
                      "\"policy\":\"%s\"}",
                   gh_exc_cond_name(cond, true), gh_exc_policy_name(policy, true));
    gh_eve_fmt_end(b);
}

void gh_eve_fmt_app_anomaly(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                            uint64_t flow_id, const char *app_proto, uint64_t tx_id, bool has_tx,
                            const char *name)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, "anomaly");
    if (has_tx)
        gh_jbuf_printf(b, ",\"tx_id\":%llu", (unsigned long long)tx_id);
    gh_jbuf_printf(b, ",\"anomaly\":{\"app_proto\":\"%s\",\"type\":\"applayer\","
                      "\"event\":\"%s\",\"layer\":\"proto_parser\"}",
                   app_proto, name);
    gh_eve_fmt_end(b);
}

void gh_eve_fmt_drop(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, uint64_t flow_id,
                     gh_drop_reason reason, bool reject, const gh_eve_rule *rule)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, "drop");
    gh_jbuf_printf(b, ",\"drop\":{\"len\":%u", pkt->l3_len);
    if (pkt->ip_ver) {
        gh_jbuf_printf(b, ",\"tos\":%u,\"ttl\":%u", pkt->ip_tos, pkt->ttl);
        if (pkt->ip_ver == 4)
            gh_jbuf_printf(b, ",\"ipid\":%u", pkt->ip_id16);
    }
    if (pkt->layers & GH_LAYER_TCP) {
        uint8_t f = pkt->tcp_flags;
        gh_jbuf_printf(b,
                       ",\"tcpseq\":%u,\"tcpack\":%u,\"tcpwin\":%u,\"syn\":%s,\"ack\":%s,"
                       "\"psh\":%s,\"rst\":%s,\"urg\":%s,\"fin\":%s",
                       pkt->tcp_seq, pkt->tcp_ack, pkt->tcp_win,
                       f & GH_TCP_SYN ? "true" : "false", f & GH_TCP_ACK ? "true" : "false",
                       f & GH_TCP_PSH ? "true" : "false", f & GH_TCP_RST ? "true" : "false",
                       f & GH_TCP_URG ? "true" : "false", f & GH_TCP_FIN ? "true" : "false");
    } else if (pkt->layers & GH_LAYER_UDP) {
        gh_jbuf_printf(b, ",\"udplen\":%u", pkt->udp_len);
    }
    JLIT(b, ",\"reason\":");
    gh_jbuf_json_str(b, gh_drop_reason_name(reason));
    JLIT(b, "}");
    gh_jbuf_printf(b, ",\"verdict\":{\"action\":\"%s\"}", reject ? "reject" : "drop");
    if (rule) {
        gh_jbuf_printf(b, ",\"rule\":{\"action\":\"%s\",\"gid\":%u,\"signature_id\":%u,"
                          "\"rev\":%u,\"signature\":",
                       rule->action, rule->gid, rule->sid, rule->rev);
        gh_jbuf_json_str(b, rule->msg ? rule->msg : "");
        JLIT(b, ",\"file\":");
        gh_jbuf_json_str(b, rule->file ? rule->file : "");
        gh_jbuf_printf(b, ",\"line\":%u}", rule->line);
    }
    gh_eve_fmt_end(b);
}

void gh_jbuf_base64(gh_jbuf *b, const uint8_t *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    JLIT(b, "\"");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 63];
        q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? tab[v & 63] : '=';
        gh_jbuf_append(b, q, 4);
    }
    JLIT(b, "\"");
}

/* Suricata's payload_printable: printable ASCII, CR and LF kept, every other
 * byte a '.'; then JSON-escaped. */
static void jbuf_printable(gh_jbuf *b, const uint8_t *p, size_t n)
{
    JLIT(b, "\"");
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '\n')
            JLIT(b, "\\n");
        else if (ch == '\r')
            JLIT(b, "\\r");
        else if (ch == '"')
            JLIT(b, "\\\"");
        else if (ch == '\\')
            JLIT(b, "\\\\");
        else if (ch >= 0x20 && ch < 0x7f)
            gh_jbuf_append(b, (const char *)&p[i], 1);
        else
            JLIT(b, ".");
    }
    JLIT(b, "\"");
}

/* Suricata's alert "source" or "target" object: one end of the packet, its
 * port for TCP and UDP. */
static void jbuf_endpoint(gh_jbuf *b, const char *name, const gh_packet *pkt, bool src)
{
    char a[64];
    gh_addr_str(src ? &pkt->src : &pkt->dst, pkt->ip_ver, a, sizeof(a));
    gh_jbuf_printf(b, ",\"%s\":{\"ip\":\"%s\"", name, a);
    if (pkt->layers & (GH_LAYER_TCP | GH_LAYER_UDP))
        gh_jbuf_printf(b, ",\"port\":%u", src ? pkt->sport : pkt->dport);
    JLIT(b, "}");
}

void gh_eve_fmt_alert(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, uint64_t flow_id,
                      const gh_eve_rule *rule, bool blocked, const char *category,
                      uint32_t severity)
{
    gh_eve_fmt_alert_ex(b, in, pkt, flow_id, rule, blocked, category, severity, NULL);
}

void gh_eve_fmt_alert_ex(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, uint64_t flow_id,
                         const gh_eve_rule *rule, bool blocked, const char *category,
                         uint32_t severity, const gh_eve_alert_data *x)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, "alert");
    if (x && x->pkt_src) {
        JLIT(b, ",\"pkt_src\":");
        gh_jbuf_json_str(b, x->pkt_src);
    }
    if (x && x->app_json)
        gh_jbuf_printf(b, ",\"tx_id\":%llu", (unsigned long long)x->tx_id);
    gh_jbuf_printf(b, ",\"alert\":{\"action\":\"%s\",\"gid\":%u,\"signature_id\":%u,\"rev\":%u,"
                      "\"signature\":",
                   blocked ? "blocked" : "allowed", rule->gid, rule->sid, rule->rev);
    gh_jbuf_json_str(b, rule->msg ? rule->msg : "");
    JLIT(b, ",\"category\":");
    gh_jbuf_json_str(b, category ? category : "");
    gh_jbuf_printf(b, ",\"severity\":%u", severity);
    if (rule->target && pkt && pkt->ip_ver) {
        jbuf_endpoint(b, "source", pkt, rule->target == GH_TARGET_DEST);
        jbuf_endpoint(b, "target", pkt, rule->target == GH_TARGET_SRC);
    }
    gh_jbuf_printf(b, ",\"rule_action\":\"%s\",\"file\":",
                   rule->action ? rule->action : "alert");
    gh_jbuf_json_str(b, rule->file ? rule->file : "");
    gh_jbuf_printf(b, ",\"line\":%u}", rule->line);
    if (x && (x->fields & GH_EVE_ALERT_PAYLOAD)) {
        JLIT(b, ",\"payload\":");
        gh_jbuf_base64(b, x->payload, x->payload ? x->payload_len : 0);
    }
    if (x && (x->fields & GH_EVE_ALERT_PAYLOAD_PRINTABLE)) {
        JLIT(b, ",\"payload_printable\":");
        jbuf_printable(b, x->payload, x->payload ? x->payload_len : 0);
    }
    if (x && (x->fields & (GH_EVE_ALERT_PAYLOAD | GH_EVE_ALERT_PAYLOAD_PRINTABLE)))
        gh_jbuf_printf(b, ",\"stream\":%d", x->stream ? 1 : 0);
    if (x && x->app_json)
        gh_jbuf_append(b, x->app_json, x->app_json_len);
    if (x && x->app_proto)
        gh_jbuf_printf(b, ",\"app_proto\":\"%s\"", x->app_proto);
    if (x && (x->fields & GH_EVE_ALERT_PACKET) && in && in->data) {
        JLIT(b, ",\"packet\":");
        gh_jbuf_base64(b, in->data, in->caplen);
        gh_jbuf_printf(b, ",\"packet_info\":{\"linktype\":%u}", in->linktype);
    }
    gh_eve_fmt_end(b);
}

void gh_eve_fmt_packet(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, uint64_t flow_id)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, "packet");
    JLIT(b, ",\"packet\":");
    gh_jbuf_base64(b, in->data, in->caplen);
    gh_jbuf_printf(b, ",\"packet_info\":{\"linktype\":%u}", in->linktype);
    gh_eve_fmt_end(b);
}

void gh_eve_fmt_stats(gh_jbuf *b, int64_t ts_sec, uint32_t ts_nsec, const gh_counters *c,
                      double uptime_s)
{
    gh_eve_fmt_stats_extra(b, ts_sec, ts_nsec, c, uptime_s, NULL);
}

void gh_eve_fmt_stats_extra(gh_jbuf *b, int64_t ts_sec, uint32_t ts_nsec, const gh_counters *c,
                            double uptime_s, const char *extra)
{
    char ts[40];
    gh_eve_timestamp(ts, ts_sec, ts_nsec);
    gh_jbuf_printf(b, "{\"timestamp\":\"%s\",\"event_type\":\"stats\",\"stats\":{\"uptime\":%.0f",
                   ts, uptime_s);
    gh_jbuf_printf(b,
                   ",\"decoder\":{\"pkts\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"invalid\":%" PRIu64
                   ",\"avg_pkt_size\":%" PRIu64 ",\"max_pkt_size\":%" PRIu64,
                   c->pkts, c->bytes, c->invalid, c->pkts ? c->bytes / c->pkts : 0,
                   c->max_pkt_size);
#define GH_X_JSON(f, s) gh_jbuf_printf(b, ",\"" s "\":%" PRIu64, c->f);
    GH_PROTO_COUNTER_LIST(GH_X_JSON)
#undef GH_X_JSON
    JLIT(b, ",\"linktypes\":{");
    bool first = true;
    for (int i = 0; i < GH_MAX_LINKTYPES; i++) {
        if (!c->linktype_pkts[i])
            continue;
        const char *n = gh_linktype_name(c->linktype[i]);
        if (n)
            gh_jbuf_printf(b, "%s\"%s\":%" PRIu64, first ? "" : ",", n, c->linktype_pkts[i]);
        else
            gh_jbuf_printf(b, "%s\"linktype_%u\":%" PRIu64, first ? "" : ",", c->linktype[i],
                           c->linktype_pkts[i]);
        first = false;
    }
    if (c->linktype_other)
        gh_jbuf_printf(b, "%s\"other\":%" PRIu64, first ? "" : ",", c->linktype_other);
    JLIT(b, "}");

    /* anomalies grouped by layer, as Suricata's decoder.event.<layer>.<name> */
    JLIT(b, ",\"event\":{");
    size_t prev_len = 0;
    const char *prev = NULL;
    for (int a = 0; a < GH_ANOM_COUNT; a++) {
        const char *name = gh_anomaly_name((gh_anomaly)a);
        const char *dot = strchr(name, '.');
        size_t plen = dot ? (size_t)(dot - name) : 0;
        if (!prev || plen != prev_len || strncmp(prev, name, plen) != 0) {
            if (prev)
                JLIT(b, "},");
            gh_jbuf_printf(b, "\"%.*s\":{", (int)plen, name);
            prev = name;
            prev_len = plen;
        } else {
            JLIT(b, ",");
        }
        gh_jbuf_printf(b, "\"%s\":%" PRIu64, dot ? dot + 1 : name, c->anomalies[a]);
    }
    if (prev)
        JLIT(b, "}");
    JLIT(b, "}}");
    gh_jbuf_printf(b,
                   ",\"verdict\":{\"accepted\":%" PRIu64 ",\"dropped\":%" PRIu64
                   ",\"rejected\":%" PRIu64 ",\"drop_reason\":{",
                   c->accepted, c->dropped, c->rejected);
    for (int r = 0; r < GH_DROP_REASON_COUNT; r++) {
        if (r)
            JLIT(b, ",");
        gh_jbuf_json_str(b, gh_drop_reason_name((gh_drop_reason)r));
        gh_jbuf_printf(b, ":%" PRIu64, c->drop_reason[r]);
    }
    gh_jbuf_printf(b,
                   "}},\"firewall\":{\"lookups\":%" PRIu64 ",\"fastpath\":%" PRIu64
                   ",\"non_ip\":%" PRIu64 "},\"flow\":{\"pool_full\":%" PRIu64
                   ",\"ended\":{\"timeout\":%" PRIu64 ",\"forced\":%" PRIu64
                   ",\"shutdown\":%" PRIu64 ",\"tcp_reuse\":%" PRIu64 "}},\"detect\":{"
                   "\"inspected\":%" PRIu64 ",\"alerts\":%" PRIu64 ",\"passed\":%" PRIu64
                   ",\"truncated\":%" PRIu64 ",\"threshold_expired\":%" PRIu64
                   ",\"threshold_evicted\":%" PRIu64 ",\"tagged\":%" PRIu64
                   ",\"tag_refused\":%" PRIu64 ",\"tag_evicted\":%" PRIu64 "},"
                   "\"defrag\":{\"held\":%" PRIu64 ",\"reassembled\":%" PRIu64
                   ",\"conflicts\":%" PRIu64 ",\"refused\":%" PRIu64 "},\"stream\":{"
                   "\"bytes\":%" PRIu64 ",\"inspected_alone\":%" PRIu64 ",\"conflicts\":%" PRIu64
                   ",\"gaps\":%" PRIu64 "},\"app_layer\":{\"tx\":%" PRIu64
                   ",\"anomalies\":%" PRIu64 ",\"no_state\":%" PRIu64 "}",
                   c->fw_lookups, c->fw_fastpath, c->fw_non_ip, c->flow_pool_full,
                   c->flows_ended[0], c->flows_ended[1], c->flows_ended[2], c->flows_ended[3],
                   c->dpi_inspected, c->alerts, c->dpi_passed, c->dpi_truncated,
                   c->threshold_expired, c->threshold_evicted, c->tagged, c->tag_refused,
                   c->tag_evicted, c->frag_held,
                   c->frag_reassembled, c->frag_conflicts, c->frag_errors, c->stream_bytes, c->stream_alone,
                   c->stream_conflicts, c->stream_gaps, c->app_txs, c->app_anomalies,
                   c->app_no_state);
    /* Suricata's exception_policy counters: per target, per policy applied */
    JLIT(b, ",\"exception_policy\":{");
    for (int e = 0; e < GH_EXC_COND_COUNT; e++) {
        gh_jbuf_printf(b, "%s\"%s\":{", e ? "," : "", gh_exc_cond_name((gh_exc_cond)e, true));
        for (int q = GH_EXC_IGNORE; q < GH_EXC_POLICY_COUNT; q++)
            gh_jbuf_printf(b, "%s\"%s\":%" PRIu64, q > GH_EXC_IGNORE ? "," : "",
                           gh_exc_policy_name((gh_exc_policy)q, true), c->exc[e][q]);
        JLIT(b, "}");
    }
    JLIT(b, "}");
    if (extra) {
        JLIT(b, ",");
        gh_jbuf_append(b, extra, strlen(extra));
    }
    JLIT(b, "}}\n");
}

/* ---- writer ------------------------------------------------------------- */

struct gh_eve {
    FILE *f;
    bool is_stdout;
    bool failed;
    int saved_errno;
    char *path;
    pthread_mutex_t lock;
};

gh_eve *gh_eve_open(const char *path, gh_error *err)
{
    gh_eve *e = calloc(1, sizeof(*e));
    if (!e) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    e->path = strdup(path);
    if (!e->path) {
        free(e);
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        e->f = stdout;
        e->is_stdout = true;
    } else {
        e->f = fopen(path, "w");
        if (!e->f) {
            gh_error_set(err, GH_E_IO, "%s: cannot open for writing: %s", path, strerror(errno));
            free(e->path);
            free(e);
            return NULL;
        }
    }
    pthread_mutex_init(&e->lock, NULL);
    return e;
}

int gh_eve_write(gh_eve *e, const char *lines, size_t len)
{
    if (!e || !len)
        return GH_OK;
    pthread_mutex_lock(&e->lock);
    if (!e->failed && fwrite(lines, 1, len, e->f) != len) {
        e->failed = true;
        e->saved_errno = errno;
    }
    int rc = e->failed ? GH_E_IO : GH_OK;
    pthread_mutex_unlock(&e->lock);
    return rc;
}

int gh_eve_flush(gh_eve *e)
{
    if (!e)
        return GH_OK;
    pthread_mutex_lock(&e->lock);
    if (!e->failed && fflush(e->f) != 0) {
        e->failed = true;
        e->saved_errno = errno;
    }
    int rc = e->failed ? GH_E_IO : GH_OK;
    pthread_mutex_unlock(&e->lock);
    return rc;
}

int gh_eve_close(gh_eve *e, gh_error *err)
{
    if (!e)
        return GH_OK;
    if (fflush(e->f) != 0 && !e->failed) {
        e->failed = true;
        e->saved_errno = errno;
    }
    if (!e->is_stdout && fclose(e->f) != 0 && !e->failed) {
        e->failed = true;
        e->saved_errno = errno;
    }
    int rc = GH_OK;
    if (e->failed) {
        gh_error_set(err, GH_E_IO, "%s: write failed: %s", e->path, strerror(e->saved_errno));
        rc = GH_E_IO;
    }
    pthread_mutex_destroy(&e->lock);
    free(e->path);
    free(e);
    return rc;
}
