/* Firewall tier compiler and lookup.
 *
 * Each rule becomes a set of classifier boxes (proto x src x dst x sport x
 * dport, one range per field; lists, negations and variables are evaluated
 * to disjoint ranges first, `<>` adds the mirrored boxes), all carrying the
 * rule's index as priority. IPv4 and IPv6 get separate classifiers (IPv6
 * addresses split into four 32-bit words; a prefix splits exactly into one
 * range per word, so IPv6 ranges are cut into prefixes first).
 *
 * Options the boxes cannot express (flow, flags, ttl, ...) make a rule
 * "conditional". Plain and conditional rules get separate classifiers: the
 * plain one gives the first plain match P; the conditional one the first
 * conditional box E. When E comes before P and its options fail, the
 * conditional boxes between E and P are scanned in order (the classifier
 * prunes boxes shadowed by a covering one, so it cannot be asked for the
 * "next" match). Firewall files hold few conditional rules; the scan is
 * bounded by their number. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classifier.h"
#include "gatehouse/firewall.h"
#include "hdrmatch.h"

#define V4_FIELDS 5
#define V6_FIELDS 11
/* A rule whose lists multiply out beyond this is refused, not half-built. */
#define MAX_BOXES_PER_RULE 200000u
#define MAX_BOXES_TOTAL 8000000u

typedef struct fw_rule {
    gh_fw_rule_info info;
    gh_hdr_match hm;
} fw_rule;

typedef struct box_vec {
    gh_cls_rule *b;
    size_t n, cap;
} box_vec;

/* One address family: plain and conditional classifiers, and the
 * conditional boxes in priority order for the resume scan. */
typedef struct fw_family {
    gh_classifier *plain, *cond;
    box_vec cond_boxes;
    size_t plain_boxes;
    unsigned nfields;
} fw_family;

struct gh_fw {
    fw_rule *rules;
    /* each rule's info again, densely: the worker reads the decided rule's
     * action on every lookup, and with thousands of rules hit in turn the
     * 4x larger fw_rule stride made that read a cache (and TLB) miss */
    gh_fw_rule_info *info;
    size_t n;
    fw_family v4, v6;
};

const char *gh_fw_action_name(gh_fw_action a)
{
    switch (a) {
    case GH_FW_ACCEPT: return "accept";
    case GH_FW_PASS: return "pass";
    case GH_FW_DROP: return "drop";
    case GH_FW_REJECT: return "reject";
    default: return "unknown";
    }
}

/* ---- box accumulation ---------------------------------------------------- */

static bool box_push(box_vec *v, const gh_cls_rule *r)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        gh_cls_rule *nb = realloc(v->b, cap * sizeof(*nb));
        if (!nb)
            return false;
        v->b = nb;
        v->cap = cap;
    }
    v->b[v->n++] = *r;
    return true;
}

typedef struct v6_prefix {
    uint8_t a[16];
    unsigned len;
} v6_prefix;

typedef struct prefix_vec {
    v6_prefix *p;
    size_t n, cap;
} prefix_vec;

static bool prefix_push(prefix_vec *v, const uint8_t a[16], unsigned len)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        v6_prefix *np = realloc(v->p, cap * sizeof(*np));
        if (!np)
            return false;
        v->p = np;
        v->cap = cap;
    }
    memcpy(v->p[v->n].a, a, 16);
    v->p[v->n].len = len;
    v->n++;
    return true;
}

