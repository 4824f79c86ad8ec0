/* Address and port expressions: "any", "$VAR", literals (IPv4/IPv6 address,
 * CIDR, netmask, a-b range; port, N:, :N, N:M), '!' negation and nested
 * "[...]" lists. Literals are parsed here, so a bad CIDR or port is reported
 * at its own token; variables are left for evaluation (resolve.c). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

#define MAX_LEAF 256  /* longest literal: a full IPv6 range is ~80 bytes */
#define MAX_DEPTH 32  /* nested lists */

typedef struct eparser {
    gh_arena *a;
    const gh_src *v;
    size_t p, e;
    gh_rule_expr_ctx ctx;
    gh_rule_error *err;
    int depth;
} eparser;

static const char *what(const eparser *P)
{
    return P->ctx == GH_EXPR_CTX_ADDR ? "address" : "port";
}

static void skip_ws(eparser *P)
{
    while (P->p < P->e && gh_is_ws(P->v->s[P->p]))
        P->p++;
}

static gh_rule_loc loc_at(const eparser *P, size_t off)
{
    return gh_src_loc(P->v, off);
}

/* "got 'x'" / "got end of field" for messages: the token at the cursor. */
static const char *got(const eparser *P, char *buf, size_t n)
{
    if (P->p >= P->e)
        return "end of field";
    const char *s = P->v->s;
    size_t q = P->p + 1;
    if (!strchr("[],!", s[P->p]))
        while (q < P->e && !gh_is_ws(s[q]) && !strchr("[],!", s[q]))
            q++;
    char tk[64];
    snprintf(buf, n, "'%s'", gh_tok(tk, sizeof(tk), s + P->p, q - P->p));
    return buf;
}

static gh_rule_expr *new_node(eparser *P, gh_rule_expr_kind kind, size_t off)
{
    gh_rule_expr *x = gh_arena_alloc(P->a, sizeof(*x));
    if (!x) {
        gh_rerr_set(P->err, loc_at(P, off), GH_RERR_NOMEM);
        return NULL;
    }
    x->kind = kind;
    x->loc = loc_at(P, off);
    return x;
}

/* ---- literals ---------------------------------------------------------------- */

/* Decimal number of at most @maxdigits digits, whole string. */
static bool parse_uint(const char *s, size_t n, unsigned maxdigits, unsigned long *out)
{
    if (n == 0 || n > maxdigits)
        return false;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Strict dotted quad: four decimal parts of 1-3 digits, each <= 255. */
static bool parse_ip4(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        size_t st = i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        unsigned long x;
        if (!parse_uint(s + st, i - st, 3, &x) || x > 255)
            return false;
        v = (v << 8) | (uint32_t)x;
        if (part < 3) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
    }
    if (i != n)
        return false;
    *out = v;
    return true;
}

static bool parse_ip6(const char *s, size_t n, uint8_t out[16])
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1;
}

static uint32_t mask4(unsigned prefix)
{
    return prefix == 0 ? 0 : ~(uint32_t)0 << (32 - prefix);
}

static void apply_prefix6(const uint8_t a[16], unsigned prefix, uint8_t lo[16], uint8_t hi[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;
        uint8_t m = bits == 0 ? 0 : (uint8_t)(0xffu << (8 - bits));
        lo[i] = a[i] & m;
        hi[i] = a[i] | (uint8_t)~m;
    }
}

