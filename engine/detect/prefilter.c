/* Signature candidates and verdicts for packets and TCP stream windows:
 * Hyperscan scans of the fast patterns (block mode per packet, streaming
 * mode per stream direction), then each candidate's header match and its
 * content verification (inspect.c), hits in precedence order. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "detect/detect_int.h"
#include "detect/detect_tx.h"
/* ---- address and port sets ------------------------------------------------ */

static bool addr_in(const gh_addr_set *s, const gh_packet *p, const gh_addr *a)
{
    return gh_detect_addr_in(s, p->ip_ver, a);
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

static inline unsigned port_group(const gh_dpi *d, unsigned cls, unsigned o, const gh_packet *p)
{
    const port_map *m = &d->pmap[cls][o];
    if (m->n == 0)
        return 0;
    uint16_t key = o ? p->sport : p->dport;
    size_t l = 0, h = m->n;
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if (m->lo[mid] <= key)
            l = mid + 1;
        else
            h = mid;
    }
    return m->grp[l - 1];
}

size_t gh_detect_all_groups(const gh_dpi *d, dpi_group **out)
{
    size_t n = 0;
    for (unsigned ac = 0; ac < (d->nac ? d->nac : 1); ac++) {
        dpi_groupset *gs = (dpi_groupset *)&d->gs[ac];
        for (unsigned o = 0; o < 2; o++)
            for (unsigned g = 0; g < PG_MAX; g++) {
                for (unsigned c = 0; c < CLS_N; c++)
                    out[n++] = &gs->groups[c][o][g];
                out[n++] = &gs->sgroups[o][g];
                out[n++] = &gs->pgroups[o][g];
            }
        for (unsigned o = 0; o < 2; o++)
            for (unsigned st = 0; st <= GH_STAGE_DONE; st++)
                for (unsigned b = 0; b < GH_BUF_N; b++)
                    out[n++] = &gs->txg[o][st][b];
        for (unsigned o = 0; o < 2; o++)
            for (unsigned st = 0; st <= GH_STAGE_DONE; st++)
                for (unsigned x = 0; x < XBUF_MAX; x++)
                    out[n++] = &gs->txx[o][st][x];
    }
    return n;
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
    s->pidx = malloc(n * sizeof(*s->pidx));
    s->pmark = calloc(n, sizeof(*s->pmark));
    s->pcand = malloc(n * sizeof(*s->pcand));
    s->fbc = malloc(n * sizeof(*s->fbc));
    s->md = pcre2_match_data_create(4, NULL); /* pcrexform reads the first group */
    if (d->n_app && (!(s->xa = malloc(XF_CAP)) || !(s->xb = malloc(XF_CAP))))
        goto oom;
    if (d->b64_max && !(s->b64 = malloc(d->b64_max)))
        goto oom;
    s->mctx = pcre2_match_context_create(NULL);
    if (!s->mark || !s->cand || !s->hits || !s->pidx || !s->pmark || !s->pcand || !s->fbc ||
        !s->md || !s->mctx)
        goto oom;
    pcre2_set_match_limit(s->mctx, PCRE_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, PCRE_DEPTH_LIMIT);
    dpi_group *g[N_GROUPS];
    for (size_t i = 0, ng = gh_detect_all_groups(d, g); i < ng; i++)
        if (g[i]->db && hs_alloc_scratch(g[i]->db, &s->hs) != HS_SUCCESS) {
            gh_error_set(err, GH_E_NOMEM, "hyperscan: cannot allocate scratch");
            gh_dpi_scratch_free(s);
            return NULL;
        }
    for (size_t i = 0; i < d->n; i++)
        for (size_t k = 0; k < d->sigs[i].nkw_all; k++)
            if (d->sigs[i].kw[k].re_hs &&
                hs_alloc_scratch(d->sigs[i].kw[k].re_hs, &s->hs) != HS_SUCCESS) {
                gh_error_set(err, GH_E_NOMEM, "hyperscan: cannot allocate scratch");
                gh_dpi_scratch_free(s);
                return NULL;
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
    return sizeof(*s) + hs + (s->d->n ? s->d->n : 1) * 7 * sizeof(uint32_t);
}

void gh_dpi_scratch_free(gh_dpi_scratch *s)
{
    if (!s)
        return;
    hs_free_scratch(s->hs);
    free(s->mark);
    free(s->cand);
    free(s->hits);
    free(s->pidx);
    free(s->pmark);
    free(s->pcand);
    free(s->fbc);
    free(s->xa);
    free(s->xb);
    free(s->b64);
    pcre2_match_data_free(s->md);
    pcre2_match_context_free(s->mctx);
    free(s);
}

void gh_dpi_scratch_get_stats(const gh_dpi_scratch *s, gh_dpi_scratch_stats *st)
{
    *st = s->stats;
    st->vars_refused = s->state.refused;
    st->xbits_evicted = s->state.xbits_evicted;
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

/* Address @p a of the packet in the signature's set @p s (dpi_sig.src_as or
 * dst_as @p as; @p home: the address is in the home set). */
static inline bool addr_ok(const gh_addr_set *s, uint8_t as, bool home, const gh_packet *p,
                           const gh_addr *a)
{
    switch (as) {
    case ADDR_ANY:
        return true;
    case ADDR_HOME:
        return home;
    case ADDR_NOT_HOME:
        return !home;
    default:
        return addr_in(s, p, a);
    }
}

/* @p ac: the packet's address class (gh_detect_addr_class; 0 with one). */
static bool header_ok(const dpi_sig *sg, const gh_packet *p, unsigned kind, unsigned ac)
{
    if (!(sg->kinds & kind) || !(sg->family & (p->ip_ver == 4 ? FAM_V4 : FAM_V6)))
        return false;
    if (!sg->any_ports && !(kind & (PK_TCP | PK_UDP)))
        return false;
    bool sh = ac >> 1, dh = ac & 1; /* source, destination in the home set */
    if (addr_ok(&sg->src, sg->src_as, sh, p, &p->src) &&
        addr_ok(&sg->dst, sg->dst_as, dh, p, &p->dst) &&
        (sg->any_ports || (port_in(&sg->sp, p->sport) && port_in(&sg->dp, p->dport))))
        return true;
    return sg->bidir && addr_ok(&sg->src, sg->src_as, dh, p, &p->dst) &&
           addr_ok(&sg->dst, sg->dst_as, sh, p, &p->src) &&
           (sg->any_ports || (port_in(&sg->sp, p->dport) && port_in(&sg->dp, p->sport)));
}

/* The application protocol a signature needs: its rule protocol (alert
 * http) and app-layer-protocol. An unknown protocol is not http. */
/* A signature's protocol against the flow's, as Suricata's AppProtoEquals:
 * DCERPC signatures also take SMB flows (DCERPC over SMB). */
static bool alproto_is(uint8_t sig, uint8_t flow)
{
    return sig == flow || (sig == GH_ALPROTO_DCERPC && flow == GH_ALPROTO_SMB);
}

static bool alproto_ok(const dpi_sig *sg, const gh_pkt_state *st)
{
    if (sg->alproto && !alproto_is(sg->alproto, st->alproto))
        return false;
    if (sg->alproto_kw && alproto_is(sg->alproto_val, st->alproto) == sg->alproto_neg)
        return false;
    return true;
}

static inline void add_cand(gh_dpi_scratch *s, uint32_t id)
{
    if (s->mark[id] != s->gen) {
        s->mark[id] = s->gen;
        s->cand[s->ncand++] = id;
    }
}

static inline uint64_t be64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, sizeof(v));
    return __builtin_bswap64(v);
}