static bool bit_of(const uint8_t a[16], unsigned i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

/* Largest prefix length L such that a is aligned to /L and a + 2^(128-L) - 1 <= hi. */
static bool v6_range_to_prefixes(const uint8_t lo_in[16], const uint8_t hi[16], prefix_vec *out)
{
    uint8_t lo[16];
    memcpy(lo, lo_in, 16);
    for (;;) {
        /* the trailing zero bits of lo bound the block size */
        unsigned len = 128;
        while (len > 0 && !bit_of(lo, len - 1))
            len--;
        /* shrink until the block's last address is <= hi */
        for (;; len++) {
            uint8_t last[16];
            memcpy(last, lo, 16);
            for (unsigned i = len; i < 128; i++)
                last[i / 8] |= (uint8_t)(1u << (7 - i % 8));
            if (memcmp(last, hi, 16) <= 0) {
                if (!prefix_push(out, lo, len))
                    return false;
                if (memcmp(last, hi, 16) == 0)
                    return true;
                /* lo = last + 1 */
                memcpy(lo, last, 16);
                for (int i = 15; i >= 0; i--) {
                    if (++lo[i] != 0)
                        break;
                }
                break;
            }
        }
    }
}

static void v6_prefix_words(const v6_prefix *p, uint32_t lo[4], uint32_t hi[4])
{
    for (unsigned w = 0; w < 4; w++) {
        uint32_t word = ((uint32_t)p->a[4 * w] << 24) | ((uint32_t)p->a[4 * w + 1] << 16) |
                        ((uint32_t)p->a[4 * w + 2] << 8) | p->a[4 * w + 3];
        int bits = (int)p->len - 32 * (int)w;
        if (bits <= 0) {
            lo[w] = 0;
            hi[w] = UINT32_MAX;
        } else if (bits >= 32) {
            lo[w] = hi[w] = word;
        } else {
            uint32_t mask = ~(UINT32_MAX >> bits);
            lo[w] = word & mask;
            hi[w] = lo[w] | ~mask;
        }
    }
}

/* ---- per-rule compile ---------------------------------------------------- */

typedef struct proto_set {
    uint8_t lo[3], hi[3];
    unsigned n;
} proto_set;

static bool is_any_ports(const gh_port_set *s)
{
    return s->n == 1 && s->r[0].lo == 0 && s->r[0].hi == 65535;
}

/* Protocols a rule header names; ports imply a port-carrying protocol. */
static bool rule_protos(const gh_rule *r, bool ports_given, proto_set *ps, gh_rule_error **errs,
                        size_t *nerrs)
{
    const char *p = r->proto.text;
    ps->n = 0;
    if (!strcasecmp(p, "ip") || !strcasecmp(p, "any") || !strcasecmp(p, "ipv4") ||
        !strcasecmp(p, "ip4") || !strcasecmp(p, "ipv6") || !strcasecmp(p, "ip6")) {
        if (ports_given) { /* the protocols whose ports the decoder reads */
            ps->lo[0] = ps->hi[0] = 6;
            ps->lo[1] = ps->hi[1] = 17;
            ps->n = 2;
        } else {
            ps->lo[0] = 0;
            ps->hi[0] = 255;
            ps->n = 1;
        }
    } else if (!strcasecmp(p, "tcp") || !strcasecmp(p, "tcp-pkt")) {
        ps->lo[0] = ps->hi[0] = 6;
        ps->n = 1;
    } else if (!strcasecmp(p, "udp")) {
        ps->lo[0] = ps->hi[0] = 17;
        ps->n = 1;
    } else if (!strcasecmp(p, "icmp") || !strcasecmp(p, "icmpv4") || !strcasecmp(p, "icmpv6")) {
        if (ports_given) {
            const gh_rule_expr *pe = r->src_port->kind == GH_EXPR_ANY && !r->src_port->negated
                                         ? r->dst_port
                                         : r->src_port;
            gh_rule_error_append(errs, nerrs, pe->loc, "ports are given for protocol '%s', which has none", p);
            return false;
        }
        if (strcasecmp(p, "icmpv6") != 0) {
            ps->lo[ps->n] = ps->hi[ps->n] = 1;
            ps->n++;
        }
        if (strcasecmp(p, "icmpv4") != 0) { /* Suricata's icmp covers both */
            ps->lo[ps->n] = ps->hi[ps->n] = 58;
            ps->n++;
        }
    } else {
        gh_rule_error_append(errs, nerrs, r->proto.loc,
                "protocol '%s' is not allowed in a firewall rule (ip, ipv4, ipv6, tcp, udp, "
                "icmp, icmpv4, icmpv6)", p);
        return false;
    }
    return true;
}

static bool emit_v4(box_vec *bv, uint32_t prio, const proto_set *ps, const gh_addr_set *src,
                    const gh_addr_set *dst, const gh_port_set *sp, const gh_port_set *dp)
{
    gh_cls_rule b;
    memset(&b, 0, sizeof(b));
    b.priority = prio;
    for (unsigned k = 0; k < ps->n; k++)
        for (size_t i = 0; i < src->n_v4; i++)
            for (size_t j = 0; j < dst->n_v4; j++)
                for (size_t s = 0; s < sp->n; s++)
                    for (size_t d = 0; d < dp->n; d++) {
                        b.lo[0] = ps->lo[k];
                        b.hi[0] = ps->hi[k];
                        b.lo[1] = src->v4[i].lo;
                        b.hi[1] = src->v4[i].hi;
                        b.lo[2] = dst->v4[j].lo;
                        b.hi[2] = dst->v4[j].hi;
                        b.lo[3] = sp->r[s].lo;
                        b.hi[3] = sp->r[s].hi;
                        b.lo[4] = dp->r[d].lo;
                        b.hi[4] = dp->r[d].hi;
                        if (!box_push(bv, &b))
                            return false;
                    }
    return true;
}

static bool emit_v6(box_vec *bv, uint32_t prio, const proto_set *ps, const prefix_vec *src,
                    const prefix_vec *dst, const gh_port_set *sp, const gh_port_set *dp)
{
    gh_cls_rule b;
    memset(&b, 0, sizeof(b));
    b.priority = prio;
    for (unsigned k = 0; k < ps->n; k++)
        for (size_t i = 0; i < src->n; i++)
            for (size_t j = 0; j < dst->n; j++)
                for (size_t s = 0; s < sp->n; s++)
                    for (size_t d = 0; d < dp->n; d++) {
                        b.lo[0] = ps->lo[k];
                        b.hi[0] = ps->hi[k];
                        v6_prefix_words(&src->p[i], &b.lo[1], &b.hi[1]);
                        v6_prefix_words(&dst->p[j], &b.lo[5], &b.hi[5]);
                        b.lo[9] = sp->r[s].lo;
                        b.hi[9] = sp->r[s].hi;
                        b.lo[10] = dp->r[d].lo;
                        b.hi[10] = dp->r[d].hi;
                        if (!box_push(bv, &b))
                            return false;
                    }
    return true;
}

static bool to_prefixes(const gh_addr_set *s, prefix_vec *out)
{
    for (size_t i = 0; i < s->n_v6; i++)
        if (!v6_range_to_prefixes(s->v6[i].lo, s->v6[i].hi, out))
            return false;
    return true;
}

/* Header options, plus the metadata options that are kept and never matched
 * (so rules copied from signature sets need no editing). */
static const char *const allowed_opts[] = {"msg", "sid", "rev", "gid", "flow", "flags", "ttl",
                                           "dsize", "itype", "icode", "ip_proto", "fragbits",
                                           "classtype", "priority", "reference", "metadata"};

/* Compile one rule; false on a rule error (reported) or memory failure (*oom). */
static bool compile_rule(const gh_rule *r, uint32_t idx, const gh_rule_vars *vars, fw_rule *out,
                         box_vec vecs[2][2], gh_rule_error **errs, size_t *nerrs, bool *oom)
{
    bool ok = true;
    memset(out, 0, sizeof(*out));
    switch (r->action) {
    case GH_ACTION_ACCEPT: out->info.action = GH_FW_ACCEPT; break;
    case GH_ACTION_PASS: out->info.action = GH_FW_PASS; break;
    case GH_ACTION_DROP: out->info.action = GH_FW_DROP; break;
    case GH_ACTION_REJECT:
    case GH_ACTION_REJECTSRC:
    case GH_ACTION_REJECTDST:
    case GH_ACTION_REJECTBOTH: out->info.action = GH_FW_REJECT; break;
    default:
        gh_rule_error_append(errs, nerrs, r->action_tok.loc,
                "action '%s' is not allowed in a firewall rule (accept, pass, drop, reject)",
                r->action_tok.text);
        return false;
    }
    out->info.sid = r->sid;
    out->info.gid = r->gid ? r->gid : 1;
    out->info.rev = r->rev;
    out->info.line = r->loc.line;
    /* the table outlives the parse tree: keep copies of what events print */
    const gh_rule_option *msg = gh_rule_find_option(r, "msg");
    out->info.msg = gh_rule_unquote(msg ? msg->value.text : NULL);
    out->info.file = strdup(r->loc.file ? r->loc.file : "");
    if (!out->info.msg || !out->info.file) {
        *oom = true;
        return false;
    }
    for (size_t i = 0; i < r->n_options; i++) {
        const gh_rule_option *o = &r->options[i];
        bool known = false;
        for (size_t k = 0; k < sizeof(allowed_opts) / sizeof(allowed_opts[0]); k++)
            known |= strcasecmp(o->name.text, allowed_opts[k]) == 0;
        if (!known) {
            gh_rule_error_append(errs, nerrs, o->name.loc, "option '%s' is not allowed in a firewall rule",
                    o->name.text);
            ok = false;
            continue;
        }
        char emsg[256];
        int rc = gh_hdr_match_add(&out->hm, o->name.text, o->value.text, emsg, sizeof(emsg));
        if (rc < 0) {
            gh_rule_error_append(errs, nerrs, o->value.text ? o->value.loc : o->name.loc, "%s: %s",
                    o->name.text, emsg);
            ok = false;
        }
    }
    if (out->hm.present & GH_HM_FLOW) {
        const gh_rule_option *fo = gh_rule_find_option(r, "flow");
        if (out->hm.flow & GH_FLOWKW_ONLY_STREAM) {
            gh_rule_error_append(errs, nerrs, fo->value.loc,
                    "flow:only_stream never matches in a firewall rule (it sees packets, not streams)");
            ok = false;
        }
    }

    gh_addr_set src = {0}, dst = {0};
    gh_port_set sp = {0}, dp = {0};
    gh_rule_error e;
    if (gh_rule_eval_addr(r->src_addr, vars, &src, &e) != 0 ||
        gh_rule_eval_addr(r->dst_addr, vars, &dst, &e) != 0 ||
        gh_rule_eval_port(r->src_port, vars, &sp, &e) != 0 ||
        gh_rule_eval_port(r->dst_port, vars, &dp, &e) != 0) {
        gh_rule_error_append(errs, nerrs, e.loc, "%s", e.message);
        ok = false;
        goto out;
    }
    proto_set ps;
    if (!rule_protos(r, !is_any_ports(&sp) || !is_any_ports(&dp), &ps, errs, nerrs)) {
        ok = false;
        goto out;
    }
    /* ipv4/ipv6 (and icmpv4/icmpv6) restrict the rule to one family */
    const char *pn = r->proto.text;
    if (!strcasecmp(pn, "ipv4") || !strcasecmp(pn, "ip4") || !strcasecmp(pn, "icmpv4"))
        src.n_v6 = dst.n_v6 = 0;
    else if (!strcasecmp(pn, "ipv6") || !strcasecmp(pn, "ip6") || !strcasecmp(pn, "icmpv6"))
        src.n_v4 = dst.n_v4 = 0;
    if (!ok)
        goto out;

    /* [family][conditional] */
    box_vec *v4 = &vecs[0][out->hm.present != 0], *v6 = &vecs[1][out->hm.present != 0];
    prefix_vec s6 = {0}, d6 = {0};
    if (!to_prefixes(&src, &s6) || !to_prefixes(&dst, &d6)) {
        *oom = true;
        ok = false;
    } else {
        size_t mult = ps.n * sp.n * dp.n * (r->bidirectional ? 2u : 1u);
        size_t nbox = (src.n_v4 * dst.n_v4 + s6.n * d6.n) * mult;
        if (nbox > MAX_BOXES_PER_RULE) {
            gh_rule_error_append(errs, nerrs, r->loc,
                    "rule expands to %zu classifier boxes (limit %u): split its address or "
                    "port lists", nbox, MAX_BOXES_PER_RULE);
            ok = false;
        } else if (!emit_v4(v4, idx, &ps, &src, &dst, &sp, &dp) ||
                   !emit_v6(v6, idx, &ps, &s6, &d6, &sp, &dp) ||
                   (r->bidirectional && (!emit_v4(v4, idx, &ps, &dst, &src, &dp, &sp) ||
                                         !emit_v6(v6, idx, &ps, &d6, &s6, &dp, &sp)))) {
            *oom = true;
            ok = false;
        }
    }
    free(s6.p);
    free(d6.p);
out:
    gh_addr_set_free(&src);
    gh_addr_set_free(&dst);
    gh_port_set_free(&sp);
    gh_port_set_free(&dp);
    return ok;
}

void gh_fw_free(gh_fw *fw)
{
    if (!fw)
        return;
    for (size_t i = 0; i < fw->n; i++) {
        free((char *)fw->rules[i].info.msg);
        free((char *)fw->rules[i].info.file);
    }
    free(fw->rules);
    free(fw->info); /* its strings are the rules' */
    fw_family *fams[2] = {&fw->v4, &fw->v6};
    for (int i = 0; i < 2; i++) {
        gh_cls_free(fams[i]->plain);
        gh_cls_free(fams[i]->cond);
        free(fams[i]->cond_boxes.b);
    }
    free(fw);
}

gh_fw *gh_fw_compile(gh_rule_file *const *files, size_t nfiles, const gh_rule_vars *vars,
                     gh_rule_error **errs, size_t *nerrs, gh_error *err)
{
    size_t total = 0;
    for (size_t f = 0; f < nfiles; f++)
        total += files[f]->n_rules;
    gh_fw *fw = calloc(1, sizeof(*fw));
    if (!fw || !(fw->rules = calloc(total ? total : 1, sizeof(*fw->rules)))) {
        free(fw);
        gh_error_set(err, GH_E_NOMEM, "out of memory compiling the firewall");
        return NULL;
    }
    box_vec vecs[2][2] = {{{0}}}; /* [family][conditional] */
    bool oom = false, ok = true;
    for (size_t f = 0; f < nfiles && !oom; f++) {
        for (size_t i = 0; i < files[f]->n_rules && !oom; i++) {
            const gh_rule *r = &files[f]->rules[i];
            if (r->has_error) {
                ok = false;
                continue;
            }
            uint32_t idx = (uint32_t)fw->n;
            if (!compile_rule(r, idx, vars, &fw->rules[idx], vecs, errs, nerrs, &oom))
                ok = false;
            fw->n++; /* keep info.msg owned even on error */
            if (vecs[0][0].n + vecs[0][1].n + vecs[1][0].n + vecs[1][1].n > MAX_BOXES_TOTAL) {
                gh_rule_error_append(errs, nerrs, r->loc, "the firewall expands to more than %u classifier boxes",
                        MAX_BOXES_TOTAL);
                ok = false;
                break;
            }
        }
    }
    if (oom) {
        gh_error_set(err, GH_E_NOMEM, "out of memory compiling the firewall");
        goto fail;
    }
    if (!ok) {
        gh_error_set(err, GH_E_FORMAT, "the firewall rules have errors");
        goto fail;
    }
    fw_family *fams[2] = {&fw->v4, &fw->v6};
    for (int k = 0; k < 2; k++) {
        fw_family *fa = fams[k];
        fa->nfields = k == 0 ? V4_FIELDS : V6_FIELDS;
        fa->plain_boxes = vecs[k][0].n;
        if (!(fa->plain = gh_cls_build(vecs[k][0].b, vecs[k][0].n, fa->nfields, err)) ||
            !(fa->cond = gh_cls_build(vecs[k][1].b, vecs[k][1].n, fa->nfields, err)))
            goto fail;
        free(vecs[k][0].b);
        vecs[k][0].b = NULL;
        fa->cond_boxes = vecs[k][1]; /* kept, in priority order, for the scan */
        vecs[k][1].b = NULL;
    }
    if (!(fw->info = malloc((fw->n ? fw->n : 1) * sizeof(*fw->info)))) {
        gh_error_set(err, GH_E_NOMEM, "out of memory compiling the firewall");
        goto fail;
    }
    for (size_t i = 0; i < fw->n; i++)
        fw->info[i] = fw->rules[i].info;
    return fw;
fail:
    for (int k = 0; k < 2; k++) {
        free(vecs[k][0].b);
        free(vecs[k][1].b);
    }
    gh_fw_free(fw);
    return NULL;
}

static inline uint32_t be32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static inline bool box_contains(const gh_cls_rule *b, const uint32_t *key, unsigned nf)
{
    for (unsigned f = 0; f < nf; f++)
        if (key[f] < b->lo[f] || key[f] > b->hi[f])
            return false;
    return true;
}

static uint32_t classify_cond(const gh_fw *fw, const fw_family *fa, const uint32_t *key,
                              const gh_packet *p, const gh_pkt_state *ps, uint32_t best);

static uint32_t classify_family(const gh_fw *fw, const fw_family *fa, const uint32_t *key,
                                const gh_packet *p, const gh_pkt_state *ps)
{
    uint32_t best = gh_cls_lookup(fa->plain, key); /* NOMATCH is the largest value */
    if (!fa->cond_boxes.n)
        return best;
    return classify_cond(fw, fa, key, p, ps, best);
}

static uint32_t classify_cond(const gh_fw *fw, const fw_family *fa, const uint32_t *key,
                              const gh_packet *p, const gh_pkt_state *ps, uint32_t best)
{
    uint32_t e = gh_cls_lookup(fa->cond, key);
    if (e >= best)
        return best;
    if (gh_hdr_match_eval(&fw->rules[e].hm, p, ps, false))
        return e;
    /* resume after e: the first conditional box with a larger priority */
    const gh_cls_rule *b = fa->cond_boxes.b;
    size_t lo = 0, hi = fa->cond_boxes.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid].priority <= e)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t failed = e;
    for (size_t i = lo; i < fa->cond_boxes.n && b[i].priority < best; i++) {
        uint32_t r = b[i].priority;
        if (r == failed || !box_contains(&b[i], key, fa->nfields))
            continue;
        if (gh_hdr_match_eval(&fw->rules[r].hm, p, ps, false))
            return r;
        failed = r;
    }
    return best;
}

