/* Evaluation of address and port expressions into sorted, disjoint ranges:
 * the sets the firewall compiler builds its lookup structures from.
 *
 * Semantics (documented in rules.h): "any" is the universe, "!X" its
 * complement of X, a list is (union of plain items, or the universe when
 * there are none) minus (union of negated items), "$V" the variable's value.
 * Sets are kept as sorted arrays of disjoint, non-adjacent [lo, hi] ranges
 * of 128-bit integers, so one implementation serves IPv4, IPv6 and ports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"

typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)
#define V4_MAX ((u128)0xffffffffu)
#define PORT_MAX ((u128)65535)
#define MAX_VAR_DEPTH 32

typedef struct rng {
    u128 lo, hi;
} rng;

typedef struct rset {
    rng *r;
    size_t n, cap;
} rset;

/* v4 and v6 for addresses; ports use v4 only. */
typedef struct aset {
    rset v4, v6;
} aset;

static void rset_free(rset *s)
{
    free(s->r);
    memset(s, 0, sizeof(*s));
}

static void aset_free(aset *s)
{
    rset_free(&s->v4);
    rset_free(&s->v6);
}

/* Append range [lo, hi] as it is (no order kept, no merging). */
static int rset_append(rset *s, u128 lo, u128 hi)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        rng *p = realloc(s->r, cap * sizeof(*p));
        if (!p)
            return GH_E_NOMEM;
        s->r = p;
        s->cap = cap;
    }
    s->r[s->n].lo = lo;
    s->r[s->n].hi = hi;
    s->n++;
    return GH_OK;
}

/* Append a range that starts at or after the last one's start, merging
 * when they overlap or touch. */
static int rset_push(rset *s, u128 lo, u128 hi)
{
    if (s->n) {
        rng *last = &s->r[s->n - 1];
        if (last->hi == U128_MAX || lo <= last->hi + 1) {
            if (hi > last->hi)
                last->hi = hi;
            return GH_OK;
        }
    }
    return rset_append(s, lo, hi);
}

/* out = a | b (out must be empty and distinct from a and b). */
static int rset_union(const rset *a, const rset *b, rset *out)
{
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        const rng *x;
        if (j >= b->n || (i < a->n && a->r[i].lo <= b->r[j].lo))
            x = &a->r[i++];
        else
            x = &b->r[j++];
        if (rset_push(out, x->lo, x->hi) != GH_OK)
            return GH_E_NOMEM;
    }
    return GH_OK;
}

/* out = a - b. */
static int rset_sub(const rset *a, const rset *b, rset *out)
{
    size_t j = 0;
    for (size_t i = 0; i < a->n; i++) {
        u128 lo = a->r[i].lo, hi = a->r[i].hi;
        while (j < b->n && b->r[j].hi < lo)
            j++;
        size_t k = j;
        bool done = false;
        while (k < b->n && b->r[k].lo <= hi) {
            if (b->r[k].lo > lo && rset_push(out, lo, b->r[k].lo - 1) != GH_OK)
                return GH_E_NOMEM;
            if (b->r[k].hi >= hi) {
                done = true;
                break;
            }
            lo = b->r[k].hi + 1;
            k++;
        }
        if (!done && rset_push(out, lo, hi) != GH_OK)
            return GH_E_NOMEM;
    }
    return GH_OK;
}

static int rset_full(rset *s, u128 max)
{
    return rset_push(s, 0, max);
}

/* ---- evaluation --------------------------------------------------------- */

typedef struct ectx {
    const gh_rule_vars *vars;
    gh_rule_expr_ctx ctx;
    gh_rule_error *err;
    const char *stack[MAX_VAR_DEPTH]; /* variables being expanded, outermost first */
    int depth;
    gh_rule_loc use;                  /* the outermost variable's token */
} ectx;

static const char *what(const ectx *E)
{
    return E->ctx == GH_EXPR_CTX_ADDR ? "address" : "port";
}

