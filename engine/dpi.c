/* Signature tier: compile checked rules into Hyperscan prefilter databases
 * and per-signature verification programs; match a buffer against them.
 *
 * Suricata's design (DESIGN.md section 5): Hyperscan sees one literal "fast
 * pattern" per signature and only says which signatures are candidates;
 * every candidate is verified in full. A fast pattern is a necessary
 * condition (a non-negated content must occur somewhere in the buffer), so
 * the prefilter can only drop signatures that cannot match.
 *
 * Databases are grouped by packet class (tcp, udp, icmp, other) and by the
 * flow direction a signature requires (to_server, to_client, either), so a
 * packet scans at most three small databases. A streaming database per
 * group can be added next to `block` without changing the verifier.
 *
 * The verifier follows Suricata's DetectEngineContentInspection: each
 * payload keyword in rule order; a content's search window comes from
 * offset/depth (absolute) or from the previous match end plus
 * distance/within (relative); when a later keyword that depends on a
 * content's match end fails, the content is retried at its next
 * occurrence (and a pcre at its next match start). The search is bounded by
 * a step budget; a verification that runs out counts as no match. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <hs.h>
#include <pcre2.h>

#include "gatehouse/dpi.h"
#include "hdrmatch.h"

/* Suricata's default pcre limits (suricata.yaml pcre.match-limit*). */
#define PCRE_MATCH_LIMIT 3500u
#define PCRE_DEPTH_LIMIT 1500u
/* Inspection steps per signature and buffer (Suricata: recursion limit). */
#define VERIFY_BUDGET 65536u

/* packet kinds, and the rule protocols as sets of them */
enum { PK_TCP = 1, PK_UDP = 2, PK_ICMP4 = 4, PK_ICMP6 = 8, PK_OTHER = 16, PK_ALL = 31 };
enum { FAM_V4 = 1, FAM_V6 = 2 };
enum { CLS_TCP, CLS_UDP, CLS_ICMP, CLS_OTHER, CLS_N };
enum { DIR_TO_SERVER, DIR_TO_CLIENT, DIR_ANY, DIR_N };
enum { KW_CONTENT, KW_PCRE, KW_ISDATAAT };

static const unsigned cls_kinds[CLS_N] = {PK_TCP, PK_UDP, PK_ICMP4 | PK_ICMP6, PK_OTHER};

typedef struct dpi_kw {
    uint8_t type;       /* KW_* */
    bool negated;
    bool relative;      /* content: distance/within; pcre: R; isdataat: relative */
    bool nocase;
    bool startswith, endswith;
    bool has_offset, has_depth, has_distance, has_within;
    bool retry;         /* a later keyword reads this one's match end */
    bool fast_pattern;
    bool fp_chop;
    bool last_ext;      /* no later keyword can extend a match's extent (stream mode) */
    bool anchored;      /* pcre: the A flag */
    int32_t distance;
    uint32_t within;
    uint32_t offset, depth; /* depth is absolute: offset + depth as written */
    uint32_t len;       /* content length, or isdataat's N */
    uint16_t fp_off, fp_len;
    uint8_t *pat;       /* content bytes, lower-cased when nocase */
    pcre2_code *re;
    gh_rule_loc loc;    /* the keyword, for errors */
} dpi_kw;

typedef struct dpi_sig {
    /* hot: read for every candidate */
    uint8_t kinds;      /* PK_* the protocol allows */
    uint8_t family;     /* FAM_* */
    bool bidir;
    bool any_ports;
    gh_hdr_match hm;
    dpi_kw *kw;
    bool has_ext;       /* some keyword sets a match extent (positive content/pcre/isdataat) */
    size_t nkw;
    gh_addr_set src, dst;
    gh_port_set sp, dp;
    /* cold */
    uint8_t dir;        /* DIR_* */
    int32_t fp_kw;      /* index of the fast pattern content, -1 when none */
    gh_hdr_match hm_stream; /* hm with only_stream satisfied: used on stream windows */
    uint32_t ct_line, ct_col; /* the classtype option, for errors */
    char *category_owned;   /* info.category when it is a copy (a class description) */
    gh_dpi_sig_info info;
} dpi_sig;

typedef struct dpi_group {
    hs_database_t *block;
    uint32_t *nofp;     /* signatures with no fast pattern, checked on every buffer */
    size_t n_nofp;
    size_t n_patterns;
} dpi_group;

struct gh_dpi {
    dpi_sig *sigs;
    size_t n;
    dpi_group groups[CLS_N][DIR_N];
    size_t db_bytes;
    size_t mem_bytes;
    size_t n_no_stream; /* signatures with flow:no_stream */
    gh_action_order order; /* precedence of the actions in a match list */
};

struct gh_dpi_scratch {
    const gh_dpi *d;
    hs_scratch_t *hs;
    uint32_t *mark;     /* mark[sig] == gen: already a candidate for this buffer */
    uint32_t gen;
    uint32_t *cand;
    size_t ncand;
    uint32_t *hits;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    gh_dpi_scratch_stats stats;
};

/* ---- small helpers --------------------------------------------------------- */

static void tally(gh_dpi_load_report *rep, const char *kw)
{
    if (!rep)
        return;
    for (size_t i = 0; i < rep->n_kw; i++) {
        if (strcmp(rep->kw[i].keyword, kw) == 0) {
            rep->kw[i].rules++;
            return;
        }
    }
    if (rep->n_kw == GH_DPI_KW_MAX) {
        rep->kw_other++;
        return;
    }
    snprintf(rep->kw[rep->n_kw].keyword, sizeof(rep->kw[0].keyword), "%s", kw);
    rep->kw[rep->n_kw++].rules = 1;
}

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static inline int lc(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c; /* ASCII only, as Hyperscan's caseless */
}

/* A decimal integer (optionally signed) and nothing else, in [lo, hi]. */
static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
    s = skip_ws(s);
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (!isdigit((unsigned char)*s))
        return false;
    long long v = 0;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (*s++ - '0');
        if (v > (1ll << 40))
            return false;
    }
    s = skip_ws(s);
    if (*s)
        return false;
    if (neg)
        v = -v;
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* content value: [!]"text|41 42|\"" -> bytes. Returns false on bad syntax
 * (gh_rules_check has already rejected it; kept as a guard). */
static bool decode_content(const char *v, bool *neg, uint8_t **out, uint32_t *outlen)
{
    v = skip_ws(v);
    *neg = false;
    if (*v == '!') {
        *neg = true;
        v = skip_ws(v + 1);
    }
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return false;
    size_t k = 0;
    bool hex = false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '|') {
            hex = !hex;
        } else if (hex) {
            if (c == ' ' || c == '\t')
                continue;
            int h = hexval(c), l = i + 1 < n ? hexval(v[i + 1]) : -1;
            if (h < 0 || l < 0) {
                free(b);
                return false;
            }
            b[k++] = (uint8_t)(h << 4 | l);
            i++;
        } else if (c == '\\' && i + 1 < n) {
            b[k++] = (uint8_t)v[++i];
        } else {
            b[k++] = (uint8_t)c;
        }
    }
    if (hex || k == 0) {
        free(b);
        return false;
    }
    *out = b;
    *outlen = (uint32_t)k;
    return true;
}