/* Can a packet with TCP flags @p flags (0: not TCP) meet @p n? */
static inline bool need_met(dpi_nofp_need n, uint8_t flags, const gh_packet *p)
{
    return (n.tcp_flags & flags) == n.tcp_flags && (!n.proto || n.proto == p->ip_proto) &&
           (!n.dport || n.dport == p->dport) && (!n.sport || n.sport == p->sport);
}

/* The signatures without a fast pattern that packet @p p's addresses and
 * header fields can match (rules/nofp_build.c): candidates. */
static void add_nofp(gh_dpi_scratch *s, const dpi_group *g, const gh_packet *p)
{
    const dpi_nofp *nf = &g->nofp[p->ip_ver == 6];
    uint8_t flags = p->layers & GH_LAYER_TCP ? p->tcp_flags : 0;
    for (uint32_t i = 0; i < nf->n_all; i++)
        if (need_met(nf->need[i], flags, p))
            add_cand(s, nf->all[i]);
    for (unsigned side = 0; side < 2; side++) {
        const dpi_aidx *x = &nf->by[side];
        if (!x->n)
            continue;
        const uint8_t *a = side ? p->dst.b : p->src.b;
        dpi_akey k = p->ip_ver == 6 ? (dpi_akey){be64(a), be64(a + 8)}
                                    : (dpi_akey){.hi = be64(a) & ~UINT64_C(0xffffffff)};
        uint32_t l = 1, h = x->n; /* the last interval starting at or before k */
        while (l < h) {
            uint32_t mid = l + (h - l) / 2;
            if (x->pt[mid].hi < k.hi || (x->pt[mid].hi == k.hi && x->pt[mid].lo <= k.lo))
                l = mid + 1;
            else
                h = mid;
        }
        for (uint32_t j = x->off[l - 1]; j < x->off[l]; j++)
            if (need_met(x->need[j], flags, p))
                add_cand(s, x->ids[j]);
    }
}

