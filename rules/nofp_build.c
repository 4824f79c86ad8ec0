/* Signatures without a fast pattern: the address set that makes each one
 * selective, and the interval indexes the packet's addresses look up
 * (run side: add_nofp in engine/detect/prefilter.c). Reputation lists
 * (ET's botcc, compromised, dshield, tor: a thousand signatures of a few
 * addresses each) would otherwise be candidates on every packet. Each entry
 * also carries what its flags and ip_proto keywords need of the packet, so
 * that ET's scan signatures (flags:S on $HOME_NET) are not verified on
 * every packet of the home network that is not a SYN. */
#include <stdlib.h>
#include <string.h>

#include "nofp_build.h"

/* A set makes a signature selective when it holds at most this share of its
 * family's addresses: $HOME_NET or a list, not "any" or !$HOME_NET. */
#define SELECTIVE_SHARE (1.0 / 8)
/* An index whose entries exceed this many per indexed range (sets that
 * overlap many small ranges of other sets) is not built: its signatures
 * join the list checked on every buffer. */
#define ENTRIES_PER_RANGE 8
#define ENTRIES_SLACK 65536

typedef struct ent {
    uint32_t sig;
    const gh_addr_set *set;
} ent;

typedef struct ent_list {
    ent *e;
    size_t n;
} ent_list;

static uint64_t be64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static size_t nranges(const gh_addr_set *s, unsigned f)
{
    return f ? s->n_v6 : s->n_v4;
}

static dpi_akey range_lo(const gh_addr_set *s, unsigned f, size_t i)
{
    if (!f)
        return (dpi_akey){.hi = (uint64_t)s->v4[i].lo << 32};
    return (dpi_akey){be64(s->v6[i].lo), be64(s->v6[i].lo + 8)};
}

/* The first address after range @p i into @p k; false when it ends the family. */
static bool range_end(const gh_addr_set *s, unsigned f, size_t i, dpi_akey *k)
{
    if (!f) {
        if (s->v4[i].hi == UINT32_MAX)
            return false;
        *k = (dpi_akey){.hi = (uint64_t)(s->v4[i].hi + 1) << 32};
        return true;
    }
    *k = (dpi_akey){be64(s->v6[i].hi), be64(s->v6[i].hi + 8)};
    if (++k->lo == 0 && ++k->hi == 0)
        return false;
    return true;
}

/* The share of family @p f's addresses in @p s (IPv6: by the top 64 bits). */
static double share(const gh_addr_set *s, unsigned f)
{
    double sum = 0;
    for (size_t i = 0; i < nranges(s, f); i++) {
        if (f)
            sum += (double)(be64(s->v6[i].hi) - be64(s->v6[i].lo)) + 1;
        else
            sum += (double)(s->v4[i].hi - s->v4[i].lo) + 1;
    }
    return sum / (f ? 18446744073709551616.0 : 4294967296.0);
}

