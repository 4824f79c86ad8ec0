/* Signature types: Suricata's classification of a signature by where it is
 * inspected (DESIGN.md section 6), computed from the parse tree alone.
 *
 * The inputs and their order follow Suricata 7's SignatureSetType
 * (detect-engine-build.c) and the "TCP: corner cases" of SigValidate
 * (detect-parse.c), which set "require packet/stream":
 *   1. pd_only: app-layer-protocol is the only match;
 *   2. ip_only: no payload, no buffer, not an app-layer protocol, and every
 *      match compatible with IP-only (ip_proto, xbits, flowbits set, ...);
 *      like_ip_only when an address (variables expanded) holds a negation;
 *   3. de_only: only decode/engine events;
 *   4. a packet buffer (ipv4.hdr, ...): pkt; an application-layer buffer:
 *      app_tx;
 *   5. payload keywords: "require packet" (dsize, ttl, flags, ...,
 *      flow:no_stream, tcp-pkt) and "require stream" (flow:only_stream,
 *      tcp-stream); when neither is set and the protocol includes TCP, the
 *      stream is required, and the packet too when a content has offset or
 *      depth or the rule uses stream_size: packet only -> pkt, stream only
 *      -> stream, both or neither -> pkt_stream;
 *   6. other matches: pkt; an app-layer protocol alone: app_layer; else pkt.
 * Checked against `suricata --engine-analysis` (rules.json "type") by
 * tests/sigtypes_suricata.sh. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rules_int.h"

static const char *const type_names[GH_SIG_TYPE_N] = {
    [GH_SIG_TYPE_IPONLY] = "ip_only",     [GH_SIG_TYPE_LIKE_IPONLY] = "like_ip_only",
    [GH_SIG_TYPE_PDONLY] = "pd_only",     [GH_SIG_TYPE_DEONLY] = "de_only",
    [GH_SIG_TYPE_PKT] = "pkt",            [GH_SIG_TYPE_PKT_STREAM] = "pkt_stream",
    [GH_SIG_TYPE_STREAM] = "stream",      [GH_SIG_TYPE_APPLAYER] = "app_layer",
    [GH_SIG_TYPE_APP_TX] = "app_tx",
};

const char *gh_sig_type_name(gh_sig_type t)
{
    return (unsigned)t < GH_SIG_TYPE_N ? type_names[t] : "?";
}

bool gh_sig_type_flow_action(gh_sig_type t)
{
    return t == GH_SIG_TYPE_IPONLY || t == GH_SIG_TYPE_LIKE_IPONLY || t == GH_SIG_TYPE_PDONLY ||
           t == GH_SIG_TYPE_APPLAYER || t == GH_SIG_TYPE_APP_TX;
}

/* Variables nest at most this deep (a cycle is an error elsewhere). */
#define VAR_DEPTH 16

/* Whether address expression @p e, variables expanded, holds a negation
 * anywhere ("!$EXTERNAL_NET" too, though it cancels the one inside): what
 * makes Suricata 7 take the signature out of its IP-only engine
 * (like_ip_only). */
static bool addr_negated(const gh_rule_expr *e, const gh_rule_vars *vars, int depth)
{
    if (!e || depth > VAR_DEPTH)
        return false;
    if (e->negated)
        return true;
    switch (e->kind) {
    case GH_EXPR_LIST:
        for (size_t i = 0; i < e->n_items; i++)
            if (addr_negated(e->items[i], vars, depth))
                return true;
        return false;
    case GH_EXPR_VAR: {
        const gh_var *v = gh_vars_lookup(vars, e->text + 1);
        return v && addr_negated(v->as_addr, vars, depth + 1);
    }
    default:
        return false;
    }
}

/* Protocols whose packets can be TCP (the stream is theirs to require). */
static bool proto_has_tcp(const char *p)
{
    static const char *const no_tcp[] = {"udp", "icmp", "icmpv4", "icmpv6", "sctp"};
    return !GH_NAME_IN(p, no_tcp);
}

/* A content's absolute offset/depth (startswith is depth) anchors it to
 * the buffer start: Suricata then inspects the packet as well as the stream. */
static bool is_anchor_modifier(const char *name)
{
    return !strcasecmp(name, "offset") || !strcasecmp(name, "depth") ||
           !strcasecmp(name, "startswith");
}

