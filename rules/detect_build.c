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
 * packet scans at most three small databases. TCP has two more sets: stream
 * databases in Hyperscan's streaming mode for the signatures matched on the
 * reassembled stream (each byte scanned once, the hits kept per stream while
 * they lie in the inspection window), and block databases of the rest, the
 * signatures evaluated once per packet.
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
#include <pthread.h>
#include <stdatomic.h>

#include "detect/detect_int.h"
#include "app/app.h"
#include "mem.h"
#include "rules_int.h"
#include "byte_build.h"
#include "base64_build.h"
#include "hs_batch.h"
#include "nofp_build.h"
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

static bool is_any_ports(const gh_port_set *s)
{
    return s->n == 1 && s->r[0].lo == 0 && s->r[0].hi == 65535;
}

/* ---- compile: one rule ----------------------------------------------------- */

/* Does the expression count a repeat past 32 ("x{1075,}", "{1,500}")?
 * Hyperscan unrolls counted repeats: such expressions take it up to a second
 * each to compile, so they stay PCRE2's alone. */
static bool large_repeat(const char *re, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (re[i] == '\\') {
            i++; /* an escaped character, "\{" included */
            continue;
        }
        if (re[i] != '{')
            continue;
        unsigned long v = 0;
        for (size_t j = i + 1; j < n && (re[j] == ',' || (re[j] >= '0' && re[j] <= '9')); j++) {
            v = re[j] == ',' ? 0 : v * 10 + (unsigned long)(re[j] - '0');
            if (v > 32)
                return true;
        }
    }
    return false;
}

/* The pcre prefilter expressions of the ruleset (dpi_kw.re_hs_req: 1 + index). */
typedef struct pcre_reqs {
    char **ex;
    unsigned *flags;
    size_t n, cap;
} pcre_reqs;

static int pcre_req_add(pcre_reqs *p, char *expr, unsigned flags, uint32_t *req)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? 2 * p->cap : 256;
        char **ne = realloc(p->ex, nc * sizeof(*ne));
        if (ne)
            p->ex = ne;
        unsigned *nf = ne ? realloc(p->flags, nc * sizeof(*nf)) : NULL;
        if (!nf)
            return GH_E_NOMEM;
        p->flags = nf;
        p->cap = nc;
    }
    p->ex[p->n] = expr;
    p->flags[p->n++] = flags;
    *req = (uint32_t)p->n;
    return 0;
}

static void pcre_reqs_free(pcre_reqs *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->ex[i]);
    free(p->ex);
    free(p->flags);
}

typedef struct rule_ctx {
    const gh_rule *r;
    gh_rule_error **errs;
    size_t *nerrs;
    bool error;
    const char *unsupported; /* first unsupported feature found here */
    char uns_buf[64];
    bool oom;
    bool pcre_hs;            /* give pcre a Hyperscan prefilter when it compiles */
    struct pcre_reqs *pre;   /* the prefilter expressions to compile */
    gh_var_names *names;     /* the ruleset's flowbits, flowint and xbits names */
    uint8_t cur_buf;         /* the sticky buffer payload keywords go to (DPI_BUF_B64 after
                                base64_data) */
    dpi_sig *sg;             /* the signature being built (variable lookups) */
    gh_strpool *strs;        /* gh_dpi.strs */
    gh_arena *mem;           /* the signature's arrays once built (gh_dpi.mem) */
    dpi_kw **kwbuf;          /* the keywords while they are built: the thread's, reused */
    size_t *kwcap;
    /* per buffer: transforms and length conditions, attached to its segment;
     * xf and len come last and are read only below nxf and nlen, so a rule
     * clears the context up to them (rule_ctx_start), not their 13 KB */
    uint8_t nxf[GH_BUF_N];
    uint8_t nlen[GH_BUF_N];
    gh_xform xf[GH_BUF_N][SEG_XF_MAX];
    gh_uint_match len[GH_BUF_N][2];
} rule_ctx;

/* A context for compiling rule @p r: cleared but for the per-buffer arrays. */
static void rule_ctx_start(rule_ctx *c, const gh_rule *r)
{
    memset(c, 0, offsetof(rule_ctx, xf));
    c->r = r;
}

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

static dpi_kw *new_kw(rule_ctx *c, dpi_sig *sg, uint8_t type, gh_rule_loc loc)
{
    if (sg->nkw == *c->kwcap) {
        size_t nc = *c->kwcap ? *c->kwcap * 2 : 16;
        dpi_kw *nk = realloc(*c->kwbuf, nc * sizeof(*nk));
        if (!nk)
            return NULL;
        *c->kwbuf = nk;
        *c->kwcap = nc;
    }
    sg->kw = *c->kwbuf;
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
        /* HTTP buffers (Suricata's detect-pcre.c) */
        case 'U': k->buf = GH_BUF_HTTP_URI; break;
        case 'I': k->buf = GH_BUF_HTTP_URI_RAW; break;
        case 'P': k->buf = GH_BUF_HTTP_REQUEST_BODY; break;
        case 'Q': k->buf = GH_BUF_FILE_DATA; break;
        case 'H': k->buf = GH_BUF_HTTP_HEADER; break;
        case 'D': k->buf = GH_BUF_HTTP_HEADER_RAW; break;
        case 'M': k->buf = GH_BUF_HTTP_METHOD; break;
        case 'C': k->buf = GH_BUF_HTTP_COOKIE; break;
        case 'S': k->buf = GH_BUF_HTTP_STAT_CODE; break;
        case 'Y': k->buf = GH_BUF_HTTP_STAT_MSG; break;
        case 'V': k->buf = GH_BUF_HTTP_USER_AGENT; break;
        case 'W': k->buf = GH_BUF_HTTP_HOST; break;
        case 'Z': k->buf = GH_BUF_HTTP_HOST_RAW; break;
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
    k->re_jit = calloc(1, sizeof(*k->re_jit)); /* NULL: interpreted only */
    if (k->re_jit)
        atomic_flag_clear(&k->re_jit->busy);
    /* Hyperscan where it can: the expression in prefilter mode (it may match
     * more, never less) rejects most subjects before PCRE2 runs; flags that
     * only narrow a match (A, E, G) are left to PCRE2; x has no Hyperscan
     * flag, and constructs Hyperscan rejects (back-references, most
     * lookarounds, an expression matching the empty string) stay PCRE2's */
    if (c->pcre_hs && !(opts & PCRE2_EXTENDED) && !large_repeat(re, (size_t)(slash - re))) {
        unsigned hf = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH |
                      (opts & PCRE2_CASELESS ? HS_FLAG_CASELESS : 0) |
                      (opts & PCRE2_DOTALL ? HS_FLAG_DOTALL : 0) |
                      (opts & PCRE2_MULTILINE ? HS_FLAG_MULTILINE : 0);
        size_t rl = (size_t)(slash - re);
        char *expr = malloc(rl + 1);
        if (!expr) {
            c->oom = true;
            return;
        }
        memcpy(expr, re, rl);
        expr[rl] = '\0';
        /* compiled with the other databases (rules/hs_batch.c) once every rule is in */
        if (pcre_req_add(c->pre, expr, hf, &k->re_hs_req) != 0) {
            free(expr);
            c->oom = true;
        }
    }
}

/* The slot of byte_extract/byte_math variable @p name for a keyword of
 * buffer @p buf, as Suricata's DetectByteRetrieveSMVar (byte_extract names
 * first, then byte_math results). False after an error or when the
 * variable lives in another buffer (unsupported: Suricata reads whatever
 * its slot last held there). */
static bool var_slot(rule_ctx *c, gh_rule_loc loc, const char *kw, const char *name,
                     uint8_t buf, uint32_t *slot)
{
    const dpi_sig *sg = c->sg;
    const dpi_kw *def = NULL;
    for (int pass = 0; pass < 2 && !def; pass++) {
        uint8_t t = pass ? KW_BYTE_MATH : KW_BYTE_EXTRACT;
        for (size_t i = 0; i < sg->nkw && !def; i++)
            if (sg->kw[i].type == t && sg->kw[i].bk->name && !strcmp(sg->kw[i].bk->name, name))
                def = &sg->kw[i];
    }
    if (!def) {
        rule_error(c, loc, "%s: unknown byte_extract/byte_math variable '%s'", kw, name);
        return false;
    }
    if (def->buf != buf) {
        rule_unsupported(c, "byte_extract variable/other buffer");
        return false;
    }
    *slot = def->bk->slot;
    return true;
}

/* Numeric content modifier, or a byte_extract/byte_math variable name:
 * 1 a number, 2 a variable (its slot in @p out), 0 an error. */