static int on_hs_match(unsigned id, unsigned long long from, unsigned long long to,
                       unsigned flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    add_cand(ctx, id);
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

/* What a match_core / verify call considers. */
typedef struct sel_ctx {
    unsigned mode;          /* MODE_* */
    bool skip_hdr_only;     /* MODE_STREAM: header-only signatures are evaluated elsewhere */
    bool anchored_split;    /* packet-scope payload signatures go per packet, not on streams */
    bool hdr_only;          /* MODE_NO_STREAM: also the header-only signatures (stream side) */
    bool stream_hits;       /* TCP side: candidates from the stream calls' packet hits */
    bool flow_end;          /* a flow-end pseudo packet: header-only, not type pkt */
    int64_t base, new_from; /* MODE_STREAM: see vctx */
} sel_ctx;

/* Signature @p id matched: into s->hits in precedence order (hits are few). */
static void hit_add(const gh_dpi *d, gh_dpi_scratch *s, size_t *nh, uint32_t id)
{
    size_t j = (*nh)++;
    while (j > 0 && hit_before(d, id, s->hits[j - 1])) {
        s->hits[j] = s->hits[j - 1];
        j--;
    }
    s->hits[j] = id;
}

/* The first @p max of the @p nh hits as matches. Only payload keywords read
 * a stream (@p stream: the buffer was one; header-only signatures judged the
 * packet); a transaction match (@p tx 0) always read its buffers. */
static size_t hits_out(const gh_dpi *d, gh_dpi_scratch *s, size_t nh, bool stream, int16_t tx,
                       gh_dpi_match *out, size_t max)
{
    s->stats.matches += nh;
    size_t w = nh < max ? nh : max;
    for (size_t i = 0; i < w; i++) {
        const gh_dpi_sig_info *in = &d->sigs[s->hits[i]].info;
        out[i] = (gh_dpi_match){.idx = s->hits[i], .action = in->action, .sid = in->sid,
                                .gid = in->gid, .rev = in->rev,
                                .stream = tx >= 0 || (stream && in->payload), .tx = tx};
    }
    return w;
}

static inline void next_gen(gh_dpi_scratch *s)
{
    if (GH_UNLIKELY(++s->gen == 0)) {
        memset(s->mark, 0, s->d->n * sizeof(*s->mark));
        s->gen = 1;
    }
    s->ncand = 0;
}

static unsigned pkt_class(unsigned kind)
{
    return kind == PK_TCP ? CLS_TCP : kind == PK_UDP ? CLS_UDP
         : kind == PK_OTHER ? CLS_OTHER : CLS_ICMP;
}

/* The flowbit @p sg needs (dpi_sig.fb_need) is set, or it needs none. */
static inline bool flowbit_ok(const dpi_sig *sg, const gh_pkt_state *ps)
{
    return !sg->fb_need || (ps->fv && gh_flowbits_isset(ps->fv, (uint16_t)(sg->fb_need - 1)));
}

/* The tests of @p sg's variables. */
static bool vars_test(gh_dpi_scratch *s, const dpi_sig *sg, const gh_packet *p,
                      const gh_pkt_state *ps)
{
    if (!sg->nvars)
        return true;
    gh_var_ctx vc = {.fv = ps->fv, .xb = ps->xb, .p = p, .now_s = ps->now_s, .st = &s->state};
    return gh_vars_test(sg->vars, sg->nvars, &vc);
}

/* Candidate @p id against @p buf: does it match? */
static bool verify_one(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                       const gh_pkt_state *ps, unsigned kind, unsigned ac, const uint8_t *buf,
                       size_t len, const sel_ctx *c, uint32_t id)
{
    const dpi_sig *sg = &d->sigs[id];
    bool stream = false; /* flow:only_stream holds */
    if (c->mode == MODE_NO_STREAM) {
        if (sg->nkw == 0 && !sg->no_stream) {
            if (!c->hdr_only)
                return false;
            stream = true; /* the stream side's header-only signatures */
        } else if (!sg->no_stream &&
                   !(c->anchored_split && sg->packet_scope && sg->nkw)) {
            return false;
        }
    } else if (c->mode == MODE_STREAM) {
        if (sg->no_stream || (c->skip_hdr_only && sg->nkw == 0) ||
            (c->anchored_split && !sg->stream_scope && sg->nkw))
            return false;
        stream = true;
    }
    /* IP-only: once per flow direction (every packet without a flow) */
    if (sg->type == GH_SIG_TYPE_IPONLY && ps->has_flow && ps->iponly_done)
        return false;
    if (c->flow_end && (sg->nkw || sg->type == GH_SIG_TYPE_PKT))
        return false;
    s->stats.candidates++;
    if (!flowbit_ok(sg, ps) || !header_ok(sg, p, kind, ac) || !alproto_ok(sg, ps) ||
        !gh_hdr_match_eval(&sg->hm, p, ps, stream) || !vars_test(s, sg, p, ps) ||
        !gh_stream_size_eval(sg->ssize, sg->nssize, ps))
        return false;
    if (sg->nkw) {
        vctx v = {.kw = sg->kw, .nkw = sg->nkw, .has_ext = sg->has_ext, .buf = buf,
                  .len = (uint32_t)len, .s = s, .budget = VERIFY_BUDGET,
                  .stream = c->mode == MODE_STREAM, .base = c->base, .dbase = c->base,
                  .new_from = c->new_from};
        if (!gh_detect_inspect(0, 0, 0, &v)) {
            s->stats.budget_exceeded += v.bail;
            return false;
        }
    }
    return true;
}

/* Signature @p id matched: its changes of variables apply. */
static void vars_matched(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                         const gh_pkt_state *ps, uint32_t id)
{
    const dpi_sig *sg = &d->sigs[id];
    gh_var_ctx vc = {.fv = ps->fv, .xb = ps->xb, .p = p, .now_s = ps->now_s, .st = &s->state};
    if (sg->nvars)
        gh_vars_apply(sg->vars, sg->nvars, &vc);
}

/* Candidates with variables were set aside (s->fbc): into Suricata's
 * signature order, so that within a call those that set a variable run
 * before those that test it (insertion sort: they are few per call). */
static void fb_order(const gh_dpi *d, gh_dpi_scratch *s)
{
    for (size_t i = 1; i < s->nfbc; i++) {
        uint32_t x = s->fbc[i];
        size_t j = i;
        for (; j > 0 && d->sigs[s->fbc[j - 1]].rank > d->sigs[x].rank; j--)
            s->fbc[j] = s->fbc[j - 1];
        s->fbc[j] = x;
    }
}

/* Verify the candidates in s->cand against @p buf; write the hits in
 * precedence order to @p out. @p ac: the packet's address class
 * (gh_detect_addr_class). */
static size_t verify(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                     const gh_pkt_state *st, unsigned ac, const uint8_t *buf, size_t len,
                     const sel_ctx *c, gh_dpi_match *out, size_t max)
{
    unsigned kind = pkt_kind(p);
    gh_pkt_state none = {0};
    const gh_pkt_state *ps = st ? st : &none;
    size_t nh = 0;
    s->nfbc = 0;
    for (size_t i = 0; i < s->ncand; i++) {
        uint32_t id = s->cand[i];
        if (d->sigs[id].nvars)
            s->fbc[s->nfbc++] = id;
        else if (verify_one(d, s, p, ps, kind, ac, buf, len, c, id))
            hit_add(d, s, &nh, id);
    }
    fb_order(d, s);
    for (size_t i = 0; i < s->nfbc; i++)
        if (verify_one(d, s, p, ps, kind, ac, buf, len, c, s->fbc[i])) {
            vars_matched(d, s, p, ps, s->fbc[i]);
            hit_add(d, s, &nh, s->fbc[i]);
        }
    return hits_out(d, s, nh, c->mode == MODE_STREAM, -1, out, max);
}

static size_t match_core(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                         const gh_pkt_state *st, const uint8_t *buf, size_t len, sel_ctx *c,
                         gh_dpi_match *out, size_t max)
{
    s->stats.buffers++;
    if (!p->ip_ver || !d->n)
        return 0;
    if (c->mode == MODE_NO_STREAM && !d->n_no_stream && !c->anchored_split && !c->hdr_only)
        return 0;
    if (!buf)
        len = 0;
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    if (c->new_from > (int64_t)len)
        c->new_from = (int64_t)len;
    next_gen(s);
    unsigned kind = pkt_kind(p);
    unsigned cls = pkt_class(kind);
    /* on a window without new bytes no payload signature can be reported */
    bool scan = len && !(c->mode == MODE_STREAM && c->new_from >= (int64_t)len);
    /* the packet's orientation picks the databases; without flow state it
     * may be either: both are scanned and verification decides */
    unsigned os[2] = {0, 1}, no = 2;
    if (st && st->has_flow) {
        os[0] = st->to_server ? 0 : 1;
        no = 1;
    }
    /* the packet side of a stream-inspected TCP packet has its own databases */
    bool tcp_side = cls == CLS_TCP && c->mode == MODE_NO_STREAM && c->anchored_split &&
                    c->hdr_only;
    if (tcp_side && c->stream_hits) {
        for (size_t i = 0; i < s->npcand; i++)
            add_cand(s, s->pcand[i]);
        scan = false; /* the stream calls scanned these bytes */
    }
    unsigned ac = gh_detect_addr_class(d, p);
    const dpi_groupset *gs = &d->gs[ac];
    for (unsigned k = 0; k < no; k++) {
        unsigned o = os[k], pg = port_group(d, cls, o, p);
        const dpi_group *g = tcp_side ? &gs->pgroups[o][pg] : &gs->groups[cls][o][pg];
        if (g->db && scan)
            hs_scan(g->db, (const char *)buf, (unsigned)len, 0, s->hs, on_hs_match, s);
        add_nofp(s, g, p);
    }
    return verify(d, s, p, st, ac, buf, len, c, out, max);
}

size_t gh_dpi_match_packet(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                           const gh_pkt_state *st, const uint8_t *buf, size_t len,
                           gh_dpi_match *out, size_t max)
{
    sel_ctx c = {.mode = MODE_PACKET};
    return match_core(d, s, p, st, buf, len, &c, out, max);
}

size_t gh_dpi_match_packet_ex(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                              const gh_pkt_state *st, const uint8_t *buf, size_t len,
                              unsigned flags, gh_dpi_match *out, size_t max)
{
    sel_ctx c = {.mode = MODE_PACKET};
    if (flags & GH_DPI_PACKET_FLOW_END) {
        c.flow_end = true;
        buf = NULL;
        len = 0;
    } else if (flags & (GH_DPI_PACKET_ONLY_NO_STREAM | GH_DPI_PACKET_TCP_SIDE)) {
        c.mode = MODE_NO_STREAM;
        c.anchored_split = (flags & (GH_DPI_PACKET_ANCHORED | GH_DPI_PACKET_TCP_SIDE)) != 0;
        c.hdr_only = (flags & GH_DPI_PACKET_TCP_SIDE) != 0;
        c.stream_hits = (flags & GH_DPI_PACKET_TCP_SIDE) && (flags & GH_DPI_PACKET_STREAM_HITS) &&
                        s->pfed;
    }
    return match_core(d, s, p, st, buf, len, &c, out, max);
}

size_t gh_dpi_match_stream(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                           const gh_pkt_state *st, const uint8_t *buf, size_t len,
                           uint64_t buf_offset, size_t new_from, unsigned flags,
                           gh_dpi_match *out, size_t max)
{
    /* offsets beyond 2^62 behave like 2^62: every offset/depth lies before the window */
    int64_t base = buf_offset > (UINT64_C(1) << 62) ? INT64_C(1) << 62 : (int64_t)buf_offset;
    int64_t nf = new_from > (size_t)UINT32_MAX ? (int64_t)UINT32_MAX : (int64_t)new_from;
    sel_ctx c = {.mode = MODE_STREAM, .base = base, .new_from = nf,
                 .skip_hdr_only = (flags & GH_DPI_STREAM_SKIP_HEADER_ONLY) != 0,
                 .anchored_split = (flags & GH_DPI_STREAM_SKIP_ANCHORED) != 0};
    return match_core(d, s, p, st, buf, len, &c, out, max);
}

/* ---- incremental stream matching -------------------------------------------- */

void gh_dpi_stream_packet_begin(gh_dpi_scratch *s)
{
    if (GH_UNLIKELY(++s->pgen == 0)) {
        memset(s->pmark, 0, (s->d->n ? s->d->n : 1) * sizeof(*s->pmark));
        s->pgen = 1;
    }
    s->npcand = 0;
    s->pfed = true;
}

gh_dpi_stream *gh_dpi_stream_new(void)
{
    gh_dpi_stream *ds = calloc(1, sizeof(*ds));
    if (ds)
        ds->o = ds->pg = ds->ac = -1;
    return ds;
}

static void stream_close_all(gh_dpi_stream *ds)
{
    for (unsigned o = 0; o < 2; o++)
        for (unsigned g = 0; g < PG_MAX; g++) {
            hs_close_stream(ds->hs[o][g], NULL, NULL, NULL);
            ds->hs[o][g] = NULL;
        }
    ds->o = ds->pg = ds->ac = -1;
    ds->live = false;
}

void gh_dpi_stream_reset(gh_dpi_stream *ds)
{
    ds->live = false;
    ds->n = 0;
    ds->block_until = 0;
}

void gh_dpi_stream_free(gh_dpi_stream *ds)
{
    if (!ds)
        return;
    stream_close_all(ds);
    free(ds);
}

size_t gh_dpi_stream_size(const gh_dpi_stream *ds)
{
    size_t total = sizeof(*ds);
    for (unsigned o = 0; o < 2; o++)
        for (unsigned g = 0; g < PG_MAX; g++) {
            size_t sz = 0;
            const hs_database_t *db =
                ds->hs[o][g] ? ds->d->gs[ds->hs_ac[o][g]].sgroups[o][g].db : NULL;
            if (db && hs_stream_size(db, &sz) == HS_SUCCESS)
                total += sz;
        }
    return total;
}

typedef struct stream_cb {
    gh_dpi_scratch *s;
    gh_dpi_stream *ds;
} stream_cb;

/* A fast-pattern hit on a stream: remember the signature (once) with the end
 * of its latest occurrence. */
static int on_stream_match(unsigned id, unsigned long long from, unsigned long long to,
                           unsigned flags, void *ctx)
{
    (void)from;
    (void)flags;
    stream_cb *c = ctx;
    gh_dpi_scratch *s = c->s;
    if (id & PKT_HIT) { /* a packet-scope signature: a candidate for the packet */
        id &= ~PKT_HIT;
        if (s->pmark[id] != s->pgen) {
            s->pmark[id] = s->pgen;
            s->pcand[s->npcand++] = id;
        }
        return 0;
    }
    gh_dpi_stream *ds = c->ds;
    uint64_t end = ds->base + to;
    if (c->s->mark[id] == c->s->gen) {
        ds->pend[c->s->pidx[id]].end = end;
    } else if (ds->n < STREAM_PENDING) {
        c->s->mark[id] = c->s->gen;
        c->s->pidx[id] = ds->n;
        ds->pend[ds->n].sig = id;
        ds->pend[ds->n++].end = end;
    } else if (end > ds->block_until) {
        ds->block_until = end; /* windows that may hold it scan in block mode */
    }
    return 0;
}

/* Make ds->hs[o][pg] a fresh or continuing stream on address class @p ac's
 * database whose next byte is at stream offset @p off. Returns false when
 * Hyperscan cannot open one. */
static bool stream_ready(const gh_dpi *d, gh_dpi_stream *ds, int o, int pg, int ac, uint64_t off)
{
    if (ds->serial != d->serial)
        stream_close_all(ds); /* opened on another ruleset */
    ds->d = d;
    ds->serial = d->serial;
    if (ds->live && ds->o == o && ds->pg == pg && ds->ac == ac && ds->next == off)
        return true;
    /* a new flow, another database, or a gap in the bytes fed: start over at
     * @p off; the pending hits stay (their offsets are absolute) */
    hs_stream_t **hs = &ds->hs[o][pg];
    if (*hs && ds->hs_ac[o][pg] != ac) { /* a stream of another class's database */
        hs_close_stream(*hs, NULL, NULL, NULL);
        *hs = NULL;
    }
    if (*hs) {
        if (hs_reset_stream(*hs, 0, NULL, NULL, NULL) != HS_SUCCESS)
            return false;
    } else if (hs_open_stream(d->gs[ac].sgroups[o][pg].db, 0, hs) != HS_SUCCESS) {
        *hs = NULL;
        return false;
    }
    ds->hs_ac[o][pg] = (uint8_t)ac;
    ds->o = o;
    ds->pg = pg;
    ds->ac = ac;
    ds->live = true;
    ds->base = ds->next = off;
    return true;
}

size_t gh_dpi_match_stream_inc(const gh_dpi *d, gh_dpi_scratch *s, gh_dpi_stream *ds,
                               const gh_packet *p, const gh_pkt_state *st, const uint8_t *buf,
                               size_t len, uint64_t buf_offset, size_t new_from, unsigned flags,
                               gh_dpi_match *out, size_t max)
{
    if (!buf || !d->n || !p->ip_ver || pkt_kind(p) != PK_TCP) {
        s->pfed = false;
        return 0;
    }
    if (len > UINT32_MAX || buf_offset > (UINT64_C(1) << 62)) {
        s->pfed = false;
        return gh_dpi_match_stream(d, s, p, st, buf, len, buf_offset, new_from,
                                   GH_DPI_STREAM_SKIP_HEADER_ONLY | GH_DPI_STREAM_SKIP_ANCHORED,
                                   out, max);
    }
    if (new_from >= len)
        return 0; /* no new bytes: no payload signature can be reported */
    int o = st && st->has_flow && !st->to_server ? 1 : 0;
    int pg = (int)port_group(d, CLS_TCP, (unsigned)o, p);
    int ac = (int)gh_detect_addr_class(d, p);
    const dpi_group *g = &d->gs[ac].sgroups[o][pg];
    if ((flags & GH_DPI_STREAM_FEED_PACKET) && !g->pkt_hits)
        return 0; /* no packet candidate to find: fed when verified */
    if (ds->n && ds->serial != d->serial) { /* pending hits of another ruleset (a reload) */
        ds->n = 0;
        ds->block_until = buf_offset + len; /* hits before the swap are unknown */
    }
    /* feed the new bytes; mark the pending signatures so a hit updates them */
    next_gen(s);
    for (uint32_t i = 0; i < ds->n; i++) {
        s->mark[ds->pend[i].sig] = s->gen;
        s->pidx[ds->pend[i].sig] = i;
    }
    /* bytes fed by an earlier call (IDS: on arrival, verified once
     * acknowledged) are not fed again */
    size_t feed = new_from;
    if (ds->live && ds->serial == d->serial && ds->o == o && ds->pg == pg && ds->ac == ac &&
        ds->next > buf_offset + new_from)
        feed = ds->next - buf_offset < len ? (size_t)(ds->next - buf_offset) : len;
    if (g->db && feed < len) {
        if (stream_ready(d, ds, o, pg, ac, buf_offset + feed)) {
            stream_cb cb = {.s = s, .ds = ds};
            hs_scan_stream(ds->hs[o][pg], (const char *)buf + feed, (unsigned)(len - feed), 0,
                           s->hs, on_stream_match, &cb);
            ds->next = buf_offset + len;
        } else {
            ds->block_until = buf_offset + len; /* no stream: block scans cover these bytes */
            s->pfed = false;
        }
    }
    if (flags & GH_DPI_STREAM_FEED_ONLY)
        return 0;
    sel_ctx c = {.mode = MODE_STREAM, .base = (int64_t)buf_offset, .new_from = (int64_t)new_from,
                 .skip_hdr_only = true, .anchored_split = true};
    if (buf_offset < ds->block_until) {
        /* some hit was not kept: find the candidates by scanning the window */
        s->stats.block_fallbacks++;
        return match_core(d, s, p, st, buf, len, &c, out, max);
    }
    s->stats.buffers++;
    /* candidates: the pending signatures whose latest fast pattern ends in or
     * after the window (fed early, it may lie beyond; the others slid out:
     * forget them), and those without one */
    next_gen(s);
    uint32_t keep = 0;
    for (uint32_t i = 0; i < ds->n; i++) {
        const dpi_sig *sg = &d->sigs[ds->pend[i].sig];
        if (ds->pend[i].end < buf_offset + sg->fp_len)
            continue;
        ds->pend[keep++] = ds->pend[i];
        /* a signature whose extent is its fast pattern alone needs an
         * occurrence ending in the new bytes: none, no verification */
        if (sg->ext_is_fp && ds->pend[i].end <= buf_offset + new_from)
            continue;
        add_cand(s, ds->pend[i].sig);
    }
    ds->n = keep;
    add_nofp(s, g, p);
    return verify(d, s, p, st, (unsigned)ac, buf, len, &c, out, max);
}


/* ---- application-layer transactions ---------------------------------------- */

bool gh_dpi_has_flowvars(const gh_dpi *d)
{
    return d->flowvars;
}

bool gh_dpi_has_xbits(const gh_dpi *d)
{
    return d->xbits;
}

bool gh_dpi_has_tx_sigs(const gh_dpi *d)
{
    return d->n_app > 0;
}

bool gh_dpi_reads_buffer(const gh_dpi *d, gh_buffer_id b)
{
    for (size_t i = 0; d && i < d->n; i++)
        for (size_t k = 0; k < d->sigs[i].nseg; k++)
            if (d->sigs[i].segs[k].buf == b)
                return true;
    return false;
}

/* Alerted entries: the signature, bit 31 the direction (a signature on
 * two-way buffers alerts once per direction, as Suricata). */
static bool tx_alerted(const gh_app_tx *tx, uint32_t id)
{
    for (uint16_t i = 0; i < tx->n_alerted; i++)
        if (tx->alerted[i] == id)
            return true;
    return false;
}

/* Remember that signature @p id alerted on @p tx; false when out of memory
 * (the alert still stands, it may repeat on the transaction). */
static bool tx_remember(gh_app_tx *tx, uint32_t id)
{
    if (tx->n_alerted == tx->cap_alerted) {
        if (tx->cap_alerted >= UINT16_MAX / 2)
            return false;
        uint16_t nc = tx->cap_alerted ? (uint16_t)(tx->cap_alerted * 2) : 8;
        uint32_t *na = realloc(tx->alerted, nc * sizeof(*na));
        if (!na)
            return false;
        tx->alerted = na;
        tx->cap_alerted = nc;
    }
    tx->alerted[tx->n_alerted++] = id;
    return true;
}

/* Instances of a multi-buffer inspected per transaction at most. */
#define MULTI_MAX 1024u

/* Buffer @p b of the transaction as direction @p dir inspects it (instance
 * @p idx of a multi-buffer): buffers of one direction come from that
 * direction. */
static bool tx_buffer(const gh_dpi_tx_view *tv, unsigned b, int dir, uint32_t idx,
                      const uint8_t **p, uint32_t *len, uint32_t *base)
{
    const gh_buffer_info *bi = gh_buffer_get_info((gh_buffer_id)b);
    int bd = gh_bufdir_source(bi->dirs, dir);
    *base = 0;
    if (idx >= MULTI_MAX ||
        !tv->ops->get_buffer(tv->state, tv->tx, (gh_buffer_id)b, bd, idx, p, len))
        return false;
    if (tv->windowed && bd == dir &&
        (b == GH_BUF_FILE_DATA || b == GH_BUF_HTTP_RESPONSE_BODY ||
         b == GH_BUF_HTTP_REQUEST_BODY)) {
        uint32_t from = b == GH_BUF_HTTP_REQUEST_BODY ? tv->reqbody_from : tv->file_from;
        if (tv->body_none || from > *len)
            return false;
        *p += from;
        *len -= from;
        *base = from;
    }
    return true;
}

/* ---- body windows ------------------------------------------------------------ */

/* HTTP bodies are inspected by window as they grow (body_view in
 * stream_inspect.c): each report reads from a little before the new bytes
 * to the end, so block scans of the windows would go over most body bytes
 * several times. Instead each transaction keeps, per direction and body
 * buffer, the signatures whose fast pattern occurred so far with the end of
 * its latest occurrence (the body databases report every occurrence): a
 * report scans only the bytes after those scanned before (and max_len - 1
 * back, for an occurrence across the boundary), and the window's candidates
 * are the signatures whose latest occurrence lies wholly inside it, which
 * are those a block scan of the window finds. A transaction with more
 * signatures hit than the list keeps goes back to block scans. */
#define BODY_HITS 48

typedef struct body_hit {
    uint32_t sig, end;
} body_hit;

typedef struct body_track {
    const hs_database_t *db; /* the database of the hits (NULL: none yet) */
    uint32_t scanned_to;     /* buffer bytes scanned */
    uint32_t from_min;       /* the window start the list was pruned at */
    uint32_t n;
    bool lost;               /* a hit was not kept: block scans from now on */
    body_hit h[BODY_HITS];
} body_track;

struct gh_tx_body_hits {
    body_track t[2][2]; /* direction; file_data (0) or the direction's HTTP body (1) */
};

typedef struct body_cb {
    body_track *t;
    uint32_t base;  /* buffer offset of the scanned bytes */
} body_cb;

static int on_body_match(unsigned id, unsigned long long from, unsigned long long to,
                         unsigned flags, void *ctx)
{
    (void)from;
    (void)flags;
    body_cb *c = ctx;
    body_track *t = c->t;
    uint32_t end = c->base + (uint32_t)to;
    for (uint32_t i = t->n; i-- > 0;)
        if (t->h[i].sig == id) {
            if (end > t->h[i].end)
                t->h[i].end = end;
            return 0;
        }
    if (t->n == BODY_HITS) {
        t->lost = true;
        return 1; /* stop: the window is scanned whole */
    }
    t->h[t->n++] = (body_hit){id, end};
    return 0;
}

/* The body track of buffer @p b of @p tv's transaction in direction @p dir
 * when detection reads it by window (as tx_buffer cuts it), else NULL. */
static body_track *body_track_of(const gh_dpi_tx_view *tv, unsigned b, int dir, uint32_t idx)
{
    if (!tv->windowed || idx != 0)
        return NULL;
    int slot = b == GH_BUF_FILE_DATA ? 0 : b == (dir ? GH_BUF_HTTP_RESPONSE_BODY
                                                     : GH_BUF_HTTP_REQUEST_BODY) ? 1 : -1;
    if (slot < 0)
        return NULL;
    gh_app_tx *tx = tv->tx;
    if (!tx->body_hits && !(tx->body_hits = calloc(1, sizeof(*tx->body_hits))))
        return NULL; /* block scans */
    return &tx->body_hits->t[dir][slot];
}

/* Candidates from group @p g's database on the body window @p buf / @p len
 * at buffer offset @p base, through track @p t. */
static void body_candidates(const gh_dpi *d, gh_dpi_scratch *s, const dpi_group *g,
                            body_track *t, const uint8_t *buf, uint32_t len, uint32_t base)
{
    uint32_t end = base + len;
    if (t->db != g->db || base < t->from_min || t->scanned_to > end) {
        /* another database, or a window that does not move on: start over */
        memset(t, 0, offsetof(body_track, h));
        t->db = g->db;
    }
    t->from_min = base;
    if (!t->lost) {
        uint32_t back = g->max_len ? g->max_len - 1 : 0;
        uint32_t from = t->scanned_to > base + back ? t->scanned_to - back : base;
        body_cb cb = {t, from};
        hs_scan(g->db, (const char *)buf + (from - base), end - from, 0, s->hs, on_body_match,
                &cb);
        t->scanned_to = end;
    }
    if (t->lost) {
        s->stats.body_fallbacks++;
        hs_scan(g->db, (const char *)buf, len, 0, s->hs, on_hs_match, s);
        return;
    }
    uint32_t keep = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        const body_hit *h = &t->h[i];
        if (h->end < base + d->sigs[h->sig].fp_len)
            continue; /* wholly before this window, so before every later one */
        t->h[keep++] = *h;
        add_cand(s, h->sig);
    }
    t->n = keep;
}

