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

bool gh_jbuf_grow(gh_jbuf *b, size_t extra)
{
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
    if (!gh_jbuf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- printf-free writers ------------------------------------------------- */

/* The packet path writes its numbers, addresses and timestamps with these
 * instead of vsnprintf, which costs more than all the rest of an event. */

static const char hexdig[] = "0123456789abcdef";

/* Two decimal digits of each value 0..99. */
static const char dec2[200] = "00010203040506070809101112131415161718192021222324"
                              "25262728293031323334353637383940414243444546474849"
                              "50515253545556575859606162636465666768697071727374"
                              "75767778798081828384858687888990919293949596979899";

/* Decimal digits of @p v written backwards so they end at @p end, at least
 * @p width of them (zero-padded); returns where they start. */
static char *dec_back(char *end, uint64_t v, unsigned width)
{
    char *q = end;
    while (v >= 100) {
        q -= 2;
        memcpy(q, dec2 + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, dec2 + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    while ((size_t)(end - q) < width)
        *--q = '0';
    return q;
}

/* Decimal digits of @p v. */
static unsigned dec_len(uint64_t v)
{
    unsigned n = 1;
    for (; v >= 10000; v /= 10000)
        n += 4;
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

void gh_jbuf_u64_pad(gh_jbuf *b, uint64_t v, unsigned width)
{
    unsigned n = dec_len(v);
    n = n > width ? n : width < 40 ? width : 40;
    if (!gh_jbuf_reserve(b, n))
        return;
    dec_back(b->p + b->len + n, v, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void gh_jbuf_u64(gh_jbuf *b, uint64_t v)
{
    unsigned n = dec_len(v);
    if (!gh_jbuf_reserve(b, n))
        return;
    dec_back(b->p + b->len + n, v, 1);
    b->len += n;
    b->p[b->len] = '\0';
}

void gh_jbuf_i64(gh_jbuf *b, int64_t v)
{
    if (v < 0)
        GH_JBUF_LIT(b, "-");
    /* the magnitude in unsigned arithmetic: INT64_MIN has no positive twin */
    gh_jbuf_u64(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

void gh_jbuf_hex(gh_jbuf *b, uint64_t v, unsigned width)
{
    char tmp[24], *end = tmp + sizeof(tmp), *q = end;
    width = width < 16 ? width : 16;
    do {
        *--q = hexdig[v & 15];
        v >>= 4;
    } while (v);
    while ((size_t)(end - q) < width)
        *--q = '0';
    gh_jbuf_append(b, q, (size_t)(end - q));
}

void gh_jbuf_key(gh_jbuf *b, bool comma, const char *key)
{
    size_t n = strlen(key);
    if (!gh_jbuf_reserve(b, n + 4))
        return;
    char *o = b->p + b->len;
    if (comma)
        *o++ = ',';
    *o++ = '"';
    memcpy(o, key, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    *o = '\0';
    b->len = (size_t)(o - b->p);
}

void gh_jbuf_quoted(gh_jbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (!gh_jbuf_reserve(b, n + 2))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    memcpy(o, s, n);
    o += n;
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->p);
}

/* Dotted quad of @p a into @p o; returns the length. */
static size_t fmt_ip4(char *o, const uint8_t *a)
{
    char *q = o;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (i)
            *q++ = '.';
        if (v >= 100) {
            *q++ = (char)('0' + v / 100);
            memcpy(q, dec2 + 2 * (v % 100), 2);
            q += 2;
        } else if (v >= 10) {
            memcpy(q, dec2 + 2 * v, 2);
            q += 2;
        } else {
            *q++ = (char)('0' + v);
        }
    }
    return (size_t)(q - o);
}

/* @p a as inet_ntop writes an IPv6 address (glibc's inet_ntop6: the first
 * longest run of two or more zero groups as "::", groups in lowercase hex
 * without leading zeros, an IPv4-compatible or -mapped address with its
 * last 32 bits dotted); returns the length. */
static size_t fmt_ip6(char *o, const uint8_t *a)
{
    unsigned w[8];
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int i = 0; i < 8; i++) {
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
        if (w[i] != 0) {
            cur = -1;
            continue;
        }
        if (cur < 0) {
            cur = i;
            cur_len = 0;
        }
        if (++cur_len > best_len) {
            best = cur;
            best_len = cur_len;
        }
    }
    if (best_len < 2)
        best = -1;
    char *q = o;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best)
                *q++ = ':';
            continue;
        }
        if (i)
            *q++ = ':';
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
            return (size_t)(q - o) + fmt_ip4(q, a + 12);
        unsigned v = w[i];
        int sh = v >= 0x1000 ? 12 : v >= 0x100 ? 8 : v >= 0x10 ? 4 : 0;
        for (; sh >= 0; sh -= 4)
            *q++ = hexdig[(v >> sh) & 15];
    }
    if (best >= 0 && best + best_len == 8)
        *q++ = ':';
    return (size_t)(q - o);
}

void gh_jbuf_ip(gh_jbuf *b, const uint8_t *addr, int ver)
{
    /* "" for a version that is neither, as gh_addr_str writes it */
    if (!gh_jbuf_reserve(b, 48))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    if (ver == 4)
        o += fmt_ip4(o, addr);
    else if (ver == 6)
        o += fmt_ip6(o, addr);
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->p);
}

/* First and last second of the years 1000 to 9999, where strftime's %Y is
 * four digits (glibc pads no shorter year) as the calendar below writes it. */
#define YEAR1000_SEC INT64_C(-30610224000)
#define YEAR9999_END_SEC INT64_C(253402300799)

/* "YYYY-MM-DDTHH:MM:SS" of @p sec, UTC, proleptic Gregorian (Howard
 * Hinnant's civil_from_days); a year outside 0..9999 as printf's %04lld
 * writes it. Returns the length. */
static size_t fmt_datetime(char *o, int64_t sec)
{
    int64_t days = sec >= 0 ? sec / 86400 : -((-(sec + 1)) / 86400) - 1;
    unsigned s = (unsigned)(sec - days * 86400);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char ybuf[24], *yend = ybuf + sizeof(ybuf);
    char *yq = dec_back(yend, y < 0 ? 0 - (uint64_t)y : (uint64_t)y, y < 0 ? 3 : 4);
    if (y < 0)
        *--yq = '-';
    size_t yl = (size_t)(yend - yq);
    memcpy(o, yq, yl);
    char *q = o + yl;
    *q++ = '-';
    memcpy(q, dec2 + 2 * m, 2);
    q[2] = '-';
    memcpy(q + 3, dec2 + 2 * d, 2);
    q[5] = 'T';
    memcpy(q + 6, dec2 + 2 * (s / 3600), 2);
    q[8] = ':';
    memcpy(q + 9, dec2 + 2 * (s / 60 % 60), 2);
    q[11] = ':';
    memcpy(q + 12, dec2 + 2 * (s % 60), 2);
    return yl + 15;
}

void gh_jbuf_datetime(gh_jbuf *b, int64_t sec)
{
    if (!gh_jbuf_reserve(b, 48))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    o += fmt_datetime(o, sec);
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->p);
}

/* The date and time part of an EVE timestamp (at most 23 characters);
 * returns its length. */
static size_t ts_prefix(char out[24], int64_t sec)
{
    if (GH_LIKELY(sec >= YEAR1000_SEC && sec <= YEAR9999_END_SEC))
        return fmt_datetime(out, sec);
    /* other years: what gmtime and strftime make of them */
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof(tm));
    return strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* ".uuuuuu+0000" (12 characters): the microseconds, truncated. */
static void ts_suffix(char *o, uint32_t nsec)
{
    unsigned us = (unsigned)(nsec / 1000u) % 1000000u;
    o[0] = '.';
    memcpy(o + 1, dec2 + 2 * (us / 10000), 2);
    memcpy(o + 3, dec2 + 2 * (us / 100 % 100), 2);
    memcpy(o + 5, dec2 + 2 * (us % 100), 2);
    memcpy(o + 7, "+0000", 5);
}

void gh_eve_timestamp(char out[40], int64_t sec, uint32_t nsec)
{
    size_t n = ts_prefix(out, sec);
    ts_suffix(out + n, nsec);
    out[n + 12] = '\0';
}

void gh_jbuf_timestamp(gh_jbuf *b, int64_t sec, uint32_t nsec)
{
    /* events come in time order: the date and time of the last second
     * formatted are kept, only the microseconds change */
    if (!b->ts_valid || b->ts_sec != sec) {
        b->ts_len = (uint8_t)ts_prefix(b->ts_date, sec);
        b->ts_sec = sec;
        b->ts_valid = true;
    }
    if (!gh_jbuf_reserve(b, (size_t)b->ts_len + 14))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    memcpy(o, b->ts_date, b->ts_len);
    o += b->ts_len;
    ts_suffix(o, nsec);
    o += 12;
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->p);
}

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

/* The JSON escape of a byte below 0x20, '"' or '\\': \n, \r, \t, \" and \\
 * by name, the others as \u00XX. */
static void escape_byte(gh_jbuf *b, unsigned char c)
{
    char e[6] = {'\\', (char)c};
    size_t k = 2;
    if (c == '\n' || c == '\r' || c == '\t') {
        e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
    } else if (c != '"' && c != '\\') {
        memcpy(e + 1, "u00", 3);
        e[4] = hexdig[c >> 4];
        e[5] = hexdig[c & 15];
        k = 6;
    }
    gh_jbuf_append(b, e, k);
}

void gh_jbuf_json_str(gh_jbuf *b, const char *s)
{
    const unsigned char *q = (const unsigned char *)s;
    GH_JBUF_LIT(b, "\"");
    for (;;) {
        /* printable ASCII other than the two escaped characters goes in runs */
        const unsigned char *run = q;
        while (*q >= 0x20 && *q < 0x7f && *q != '"' && *q != '\\')
            q++;
        if (q > run)
            gh_jbuf_append(b, (const char *)run, (size_t)(q - run));
        if (!*q)
            break;
        /* well-formed UTF-8 (a rule's msg) passes through; any other byte
         * becomes \u00XX, so the line is always valid JSON */
        size_t n = *q >= 0x80 ? utf8_len(q) : 0; /* reads stop at the NUL terminator */
        if (n) {
            gh_jbuf_append(b, (const char *)q, n);
            q += n;
            continue;
        }
        escape_byte(b, *q++);
    }
    GH_JBUF_LIT(b, "\"");
}

/* ---- event types -------------------------------------------------------- */

static const char *const eve_type_names[GH_EVE_T_COUNT] = {
    [GH_EVE_T_ALERT] = "alert", [GH_EVE_T_ANOMALY] = "anomaly", [GH_EVE_T_DROP] = "drop",
    [GH_EVE_T_FLOW] = "flow",   [GH_EVE_T_PACKET] = "packet",   [GH_EVE_T_STATS] = "stats",
    [GH_EVE_T_HTTP] = "http",   [GH_EVE_T_DNS] = "dns",         [GH_EVE_T_TLS] = "tls",
    [GH_EVE_T_SMTP] = "smtp",   [GH_EVE_T_FTP] = "ftp",         [GH_EVE_T_SSH] = "ssh",
};

const char *gh_eve_type_name(gh_eve_type t)
{
    return (unsigned)t < GH_EVE_T_COUNT ? eve_type_names[t] : NULL;
}

bool gh_eve_type_find(const char *name, size_t len, gh_eve_type *out)
{
    for (unsigned t = 0; t < GH_EVE_T_COUNT; t++) {
        if (strlen(eve_type_names[t]) == len && memcmp(eve_type_names[t], name, len) == 0) {
            *out = (gh_eve_type)t;
            return true;
        }
    }
    return false;
}

int gh_eve_types_parse(const char *list, uint32_t *mask, gh_error *err)
{
    uint32_t m = 0;
    for (const char *s = list;; s++) {
        while (*s == ' ' || *s == '\t')
            s++;
        const char *name = s;
        while (*s && *s != ',')
            s++;
        size_t len = (size_t)(s - name);
        while (len && (name[len - 1] == ' ' || name[len - 1] == '\t'))
            len--;
        gh_eve_type t;
        if (!gh_eve_type_find(name, len, &t)) {
            char known[160] = "";
            for (unsigned k = 0; k < GH_EVE_T_COUNT; k++) {
                strcat(known, k ? ", " : "");
                strcat(known, eve_type_names[k]);
            }
            if (len)
                gh_error_set(err, GH_E_INVAL, "unknown event type '%.*s' (known: %s)", (int)len,
                             name, known);
            else
                gh_error_set(err, GH_E_INVAL, "empty event type in '%s' (known: %s)", list,
                             known);
            return GH_E_INVAL;
        }
        m |= 1u << t;
        if (!*s)
            break;
    }
    *mask = m;
    return GH_OK;
}

/* ---- field formatting --------------------------------------------------- */

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
    default: /* "%03u" */
        buf[0] = (char)('0' + proto / 100);
        memcpy(buf + 1, dec2 + 2 * (proto % 100), 2);
        buf[3] = '\0';
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
    GH_JBUF_LIT(b, "{\"timestamp\":");
    gh_jbuf_timestamp(b, in ? in->ts_sec : 0, in ? in->ts_nsec : 0);
    if (flow_id) {
        GH_JBUF_LIT(b, ",\"flow_id\":");
        gh_jbuf_u64(b, flow_id);
    }
    if (in && in->id) { /* 0: no packet (a flow's end) */
        GH_JBUF_LIT(b, ",\"pcap_cnt\":");
        gh_jbuf_u64(b, in->id);
    }
    GH_JBUF_LIT(b, ",\"event_type\":");
    gh_jbuf_json_str(b, event_type);
    if (pkt && pkt->ip_ver) {
        char pb[8];
        bool ports = pkt->layers & (GH_LAYER_TCP | GH_LAYER_UDP);
        GH_JBUF_LIT(b, ",\"src_ip\":");
        gh_jbuf_ip(b, pkt->src.b, pkt->ip_ver);
        if (ports) {
            GH_JBUF_LIT(b, ",\"src_port\":");
            gh_jbuf_u64(b, pkt->sport);
        }
        GH_JBUF_LIT(b, ",\"dest_ip\":");
        gh_jbuf_ip(b, pkt->dst.b, pkt->ip_ver);
        if (ports) {
            GH_JBUF_LIT(b, ",\"dest_port\":");
            gh_jbuf_u64(b, pkt->dport);
        }
        GH_JBUF_LIT(b, ",\"proto\":");
        gh_jbuf_quoted(b, gh_proto_name(pkt->ip_proto, pb));
        if (pkt->layers & (GH_LAYER_ICMPV4 | GH_LAYER_ICMPV6)) {
            GH_JBUF_LIT(b, ",\"icmp_type\":");
            gh_jbuf_u64(b, pkt->icmp_type);
            GH_JBUF_LIT(b, ",\"icmp_code\":");
            gh_jbuf_u64(b, pkt->icmp_code);
        }
    }
    if (pkt && pkt->vlan_count) {
        GH_JBUF_LIT(b, ",\"vlan\":[");
        for (unsigned i = 0; i < pkt->vlan_count; i++) {
            if (i)
                GH_JBUF_LIT(b, ",");
            gh_jbuf_u64(b, pkt->vlan_id[i]);
        }
        GH_JBUF_LIT(b, "]");
    }
}