/* The word list of a flow value holds @p word. */
static bool flow_has(const char *value, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = value; s && *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *e = s;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if ((size_t)(e - s) == n && !strncasecmp(s, word, n))
            return true;
        s = e;
    }
    return false;
}

/* flowbits set (and the bare noalert) can stay IP-only; the others need the flow. */
static bool flowbits_iponly(const char *value)
{
    if (!value)
        return false;
    while (*value == ' ')
        value++;
    size_t n = strcspn(value, ", ");
    return (n == 3 && !strncasecmp(value, "set", 3)) ||
           (n == 7 && !strncasecmp(value, "noalert", 7));
}

/* pcre's HTTP buffer flags (U, I, P, Q, H, D, M, C, K, S, Y, V, W) move it
 * into an application-layer buffer. */
static bool pcre_http_buffer(const char *value)
{
    const char *s = value ? strchr(value, '/') : NULL;
    const char *e = value ? strrchr(value, '/') : NULL;
    if (!s || e == s)
        return false;
    for (e++; *e && *e != '"'; e++)
        if (strchr("UIPQHDMCSYVWZ", *e))
            return true;
    return false;
}

/* What a signature itself requires: the packet (tcp-pkt, flow:no_stream, a
 * packet keyword such as dsize, ttl or ip_proto) and the stream (tcp-stream,
 * flow:only_stream); the first source of each (NULL: none) and its position. */
typedef struct requirements {
    const char *pkt, *stream;
    gh_rule_loc pkt_loc, stream_loc;
} requirements;

static void explicit_requirements(const gh_rule *r, requirements *q)
{
    const char *proto = r->proto.text ? r->proto.text : "ip";
    *q = (requirements){.pkt_loc = r->proto.loc, .stream_loc = r->proto.loc};
    if (!strcasecmp(proto, "tcp-pkt"))
        q->pkt = "protocol tcp-pkt";
    else if (!strcasecmp(proto, "tcp-stream"))
        q->stream = "protocol tcp-stream";
    for (size_t i = 0; i < r->n_options; i++) {
        const gh_rule_option *o = &r->options[i];
        gh_kw_list l = gh_kw_list_of(o);
        const char *p = NULL, *st = NULL;
        if (l == KL_MATCH_PKT || (l == KL_IPONLY && !strcasecmp(o->name.text, "ip_proto")))
            p = o->name.text;
        if (l == KL_FLOW && flow_has(o->value.text, "no_stream"))
            p = "flow:no_stream";
        if (l == KL_FLOW && flow_has(o->value.text, "only_stream"))
            st = "flow:only_stream";
        if (p && !q->pkt) {
            q->pkt = p;
            q->pkt_loc = o->name.loc;
        }
        if (st && !q->stream) {
            q->stream = st;
            q->stream_loc = o->name.loc;
        }
    }
}

bool gh_sig_require_conflict(const gh_rule *r, gh_rule_loc *loc, char *msg, size_t n)
{
    requirements q;
    explicit_requirements(r, &q);
    if (!q.pkt || !q.stream)
        return false;
    bool pkt_later = q.pkt_loc.line > q.stream_loc.line ||
                     (q.pkt_loc.line == q.stream_loc.line && q.pkt_loc.col > q.stream_loc.col);
    *loc = pkt_later ? q.pkt_loc : q.stream_loc;
    snprintf(msg, n, "can't mix %s (needs the packet) with %s (the stream), as Suricata refuses",
             q.pkt, q.stream);
    return true;
}

#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