/* Segment @p g's keywords on one buffer instance. */
static bool seg_match(const dpi_sig *sg, const dpi_seg *g, gh_dpi_scratch *s, const uint8_t *b,
                      uint32_t len, uint32_t base)
{
    if (g->nxf)
        len = (uint32_t)gh_xform_chain(g->xf, g->nxf, b, len, s->xa, s->xb, XF_CAP, s->md, &b);
    for (uint8_t l = 0; l < g->nlen; l++)
        if (!gh_uint_match_eval(&g->len[l], len))
            return false;
    if (!g->n)
        return true;
    /* a body window that does not start the body: positions count from its
     * start, except absolute depths (Suricata's stream_start_offset) */
    vctx v = {.kw = sg->kw + g->first, .nkw = g->n, .has_ext = g->has_ext, .buf = b, .len = len,
              .s = s, .budget = VERIFY_BUDGET, .dbase = base};
    if (gh_detect_inspect(0, 0, 0, &v))
        return true;
    s->stats.budget_exceeded += v.bail;
    return false;
}

/* Field condition @p fc on the transaction: a multi-valued field matches
 * when one of its values does; an absent field never matches. */
static bool fcond_match(const dpi_fcond *fc, const gh_dpi_tx_view *tv, const gh_packet *p,
                        int dir)
{
    if (!tv->ops->get_field)
        return false;
    if (fc->kind == FC_BOUNCE) { /* the flow's source: the sender of a request */
        const uint8_t *a = (dir == 0 ? &p->src : &p->dst)->b;
        uint64_t v, cli = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | a[2] << 8 | a[3];
        return tv->ops->get_field(tv->state, tv->tx, (gh_field_id)fc->field, dir, 0, &v) &&
               v != cli;
    }
    const gh_field_info *fi = gh_field_get_info((gh_field_id)fc->field);
    int fd = gh_bufdir_source(fi->dirs, dir);
    uint64_t v;
    for (uint32_t i = 0; i < MULTI_MAX && tv->ops->get_field(tv->state, tv->tx,
                                                             (gh_field_id)fc->field, fd, i, &v);
         i++) {
        if (gh_field_cond_eval(fc, v))
            return true;
        if (!fi->multi)
            break;
    }
    return false;
}