void gh_eve_fmt_end(gh_jbuf *b)
{
    GH_JBUF_LIT(b, "}\n");
}

void gh_eve_fmt_anomaly(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, gh_anomaly a)
{
    gh_eve_fmt_begin(b, in, pkt, "anomaly");
    GH_JBUF_LIT(b, ",\"anomaly\":{\"type\":\"decode\",\"event\":\"decoder.");
    const char *name = gh_anomaly_name(a);
    gh_jbuf_append(b, name, strlen(name));
    GH_JBUF_LIT(b, "\"}");
    gh_eve_fmt_end(b);
}

/* A JSON string of @p n bytes that may hold anything (escaped as UTF-8
 * would be; bytes >= 0x80 as \u00XX, as Suricata's JSON writer does for
 * invalid sequences). */
void gh_jbuf_json_bytes(gh_jbuf *b, const void *v, size_t n)
{
    const unsigned char *p = v, *end = n ? p + n : p; /* v may be NULL when n is 0 */
    GH_JBUF_LIT(b, "\"");
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            gh_jbuf_append(b, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        escape_byte(b, *p++);
    }
    GH_JBUF_LIT(b, "\"");
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
    const unsigned char *p = v, *end = n ? p + n : p; /* v may be NULL when n is 0 */
    /* bytes above 0x7f go as they are only in valid UTF-8 */
    unsigned char hi = utf8_valid(p, n) ? 0xff : 0x7f;
    GH_JBUF_LIT(b, "\"");
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p <= hi && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            gh_jbuf_append(b, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        unsigned char c = *p++;
        char e[6] = {'\\', (char)c};
        size_t k = 2;
        if (c >= 0x80) { /* the text \xHH, its backslash escaped */
            memcpy(e + 1, "\\x", 2);
            e[3] = hexdig[c >> 4];
            e[4] = hexdig[c & 15];
            k = 5;
        } else if (c < 0x20) {
            static const char esc[] = "btnvfr"; /* 8..13, v (11) has none */
            if (c >= 8 && c <= 13 && c != 11) {
                e[1] = esc[c - 8];
            } else {
                memcpy(e + 1, "u00", 3);
                e[4] = hexdig[c >> 4];
                e[5] = hexdig[c & 15];
                k = 6;
            }
        }
        gh_jbuf_append(b, e, k);
    }
    GH_JBUF_LIT(b, "\"");
}