/* Report at @loc, or, inside a variable, at the variable's use in the rule
 * with the chain of variables and the real position in the message. */
__attribute__((format(printf, 3, 4))) static int fail(ectx *E, gh_rule_loc loc,
                                                      const char *fmt, ...)
{
    char msg[GH_RULE_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (E->depth == 0) {
        gh_rerr_set(E->err, loc, "%s", msg);
        return GH_E_FORMAT;
    }
    char chain[160] = "";
    size_t n = 0;
    for (int i = 0; i < E->depth && n < sizeof(chain); i++)
        n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s$%s", i ? " -> " : "",
                              E->stack[i]);
    gh_rerr_set(E->err, E->use, "%s (in %s, %s:%u:%u)", msg, chain, loc.file ? loc.file : "?",
                loc.line, loc.col);
    return GH_E_FORMAT;
}

static int universe(const ectx *E, aset *out)
{
    if (E->ctx == GH_EXPR_CTX_PORT)
        return rset_full(&out->v4, PORT_MAX);
    if (rset_full(&out->v4, V4_MAX) != GH_OK || rset_full(&out->v6, U128_MAX) != GH_OK)
        return GH_E_NOMEM;
    return GH_OK;
}

static bool aset_empty(const aset *s)
{
    return s->v4.n == 0 && s->v6.n == 0;
}

static u128 ip6_to_u128(const uint8_t b[16])
{
    u128 v = 0;
    for (int i = 0; i < 16; i++)
        v = (v << 8) | b[i];
    return v;
}