/* Every segment and field condition of @p sg on the transaction: absent
 * buffers never match; a multi-buffer's segment matches on one instance. */
static bool tx_verify(const dpi_sig *sg, gh_dpi_scratch *s, const gh_packet *p,
                      const gh_dpi_tx_view *tv, int dir)
{
    if ((tv->tx->events & sg->ev_mask) != sg->ev_mask)
        return false;
    for (size_t i = 0; i < sg->nfcond; i++)
        if (!fcond_match(&sg->fconds[i], tv, p, dir))
            return false;
    for (size_t i = 0; i < sg->nseg; i++) {
        const dpi_seg *g = &sg->segs[i];
        const uint8_t *b;
        uint32_t len;
        if (g->buf == GH_BUF_PAYLOAD) { /* payload keywords: the packet's */
            if (!seg_match(sg, g, s, p->payload, p->payload_len, 0))
                return false;
            continue;
        }
        bool ok = false;
        uint32_t base;
        for (uint32_t idx = 0; !ok && tx_buffer(tv, g->buf, dir, idx, &b, &len, &base); idx++)
            ok = seg_match(sg, g, s, b, len, base);
        if (!ok)
            return false;
    }
    return true;
}

/* Candidates of the signatures ready at stage @p r in direction @p dir that
 * tx_fp_scans does not find: those without a fast pattern, and the fast
 * patterns of the body buffers and of the transformed buffers, scanned in
 * every instance. */