/* Fills x (IP4/IP6) from an address literal, or returns false with a message. */
static bool parse_addr_literal(const char *t, size_t n, gh_rule_expr *x, char *msg, size_t msz)
{
    char tk[96];
    const char *dash = memchr(t, '-', n);
    const char *slash = memchr(t, '/', n);
    bool looks6 = memchr(t, ':', n) != NULL;

    if (dash && !slash) {
        size_t n1 = (size_t)(dash - t), n2 = n - n1 - 1;
        uint32_t a4, b4;
        uint8_t a6[16], b6[16];
        if (parse_ip4(t, n1, &a4) && parse_ip4(dash + 1, n2, &b4)) {
            if (a4 > b4)
                goto bad_range;
            x->kind = GH_EXPR_IP4;
            x->v.ip4.lo = a4;
            x->v.ip4.hi = b4;
            return true;
        }
        if (parse_ip6(t, n1, a6) && parse_ip6(dash + 1, n2, b6)) {
            if (memcmp(a6, b6, 16) > 0)
                goto bad_range;
            x->kind = GH_EXPR_IP6;
            memcpy(x->v.ip6.lo, a6, 16);
            memcpy(x->v.ip6.hi, b6, 16);
            return true;
        }
        snprintf(msg, msz, "bad address range '%s'", gh_tok(tk, sizeof(tk), t, n));
        return false;
    bad_range:
        snprintf(msg, msz, "bad address range '%s' (start above end)",
                 gh_tok(tk, sizeof(tk), t, n));
        return false;
    }
    if (slash) {
        size_t n1 = (size_t)(slash - t), n2 = n - n1 - 1;
        const char *pfx = slash + 1;
        uint32_t a4;
        uint8_t a6[16];
        unsigned long plen;
        if (parse_ip4(t, n1, &a4)) {
            uint32_t m;
            if (parse_uint(pfx, n2, 2, &plen) && plen <= 32) {
                m = mask4((unsigned)plen);
            } else if (parse_ip4(pfx, n2, &m) && (~m & (~m + 1)) == 0) {
                /* a dotted netmask, contiguous ones then zeros */
            } else {
                goto bad_cidr;
            }
            x->kind = GH_EXPR_IP4;
            x->v.ip4.lo = a4 & m;
            x->v.ip4.hi = a4 | ~m;
            return true;
        }
        if (parse_ip6(t, n1, a6)) {
            if (!parse_uint(pfx, n2, 3, &plen) || plen > 128)
                goto bad_cidr;
            x->kind = GH_EXPR_IP6;
            apply_prefix6(a6, (unsigned)plen, x->v.ip6.lo, x->v.ip6.hi);
            return true;
        }
        if (looks6)
            snprintf(msg, msz, "bad IPv6 address '%s'", gh_tok(tk, sizeof(tk), t, n));
        else if (isdigit((unsigned char)t[0]))
            snprintf(msg, msz, "bad IPv4 address '%s'", gh_tok(tk, sizeof(tk), t, n));
        else
            snprintf(msg, msz, "unknown address '%s'", gh_tok(tk, sizeof(tk), t, n));
        return false;
    bad_cidr:
        snprintf(msg, msz, "bad CIDR '%s'", gh_tok(tk, sizeof(tk), t, n));
        return false;
    }
    uint32_t a4;
    uint8_t a6[16];
    if (parse_ip4(t, n, &a4)) {
        x->kind = GH_EXPR_IP4;
        x->v.ip4.lo = x->v.ip4.hi = a4;
        return true;
    }
    if (parse_ip6(t, n, a6)) {
        x->kind = GH_EXPR_IP6;
        memcpy(x->v.ip6.lo, a6, 16);
        memcpy(x->v.ip6.hi, a6, 16);
        return true;
    }
    bool dotted = isdigit((unsigned char)t[0]);
    for (size_t i = 0; i < n && dotted; i++)
        dotted = isdigit((unsigned char)t[i]) || t[i] == '.';
    if (looks6)
        snprintf(msg, msz, "bad IPv6 address '%s'", gh_tok(tk, sizeof(tk), t, n));
    else if (dotted)
        snprintf(msg, msz, "bad IPv4 address '%s'", gh_tok(tk, sizeof(tk), t, n));
    else
        snprintf(msg, msz, "unknown address '%s'", gh_tok(tk, sizeof(tk), t, n));
    return false;
}