static void http_field(gh_jbuf *b, bool *first, const char *name, gh_eve_str v)
{
    if (!v.p)
        return;
    gh_jbuf_key(b, !*first, name);
    gh_jbuf_json_bytes(b, v.p, v.n);
    *first = false;
}

void gh_eve_fmt_http(gh_jbuf *b, const gh_eve_http *h)
{
    bool first = true;
    GH_JBUF_LIT(b, ",\"http\":{");
    http_field(b, &first, "hostname", h->hostname);
    http_field(b, &first, "url", h->url);
    http_field(b, &first, "http_user_agent", h->user_agent);
    http_field(b, &first, "http_content_type", h->content_type);
    http_field(b, &first, "http_refer", h->referer);
    http_field(b, &first, "http_method", h->method);
    http_field(b, &first, "protocol", h->protocol);
    if (h->status) {
        gh_jbuf_key(b, !first, "status");
        gh_jbuf_u64(b, h->status);
        first = false;
    }
    http_field(b, &first, "redirect", h->redirect);
    gh_jbuf_key(b, !first, "length");
    gh_jbuf_u64(b, h->length);
    GH_JBUF_LIT(b, "}");
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
    GH_JBUF_LIT(b, ",\"anomaly\":{\"type\":\"exception_policy\",\"event\":");
    gh_jbuf_quoted(b, gh_exc_cond_name(cond, true));
    GH_JBUF_LIT(b, ",\"policy\":");
    gh_jbuf_quoted(b, gh_exc_policy_name(policy, true));
    GH_JBUF_LIT(b, "}");
    gh_eve_fmt_end(b);
}

