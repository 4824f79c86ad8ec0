/* Header keyword matchers (flow, flags, fragbits, ttl, dsize, itype, icode,
 * ip_proto) with Suricata's value syntax. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hdrmatch.h"

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t n, const char *fmt, ...)
{
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Copy @p s without surrounding whitespace into @p out. */
static void trim_copy(char *out, size_t n, const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

/* A number: decimal or 0x hex, optional kb/kib/mb/mib/gb/gib multiplier. */
static bool parse_num(const char **sp, uint64_t *v)
{
    const char *s = *sp;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || end == s)
        return false;
    uint64_t mul = 1;
    if (!strncasecmp(end, "kib", 3) || !strncasecmp(end, "mib", 3) || !strncasecmp(end, "gib", 3)) {
        mul = tolower((unsigned char)end[0]) == 'k' ? 1024u : tolower((unsigned char)end[0]) == 'm' ? 1048576u : 1073741824u;
        end += 3;
    } else if (!strncasecmp(end, "kb", 2) || !strncasecmp(end, "mb", 2) || !strncasecmp(end, "gb", 2)) {
        mul = tolower((unsigned char)end[0]) == 'k' ? 1024u : tolower((unsigned char)end[0]) == 'm' ? 1048576u : 1073741824u;
        end += 2;
    }
    if (x > UINT64_MAX / mul)
        return false;
    *v = x * mul;
    while (isspace((unsigned char)*end))
        end++;
    *sp = end;
    return true;
}

int gh_uint_match_parse(const char *in, uint64_t max, gh_uint_match *m, char *err, size_t errlen)
{
    char buf[128];
    trim_copy(buf, sizeof(buf), in ? in : "");
    const char *s = buf;
    memset(m, 0, sizeof(*m));
    if (!*s)
        return fail(err, errlen, "expected a number");
    if (*s == '&') { /* &MASK=V or &MASK!=V */
        s++;
        if (!parse_num(&s, &m->a))
            return fail(err, errlen, "expected a mask after '&' in '%s'", buf);
        if (s[0] == '=') {
            m->mode = GH_UINT_MASK_EQ;
            s++;
        } else if (s[0] == '!' && s[1] == '=') {
            m->mode = GH_UINT_MASK_NE;
            s += 2;
        } else {
            return fail(err, errlen, "expected '=' or '!=' after the mask in '%s'", buf);
        }
        if (!parse_num(&s, &m->b))
            return fail(err, errlen, "expected a value after the mask in '%s'", buf);
    } else if (s[0] == '<' && s[1] == '=') {
        m->mode = GH_UINT_LE;
        s += 2;
        if (!parse_num(&s, &m->a))
            return fail(err, errlen, "expected a number after '<=' in '%s'", buf);
    } else if (s[0] == '>' && s[1] == '=') {
        m->mode = GH_UINT_GE;
        s += 2;
        if (!parse_num(&s, &m->a))
            return fail(err, errlen, "expected a number after '>=' in '%s'", buf);
    } else if (s[0] == '<') {
        m->mode = GH_UINT_LT;
        s++;
        if (!parse_num(&s, &m->a))
            return fail(err, errlen, "expected a number after '<' in '%s'", buf);
    } else if (s[0] == '>') {
        m->mode = GH_UINT_GT;
        s++;
        if (!parse_num(&s, &m->a))
            return fail(err, errlen, "expected a number after '>' in '%s'", buf);
    } else if (s[0] == '!' && s[1] == '=') {
        m->mode = GH_UINT_NE;
        s += 2;
        if (!parse_num(&s, &m->a))
            return fail(err, errlen, "expected a number after '!=' in '%s'", buf);
    } else {
        bool neg = false;
        if (s[0] == '!') {
            neg = true;
            s++;
        } else if (s[0] == '=') {
            s++;
        }
        if (!parse_num(&s, &m->a))
            return fail(err, errlen, "expected a number in '%s'", buf);
        if (s[0] == '-' || (s[0] == '<' && s[1] == '>')) {
            s += s[0] == '-' ? 1 : 2;
            if (!parse_num(&s, &m->b))
                return fail(err, errlen, "expected the end of the range in '%s'", buf);
            if (m->a >= m->b)
                return fail(err, errlen, "range start must be below its end in '%s'", buf);
            m->mode = neg ? GH_UINT_NRANGE : GH_UINT_RANGE;
        } else {
            m->mode = neg ? GH_UINT_NE : GH_UINT_EQ;
        }
    }
    if (*s)
        return fail(err, errlen, "unexpected '%s' in '%s'", s, buf);
    if (m->a > max || m->b > max)
        return fail(err, errlen, "value out of range (max %llu) in '%s'", (unsigned long long)max,
                    buf);
    return 0;
}