/* The classifier key of an IPv4 packet: protocol, addresses, ports (0 for
 * protocols without ports). */
static void v4_key(const gh_packet *p, uint32_t *key)
{
    bool ports = (p->layers & (GH_LAYER_TCP | GH_LAYER_UDP)) != 0;
    key[0] = p->ip_proto;
    key[1] = be32(p->src.b);
    key[2] = be32(p->dst.b);
    key[3] = ports ? p->sport : 0;
    key[4] = ports ? p->dport : 0;
}

uint32_t gh_fw_classify(const gh_fw *fw, const gh_packet *p, const gh_fw_state *st)
{
    uint32_t key[V6_FIELDS];
    const fw_family *fa;
    bool ports = (p->layers & (GH_LAYER_TCP | GH_LAYER_UDP)) != 0;
    key[0] = p->ip_proto;
    if (p->ip_ver == 4) {
        fa = &fw->v4;
        v4_key(p, key);
    } else if (p->ip_ver == 6) {
        fa = &fw->v6;
        for (unsigned w = 0; w < 4; w++) {
            key[1 + w] = be32(p->src.b + 4 * w);
            key[5 + w] = be32(p->dst.b + 4 * w);
        }
        key[9] = ports ? p->sport : 0;
        key[10] = ports ? p->dport : 0;
    } else {
        return GH_FW_NOMATCH;
    }
    gh_pkt_state ps = {.has_flow = st && st->has_flow,
                       .established = st && st->established,
                       .to_server = st && st->to_server};
    uint32_t r = classify_family(fw, fa, key, p, &ps);
    return r == GH_CLS_NOMATCH ? GH_FW_NOMATCH : r;
}