static void u128_to_ip6(u128 v, uint8_t b[16])
{
    for (int i = 15; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* a = a op b, where op is union (sub=false) or difference (sub=true). */
static int aset_combine(aset *a, const aset *b, bool sub)
{
    aset r = {0};
    int rc = sub ? rset_sub(&a->v4, &b->v4, &r.v4) : rset_union(&a->v4, &b->v4, &r.v4);
    if (rc == GH_OK)
        rc = sub ? rset_sub(&a->v6, &b->v6, &r.v6) : rset_union(&a->v6, &b->v6, &r.v6);
    if (rc != GH_OK) {
        aset_free(&r);
        return rc;
    }
    aset_free(a);
    *a = r;
    return GH_OK;
}

static int eval_neg(ectx *E, const gh_rule_expr *x, aset *out);

struct gh_var_memo {
    aset s;
};

void gh_var_memo_clear(gh_var *v)
{
    for (int i = 0; i < 2; i++) {
        struct gh_var_memo *m = atomic_exchange(&v->memo[i], NULL);
        if (m) {
            aset_free(&m->s);
            free(m);
        }
    }
}

static int rset_copy(const rset *a, rset *out)
{
    memset(out, 0, sizeof(*out));
    if (!a->n)
        return GH_OK;
    if (!(out->r = malloc(a->n * sizeof(*a->r))))
        return GH_E_NOMEM;
    memcpy(out->r, a->r, a->n * sizeof(*a->r));
    out->n = out->cap = a->n;
    return GH_OK;
}

static int aset_copy(const aset *a, aset *out)
{
    int rc = rset_copy(&a->v4, &out->v4);
    if (rc == GH_OK && (rc = rset_copy(&a->v6, &out->v6)) != GH_OK)
        rset_free(&out->v4);
    return rc;
}

/* Keep @s as @v's value in the current context. Whoever publishes first wins;
 * a concurrent loser frees its copy. Out of memory only skips the memo. */
static void memo_put(const ectx *E, const gh_var *v, const aset *s)
{
    struct gh_var_memo *m = malloc(sizeof(*m));
    if (!m)
        return;
    if (aset_copy(s, &m->s) != GH_OK) {
        free(m);
        return;
    }
    struct gh_var_memo *none = NULL;
    gh_var *w = (gh_var *)v; /* the memo is a cache, not part of the value */
    if (!atomic_compare_exchange_strong(&w->memo[E->ctx == GH_EXPR_CTX_PORT], &none, m)) {
        aset_free(&m->s);
        free(m);
    }
}

/* Text of an expression for messages. */
static const char *expr_text(const gh_rule_expr *x, char *buf, size_t n)
{
    if (x->text)
        return gh_tok(buf, n, x->text, strlen(x->text));
    return "list";
}

static int eval_var(ectx *E, const gh_rule_expr *x, aset *out)
{
    const char *name = x->text + 1;
    const gh_var *v = gh_vars_lookup(E->vars, name);
    if (!v)
        return fail(E, x->loc, "undefined variable '%s'", x->text);
    for (int i = 0; i < E->depth; i++) {
        if (strcmp(E->stack[i], name) == 0) {
            char chain[200] = "";
            size_t n = 0;
            for (int j = i; j < E->depth && n < sizeof(chain); j++)
                n += (size_t)snprintf(chain + n, sizeof(chain) - n, "$%s -> ", E->stack[j]);
            gh_rerr_set(E->err, E->use, "variable cycle: %s$%s", chain, name);
            return GH_E_FORMAT;
        }
    }
    if (E->depth == MAX_VAR_DEPTH)
        return fail(E, x->loc, "variables nested too deeply at '%s'", x->text);
    /* an evaluation that succeeded once had no cycle and no error */
    const struct gh_var_memo *m =
        atomic_load_explicit(&v->memo[E->ctx == GH_EXPR_CTX_PORT], memory_order_acquire);
    if (m)
        return aset_copy(&m->s, out);
    const gh_rule_expr *val = E->ctx == GH_EXPR_CTX_ADDR ? v->as_addr : v->as_port;
    const gh_rule_expr *other = E->ctx == GH_EXPR_CTX_ADDR ? v->as_port : v->as_addr;
    const gh_rule_error *perr = E->ctx == GH_EXPR_CTX_ADDR ? &v->addr_err : &v->port_err;
    if (!val && other)
        return fail(E, x->loc, "variable '%s' holds %s", x->text,
                    E->ctx == GH_EXPR_CTX_ADDR ? "ports, not addresses" : "addresses, not ports");
    if (E->depth == 0)
        E->use = x->loc;
    E->stack[E->depth++] = v->name;
    int rc;
    if (!val)
        rc = fail(E, perr->loc, "%s", perr->message);
    else
        rc = eval_neg(E, val, out);
    E->depth--;
    if (rc == GH_OK && aset_empty(out))
        rc = fail(E, x->loc, "$%s matches no %s (defined at %s:%u:%u)", v->name, what(E),
                  v->loc.file, v->loc.line, v->loc.col);
    if (rc == GH_OK)
        memo_put(E, v, out);
    return rc;
}

static int rng_cmp(const void *a, const void *b)
{
    const rng *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The literal ranges @p raw (any order, may overlap) into @p s as a set. */
static int rset_from_raw(rset *raw, rset *s)
{
    if (raw->n > 1)
        qsort(raw->r, raw->n, sizeof(*raw->r), rng_cmp);
    for (size_t i = 0; i < raw->n; i++)
        if (rset_push(s, raw->r[i].lo, raw->r[i].hi) != GH_OK)
            return GH_E_NOMEM;
    return GH_OK;
}

/* The range of literal @p x (GH_EXPR_IP4, _IP6 or _PORT). */
static rng literal_range(const gh_rule_expr *x)
{
    if (x->kind == GH_EXPR_IP4)
        return (rng){x->v.ip4.lo, x->v.ip4.hi};
    if (x->kind == GH_EXPR_IP6)
        return (rng){ip6_to_u128(x->v.ip6.lo), ip6_to_u128(x->v.ip6.hi)};
    return (rng){x->v.port.lo, x->v.port.hi};
}

/* A literal of the context's kind, not negated: gathered, then sorted once
 * (a reputation list of hundreds of addresses merged one at a time cost a
 * copy of the list per address). */
static bool plain_literal(const ectx *E, const gh_rule_expr *it)
{
    if (it->negated)
        return false;
    if (E->ctx == GH_EXPR_CTX_PORT)
        return it->kind == GH_EXPR_PORT;
    return it->kind == GH_EXPR_IP4 || it->kind == GH_EXPR_IP6;
}

static int eval_list(ectx *E, const gh_rule_expr *x, aset *out)
{
    aset pos = {0}, neg = {0}, item = {0}, lit = {0};
    bool any_pos = false;
    int rc = GH_OK;
    for (size_t i = 0; i < x->n_items && rc == GH_OK; i++) {
        const gh_rule_expr *it = x->items[i];
        if (plain_literal(E, it)) {
            any_pos = true;
            /* unsorted: rset_push merges only with the last range, which
             * rset_from_raw's sorted pass makes right */
            rng r = literal_range(it);
            rc = rset_append(it->kind == GH_EXPR_IP6 ? &lit.v6 : &lit.v4, r.lo, r.hi);
            continue;
        }
        gh_rule_expr plain = *it;
        plain.negated = false; /* a negated item is subtracted, not complemented */
        rc = eval_neg(E, &plain, &item);
        if (rc == GH_OK)
            rc = aset_combine(it->negated ? &neg : &pos, &item, false);
        any_pos |= !it->negated;
        aset_free(&item);
    }
    if (rc == GH_OK && (lit.v4.n || lit.v6.n)) {
        aset ls = {0};
        rc = rset_from_raw(&lit.v4, &ls.v4);
        if (rc == GH_OK)
            rc = rset_from_raw(&lit.v6, &ls.v6);
        if (rc == GH_OK)
            rc = aset_combine(&pos, &ls, false);
        aset_free(&ls);
    }
    aset_free(&lit);
    if (rc == GH_OK && !any_pos)
        rc = universe(E, &pos);
    if (rc == GH_OK)
        rc = aset_combine(&pos, &neg, true);
    aset_free(&neg);
    if (rc == GH_OK && aset_empty(&pos)) {
        gh_sbuf b = {0};
        gh_rule_expr shown = *x;
        shown.negated = false;
        gh_expr_format(&b, &shown);
        char tk[96];
        rc = fail(E, x->loc, "%s list '%s' matches nothing", what(E),
                  b.p ? gh_tok(tk, sizeof(tk), b.p, b.len) : "[...]");
        free(b.p);
    }
    if (rc != GH_OK) {
        aset_free(&pos);
        return rc;
    }
    *out = pos;
    return GH_OK;
}

static int eval_plain(ectx *E, const gh_rule_expr *x, aset *out)
{
    switch (x->kind) {
    case GH_EXPR_ANY:
        return universe(E, out);
    case GH_EXPR_VAR:
        return eval_var(E, x, out);
    case GH_EXPR_LIST:
        return eval_list(E, x, out);
    case GH_EXPR_IP4:
    case GH_EXPR_IP6:
    case GH_EXPR_PORT: {
        rng r = literal_range(x);
        return rset_push(x->kind == GH_EXPR_IP6 ? &out->v6 : &out->v4, r.lo, r.hi);
    }
    }
    return GH_E_INVAL;
}

static int eval_neg(ectx *E, const gh_rule_expr *x, aset *out)
{
    memset(out, 0, sizeof(*out));
    if ((E->ctx == GH_EXPR_CTX_ADDR && x->kind == GH_EXPR_PORT) ||
        (E->ctx == GH_EXPR_CTX_PORT && (x->kind == GH_EXPR_IP4 || x->kind == GH_EXPR_IP6)))
        return fail(E, x->loc, "'%s' is not a%s %s", x->text,
                    E->ctx == GH_EXPR_CTX_ADDR ? "n" : "", what(E));
    aset v = {0};
    int rc = eval_plain(E, x, &v);
    if (rc == GH_OK && x->negated) {
        aset u = {0};
        rc = universe(E, &u);
        if (rc == GH_OK)
            rc = aset_combine(&u, &v, true);
        aset_free(&v);
        v = u;
    }
    if (rc != GH_OK) {
        aset_free(&v);
        if (rc == GH_E_NOMEM)
            gh_rerr_set(E->err, x->loc, GH_RERR_NOMEM);
        return rc;
    }
    *out = v;
    return GH_OK;
}

static int eval_root(const gh_rule_expr *e, const gh_rule_vars *vars, gh_rule_expr_ctx ctx,
                     aset *out, gh_rule_error *err)
{
    gh_rule_error tmp;
    ectx E = {.vars = vars, .ctx = ctx, .err = err ? err : &tmp};
    int rc = eval_neg(&E, e, out);
    if (rc == GH_OK && aset_empty(out)) {
        char tk[96];
        aset_free(out);
        gh_rerr_set(E.err, e->loc, "'%s%s' matches no %s", e->negated ? "!" : "",
                    expr_text(e, tk, sizeof(tk)), what(&E));
        rc = GH_E_FORMAT;
    }
    return rc;
}

int gh_rule_eval_addr(const gh_rule_expr *e, const gh_rule_vars *vars, gh_addr_set *out,
                      gh_rule_error *err)
{
    memset(out, 0, sizeof(*out));
    aset s;
    int rc = eval_root(e, vars, GH_EXPR_CTX_ADDR, &s, err);
    if (rc != GH_OK)
        return rc;
    if (s.v4.n && !(out->v4 = malloc(s.v4.n * sizeof(*out->v4))))
        goto nomem;
    if (s.v6.n && !(out->v6 = malloc(s.v6.n * sizeof(*out->v6))))
        goto nomem;
    for (size_t i = 0; i < s.v4.n; i++) {
        out->v4[i].lo = (uint32_t)s.v4.r[i].lo;
        out->v4[i].hi = (uint32_t)s.v4.r[i].hi;
    }
    for (size_t i = 0; i < s.v6.n; i++) {
        u128_to_ip6(s.v6.r[i].lo, out->v6[i].lo);
        u128_to_ip6(s.v6.r[i].hi, out->v6[i].hi);
    }
    out->n_v4 = s.v4.n;
    out->n_v6 = s.v6.n;
    aset_free(&s);
    return GH_OK;
nomem:
    aset_free(&s);
    gh_addr_set_free(out);
    if (err)
        gh_rerr_set(err, e->loc, GH_RERR_NOMEM);
    return GH_E_NOMEM;
}

int gh_rule_eval_port(const gh_rule_expr *e, const gh_rule_vars *vars, gh_port_set *out,
                      gh_rule_error *err)
{
    memset(out, 0, sizeof(*out));
    aset s;
    int rc = eval_root(e, vars, GH_EXPR_CTX_PORT, &s, err);
    if (rc != GH_OK)
        return rc;
    if (s.v4.n && !(out->r = malloc(s.v4.n * sizeof(*out->r)))) {
        aset_free(&s);
        if (err)
            gh_rerr_set(err, e->loc, GH_RERR_NOMEM);
        return GH_E_NOMEM;
    }
    for (size_t i = 0; i < s.v4.n; i++) {
        out->r[i].lo = (uint16_t)s.v4.r[i].lo;
        out->r[i].hi = (uint16_t)s.v4.r[i].hi;
    }
    out->n = s.v4.n;
    aset_free(&s);
    return GH_OK;
}

void gh_addr_set_free(gh_addr_set *s)
{
    if (!s)
        return;
    free(s->v4);
    free(s->v6);
    memset(s, 0, sizeof(*s));
}

void gh_port_set_free(gh_port_set *s)
{
    if (!s)
        return;
    free(s->r);
    memset(s, 0, sizeof(*s));
}