bool gh_uint_match_eval(const gh_uint_match *m, uint64_t v)
{
    switch (m->mode) {
    case GH_UINT_EQ: return v == m->a;
    case GH_UINT_NE: return v != m->a;
    case GH_UINT_LT: return v < m->a;
    case GH_UINT_LE: return v <= m->a;
    case GH_UINT_GT: return v > m->a;
    case GH_UINT_GE: return v >= m->a;
    case GH_UINT_RANGE: return v > m->a && v < m->b;
    case GH_UINT_NRANGE: return v <= m->a || v >= m->b;
    case GH_UINT_MASK_EQ: return (v & m->a) == m->b;
    case GH_UINT_MASK_NE: return (v & m->a) != m->b;
    default: return false;
    }
}

static int tcp_flag_bit(char c)
{
    switch (toupper((unsigned char)c)) {
    case 'F': return GH_TCP_FIN;
    case 'S': return GH_TCP_SYN;
    case 'R': return GH_TCP_RST;
    case 'P': return GH_TCP_PSH;
    case 'A': return GH_TCP_ACK;
    case 'U': return GH_TCP_URG;
    case 'E': case '2': return GH_TCP_ECE;
    case 'C': case '1': return GH_TCP_CWR;
    case '0': return 0;
    default: return -1;
    }
}

static int frag_bit(char c)
{
    switch (toupper((unsigned char)c)) {
    case 'M': return GH_FRAG_M;
    case 'D': return GH_FRAG_D;
    case 'R': return GH_FRAG_R;
    default: return -1;
    }
}

/* "[+*!]BITS[+*!]" with an optional ",IGNORE" part (flags only). */
static int parse_bits(const char *in, int (*bit)(char), bool allow_ignore, const char *kw,
                      gh_bits_match *m, char *err, size_t errlen)
{
    char buf[64];
    trim_copy(buf, sizeof(buf), in ? in : "");
    memset(m, 0, sizeof(*m));
    char *comma = strchr(buf, ',');
    if (comma) {
        if (!allow_ignore)
            return fail(err, errlen, "%s takes no ignore mask: '%s'", kw, buf);
        *comma = '\0';
        for (const char *q = comma + 1; *q; q++) {
            if (isspace((unsigned char)*q))
                continue;
            int b = bit(*q);
            if (b < 0)
                return fail(err, errlen, "unknown %s bit '%c' in '%s'", kw, *q, in);
            m->ignore |= (uint8_t)b;
        }
    }
    bool modifier = false, any_bit = false, zero = false;
    m->mode = GH_BITS_EXACT;
    for (const char *q = buf; *q; q++) {
        if (isspace((unsigned char)*q))
            continue;
        if (*q == '+' || *q == '*' || *q == '!') {
            if (modifier)
                return fail(err, errlen, "more than one modifier in %s '%s'", kw, in);
            modifier = true;
            m->mode = *q == '+' ? GH_BITS_PLUS : *q == '*' ? GH_BITS_ANY : GH_BITS_NOT;
            continue;
        }
        int b = bit(*q);
        if (b < 0)
            return fail(err, errlen, "unknown %s bit '%c' in '%s'", kw, *q, in);
        if (b == 0)
            zero = true;
        m->bits |= (uint8_t)b;
        any_bit = true;
    }
    if (!any_bit)
        return fail(err, errlen, "%s needs at least one bit: '%s'", kw, in ? in : "");
    if (zero && (m->bits || modifier))
        return fail(err, errlen, "%s '0' (no bits) cannot be combined: '%s'", kw, in);
    return 0;
}