static void tx_candidates(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                          const gh_dpi_tx_view *tv, const dpi_groupset *gs, int dir, unsigned r)
{
    const dpi_group *g = gs->txg[dir][r];
    add_nofp(s, &g[0], p);
    for (uint64_t m = gs->txg_dbs[dir][r] & ~UINT64_C(1); m; m &= m - 1) {
        unsigned b = (unsigned)__builtin_ctzll(m);
        const uint8_t *buf;
        uint32_t len;
        for (uint32_t idx = 0, base; tx_buffer(tv, b, dir, idx, &buf, &len, &base); idx++) {
            s->stats.buffers++;
            body_track *t =
                g[b].all_matches && !d->body_block ? body_track_of(tv, b, dir, idx) : NULL;
            if (t)
                body_candidates(d, s, &g[b], t, buf, len, base);
            else
                hs_scan(g[b].db, (const char *)buf, len, 0, s->hs, on_hs_match, s);
        }
    }
    /* transformed buffers: transformed as seg_match does, then scanned */
    for (uint64_t m = gs->txx_dbs[dir][r] & ~UINT64_C(1); m; m &= m - 1) {
        unsigned x = (unsigned)__builtin_ctzll(m);
        const dpi_group *gx = &gs->txx[dir][r][x];
        const dpi_xbuf *xb = &d->xbufs[x];
        const uint8_t *buf;
        uint32_t len;
        for (uint32_t idx = 0, base; tx_buffer(tv, xb->buf, dir, idx, &buf, &len, &base);
             idx++) {
            size_t n = gh_xform_chain(xb->xf, xb->nxf, buf, len, s->xa, s->xb, XF_CAP, s->md,
                                      &buf);
            s->stats.buffers++;
            hs_scan(gx->db, (const char *)buf, (unsigned)n, 0, s->hs, on_hs_match, s);
        }
    }
}

