/* Stateful keywords at run time (see state.h): the tests a candidate
 * signature must pass and the changes a matching one makes, on the flow's
 * variables and on the worker's xbits table. */
#include <stdlib.h>
#include <string.h>

#include "detect/state.h"

/* ---- flowbits and flowint ---------------------------------------------------- */

static void bit_unset(gh_flowvars *fv, uint16_t id)
{
    for (uint16_t i = 0; i < fv->nbits; i++)
        if (fv->bit[i] == id) {
            fv->bit[i] = fv->bit[--fv->nbits];
            return;
        }
}

static bool bit_set(gh_flowvars *fv, uint16_t id)
{
    if (gh_flowbits_isset(fv, id))
        return true;
    if (fv->nbits == GH_FLOWBITS_MAX)
        return false;
    fv->bit[fv->nbits++] = id;
    return true;
}

static uint32_t *int_get(gh_flowvars *fv, uint16_t id)
{
    for (uint16_t i = 0; i < fv->nints; i++)
        if (fv->int_id[i] == id)
            return &fv->int_val[i];
    return NULL;
}

static bool int_put(gh_flowvars *fv, uint16_t id, uint32_t v)
{
    uint32_t *x = int_get(fv, id);
    if (!x) {
        if (fv->nints == GH_FLOWINTS_MAX)
            return false;
        fv->int_id[fv->nints] = id;
        x = &fv->int_val[fv->nints++];
    }
    *x = v;
    return true;
}

/* The operand of a flowint option: its number, or the value of the variable
 * it names (0 when that is not set, as Suricata). */
static uint32_t int_target(gh_flowvars *fv, const dpi_var *v)
{
    if (!v->target)
        return v->value;
    uint32_t *t = int_get(fv, v->target);
    return t ? *t : 0;
}

static bool flowint_test(gh_flowvars *fv, const dpi_var *v)
{
    uint32_t *x = int_get(fv, v->ids[0]);
    if (v->cmd == FI_ISSET || v->cmd == FI_ISNOTSET)
        return (x != NULL) == (v->cmd == FI_ISSET);
    if (!x)
        return false;
    uint32_t t = int_target(fv, v);
    switch (v->cmd) {
    case FI_EQ: return *x == t;
    case FI_NE: return *x != t;
    case FI_LT: return *x < t;
    case FI_LE: return *x <= t;
    case FI_GT: return *x > t;
    default: return *x >= t;
    }
}

/* set, add and subtract wrap around in 32 bits; an add to a variable not set
 * yet starts from 0, a subtract from one changes nothing (Suricata) */
static bool flowint_apply(gh_flowvars *fv, const dpi_var *v)
{
    uint32_t t = int_target(fv, v);
    uint32_t *x = int_get(fv, v->ids[0]);
    if (v->cmd == FI_SET)
        return int_put(fv, v->ids[0], t);
    if (!x)
        return v->cmd == FI_SUB || int_put(fv, v->ids[0], t);
    *x = v->cmd == FI_ADD ? *x + t : *x - t;
    return true;
}

/* ---- xbits ------------------------------------------------------------------- */

/* Bits one host or pair keeps; beyond, a set is refused and counted. */
#define XB_BITS 8
/* Slots a key may take: its home slot and the next ones. */
#define XB_PROBE 16

typedef struct xb_entry {
    uint8_t used;     /* 0: free; else 1 + (pair ? 1 : 0) */
    uint8_t fam;      /* 4 or 6 */
    uint8_t n;
    uint8_t a[16], b[16]; /* the host (a), or the pair in address order */
    uint16_t id[XB_BITS];
    uint32_t expire[XB_BITS]; /* packet time (seconds) after which the bit is gone */
} xb_entry;

struct gh_xbits {
    xb_entry *e;
    uint32_t mask;
};

gh_xbits *gh_xbits_new(uint32_t max)
{
    uint32_t cap = XB_PROBE;
    while (cap < max && cap < (1u << 30))
        cap <<= 1;
    gh_xbits *t = calloc(1, sizeof(*t));
    if (!t || !(t->e = calloc(cap, sizeof(*t->e)))) {
        free(t);
        return NULL;
    }
    t->mask = cap - 1;
    return t;
}

void gh_xbits_free(gh_xbits *t)
{
    if (!t)
        return;
    free(t->e);
    free(t);
}

typedef struct xb_key {
    uint8_t used, fam;
    uint8_t a[16], b[16];
} xb_key;

static xb_key key_of(const gh_packet *p, uint8_t track)
{
    xb_key k = {.used = track == XB_PAIR ? 2 : 1, .fam = p->ip_ver};
    size_t n = p->ip_ver == 6 ? 16 : 4;
    const uint8_t *s = p->src.b, *d = p->dst.b;
    if (track == XB_DST)
        s = d;
    memcpy(k.a, s, n);
    if (track == XB_PAIR) { /* a pair is the same both ways (Suricata's ippair) */
        bool swap = memcmp(s, d, n) > 0;
        memcpy(k.a, swap ? d : s, n);
        memcpy(k.b, swap ? s : d, n);
    }
    return k;
}