void gh_eve_fmt_app_anomaly(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                            uint64_t flow_id, const char *app_proto, uint64_t tx_id, bool has_tx,
                            const char *name)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, "anomaly");
    if (has_tx) {
        GH_JBUF_LIT(b, ",\"tx_id\":");
        gh_jbuf_u64(b, tx_id);
    }
    GH_JBUF_LIT(b, ",\"anomaly\":{\"app_proto\":");
    gh_jbuf_quoted(b, app_proto);
    GH_JBUF_LIT(b, ",\"type\":\"applayer\",\"event\":");
    gh_jbuf_quoted(b, name);
    GH_JBUF_LIT(b, ",\"layer\":\"proto_parser\"}");
    gh_eve_fmt_end(b);
}

/* A rule's gid (its key already written), signature_id, rev and signature. */
static void put_rule_ids(gh_jbuf *b, const gh_eve_rule *rule)
{
    gh_jbuf_u64(b, rule->gid);
    GH_JBUF_LIT(b, ",\"signature_id\":");
    gh_jbuf_u64(b, rule->sid);
    GH_JBUF_LIT(b, ",\"rev\":");
    gh_jbuf_u64(b, rule->rev);
    GH_JBUF_LIT(b, ",\"signature\":");
    gh_jbuf_json_str(b, rule->msg ? rule->msg : "");
}