static bool bits_eval(const gh_bits_match *m, uint8_t v)
{
    v &= (uint8_t)~m->ignore;
    switch (m->mode) {
    case GH_BITS_EXACT: return v == (m->bits & (uint8_t)~m->ignore);
    case GH_BITS_PLUS: return (v & m->bits) == m->bits;
    case GH_BITS_ANY: return (v & m->bits) != 0;
    case GH_BITS_NOT: return (v & m->bits) == 0;
    default: return false;
    }
}

/* Names as /etc/protocols spells them (Suricata resolves them the same way). */
static const struct {
    const char *name;
    uint8_t num;
} proto_names[] = {
    {"hopopt", 0}, {"icmp", 1}, {"igmp", 2}, {"ggp", 3}, {"ipv4", 4}, {"ipencap", 4},
    {"st", 5}, {"tcp", 6}, {"egp", 8}, {"igp", 9}, {"pup", 12}, {"udp", 17}, {"hmp", 20},
    {"xns-idp", 22}, {"rdp", 27}, {"iso-tp4", 29}, {"dccp", 33}, {"xtp", 36}, {"ddp", 37},
    {"idpr-cmtp", 38}, {"ipv6", 41}, {"ipv6-route", 43}, {"ipv6-frag", 44}, {"idrp", 45},
    {"rsvp", 46}, {"gre", 47}, {"esp", 50}, {"ah", 51}, {"skip", 57}, {"ipv6-icmp", 58},
    {"icmpv6", 58}, {"ipv6-nonxt", 59}, {"ipv6-opts", 60}, {"eigrp", 88}, {"ospf", 89},
    {"ospfigp", 89}, {"ax.25", 93}, {"ipip", 94}, {"etherip", 97}, {"encap", 98},
    {"pim", 103}, {"ipcomp", 108}, {"vrrp", 112}, {"l2tp", 115}, {"isis", 124},
    {"sctp", 132}, {"fc", 133}, {"mobility-header", 135}, {"udplite", 136},
    {"mpls-in-ip", 137}, {"manet", 138}, {"hip", 139}, {"shim6", 140}, {"wesp", 141},
    {"rohc", 142}, {"ethernet", 143},
};

static int parse_ip_proto(const char *in, gh_uint_match *m, char *err, size_t errlen)
{
    char buf[64];
    trim_copy(buf, sizeof(buf), in ? in : "");
    const char *s = buf;
    char prefix[3] = "";
    if (*s == '!' || *s == '<' || *s == '>') {
        prefix[0] = *s++;
    }
    while (isspace((unsigned char)*s))
        s++;
    if (isalpha((unsigned char)*s)) {
        for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
            if (strcasecmp(s, proto_names[i].name) == 0) {
                char num[16];
                snprintf(num, sizeof(num), "%s%u", prefix, proto_names[i].num);
                return gh_uint_match_parse(num, 255, m, err, errlen);
            }
        }
        return fail(err, errlen, "unknown protocol name '%s'", s);
    }
    return gh_uint_match_parse(buf, 255, m, err, errlen);
}

static int parse_flow(const char *in, uint16_t *out, char *err, size_t errlen)
{
    char buf[128];
    trim_copy(buf, sizeof(buf), in ? in : "");
    *out = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char w[32];
        trim_copy(w, sizeof(w), t);
        uint16_t f;
        if (!strcasecmp(w, "established"))
            f = GH_FLOWKW_ESTABLISHED;
        else if (!strcasecmp(w, "not_established"))
            f = GH_FLOWKW_NOT_ESTABLISHED;
        else if (!strcasecmp(w, "to_server") || !strcasecmp(w, "from_client"))
            f = GH_FLOWKW_TO_SERVER;
        else if (!strcasecmp(w, "to_client") || !strcasecmp(w, "from_server"))
            f = GH_FLOWKW_TO_CLIENT;
        else if (!strcasecmp(w, "stateless"))
            f = GH_FLOWKW_STATELESS;
        else if (!strcasecmp(w, "only_stream"))
            f = GH_FLOWKW_ONLY_STREAM;
        else if (!strcasecmp(w, "no_stream"))
            f = GH_FLOWKW_NO_STREAM;
        else if (!strcasecmp(w, "only_frag"))
            f = GH_FLOWKW_ONLY_FRAG;
        else if (!strcasecmp(w, "no_frag"))
            f = GH_FLOWKW_NO_FRAG;
        else
            return fail(err, errlen, "unknown flow option '%s'", w);
        if (*out & f)
            return fail(err, errlen, "flow option '%s' given twice", w);
        *out |= f;
    }
    if (!*out)
        return fail(err, errlen, "flow needs at least one option");
    if ((*out & GH_FLOWKW_ESTABLISHED) && (*out & GH_FLOWKW_NOT_ESTABLISHED))
        return fail(err, errlen, "flow cannot be both established and not_established");
    if ((*out & GH_FLOWKW_TO_SERVER) && (*out & GH_FLOWKW_TO_CLIENT))
        return fail(err, errlen, "flow cannot be both to_server and to_client");
    if ((*out & GH_FLOWKW_ONLY_STREAM) && (*out & GH_FLOWKW_NO_STREAM))
        return fail(err, errlen, "flow cannot be both only_stream and no_stream");
    if ((*out & GH_FLOWKW_ONLY_FRAG) && (*out & GH_FLOWKW_NO_FRAG))
        return fail(err, errlen, "flow cannot be both only_frag and no_frag");
    return 0;
}