static uint32_t key_hash(const xb_key *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    const uint8_t *b = (const uint8_t *)k;
    for (size_t i = 0; i < sizeof(*k); i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return (uint32_t)(h ^ (h >> 32));
}

static bool key_eq(const xb_entry *e, const xb_key *k)
{
    return e->used == k->used && e->fam == k->fam && !memcmp(e->a, k->a, 16) &&
           !memcmp(e->b, k->b, 16);
}

/* The entry of @p k; with @p add, made when missing (taking a free slot of
 * its window, else one whose bits all expired, else evicting the one that
 * expires first). NULL when missing and not added. */
static xb_entry *xb_find(gh_xbits *t, const xb_key *k, bool add, uint32_t now,
                         gh_state_stats *st)
{
    uint32_t h = key_hash(k);
    xb_entry *take = NULL;
    uint32_t take_exp = UINT32_MAX;
    for (uint32_t i = 0; i < XB_PROBE; i++) {
        xb_entry *e = &t->e[(h + i) & t->mask];
        if (e->used && key_eq(e, k))
            return e;
        if (!add)
            continue;
        uint32_t last = 0;
        for (uint8_t j = 0; e->used && j < e->n; j++)
            last = e->expire[j] > last ? e->expire[j] : last;
        if (!e->used || last < now)
            last = 0; /* free, or nothing left that counts */
        if (!take || last < take_exp) {
            take = e;
            take_exp = last;
        }
    }
    if (!take)
        return NULL;
    if (take_exp && st)
        st->xbits_evicted++;
    memset(take, 0, sizeof(*take));
    take->used = k->used;
    take->fam = k->fam;
    memcpy(take->a, k->a, 16);
    memcpy(take->b, k->b, 16);
    return take;
}

static int xb_bit(const xb_entry *e, uint16_t id)
{
    for (int i = 0; i < e->n; i++)
        if (e->id[i] == id)
            return i;
    return -1;
}

static void xb_remove(xb_entry *e, int i)
{
    e->n--;
    e->id[i] = e->id[e->n];
    e->expire[i] = e->expire[e->n];
}

/* isset/isnotset: an expired bit is removed and counts as not set */
static bool xbits_test(const gh_var_ctx *c, const dpi_var *v)
{
    bool want = v->cmd == FB_ISSET;
    if (!c->xb || !c->p->ip_ver)
        return false;
    xb_key k = key_of(c->p, v->track);
    xb_entry *e = xb_find(c->xb, &k, false, c->now_s, NULL);
    int i = e ? xb_bit(e, v->ids[0]) : -1;
    if (i >= 0 && e->expire[i] < c->now_s) {
        xb_remove(e, i);
        i = -1;
    }
    return (i >= 0) == want;
}

/* set adds a bit that is not there (one that is keeps its expiry, as
 * Suricata's HostBitSet); toggle removes or adds; unset removes */
static bool xbits_apply(const gh_var_ctx *c, const dpi_var *v)
{
    if (!c->xb || !c->p->ip_ver)
        return true;
    xb_key k = key_of(c->p, v->track);
    xb_entry *e = xb_find(c->xb, &k, v->cmd != FB_UNSET, c->now_s, c->st);
    if (!e)
        return true;
    int i = xb_bit(e, v->ids[0]);
    if (i >= 0 && v->cmd != FB_SET) {
        xb_remove(e, i);
        return true;
    }
    if (i >= 0 || v->cmd == FB_UNSET)
        return true;
    if (e->n == XB_BITS)
        return false;
    e->id[e->n] = v->ids[0];
    e->expire[e->n++] = c->now_s + v->value;
    return true;
}

/* ---- the signature's options ------------------------------------------------- */

static bool flowbits_test(const gh_flowvars *fv, const dpi_var *v)
{
    bool want = v->cmd == FB_ISSET;
    for (uint16_t k = 0; k < v->n; k++)
        if (gh_flowbits_isset(fv, v->ids[k]) == want)
            return true;
    return false;
}

bool gh_vars_test(const dpi_var *v, size_t n, const gh_var_ctx *c)
{
    for (size_t i = 0; i < n; i++) {
        if (!gh_var_is_test(&v[i]))
            continue;
        bool ok;
        if (v[i].kind == SV_FLOWBITS || v[i].kind == SV_FLOWINT)
            ok = c->fv && (v[i].kind == SV_FLOWBITS ? flowbits_test(c->fv, &v[i])
                                                   : flowint_test(c->fv, &v[i]));
        else
            ok = xbits_test(c, &v[i]);
        if (!ok)
            return false;
    }
    return true;
}

void gh_vars_apply(const dpi_var *v, size_t n, const gh_var_ctx *c)
{
    for (size_t i = 0; i < n; i++) {
        if (gh_var_is_test(&v[i]) || !v[i].n)
            continue;
        bool kept = true;
        if (v[i].kind == SV_FLOWBITS && c->fv) {
            uint16_t id = v[i].ids[0];
            if (v[i].cmd == FB_UNSET || (v[i].cmd == FB_TOGGLE && gh_flowbits_isset(c->fv, id)))
                bit_unset(c->fv, id);
            else
                kept = bit_set(c->fv, id);
        } else if (v[i].kind == SV_FLOWINT && c->fv) {
            kept = flowint_apply(c->fv, &v[i]);
        } else if (v[i].kind == SV_HOSTBITS || v[i].kind == SV_PAIRBITS) {
            kept = xbits_apply(c, &v[i]);
        }
        if (!kept && c->st)
            c->st->refused++;
    }
}