static int akey_cmp(const void *a, const void *b)
{
    const dpi_akey *x = a, *y = b;
    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The position of point @p k, which is in pt[0..n). */
static uint32_t point_at(const dpi_akey *pt, uint32_t n, dpi_akey k)
{
    const dpi_akey *at = bsearch(&k, pt, n, sizeof(*pt), akey_cmp);
    return (uint32_t)(at - pt);
}

/* The intervals range @p i of @p s covers: [*a, *b). */
static void span(const dpi_aidx *x, const gh_addr_set *s, unsigned f, size_t i, uint32_t *a,
                 uint32_t *b)
{
    dpi_akey end;
    *a = point_at(x->pt, x->n, range_lo(s, f, i));
    *b = range_end(s, f, i, &end) ? point_at(x->pt, x->n, end) : x->n;
}

static void aidx_free(dpi_aidx *x)
{
    free(x->pt);
    free(x->off);
    free(x->ids);
    free(x->need);
    memset(x, 0, sizeof(*x));
}

/* The one port of @p s, 0 when it has several (or is port 0). */
static uint16_t one_port(const gh_port_set *s)
{
    return s->n == 1 && s->r[0].lo == s->r[0].hi ? s->r[0].lo : 0;
}

/* What a packet of family @p f needs for @p sg's flags and ip_proto keywords
 * (gh_hdr_match_eval) and for its ports, when the rule names one in a
 * direction (header_ok): a cheap test before its candidacy. Port groups
 * separate signatures by port only as far as their merging leaves them
 * apart; scan rules (flags:S to one port each) then all sit in one. */
static dpi_nofp_need need_of(const dpi_sig *sg, unsigned f)
{
    dpi_nofp_need n = {0};
    if (!sg->any_ports && !sg->bidir) {
        n.sport = one_port(&sg->sp);
        n.dport = one_port(&sg->dp);
    }
    const gh_hdr_match *m = &sg->hm;
    if (m->present & GH_HM_FLAGS) {
        if (m->flags.mode == GH_BITS_EXACT)
            n.tcp_flags = m->flags.bits & (uint8_t)~m->flags.ignore;
        else if (m->flags.mode == GH_BITS_PLUS)
            n.tcp_flags = m->flags.bits;
    }
    /* IPv6 extension headers also count as the protocol: IPv4 only */
    if (!f && (m->present & GH_HM_IP_PROTO) && m->ip_proto.mode == GH_UINT_EQ)
        n.proto = (uint8_t)m->ip_proto.a;
    return n;
}

/* Index the entries @p l of family @p f into @p x: 0, 1 when it would be
 * too large (nothing built), -1 out of memory. */
static int aidx_build(const gh_dpi *d, dpi_aidx *x, const ent_list *l, unsigned f)
{
    if (!l->n)
        return 0;
    size_t nr = 0;
    for (size_t i = 0; i < l->n; i++)
        nr += nranges(l->e[i].set, f);
    if (!(x->pt = malloc((2 * nr + 1) * sizeof(*x->pt))))
        return -1;
    size_t np = 0;
    x->pt[np++] = (dpi_akey){0, 0};
    for (size_t i = 0; i < l->n; i++)
        for (size_t r = 0; r < nranges(l->e[i].set, f); r++) {
            x->pt[np++] = range_lo(l->e[i].set, f, r);
            np += range_end(l->e[i].set, f, r, &x->pt[np]);
        }
    qsort(x->pt, np, sizeof(*x->pt), akey_cmp);
    uint32_t n = 0;
    for (size_t i = 0; i < np; i++)
        if (!n || akey_cmp(&x->pt[n - 1], &x->pt[i]))
            x->pt[n++] = x->pt[i];
    x->n = n;
    /* each range's intervals [a, b), found once (two binary searches) */
    uint32_t (*sp)[2] = malloc((nr ? nr : 1) * sizeof(*sp));
    if (!sp)
        return -1;
    size_t total = 0, k = 0;
    for (size_t i = 0; i < l->n; i++)
        for (size_t r = 0; r < nranges(l->e[i].set, f); r++, k++) {
            span(x, l->e[i].set, f, r, &sp[k][0], &sp[k][1]);
            total += sp[k][1] - sp[k][0];
        }
    if (total > ENTRIES_PER_RANGE * nr + ENTRIES_SLACK) {
        free(sp);
        aidx_free(x);
        return 1;
    }
    uint32_t *at = NULL;
    if (!(x->off = calloc((size_t)n + 1, sizeof(*x->off))) ||
        !(x->ids = malloc((total ? total : 1) * sizeof(*x->ids))) ||
        !(x->need = malloc((total ? total : 1) * sizeof(*x->need))) ||
        !(at = malloc((size_t)n * sizeof(*at)))) {
        free(sp);
        return -1;
    }
    for (k = 0; k < nr; k++)
        for (uint32_t j = sp[k][0]; j < sp[k][1]; j++)
            x->off[j + 1]++;
    for (uint32_t j = 0; j < n; j++)
        x->off[j + 1] += x->off[j];
    memcpy(at, x->off, (size_t)n * sizeof(*at));
    k = 0;
    for (size_t i = 0; i < l->n; i++) {
        dpi_nofp_need need = need_of(&d->sigs[l->e[i].sig], f);
        for (size_t r = 0; r < nranges(l->e[i].set, f); r++, k++)
            for (uint32_t j = sp[k][0]; j < sp[k][1]; j++) {
                x->need[at[j]] = need;
                x->ids[at[j]++] = l->e[i].sig;
            }
    }
    free(at);
    free(sp);
    return 0;
}

static void push_all(const gh_dpi *d, dpi_nofp *nf, uint32_t id, unsigned f)
{
    nf->need[nf->n_all] = need_of(&d->sigs[id], f);
    nf->all[nf->n_all++] = id;
}

/* Family @p f's signatures of @p ids into @p nf. */
static int nofp_family(const gh_dpi *d, dpi_nofp *nf, const uint32_t *ids, size_t n, unsigned f,
                       ent_list side[2])
{
    uint8_t fam = f ? FAM_V6 : FAM_V4;
    side[0].n = side[1].n = 0;
    /* room for a bidirectional signature in both fallbacks (add_cand keeps one) */
    if (n && (!(nf->all = malloc(2 * n * sizeof(*nf->all))) ||
              !(nf->need = malloc(2 * n * sizeof(*nf->need)))))
        return GH_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const dpi_sig *sg = &d->sigs[ids[i]];
        if (!(sg->family & fam))
            continue;
        double ss = share(&sg->src, f), sd = share(&sg->dst, f);
        if (ss > SELECTIVE_SHARE && sd > SELECTIVE_SHARE) {
            push_all(d, nf, ids[i], f);
            continue;
        }
        /* the packet's source in the source set, or the destination in the
         * destination set; a bidirectional signature also the other way */
        unsigned s = ss <= sd ? 0 : 1;
        const gh_addr_set *set = s ? &sg->dst : &sg->src;
        if (!nranges(set, f))
            continue; /* no address of this family: it never matches one */
        side[s].e[side[s].n++] = (ent){ids[i], set};
        if (sg->bidir)
            side[!s].e[side[!s].n++] = (ent){ids[i], set};
    }
    for (unsigned s = 0; s < 2; s++) {
        int rc = aidx_build(d, &nf->by[s], &side[s], f);
        if (rc < 0)
            return GH_E_NOMEM;
        for (size_t i = 0; rc == 1 && i < side[s].n; i++)
            push_all(d, nf, side[s].e[i].sig, f);
    }
    return GH_OK;
}

int gh_nofp_build(const gh_dpi *d, dpi_nofp nofp[2], const uint32_t *ids, size_t n)
{
    ent_list side[2] = {{malloc((n ? n : 1) * sizeof(ent)), 0},
                        {malloc((n ? n : 1) * sizeof(ent)), 0}};
    int rc = side[0].e && side[1].e ? GH_OK : GH_E_NOMEM;
    for (unsigned f = 0; f < 2 && rc == GH_OK; f++)
        rc = nofp_family(d, &nofp[f], ids, n, f, side);
    free(side[0].e);
    free(side[1].e);
    return rc;
}

void gh_nofp_free(dpi_nofp nofp[2])
{
    for (unsigned f = 0; f < 2; f++) {
        free(nofp[f].all);
        free(nofp[f].need);
        for (unsigned s = 0; s < 2; s++)
            aidx_free(&nofp[f].by[s]);
        memset(&nofp[f], 0, sizeof(nofp[f]));
    }
}