/* ---- buffers complete before the body: scanned once -------------------------- */

/* A buffer that is complete before the body (http.uri, http.header, tls.sni,
 * ...) does not change once its direction reached its stage, so its fast
 * patterns of every stage are in one database (txg[dir][GH_STAGE_NONE]),
 * scanned the first time the transaction is inspected after it is complete.
 * The signatures found that are ready then are candidates at once; those
 * ready at a later stage, and those ready at the body (inspected again at
 * every body report), wait in the transaction. A buffer read before it is
 * complete (a request buffer read when the response comes first) is scanned
 * again each time, and so is one whose signatures do not fit the list. */
_Static_assert(GH_BUF_N <= 64, "gh_app_tx.fp_scanned holds a bit per buffer");

/* Signatures waiting at most per transaction: beyond, buffers are scanned
 * again at every inspection (their candidates in range taken then). */
#define FP_WAIT_MAX 1024u

struct gh_tx_fp_wait {
    uint32_t sig;
    uint8_t dir;
    uint8_t stage; /* the signature's ready stage in direction dir */
};

typedef struct fp_cb {
    gh_dpi_scratch *s;
    const gh_dpi *d;
    gh_app_tx *tx;
    uint8_t dir, from, stage;
    bool keep;  /* the buffer is complete: remember what waits */
    bool full;  /* the list could not take one */
} fp_cb;