/* ---- address and port sets ------------------------------------------------ */

static inline uint32_t be32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static bool addr_in(const gh_addr_set *s, const gh_packet *p, const gh_addr *a)
{
    if (p->ip_ver == 4) {
        uint32_t v = be32(a->b);
        size_t lo = 0, hi = s->n_v4;
        while (lo < hi) { /* first range with hi >= v */
            size_t mid = lo + (hi - lo) / 2;
            if (s->v4[mid].hi < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < s->n_v4 && s->v4[lo].lo <= v;
    }
    size_t lo = 0, hi = s->n_v6;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(s->v6[mid].hi, a->b, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_v6 && memcmp(s->v6[lo].lo, a->b, 16) <= 0;
}

static bool port_in(const gh_port_set *s, uint16_t v)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].hi < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->r[lo].lo <= v;
}

static bool is_any_ports(const gh_port_set *s)
{
    return s->n == 1 && s->r[0].lo == 0 && s->r[0].hi == 65535;
}

/* ---- compile: one rule ----------------------------------------------------- */

typedef struct rule_ctx {
    const gh_rule *r;
    gh_rule_error **errs;
    size_t *nerrs;
    bool error;
    const char *unsupported; /* first unsupported feature found here */
    char uns_buf[40];
    bool oom;
} rule_ctx;

static void rule_error(rule_ctx *c, gh_rule_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rule_error(rule_ctx *c, gh_rule_loc loc, const char *fmt, ...)
{
    char m[GH_RULE_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    gh_rule_error_append(c->errs, c->nerrs, loc, "%s", m);
    c->error = true;
}

static void rule_unsupported(rule_ctx *c, const char *what)
{
    if (!c->unsupported) {
        snprintf(c->uns_buf, sizeof(c->uns_buf), "%s", what);
        c->unsupported = c->uns_buf;
    }
}

static bool proto_kinds(const char *p, uint8_t *kinds, uint8_t *family)
{
    *family = FAM_V4 | FAM_V6;
    if (!strcasecmp(p, "ip") || !strcasecmp(p, "any")) {
        *kinds = PK_ALL;
    } else if (!strcasecmp(p, "ipv4") || !strcasecmp(p, "ip4")) {
        *kinds = PK_ALL;
        *family = FAM_V4;
    } else if (!strcasecmp(p, "ipv6") || !strcasecmp(p, "ip6")) {
        *kinds = PK_ALL;
        *family = FAM_V6;
    } else if (!strcasecmp(p, "tcp") || !strcasecmp(p, "tcp-pkt") ||
               !strcasecmp(p, "tcp-stream")) {
        *kinds = PK_TCP;
    } else if (!strcasecmp(p, "udp")) {
        *kinds = PK_UDP;
    } else if (!strcasecmp(p, "icmp")) {
        *kinds = PK_ICMP4 | PK_ICMP6;
    } else if (!strcasecmp(p, "icmpv4")) {
        *kinds = PK_ICMP4;
        *family = FAM_V4;
    } else if (!strcasecmp(p, "icmpv6")) {
        *kinds = PK_ICMP6;
        *family = FAM_V6;
    } else {
        return false; /* application protocols */
    }
    return true;
}

static dpi_kw *new_kw(dpi_sig *sg, size_t *cap, uint8_t type, gh_rule_loc loc)
{
    if (sg->nkw == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        dpi_kw *nk = realloc(sg->kw, nc * sizeof(*nk));
        if (!nk)
            return NULL;
        sg->kw = nk;
        *cap = nc;
    }
    dpi_kw *k = &sg->kw[sg->nkw++];
    memset(k, 0, sizeof(*k));
    k->type = type;
    k->loc = loc;
    return k;
}

/* pcre:[!]"/regex/flags", or unquoted [!]/regex/flags (Suricata takes both) */
static void compile_pcre(rule_ctx *c, const gh_rule_option *o, dpi_kw *k)
{
    const char *v = o->value.text;
    const char *s = skip_ws(v);
    if (*s == '!') {
        k->negated = true;
        s = skip_ws(s + 1);
    }
    size_t n = strlen(s);
    bool quoted = n && s[0] == '"';
    if (quoted ? (n < 4 || s[n - 1] != '"' || s[1] != '/') : (n < 2 || s[0] != '/')) {
        rule_error(c, o->value.loc, "pcre: expected [!]\"/regex/flags\" or [!]/regex/flags");
        return;
    }
    const char *re = quoted ? s + 2 : s + 1;
    const char *end = quoted ? s + n - 1 : s + n; /* the closing quote, or the end */
    const char *slash = end - 1;
    while (slash >= re && *slash != '/')
        slash--;
    if (slash < re) {
        rule_error(c, o->value.loc, "pcre: missing the closing '/'");
        return;
    }
    uint32_t opts = 0;
    for (const char *f = slash + 1; f < end; f++) {
        switch (*f) {
        case 'i': opts |= PCRE2_CASELESS; break;
        case 's': opts |= PCRE2_DOTALL; break;
        case 'm': opts |= PCRE2_MULTILINE; break;
        case 'x': opts |= PCRE2_EXTENDED; break;
        case 'A': opts |= PCRE2_ANCHORED; break;
        case 'E': opts |= PCRE2_DOLLAR_ENDONLY; break;
        case 'G': opts |= PCRE2_UNGREEDY; break;
        case 'R': k->relative = true; break;
        case 'B': break; /* rawbytes: we never inspect normalized data */
        case 'O': break; /* override the match limit: the default limits stay */
        case 'U': case 'I': case 'P': case 'Q': case 'H': case 'D': case 'M':
        case 'C': case 'K': case 'S': case 'Y': case 'V': case 'W': case 'Z': {
            /* HTTP buffer modifiers: matching the packet instead would be wrong */
            char tag[16];
            snprintf(tag, sizeof(tag), "pcre/%c", *f);
            rule_unsupported(c, tag);
            return;
        }
        default: {
            gh_rule_loc l = o->value.loc;
            l.col += (uint32_t)(f - v);
            rule_error(c, l, "pcre: unknown modifier '%c'", *f);
            return;
        }
        }
    }
    int ec;
    PCRE2_SIZE eoff;
    k->re = pcre2_compile((PCRE2_SPTR)re, (PCRE2_SIZE)(slash - re), opts, &ec, &eoff, NULL);
    if (!k->re) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(ec, buf, sizeof(buf));
        gh_rule_loc l = o->value.loc;
        l.col += (uint32_t)(re - v) + (uint32_t)eoff;
        rule_error(c, l, "pcre: PCRE2 rejects the expression: %s (at offset %zu)", (char *)buf,
                   (size_t)eoff);
        return;
    }
    k->anchored = (opts & PCRE2_ANCHORED) != 0;
    (void)pcre2_jit_compile(k->re, PCRE2_JIT_COMPLETE); /* interpreter when JIT is missing */
}

/* Numeric content modifier; a byte_extract variable name is unsupported. */
static bool modifier_num(rule_ctx *c, const gh_rule_option *o, long long lo, long long hi,
                         long long *out)
{
    const char *v = o->value.text ? o->value.text : "";
    if (parse_int(v, lo, hi, out))
        return true;
    const char *s = skip_ws(v);
    if (isalpha((unsigned char)*s) || *s == '_')
        rule_unsupported(c, "byte_extract variable");
    else
        rule_error(c, o->value.text ? o->value.loc : o->name.loc, "bad %s value '%s'",
                   o->name.text, v);
    return false;
}

/* isdataat:[!]N[,relative][,rawbytes] */
static void compile_isdataat(rule_ctx *c, const gh_rule_option *o, dpi_kw *k)
{
    char buf[96];
    snprintf(buf, sizeof(buf), "%s", o->value.text ? o->value.text : "");
    char *save = NULL, *t = strtok_r(buf, ",", &save);
    if (!t) {
        rule_error(c, o->name.loc, "isdataat needs a value");
        return;
    }
    t = (char *)skip_ws(t);
    if (*t == '!') {
        k->negated = true;
        t = (char *)skip_ws(t + 1);
    }
    long long n;
    if (!parse_int(t, 0, 0xffffffffll, &n)) {
        if (isalpha((unsigned char)*t) || *t == '_')
            rule_unsupported(c, "byte_extract variable");
        else
            rule_error(c, o->value.loc, "bad isdataat value '%s'", o->value.text);
        return;
    }
    k->len = (uint32_t)n;
    while ((t = strtok_r(NULL, ",", &save))) {
        t = (char *)skip_ws(t);
        size_t l = strlen(t);
        while (l && (t[l - 1] == ' ' || t[l - 1] == '\t'))
            t[--l] = '\0';
        if (strcmp(t, "relative") == 0)
            k->relative = true;
        else if (strcmp(t, "rawbytes") != 0)
            rule_error(c, o->value.loc, "bad isdataat option '%s'", t);
    }
}

/* Apply a content modifier option to content @k. */
static void content_modifier(rule_ctx *c, const gh_rule_option *o, const char *nm, dpi_kw *k)
{
    long long v;
    if (!strcasecmp(nm, "nocase")) {
        k->nocase = true;
        for (uint32_t i = 0; i < k->len; i++)
            k->pat[i] = (uint8_t)lc(k->pat[i]);
    } else if (!strcasecmp(nm, "rawbytes")) {
        /* we never inspect normalized data: a no-op */
    } else if (!strcasecmp(nm, "offset")) {
        if (modifier_num(c, o, 0, 0xffffffffll, &v)) {
            k->has_offset = true;
            k->offset = (uint32_t)v;
        }
    } else if (!strcasecmp(nm, "depth")) {
        if (modifier_num(c, o, 1, 0xffffffffll, &v)) {
            k->has_depth = true;
            k->depth = (uint32_t)v;
        }
    } else if (!strcasecmp(nm, "distance")) {
        if (modifier_num(c, o, -0x7fffffffll, 0x7fffffffll, &v)) {
            k->has_distance = true;
            k->distance = (int32_t)v;
        }
    } else if (!strcasecmp(nm, "within")) {
        if (modifier_num(c, o, 1, 0x7fffffffll, &v)) {
            k->has_within = true;
            k->within = (uint32_t)v;
        }
    } else if (!strcasecmp(nm, "startswith")) {
        k->startswith = true;
    } else if (!strcasecmp(nm, "endswith")) {
        k->endswith = true;
    } else if (!strcasecmp(nm, "fast_pattern")) {
        k->fast_pattern = true;
        const char *fv = o->value.text;
        if (fv && strcmp(skip_ws(fv), "only") != 0) {
            long long a, b;
            char tmp[64];
            snprintf(tmp, sizeof(tmp), "%s", fv);
            char *comma = strchr(tmp, ',');
            if (!comma) {
                rule_error(c, o->value.loc, "bad fast_pattern value '%s'", fv);
                return;
            }
            *comma = '\0';
            if (!parse_int(tmp, 0, 65535, &a) || !parse_int(comma + 1, 1, 65535, &b) ||
                a + b > k->len) {
                rule_error(c, o->value.loc,
                           "fast_pattern %s: offset plus length exceed the content length %u",
                           fv, k->len);
                return;
            }
            k->fp_chop = true;
            k->fp_off = (uint16_t)a;
            k->fp_len = (uint16_t)b;
        }
    }
}

/* Checks Suricata makes when it parses a content and its modifiers. */
static void content_finish(rule_ctx *c, dpi_kw *k)
{
    bool abs = k->has_offset || k->has_depth;
    k->relative = k->has_distance || k->has_within;
    if (abs && k->relative) {
        rule_error(c, k->loc,
                   "content: offset/depth cannot be combined with distance/within on one content");
        return;
    }
    if (k->startswith && (abs || k->relative)) {
        rule_error(c, k->loc,
                   "content: startswith cannot be combined with offset, depth, distance or within");
        return;
    }
    if (k->startswith) {
        k->has_depth = true;
        k->depth = k->len;
    }
    if (k->has_depth) {
        if (k->depth < k->len && !k->startswith) {
            rule_error(c, k->loc, "content: depth %u is smaller than the content length %u",
                       k->depth, k->len);
            return;
        }
        k->depth += k->offset; /* depth counts from offset */
    }
    if (k->has_within && k->within < k->len) {
        rule_error(c, k->loc, "content: within %u is smaller than the content length %u",
                   k->within, k->len);
    }
}

static bool is_meta(const char *nm)
{
    static const char *const meta[] = {"msg", "sid", "gid", "rev", "classtype", "priority",
                                       "reference", "metadata"};
    for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
        if (!strcasecmp(nm, meta[i]))
            return true;
    return false;
}

static bool is_cmod(const char *nm)
{
    static const char *const cmod[] = {"nocase", "rawbytes", "offset", "depth", "distance",
                                       "within", "startswith", "endswith", "fast_pattern"};
    for (size_t i = 0; i < sizeof(cmod) / sizeof(cmod[0]); i++)
        if (!strcasecmp(nm, cmod[i]))
            return true;
    return false;
}

static void sig_clear(dpi_sig *sg)
{
    for (size_t i = 0; i < sg->nkw; i++) {
        free(sg->kw[i].pat);
        pcre2_code_free(sg->kw[i].re);
    }
    free(sg->kw);
    gh_addr_set_free(&sg->src);
    gh_addr_set_free(&sg->dst);
    gh_port_set_free(&sg->sp);
    gh_port_set_free(&sg->dp);
    free((char *)sg->info.msg);
    free((char *)sg->info.classtype);
    free(sg->category_owned);
    free((char *)sg->info.proto);
    free((char *)sg->info.file);
    memset(sg, 0, sizeof(*sg));
}

/* Compile rule @c->r into @sg. False when the rule is skipped (error,
 * unsupported feature or memory; see @c). */
static bool compile_rule(rule_ctx *c, const gh_rule_vars *vars, dpi_sig *sg)
{
    const gh_rule *r = c->r;
    memset(sg, 0, sizeof(*sg));
    sg->fp_kw = -1;
    if (r->action == GH_ACTION_ACCEPT) {
        rule_error(c, r->action_tok.loc, "action 'accept' is only allowed in firewall rules");
        return false;
    }
    if (!proto_kinds(r->proto.text, &sg->kinds, &sg->family)) {
        char tag[40];
        snprintf(tag, sizeof(tag), "proto:%s", r->proto.text);
        for (char *p = tag; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        rule_unsupported(c, tag);
        return false;
    }
    sg->info.action = r->action;
    sg->info.sid = r->sid;
    sg->info.gid = r->gid ? r->gid : 1;
    sg->info.rev = r->rev;
    sg->info.line = r->loc.line;
    sg->bidir = r->bidirectional;

    size_t cap = 0;
    int32_t cur = -1; /* the content modifiers apply to */
    for (size_t i = 0; i < r->n_options && !c->error && !c->unsupported; i++) {
        const gh_rule_option *o = &r->options[i];
        const char *nm = o->name.text;
        if (is_meta(nm)) {
            if (!strcasecmp(nm, "msg") && !sg->info.msg) {
                if (!(sg->info.msg = gh_rule_unquote(o->value.text)))
                    c->oom = true;
            } else if (!strcasecmp(nm, "classtype") && !sg->info.classtype && o->value.text) {
                if (!(sg->info.classtype = strdup(o->value.text)))
                    c->oom = true;
                sg->ct_line = o->value.loc.line;
                sg->ct_col = o->value.loc.col;
            } else if (!strcasecmp(nm, "priority") && o->value.text) {
                long long v;
                if (parse_int(o->value.text, 1, 255, &v))
                    sg->info.priority = (uint32_t)v;
            }
            continue;
        }
        char emsg[256];
        int rc = gh_hdr_match_add(&sg->hm, nm, o->value.text, emsg, sizeof(emsg));
        if (rc < 0) {
            rule_error(c, o->value.text ? o->value.loc : o->name.loc, "%s: %s", nm, emsg);
            break;
        }
        if (rc > 0)
            continue;
        if (!strcasecmp(nm, "content")) {
            dpi_kw *k = new_kw(sg, &cap, KW_CONTENT, o->name.loc);
            if (!k) {
                c->oom = true;
                break;
            }
            if (!o->value.text || !decode_content(o->value.text, &k->negated, &k->pat, &k->len)) {
                rule_error(c, o->value.text ? o->value.loc : o->name.loc, "bad content value");
                break;
            }
            cur = (int32_t)(sg->nkw - 1);
        } else if (is_cmod(nm)) {
            if (cur < 0) {
                rule_error(c, o->name.loc, "'%s' needs a preceding content", nm);
                break;
            }
            content_modifier(c, o, nm, &sg->kw[cur]);
        } else if (!strcasecmp(nm, "pcre")) {
            dpi_kw *k = new_kw(sg, &cap, KW_PCRE, o->name.loc);
            if (!k) {
                c->oom = true;
                break;
            }
            if (!o->value.text) {
                rule_error(c, o->name.loc, "pcre needs a value");
                break;
            }
            compile_pcre(c, o, k);
        } else if (!strcasecmp(nm, "isdataat")) {
            dpi_kw *k = new_kw(sg, &cap, KW_ISDATAAT, o->name.loc);
            if (!k) {
                c->oom = true;
                break;
            }
            compile_isdataat(c, o, k);
        } else {
            /* not a keyword the matcher implements: skip, never ignore */
            rule_unsupported(c, nm);
        }
    }
    if (c->error || c->unsupported || c->oom)
        return false;
    for (size_t i = 0; i < sg->nkw; i++)
        if (sg->kw[i].type == KW_CONTENT)
            content_finish(c, &sg->kw[i]);
    if (c->error)
        return false;

    /* A keyword must be retried at its next occurrence when a later keyword
     * reads its match end: a relative keyword before (or at) the next
     * keyword that sets a new match end. */
    for (size_t i = 0; i < sg->nkw; i++) {
        dpi_kw *k = &sg->kw[i];
        if (k->type == KW_ISDATAAT || k->negated)
            continue;
        for (size_t j = i + 1; j < sg->nkw; j++) {
            const dpi_kw *n = &sg->kw[j];
            if (n->relative) {
                k->retry = true;
                break;
            }
            if (n->type != KW_ISDATAAT && !n->negated)
                break;
        }
    }

    sg->info.payload = sg->nkw > 0;

    /* Stream windows: a match is reported when its extent (the end of its
     * furthest positive content/pcre, or the byte a positive isdataat needs)
     * reaches the newly delivered bytes. last_ext marks keywords after which
     * nothing can extend the extent any more. */
    for (size_t i = sg->nkw; i-- > 0;) {
        const dpi_kw *k = &sg->kw[i];
        bool ext = !k->negated;
        if (ext && !sg->has_ext)
            sg->kw[i].last_ext = true;
        sg->has_ext |= ext;
    }
    /* tcp-pkt: packets only; tcp-stream: the reassembled stream only (as
     * flow:no_stream / flow:only_stream) */
    if (!strcasecmp(c->r->proto.text, "tcp-pkt")) {
        sg->hm.present |= GH_HM_FLOW;
        sg->hm.flow |= GH_FLOWKW_NO_STREAM;
    } else if (!strcasecmp(c->r->proto.text, "tcp-stream")) {
        sg->hm.present |= GH_HM_FLOW;
        sg->hm.flow |= GH_FLOWKW_ONLY_STREAM;
    }
    sg->info.no_stream = (sg->hm.present & GH_HM_FLOW) && (sg->hm.flow & GH_FLOWKW_NO_STREAM);
    sg->info.only_stream =
        (sg->hm.present & GH_HM_FLOW) && (sg->hm.flow & GH_FLOWKW_ONLY_STREAM);
    for (size_t i = 0; i < sg->nkw; i++) {
        const dpi_kw *k = &sg->kw[i];
        if ((k->type == KW_CONTENT && !k->relative &&
             (k->has_offset || k->has_depth || k->startswith)) ||
            (k->type == KW_ISDATAAT && !k->relative) || (k->type == KW_PCRE && k->anchored))
            sg->info.anchored = true;
    }
    /* Suricata inspects `ip` signatures on packets only; TCP ones on the stream */
    sg->info.packet_scope = sg->info.anchored || !(sg->kinds == PK_TCP);
    sg->hm_stream = sg->hm;
    sg->hm_stream.flow &= (uint16_t)~GH_FLOWKW_ONLY_STREAM;

    /* fast pattern: the one marked, else the longest non-negated content */
    for (size_t i = 0; i < sg->nkw; i++)
        if (sg->kw[i].type == KW_CONTENT && sg->kw[i].fast_pattern && !sg->kw[i].negated)
            sg->fp_kw = (int32_t)i;
    if (sg->fp_kw < 0) {
        uint32_t best = 0;
        for (size_t i = 0; i < sg->nkw; i++) {
            const dpi_kw *k = &sg->kw[i];
            if (k->type == KW_CONTENT && !k->negated && k->len > best) {
                best = k->len;
                sg->fp_kw = (int32_t)i;
            }
        }
    }
    if (sg->fp_kw >= 0) {
        const dpi_kw *k = &sg->kw[sg->fp_kw];
        sg->info.fast_pattern = (const char *)k->pat + (k->fp_chop ? k->fp_off : 0);
        sg->info.fast_pattern_len = k->fp_chop ? k->fp_len : k->len;
        sg->info.fast_pattern_nocase = k->nocase;
    }

    /* direction group: only what gh_hdr_match_eval enforces */
    sg->dir = DIR_ANY;
    if ((sg->hm.present & GH_HM_FLOW) && !(sg->hm.flow & GH_FLOWKW_STATELESS)) {
        if (sg->hm.flow & GH_FLOWKW_TO_SERVER)
            sg->dir = DIR_TO_SERVER;
        else if (sg->hm.flow & GH_FLOWKW_TO_CLIENT)
            sg->dir = DIR_TO_CLIENT;
    }

    gh_rule_error e;
    int rc;
    if ((rc = gh_rule_eval_addr(r->src_addr, vars, &sg->src, &e)) != 0 ||
        (rc = gh_rule_eval_addr(r->dst_addr, vars, &sg->dst, &e)) != 0 ||
        (rc = gh_rule_eval_port(r->src_port, vars, &sg->sp, &e)) != 0 ||
        (rc = gh_rule_eval_port(r->dst_port, vars, &sg->dp, &e)) != 0) {
        if (rc == GH_E_NOMEM)
            c->oom = true;
        else
            rule_error(c, e.loc, "%s", e.message);
        return false;
    }
    sg->any_ports = is_any_ports(&sg->sp) && is_any_ports(&sg->dp);
    if (!sg->info.msg && !(sg->info.msg = strdup("")))
        c->oom = true;
    if (!sg->info.classtype && !(sg->info.classtype = strdup("")))
        c->oom = true;
    sg->info.category = sg->info.classtype;
    sg->info.severity = sg->info.priority ? sg->info.priority : 3;
    if (!(sg->info.proto = strdup(r->proto.text)) ||
        !(sg->info.file = strdup(r->loc.file ? r->loc.file : "")))
        c->oom = true;
    return !c->oom;
}

/* ---- compile: databases ---------------------------------------------------- */

/* A literal as a Hyperscan expression: every byte as \xHH. */
static char *hs_literal(const uint8_t *b, size_t n)
{
    char *s = malloc(4 * n + 1);
    if (!s)
        return NULL;
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        s[4 * i] = '\\';
        s[4 * i + 1] = 'x';
        s[4 * i + 2] = hx[b[i] >> 4];
        s[4 * i + 3] = hx[b[i] & 15];
    }
    s[4 * n] = '\0';
    return s;
}

static bool sig_in_class(const dpi_sig *sg, unsigned cls)
{
    return (sg->kinds & cls_kinds[cls]) != 0;
}

static int build_group(gh_dpi *d, unsigned cls, unsigned dir, gh_error *err)
{
    dpi_group *g = &d->groups[cls][dir];
    size_t np = 0, nn = 0;
    for (size_t i = 0; i < d->n; i++) {
        const dpi_sig *sg = &d->sigs[i];
        if (!sig_in_class(sg, cls) || sg->dir != dir)
            continue;
        if (sg->fp_kw >= 0)
            np++;
        else
            nn++;
    }
    if (nn && !(g->nofp = malloc(nn * sizeof(*g->nofp))))
        goto oom;
    char **ex = np ? calloc(np, sizeof(*ex)) : NULL;
    unsigned *flags = np ? malloc(np * sizeof(*flags)) : NULL;
    unsigned *ids = np ? malloc(np * sizeof(*ids)) : NULL;
    if (np && (!ex || !flags || !ids)) {
        free(ex);
        free(flags);
        free(ids);
        goto oom;
    }
    size_t k = 0;
    bool ok = true;
    for (size_t i = 0; i < d->n && ok; i++) {
        const dpi_sig *sg = &d->sigs[i];
        if (!sig_in_class(sg, cls) || sg->dir != dir)
            continue;
        if (sg->fp_kw < 0) {
            g->nofp[g->n_nofp++] = (uint32_t)i;
            continue;
        }
        ex[k] = hs_literal((const uint8_t *)sg->info.fast_pattern, sg->info.fast_pattern_len);
        ok = ex[k] != NULL;
        flags[k] = HS_FLAG_SINGLEMATCH | (sg->info.fast_pattern_nocase ? HS_FLAG_CASELESS : 0);
        ids[k] = (unsigned)i;
        k++;
    }
    int rc = 0;
    if (!ok) {
        rc = GH_E_NOMEM;
        gh_error_set(err, rc, "out of memory building the signature databases");
    } else if (np) {
        hs_compile_error_t *ce = NULL;
        if (hs_compile_multi((const char *const *)ex, flags, ids, (unsigned)np, HS_MODE_BLOCK,
                             NULL, &g->block, &ce) != HS_SUCCESS) {
            rc = GH_E_UNSUPPORTED;
            gh_error_set(err, rc, "hyperscan: %s (expression %d)", ce ? ce->message : "?",
                         ce ? ce->expression : -1);
            hs_free_compile_error(ce);
        } else {
            size_t sz = 0;
            hs_database_size(g->block, &sz);
            d->db_bytes += sz;
            g->n_patterns = np;
        }
    }
    for (size_t i = 0; i < k; i++)
        free(ex[i]);
    free(ex);
    free(flags);
    free(ids);
    return rc;
oom:
    gh_error_set(err, GH_E_NOMEM, "out of memory building the signature databases");
    return GH_E_NOMEM;
}

void gh_dpi_free(gh_dpi *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        sig_clear(&d->sigs[i]);
    free(d->sigs);
    for (unsigned c = 0; c < CLS_N; c++)
        for (unsigned k = 0; k < DIR_N; k++) {
            hs_free_database(d->groups[c][k].block);
            free(d->groups[c][k].nofp);
        }
    free(d);
}

static int kw_cmp(const void *a, const void *b)
{
    const gh_dpi_kwcount *x = a, *y = b;
    if (x->rules != y->rules)
        return x->rules < y->rules ? 1 : -1;
    return strcmp(x->keyword, y->keyword);
}

gh_dpi *gh_dpi_compile(gh_rule_file *const *files, size_t n, const gh_rule_vars *vars,
                       gh_rule_error **errs, size_t *nerrs, gh_dpi_load_report *rep,
                       gh_error *err)
{
    if (rep)
        memset(rep, 0, sizeof(*rep));
    size_t total = 0;
    for (size_t f = 0; f < n; f++)
        total += files[f]->n_rules;
    gh_dpi *d = calloc(1, sizeof(*d));
    if (!d || !(d->sigs = calloc(total ? total : 1, sizeof(*d->sigs)))) {
        free(d);
        gh_error_set(err, GH_E_NOMEM, "out of memory compiling the signatures");
        return NULL;
    }
    gh_action_order_default(&d->order);
    for (size_t f = 0; f < n; f++) {
        for (size_t i = 0; i < files[f]->n_rules; i++) {
            const gh_rule *r = &files[f]->rules[i];
            if (rep)
                rep->rules++;
            if (r->has_error) {
                if (rep)
                    rep->skipped_error++;
                continue;
            }
            if (r->unsupported) {
                if (rep)
                    rep->skipped_unsupported++;
                tally(rep, r->unsupported);
                continue;
            }
            rule_ctx c = {.r = r, .errs = errs, .nerrs = nerrs};
            dpi_sig *sg = &d->sigs[d->n];
            if (compile_rule(&c, vars, sg)) {
                d->n++;
                continue;
            }
            sig_clear(sg);
            if (c.oom) {
                gh_error_set(err, GH_E_NOMEM, "out of memory compiling the signatures");
                gh_dpi_free(d);
                return NULL;
            }
            if (c.error) {
                if (rep)
                    rep->skipped_error++;
            } else {
                if (rep)
                    rep->skipped_unsupported++;
                tally(rep, c.unsupported);
            }
        }
    }
    for (size_t i = 0; i < d->n; i++)
        d->n_no_stream += d->sigs[i].info.no_stream;
    for (unsigned cls = 0; cls < CLS_N; cls++)
        for (unsigned dir = 0; dir < DIR_N; dir++)
            if (build_group(d, cls, dir, err) != 0) {
                gh_dpi_free(d);
                return NULL;
            }
    d->mem_bytes = sizeof(*d) + d->n * sizeof(dpi_sig) + d->db_bytes;
    for (size_t i = 0; i < d->n; i++) {
        const dpi_sig *sg = &d->sigs[i];
        d->mem_bytes += sg->nkw * sizeof(dpi_kw);
        for (size_t k = 0; k < sg->nkw; k++) {
            d->mem_bytes += sg->kw[k].type == KW_CONTENT ? sg->kw[k].len : 0;
            if (sg->kw[k].re) {
                size_t sz = 0;
                pcre2_pattern_info(sg->kw[k].re, PCRE2_INFO_SIZE, &sz);
                d->mem_bytes += sz;
            }
        }
        d->mem_bytes += (sg->src.n_v4 + sg->dst.n_v4) * sizeof(gh_ip4_range) +
                        (sg->src.n_v6 + sg->dst.n_v6) * sizeof(gh_ip6_range) +
                        (sg->sp.n + sg->dp.n) * sizeof(gh_port_range);
    }
    if (rep) {
        rep->loaded = d->n;
        rep->skipped = rep->skipped_error + rep->skipped_unsupported;
        qsort(rep->kw, rep->n_kw, sizeof(rep->kw[0]), kw_cmp);
        for (unsigned cls = 0; cls < CLS_N; cls++)
            for (unsigned dir = 0; dir < DIR_N; dir++) {
                const dpi_group *g = &d->groups[cls][dir];
                rep->patterns += g->n_patterns;
                rep->databases += g->block != NULL;
            }
        for (size_t i = 0; i < d->n; i++)
            rep->no_fast_pattern += d->sigs[i].fp_kw < 0;
        rep->db_bytes = d->db_bytes;
        gh_dpi_scratch *s = gh_dpi_scratch_new(d, err);
        if (!s) {
            gh_dpi_free(d);
            return NULL;
        }
        rep->scratch_bytes = gh_dpi_scratch_size(s);
        gh_dpi_scratch_free(s);
    }
    return d;
}

size_t gh_dpi_sig_count(const gh_dpi *d)
{
    return d->n;
}

const gh_dpi_sig_info *gh_dpi_sig(const gh_dpi *d, uint32_t idx)
{
    return idx < d->n ? &d->sigs[idx].info : NULL;
}

size_t gh_dpi_memory(const gh_dpi *d)
{
    return d->mem_bytes;
}

/* ---- scratch --------------------------------------------------------------- */

gh_dpi_scratch *gh_dpi_scratch_new(const gh_dpi *d, gh_error *err)
{
    gh_dpi_scratch *s = calloc(1, sizeof(*s));
    if (!s)
        goto oom;
    s->d = d;
    size_t n = d->n ? d->n : 1;
    s->mark = calloc(n, sizeof(*s->mark));
    s->cand = malloc(n * sizeof(*s->cand));
    s->hits = malloc(n * sizeof(*s->hits));
    s->md = pcre2_match_data_create(1, NULL);
    s->mctx = pcre2_match_context_create(NULL);
    if (!s->mark || !s->cand || !s->hits || !s->md || !s->mctx)
        goto oom;
    pcre2_set_match_limit(s->mctx, PCRE_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, PCRE_DEPTH_LIMIT);
    for (unsigned c = 0; c < CLS_N; c++)
        for (unsigned k = 0; k < DIR_N; k++) {
            const hs_database_t *db = d->groups[c][k].block;
            if (db && hs_alloc_scratch(db, &s->hs) != HS_SUCCESS) {
                gh_error_set(err, GH_E_NOMEM, "hyperscan: cannot allocate scratch");
                gh_dpi_scratch_free(s);
                return NULL;
            }
        }
    return s;
oom:
    gh_error_set(err, GH_E_NOMEM, "out of memory allocating DPI scratch");
    gh_dpi_scratch_free(s);
    return NULL;
}

size_t gh_dpi_scratch_size(const gh_dpi_scratch *s)
{
    size_t hs = 0;
    if (s->hs)
        hs_scratch_size(s->hs, &hs);
    return sizeof(*s) + hs + (s->d->n ? s->d->n : 1) * 3 * sizeof(uint32_t);
}

void gh_dpi_scratch_free(gh_dpi_scratch *s)
{
    if (!s)
        return;
    hs_free_scratch(s->hs);
    free(s->mark);
    free(s->cand);
    free(s->hits);
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    free(s);
}

void gh_dpi_scratch_get_stats(const gh_dpi_scratch *s, gh_dpi_scratch_stats *st)
{
    *st = s->stats;
}

/* ---- verification ---------------------------------------------------------- */

typedef struct vctx {
    const uint8_t *buf;
    uint32_t len;
    gh_dpi_scratch *s;
    uint32_t budget;
    bool bail;
    /* stream windows (false/0 for a packet buffer) */
    bool stream;
    int64_t base;       /* stream offset of buf[0] */
    int64_t new_from;   /* a reported match's extent must exceed this index */
} vctx;

/* First occurrence of @k's pattern starting in [from, last_start], or -1. */
static int64_t find(const dpi_kw *k, const uint8_t *buf, uint32_t from, uint32_t last_start)
{
    const uint8_t *p = k->pat;
    uint32_t n = k->len;
    if (!k->nocase) {
        const uint8_t *h = buf + from;
        size_t span = (size_t)(last_start - from) + n;
        const uint8_t *f = memmem(h, span, p, n);
        return f ? (int64_t)(f - buf) : -1;
    }
    for (uint32_t i = from; i <= last_start; i++) {
        if (lc(buf[i]) != p[0])
            continue;
        uint32_t j = 1;
        while (j < n && lc(buf[i + j]) == p[j])
            j++;
        if (j == n)
            return i;
    }
    return -1;
}

/* The verifier carries, next to the previous match end, the extent of the
 * match built so far (exclusive end of the furthest byte a positive keyword
 * used, buffer index). On a packet it is ignored. On a stream window a
 * complete match counts only when its extent exceeds new_from, i.e. it
 * needs a byte this packet delivered; a chain without positive keywords
 * has the whole window as its extent. */
static bool inspect(const dpi_sig *sg, size_t i, uint32_t prev_end, int64_t ext, vctx *v);

/* When keyword @k (a positive content or pcre, not retried for the
 * keywords after it: they never read its match end) matched ending at @end
 * and the rest of the chain failed, can a later occurrence still help? Only
 * on a stream window, when neither the extent so far nor this match reached
 * the new bytes: the rest then may have failed for the extent alone. */
static inline bool stream_retry(const vctx *v, int64_t ext, int64_t end)
{
    return v->stream && ext <= v->new_from && end <= v->new_from;
}

static bool inspect_content(const dpi_sig *sg, size_t i, const dpi_kw *k, uint32_t prev_end,
                            int64_t ext, vctx *v)
{
    int64_t len = v->len, lo, hi; /* the match must lie in [lo, hi) */
    if (k->relative) {
        int64_t base = (int64_t)prev_end + (k->has_distance ? k->distance : 0);
        lo = base < 0 ? 0 : base;
        hi = k->has_within ? base + k->within : len;
    } else { /* absolute positions count from the stream start (0 on a packet) */
        lo = k->has_offset ? (int64_t)k->offset - v->base : 0;
        hi = k->has_depth ? (int64_t)k->depth - v->base : len;
    }
    if (hi > len)
        hi = len;
    if (k->endswith) { /* one candidate position: ending at the buffer end */
        if (hi < len)
            hi = -1;
        else if (lo < len - k->len)
            lo = len - k->len;
    }
    int64_t reach = v->new_from - (int64_t)k->len + 1; /* first start reaching new bytes */
    if (v->stream && !k->negated && k->last_ext && ext <= v->new_from && lo < reach)
        lo = reach; /* nothing after this keyword can make the match reach the new bytes */
    int64_t found = -1;
    int64_t from = lo < 0 ? 0 : lo;
    for (;;) {
        if (hi - from < (int64_t)k->len)
            found = -1;
        else
            found = find(k, v->buf, (uint32_t)from, (uint32_t)(hi - k->len));
        if (k->negated)
            return found < 0 && inspect(sg, i + 1, prev_end, ext, v);
        if (found < 0)
            return false;
        int64_t end = found + k->len;
        if (inspect(sg, i + 1, (uint32_t)end, end > ext ? end : ext, v))
            return true;
        if (v->bail)
            return false;
        if (k->retry) {
            from = found + 1;
        } else if (stream_retry(v, ext, end)) {
            from = found + 1 > reach ? found + 1 : reach;
        } else {
            return false;
        }
    }
}

static bool inspect_pcre(const dpi_sig *sg, size_t i, const dpi_kw *k, uint32_t prev_end,
                         int64_t ext, vctx *v)
{
    uint32_t base = k->relative ? prev_end : 0; /* R: the subject starts after the last match */
    if (base > v->len)
        base = v->len;
    /* Without R the subject is the buffer; on a window that does not start
     * the stream, ^ must not match at its start and the A flag cannot hold. */
    uint32_t opts = 0;
    bool never = false;
    if (v->stream && !k->relative && v->base > 0) {
        opts = PCRE2_NOTBOL;
        never = k->anchored;
    }
    const uint8_t *subj = v->buf + base;
    PCRE2_SIZE slen = v->len - base, start = 0;
    for (;;) {
        int rc = never ? PCRE2_ERROR_NOMATCH
                       : pcre2_match(k->re, (PCRE2_SPTR)subj, slen, start, opts, v->s->md,
                                     v->s->mctx);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
            v->s->stats.pcre_errors++;
        if (k->negated)
            return rc < 0 && inspect(sg, i + 1, prev_end, ext, v);
        if (rc < 0)
            return false;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(v->s->md);
        int64_t end = (int64_t)base + (int64_t)ov[1];
        if (inspect(sg, i + 1, (uint32_t)end, end > ext ? end : ext, v))
            return true;
        if (v->bail || (!k->retry && !stream_retry(v, ext, end)))
            return false;
        start = ov[0] + 1;
        if (start > slen)
            return false;
    }
}

static bool inspect(const dpi_sig *sg, size_t i, uint32_t prev_end, int64_t ext, vctx *v)
{
    if (i == sg->nkw)
        return !v->stream || (sg->has_ext ? ext : (int64_t)v->len) > v->new_from;
    if (GH_UNLIKELY(v->budget == 0)) {
        v->bail = true;
        return false;
    }
    v->budget--;
    const dpi_kw *k = &sg->kw[i];
    switch (k->type) {
    case KW_CONTENT:
        return inspect_content(sg, i, k, prev_end, ext, v);
    case KW_PCRE:
        return inspect_pcre(sg, i, k, prev_end, ext, v);
    default: { /* isdataat, with Suricata's bounds: relative N needs N bytes
                  after the match, absolute N needs a byte at (stream) offset N */
        int64_t need = k->relative ? (int64_t)prev_end + k->len
                                   : (int64_t)k->len + 1 - v->base; /* exclusive end */
        bool ok = need <= (int64_t)v->len;
        if (k->negated)
            ok = !ok;
        else if (need > ext)
            ext = need;
        return ok && inspect(sg, i + 1, prev_end, ext, v);
    }
    }
}

static unsigned pkt_kind(const gh_packet *p)
{
    if (p->layers & GH_LAYER_TCP)
        return PK_TCP;
    if (p->layers & GH_LAYER_UDP)
        return PK_UDP;
    if (p->layers & GH_LAYER_ICMPV4)
        return PK_ICMP4;
    if (p->layers & GH_LAYER_ICMPV6)
        return PK_ICMP6;
    return PK_OTHER;
}

static bool header_ok(const dpi_sig *sg, const gh_packet *p, unsigned kind)
{
    if (!(sg->kinds & kind) || !(sg->family & (p->ip_ver == 4 ? FAM_V4 : FAM_V6)))
        return false;
    if (!sg->any_ports && !(kind & (PK_TCP | PK_UDP)))
        return false;
    if (addr_in(&sg->src, p, &p->src) && addr_in(&sg->dst, p, &p->dst) &&
        (sg->any_ports || (port_in(&sg->sp, p->sport) && port_in(&sg->dp, p->dport))))
        return true;
    return sg->bidir && addr_in(&sg->src, p, &p->dst) && addr_in(&sg->dst, p, &p->src) &&
           (sg->any_ports || (port_in(&sg->sp, p->dport) && port_in(&sg->dp, p->sport)));
}

static int on_hs_match(unsigned id, unsigned long long from, unsigned long long to,
                       unsigned flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    gh_dpi_scratch *s = ctx;
    if (s->mark[id] != s->gen) {
        s->mark[id] = s->gen;
        s->cand[s->ncand++] = id;
    }
    return 0;
}

static bool hit_before(const gh_dpi *d, uint32_t a, uint32_t b)
{
    const gh_dpi_sig_info *x = &d->sigs[a].info, *y = &d->sigs[b].info;
    unsigned ra = d->order.rank[gh_action_class_of(x->action)];
    unsigned rb = d->order.rank[gh_action_class_of(y->action)];
    if (ra != rb)
        return ra < rb;
    if (x->sid != y->sid)
        return x->sid < y->sid;
    return a < b;
}

int gh_dpi_set_classification(gh_dpi *d, const gh_classification *c, gh_rule_error **errs,
                              size_t *nerrs)
{
    int bad = 0;
    for (size_t i = 0; i < d->n; i++) {
        dpi_sig *sg = &d->sigs[i];
        gh_dpi_sig_info *in = &sg->info;
        if (!in->classtype || !*in->classtype)
            continue;
        const gh_class_entry *e = gh_classification_find(c, in->classtype);
        if (!e) {
            gh_rule_loc loc = {.file = in->file, .line = sg->ct_line, .col = sg->ct_col};
            gh_rule_error_append(errs, nerrs, loc,
                                 "unknown classtype '%s' (not in the classification file)",
                                 in->classtype);
            bad++;
            continue;
        }
        char *cat = strdup(e->description);
        if (!cat)
            return GH_E_NOMEM;
        free(sg->category_owned);
        sg->category_owned = cat;
        in->category = cat;
        in->severity = in->priority ? in->priority : e->priority;
    }
    return bad;
}

void gh_dpi_set_action_order(gh_dpi *d, const gh_action_order *o)
{
    d->order = *o;
}

const gh_action_order *gh_dpi_action_order(const gh_dpi *d)
{
    return &d->order;
}

void gh_dpi_match_sort(const gh_dpi *d, gh_dpi_match *m, size_t n)
{
    /* insertion sort: match lists are short */
    for (size_t i = 1; i < n; i++) {
        gh_dpi_match x = m[i];
        size_t j = i;
        while (j > 0 && hit_before(d, x.idx, m[j - 1].idx)) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = x;
    }
}

enum { MODE_PACKET, MODE_NO_STREAM, MODE_STREAM };

static size_t match_core(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                         const gh_pkt_state *st, const uint8_t *buf, size_t len, unsigned mode,
                         int64_t base, int64_t new_from, bool skip_hdr_only, bool anchored_split,
                         gh_dpi_match *out, size_t max)
{
    s->stats.buffers++;
    if (!p->ip_ver || !d->n)
        return 0;
    if (mode == MODE_NO_STREAM && !d->n_no_stream && !anchored_split)
        return 0;
    if (!buf)
        len = 0;
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    if (new_from > (int64_t)len)
        new_from = (int64_t)len;
    if (GH_UNLIKELY(++s->gen == 0)) {
        memset(s->mark, 0, d->n * sizeof(*s->mark));
        s->gen = 1;
    }
    s->ncand = 0;
    unsigned kind = pkt_kind(p);
    unsigned cls = kind == PK_TCP ? CLS_TCP : kind == PK_UDP ? CLS_UDP
                 : kind == PK_OTHER ? CLS_OTHER : CLS_ICMP;
    /* on a window without new bytes no payload signature can be reported */
    bool scan = len && !(mode == MODE_STREAM && new_from >= (int64_t)len);
    /* without flow state scan every direction: verification decides */
    bool dirs[DIR_N] = {true, true, true};
    if (st && st->has_flow) {
        dirs[DIR_TO_SERVER] = st->to_server;
        dirs[DIR_TO_CLIENT] = !st->to_server;
    }
    for (unsigned k = 0; k < DIR_N; k++) {
        if (!dirs[k])
            continue;
        const dpi_group *g = &d->groups[cls][k];
        if (g->block && scan)
            hs_scan(g->block, (const char *)buf, (unsigned)len, 0, s->hs, on_hs_match, s);
        for (size_t i = 0; i < g->n_nofp; i++)
            on_hs_match(g->nofp[i], 0, 0, 0, s);
    }
    gh_pkt_state none = {0};
    const gh_pkt_state *ps = st ? st : &none;
    size_t nh = 0;
    for (size_t c = 0; c < s->ncand; c++) {
        const dpi_sig *sg = &d->sigs[s->cand[c]];
        const gh_hdr_match *hm = &sg->hm;
        if (mode == MODE_NO_STREAM) {
            if (!sg->info.no_stream && !(anchored_split && sg->info.packet_scope && sg->nkw))
                continue;
        } else if (mode == MODE_STREAM) {
            if (sg->info.no_stream || (skip_hdr_only && sg->nkw == 0) ||
                (anchored_split && sg->info.packet_scope && sg->nkw))
                continue;
            hm = &sg->hm_stream;
        }
        s->stats.candidates++;
        if (!header_ok(sg, p, kind) || !gh_hdr_match_eval(hm, p, ps))
            continue;
        if (sg->nkw) {
            vctx v = {.buf = buf, .len = (uint32_t)len, .s = s, .budget = VERIFY_BUDGET,
                      .stream = mode == MODE_STREAM, .base = base, .new_from = new_from};
            if (!inspect(sg, 0, 0, 0, &v)) {
                s->stats.budget_exceeded += v.bail;
                continue;
            }
        }
        /* insertion into precedence order; hits are few */
        uint32_t id = s->cand[c];
        size_t j = nh++;
        while (j > 0 && hit_before(d, id, s->hits[j - 1])) {
            s->hits[j] = s->hits[j - 1];
            j--;
        }
        s->hits[j] = id;
    }
    s->stats.matches += nh;
    size_t w = nh < max ? nh : max;
    for (size_t i = 0; i < w; i++) {
        const gh_dpi_sig_info *in = &d->sigs[s->hits[i]].info;
        out[i].idx = s->hits[i];
        out[i].action = in->action;
        out[i].sid = in->sid;
        out[i].gid = in->gid;
        out[i].rev = in->rev;
    }
    return w;
}

size_t gh_dpi_match_packet(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                           const gh_pkt_state *st, const uint8_t *buf, size_t len,
                           gh_dpi_match *out, size_t max)
{
    size_t n = match_core(d, s, p, st, buf, len, MODE_PACKET, 0, 0, false, false, out, max);
    for (size_t i = 0; i < n; i++)
        out[i].stream = false;
    return n;
}

size_t gh_dpi_match_packet_ex(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                              const gh_pkt_state *st, const uint8_t *buf, size_t len,
                              unsigned flags, gh_dpi_match *out, size_t max)
{
    unsigned mode = flags & GH_DPI_PACKET_ONLY_NO_STREAM ? MODE_NO_STREAM : MODE_PACKET;
    size_t n = match_core(d, s, p, st, buf, len, mode, 0, 0, false,
                          mode == MODE_NO_STREAM && (flags & GH_DPI_PACKET_ANCHORED), out, max);
    for (size_t i = 0; i < n; i++)
        out[i].stream = false;
    return n;
}

size_t gh_dpi_match_stream(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                           const gh_pkt_state *st, const uint8_t *buf, size_t len,
                           uint64_t buf_offset, size_t new_from, unsigned flags,
                           gh_dpi_match *out, size_t max)
{
    /* offsets beyond 2^62 behave like 2^62: every offset/depth lies before the window */
    int64_t base = buf_offset > (UINT64_C(1) << 62) ? INT64_C(1) << 62 : (int64_t)buf_offset;
    int64_t nf = new_from > (size_t)UINT32_MAX ? (int64_t)UINT32_MAX : (int64_t)new_from;
    size_t n = match_core(d, s, p, st, buf, len, MODE_STREAM, base, nf,
                          (flags & GH_DPI_STREAM_SKIP_HEADER_ONLY) != 0,
                          (flags & GH_DPI_STREAM_SKIP_ANCHORED) != 0, out, max);
    /* only payload keywords read the stream; header-only ones judged the packet */
    for (size_t i = 0; i < n; i++)
        out[i].stream = d->sigs[out[i].idx].info.payload;
    return n;
}