/* Burst: IPv4 packets' plain lookups in one classifier burst (their cache
 * misses overlap), the conditional part per packet as gh_fw_classify. */
void gh_fw_classify_burst(const gh_fw *fw, const gh_packet *const *pkts, const gh_fw_state *st,
                          size_t n, uint32_t *out)
{
    uint32_t keys[64 * V4_FIELDS], best[64];
    size_t idx[64], m = 0;
    for (size_t i = 0; i < n; i++) {
        const gh_packet *p = pkts[i];
        if (p->ip_ver != 4 || m == 64) {
            out[i] = gh_fw_classify(fw, p, &st[i]);
            continue;
        }
        v4_key(p, keys + m * V4_FIELDS);
        idx[m++] = i;
    }
    if (!m)
        return;
    gh_cls_lookup_burst(fw->v4.plain, keys, m, best);
    for (size_t j = 0; j < m; j++) {
        size_t i = idx[j];
        uint32_t r = best[j];
        if (fw->v4.cond_boxes.n) {
            gh_pkt_state ps = {.has_flow = st[i].has_flow, .established = st[i].established,
                               .to_server = st[i].to_server};
            r = classify_cond(fw, &fw->v4, keys + j * V4_FIELDS, pkts[i], &ps, r);
        }
        out[i] = r == GH_CLS_NOMATCH ? GH_FW_NOMATCH : r;
    }
}

size_t gh_fw_rule_count(const gh_fw *fw)
{
    return fw->n;
}

const gh_fw_rule_info *gh_fw_rule(const gh_fw *fw, uint32_t idx)
{
    return idx < fw->n ? &fw->info[idx] : NULL;
}

void gh_fw_get_stats(const gh_fw *fw, gh_fw_stats *st)
{
    st->rules = fw->n;
    st->boxes_v4 = fw->v4.plain_boxes + fw->v4.cond_boxes.n;
    st->boxes_v6 = fw->v6.plain_boxes + fw->v6.cond_boxes.n;
    st->memory_bytes = gh_cls_memory(fw->v4.plain) + gh_cls_memory(fw->v4.cond) +
                       gh_cls_memory(fw->v6.plain) + gh_cls_memory(fw->v6.cond) +
                       (fw->v4.cond_boxes.n + fw->v6.cond_boxes.n) * sizeof(gh_cls_rule) +
                       fw->n * (sizeof(fw_rule) + sizeof(gh_fw_rule_info));
}