void gh_eve_fmt_drop(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, uint64_t flow_id,
                     gh_drop_reason reason, bool reject, const gh_eve_rule *rule)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, "drop");
    GH_JBUF_LIT(b, ",\"drop\":{\"len\":");
    gh_jbuf_u64(b, pkt->l3_len);
    if (pkt->ip_ver) {
        GH_JBUF_LIT(b, ",\"tos\":");
        gh_jbuf_u64(b, pkt->ip_tos);
        GH_JBUF_LIT(b, ",\"ttl\":");
        gh_jbuf_u64(b, pkt->ttl);
        if (pkt->ip_ver == 4) {
            GH_JBUF_LIT(b, ",\"ipid\":");
            gh_jbuf_u64(b, pkt->ip_id16);
        }
    }
    if (pkt->layers & GH_LAYER_TCP) {
        static const struct {
            uint8_t bit;
            const char *name;
        } fl[] = {{GH_TCP_SYN, "syn"}, {GH_TCP_ACK, "ack"}, {GH_TCP_PSH, "psh"},
                  {GH_TCP_RST, "rst"}, {GH_TCP_URG, "urg"}, {GH_TCP_FIN, "fin"}};
        GH_JBUF_LIT(b, ",\"tcpseq\":");
        gh_jbuf_u64(b, pkt->tcp_seq);
        GH_JBUF_LIT(b, ",\"tcpack\":");
        gh_jbuf_u64(b, pkt->tcp_ack);
        GH_JBUF_LIT(b, ",\"tcpwin\":");
        gh_jbuf_u64(b, pkt->tcp_win);
        for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
            gh_jbuf_key(b, true, fl[i].name);
            if (pkt->tcp_flags & fl[i].bit)
                GH_JBUF_LIT(b, "true");
            else
                GH_JBUF_LIT(b, "false");
        }
    } else if (pkt->layers & GH_LAYER_UDP) {
        GH_JBUF_LIT(b, ",\"udplen\":");
        gh_jbuf_u64(b, pkt->udp_len);
    }
    GH_JBUF_LIT(b, ",\"reason\":");
    gh_jbuf_json_str(b, gh_drop_reason_name(reason));
    GH_JBUF_LIT(b, "}");
    if (reject)
        GH_JBUF_LIT(b, ",\"verdict\":{\"action\":\"reject\"}");
    else
        GH_JBUF_LIT(b, ",\"verdict\":{\"action\":\"drop\"}");
    if (rule) {
        GH_JBUF_LIT(b, ",\"rule\":{\"action\":");
        gh_jbuf_quoted(b, rule->action);
        GH_JBUF_LIT(b, ",\"gid\":");
        put_rule_ids(b, rule);
        GH_JBUF_LIT(b, ",\"file\":");
        gh_jbuf_json_str(b, rule->file ? rule->file : "");
        GH_JBUF_LIT(b, ",\"line\":");
        gh_jbuf_u64(b, rule->line);
        GH_JBUF_LIT(b, "}");
    }
    gh_eve_fmt_end(b);
}