int gh_hdr_match_add(gh_hdr_match *m, const char *name, const char *value, char *err,
                     size_t errlen)
{
    uint32_t which;
    if (!strcasecmp(name, "flow"))
        which = GH_HM_FLOW;
    else if (!strcasecmp(name, "flags"))
        which = GH_HM_FLAGS;
    else if (!strcasecmp(name, "fragbits"))
        which = GH_HM_FRAGBITS;
    else if (!strcasecmp(name, "ttl"))
        which = GH_HM_TTL;
    else if (!strcasecmp(name, "dsize"))
        which = GH_HM_DSIZE;
    else if (!strcasecmp(name, "itype"))
        which = GH_HM_ITYPE;
    else if (!strcasecmp(name, "icode"))
        which = GH_HM_ICODE;
    else if (!strcasecmp(name, "ip_proto"))
        which = GH_HM_IP_PROTO;
    else
        return 0;
    if (!value)
        return fail(err, errlen, "'%s' needs a value", name);
    if (m->present & which) {
        /* integer keywords may repeat; every instance must hold */
        bool repeatable = which & (GH_HM_TTL | GH_HM_ITYPE | GH_HM_ICODE | GH_HM_IP_PROTO);
        if (!repeatable)
            return fail(err, errlen, "'%s' given twice", name);
        if (m->n_more >= GH_HM_MAX_REPEAT)
            return fail(err, errlen, "'%s' given more than %d times", name, GH_HM_MAX_REPEAT + 1);
        gh_uint_match *um = &m->more[m->n_more];
        int rc = which == GH_HM_IP_PROTO ? parse_ip_proto(value, um, err, errlen)
                                         : gh_uint_match_parse(value, 255, um, err, errlen);
        if (rc != 0)
            return -1;
        m->more_kind[m->n_more++] = (uint8_t)which;
        return 1;
    }
    int rc;
    switch (which) {
    case GH_HM_FLOW: rc = parse_flow(value, &m->flow, err, errlen); break;
    case GH_HM_FLAGS: rc = parse_bits(value, tcp_flag_bit, true, "flags", &m->flags, err, errlen); break;
    case GH_HM_FRAGBITS: rc = parse_bits(value, frag_bit, false, "fragbits", &m->fragbits, err, errlen); break;
    case GH_HM_TTL: rc = gh_uint_match_parse(value, 255, &m->ttl, err, errlen); break;
    case GH_HM_DSIZE: rc = gh_uint_match_parse(value, 65535, &m->dsize, err, errlen); break;
    case GH_HM_ITYPE: rc = gh_uint_match_parse(value, 255, &m->itype, err, errlen); break;
    case GH_HM_ICODE: rc = gh_uint_match_parse(value, 255, &m->icode, err, errlen); break;
    default: rc = parse_ip_proto(value, &m->ip_proto, err, errlen); break;
    }
    if (rc != 0)
        return -1;
    m->present |= which;
    return 1;
}