gh_sig_type gh_rule_sig_type(const gh_rule *r, const gh_rule_vars *vars, char *why,
                             size_t whylen)
{
    char dummy[8];
    if (!why || !whylen) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    const char *proto = r->proto.text ? r->proto.text : "ip";
    bool app_proto = gh_proto_class(proto) == GH_PROTO_APP;
    requirements q;
    explicit_requirements(r, &q);
    bool req_pkt = q.pkt != NULL, req_stream = q.stream != NULL;
    const char *pkt_by = q.pkt, *stream_by = q.stream;
    const char *pmatch = NULL, *app_buf = NULL, *pkt_buf = NULL, *match = NULL;
    const char *not_iponly = NULL, *pd = NULL, *de = NULL;
    const char *anchor = NULL, *stream_size = NULL;
    bool in_buffer = false; /* a sticky buffer holds the payload keywords that follow */
    for (size_t i = 0; i < r->n_options; i++) {
        const gh_rule_option *o = &r->options[i];
        const char *name = o->name.text;
        switch (gh_kw_list_of(o)) {
        case KL_UNKNOWN:
        case KL_NONE:
            if (!in_buffer && pmatch && is_anchor_modifier(name) && !anchor)
                anchor = name;
            break;
        case KL_MATCH:
            if (!strcasecmp(name, "stream_size"))
                stream_size = name;
            match = match ? match : name;
            not_iponly = not_iponly ? not_iponly : name;
            break;
        case KL_MATCH_PKT: /* requires the packet: explicit_requirements */
        case KL_FLOW:
            match = match ? match : name;
            not_iponly = not_iponly ? not_iponly : name;
            break;
        case KL_IPONLY: /* ip_proto stays IP-only compatible, needing the packet */
            break;
        case KL_FLOWBITS:
            if (!flowbits_iponly(o->value.text)) {
                match = match ? match : name;
                not_iponly = not_iponly ? not_iponly : "flowbits (other than set)";
            }
            break;
        case KL_PMATCH:
            if (!strcasecmp(name, "pcre") && pcre_http_buffer(o->value.text)) {
                app_buf = app_buf ? app_buf : "pcre with an HTTP buffer flag";
                break;
            }
            if (!in_buffer && !pmatch)
                pmatch = name;
            break;
        case KL_DERIVED:
            in_buffer = true;
            break;
        case KL_APP:
            app_buf = app_buf ? app_buf : name;
            in_buffer = true;
            break;
        case KL_PKT_BUF:
            pkt_buf = pkt_buf ? pkt_buf : name;
            in_buffer = true;
            break;
        case KL_PAYLOAD:
            in_buffer = false;
            break;
        case KL_PD:
            pd = name;
            break;
        case KL_DE:
            de = name;
            break;
        }
    }
    bool buffers = app_buf || pkt_buf;

    if (pd && !match && !pmatch && !buffers && !de) {
        WHY("only '%s': matched once the protocol is detected", pd);
        return GH_SIG_TYPE_PDONLY;
    }
    if (!app_proto && !pmatch && !buffers && !not_iponly && !pd && !de) {
        if (addr_negated(r->src_addr, vars, 0) || addr_negated(r->dst_addr, vars, 0)) {
            WHY("addresses and IP-only options, but a negated address: matched per packet");
            return GH_SIG_TYPE_LIKE_IPONLY;
        }
        WHY("addresses, ports and IP-only options only: once per flow direction");
        return GH_SIG_TYPE_IPONLY;
    }
    if (de && !match && !pmatch && !buffers && !pd) {
        WHY("only '%s'", de);
        return GH_SIG_TYPE_DEONLY;
    }
    if (pkt_buf) {
        WHY("packet buffer '%s'", pkt_buf);
        return GH_SIG_TYPE_PKT;
    }
    if (app_buf) {
        WHY("application-layer buffer '%s': per transaction", app_buf);
        return GH_SIG_TYPE_APP_TX;
    }
    if (pmatch) {
        if (!req_pkt && !req_stream && proto_has_tcp(proto)) {
            req_stream = true;
            stream_by = "payload, protocol includes TCP";
            if (anchor || stream_size) {
                req_pkt = true;
                pkt_by = anchor ? anchor : stream_size;
            }
        }
        if (req_pkt && !req_stream) {
            WHY("payload; '%s' needs the packet", pkt_by);
            return GH_SIG_TYPE_PKT;
        }
        if (req_stream && !req_pkt) {
            WHY("payload; %s: the reassembled stream", stream_by);
            return GH_SIG_TYPE_STREAM;
        }
        if (req_pkt)
            WHY("payload, protocol includes TCP; '%s': the stream, then the packet", pkt_by);
        else
            WHY("payload, protocol without a TCP stream (%s): each packet", proto);
        return GH_SIG_TYPE_PKT_STREAM;
    }
    if (match) {
        WHY("no payload; '%s' is a packet match", match);
        return GH_SIG_TYPE_PKT;
    }
    if (app_proto) {
        WHY("application-layer protocol '%s' alone", proto);
        return GH_SIG_TYPE_APPLAYER;
    }
    WHY("no payload, no match");
    return GH_SIG_TYPE_PKT;
}