static bool parse_port_literal(const char *t, size_t n, gh_rule_expr *x, char *msg, size_t msz)
{
    char tk[96];
    unsigned long lo = 0, hi = 65535;
    const char *colon = memchr(t, ':', n);
    if (!colon) {
        if (!parse_uint(t, n, 6, &lo)) {
            snprintf(msg, msz, "unknown port '%s'", gh_tok(tk, sizeof(tk), t, n));
            return false;
        }
        hi = lo;
    } else {
        size_t n1 = (size_t)(colon - t), n2 = n - n1 - 1;
        if ((n1 == 0 && n2 == 0) || (n1 && !parse_uint(t, n1, 6, &lo)) ||
            (n2 && !parse_uint(colon + 1, n2, 6, &hi))) {
            snprintf(msg, msz, "bad port range '%s'", gh_tok(tk, sizeof(tk), t, n));
            return false;
        }
        if (n1 == 0)
            lo = 0;
        if (n2 == 0)
            hi = 65535;
    }
    if (lo > 65535 || hi > 65535) {
        snprintf(msg, msz, "port out of range (0-65535) in '%s'", gh_tok(tk, sizeof(tk), t, n));
        return false;
    }
    if (lo > hi) {
        snprintf(msg, msz, "bad port range '%s' (start above end)", gh_tok(tk, sizeof(tk), t, n));
        return false;
    }
    x->kind = GH_EXPR_PORT;
    x->v.port.lo = (uint16_t)lo;
    x->v.port.hi = (uint16_t)hi;
    return true;
}

/* ---- grammar --------------------------------------------------------------- */

static gh_rule_expr *parse_elem(eparser *P);

static bool ends_leaf(char c)
{
    return c == '[' || c == ']' || c == ',' || c == '!';
}

/* A leaf runs to the next separator. Whitespace inside is dropped when it
 * sits next to ':', '-' or '/' ("[80: 82]", "[1024: ]" as in Suricata's
 * documentation); elsewhere it ends the leaf. */
static gh_rule_expr *parse_leaf(eparser *P)
{
    const char *s = P->v->s;
    size_t start = P->p;
    char t[MAX_LEAF + 1];
    size_t n = 0;
    while (P->p < P->e && !ends_leaf(s[P->p])) {
        char c = s[P->p];
        if (gh_is_ws(c)) {
            size_t q = P->p;
            while (q < P->e && gh_is_ws(s[q]))
                q++;
            char prev = n ? t[n - 1] : 0, next = q < P->e ? s[q] : 0;
            bool join = q < P->e && !ends_leaf(next) &&
                        ((prev && strchr(":-/", prev)) || (next && strchr(":-/", next)));
            if (!join)
                break;
            P->p = q;
            continue;
        }
        if (n == MAX_LEAF) {
            gh_rerr_set(P->err, loc_at(P, start), "%s too long", what(P));
            return NULL;
        }
        t[n++] = c;
        P->p++;
    }
    t[n] = '\0';

    gh_rule_expr *x = new_node(P, GH_EXPR_ANY, start);
    if (!x)
        return NULL;
    x->text = gh_arena_strndup(P->a, t, n);
    if (!x->text) {
        gh_rerr_set(P->err, x->loc, GH_RERR_NOMEM);
        return NULL;
    }
    char msg[GH_RULE_MSG_MAX], tk[96];
    if (n == 3 && strncasecmp(t, "any", 3) == 0)
        return x;
    if (t[0] == '$') {
        bool ok = n > 1 && (isalpha((unsigned char)t[1]) || t[1] == '_');
        for (size_t i = 1; i < n && ok; i++)
            ok = isalnum((unsigned char)t[i]) || t[i] == '_';
        if (!ok) {
            gh_rerr_set(P->err, x->loc, "bad variable name '%s'", gh_tok(tk, sizeof(tk), t, n));
            return NULL;
        }
        x->kind = GH_EXPR_VAR;
        return x;
    }
    bool ok = P->ctx == GH_EXPR_CTX_ADDR ? parse_addr_literal(t, n, x, msg, sizeof(msg))
                                         : parse_port_literal(t, n, x, msg, sizeof(msg));
    if (!ok) {
        gh_rerr_set(P->err, x->loc, "%s", msg);
        return NULL;
    }
    return x;
}