void gh_jbuf_base64(gh_jbuf *b, const uint8_t *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    GH_JBUF_LIT(b, "\"");
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
    GH_JBUF_LIT(b, "\"");
}

/* Suricata's payload_printable: printable ASCII, CR and LF kept, every other
 * byte a '.'; then JSON-escaped. */
static void jbuf_printable(gh_jbuf *b, const uint8_t *p, size_t n)
{
    GH_JBUF_LIT(b, "\"");
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '\n')
            GH_JBUF_LIT(b, "\\n");
        else if (ch == '\r')
            GH_JBUF_LIT(b, "\\r");
        else if (ch == '"')
            GH_JBUF_LIT(b, "\\\"");
        else if (ch == '\\')
            GH_JBUF_LIT(b, "\\\\");
        else if (ch >= 0x20 && ch < 0x7f)
            gh_jbuf_append(b, (const char *)&p[i], 1);
        else
            GH_JBUF_LIT(b, ".");
    }
    GH_JBUF_LIT(b, "\"");
}

/* "packet" (base64 of the captured frame) and "packet_info". */
static void packet_fields(gh_jbuf *b, const gh_pkt_in *in)
{
    GH_JBUF_LIT(b, ",\"packet\":");
    gh_jbuf_base64(b, in->data, in->caplen);
    GH_JBUF_LIT(b, ",\"packet_info\":{\"linktype\":");
    gh_jbuf_u64(b, in->linktype);
    GH_JBUF_LIT(b, "}");
}