static int modifier_num(rule_ctx *c, const gh_rule_option *o, uint8_t buf, long long lo,
                        long long hi, long long *out)
{
    const char *v = o->value.text ? o->value.text : "";
    if (parse_int(v, lo, hi, out))
        return 1;
    const char *s = skip_ws(v);
    uint32_t slot;
    if (isalpha((unsigned char)*s)) {
        char name[BYTE_NAME_MAX];
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(s, " \t"), s);
        if (!var_slot(c, o->value.loc, o->name.text, name, buf, &slot))
            return 0;
        *out = slot;
        return 2;
    }
    rule_error(c, o->value.text ? o->value.loc : o->name.loc, "bad %s value '%s'",
               o->name.text, v);
    return 0;
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
    uint32_t slot;
    if (isalpha((unsigned char)*t)) {
        size_t l = strcspn(t, " \t");
        t[l] = '\0';
        if (!var_slot(c, o->value.loc, "isdataat", t, k->buf, &slot))
            return;
        k->vars |= KV_LEN;
        n = slot;
    } else if (!parse_int(t, 0, 0xffffffffll, &n)) {
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
static void content_modifier(rule_ctx *c, const gh_rule_option *o, gh_kw_id id, dpi_kw *k)
{
    long long v;
    int r;
    if (id == GH_KWID_NOCASE) {
        k->nocase = true;
        for (uint32_t i = 0; i < k->len; i++)
            k->pat[i] = (uint8_t)lc(k->pat[i]);
    } else if (id == GH_KWID_RAWBYTES) {
        /* we never inspect normalized data: a no-op */
    } else if (id == GH_KWID_OFFSET) {
        if ((r = modifier_num(c, o, k->buf, 0, 0xffffffffll, &v))) {
            k->has_offset = true;
            k->offset = (uint32_t)v;
            k->vars |= r == 2 ? KV_OFFSET : 0;
        }
    } else if (id == GH_KWID_DEPTH) {
        if ((r = modifier_num(c, o, k->buf, 1, 0xffffffffll, &v))) {
            k->has_depth = true;
            k->depth = (uint32_t)v;
            k->vars |= r == 2 ? KV_DEPTH : 0;
        }
    } else if (id == GH_KWID_DISTANCE) {
        if ((r = modifier_num(c, o, k->buf, -0x7fffffffll, 0x7fffffffll, &v))) {
            k->has_distance = true;
            k->distance = (int32_t)v;
            k->vars |= r == 2 ? KV_DISTANCE : 0;
        }
    } else if (id == GH_KWID_WITHIN) {
        if ((r = modifier_num(c, o, k->buf, 1, 0x7fffffffll, &v))) {
            k->has_within = true;
            k->within = (uint32_t)v;
            k->vars |= r == 2 ? KV_WITHIN : 0;
        }
    } else if (id == GH_KWID_STARTSWITH) {
        k->startswith = true;
    } else if (id == GH_KWID_ENDSWITH) {
        k->endswith = true;
    } else if (id == GH_KWID_FAST_PATTERN) {
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
    if (k->has_depth && !(k->vars & (KV_DEPTH | KV_OFFSET))) { /* variables: at run time */
        if (k->depth < k->len && !k->startswith) {
            rule_error(c, k->loc, "content: depth %u is smaller than the content length %u",
                       k->depth, k->len);
            return;
        }
        k->depth += k->offset; /* depth counts from offset */
    }
    if (k->has_within && !(k->vars & KV_WITHIN) && k->within < k->len) {
        rule_error(c, k->loc, "content: within %u is smaller than the content length %u",
                   k->within, k->len);
    }
}

/* A transform of the current sticky buffer (Suricata: transforms follow
 * the sticky buffer keyword they apply to). */
static void compile_transform(rule_ctx *c, const gh_rule_option *o, const char *nm)
{
    uint8_t b = c->cur_buf;
    if (b == GH_BUF_PAYLOAD) {
        rule_error(c, o->name.loc, "transform '%s' needs a sticky buffer before it", nm);
        return;
    }
    if (c->nxf[b] == SEG_XF_MAX) {
        rule_error(c, o->name.loc, "more than %d transforms on %s", SEG_XF_MAX,
                   gh_buffer_get_info(b)->name);
        return;
    }
    char msg[160];
    gh_xform *x = &c->xf[b][c->nxf[b]];
    if (gh_xform_parse(nm, o->value.text, x, msg, sizeof(msg)) != 0) {
        rule_error(c, o->value.text ? o->value.loc : o->name.loc, "%s: %s", nm, msg);
        return;
    }
    c->nxf[b]++;
}

/* bsize (the current sticky buffer's length) and urilen (http.uri's, or
 * http.uri.raw's with ",raw"). */
static void compile_length(rule_ctx *c, const gh_rule_option *o, const char *nm)
{
    uint8_t b = c->cur_buf;
    char v[96];
    snprintf(v, sizeof(v), "%s", o->value.text ? o->value.text : "");
    if (!strcasecmp(nm, "urilen")) {
        b = GH_BUF_HTTP_URI;
        char *comma = strchr(v, ',');
        if (comma) {
            const char *mode = skip_ws(comma + 1);
            if (!strncasecmp(mode, "raw", 3))
                b = GH_BUF_HTTP_URI_RAW;
            else if (strncasecmp(mode, "norm", 4) != 0) {
                rule_error(c, o->value.loc, "urilen: expected ,raw or ,norm after the length");
                return;
            }
            *comma = '\0';
        }
    } else if (b == GH_BUF_PAYLOAD) {
        rule_error(c, o->name.loc, "bsize needs a sticky buffer before it");
        return;
    }
    if (c->nlen[b] == 2) {
        rule_error(c, o->name.loc, "%s: at most two length conditions per buffer", nm);
        return;
    }
    char msg[128];
    if (gh_uint_match_parse(v, UINT64_MAX, &c->len[b][c->nlen[b]], msg, sizeof(msg)) != 0) {
        rule_error(c, o->value.loc, "%s: %s", nm, msg);
        return;
    }
    c->nlen[b]++;
}

/* app-layer-protocol:[!]NAME: only protocols the engine detects can be
 * decided; a rule on another one is skipped, never guessed. */
static void compile_alproto(rule_ctx *c, const gh_rule_option *o, dpi_sig *sg)
{
    const char *v = skip_ws(o->value.text ? o->value.text : "");
    bool neg = *v == '!';
    if (neg)
        v = skip_ws(v + 1);
    char name[32];
    size_t n = 0;
    while (v[n] && v[n] != ',' && !isspace((unsigned char)v[n]) && n + 1 < sizeof(name)) {
        name[n] = (char)tolower((unsigned char)v[n]);
        n++;
    }
    name[n] = '\0';
    if (gh_app_proto_of(name)) {
        sg->alproto_val = gh_app_proto_of(name);
    } else if (!strcmp(name, "failed")) {
        sg->alproto_val = GH_ALPROTO_FAILED;
    } else {
        char tag[56];
        snprintf(tag, sizeof(tag), "app-layer-protocol:%s", name);
        rule_unsupported(c, tag);
        return;
    }
    sg->alproto_kw = true;
    sg->alproto_neg = neg;
}

/* ssl_version's names, in Suricata's order (the bit of each in cond.flags). */
static const struct {
    const char *name;
    uint16_t ver;
} ssl_versions[] = {{"sslv2", 0x0002},  {"sslv3", 0x0300},  {"tls1.0", 0x0301},
                    {"tls1.1", 0x0302}, {"tls1.2", 0x0303}, {"tls1.3", 0x0304}};

/* ssl_version:[!]v1,[!]v2...: Suricata matches a version listed without
 * '!' only (a negated entry never matches: its detect-ssl-version.c XORs
 * the entry's own flag), and refuses mixed forms. */
static bool parse_ssl_version(const char *v, dpi_fcond *fc, char *msg, size_t cap)
{
    int forms = 0;
    fc->kind = FC_SSLVER;
    while (*(v = skip_ws(v))) {
        bool neg = *v == '!';
        v += neg;
        size_t n = 0;
        while (v[n] && !isspace((unsigned char)v[n]) && v[n] != ',')
            n++;
        size_t i = 0;
        while (i < sizeof(ssl_versions) / sizeof(ssl_versions[0]) &&
               (strlen(ssl_versions[i].name) != n || strncasecmp(ssl_versions[i].name, v, n)))
            i++;
        if (i == sizeof(ssl_versions) / sizeof(ssl_versions[0])) {
            snprintf(msg, cap, "unknown version '%.*s'", (int)n, v);
            return false;
        }
        if (fc->mask & (1u << i)) {
            snprintf(msg, cap, "version '%.*s' given twice", (int)n, v);
            return false;
        }
        fc->mask |= 1u << i;
        if (!neg)
            fc->flags |= 1u << i;
        forms |= 1 << neg;
        v += n;
        while (*v == ',' || isspace((unsigned char)*v))
            v++;
    }
    if (!forms || forms == 3) {
        snprintf(msg, cap, forms ? "negated and plain versions mixed" : "no version");
        return false;
    }
    return true;
}

/* ssl_state:[!]state[|,][!]state...: Suricata's flags and negation mask. */
static bool parse_ssl_state(const char *v, dpi_fcond *fc, char *msg, size_t cap)
{
    static const char *const names[] = {"client_hello", "server_hello", "client_keyx",
                                        "server_keyx", "unknown"};
    fc->kind = FC_SSLSTATE;
    for (bool first = true; *(v = skip_ws(v)); first = false) {
        if (!first) {
            if (*v != '|' && *v != ',') {
                snprintf(msg, cap, "expected '|' or ',' before '%s'", v);
                return false;
            }
            v = skip_ws(v + 1);
        }
        bool neg = *v == '!';
        v += neg;
        size_t n = 0;
        while (isalnum((unsigned char)v[n]) || v[n] == '_')
            n++;
        size_t i = 0;
        while (i < 5 && (strlen(names[i]) != n || strncmp(names[i], v, n)))
            i++;
        if (i == 5) {
            snprintf(msg, cap, "unknown state '%.*s'", (int)(n ? n : 1), v);
            return false;
        }
        /* GH_SSL_STATE_* are Suricata's bits in the same order */
        fc->flags |= 1u << i;
        if (neg)
            fc->mask |= 1u << i;
        v += n;
    }
    if (!fc->flags) {
        snprintf(msg, cap, "no state");
        return false;
    }
    return true;
}

/* tls.version:1.0|1.1|1.2|1.3|0xNNNN (the hex form compares the version as
 * sent, TLS 1.3 drafts included). */
static bool parse_tls_version(const char *v, dpi_fcond *fc, char *msg, size_t cap)
{
    static const char *const names[] = {"1.0", "1.1", "1.2", "1.3"};
    char t[32];
    snprintf(t, sizeof(t), "%s", skip_ws(v));
    size_t n = strlen(t);
    while (n && isspace((unsigned char)t[n - 1]))
        t[--n] = '\0';
    if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
        memmove(t, t + 1, n - 2);
        t[n - 2] = '\0';
    }
    fc->kind = FC_TLSVER;
    for (unsigned i = 0; i < 4; i++)
        if (!strncmp(t, names[i], 3)) {
            fc->ver = 0x0301 + i;
            return true;
        }
    char *end;
    errno = 0;
    unsigned long x = strtoul(t, &end, 16);
    if (!strncasecmp(t, "0x", 2) && strlen(t) == 6 && !*end && !errno && x <= 0xffff) {
        fc->ver = (uint32_t)x;
        fc->raw = true;
        return true;
    }
    snprintf(msg, cap, "expected 1.0, 1.1, 1.2, 1.3 or 0xNNNN, got '%s'", t);
    return false;
}

/* A keyword comparing transaction field @p f: its condition. */
static void compile_field(rule_ctx *c, const gh_rule_option *o, const char *nm, gh_field_id f,
                          dpi_sig *sg)
{
    dpi_fcond fc = {.field = (uint8_t)f};
    const char *v = o->value.text ? o->value.text : "";
    char msg[160] = "";
    bool ok;
    if (f == GH_FIELD_FTP_PORT_IP) { /* ftpbounce: no value (the keyword table) */
        fc.kind = FC_BOUNCE;
        ok = true;
    } else if (f == GH_FIELD_SSL_VERSION) {
        ok = parse_ssl_version(v, &fc, msg, sizeof(msg));
    } else if (f == GH_FIELD_SSL_STATE) {
        ok = parse_ssl_state(v, &fc, msg, sizeof(msg));
    } else if (f == GH_FIELD_TLS_VERSION) {
        ok = parse_tls_version(v, &fc, msg, sizeof(msg));
    } else if (f == GH_FIELD_DNS_OPCODE) { /* [!]N, 0..255 as Suricata 7's u8 */
        char t[64];
        const char *p = skip_ws(v);
        bool neg = *p == '!';
        snprintf(t, sizeof(t), "%s", skip_ws(p + neg));
        fc.kind = FC_UINT;
        ok = gh_uint_match_parse(t, 255, &fc.um, msg, sizeof(msg)) == 0 &&
             fc.um.mode == GH_UINT_EQ;
        if (ok && neg)
            fc.um.mode = GH_UINT_NE;
        else if (!ok && !msg[0])
            snprintf(msg, sizeof(msg), "expected [!]N");
    } else { /* dns.rrtype: Suricata 8's u16 comparison (N, >N, N-M, ...) */
        fc.kind = FC_UINT;
        ok = gh_uint_match_parse(v, 65535, &fc.um, msg, sizeof(msg)) == 0;
    }
    if (!ok) {
        rule_error(c, o->value.text ? o->value.loc : o->name.loc, "%s: %s", nm, msg);
        return;
    }
    dpi_fcond *n = realloc(sg->fconds, (sg->nfcond + 1) * sizeof(*n));
    if (!n) {
        c->oom = true;
        return;
    }
    sg->fconds = n;
    sg->fconds[sg->nfcond++] = fc;
}

/* target:src_ip|dest_ip (Suricata's "^\\s*(src_ip|dest_ip)\\s*$"): which end
 * of the packet the alert names as the target (EVE "source" and "target"). */
static void compile_target(rule_ctx *c, const gh_rule_option *o, dpi_sig *sg)
{
    const char *v = o->value.text ? o->value.text : "";
    while (isspace((unsigned char)*v))
        v++;
    size_t n = strlen(v);
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    gh_target t = n == 6 && !strncmp(v, "src_ip", 6)    ? GH_TARGET_SRC
                  : n == 7 && !strncmp(v, "dest_ip", 7) ? GH_TARGET_DEST
                                                        : GH_TARGET_NONE;
    if (t == GH_TARGET_NONE)
        rule_error(c, o->value.text ? o->value.loc : o->name.loc,
                   "target: only 'src_ip' and 'dest_ip' are supported");
    else if (sg->info.target && sg->info.target != t)
        rule_error(c, o->value.loc, "target: conflicting values");
    else
        sg->info.target = t;
}

static void kw_free(dpi_kw *k)
{
    free(k->pat);
    if (k->re_jit) {
        pcre2_code *jit = atomic_load(&k->re_jit->code);
        if (jit != k->re)
            pcre2_code_free(jit);
        free(k->re_jit);
    }
    pcre2_code_free(k->re);
    if (k->bk)
        free(k->bk->name);
    free(k->bk);
}

static void sig_clear(dpi_sig *sg)
{
    size_t nk = sg->nkw_all > sg->nkw ? sg->nkw_all : sg->nkw; /* before/after segments */
    for (size_t i = 0; i < nk; i++)
        kw_free(&sg->kw[i]);
    for (size_t i = 0; i < sg->nb64; i++)
        kw_free(&sg->b64kw[i]);
    free(sg->b64kw);
    for (size_t i = 0; i < sg->nseg; i++)
        for (size_t x = 0; x < sg->segs[i].nxf; x++)
            gh_xform_free(&sg->segs[i].xf[x]);
    free(sg->fconds);
    for (size_t i = 0; i < sg->nvars; i++)
        free(sg->vars[i].ids);
    free(sg->vars);
    free(sg->ssize);
    free(sg->sup_idx);
    gh_addr_set_free(&sg->src);
    gh_addr_set_free(&sg->dst);
    gh_port_set_free(&sg->sp);
    gh_port_set_free(&sg->dp);
    /* kw, segs and the message are in gh_dpi.mem (or the thread's buffer),
     * the other strings in gh_dpi.strs */
    memset(sg, 0, sizeof(*sg));
}

/* Group the keywords by buffer (stable: rule order within a buffer, the
 * payload's first) into segments, with each buffer's transforms and length
 * conditions. A signature reading any application buffer is inspected on
 * transactions. */
static bool build_segments(rule_ctx *c, dpi_sig *sg)
{
    size_t n = sg->nkw;
    for (size_t i = 1; i < n; i++) { /* insertion sort: few keywords, stable */
        dpi_kw k = sg->kw[i];
        size_t j = i;
        while (j > 0 && sg->kw[j - 1].buf > k.buf) {
            sg->kw[j] = sg->kw[j - 1];
            j--;
        }
        sg->kw[j] = k;
    }
    sg->nkw_all = n;
    bool used[GH_BUF_N] = {false};
    size_t nseg = 0;
    for (size_t i = 0; i < n; i++)
        used[sg->kw[i].buf] = true;
    for (unsigned b = 0; b < GH_BUF_N; b++) {
        used[b] = used[b] || c->nxf[b] || c->nlen[b];
        nseg += used[b];
    }
    if (!nseg)
        return true;
    if (!(sg->segs = gh_arena_alloc(c->mem, nseg * sizeof(*sg->segs)))) {
        c->oom = true;
        return false;
    }
    size_t k = 0;
    for (unsigned b = 0; b < GH_BUF_N; b++) {
        if (!used[b])
            continue;
        dpi_seg *g = &sg->segs[sg->nseg++];
        g->buf = (uint8_t)b;
        g->first = (uint32_t)k;
        while (k < n && sg->kw[k].buf == b)
            k++;
        g->n = (uint32_t)k - g->first;
        memcpy(g->xf, c->xf[b], c->nxf[b] * sizeof(gh_xform));
        g->nxf = c->nxf[b];
        c->nxf[b] = 0; /* owned by the segment now */
        memcpy(g->len, c->len[b], c->nlen[b] * sizeof(g->len[0]));
        g->nlen = c->nlen[b];
        for (uint32_t i = g->first; i < g->first + g->n; i++)
            g->has_ext |= !sg->kw[i].negated;
        if (b != GH_BUF_PAYLOAD)
            sg->app = true;
    }
    sg->nkw = sg->segs[0].buf == GH_BUF_PAYLOAD ? sg->segs[0].n : 0;
    return true;
}

/* What Suricata checks and rewrites in the contents of some untransformed
 * buffers when a rule loads (their setup and validate callbacks): hashes
 * and fingerprints are matched lowercase (serials uppercase) whatever the
 * rule wrote; a content that can never match is an error. As Suricata,
 * ja3(s).hash and tls.cert_serial judge the buffer's first content only. */
static bool check_buffer_contents(rule_ctx *c, dpi_sig *sg)
{
    for (size_t i = 0; i < sg->nseg; i++) {
        const dpi_seg *g = &sg->segs[i];
        bool first = true;
        for (uint32_t k = g->first; k < g->first + g->n && !g->nxf; k++) {
            dpi_kw *kw = &sg->kw[k];
            if (kw->type != KW_CONTENT)
                continue;
            const char *err = NULL;
            uint32_t n = kw->len;
            const uint8_t *p = kw->pat;
            switch (g->buf) {
            case GH_BUF_HTTP_HOST:
                if (kw->nocase)
                    err = "http.host is lowercase: 'nocase' is redundant";
                for (uint32_t u = 0; u < n && !err; u++)
                    if (isupper(p[u]))
                        err = "http.host is lowercase: a pattern with uppercase never matches";
                break;
            case GH_BUF_HTTP_METHOD:
                if (n && (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' || p[n - 1] == '\t'))
                    err = "http.method pattern with a leading or trailing space or tab";
                break;
            case GH_BUF_JA3_HASH:
            case GH_BUF_JA3S_HASH:
                for (uint32_t u = 0; u < n; u++)
                    kw->pat[u] = (uint8_t)tolower(kw->pat[u]);
                if (first && n != 32)
                    err = "a JA3 hash is 32 characters long: the pattern never matches";
                break;
            case GH_BUF_TLS_CERT_FINGERPRINT:
                for (uint32_t u = 0; u < n; u++)
                    kw->pat[u] = (uint8_t)tolower(kw->pat[u]);
                if (n != 59 || !memchr(p, ':', n))
                    err = "a certificate fingerprint is 59 characters with ':' delimiters: "
                          "the pattern never matches";
                break;
            case GH_BUF_TLS_CERT_SERIAL:
                for (uint32_t u = 0; u < n; u++)
                    kw->pat[u] = (uint8_t)toupper(kw->pat[u]);
                if (first && n > 2 && !memchr(p, ':', n))
                    err = "a certificate serial has ':' delimiters: the pattern never matches";
                break;
            default:
                break;
            }
            first = false;
            if (err) {
                rule_error(c, kw->loc, "%s", err);
                return false;
            }
        }
    }
    return true;
}

/* The directions a transaction signature is inspected in (those its
 * buffers and its flow keyword allow; both for two-way buffers), the stage
 * of each at which all its buffers are complete, and whether its fast
 * pattern can prefilter transactions (an untransformed app buffer). */
static bool app_directions(rule_ctx *c, dpi_sig *sg)
{
    /* the directions every buffer and field allows (Suricata refuses a
     * request buffer with a response buffer, and a buffer against the
     * flow's direction), and the protocol they belong to */
    uint8_t need = GH_BUFDIR_TS | GH_BUFDIR_TC;
    uint8_t stage = GH_STAGE_LINE;
    for (size_t i = 0; i < sg->nseg + sg->nfcond; i++) {
        uint8_t dirs, st, proto;
        const char *name;
        if (i < sg->nseg) {
            if (sg->segs[i].buf == GH_BUF_PAYLOAD)
                continue;
            const gh_buffer_info *bi = gh_buffer_get_info(sg->segs[i].buf);
            dirs = bi->dirs, st = bi->stage, proto = bi->proto, name = bi->name;
        } else {
            const gh_field_info *fi = gh_field_get_info(sg->fconds[i - sg->nseg].field);
            dirs = fi->dirs, st = fi->stage, proto = fi->proto, name = fi->name;
        }
        need &= dirs;
        if (st > stage)
            stage = st;
        if (proto && sg->alproto && proto != sg->alproto) {
            rule_error(c, c->r->loc, "'%s' is a keyword of %s, the signature's protocol is %s",
                       name, gh_alproto_name(proto), gh_alproto_name(sg->alproto));
            return false;
        }
        if (proto)
            sg->alproto = proto;
    }
    if (sg->ev_proto) {
        /* events are inspected in both directions, and are known once the
         * parser passed what raises them: checked again as the body grows
         * and when the direction completes */
        if (sg->alproto && sg->ev_proto != sg->alproto) {
            rule_error(c, c->r->loc, "'app-layer-event' names %s, the signature's protocol is %s",
                       gh_alproto_name(sg->ev_proto), gh_alproto_name(sg->alproto));
            return false;
        }
        sg->alproto = sg->ev_proto;
        if (stage < GH_STAGE_BODY)
            stage = GH_STAGE_BODY;
    }
    if (sg->dir == DIR_TO_SERVER || sg->dir == DIR_TO_CLIENT)
        need &= sg->dir == DIR_TO_SERVER ? GH_BUFDIR_TS : GH_BUFDIR_TC;
    if (!need) {
        rule_error(c, c->r->loc, "signature mixes keywords with conflicting directions");
        return false;
    }
    sg->app_dirs = need;
    for (int d = 0; d < 2; d++)
        if (need & (1u << d))
            sg->ready[d] = stage;
    if (sg->fp_kw >= 0) {
        const dpi_kw *k = &sg->kw[sg->fp_kw];
        for (size_t i = 0; i < sg->nseg; i++)
            if (sg->segs[i].buf == k->buf && k->buf != GH_BUF_PAYLOAD && !sg->segs[i].nxf)
                sg->tx_fp_buf = k->buf;
    }
    return true;
}

/* flowbits, flowint, xbits: a test or a change (ids from the ruleset's
 * names), or noalert. */
static void compile_var(rule_ctx *c, const gh_rule_option *o, const char *kw, dpi_sig *sg)
{
    dpi_var v;
    char m[160];
    int rc = gh_var_compile(kw, o->value.text, c->names, &v, m, sizeof(m));
    if (rc < 0) {
        rule_error(c, o->value.text ? o->value.loc : o->name.loc, "%s: %s", kw, m);
        return;
    }
    if (rc == 0) {
        sg->info.noalert = true;
        return;
    }
    dpi_var *nv = realloc(sg->vars, (sg->nvars + 1u) * sizeof(*nv));
    if (!nv) {
        free(v.ids);
        c->oom = true;
        return;
    }
    sg->vars = nv;
    sg->vars[sg->nvars++] = v;
    uint8_t *u = &sg->use[v.kind];
    bool test = gh_var_is_test(&v);
    bool set = *u == VAR_USE_SET || *u == VAR_USE_SET_READ || !test;
    bool read = *u == VAR_USE_READ || *u == VAR_USE_SET_READ || test;
    *u = set && read ? VAR_USE_SET_READ : set ? VAR_USE_SET : VAR_USE_READ;
}

/* byte_test, byte_jump, byte_extract, byte_math: Suricata's Setup
 * functions. The buffer is the sticky one; without one, a relative keyword
 * joins the buffer of the keyword before it (DetectGetLastSMFromLists).
 * Variables it reads resolve to slots; the one it writes takes the next
 * slot of its kind in its buffer (Suricata's local_id). */
static void compile_byte(rule_ctx *c, const gh_rule_option *o, dpi_sig *sg, dpi_kw *k)
{
    const char *nm = o->name.text;
    if (!(k->bk = calloc(1, sizeof(*k->bk)))) {
        c->oom = true;
        return;
    }
    byte_parse p;
    gh_byte_parse(k->type, o->value.text, k->bk, &p);
    if (p.status < 0) {
        gh_rule_loc l = o->value.text ? o->value.loc : o->name.loc;
        l.col += (uint32_t)p.at;
        rule_error(c, l, "%s", p.msg);
        return;
    }
    if (p.status > 0) {
        rule_unsupported(c, p.tag);
        return;
    }
    k->relative = p.relative;
    bool prior_pm = false; /* a content or pcre before it */
    for (size_t i = 0; i + 1 < sg->nkw; i++)
        prior_pm |= sg->kw[i].type == KW_CONTENT || sg->kw[i].type == KW_PCRE;
    if (c->cur_buf != GH_BUF_PAYLOAD) {
        k->buf = c->cur_buf;
        if (k->type == KW_BYTE_MATH && k->relative && !prior_pm) {
            rule_error(c, o->name.loc, "byte_math: relative without a previous content or pcre");
            return;
        }
    } else if (k->relative && sg->nkw > 1) {
        k->buf = sg->kw[sg->nkw - 2].buf;
    }
    static const unsigned flag[3] = {KV_NBYTES, KV_OFFSET, KV_VALUE};
    for (int f = 0; f < 3; f++) {
        uint32_t slot;
        if (!p.var[f][0])
            continue;
        if (!var_slot(c, o->value.loc, nm, p.var[f], k->buf, &slot))
            return;
        k->bk->vars |= (uint8_t)flag[f];
        if (f == BV_NBYTES)
            k->bk->nbytes = (int32_t)slot;
        else if (f == BV_OFFSET)
            k->bk->offset = (int32_t)slot;
        else
            k->bk->value = slot;
    }
    if (k->type == KW_BYTE_EXTRACT || k->type == KW_BYTE_MATH) {
        uint32_t n = 0;
        for (size_t i = 0; i + 1 < sg->nkw; i++)
            n += sg->kw[i].type == k->type && sg->kw[i].buf == k->buf;
        if (n >= DPI_VARS_MAX) {
            rule_unsupported(c, "byte_extract/more than 256 variables");
            return;
        }
        k->bk->slot = (uint8_t)n;
    }
}

/* base64_decode: Suricata files it in the current sticky buffer, else in
 * the buffer of the last content, pcre, byte_* or isdataat, else the
 * payload (DetectBase64DecodeSetup). */
static void compile_base64(rule_ctx *c, const gh_rule_option *o, dpi_sig *sg, dpi_kw *k)
{
    char msg[128];
    size_t at;
    if (!gh_b64_parse(o->value.text, &k->len, &k->offset, &k->relative, &at, msg,
                      sizeof(msg))) {
        gh_rule_loc l = o->value.text ? o->value.loc : o->name.loc;
        l.col += (uint32_t)at;
        rule_error(c, l, "%s", msg);
        return;
    }
    k->buf = c->cur_buf;
    if (k->buf == GH_BUF_PAYLOAD)
        for (size_t j = sg->nkw - 1; j-- > 0;)
            if (sg->kw[j].type != KW_BASE64) {
                k->buf = sg->kw[j].buf;
                break;
            }
}

/* What may follow base64_data, whose list holds the payload keywords after
 * it (Suricata's DETECT_SM_LIST_BASE64_DATA): pkt_data goes back to the
 * payload; another buffer is an error, as a content modifier; transforms,
 * length conditions, uricontent and a second base64_decode are not
 * implemented there. False when the rule cannot go on. */
static bool b64_follow(rule_ctx *c, const gh_rule_option *o, gh_kw_role role, gh_buffer_id kb)
{
    const char *nm = o->name.text;
    if (role == GH_KWR_STICKY && kb != GH_BUF_PAYLOAD) {
        rule_error(c, o->name.loc, "Rule buffer cannot be reset after base64_data.");
        return false;
    }
    if (role == GH_KWR_MODIFIER) {
        rule_error(c, o->name.loc,
                   "\"%s\" keyword seen with a sticky buffer still set.  Reset sticky buffer "
                   "with pkt_data before using the modifier.", nm);
        return false;
    }
    if (role == GH_KWR_CONTENT || role == GH_KWR_TRANSFORM || !strcasecmp(nm, "bsize") ||
        !strcasecmp(nm, "urilen") || !strcasecmp(nm, "base64_decode")) {
        char tag[64];
        snprintf(tag, sizeof(tag), "base64_data/%s", nm);
        rule_unsupported(c, tag);
        return false;
    }
    return true;
}

/* Move the base64_data keywords out of the buffers' chains: every
 * base64_decode of the signature inspects them on the data it decoded. */
static bool split_base64(rule_ctx *c, dpi_sig *sg)
{
    size_t n = 0, m = 0;
    for (size_t i = 0; i < sg->nkw; i++)
        n += sg->kw[i].buf == DPI_BUF_B64;
    if (!n)
        return true;
    if (!(sg->b64kw = malloc(n * sizeof(*sg->b64kw)))) {
        c->oom = true;
        return false;
    }
    for (size_t i = 0; i < sg->nkw; i++) {
        if (sg->kw[i].buf == DPI_BUF_B64)
            sg->b64kw[sg->nb64++] = sg->kw[i];
        else
            sg->kw[m++] = sg->kw[i];
    }
    sg->nkw = m;
    for (size_t i = 0; i < m; i++)
        if (sg->kw[i].type == KW_BASE64) {
            sg->kw[i].sub = sg->b64kw;
            sg->kw[i].nsub = (uint32_t)sg->nb64;
        }
    return true;
}

/* A keyword must be retried at its next occurrence when a later keyword of
 * its buffer reads its match end: a relative keyword before (or at) the
 * next keyword that sets a new match end. base64_decode reads it but, as
 * in Suricata, does not make the content before it retry. */
static void mark_retries(dpi_kw *kw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dpi_kw *k = &kw[i];
        if ((k->type != KW_CONTENT && k->type != KW_PCRE) || k->negated)
            continue;
        for (size_t j = i + 1; j < n && kw[j].buf == k->buf; j++) {
            const dpi_kw *nx = &kw[j];
            if (nx->type == KW_BASE64)
                break;
            if (nx->relative) {
                k->retry = true;
                break;
            }
            /* byte_test and isdataat leave the match end where it was */
            if (nx->type != KW_ISDATAAT && nx->type != KW_BYTE_TEST && !nx->negated)
                break;
        }
    }
}

/* A content may skip a window start at or after one from which every
 * occurrence already failed: it retries each occurrence, its window ends at
 * the buffer's end (relative, no within, fixed distance), and no keyword of
 * the signature writes a variable, so what follows an occurrence depends on
 * the occurrence alone. Never prunes a match: Suricata's answer, found with
 * fewer steps. */
static void mark_memo(dpi_kw *kw, size_t n, bool writes_vars)
{
    for (size_t i = 0; i < n; i++) {
        dpi_kw *k = &kw[i];
        k->memo = !writes_vars && k->type == KW_CONTENT && !k->negated && k->retry &&
                  k->relative && !k->has_within && !k->vars;
    }
}

static bool writes_vars(const dpi_kw *kw, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (kw[i].type == KW_BYTE_EXTRACT || kw[i].type == KW_BYTE_MATH)
            return true;
    return false;
}

/* stream_size:<side>,<op>,<n> (repeatable: all must hold). */
static void compile_stream_size(rule_ctx *c, const gh_rule_option *o, dpi_sig *sg)
{
    dpi_ssize ss;
    char m[160];
    if (gh_stream_size_parse(o->value.text, &ss, m, sizeof(m)) < 0) {
        rule_error(c, o->value.text ? o->value.loc : o->name.loc, "stream_size: %s", m);
        return;
    }
    dpi_ssize *n = sg->nssize < UINT8_MAX ? realloc(sg->ssize, (sg->nssize + 1u) * sizeof(*n))
                                          : NULL;
    if (!n) {
        c->oom = true;
        return;
    }
    sg->ssize = n;
    sg->ssize[sg->nssize++] = ss;
}

/* app-layer-event:<proto>.<event>, as Suricata 7's
 * DetectAppLayerEventSetup: the protocol must be known and have the event
 * (else the rule is refused); the signature then belongs to that protocol
 * and is inspected on its transactions. Events Suricata has that our
 * parsers never raise, other protocols' events and the packet events
 * (no '.') skip the rule: they cannot be checked here. */
static void compile_app_event(rule_ctx *c, const gh_rule_option *o, dpi_sig *sg)
{
    /* Suricata 7's protocol names (AppLayerGetProtoByName) */
    static const char *const known[] = {
        "http2", "ftp-data", "imap", "jabber", "irc", "modbus",
        "enip", "dnp3", "nfs", "ntp", "tftp", "ike", "krb5", "quic", "dhcp", "snmp", "sip",
        "rfb", "mqtt", "pgsql", "telnet", "rdp", "bittorrent-dht", "pop3", "template"};
    /* app-layer-events.c app_layer_event_pkt_table */
    static const char *const pkt_events[] = {
        "applayer_mismatch_protocol_both_directions", "applayer_wrong_direction_first_data",
        "applayer_detect_protocol_only_one_direction", "applayer_proto_detection_skipped",
        "applayer_no_tls_after_starttls", "applayer_unexpected_protocol"};
    gh_rule_loc loc = o->value.text ? o->value.loc : o->name.loc;
    const char *v = skip_ws(o->value.text ? o->value.text : "");
    char tag[64];
    snprintf(tag, sizeof(tag), "app-layer-event:%s", v);
    const char *dot = strchr(v, '.');
    if (!*v) {
        rule_error(c, loc, "app-layer-event needs <proto>.<event>");
        return;
    }
    if (!dot) {
        for (size_t i = 0; i < sizeof(pkt_events) / sizeof(pkt_events[0]); i++)
            if (!strcasecmp(v, pkt_events[i])) {
                rule_unsupported(c, tag);
                return;
            }
        rule_error(c, loc, "app-layer-event: '%s' is not a packet event", v);
        return;
    }
    if (strlen(v) > 50) {
        rule_error(c, loc, "app-layer-event: '%s' is too long (at most 50 characters)", v);
        return;
    }
    char proto[51];
    snprintf(proto, sizeof(proto), "%.*s", (int)(dot - v), v);
    const char *event = dot + 1;
    uint8_t ap = gh_app_proto_of(proto);
    if (!ap) {
        bool other = !strcmp(proto, "file");
        for (size_t i = 0; !other && i < sizeof(known) / sizeof(known[0]); i++)
            other = !strcmp(proto, known[i]);
        if (other)
            rule_unsupported(c, tag);
        else
            rule_error(c, loc, "app-layer-event: unknown protocol '%s'", proto);
        return;
    }
    /* Suricata looks the event up for TCP when the rule's protocol has TCP,
     * else for UDP, where only DNS has a parser */
    bool tcp = sg->kinds & PK_TCP;
    if (!tcp && !(sg->kinds & PK_UDP)) {
        rule_error(c, loc, "app-layer-event: protocol %s needs a tcp or udp rule", proto);
        return;
    }
    bool raised = false;
    int id = tcp || ap == GH_ALPROTO_DNS ? gh_app_event_id(ap, event, &raised) : -1;
    if (id < 0) {
        rule_error(c, loc, "app-layer-event: protocol '%s' has no event '%s'", proto, event);
        return;
    }
    if (!raised) {
        rule_unsupported(c, tag);
        return;
    }
    if (sg->ev_proto && sg->ev_proto != ap) {
        rule_error(c, loc, "app-layer-event: events of two protocols");
        return;
    }
    sg->ev_proto = ap;
    sg->ev_mask |= 1ull << id;
    sg->app = true;
}

/* Compile rule @c->r into @sg. False when the rule is skipped (error,
 * unsupported feature or memory; see @c). */
static bool compile_rule(rule_ctx *c, const gh_rule_vars *vars, dpi_sig *sg)
{
    const gh_rule *r = c->r;
    memset(sg, 0, sizeof(*sg));
    sg->fp_kw = -1;
    c->sg = sg;
    if (r->action == GH_ACTION_ACCEPT) {
        rule_error(c, r->action_tok.loc, "action 'accept' is only allowed in firewall rules");
        return false;
    }
    if ((sg->alproto = gh_app_proto_of(r->proto.text))) {
        /* DNS and DCERPC are detected over both transports; the others over TCP */
        bool udp = sg->alproto == GH_ALPROTO_DNS || sg->alproto == GH_ALPROTO_DCERPC;
        sg->kinds = udp ? PK_TCP | PK_UDP : PK_TCP;
        sg->family = FAM_V4 | FAM_V6;
    } else if (!proto_kinds(r->proto.text, &sg->kinds, &sg->family)) {
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

    int32_t cur = -1; /* the content modifiers apply to */
    for (size_t i = 0; i < r->n_options && !c->error && !c->unsupported; i++) {
        const gh_rule_option *o = &r->options[i];
        const char *nm = o->name.text;
        gh_kw_desc kd;
        gh_kw_describe(o, &kd);
        if (GH_KWID_IS_META(kd.id)) {
            if (kd.id == GH_KWID_MSG && !sg->info.msg) {
                if (!(sg->info.msg = gh_arena_unquote(c->mem, o->value.text)))
                    c->oom = true;
            } else if (kd.id == GH_KWID_CLASSTYPE && !sg->info.classtype && o->value.text) {
                if (!(sg->info.classtype = gh_strpool_get(c->strs, o->value.text)))
                    c->oom = true;
                sg->ct_line = o->value.loc.line;
                sg->ct_col = o->value.loc.col;
            } else if (kd.id == GH_KWID_PRIORITY && o->value.text) {
                long long v;
                if (parse_int(o->value.text, 1, 255, &v))
                    sg->info.priority = (uint32_t)v;
            } else if (kd.id == GH_KWID_TARGET) {
                compile_target(c, o, sg);
            }
            continue;
        }
        char emsg[256];
        if (GH_KWID_IS_HDR(kd.id)) {
            if (gh_hdr_match_add(&sg->hm, nm, o->value.text, emsg, sizeof(emsg)) < 0) {
                rule_error(c, o->value.text ? o->value.loc : o->name.loc, "%s: %s", nm, emsg);
                break;
            }
            continue;
        }
        gh_kw_role role = kd.role;
        gh_buffer_id kb = kd.buf; /* GH_BUF_PAYLOAD (0) for an unsupported keyword */
        if (c->cur_buf == DPI_BUF_B64 && !b64_follow(c, o, role, kb))
            break;
        if (kd.is_field) {
            compile_field(c, o, nm, kd.field, sg);
        } else if (role == GH_KWR_STICKY) {
            c->cur_buf = (uint8_t)kb;
        } else if (role == GH_KWR_MODIFIER) {
            /* the legacy form: the previous content moves to the buffer */
            if (cur < 0) {
                rule_error(c, o->name.loc, "'%s' needs a preceding content", nm);
                break;
            }
            dpi_kw *k = &sg->kw[cur];
            if (k->buf != GH_BUF_PAYLOAD && k->buf != kb) {
                rule_error(c, o->name.loc, "'%s': the content is already in %s", nm,
                           gh_buffer_get_info(k->buf)->name);
                break;
            }
            k->buf = (uint8_t)kb;
        } else if (role == GH_KWR_TRANSFORM) {
            compile_transform(c, o, nm);
        } else if (kd.id == GH_KWID_BSIZE || kd.id == GH_KWID_URILEN) {
            compile_length(c, o, nm);
        } else if (kd.id == GH_KWID_APP_LAYER_PROTOCOL) {
            compile_alproto(c, o, sg);
        } else if (kd.id == GH_KWID_FLOWBITS || kd.id == GH_KWID_FLOWINT ||
                   kd.id == GH_KWID_XBITS) {
            compile_var(c, o, nm, sg);
        } else if (kd.id == GH_KWID_APP_LAYER_EVENT) {
            compile_app_event(c, o, sg);
        } else if (kd.id == GH_KWID_STREAM_SIZE) {
            compile_stream_size(c, o, sg);
        } else if (kd.id == GH_KWID_NOALERT) {
            sg->info.noalert = true;
        } else if (kd.id == GH_KWID_THRESHOLD || kd.id == GH_KWID_DETECTION_FILTER) {
            /* gh_rules_check validated it and allows one per rule */
            if (!gh_threshold_parse_keyword(nm, o->value.text, &sg->th, emsg, sizeof(emsg))) {
                rule_error(c, o->value.loc, "%s", emsg);
                break;
            }
        } else if (kd.id == GH_KWID_TAG) {
            /* Suricata keeps every tag keyword; GH_TAG_PER_SIG is ours */
            if (sg->ntags == GH_TAG_PER_SIG) {
                rule_error(c, o->name.loc, "at most %d tag options per rule", GH_TAG_PER_SIG);
                break;
            }
            if (!gh_tag_parse_keyword(o->value.text, &sg->tags[sg->ntags], emsg, sizeof(emsg))) {
                rule_error(c, o->value.loc, "%s", emsg);
                break;
            }
            sg->ntags++;
        } else if (kd.id == GH_KWID_CONTENT || role == GH_KWR_CONTENT) {
            dpi_kw *k = new_kw(c, sg, KW_CONTENT, o->name.loc);
            if (!k) {
                c->oom = true;
                break;
            }
            k->buf = role == GH_KWR_CONTENT ? (uint8_t)kb : c->cur_buf;
            if (!o->value.text || !decode_content(o->value.text, &k->negated, &k->pat, &k->len)) {
                rule_error(c, o->value.text ? o->value.loc : o->name.loc, "bad content value");
                break;
            }
            cur = (int32_t)(sg->nkw - 1);
        } else if (GH_KWID_IS_CMOD(kd.id)) {
            if (cur < 0) {
                rule_error(c, o->name.loc, "'%s' needs a preceding content", nm);
                break;
            }
            content_modifier(c, o, kd.id, &sg->kw[cur]);
        } else if (kd.id == GH_KWID_PCRE) {
            dpi_kw *k = new_kw(c, sg, KW_PCRE, o->name.loc);
            if (!k) {
                c->oom = true;
                break;
            }
            k->buf = c->cur_buf;
            if (!o->value.text) {
                rule_error(c, o->name.loc, "pcre needs a value");
                break;
            }
            compile_pcre(c, o, k);
            if (c->cur_buf == DPI_BUF_B64 && k->buf != DPI_BUF_B64)
                rule_unsupported(c, "base64_data/pcre buffer flag");
        } else if (kd.id == GH_KWID_BASE64_DECODE) {
            dpi_kw *k = new_kw(c, sg, KW_BASE64, o->name.loc);
            if (!k) {
                c->oom = true;
                break;
            }
            compile_base64(c, o, sg, k);
        } else if (kd.id == GH_KWID_BASE64_DATA) {
            bool dec = false;
            for (size_t j = 0; j < sg->nkw; j++)
                dec |= sg->kw[j].type == KW_BASE64;
            if (!dec) {
                rule_error(c, o->name.loc,
                           "\"base64_data\" keyword seen without preceding base64_decode.");
                break;
            }
            c->cur_buf = DPI_BUF_B64;
        } else if (kd.id == GH_KWID_ISDATAAT) {
            dpi_kw *k = new_kw(c, sg, KW_ISDATAAT, o->name.loc);
            if (!k) {
                c->oom = true;
                break;
            }
            k->buf = c->cur_buf;
            compile_isdataat(c, o, k);
        } else if (kd.id >= GH_KWID_BYTE_TEST && kd.id <= GH_KWID_BYTE_MATH) {
            uint8_t t = kd.id == GH_KWID_BYTE_TEST      ? KW_BYTE_TEST
                        : kd.id == GH_KWID_BYTE_JUMP    ? KW_BYTE_JUMP
                        : kd.id == GH_KWID_BYTE_EXTRACT ? KW_BYTE_EXTRACT
                                                        : KW_BYTE_MATH;
            dpi_kw *k = new_kw(c, sg, t, o->name.loc);
            if (!k) {
                c->oom = true;
                break;
            }
            compile_byte(c, o, sg, k);
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
    if (c->error || !split_base64(c, sg))
        return false;
    if (!build_segments(c, sg) || !check_buffer_contents(c, sg))
        return false;
    mark_retries(sg->kw, sg->nkw_all);
    mark_retries(sg->b64kw, sg->nb64);
    bool wv = writes_vars(sg->kw, sg->nkw_all) || writes_vars(sg->b64kw, sg->nb64);
    mark_memo(sg->kw, sg->nkw_all, wv);
    mark_memo(sg->b64kw, sg->nb64, wv);

    sg->info.payload = sg->nkw_all > 0;

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
    /* where a payload signature is inspected on a TCP stream follows its
     * type alone (Suricata's): pkt on the packet, stream on the stream,
     * pkt_stream on both */
    char why[160];
    sg->info.type = gh_rule_sig_type(r, vars, why, sizeof(why));
    if (!(sg->info.type_why = gh_strpool_get(c->strs, why)))
        c->oom = true;
    sg->info.packet_scope = sg->info.type == GH_SIG_TYPE_PKT ||
                            sg->info.type == GH_SIG_TYPE_PKT_STREAM;
    sg->info.stream_scope = sg->nkw && (sg->info.type == GH_SIG_TYPE_STREAM ||
                                        sg->info.type == GH_SIG_TYPE_PKT_STREAM);
    sg->type = (uint8_t)sg->info.type;
    sg->no_stream = sg->info.no_stream;
    sg->packet_scope = sg->info.packet_scope;
    sg->stream_scope = sg->info.stream_scope;

    /* fast pattern: the one marked, else the longest non-negated content */
    for (size_t i = 0; i < sg->nkw_all; i++)
        if (sg->kw[i].type == KW_CONTENT && sg->kw[i].fast_pattern && !sg->kw[i].negated)
            sg->fp_kw = (int32_t)i;
    if (sg->fp_kw < 0) {
        uint32_t best = 0;
        for (size_t i = 0; i < sg->nkw_all; i++) {
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
        sg->fp_len = (uint32_t)sg->info.fast_pattern_len;
        sg->info.fast_pattern_nocase = k->nocase;
        size_t npos = 0;
        for (size_t i = 0; i < sg->nkw_all; i++)
            npos += !sg->kw[i].negated;
        sg->ext_is_fp = npos == 1 && !k->fp_chop;
    }

    /* direction group: only what gh_hdr_match_eval enforces */
    sg->dir = DIR_ANY;
    if ((sg->hm.present & GH_HM_FLOW) && !(sg->hm.flow & GH_FLOWKW_STATELESS)) {
        if (sg->hm.flow & GH_FLOWKW_TO_SERVER)
            sg->dir = DIR_TO_SERVER;
        else if (sg->hm.flow & GH_FLOWKW_TO_CLIENT)
            sg->dir = DIR_TO_CLIENT;
    }

    sg->app |= sg->nfcond > 0;
    if (sg->app && !app_directions(c, sg))
        return false;

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
    if (!sg->info.msg && !(sg->info.msg = gh_arena_strndup(c->mem, "", 0)))
        c->oom = true;
    if (!sg->info.classtype && !(sg->info.classtype = gh_strpool_get(c->strs, "")))
        c->oom = true;
    sg->info.category = sg->info.classtype;
    sg->info.severity = sg->info.priority ? sg->info.priority : 3;
    if (!(sg->info.proto = gh_strpool_get(c->strs, r->proto.text)) ||
        !(sg->info.file = gh_strpool_get(c->strs, r->loc.file ? r->loc.file : "")))
        c->oom = true;
    /* the keywords leave the thread's buffer for the arena, exactly sized
     * (all of ET Open: 14 MB of doubling arrays on 4 KiB pages before) */
    dpi_kw *kw = NULL;
    if (!c->oom && sg->nkw_all && (kw = gh_arena_alloc(c->mem, sg->nkw_all * sizeof(*kw))))
        memcpy(kw, sg->kw, sg->nkw_all * sizeof(*kw));
    else if (sg->nkw_all)
        c->oom = true;
    if (c->oom)
        return false;
    sg->kw = kw;
    return true;
}

/* ---- compile: databases ---------------------------------------------------- */

/* A literal as a Hyperscan expression, every byte as \xHH, written to @p s
 * (4 * @p n + 1 bytes); returns the byte after its terminator. */
static char *hs_literal(char *s, const uint8_t *b, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        s[4 * i] = '\\';
        s[4 * i + 1] = 'x';
        s[4 * i + 2] = hx[b[i] >> 4];
        s[4 * i + 3] = hx[b[i] & 15];
    }
    s[4 * n] = '\0';
    return s + 4 * n + 1;
}

static bool sig_in_class(const dpi_sig *sg, unsigned cls)
{
    return (sg->kinds & cls_kinds[cls]) != 0;
}

/* On a stream-inspected TCP packet: matched once on the packet (header-only,
 * flow:no_stream, types pkt and pkt_stream) and/or on the stream (payload
 * signatures of types stream and pkt_stream). */
static bool sig_packet_side(const dpi_sig *sg)
{
    return sg->info.no_stream || sg->nkw == 0 || sg->info.packet_scope;
}

static bool sig_stream_side(const dpi_sig *sg)
{
    return sg->info.stream_scope;
}

/* Which signatures a group holds. */
typedef struct gsel {
    unsigned cls;
    unsigned o;            /* packet orientation: 0 to_server, 1 to_client */
    const uint8_t *gmask;  /* per signature: bit g when in port group g */
    unsigned g;
    const uint8_t *acmask; /* per signature: bit ac when it can match in address class ac */
    unsigned ac;
    unsigned sel;          /* SEL_* */
    unsigned stage, buf;   /* SEL_TX: ready stage, fast pattern buffer (0: none) */
    unsigned x;            /* SEL_TX: or transformed buffer (gh_dpi.xbufs, 0: none) */
    const uint32_t *ids;   /* the signatures it picks from: those of set_members */
    size_t nids;
} gsel;

/* SEL_TX: a transaction signature of direction q->o, ready at q->stage
 * (GH_STAGE_NONE: at any stage) */
static bool tx_in_set(const dpi_sig *sg, const gsel *q)
{
    return sg->app && (sg->app_dirs >> q->o & 1) &&
           (q->stage == GH_STAGE_NONE || sg->ready[q->o] == q->stage);
}

static bool sig_in_set(const dpi_sig *sg, size_t i, const gsel *q)
{
    if (!((q->acmask[i] >> q->ac) & 1))
        return false;
    if (q->sel == SEL_TX)
        return tx_in_set(sg, q);
    if (sg->app || !sig_in_class(sg, q->cls))
        return false;
    if (sg->dir != DIR_ANY && sg->dir != (q->o ? DIR_TO_CLIENT : DIR_TO_SERVER))
        return false;
    return (q->gmask[i] >> q->g) & 1;
}

/* The signatures sig_in_set can take for @p q whatever its port group: into
 * @p ids (d->n entries); returns how many. */
static size_t set_members(const gh_dpi *d, const gsel *q, uint32_t *ids)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        const dpi_sig *sg = &d->sigs[i];
        bool in;
        if (q->sel == SEL_TX)
            in = tx_in_set(sg, q);
        else
            in = !sg->app && sig_in_class(sg, q->cls) &&
                 (sg->dir == DIR_ANY || sg->dir == (q->o ? DIR_TO_CLIENT : DIR_TO_SERVER));
        if (in)
            ids[n++] = (uint32_t)i;
    }
    return n;
}

static bool sig_has_fp(const dpi_sig *sg, const gsel *q)
{
    return q->sel == SEL_TX ? sg->tx_fp_buf != 0 || sg->tx_fp_x != 0 : sg->fp_kw >= 0;
}

/* The buffer whose database holds a transaction signature's fast pattern:
 * its own, except http.response_body, whose bytes and windows are those of
 * file.data to the client (the response body; tx_buffer in
 * engine/detect/prefilter.c), so that they are scanned once, not once per
 * buffer. Its candidates are verified on their own buffer. */
static unsigned tx_db_buf(const dpi_sig *sg)
{
    return sg->tx_fp_buf == GH_BUF_HTTP_RESPONSE_BODY ? (unsigned)GH_BUF_FILE_DATA : sg->tx_fp_buf;
}

static bool sig_selected(const dpi_sig *sg, size_t i, const gsel *q)
{
    if (!sig_in_set(sg, i, q))
        return false;
    if (q->sel == SEL_TX)
        return sg->tx_fp_x == q->x && tx_db_buf(sg) == q->buf;
    return q->sel == SEL_ALL || (q->sel == SEL_PACKET ? sig_packet_side(sg)
                                                      : sig_stream_side(sg));
}

/* Expressions a signature puts in the Hyperscan database of a group: its fast
 * pattern when selected; for SEL_STREAM also once tagged PKT_HIT when it is
 * a packet-side payload signature (a pkt_stream one has both). */
static unsigned sig_db_entries(const dpi_sig *sg, size_t i, const gsel *q)
{
    if (!sig_has_fp(sg, q))
        return 0;
    if (q->sel == SEL_STREAM) {
        if (!sig_in_set(sg, i, q) || !sg->nkw)
            return 0;
        return (unsigned)sig_stream_side(sg) + (unsigned)sig_packet_side(sg);
    }
    return sig_selected(sg, i, q);
}

/* FNV-1a over @p n bytes, continued from @p h. */
static uint64_t fnv_mix(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* A list of signatures without a fast pattern whose lists some group built. */
typedef struct nofp_built {
    uint64_t h;
    uint32_t *ids, n;
    const dpi_group *g;
} nofp_built;

/* The lists of signatures without a fast pattern built so far, shared by
 * the threads that build groups. */
typedef struct nofp_memo {
    pthread_mutex_t mu;
    nofp_built *nb;
    size_t nnb, nbcap;
} nofp_memo;

/* The group databases to build, and the group each is for. */
typedef struct db_reqs {
    gh_hs_req *r;
    dpi_group **grp;
    size_t n, cap;
    nofp_memo *memo;
} db_reqs;

/* Group @p g's lists of the signatures without a fast pattern @p ids: those
 * of a group with the same signatures when there is one (all of ET Open:
 * 1,488 groups, 24 distinct lists; the address indexes of the reputation
 * signatures were built again for each), else built and remembered. */
static int nofp_of(const gh_dpi *d, db_reqs *dr, dpi_group *g, const uint32_t *ids, size_t n)
{
    nofp_memo *m = dr->memo;
    uint64_t h = fnv_mix(1469598103934665603ull, ids, n * sizeof(*ids));
    int rc = GH_OK;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nnb; i++) {
        const nofp_built *b = &m->nb[i];
        if (b->h == h && b->n == n && (!n || !memcmp(b->ids, ids, n * sizeof(*ids)))) {
            memcpy(g->nofp, b->g->nofp, sizeof(g->nofp));
            g->nofp_shared = true;
            goto out;
        }
    }
    if (gh_nofp_build(d, g->nofp, ids, n) != GH_OK) {
        rc = GH_E_NOMEM;
        goto out;
    }
    if (m->nnb == m->nbcap) {
        size_t nc = m->nbcap ? 2 * m->nbcap : 16;
        nofp_built *nb = realloc(m->nb, nc * sizeof(*nb));
        if (!nb)
            goto out; /* built, not remembered */
        m->nb = nb;
        m->nbcap = nc;
    }
    uint32_t *copy = malloc((n ? n : 1) * sizeof(*copy));
    if (copy) {
        if (n)
            memcpy(copy, ids, n * sizeof(*ids));
        m->nb[m->nnb++] = (nofp_built){h, copy, (uint32_t)n, g};
    }
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int db_req_add(db_reqs *dr, const gh_hs_req *r, dpi_group *g)
{
    if (dr->n == dr->cap) {
        size_t nc = dr->cap ? 2 * dr->cap : 64;
        gh_hs_req *nr = realloc(dr->r, nc * sizeof(*nr));
        if (nr)
            dr->r = nr;
        dpi_group **ng = nr ? realloc(dr->grp, nc * sizeof(*ng)) : NULL;
        if (!ng)
            return GH_E_NOMEM;
        dr->grp = ng;
        dr->cap = nc;
    }
    dr->r[dr->n] = *r;
    dr->grp[dr->n++] = g;
    return 0;
}

/* A group request's expressions share one block, the first one's. */
static void req_free(gh_hs_req *r)
{
    if (r->ex && r->n)
        free(r->ex[0]);
    free(r->ex);
    free(r->flags);
    free(r->ids);
}

/* Fill group @p g from the signatures @p q selects, and add the request for
 * its Hyperscan database in @p mode (HS_MODE_BLOCK or HS_MODE_STREAM) of
 * their fast patterns to @p dr. */
static int build_group(gh_dpi *d, dpi_group *g, const gsel *q, unsigned mode, db_reqs *dr,
                       gh_error *err)
{
    size_t np = 0, nn = 0, text = 0;
    for (size_t j = 0; j < q->nids; j++) {
        size_t i = q->ids[j];
        const dpi_sig *sg = &d->sigs[i];
        unsigned ne = sig_db_entries(sg, i, q);
        np += ne;
        text += ne * (4 * sg->info.fast_pattern_len + 1);
        nn += !sig_has_fp(sg, q) && sig_selected(sg, i, q);
    }
    uint32_t *nofp = nn ? malloc(nn * sizeof(*nofp)) : NULL;
    if (nn && !nofp)
        goto oom;
    nn = 0;
    gh_hs_req r = {.n = (unsigned)np, .mode = mode};
    if (np && (!(r.ex = calloc(np, sizeof(*r.ex))) || !(r.ex[0] = malloc(text)) ||
               !(r.flags = malloc(np * sizeof(unsigned))) ||
               !(r.ids = malloc(np * sizeof(unsigned)))))
        goto oom_req;
    char *at = np ? r.ex[0] : NULL;
    /* a block scan needs each signature once; a stream keeps reporting a
     * pattern, as its occurrences slide out of the window, and so does a
     * body buffer's database (scanned by window: the latest occurrence of
     * each pattern tells which windows hold one) */
    bool body = q->sel == SEL_TX && !q->x &&
                (q->buf == GH_BUF_FILE_DATA || q->buf == GH_BUF_HTTP_REQUEST_BODY ||
                 q->buf == GH_BUF_HTTP_RESPONSE_BODY);
    unsigned single = mode == HS_MODE_BLOCK && !body ? HS_FLAG_SINGLEMATCH : 0;
    g->all_matches = body;
    size_t k = 0;
    for (size_t j = 0; j < q->nids; j++) {
        size_t i = q->ids[j];
        const dpi_sig *sg = &d->sigs[i];
        if (!sig_has_fp(sg, q) && sig_selected(sg, i, q)) {
            nofp[nn++] = (uint32_t)i;
            continue;
        }
        unsigned ne = sig_db_entries(sg, i, q);
        for (unsigned e = 0; e < ne; e++) {
            r.ex[k] = at;
            at = hs_literal(at, (const uint8_t *)sg->info.fast_pattern,
                            sg->info.fast_pattern_len);
            if (sg->info.fast_pattern_len > g->max_len)
                g->max_len = (uint32_t)sg->info.fast_pattern_len;
            r.flags[k] = single | (sg->info.fast_pattern_nocase ? HS_FLAG_CASELESS : 0);
            /* stream entries: the stream one first, then the packet one */
            bool pkt = q->sel == SEL_STREAM && (e == 1 || !sig_stream_side(sg));
            r.ids[k] = (unsigned)i | (pkt ? PKT_HIT : 0);
            g->pkt_hits |= pkt;
            k++;
        }
    }
    if (nofp_of(d, dr, g, nofp, nn) != GH_OK)
        goto oom_req;
    free(nofp);
    nofp = NULL;
    if (np) {
        if (db_req_add(dr, &r, g) != 0)
            goto oom_req;
        g->n_patterns = np;
    }
    return 0;
oom_req:
    req_free(&r);
oom:
    free(nofp);
    gh_error_set(err, GH_E_NOMEM, "out of memory building the signature databases");
    return GH_E_NOMEM;
}

/* The transformed buffer of a transaction signature whose fast pattern
 * reads one through a chain without parameters: sg->tx_fp_x, the pairs
 * interned in d->xbufs (those beyond XBUF_MAX stay without a fast pattern,
 * checked on every transaction as before). */
static void tx_fp_transformed(gh_dpi *d)
{
    d->nxbufs = 1;
    for (size_t i = 0; i < d->n; i++) {
        dpi_sig *sg = &d->sigs[i];
        if (!sg->app || sg->tx_fp_buf || sg->fp_kw < 0)
            continue;
        const dpi_seg *g = NULL;
        for (size_t k = 0; k < sg->nseg && !g; k++)
            if ((uint32_t)sg->fp_kw >= sg->segs[k].first &&
                (uint32_t)sg->fp_kw < sg->segs[k].first + sg->segs[k].n)
                g = &sg->segs[k];
        if (!g || !g->nxf || g->buf == GH_BUF_PAYLOAD)
            continue;
        bool plain = true;
        for (uint8_t k = 0; k < g->nxf; k++)
            plain &= g->xf[k].kind != GH_XF_PCREXFORM && g->xf[k].kind != GH_XF_XOR;
        if (!plain)
            continue;
        unsigned x = 1;
        for (; x < d->nxbufs; x++) {
            const dpi_xbuf *xb = &d->xbufs[x];
            bool same = xb->buf == g->buf && xb->nxf == g->nxf;
            for (uint8_t k = 0; same && k < g->nxf; k++)
                same = xb->xf[k].kind == g->xf[k].kind;
            if (same)
                break;
        }
        if (x == XBUF_MAX)
            continue;
        if (x == d->nxbufs) {
            dpi_xbuf *xb = &d->xbufs[d->nxbufs++];
            xb->buf = g->buf;
            xb->nxf = g->nxf;
            for (uint8_t k = 0; k < g->nxf; k++)
                xb->xf[k] = (gh_xform){.kind = g->xf[k].kind};
        }
        sg->tx_fp_x = (uint8_t)x;
    }
}

/* ---- port groups ------------------------------------------------------------ */

/* The ports signature @p sg requires of the key port for orientation @p o,
 * as a union of up to two sets; false when every port is allowed. */
static bool key_ports(const dpi_sig *sg, unsigned o, const gh_port_set **a,
                      const gh_port_set **b)
{
    if (sg->any_ports || !(sg->kinds & (PK_TCP | PK_UDP)))
        return false;
    if (sg->bidir) {
        if (is_any_ports(&sg->sp) || is_any_ports(&sg->dp))
            return false;
        *a = &sg->sp;
        *b = &sg->dp;
        return true;
    }
    *a = o ? &sg->sp : &sg->dp;
    *b = NULL;
    return !is_any_ports(*a);
}

typedef struct pg_event {
    uint32_t pos;  /* 0..65536 */
    uint64_t h;    /* membership hash change */
    int cnt;       /* membership count change */
} pg_event;

static int ev_cmp(const void *x, const void *y)
{
    const pg_event *a = x, *b = y;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

typedef struct pg_memb {
    uint64_t h;
    int cnt;
    unsigned grp;
} pg_memb;

static int memb_cmp(const void *x, const void *y)
{
    const pg_memb *a = x, *b = y;
    if (a->cnt != b->cnt)
        return a->cnt < b->cnt ? 1 : -1;
    return (a->h > b->h) - (a->h < b->h);
}

static uint64_t sig_hash(size_t i)
{
    uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Which port groups a port range touches, as a bit set. */
static unsigned range_groups(const port_map *m, uint32_t lo, uint32_t hi)
{
    size_t l = 0, h = m->n; /* first segment with lo > @p lo, minus one */
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if (m->lo[mid] <= lo)
            l = mid + 1;
        else
            h = mid;
    }
    unsigned bits = 0;
    for (size_t k = l ? l - 1 : 0; k < m->n && m->lo[k] <= hi; k++)
        bits |= 1u << m->grp[k];
    return bits;
}

/* Bit g of gmask[i] when signature i can match a key port of group g. */
static void port_masks(const gh_dpi *d, unsigned o, const port_map *m, uint8_t *gmask)
{
    unsigned all = (1u << m->ngroups) - 1;
    for (size_t i = 0; i < d->n; i++) {
        const gh_port_set *a, *b;
        if (!key_ports(&d->sigs[i], o, &a, &b)) {
            gmask[i] = (uint8_t)all;
            continue;
        }
        unsigned bits = 0;
        for (size_t r = 0; r < a->n; r++)
            bits |= range_groups(m, a->r[r].lo, a->r[r].hi);
        for (size_t r = 0; b && r < b->n; r++)
            bits |= range_groups(m, b->r[r].lo, b->r[r].hi);
        gmask[i] = (uint8_t)bits;
    }
}

/* A port group's own database costs a compile of, and memory for, every
 * any-port signature again; it pays only when it keeps enough fast patterns
 * out of scans: those of group 0 out of its ports' and its own out of group
 * 0's. A group whose signatures differ from group 0's (as it stands, with
 * the groups merged before) by fewer than d->pg_min_diff fast patterns, or
 * fewer than 1/PG_DIFF_RATIO of the any-port ones, is merged into group 0. */
#define PG_DIFF_RATIO 8
static void merge_small_groups(const gh_dpi *d, unsigned cls, unsigned o, port_map *m,
                               uint8_t *gmask)
{
    if (m->ngroups < 2 || !d->pg_min_diff)
        return;
    size_t any = 0;
    unsigned all = (1u << m->ngroups) - 1;
    for (size_t i = 0; i < d->n; i++)
        any += gmask[i] == all && sig_in_class(&d->sigs[i], cls) && d->sigs[i].fp_kw >= 0;
    uint8_t to[PG_MAX] = {0};
    unsigned ng = 1;
    for (unsigned g = 1; g < m->ngroups; g++) {
        size_t diff = 0;
        for (size_t i = 0; i < d->n; i++)
            diff += ((gmask[i] >> g ^ gmask[i]) & 1) && sig_in_class(&d->sigs[i], cls) &&
                    d->sigs[i].fp_kw >= 0;
        if (diff >= d->pg_min_diff && diff * PG_DIFF_RATIO >= any) {
            to[g] = (uint8_t)ng++;
            continue;
        }
        for (size_t i = 0; i < d->n; i++) /* group 0 takes g's signatures */
            gmask[i] |= gmask[i] >> g & 1;
    }
    if (ng == m->ngroups)
        return;
    for (uint32_t k = 0; k < m->n; k++)
        m->grp[k] = to[m->grp[k]];
    m->ngroups = ng;
    port_masks(d, o, m, gmask);
}

/* Cut the key-port space of (@p cls, @p o) into port groups and set bit g
 * of gmask[i] when signature i belongs to group g. */
static int build_port_map(gh_dpi *d, unsigned cls, unsigned o, uint8_t *gmask)
{
    port_map *m = &d->pmap[cls][o];
    m->ngroups = 1;
    size_t nev = 0;
    if ((cls == CLS_TCP || cls == CLS_UDP) && d->max_pg > 1)
        for (size_t i = 0; i < d->n; i++) {
            const gh_port_set *a, *b;
            if (sig_in_class(&d->sigs[i], cls) && key_ports(&d->sigs[i], o, &a, &b))
                nev += 2 * (a->n + (b ? b->n : 0));
        }
    if (nev == 0) { /* one group */
        for (size_t i = 0; i < d->n; i++)
            gmask[i] = 1;
        return 0;
    }
    pg_event *ev = malloc((nev + 1) * sizeof(*ev));
    pg_memb *mb = malloc((nev + 1) * sizeof(*mb));
    m->lo = malloc((nev + 1) * sizeof(*m->lo));
    m->grp = malloc(nev + 1);
    if (!ev || !mb || !m->lo || !m->grp) {
        free(ev);
        free(mb);
        return GH_E_NOMEM;
    }
    size_t e = 0;
    for (size_t i = 0; i < d->n; i++) {
        const gh_port_set *a, *b;
        if (!sig_in_class(&d->sigs[i], cls) || !key_ports(&d->sigs[i], o, &a, &b))
            continue;
        uint64_t h = sig_hash(i);
        /* the union of a and b, range by range (both sorted and disjoint) */
        size_t ia = 0, ib = 0, nb = b ? b->n : 0;
        while (ia < a->n || ib < nb) {
            gh_port_range r;
            if (ib >= nb || (ia < a->n && a->r[ia].lo <= b->r[ib].lo))
                r = a->r[ia++];
            else
                r = b->r[ib++];
            for (;;) { /* absorb the ranges of either set that touch r */
                if (ia < a->n && a->r[ia].lo <= (uint32_t)r.hi + 1) {
                    if (a->r[ia].hi > r.hi)
                        r.hi = a->r[ia].hi;
                    ia++;
                } else if (ib < nb && b->r[ib].lo <= (uint32_t)r.hi + 1) {
                    if (b->r[ib].hi > r.hi)
                        r.hi = b->r[ib].hi;
                    ib++;
                } else {
                    break;
                }
            }
            ev[e++] = (pg_event){r.lo, h, 1};
            ev[e++] = (pg_event){(uint32_t)r.hi + 1, h, -1};
        }
    }
    qsort(ev, e, sizeof(*ev), ev_cmp);
    /* sweep: segments of constant membership */
    uint64_t h = 0;
    int cnt = 0;
    size_t nseg = 0;
    uint32_t pos = 0;
    size_t k = 0;
    while (pos < 65536) {
        while (k < e && ev[k].pos == pos) {
            h ^= ev[k].h;
            cnt += ev[k].cnt;
            k++;
        }
        if (nseg == 0 || mb[nseg - 1].h != h) {
            m->lo[nseg] = (uint16_t)pos;
            mb[nseg++] = (pg_memb){h, cnt, 0};
        }
        pos = k < e ? ev[k].pos : 65536;
    }
    m->n = (uint32_t)nseg;
    /* distinct memberships, largest first: groups 1..max_pg-1; the rest 0 */
    pg_memb *dist = malloc(nseg * sizeof(*dist));
    if (!dist) {
        free(ev);
        free(mb);
        return GH_E_NOMEM;
    }
    memcpy(dist, mb, nseg * sizeof(*dist));
    qsort(dist, nseg, sizeof(*dist), memb_cmp);
    size_t nd = 0;
    for (size_t i = 0; i < nseg; i++)
        if (nd == 0 || dist[nd - 1].h != dist[i].h)
            dist[nd++] = dist[i];
    /* the empty membership (ports no specific signature names) first: the
     * common case of traffic on other ports scans only the any-port signatures */
    for (size_t i = 0; i < nd; i++)
        if (dist[i].h == 0 && dist[i].cnt == 0 && i > 0) {
            pg_memb z = dist[i];
            memmove(dist + 1, dist, i * sizeof(*dist));
            dist[0] = z;
            break;
        }
    unsigned ng = 1;
    for (size_t i = 0; i < nd && ng < d->max_pg; i++)
        dist[i].grp = ng++;
    for (size_t sgi = 0; sgi < nseg; sgi++) {
        m->grp[sgi] = 0;
        for (size_t i = 0; i < nd && i + 1 < d->max_pg; i++)
            if (dist[i].h == mb[sgi].h) {
                m->grp[sgi] = (uint8_t)dist[i].grp;
                break;
            }
    }
    m->ngroups = ng;
    free(dist);
    free(ev);
    free(mb);
    port_masks(d, o, m, gmask);
    merge_small_groups(d, cls, o, m, gmask);
    return 0;
}

/* ---- address classes ------------------------------------------------------- */

/* 128-bit big-endian address arithmetic on IPv6 range ends. */
static bool v6_step(uint8_t a[16], int by) /* false on wrap-around */
{
    for (int i = 15; i >= 0; i--) {
        uint8_t old = a[i];
        a[i] = (uint8_t)(a[i] + by);
        if (by > 0 ? a[i] > old : a[i] < old)
            return true;
    }
    return false;
}

/* Calls @p fn with the ranges of @p s, or of its complement (@p comp), per
 * family in order: family 4 with lo/hi as 4 bytes big-endian, 6 with 16. */
typedef void (*range_fn)(void *ctx, int fam, const uint8_t *lo, const uint8_t *hi);

static void v4_bytes(uint32_t v, uint8_t out[4])
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

static void set_ranges(const gh_addr_set *s, bool comp, range_fn fn, void *ctx)
{
    uint8_t lo[16], hi[16];
    if (!comp) {
        for (size_t i = 0; i < s->n_v4; i++) {
            v4_bytes(s->v4[i].lo, lo);
            v4_bytes(s->v4[i].hi, hi);
            fn(ctx, 4, lo, hi);
        }
        for (size_t i = 0; i < s->n_v6; i++)
            fn(ctx, 6, s->v6[i].lo, s->v6[i].hi);
        return;
    }
    uint64_t next = 0; /* first v4 address not yet covered */
    for (size_t i = 0; i < s->n_v4; i++) {
        if (s->v4[i].lo > next) {
            v4_bytes((uint32_t)next, lo);
            v4_bytes(s->v4[i].lo - 1, hi);
            fn(ctx, 4, lo, hi);
        }
        next = (uint64_t)s->v4[i].hi + 1;
    }
    if (next <= UINT32_MAX) {
        v4_bytes((uint32_t)next, lo);
        v4_bytes(UINT32_MAX, hi);
        fn(ctx, 4, lo, hi);
    }
    memset(lo, 0, 16);
    bool more = true; /* lo is the first v6 address not yet covered */
    for (size_t i = 0; i < s->n_v6 && more; i++) {
        if (memcmp(s->v6[i].lo, lo, 16) > 0) {
            memcpy(hi, s->v6[i].lo, 16);
            v6_step(hi, -1);
            fn(ctx, 6, lo, hi);
        }
        memcpy(lo, s->v6[i].hi, 16);
        more = v6_step(lo, 1);
    }
    if (more) {
        memset(hi, 0xff, 16);
        fn(ctx, 6, lo, hi);
    }
}

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x9E3779B97F4A7C15ull;
    return h ^ h >> 29;
}

/* A range into the hash of a set: a word at a time (byte-wise FNV over the
 * v6 ranges of 50,000 sets was a fifth of the groups' build). */
static void hash_range(void *ctx, int fam, const uint8_t *lo, const uint8_t *hi)
{
    uint64_t *h = ctx;
    *h = mix64(*h, (uint64_t)fam);
    if (fam == 4) {
        uint32_t a, b;
        memcpy(&a, lo, 4);
        memcpy(&b, hi, 4);
        *h = mix64(*h, (uint64_t)a << 32 | b);
        return;
    }
    uint64_t w[4];
    memcpy(w, lo, 16);
    memcpy(w + 2, hi, 16);
    for (int i = 0; i < 4; i++)
        *h = mix64(*h, w[i]);
}

typedef struct set_build {
    gh_addr_set *s;
    size_t cap4, cap6;
    bool oom;
} set_build;

static void add_range(void *ctx, int fam, const uint8_t *lo, const uint8_t *hi)
{
    set_build *b = ctx;
    if (b->oom)
        return;
    if (fam == 4) {
        if (b->s->n_v4 == b->cap4) {
            b->cap4 = b->cap4 ? 2 * b->cap4 : 4;
            gh_ip4_range *n = realloc(b->s->v4, b->cap4 * sizeof(*n));
            if (!n) {
                b->oom = true;
                return;
            }
            b->s->v4 = n;
        }
        b->s->v4[b->s->n_v4++] = (gh_ip4_range){
            ((uint32_t)lo[0] << 24) | ((uint32_t)lo[1] << 16) | ((uint32_t)lo[2] << 8) | lo[3],
            ((uint32_t)hi[0] << 24) | ((uint32_t)hi[1] << 16) | ((uint32_t)hi[2] << 8) | hi[3]};
        return;
    }
    if (b->s->n_v6 == b->cap6) {
        b->cap6 = b->cap6 ? 2 * b->cap6 : 4;
        gh_ip6_range *n = realloc(b->s->v6, b->cap6 * sizeof(*n));
        if (!n) {
            b->oom = true;
            return;
        }
        b->s->v6 = n;
    }
    gh_ip6_range *r = &b->s->v6[b->s->n_v6++];
    memcpy(r->lo, lo, 16);
    memcpy(r->hi, hi, 16);
}

/* @p s, or its complement, as a new set; false when out of memory. */
static bool set_copy(const gh_addr_set *s, bool comp, gh_addr_set *out)
{
    memset(out, 0, sizeof(*out));
    set_build b = {.s = out};
    set_ranges(s, comp, add_range, &b);
    if (b.oom)
        gh_addr_set_free(out);
    return !b.oom;
}

/* Do @p a and @p b share an address? */
static bool sets_meet(const gh_addr_set *a, const gh_addr_set *b)
{
    for (size_t i = 0, j = 0; i < a->n_v4 && j < b->n_v4;) {
        if (a->v4[i].hi < b->v4[j].lo)
            i++;
        else if (b->v4[j].hi < a->v4[i].lo)
            j++;
        else
            return true;
    }
    for (size_t i = 0, j = 0; i < a->n_v6 && j < b->n_v6;) {
        if (memcmp(a->v6[i].hi, b->v6[j].lo, 16) < 0)
            i++;
        else if (memcmp(b->v6[j].hi, a->v6[i].lo, 16) < 0)
            j++;
        else
            return true;
    }
    return false;
}

static bool set_is_any(const gh_addr_set *s)
{
    static const uint8_t zero[16], ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    return s->n_v4 == 1 && s->v4[0].lo == 0 && s->v4[0].hi == UINT32_MAX && s->n_v6 == 1 &&
           !memcmp(s->v6[0].lo, zero, 16) && !memcmp(s->v6[0].hi, ones, 16);
}

/* The same ranges (both sets canonical: sorted, disjoint, non-adjacent). */
static bool sets_equal(const gh_addr_set *a, const gh_addr_set *b)
{
    return a->n_v4 == b->n_v4 && a->n_v6 == b->n_v6 &&
           (!a->n_v4 || !memcmp(a->v4, b->v4, a->n_v4 * sizeof(*a->v4))) &&
           (!a->n_v6 || !memcmp(a->v6, b->v6, a->n_v6 * sizeof(*a->v6)));
}

/* dpi_sig.src_as / dst_as of @p x, with @p home and its complement @p comp
 * (empty sets when there are no address classes). */
static uint8_t addr_as(const gh_addr_set *x, const gh_addr_set *home, const gh_addr_set *comp)
{
    if (set_is_any(x))
        return ADDR_ANY;
    if ((home->n_v4 || home->n_v6) && sets_equal(x, home))
        return ADDR_HOME;
    if ((comp->n_v4 || comp->n_v6) && sets_equal(x, comp))
        return ADDR_NOT_HOME;
    return ADDR_LIST;
}

typedef struct set_count {
    uint64_t h;
    const gh_addr_set *s; /* a set with that hash */
    bool comp;            /* ... whose complement is the canonical one */
} set_count;

static int set_count_cmp(const void *a, const void *b)
{
    uint64_t x = ((const set_count *)a)->h, y = ((const set_count *)b)->h;
    return x < y ? -1 : x > y;
}

/* The address classes: the home set is the address set the signatures name
 * most (a set and its complement count as one, $HOME_NET and
 * $EXTERNAL_NET), when at least an eighth of the signatures name it; then
 * @p acmask[i] gets bit 2 * a + b when signature i can match a packet
 * whose source is in the home set (a) or not and whose destination is (b)
 * or not. With no such set, one class and every bit set. Only the masks
 * decide what a class's databases hold, so the choice of the set costs
 * speed at worst, never a match. Each signature's src_as and dst_as say
 * which of its sets are any, the home set or its complement (the class of
 * the packet answers those without a search). */
static int addr_classes(gh_dpi *d, uint8_t *acmask)
{
    d->nac = 1;
    memset(acmask, 0xff, d->n ? d->n : 1);
    set_count *c = d->ac_opt ? malloc((2 * d->n + 1) * sizeof(*c)) : NULL;
    gh_addr_set comp = {0};
    int rc = 0;
    if (!d->ac_opt)
        goto out;
    if (!c)
        return GH_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        const gh_addr_set *ss[2] = {&d->sigs[i].src, &d->sigs[i].dst};
        for (int k = 0; k < 2; k++) {
            const gh_addr_set *x = ss[k];
            if (set_is_any(x) || (!x->n_v4 && !x->n_v6))
                continue;
            /* canonical: the one of the set and its complement without 0.0.0.0 */
            bool neg = x->n_v4 && x->v4[0].lo == 0;
            uint64_t h = 1469598103934665603ull;
            set_ranges(x, neg, hash_range, &h);
            c[n++] = (set_count){h, x, neg};
        }
    }
    qsort(c, n, sizeof(*c), set_count_cmp);
    size_t best = 0, best_n = 0;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && c[j].h == c[i].h; j++)
            ;
        if (j - i > best_n) {
            best_n = j - i;
            best = i;
        }
    }
    if (best_n * 8 >= d->n && best_n > 0) {
        if (!set_copy(c[best].s, c[best].comp, &d->home) ||
            !set_copy(&d->home, true, &comp)) {
            rc = GH_E_NOMEM;
            goto out;
        }
        d->nac = AC_MAX;
        const gh_addr_set *reg[2] = {&comp, &d->home}; /* not in home, in home */
        for (size_t i = 0; i < d->n; i++) {
            const dpi_sig *sg = &d->sigs[i];
            bool src[2], dst[2];
            for (int x = 0; x < 2; x++) {
                src[x] = sets_meet(&sg->src, reg[x]);
                dst[x] = sets_meet(&sg->dst, reg[x]);
            }
            uint8_t m = 0;
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                    if ((src[a] && dst[b]) || (sg->bidir && src[b] && dst[a]))
                        m |= (uint8_t)(1u << (2 * a + b));
            acmask[i] = m;
        }
    }
out:
    for (size_t i = 0; !rc && i < d->n; i++) {
        dpi_sig *sg = &d->sigs[i];
        sg->src_as = addr_as(&sg->src, &d->home, &comp);
        sg->dst_as = addr_as(&sg->dst, &d->home, &comp);
    }
    gh_addr_set_free(&comp);
    free(c);
    return rc;
}

/* Each signature's fb_need: the first flowbits:isset of one name (the
 * signature cannot match in a flow without that bit). */
static void flowbit_needs(gh_dpi *d)
{
    for (size_t i = 0; i < d->n; i++) {
        dpi_sig *sg = &d->sigs[i];
        sg->fb_need = 0;
        for (size_t k = 0; k < sg->nvars && !sg->fb_need; k++) {
            const dpi_var *v = &sg->vars[k];
            if (v->kind == SV_FLOWBITS && v->cmd == FB_ISSET && v->n == 1 &&
                v->ids[0] < UINT16_MAX)
                sg->fb_need = (uint16_t)(v->ids[0] + 1);
        }
    }
}

/* The transaction group a signature's fast pattern puts it in: its buffer
 * (0 without a fast pattern), or GH_BUF_N + its transformed buffer. */
#define TX_KEYS (GH_BUF_N + XBUF_MAX)

static unsigned tx_key(const dpi_sig *sg)
{
    return sg->tx_fp_x ? (unsigned)GH_BUF_N + sg->tx_fp_x : tx_db_buf(sg);
}

/* Whether transaction key @p k (tx_key) has its group at stage @p st:
 * a buffer that is complete before the body (not a body, not transformed)
 * has one group of every stage's signatures, at GH_STAGE_NONE, scanned
 * once per transaction (tx_fp_scans in engine/detect/prefilter.c); the
 * bodies, the transformed buffers and the signatures without a fast pattern
 * have one per stage. */
static bool tx_key_at(unsigned k, unsigned st)
{
    bool once = k > 0 && k < GH_BUF_N && !gh_buffer_get_info((gh_buffer_id)k)->body;
    return once == (st == GH_STAGE_NONE);
}

/* The transaction groups of @p all's direction and stage in address class
 * @p ac: its members of that class sorted by key (stable, so each group's
 * order stays the signatures'), one group per key (@p sub: room for them). */
static int build_tx_groups(gh_dpi *d, const gsel *all, unsigned ac, uint32_t *sub, db_reqs *dr,
                           gh_error *err)
{
    const uint32_t *ids = all->ids;
    dpi_groupset *gs = &d->gs[ac];
    size_t at[TX_KEYS + 1] = {0};
    for (size_t j = 0; j < all->nids; j++)
        if (all->acmask[ids[j]] >> ac & 1)
            at[tx_key(&d->sigs[ids[j]]) + 1]++;
    for (unsigned k = 0; k < TX_KEYS; k++)
        at[k + 1] += at[k];
    size_t fill[TX_KEYS];
    memcpy(fill, at, sizeof(fill));
    for (size_t j = 0; j < all->nids; j++)
        if (all->acmask[ids[j]] >> ac & 1)
            sub[fill[tx_key(&d->sigs[ids[j]])]++] = ids[j];
    int rc = 0;
    for (unsigned k = 0; k < TX_KEYS && !rc; k++) {
        if (k == GH_BUF_N || k >= GH_BUF_N + d->nxbufs || !tx_key_at(k, all->stage))
            continue;
        gsel q = *all;
        q.ac = ac;
        q.ids = sub + at[k];
        q.nids = at[k + 1] - at[k];
        if (k < GH_BUF_N)
            q.buf = k;
        else
            q.x = k - GH_BUF_N;
        dpi_group *grp = k < GH_BUF_N ? &gs->txg[q.o][q.stage][k] : &gs->txx[q.o][q.stage][q.x];
        rc = build_group(d, grp, &q, HS_MODE_BLOCK, dr, err);
    }
    return rc;
}

/* The transaction groups (no port groups: ports are checked per
 * candidate), on a thread of their own beside the port groups: their own
 * buffers and requests, the no-fast-pattern lists shared. */
typedef struct tx_job {
    gh_dpi *d;
    const uint8_t *acmask;
    uint32_t *ids, *sub;
    db_reqs dr;
    int rc;
    gh_error err;
} tx_job;

static void *tx_groups_run(void *arg)
{
    tx_job *t = arg;
    for (unsigned o = 0; o < 2 && !t->rc; o++)
        for (unsigned st = GH_STAGE_NONE; st <= GH_STAGE_DONE && !t->rc; st++) {
            gsel all = {.o = o, .acmask = t->acmask, .sel = SEL_TX, .stage = st, .ids = t->ids};
            all.nids = set_members(t->d, &all, t->ids);
            for (unsigned ac = 0; ac < t->d->nac && !t->rc; ac++)
                t->rc = build_tx_groups(t->d, &all, ac, t->sub, &t->dr, &t->err);
        }
    return NULL;
}

/* Cut the port groups and fill every group; their database requests go to
 * @p dr (the port groups', then the transaction groups'). With @p jobs > 1
 * the transaction groups are built on a second thread. */
static int build_groups(gh_dpi *d, db_reqs *dr, unsigned jobs, gh_error *err)
{
    size_t n1 = d->n ? d->n : 1;
    uint8_t *gmask = malloc(n1);
    uint8_t *acmask = malloc(n1);
    uint32_t *ids = malloc(n1 * sizeof(*ids));
    uint32_t *sub = malloc(n1 * sizeof(*sub));
    tx_job tj = {.d = d, .acmask = acmask, .dr = {.memo = dr->memo},
                 .ids = malloc(n1 * sizeof(*ids)), .sub = malloc(n1 * sizeof(*sub))};
    flowbit_needs(d);
    int rc = gmask && acmask && ids && sub && tj.ids && tj.sub ? addr_classes(d, acmask)
                                                               : GH_E_NOMEM;
    if (rc) {
        free(gmask);
        free(acmask);
        free(ids);
        free(sub);
        free(tj.ids);
        free(tj.sub);
        gh_error_set(err, GH_E_NOMEM, "out of memory building the signature databases");
        return GH_E_NOMEM;
    }
    tx_fp_transformed(d); /* read by the transaction groups only */
    pthread_t tt;
    bool tx_thread = gh_load_threads(jobs) > 1 && pthread_create(&tt, NULL, tx_groups_run, &tj) == 0;
    for (unsigned c = 0; c < CLS_N && !rc; c++)
        for (unsigned o = 0; o < 2 && !rc; o++) {
            if (build_port_map(d, c, o, gmask) != 0) {
                rc = GH_E_NOMEM;
                gh_error_set(err, rc, "out of memory building the port groups");
                break;
            }
            gsel all = {.cls = c, .o = o, .gmask = gmask, .acmask = acmask, .sel = SEL_ALL,
                        .ids = ids};
            all.nids = set_members(d, &all, ids);
            for (unsigned ac = 0; ac < d->nac && !rc; ac++)
                for (unsigned g = 0; g < d->pmap[c][o].ngroups && !rc; g++) {
                    dpi_groupset *gs = &d->gs[ac];
                    gsel q = all;
                    q.g = g;
                    q.ac = ac;
                    /* the three databases of the group pick from its members */
                    q.ids = sub;
                    q.nids = 0;
                    for (size_t j = 0; j < all.nids; j++)
                        if ((acmask[ids[j]] >> ac & 1) && (gmask[ids[j]] >> g & 1))
                            sub[q.nids++] = ids[j];
                    rc = build_group(d, &gs->groups[c][o][g], &q, HS_MODE_BLOCK, dr, err);
                    if (c != CLS_TCP || rc)
                        continue;
                    q.sel = SEL_STREAM;
                    rc = build_group(d, &gs->sgroups[o][g], &q, HS_MODE_STREAM, dr, err);
                    q.sel = SEL_PACKET;
                    if (!rc)
                        rc = build_group(d, &gs->pgroups[o][g], &q, HS_MODE_BLOCK, dr, err);
                }
        }
    if (tx_thread)
        pthread_join(tt, NULL);
    else
        tx_groups_run(&tj);
    if (!rc && tj.rc) {
        rc = tj.rc;
        if (err)
            *err = tj.err;
    }
    for (size_t i = 0; i < tj.dr.n; i++) {
        if (!rc && db_req_add(dr, &tj.dr.r[i], tj.dr.grp[i]) != 0) {
            rc = GH_E_NOMEM;
            gh_error_set(err, rc, "out of memory building the signature databases");
        }
        if (rc)
            req_free(&tj.dr.r[i]);
    }
    free(tj.dr.r);
    free(tj.dr.grp);
    free(gmask);
    free(acmask);
    free(ids);
    free(sub);
    free(tj.ids);
    free(tj.sub);
    return rc;
}

/* The pcre prefilter requests of the loaded signatures (@p kw: the keyword
 * each is for); the expressions stay @p pre's. */
static gh_hs_req *prefilter_reqs(gh_dpi *d, const pcre_reqs *pre, dpi_kw ***kw, size_t *n)
{
    static unsigned zero_id;
    size_t cap = 0;
    for (size_t i = 0; i < d->n; i++) {
        dpi_sig *sg = &d->sigs[i];
        for (size_t k = 0; k < sg->nkw_all; k++)
            cap += sg->kw[k].re_hs_req != 0;
        for (size_t k = 0; k < sg->nb64; k++)
            cap += sg->b64kw[k].re_hs_req != 0;
    }
    gh_hs_req *r = malloc((cap ? cap : 1) * sizeof(*r));
    *kw = malloc((cap ? cap : 1) * sizeof(**kw));
    if (!r || !*kw) {
        free(r);
        free(*kw);
        return NULL;
    }
    *n = 0;
    for (size_t i = 0; i < d->n; i++) {
        dpi_sig *sg = &d->sigs[i];
        for (size_t k = 0; k < sg->nkw_all + sg->nb64; k++) {
            dpi_kw *x = k < sg->nkw_all ? &sg->kw[k] : &sg->b64kw[k - sg->nkw_all];
            if (!x->re_hs_req)
                continue;
            size_t q = x->re_hs_req - 1;
            r[*n] = (gh_hs_req){.ex = &pre->ex[q], .flags = &pre->flags[q], .ids = &zero_id,
                                .n = 1, .mode = HS_MODE_BLOCK, .prefilter = true};
            (*kw)[(*n)++] = x;
        }
    }
    return r;
}

typedef struct prefetch {
    gh_hs_req *r;
    size_t n;
    gh_hs_cache *c;
} prefetch;

static void *prefetch_run(void *arg)
{
    prefetch *p = arg;
    gh_hs_batch_prefetch(p->r, p->n, p->c);
    return NULL;
}

/* The transaction groups with a database, per address class, direction
 * and stage (dpi_groupset.txg_dbs, txx_dbs). */
static void tx_db_masks(gh_dpi *d)
{
    _Static_assert(GH_BUF_N <= 64 && XBUF_MAX <= 64, "a bit per buffer");
    for (unsigned ac = 0; ac < (d->nac ? d->nac : 1); ac++) {
        dpi_groupset *gs = &d->gs[ac];
        for (unsigned o = 0; o < 2; o++)
            for (unsigned st = 0; st <= GH_STAGE_DONE; st++) {
                uint64_t m = 0, mx = 0;
                for (unsigned b = 0; b < GH_BUF_N; b++)
                    m |= (uint64_t)(gs->txg[o][st][b].db != NULL) << b;
                for (unsigned x = 0; x < XBUF_MAX; x++)
                    mx |= (uint64_t)(gs->txx[o][st][x].db != NULL) << x;
                gs->txg_dbs[o][st] = m;
                gs->txx_dbs[o][st] = mx;
            }
    }
}

/* Build every Hyperscan database of @p d: the pcre prefilters of @p pre and
 * the groups', through the cache of @p opt; counts in @p rep (may be NULL). */
static int build_databases(gh_dpi *d, const pcre_reqs *pre, const gh_dpi_options *opt,
                           gh_dpi_load_report *rep, gh_error *err)
{
    nofp_memo memo = {.mu = PTHREAD_MUTEX_INITIALIZER};
    db_reqs dr = {.memo = &memo};
    gh_hs_dbs dbs = {0};
    gh_hs_batch_stats st[2] = {{0}};
    dpi_kw **kw = NULL;
    size_t npre = 0;
    gh_hs_req *pr = prefilter_reqs(d, pre, &kw, &npre);
    if (!pr) {
        gh_error_set(err, GH_E_NOMEM, "out of memory building the signature databases");
        return GH_E_NOMEM;
    }
    char why[192] = "";
    gh_hs_cache *cache = NULL;
    if (opt->cache_dir)
        cache = gh_hs_cache_open(opt->cache_dir, opt->cache_max_bytes, why, sizeof(why));
    /* the prefilters are known already: read them from the cache on a
     * thread of their own while this one builds the groups */
    prefetch pf = {.r = pr, .n = npre, .c = cache};
    pthread_t pft;
    bool pf_on = cache && npre && gh_load_threads(opt->jobs) > 1 &&
                 pthread_create(&pft, NULL, prefetch_run, &pf) == 0;
    int rc = build_groups(d, &dr, opt->jobs, err);
    if (pf_on)
        pthread_join(pft, NULL);
    for (size_t i = 0; rc && i < npre; i++) /* read for a build that does not happen */
        gh_hs_db_free(pr[i].db);
    /* One batch: the compile threads take the groups' databases largest
     * first and the prefilters (one expression each, a few MB to compile)
     * from the other end, so a large compile never runs next to another
     * large one, which bounds the peak memory of a cold load. */
    gh_hs_req *all = rc ? NULL : malloc((npre + dr.n + 1) * sizeof(*all));
    if (!rc && !all) {
        rc = GH_E_NOMEM;
        gh_error_set(err, rc, "out of memory building the signature databases");
    }
    if (!rc) {
        if (npre)
            memcpy(all, pr, npre * sizeof(*all));
        if (dr.n)
            memcpy(all + npre, dr.r, dr.n * sizeof(*all));
        rc = gh_hs_batch_build(all, npre + dr.n, cache, opt->jobs, &dbs, st, err);
    }
    gh_hs_cache_close(cache);
    for (size_t i = 0; !rc && i < npre; i++)
        kw[i]->re_hs = all[i].db;
    for (size_t i = 0; !rc && i < dr.n; i++)
        dr.grp[i]->db = all[npre + i].db;
    if (!rc)
        tx_db_masks(d);
    free(all);
    for (size_t i = 0; i < dr.n; i++)
        req_free(&dr.r[i]);
    free(dr.r);
    free(dr.grp);
    for (size_t i = 0; i < memo.nnb; i++)
        free(memo.nb[i].ids);
    free(memo.nb);
    pthread_mutex_destroy(&memo.mu);
    free(pr);
    free(kw);
    d->dbs = dbs.db;
    d->ndbs = dbs.n;
    for (size_t i = 0; i < d->ndbs; i++) {
        size_t sz = 0;
        hs_database_size(d->dbs[i], &sz);
        d->db_bytes += sz;
    }
    if (rep) {
        rep->db_distinct = st[0].distinct;
        rep->db_cached = st[0].cached;
        rep->db_compiled = st[0].compiled;
        rep->pcre_cached = st[1].cached;
        snprintf(rep->cache_error, sizeof(rep->cache_error), "%s", why);
    }
    return rc;
}

void gh_dpi_free(gh_dpi *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        sig_clear(&d->sigs[i]);
    free(d->sigs);
    dpi_group *g[N_GROUPS];
    for (size_t i = 0, n = gh_detect_all_groups(d, g); i < n; i++)
        if (!g[i]->nofp_shared)
            gh_nofp_free(g[i]->nofp);
    for (size_t i = 0; i < d->ndbs; i++)
        gh_hs_db_free(d->dbs[i]);
    free(d->dbs);
    for (unsigned c = 0; c < CLS_N; c++)
        for (unsigned o = 0; o < 2; o++) {
            free(d->pmap[c][o].lo);
            free(d->pmap[c][o].grp);
        }
    for (size_t i = 0; i < d->nsups; i++)
        gh_addr_set_free(&d->sups[i].addrs);
    free(d->sups);
    gh_addr_set_free(&d->home);
    gh_strpool_free(d->strs);
    gh_arena_free(d->mem);
    free(d);
    gh_mem_chunks_trim(); /* the arena's chunks: not kept for a next load */
}

static int kw_cmp(const void *a, const void *b)
{
    const gh_dpi_kwcount *x = a, *y = b;
    if (x->rules != y->rules)
        return x->rules < y->rules ? 1 : -1;
    return strcmp(x->keyword, y->keyword);
}

void gh_dpi_options_init(gh_dpi_options *o)
{
    memset(o, 0, sizeof(*o));
    o->port_groups = PG_MAX;
    o->port_group_min_diff = 64;
    o->addr_classes = true;
    o->pcre_hyperscan = true;
    o->cache_max_bytes = GH_DPI_CACHE_MAX_DEFAULT;
}

typedef struct rank_key {
    unsigned action;  /* the action's place in the action order */
    uint8_t use[SV_N]; /* VAR_USE_* per kind: the larger first */
    uint32_t prio;    /* the severity: the smaller first */
    uint32_t sid;
    uint32_t idx;
} rank_key;

static int rank_cmp(const void *a, const void *b)
{
    const rank_key *x = a, *y = b;
    if (x->action != y->action)
        return x->action < y->action ? -1 : 1;
    for (int k = 0; k < SV_N; k++)
        if (x->use[k] != y->use[k])
            return x->use[k] > y->use[k] ? -1 : 1;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Each signature's rank in Suricata's signature order
 * (detect-engine-sigorder.c: action, the use of flowbits, flowint,
 * hostbits, ippairbits, then priority and sid), which decides which of the
 * signatures with variables a packet runs first.
 * It depends on the action order and the priorities: computed again when
 * either changes. 0, or -1 when out of memory. */
static int dpi_rank(gh_dpi *d)
{
    if (!d->n_vars)
        return 0;
    rank_key *k = malloc(d->n * sizeof(*k));
    if (!k)
        return -1;
    for (size_t i = 0; i < d->n; i++) {
        const dpi_sig *sg = &d->sigs[i];
        k[i] = (rank_key){.action = d->order.rank[gh_action_class_of(sg->info.action)],
                          .prio = sg->info.severity, .sid = sg->info.sid,
                          .idx = (uint32_t)i};
        for (int v = 0; v < SV_N; v++)
            k[i].use[v] = sg->use[v] ? sg->use[v] : VAR_USE_NONE;
    }
    qsort(k, d->n, sizeof(*k), rank_cmp);
    for (size_t i = 0; i < d->n; i++)
        d->sigs[k[i].idx].rank = (uint32_t)i;
    free(k);
    return 0;
}

gh_dpi *gh_dpi_compile(gh_rule_file *const *files, size_t n, const gh_rule_vars *vars,
                       gh_rule_error **errs, size_t *nerrs, gh_dpi_load_report *rep,
                       gh_error *err)
{
    return gh_dpi_compile_ex(files, n, vars, NULL, errs, nerrs, rep, err);
}

/* ---- compile: the rules in parts on threads ---------------------------------- */

/* About the bytes of gh_dpi.mem a signature takes (ET Open: 700). */
#define SIG_MEM 512

/* Below this many rules per thread a part is not worth a thread. */
#define PART_RULES_MIN 2000
#define PARTS_MAX 16

/* One thread's share of the rules, global indexes [lo, hi) across the
 * files: its signatures go to sigs[0, n), its prefilter requests, variable
 * names, strings, errors and report counts are its own until joined. */
typedef struct compile_part {
    gh_rule_file *const *files;
    size_t nfiles;
    const gh_rule_vars *vars;
    const gh_dpi_options *opt;
    size_t lo, hi;
    dpi_sig *sigs;
    size_t n;
    pcre_reqs pre;
    gh_var_names *names;
    gh_strpool *strs;
    gh_arena *mem;
    dpi_kw *kwbuf;  /* rule_ctx.kwbuf */
    size_t kwcap;
    bool want_errs;
    gh_rule_error *errs;
    size_t nerrs;
    gh_dpi_load_report rep;
    bool oom;
} compile_part;

static void *compile_part_run(void *arg)
{
    compile_part *P = arg;
    size_t g = 0, f = 0;
    while (f < P->nfiles && g + P->files[f]->n_rules <= P->lo)
        g += P->files[f++]->n_rules;
    size_t i = P->lo - g;
    for (size_t at = P->lo; at < P->hi && !P->oom; at++, i++) {
        while (i >= P->files[f]->n_rules) {
            f++;
            i = 0;
        }
        const gh_rule *r = &P->files[f]->rules[i];
        P->rep.rules++;
        if (r->has_error) {
            P->rep.skipped_error++;
            continue;
        }
        if (r->unsupported) {
            P->rep.skipped_unsupported++;
            tally(&P->rep, r->unsupported);
            continue;
        }
        rule_ctx c;
        rule_ctx_start(&c, r);
        c.errs = P->want_errs ? &P->errs : NULL;
        c.nerrs = &P->nerrs;
        c.pcre_hs = P->opt->pcre_hyperscan;
        c.pre = &P->pre;
        c.names = P->names;
        c.strs = P->strs;
        c.mem = P->mem;
        c.kwbuf = &P->kwbuf;
        c.kwcap = &P->kwcap;
        dpi_sig *sg = &P->sigs[P->n];
        bool ok = compile_rule(&c, P->vars, sg);
        for (unsigned b = 0; b < GH_BUF_N; b++) /* transforms no segment took */
            for (unsigned x = 0; x < c.nxf[b]; x++)
                gh_xform_free(&c.xf[b][x]);
        if (ok) {
            P->n++;
            continue;
        }
        sig_clear(sg);
        if (c.oom) {
            P->oom = true;
        } else if (c.error) {
            P->rep.skipped_error++;
        } else {
            P->rep.skipped_unsupported++;
            tally(&P->rep, c.unsupported);
        }
    }
    return NULL;
}

/* Part @p p's signatures, moved down behind those of d (first part's,
 * @p p0, requests and names), renumbered into them; its errors appended. */
static int join_part(gh_dpi *d, compile_part *p0, compile_part *p, gh_rule_error **errs,
                     size_t *nerrs)
{
    uint16_t *map = malloc((gh_var_names_count(p->names) + 1) * sizeof(*map));
    if (!map || gh_var_names_merge(p0->names, p->names, map) != 0) {
        free(map);
        return -1;
    }
    uint32_t req0 = (uint32_t)p0->pre.n;
    for (size_t i = 0; i < p->pre.n; i++) {
        uint32_t q;
        if (pcre_req_add(&p0->pre, p->pre.ex[i], p->pre.flags[i], &q) != 0) {
            free(map);
            return -1;
        }
        p->pre.ex[i] = NULL; /* p0's now */
    }
    for (size_t i = 0; i < p->n; i++) {
        dpi_sig *sg = &p->sigs[i];
        for (size_t k = 0; k < sg->nkw_all; k++)
            sg->kw[k].re_hs_req += sg->kw[k].re_hs_req ? req0 : 0;
        for (size_t k = 0; k < sg->nb64; k++)
            sg->b64kw[k].re_hs_req += sg->b64kw[k].re_hs_req ? req0 : 0;
        for (size_t k = 0; k < sg->nvars; k++)
            gh_var_remap(&sg->vars[k], map);
    }
    free(map);
    if (p->sigs != d->sigs + d->n)
        memmove(d->sigs + d->n, p->sigs, p->n * sizeof(*p->sigs));
    d->n += p->n;
    p->n = 0; /* d's now */
    gh_strpool_merge(d->strs, p->strs);
    p->strs = NULL;
    gh_arena_adopt(d->mem, p->mem);
    p->mem = NULL;
    for (size_t i = 0; errs && i < p->nerrs; i++)
        gh_rule_error_append(errs, nerrs, p->errs[i].loc, "%s", p->errs[i].message);
    return 0;
}

static void add_part_report(gh_dpi_load_report *rep, const gh_dpi_load_report *p)
{
    rep->rules += p->rules;
    rep->skipped_error += p->skipped_error;
    rep->skipped_unsupported += p->skipped_unsupported;
    for (size_t i = 0; i < p->n_kw; i++)
        for (size_t k = 0; k < p->kw[i].rules; k++)
            tally(rep, p->kw[i].keyword);
    rep->kw_other += p->kw_other;
}

/* What a part still owns (@p first: its pool is d's). */
static void compile_part_free(compile_part *p, bool first)
{
    for (size_t i = 0; i < p->n; i++) /* not joined: after an error */
        sig_clear(&p->sigs[i]);
    pcre_reqs_free(&p->pre);
    gh_var_names_free(p->names);
    free(p->kwbuf);
    if (!first) {
        gh_strpool_free(p->strs);
        gh_arena_free(p->mem);
        free(p->errs);
    }
}

gh_dpi *gh_dpi_compile_ex(gh_rule_file *const *files, size_t n, const gh_rule_vars *vars,
                          const gh_dpi_options *opt, gh_rule_error **errs, size_t *nerrs,
                          gh_dpi_load_report *rep, gh_error *err)
{
    gh_dpi_options defaults;
    if (!opt) {
        gh_dpi_options_init(&defaults);
        opt = &defaults;
    }
    if (opt->port_groups < 1 || opt->port_groups > PG_MAX) {
        gh_error_set(err, GH_E_INVAL, "port groups must be between 1 and %d", PG_MAX);
        return NULL;
    }
    if (rep)
        memset(rep, 0, sizeof(*rep));
    size_t total = 0;
    for (size_t f = 0; f < n; f++)
        total += files[f]->n_rules;
    gh_dpi *d = calloc(1, sizeof(*d));
    if (!d || !(d->sigs = gh_mem_calloc_huge(total ? total : 1, sizeof(*d->sigs))) ||
        !(d->strs = gh_strpool_new()) || !(d->mem = gh_arena_new(SIG_MEM * total))) {
        if (d) {
            free(d->sigs);
            gh_strpool_free(d->strs);
        }
        free(d);
        gh_error_set(err, GH_E_NOMEM, "out of memory compiling the signatures");
        return NULL;
    }
    static atomic_uint_fast64_t serials;
    d->serial = atomic_fetch_add(&serials, 1) + 1;
    d->max_pg = opt->port_groups;
    d->pg_min_diff = opt->port_group_min_diff;
    d->nac = 1;
    d->ac_opt = opt->addr_classes;
    gh_action_order_default(&d->order);
    /* the rules in parts, one per thread, each compiled into its own slice
     * of d->sigs, then joined in rule order */
    size_t nparts = 1;
    if (total >= 2 * PART_RULES_MIN) {
        unsigned jobs = gh_load_threads(opt->jobs);
        nparts = total / PART_RULES_MIN < jobs ? total / PART_RULES_MIN : jobs;
        nparts = nparts < PARTS_MAX ? nparts : PARTS_MAX;
    }
    compile_part parts[PARTS_MAX];
    memset(parts, 0, sizeof(parts));
    bool oom = false;
    for (size_t k = 0; k < nparts; k++) {
        compile_part *P = &parts[k];
        *P = (compile_part){.files = files, .nfiles = n, .vars = vars, .opt = opt,
                            .lo = total * k / nparts, .hi = total * (k + 1) / nparts,
                            .sigs = d->sigs + total * k / nparts, .want_errs = errs != NULL};
        /* part 0 writes straight to the caller's errors and d's pool */
        P->names = gh_var_names_new();
        P->strs = k ? gh_strpool_new() : d->strs;
        P->mem = k ? gh_arena_new(SIG_MEM * (P->hi - P->lo)) : d->mem;
        if (!P->names || !P->strs || !P->mem)
            oom = true;
    }
    if (!oom) {
        parts[0].errs = errs ? *errs : NULL;
        parts[0].nerrs = nerrs ? *nerrs : 0;
        pthread_t th[PARTS_MAX];
        bool started[PARTS_MAX] = {false};
        for (size_t k = 1; k < nparts; k++)
            started[k] = pthread_create(&th[k], NULL, compile_part_run, &parts[k]) == 0;
        compile_part_run(&parts[0]);
        for (size_t k = 1; k < nparts; k++) {
            if (started[k])
                pthread_join(th[k], NULL);
            else
                compile_part_run(&parts[k]); /* no thread: here */
        }
        if (errs) {
            *errs = parts[0].errs;
            *nerrs = parts[0].nerrs;
        }
        d->n = parts[0].n;
        parts[0].n = 0; /* d's now */
        for (size_t k = 0; k < nparts; k++)
            oom |= parts[k].oom;
        for (size_t k = 1; k < nparts && !oom; k++)
            oom = join_part(d, &parts[0], &parts[k], errs, nerrs) != 0;
        if (rep)
            for (size_t k = 0; k < nparts; k++)
                add_part_report(rep, &parts[k].rep);
    }
    pcre_reqs pre = parts[0].pre;
    parts[0].pre = (pcre_reqs){0};
    for (size_t k = 0; k < nparts; k++)
        compile_part_free(&parts[k], k == 0);
    if (oom) {
        gh_error_set(err, GH_E_NOMEM, "out of memory compiling the signatures");
        pcre_reqs_free(&pre);
        gh_dpi_free(d);
        return NULL;
    }
    for (size_t f = 0; opt->release_rules && f < n; f++)
        gh_rule_file_release(files[f]);
    for (size_t i = 0; i < d->n; i++) {
        d->n_no_stream += d->sigs[i].info.no_stream;
        d->n_app += d->sigs[i].app;
        const dpi_sig *sg = &d->sigs[i];
        for (size_t j = 0; j < sg->nkw_all; j++)
            if (sg->kw[j].type == KW_BASE64 && sg->kw[j].len > d->b64_max)
                d->b64_max = sg->kw[j].len;
        d->n_vars += sg->nvars > 0;
        d->flowvars |= sg->use[SV_FLOWBITS] || sg->use[SV_FLOWINT];
        d->xbits |= sg->use[SV_HOSTBITS] || sg->use[SV_PAIRBITS];
        d->sigs[i].info.app = d->sigs[i].app;
        d->has_thresholds |= d->sigs[i].th.present;
        d->has_tags |= d->sigs[i].ntags > 0;
    }
    if (dpi_rank(d) != 0) {
        gh_error_set(err, GH_E_NOMEM, "out of memory compiling the signatures");
        pcre_reqs_free(&pre);
        gh_dpi_free(d);
        return NULL;
    }
    int brc = build_databases(d, &pre, opt, rep, err);
    pcre_reqs_free(&pre);
    gh_mem_chunks_trim(); /* the released rules' chunks the databases did not take */
    if (brc != 0) {
        gh_dpi_free(d);
        return NULL;
    }
    d->mem_bytes = sizeof(*d) + d->n * sizeof(dpi_sig) + d->db_bytes;
    for (size_t i = 0; i < d->n; i++) {
        const dpi_sig *sg = &d->sigs[i];
        d->mem_bytes += sg->nkw_all * sizeof(dpi_kw) + sg->nseg * sizeof(dpi_seg);
        for (size_t k = 0; k < sg->nkw_all; k++) {
            d->mem_bytes += sg->kw[k].type == KW_CONTENT ? sg->kw[k].len : 0;
            if (sg->kw[k].re) {
                size_t sz = 0;
                pcre2_pattern_info(sg->kw[k].re, PCRE2_INFO_SIZE, &sz);
                d->mem_bytes += sz;
                if (rep)
                    rep->pcre++;
            }
            if (sg->kw[k].re_hs && rep)
                rep->pcre_hyperscan++;
        }
        d->mem_bytes += (sg->src.n_v4 + sg->dst.n_v4) * sizeof(gh_ip4_range) +
                        (sg->src.n_v6 + sg->dst.n_v6) * sizeof(gh_ip6_range) +
                        (sg->sp.n + sg->dp.n) * sizeof(gh_port_range);
    }
    if (rep) {
        rep->loaded = d->n;
        rep->skipped = rep->skipped_error + rep->skipped_unsupported;
        qsort(rep->kw, rep->n_kw, sizeof(rep->kw[0]), kw_cmp);
        dpi_group *g[N_GROUPS];
        for (size_t i = 0, ng = gh_detect_all_groups(d, g); i < ng; i++) {
            rep->patterns += g[i]->n_patterns;
            rep->databases += g[i]->db != NULL;
        }
        for (unsigned c = 0; c < CLS_N; c++)
            for (unsigned o = 0; o < 2; o++)
                if (d->pmap[c][o].ngroups > rep->port_groups)
                    rep->port_groups = d->pmap[c][o].ngroups;
        rep->addr_classes = d->nac;
        for (size_t i = 0; i < d->n; i++)
            rep->no_fast_pattern += d->sigs[i].fp_kw < 0;
        rep->db_bytes = d->db_bytes;
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
        const char *cat = gh_strpool_get(d->strs, e->description);
        if (!cat)
            return GH_E_NOMEM;
        in->category = cat;
        in->severity = in->priority ? in->priority : e->priority;
    }
    return dpi_rank(d) != 0 ? GH_E_NOMEM : bad;
}

void gh_dpi_set_action_order(gh_dpi *d, const gh_action_order *o)
{
    d->order = *o;
    (void)dpi_rank(d); /* out of memory: the ranks keep the previous action order */
}

const gh_action_order *gh_dpi_action_order(const gh_dpi *d)
{
    return &d->order;
}