static bool ip_proto_eval(const gh_uint_match *m, const gh_packet *p)
{
    if (gh_uint_match_eval(m, p->ip_proto))
        return true;
    /* IPv6: an extension header in the chain counts as its protocol */
    if (p->ip_ver == 6 && m->mode == GH_UINT_EQ) {
        switch (m->a) {
        case 0: return p->ipv6_exthdrs & GH_V6X_HOPOPTS;
        case 43: return p->ipv6_exthdrs & GH_V6X_ROUTING;
        case 44: return p->ipv6_exthdrs & GH_V6X_FRAGMENT;
        case 51: return p->ipv6_exthdrs & GH_V6X_AH;
        case 60: return p->ipv6_exthdrs & GH_V6X_DSTOPTS;
        default: return false;
        }
    }
    return false;
}

bool gh_hdr_match_eval(const gh_hdr_match *m, const gh_packet *p, const gh_pkt_state *st,
                       bool stream)
{
    uint32_t pr = m->present;
    if (pr & GH_HM_FLOW) {
        uint16_t f = m->flow;
        if ((f & GH_FLOWKW_ONLY_STREAM) && !stream)
            return false;
        if ((f & GH_FLOWKW_ONLY_FRAG) && !(p->flags & GH_PKT_FRAGMENT))
            return false;
        if ((f & GH_FLOWKW_NO_FRAG) && (p->flags & GH_PKT_FRAGMENT))
            return false;
        if (!(f & GH_FLOWKW_STATELESS) &&
            (f & (GH_FLOWKW_ESTABLISHED | GH_FLOWKW_NOT_ESTABLISHED | GH_FLOWKW_TO_SERVER |
                  GH_FLOWKW_TO_CLIENT))) {
            if (!st || !st->has_flow)
                return false;
            if ((f & GH_FLOWKW_ESTABLISHED) && !st->established)
                return false;
            if ((f & GH_FLOWKW_NOT_ESTABLISHED) && st->established)
                return false;
            if ((f & GH_FLOWKW_TO_SERVER) && !st->to_server)
                return false;
            if ((f & GH_FLOWKW_TO_CLIENT) && st->to_server)
                return false;
        }
    }
    if (pr & GH_HM_FLAGS) {
        if (!(p->layers & GH_LAYER_TCP) || !bits_eval(&m->flags, p->tcp_flags))
            return false;
    }
    if (pr & GH_HM_FRAGBITS) {
        if (p->ip_ver != 4)
            return false;
        uint8_t fb = (p->flags & GH_PKT_MORE_FRAGS ? GH_FRAG_M : 0) |
                     (p->flags & GH_PKT_DONT_FRAG ? GH_FRAG_D : 0);
        /* the reserved bit is the top bit of the flags/offset word */
        const uint8_t *ip = p->data + p->l3_off;
        if (ip[6] & 0x80)
            fb |= GH_FRAG_R;
        if (!bits_eval(&m->fragbits, fb))
            return false;
    }
    if ((pr & GH_HM_TTL) && (!p->ip_ver || !gh_uint_match_eval(&m->ttl, p->ttl)))
        return false;
    if ((pr & GH_HM_DSIZE) && !gh_uint_match_eval(&m->dsize, p->payload_len))
        return false;
    if (pr & (GH_HM_ITYPE | GH_HM_ICODE)) {
        if (!(p->layers & (GH_LAYER_ICMPV4 | GH_LAYER_ICMPV6)))
            return false;
        if ((pr & GH_HM_ITYPE) && !gh_uint_match_eval(&m->itype, p->icmp_type))
            return false;
        if ((pr & GH_HM_ICODE) && !gh_uint_match_eval(&m->icode, p->icmp_code))
            return false;
    }
    if ((pr & GH_HM_IP_PROTO) && (!p->ip_ver || !ip_proto_eval(&m->ip_proto, p)))
        return false;
    for (unsigned i = 0; i < m->n_more; i++) {
        const gh_uint_match *um = &m->more[i];
        switch (m->more_kind[i]) {
        case GH_HM_TTL:
            if (!gh_uint_match_eval(um, p->ttl))
                return false;
            break;
        case GH_HM_ITYPE:
            if (!gh_uint_match_eval(um, p->icmp_type))
                return false;
            break;
        case GH_HM_ICODE:
            if (!gh_uint_match_eval(um, p->icmp_code))
                return false;
            break;
        default:
            if (!ip_proto_eval(um, p))
                return false;
            break;
        }
    }
    return true;
}