/* Suricata's alert "source" or "target" object: one end of the packet, its
 * port for TCP and UDP. */
static void jbuf_endpoint(gh_jbuf *b, const char *name, const gh_packet *pkt, bool src)
{
    gh_jbuf_key(b, true, name);
    GH_JBUF_LIT(b, "{\"ip\":");
    gh_jbuf_ip(b, src ? pkt->src.b : pkt->dst.b, pkt->ip_ver);
    if (pkt->layers & (GH_LAYER_TCP | GH_LAYER_UDP)) {
        GH_JBUF_LIT(b, ",\"port\":");
        gh_jbuf_u64(b, src ? pkt->sport : pkt->dport);
    }
    GH_JBUF_LIT(b, "}");
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
        GH_JBUF_LIT(b, ",\"pkt_src\":");
        gh_jbuf_json_str(b, x->pkt_src);
    }
    if (x && x->app_json) {
        GH_JBUF_LIT(b, ",\"tx_id\":");
        gh_jbuf_u64(b, x->tx_id);
    }
    if (blocked)
        GH_JBUF_LIT(b, ",\"alert\":{\"action\":\"blocked\",\"gid\":");
    else
        GH_JBUF_LIT(b, ",\"alert\":{\"action\":\"allowed\",\"gid\":");
    put_rule_ids(b, rule);
    GH_JBUF_LIT(b, ",\"category\":");
    gh_jbuf_json_str(b, category ? category : "");
    GH_JBUF_LIT(b, ",\"severity\":");
    gh_jbuf_u64(b, severity);
    if (rule->target && pkt && pkt->ip_ver) {
        jbuf_endpoint(b, "source", pkt, rule->target == GH_TARGET_DEST);
        jbuf_endpoint(b, "target", pkt, rule->target == GH_TARGET_SRC);
    }
    GH_JBUF_LIT(b, ",\"rule_action\":");
    gh_jbuf_quoted(b, rule->action ? rule->action : "alert");
    GH_JBUF_LIT(b, ",\"file\":");
    gh_jbuf_json_str(b, rule->file ? rule->file : "");
    GH_JBUF_LIT(b, ",\"line\":");
    gh_jbuf_u64(b, rule->line);
    GH_JBUF_LIT(b, "}");
    if (x && (x->fields & GH_EVE_ALERT_PAYLOAD)) {
        GH_JBUF_LIT(b, ",\"payload\":");
        gh_jbuf_base64(b, x->payload, x->payload ? x->payload_len : 0);
    }
    if (x && (x->fields & GH_EVE_ALERT_PAYLOAD_PRINTABLE)) {
        GH_JBUF_LIT(b, ",\"payload_printable\":");
        jbuf_printable(b, x->payload, x->payload ? x->payload_len : 0);
    }
    if (x && (x->fields & (GH_EVE_ALERT_PAYLOAD | GH_EVE_ALERT_PAYLOAD_PRINTABLE))) {
        if (x->stream)
            GH_JBUF_LIT(b, ",\"stream\":1");
        else
            GH_JBUF_LIT(b, ",\"stream\":0");
    }
    if (x && x->app_json)
        gh_jbuf_append(b, x->app_json, x->app_json_len);
    if (x && x->app_proto) {
        GH_JBUF_LIT(b, ",\"app_proto\":");
        gh_jbuf_quoted(b, x->app_proto);
    }
    if (x && (x->fields & GH_EVE_ALERT_PACKET) && in && in->data)
        packet_fields(b, in);
    gh_eve_fmt_end(b);
}