static gh_rule_expr *parse_list(eparser *P)
{
    size_t open = P->p;
    char g[80];
    if (++P->depth > MAX_DEPTH) {
        gh_rerr_set(P->err, loc_at(P, open), "%s lists nested too deeply", what(P));
        return NULL;
    }
    P->p++; /* '[' */
    gh_rule_expr *x = new_node(P, GH_EXPR_LIST, open);
    if (!x)
        return NULL;
    skip_ws(P);
    if (P->p < P->e && P->v->s[P->p] == ']') {
        gh_rerr_set(P->err, x->loc, "empty %s list", what(P));
        return NULL;
    }
    gh_rule_expr **items = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        gh_rule_expr *it = parse_elem(P);
        if (!it)
            goto fail;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            gh_rule_expr **ni = realloc(items, cap * sizeof(*ni));
            if (!ni) {
                gh_rerr_set(P->err, x->loc, GH_RERR_NOMEM);
                goto fail;
            }
            items = ni;
        }
        items[n++] = it;
        skip_ws(P);
        if (P->p >= P->e) {
            gh_rerr_set(P->err, x->loc, "unclosed '[' in %s list", what(P));
            goto fail;
        }
        char c = P->v->s[P->p];
        if (c == ']') {
            P->p++;
            break;
        }
        if (c != ',') {
            gh_rerr_set(P->err, loc_at(P, P->p), "expected ',' or ']' in %s list, got %s",
                        what(P), got(P, g, sizeof(g)));
            goto fail;
        }
        P->p++;
    }
    x->items = gh_arena_alloc(P->a, n * sizeof(*items));
    if (!x->items) {
        gh_rerr_set(P->err, x->loc, GH_RERR_NOMEM);
        goto fail;
    }
    memcpy(x->items, items, n * sizeof(*items));
    x->n_items = n;
    free(items);
    P->depth--;
    return x;
fail:
    free(items);
    return NULL;
}

static gh_rule_expr *parse_elem(eparser *P)
{
    char g[80];
    skip_ws(P);
    bool neg = false;
    if (P->p < P->e && P->v->s[P->p] == '!') {
        neg = true;
        P->p++;
        skip_ws(P);
        if (P->p < P->e && P->v->s[P->p] == '!') {
            gh_rerr_set(P->err, loc_at(P, P->p), "double negation in %s", what(P));
            return NULL;
        }
    }
    if (P->p >= P->e || P->v->s[P->p] == ']' || P->v->s[P->p] == ',') {
        gh_rerr_set(P->err, loc_at(P, P->p), "expected %s%s, got %s", what(P),
                    neg ? " after '!'" : "", got(P, g, sizeof(g)));
        return NULL;
    }
    gh_rule_expr *x = P->v->s[P->p] == '[' ? parse_list(P) : parse_leaf(P);
    if (x)
        x->negated = neg;
    return x;
}

gh_rule_expr *gh_expr_parse(gh_arena *a, const gh_src *v, size_t b, size_t e,
                            gh_rule_expr_ctx ctx, gh_rule_error *err)
{
    eparser P = {.a = a, .v = v, .p = b, .e = e, .ctx = ctx, .err = err};
    gh_rule_expr *x = parse_elem(&P);
    if (!x)
        return NULL;
    skip_ws(&P);
    if (P.p < P.e) {
        gh_rerr_set(err, loc_at(&P, P.p), "unexpected '%c' after %s", v->s[P.p], what(&P));
        return NULL;
    }
    return x;
}

/* ---- standalone expressions (tests, tools) ---------------------------------- */

/* The arena pointer sits in a header just before the root node's copy. */
typedef struct standalone_root {
    gh_arena *arena;
    gh_rule_expr e;
} standalone_root;

gh_rule_expr *gh_rule_expr_parse(const char *text, gh_rule_expr_ctx ctx, gh_rule_error *err)
{
    gh_rule_error tmp;
    if (!err)
        err = &tmp;
    memset(err, 0, sizeof(*err));
    gh_arena *a = gh_arena_new(0);
    if (!a)
        return NULL;
    standalone_root *root = gh_arena_alloc(a, sizeof(*root));
    if (!root) {
        gh_arena_free(a);
        return NULL;
    }
    gh_src v = {.file = "<expr>", .s = text, .len = strlen(text), .line0 = 1, .col0 = 1};
    gh_rule_expr *x = gh_expr_parse(a, &v, 0, v.len, ctx, err);
    if (!x) {
        if (gh_rerr_is_nomem(err))
            err->message[0] = '\0';
        gh_arena_free(a);
        return NULL;
    }
    root->arena = a;
    root->e = *x;
    return &root->e;
}

void gh_rule_expr_free(gh_rule_expr *e)
{
    if (!e)
        return;
    standalone_root *root =
        (standalone_root *)(void *)((char *)e - offsetof(standalone_root, e));
    gh_arena_free(root->arena);
}