/* Is a signature ready at @p r inspected by the call that takes its
 * direction from stage @p from to @p stage? (gh_dpi_match_tx's stages) */
static bool stage_in_call(unsigned r, unsigned from, unsigned stage)
{
    return (r > from && r <= stage) ||
           (r == GH_STAGE_BODY && (stage == GH_STAGE_BODY || stage == GH_STAGE_DONE));
}

static bool fp_wait_push(gh_app_tx *tx, uint32_t sig, uint8_t dir, uint8_t stage)
{
    if (tx->n_fp_wait == tx->cap_fp_wait) {
        if (tx->cap_fp_wait >= FP_WAIT_MAX)
            return false;
        uint16_t nc = tx->cap_fp_wait ? (uint16_t)(tx->cap_fp_wait * 2) : 16;
        struct gh_tx_fp_wait *nw = realloc(tx->fp_wait, nc * sizeof(*nw));
        if (!nw)
            return false;
        tx->fp_wait = nw;
        tx->cap_fp_wait = nc;
    }
    tx->fp_wait[tx->n_fp_wait++] = (struct gh_tx_fp_wait){sig, dir, stage};
    return true;
}

static int on_fp_match(unsigned id, unsigned long long from, unsigned long long to,
                       unsigned flags, void *ctx)
{
    (void)from;
    (void)to;
    (void)flags;
    fp_cb *c = ctx;
    uint8_t r = c->d->sigs[id].ready[c->dir];
    if (stage_in_call(r, c->from, c->stage))
        add_cand(c->s, id);
    if (c->keep && !c->full && (r > c->stage || r == GH_STAGE_BODY) &&
        !fp_wait_push(c->tx, id, c->dir, r))
        c->full = true;
    return 0;
}

/* The candidates from the buffers complete before the body, for the call
 * that takes direction @p dir from stage @p from to @p stage. */
static void tx_fp_scans(const gh_dpi *d, gh_dpi_scratch *s, const gh_dpi_tx_view *tv,
                        const dpi_groupset *gs, int dir, unsigned from, unsigned stage)
{
    gh_app_tx *tx = tv->tx;
    uint16_t nwait = tx->n_fp_wait; /* those of earlier calls */
    const dpi_group *g = gs->txg[dir][GH_STAGE_NONE];
    fp_cb c = {.s = s, .d = d, .tx = tx, .dir = (uint8_t)dir, .from = (uint8_t)from,
               .stage = (uint8_t)stage};
    uint64_t todo = gs->txg_dbs[dir][GH_STAGE_NONE] & ~tx->fp_scanned[dir] & ~UINT64_C(1);
    for (; todo; todo &= todo - 1) {
        unsigned b = (unsigned)__builtin_ctzll(todo);
        const gh_buffer_info *bi = gh_buffer_get_info((gh_buffer_id)b);
        c.keep = tx->progress[gh_bufdir_source(bi->dirs, dir)] >= bi->stage;
        c.full = false;
        uint16_t n0 = tx->n_fp_wait;
        const uint8_t *buf;
        uint32_t len;
        for (uint32_t idx = 0, base; tx_buffer(tv, b, dir, idx, &buf, &len, &base); idx++) {
            s->stats.buffers++;
            hs_scan(g[b].db, (const char *)buf, len, 0, s->hs, on_fp_match, &c);
        }
        if (c.full) {
            tx->n_fp_wait = n0; /* scanned again next time */
            s->stats.fp_wait_full++;
        } else if (c.keep) {
            tx->fp_scanned[dir] |= UINT64_C(1) << b;
        }
    }
    for (uint16_t i = 0; i < nwait; i++) {
        const struct gh_tx_fp_wait *w = &tx->fp_wait[i];
        if (w->dir == dir && stage_in_call(w->stage, from, stage))
            add_cand(s, w->sig);
    }
}

size_t gh_dpi_match_tx(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                       const gh_pkt_state *st, const gh_dpi_tx_view *tv, int dir,
                       gh_app_stage stage, gh_dpi_match *out, size_t max)
{
    gh_app_tx *tx = tv->tx;
    unsigned from = tx->inspected[dir];
    if (stage > from)
        tx->inspected[dir] = (uint8_t)stage;
    if (!d->n_app || !p->ip_ver)
        return 0;
    if (tx->ruleset != d->serial) {
        /* another ruleset (a reload): the signatures that alerted, those
         * waiting and the body tracks' hits are of the old one (indexes of
         * its signatures) */
        tx->ruleset = d->serial;
        tx->n_alerted = 0;
        tx->n_fp_wait = 0;
        tx->fp_scanned[0] = tx->fp_scanned[1] = 0;
        if (tx->body_hits)
            memset(tx->body_hits, 0, sizeof(*tx->body_hits));
    }
    next_gen(s);
    unsigned kind = pkt_kind(p), ac = gh_detect_addr_class(d, p);
    const dpi_groupset *gs = &d->gs[ac];
    /* the stages reached since the last inspection, and the body stage again
     * while the body grows and when the direction completes */
    for (unsigned r = GH_STAGE_LINE; r <= GH_STAGE_DONE; r++)
        if (stage_in_call(r, from, stage))
            tx_candidates(d, s, p, tv, gs, dir, r);
    tx_fp_scans(d, s, tv, gs, dir, from, stage);
    size_t nh = 0;
    s->nfbc = 0;
    for (size_t i = 0, n = s->ncand; i < n + s->nfbc; i++) {
        if (i == n) /* those with flowbits last, in signature order */
            fb_order(d, s);
        uint32_t id = i < n ? s->cand[i] : s->fbc[i - n];
        const dpi_sig *sg = &d->sigs[id];
        if (i < n && sg->nvars) {
            s->fbc[s->nfbc++] = id;
            continue;
        }
        s->stats.candidates++;
        if (!flowbit_ok(sg, st) || tx_alerted(tx, id | (uint32_t)dir << 31) ||
            !header_ok(sg, p, kind, ac) || !alproto_ok(sg, st) ||
            !gh_hdr_match_eval(&sg->hm, p, st, true) ||
            !vars_test(s, sg, p, st) || !gh_stream_size_eval(sg->ssize, sg->nssize, st) ||
            !tx_verify(sg, s, p, tv, dir))
            continue;
        tx_remember(tx, id | (uint32_t)dir << 31);
        vars_matched(d, s, p, st, id);
        hit_add(d, s, &nh, id);
    }
    return hits_out(d, s, nh, true, 0, out, max);
}