void gh_eve_fmt_packet(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt, uint64_t flow_id)
{
    gh_eve_fmt_begin_flow(b, in, pkt, flow_id, "packet");
    packet_fields(b, in);
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
    GH_JBUF_LIT(b, "{\"timestamp\":");
    gh_jbuf_timestamp(b, ts_sec, ts_nsec);
    gh_jbuf_printf(b, ",\"event_type\":\"stats\",\"stats\":{\"uptime\":%.0f", uptime_s);
    gh_jbuf_printf(b,
                   ",\"decoder\":{\"pkts\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"invalid\":%" PRIu64
                   ",\"avg_pkt_size\":%" PRIu64 ",\"max_pkt_size\":%" PRIu64,
                   c->pkts, c->bytes, c->invalid, c->pkts ? c->bytes / c->pkts : 0,
                   c->max_pkt_size);
#define GH_X_JSON(f, s) gh_jbuf_printf(b, ",\"" s "\":%" PRIu64, c->f);
    GH_PROTO_COUNTER_LIST(GH_X_JSON)
#undef GH_X_JSON
    GH_JBUF_LIT(b, ",\"linktypes\":{");
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
    GH_JBUF_LIT(b, "}");

    /* anomalies grouped by layer, as Suricata's decoder.event.<layer>.<name> */
    GH_JBUF_LIT(b, ",\"event\":{");
    size_t prev_len = 0;
    const char *prev = NULL;
    for (int a = 0; a < GH_ANOM_COUNT; a++) {
        const char *name = gh_anomaly_name((gh_anomaly)a);
        const char *dot = strchr(name, '.');
        size_t plen = dot ? (size_t)(dot - name) : 0;
        if (!prev || plen != prev_len || strncmp(prev, name, plen) != 0) {
            if (prev)
                GH_JBUF_LIT(b, "},");
            gh_jbuf_printf(b, "\"%.*s\":{", (int)plen, name);
            prev = name;
            prev_len = plen;
        } else {
            GH_JBUF_LIT(b, ",");
        }
        gh_jbuf_printf(b, "\"%s\":%" PRIu64, dot ? dot + 1 : name, c->anomalies[a]);
    }
    if (prev)
        GH_JBUF_LIT(b, "}");
    GH_JBUF_LIT(b, "}}");
    gh_jbuf_printf(b,
                   ",\"verdict\":{\"accepted\":%" PRIu64 ",\"dropped\":%" PRIu64
                   ",\"rejected\":%" PRIu64 ",\"drop_reason\":{",
                   c->accepted, c->dropped, c->rejected);
    for (int r = 0; r < GH_DROP_REASON_COUNT; r++) {
        if (r)
            GH_JBUF_LIT(b, ",");
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
                   ",\"gaps\":%" PRIu64 ",\"rescans\":%" PRIu64 "},\"app_layer\":{\"tx\":%" PRIu64
                   ",\"anomalies\":%" PRIu64 ",\"no_state\":%" PRIu64 "}",
                   c->fw_lookups, c->fw_fastpath, c->fw_non_ip, c->flow_pool_full,
                   c->flows_ended[0], c->flows_ended[1], c->flows_ended[2], c->flows_ended[3],
                   c->dpi_inspected, c->alerts, c->dpi_passed, c->dpi_truncated,
                   c->threshold_expired, c->threshold_evicted, c->tagged, c->tag_refused,
                   c->tag_evicted, c->frag_held,
                   c->frag_reassembled, c->frag_conflicts, c->frag_errors, c->stream_bytes,
                   c->stream_alone, c->stream_conflicts, c->stream_gaps, c->stream_rescans,
                   c->app_txs, c->app_anomalies, c->app_no_state);
    /* Suricata's exception_policy counters: per target, per policy applied */
    GH_JBUF_LIT(b, ",\"exception_policy\":{");
    for (int e = 0; e < GH_EXC_COND_COUNT; e++) {
        gh_jbuf_printf(b, "%s\"%s\":{", e ? "," : "", gh_exc_cond_name((gh_exc_cond)e, true));
        for (int q = GH_EXC_IGNORE; q < GH_EXC_POLICY_COUNT; q++)
            gh_jbuf_printf(b, "%s\"%s\":%" PRIu64, q > GH_EXC_IGNORE ? "," : "",
                           gh_exc_policy_name((gh_exc_policy)q, true), c->exc[e][q]);
        GH_JBUF_LIT(b, "}");
    }
    GH_JBUF_LIT(b, "}");
    if (extra) {
        GH_JBUF_LIT(b, ",");
        gh_jbuf_append(b, extra, strlen(extra));
    }
    GH_JBUF_LIT(b, "}}\n");
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
