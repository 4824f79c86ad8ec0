/* Stream inspection for TCP: reassembly into per-direction sliding windows,
 * signatures matched on the window (see stream_inspect.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect_tx.h"
#include "detect/state.h"
#include "stream_inspect.h"

typedef struct stream_slot {
    gh_reasm_stream rs[2];
    uint64_t woff[2];  /* stream offset of window index 0 (the run after a hole
                          counts from bar: index i >= bar is offset woff + i) */
    uint64_t insp[2];  /* stream offset past the last inspected byte */
    uint64_t acked[2]; /* what the receiver acknowledged (stream offset) */
    uint64_t gap[2];   /* bytes missing before window index bar (shown, not matched) */
    uint64_t pre[2];   /* stream offset of window index 0 when the bytes before bar
                          (the run before the hole) still wait for inspection */
    uint32_t wlen[2];
    uint32_t bar[2];   /* window index where the current contiguous run starts */
    uint32_t next_free; /* free-list link (index + 1), 0: end */
    bool app_closed[2]; /* the application layer was told the direction ended */
    bool app_udp;       /* UDP: a datagram was a parser's candidate, the layer sees them all */
    gh_flow *owner;
    gh_app_flow app;    /* protocol detection and the parser's state */
    gh_flowvars fv;     /* the flow's flowbits and flowints */
    uint32_t ss_isn[2], ss_next[2]; /* stream_size: each side's ISN and next seq */
    bool ss_on[2], ss_fin[2];       /* ... it sent a SYN; a FIN */
} stream_slot;

/* IDS (acked) mode: acknowledged bytes wait until this many are pending, as
 * Suricata's stream.reassembly.to{server,client}-chunk-size (2560). */
#define ACKED_CHUNK 2560u

/* HTTP bodies are inspected as Suricata 7 with libhtp's defaults does
 * (request-body-minimal-inspect-size / inspect-window, response-body-...):
 * once this much of a body arrived (or the body limit, or its end), then
 * each time more arrived, over a window reaching back before the new bytes
 * (body_view). */
static const uint32_t body_min[2] = {32u * 1024u, 40u * 1024u};
static const uint32_t body_window[2] = {4u * 1024u, 16u * 1024u};

/* Matches of one window or packet call, before they merge into the packet's list. */
#define TMP_MATCHES 32

struct gh_stream_inspect {
    const gh_dpi *dpi;
    bool acked;       /* inspect bytes once acknowledged (IDS) instead of on arrival */
    gh_reasm *reasm;
    stream_slot *slots;
    uint8_t **win;    /* per slot, 2 * cap bytes (both directions), allocated with
                         the first bytes a slot's flow delivers and kept for the
                         slot's next flows: heap the run mapped ahead (gh_mem_warm),
                         not a region of every slot's windows first touched here */
    gh_dpi_stream **ds; /* 2 per slot, made at the slot's first use, then reused */
    gh_dpi_match tmp[TMP_MATCHES]; /* one call's matches (each merged at once) */
    uint32_t window, nslots, free_head;
    uint32_t cap;     /* buffer bytes per direction: 2 * window, so the bytes move
                         a third as often; matching sees the last window bytes */
    gh_stream_inspect_stats st;
    gh_app *app;      /* application layer: detection, parsers, records for events */
    unsigned exc;     /* failure policy conditions of this packet (1 << gh_exc_cond) */
    uint32_t body_limit[2]; /* HTTP body bytes kept per direction (gh_app_limits) */
};

/* The direction's window; NULL while its slot never had bytes (nothing to
 * inspect then). */
static uint8_t *window_of(const gh_stream_inspect *si, const stream_slot *s, int dir)
{
    uint8_t *w = si->win[s - si->slots];
    return w ? w + (size_t)dir * si->cap : NULL;
}

/* Reassembly compares retransmissions with the window: the last delivered
 * bytes, kept here anyway (no second copy in reassembly). */
static const uint8_t *window_history(void *ctx, const gh_reasm_stream *rs, uint64_t *off,
                                     size_t *len)
{
    gh_stream_inspect *si = ctx;
    size_t i = (size_t)((const char *)rs - (const char *)si->slots) / sizeof(stream_slot);
    if (i >= si->nslots)
        return NULL;
    const stream_slot *s = &si->slots[i];
    int dir = rs == &s->rs[0] ? 0 : 1;
    if (s->bar[dir] > s->wlen[dir]) /* cannot be; no history rather than wrong bytes */
        return NULL;
    /* the current run only: bytes before a hole have other offsets */
    *off = s->woff[dir] + s->bar[dir];
    *len = s->wlen[dir] - s->bar[dir];
    const uint8_t *win = window_of(si, s, dir);
    return win ? win + s->bar[dir] : NULL;
}

gh_stream_inspect *gh_stream_inspect_new(const gh_dpi *dpi, uint32_t window, uint32_t max_flows,
                                         bool midstream, bool acked,
                                         const gh_stream_inspect_limits *limits, gh_error *err)
{
    if (window < 256 || max_flows == 0) {
        gh_error_set(err, GH_E_INVAL, "stream window must be >= 256 bytes and flows >= 1");
        return NULL;
    }
    gh_stream_inspect *si = calloc(1, sizeof(*si));
    if (!si)
        goto oom;
    si->dpi = dpi;
    si->acked = acked;
    si->window = window;
    si->cap = 2 * window;
    si->nslots = max_flows;
    gh_reasm_config rc;
    gh_reasm_config_init(&rc);
    rc.midstream = midstream;
    rc.history = window_history;
    rc.history_ctx = si;
    if (limits->reasm_memcap)
        rc.memcap = limits->reasm_memcap;
    if (!(si->reasm = gh_reasm_new(&rc, err)))
        goto fail;
    /* Suricata computes JA3/JA3S (and logs them) only when a rule reads them */
    gh_app_limits lim;
    gh_app_limits_init(&lim);
    for (gh_buffer_id b = GH_BUF_JA3_HASH; b <= GH_BUF_JA3S_STRING; b++)
        lim.tls_ja3 |= gh_dpi_reads_buffer(dpi, b);
    if (limits->decompress_limit)
        lim.decompress_limit = limits->decompress_limit;
    uint32_t app_flows = limits->app_flows && limits->app_flows < max_flows ? limits->app_flows
                                                                            : max_flows;
    if (!(si->app = gh_app_new(app_flows, &lim, err)))
        goto fail;
    si->body_limit[0] = lim.request_body_limit;
    si->body_limit[1] = lim.response_body_limit;
    si->slots = calloc(max_flows, sizeof(*si->slots));
    si->win = calloc(max_flows, sizeof(*si->win));
    si->ds = calloc((size_t)max_flows * 2, sizeof(*si->ds));
    if (!si->slots || !si->win || !si->ds)
        goto oom;
    for (uint32_t i = 0; i < max_flows; i++)
        si->slots[i].next_free = i + 2 <= max_flows ? i + 2 : 0;
    si->free_head = 1;
    return si;
oom:
    gh_error_set(err, GH_E_NOMEM, "out of memory for stream inspection");
fail:
    gh_stream_inspect_free(si);
    return NULL;
}

void gh_stream_inspect_free(gh_stream_inspect *si)
{
    if (!si)
        return;
    gh_reasm_free(si->reasm);
    gh_app_free(si->app);
    for (size_t i = 0; si->ds && i < (size_t)si->nslots * 2; i++)
        gh_dpi_stream_free(si->ds[i]);
    free(si->ds);
    for (size_t i = 0; si->win && i < si->nslots; i++)
        free(si->win[i]);
    free(si->win);
    free(si->slots);
    free(si);
}

static stream_slot *slot_get(gh_stream_inspect *si, gh_flow *f)
{
    if (f->ext)
        return f->ext;
    if (!si->free_head)
        return NULL;
    uint32_t i = si->free_head - 1;
    stream_slot *s = &si->slots[i];
    si->free_head = s->next_free;
    memset(s, 0, sizeof(*s));
    for (size_t d = 0; d < 2; d++)
        if (si->ds[(size_t)i * 2 + d])
            gh_dpi_stream_reset(si->ds[(size_t)i * 2 + d]);
    s->owner = f;
    f->ext = s;
    bool client_lo = f->flags & GH_FLOWF_CLIENT_IS_LO;
    s->app.pc = (gh_app_probe_ctx){
        .transport = f->key.proto == 17 ? GH_APP_UDP : GH_APP_TCP,
        .server_port = client_lo ? f->key.hi_port : f->key.lo_port,
        .client_port = client_lo ? f->key.lo_port : f->key.hi_port};
    return s;
}

void gh_stream_inspect_flow_release(gh_stream_inspect *si, gh_flow *f)
{
    stream_slot *s = f->ext;
    if (!si || !s)
        return;
    gh_reasm_stream_close(si->reasm, &s->rs[0]);
    gh_reasm_stream_close(si->reasm, &s->rs[1]);
    gh_app_flow_release(si->app, &s->app);
    s->owner = NULL;
    s->next_free = si->free_head;
    si->free_head = (uint32_t)(s - si->slots) + 1;
    f->ext = NULL;
}

/* Merge @p n matches into the packet's list, one entry per signature (and
 * transaction: pipelined requests each alert). */
static size_t merge(gh_dpi_match *out, size_t have, size_t max, const gh_dpi_match *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t k = 0; k < have && !dup; k++)
            dup = out[k].idx == m[i].idx && out[k].tx == m[i].tx;
        if (!dup && have < max)
            out[have++] = m[i];
    }
    return have;
}

typedef struct deliver_ctx {
    gh_stream_inspect *si;
    gh_dpi_scratch *scratch;
    stream_slot *slot;
    int dir;
    const gh_packet *p;     /* headers for verification: a packet of direction dir */
    const gh_pkt_state *st;
    gh_dpi_match *out;
    size_t n, max;
    bool scan; /* false: only fill the window (the packet is inspected alone) */
    bool defer; /* inspect when a chunk waits (IDS; flow end), not per piece */
    bool early; /* deferring, the packet's own bytes are fed on arrival (feed_new) */
    size_t fed;     /* bytes of the packet's own payload fed to the stream state */
    bool fed_all;   /* false: some window went without stream state */
    gh_pkt_state lst; /* st with the flow's application protocol */
} deliver_ctx;

/* Inspect the run @p buf / @p len at stream offset @p run whose bytes from
 * offset @p from on are new: each new byte goes once through the direction's
 * Hyperscan stream (gh_dpi_match_stream_inc) and the signatures are verified
 * on the run; without that state the run is scanned whole. */
static void inspect_run(deliver_ctx *c, const uint8_t *buf, size_t len, uint64_t run,
                        uint64_t from)
{
    gh_stream_inspect *si = c->si;
    size_t di = (size_t)(c->slot - si->slots) * 2 + (size_t)c->dir;
    size_t nf = (size_t)(from - run);
    if (!si->ds[di])
        si->ds[di] = gh_dpi_stream_new();
    if (!c->scan) {
        if (si->ds[di])
            gh_dpi_match_stream_inc(si->dpi, c->scratch, si->ds[di], c->p, c->st, buf, len, run,
                                    nf, GH_DPI_STREAM_FEED_ONLY, c->si->tmp, 0);
        return;
    }
    si->st.windows++;
    size_t n;
    if (si->ds[di]) {
        n = gh_dpi_match_stream_inc(si->dpi, c->scratch, si->ds[di], c->p, c->st, buf, len, run,
                                    nf, 0, c->si->tmp, TMP_MATCHES);
    } else {
        c->fed_all = false;
        n = gh_dpi_match_stream(si->dpi, c->scratch, c->p, c->st, buf, len, run, nf,
                                GH_DPI_STREAM_SKIP_HEADER_ONLY | GH_DPI_STREAM_SKIP_ANCHORED,
                                c->si->tmp, TMP_MATCHES);
    }
    c->n = merge(c->out, c->n, c->max, c->si->tmp, n);
}

/* IDS: the bytes just appended from stream offset @p from on go through the
 * direction's Hyperscan stream now, as on arrival, though they are verified
 * only once acknowledged: the scan that finds the window's candidates then
 * also finds the packet's (its packet-scope signatures, tagged PKT_HIT), so
 * the packet side needs no scan of its own. */
static void feed_new(deliver_ctx *c, uint64_t from)
{
    gh_stream_inspect *si = c->si;
    stream_slot *s = c->slot;
    int dir = c->dir;
    size_t di = (size_t)(s - si->slots) * 2 + (size_t)dir;
    if (!si->ds[di] && !(si->ds[di] = gh_dpi_stream_new())) {
        c->fed_all = false;
        return;
    }
    uint64_t run = s->woff[dir] + s->bar[dir];
    gh_dpi_match_stream_inc(si->dpi, c->scratch, si->ds[di], c->p, c->st,
                            window_of(si, s, dir) + s->bar[dir], s->wlen[dir] - s->bar[dir], run,
                            (size_t)(from - run),
                            GH_DPI_STREAM_FEED_ONLY | GH_DPI_STREAM_FEED_PACKET, si->tmp, 0);
}

/* Inspect the window's bytes up to stream offset @p upto that were not
 * inspected yet: first the run before a hole when it still waits (IDS),
 * alone, then the current run. */
static void inspect_upto(deliver_ctx *c, uint64_t upto)
{
    stream_slot *s = c->slot;
    int dir = c->dir;
    uint32_t w = c->si->window;
    const uint8_t *win = window_of(c->si, s, dir);
    uint32_t bar = s->bar[dir];
    uint64_t run = s->woff[dir] + bar; /* offset of the current run's first byte */
    uint64_t end = s->woff[dir] + s->wlen[dir];
    if (bar && s->insp[dir] < s->pre[dir] + bar) {
        /* matched on its last window bytes at most, as any run */
        uint32_t vs = bar > w ? bar - w : 0;
        uint64_t from = s->insp[dir] > s->pre[dir] + vs ? s->insp[dir] : s->pre[dir] + vs;
        s->insp[dir] = s->pre[dir] + bar;
        inspect_run(c, win + vs, bar - vs, s->pre[dir] + vs, from);
    }
    if (upto > end)
        upto = end;
    if (s->insp[dir] < run)
        s->insp[dir] = run;
    if (upto <= s->insp[dir])
        return;
    /* the view: the last window bytes up to @p upto (never before the run) */
    uint64_t vstart = upto - run > w ? upto - w : run;
    uint64_t from = s->insp[dir] > vstart ? s->insp[dir] : vstart;
    s->insp[dir] = upto;
    inspect_run(c, win + (vstart - s->woff[dir]), (size_t)(upto - vstart), vstart, from);
}

/* A packet of the other direction's flow: the headers of @p p mirrored, no
 * payload (defined below). */
static void pseudo_packet(gh_packet *out, const gh_packet *p, const gh_flow *f, int dir);

/* The parser reports progress of a transaction: detection on it (once the
 * session is inspected), and a record for events of what alerted on it and
 * of each completed transaction. */
/* The offset detection reads a body from after @p seen bytes were
 * inspected and @p len arrived: a window before the new bytes. */
static uint32_t body_from(uint32_t seen, uint32_t len, int dir)
{
    uint32_t fresh = len - seen, win = body_window[dir];
    if (fresh < win)
        return seen < win - fresh ? 0 : seen - (win - fresh);
    return seen < win / 4 ? 0 : seen - win / 4;
}

/* Which part of direction @p dir's HTTP body detection sees on a report of
 * @p stage, into @p tv; false: not now (Suricata 7's file_data and
 * http.request_body callbacks: wait for the minimal size unless the body
 * hit its limit or ended; afterwards every report with new bytes, from a
 * window before them; file_data's window applies from the second
 * inspection on, http.request_body's once more than the minimal size was
 * inspected). */
static bool body_view(const gh_stream_inspect *si, gh_app_tx *tx, int dir, uint32_t len,
                      gh_app_stage stage, gh_dpi_tx_view *tv)
{
    uint32_t seen = tx->body_inspected[dir];
    tv->windowed = true;
    if (len <= seen) {
        tv->body_none = true;
        return stage == GH_STAGE_DONE; /* the other buffers of a completed direction */
    }
    if (stage == GH_STAGE_BODY && len < body_min[dir] && len < si->body_limit[dir])
        return false;
    tv->file_from = seen ? body_from(seen, len, dir) : 0;
    tv->reqbody_from = seen > body_min[dir] ? body_from(seen, len, dir) : 0;
    tx->body_inspected[dir] = len;
    return true;
}

static void app_progress(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    deliver_ctx *c = ctx;
    gh_stream_inspect *si = c->si;
    stream_slot *s = c->slot;
    const gh_app_ops *ops = gh_app_flow_ops(&s->app);
    void *state = gh_app_flow_state(si->app, &s->app);
    gh_dpi_tx_view tv = {.ops = ops, .state = state, .tx = tx};
    bool http = s->app.proto == GH_ALPROTO_HTTP1;
    if (stage == GH_STAGE_BODY || (http && stage == GH_STAGE_DONE)) {
        const uint8_t *b;
        uint32_t len = 0;
        ops->get_buffer(state, tx, GH_BUF_FILE_DATA, dir, 0, &b, &len);
        if (http) {
            if (!body_view(si, tx, dir, len, stage, &tv))
                return;
        } else { /* other bodies (SMTP attachments): once the minimal size
                  * arrived, then each window more, whole */
            if (len < body_min[dir] || len - tx->body_inspected[dir] < body_window[dir])
                return;
            tx->body_inspected[dir] = len;
        }
    }
    if (c->scan && gh_dpi_has_tx_sigs(si->dpi)) {
        gh_packet mirror;
        const gh_packet *p = c->p;
        gh_pkt_state st = *c->st;
        st.alproto = s->app.proto; /* detected while these bytes were parsed */
        if ((dir ^ s->app.reversed) != c->dir) { /* e.g. a response ended by the client's FIN */
            pseudo_packet(&mirror, c->p, NULL, dir);
            p = &mirror;
        }
        st.to_server = dir == GH_FLOW_TOSERVER; /* the parser's: requests go to the server */
        size_t n = gh_dpi_match_tx(si->dpi, c->scratch, p, &st, &tv, dir, stage, si->tmp,
                                   TMP_MATCHES);
        if (n) {
            int rec = gh_app_record(si->app, &s->app, tx, false);
            for (size_t i = 0; i < n; i++)
                si->tmp[i].tx = (int16_t)rec;
            c->n = merge(c->out, c->n, c->max, si->tmp, n);
        }
    }
    if (stage == GH_STAGE_DONE && tx->progress[0] == GH_STAGE_DONE &&
        tx->progress[1] == GH_STAGE_DONE)
        gh_app_record(si->app, &s->app, tx, true); /* complete: its events */
}

static void app_exception(void *ctx, int dir, gh_app_exc kind)
{
    (void)dir;
    deliver_ctx *c = ctx;
    static const gh_exc_cond cond[] = {[GH_APP_EXC_ERROR] = GH_EXC_COND_APP_ERROR,
                                       [GH_APP_EXC_MEMCAP] = GH_EXC_COND_APP_MEMCAP,
                                       [GH_APP_EXC_DECODE_CAP] = GH_EXC_COND_DECOMPRESS_CAP};
    c->si->exc |= 1u << cond[kind];
}

static void app_anomaly(void *ctx, gh_app_tx *tx, int dir, const char *name)
{
    deliver_ctx *c = ctx;
    gh_app_record_anomaly(c->si->app, tx, dir, name);
    int id = tx && c->slot ? gh_app_event_id(c->slot->app.proto, name, NULL) : -1;
    if (id >= 0)
        tx->events |= 1ull << id;
}

/* The application layer gets every in-order byte of the direction (and
 * each hole) before inspection, so the flow's protocol is known to the
 * signatures inspecting the same bytes. */
static void feed_app(deliver_ctx *c, const uint8_t *data, size_t len, uint64_t off)
{
    stream_slot *s = c->slot;
    int dir = c->dir;
    gh_app_sink sink = {.ctx = c, .on_progress = app_progress, .on_anomaly = app_anomaly,
                        .on_exception = app_exception};
    uint64_t dend = s->woff[dir] + s->wlen[dir];
    if (off > dend && s->wlen[dir])
        gh_app_gap(c->si->app, &s->app, dir, off - dend, &sink);
    gh_app_data(c->si->app, &s->app, dir, data, len, &sink);
    c->lst.alproto = s->app.proto;
    s->owner->app_proto = s->app.proto;
}

/* Tell the application layer once direction @p dir ended: every byte up
 * to its FIN delivered, or the stream closed (RST). */
static void app_closed(deliver_ctx *c, int dir)
{
    stream_slot *s = c->slot;
    if (s->app_closed[dir] || !gh_reasm_stream_done(&s->rs[dir]))
        return;
    s->app_closed[dir] = true;
    gh_app_sink sink = {.ctx = c, .on_progress = app_progress, .on_anomaly = app_anomaly,
                        .on_exception = app_exception};
    gh_app_close(c->si->app, &s->app, dir, &sink);
}

/* New in-order bytes: append them to the window in pieces of at most half
 * a window; a full window keeps its last half. On arrival (inline) each piece
 * is inspected at once, so every byte is scanned with at least half a window
 * of the bytes before it (when there were that many); when
 * inspection waits for acknowledgements (IDS), bytes are inspected before
 * they would leave the window, and once a chunk (ACKED_CHUNK) waits. A hole (bytes
 * reassembly gave up on) ends the run: what came before is inspected, and
 * matches never span the hole. */
static void on_data(void *ctx, const uint8_t *data, size_t len, uint64_t off)
{
    deliver_ctx *c = ctx;
    gh_stream_inspect *si = c->si;
    stream_slot *s = c->slot;
    int dir = c->dir;
    if (!si->win[s - si->slots])
        si->win[s - si->slots] = malloc(2 * (size_t)si->cap);
    uint8_t *win = window_of(si, s, dir);
    uint32_t half = si->window / 2;
    /* deferred (IDS) inspection waits for a chunk; pieces are cut so the
     * bytes waiting never exceed a window (the view of one inspection) */
    uint32_t wait = c->defer && ACKED_CHUNK < si->window ? ACKED_CHUNK : half;
    uint32_t pmax = si->window - wait < half ? si->window - wait : half;
    si->st.bytes += len;
    feed_app(c, data, len, off);
    if (!win) {
        /* no memory for the window: the parser has the bytes, matching
         * does not (the packet is inspected alone) */
        si->st.no_slot++;
        si->exc |= 1u << GH_EXC_COND_STREAM_MEMCAP;
        c->fed_all = false;
        return;
    }
    if (c->p->payload_len && data >= c->p->payload &&
        data < c->p->payload + c->p->payload_len)
        c->fed += len; /* the packet's own bytes (not held ones of earlier packets) */
    /* the window always ends with the last delivered byte */
    uint64_t dend = s->woff[dir] + s->wlen[dir];
    if (off != dend) { /* a hole */
        /* on arrival, or when an earlier run still waits, the bytes before
         * it are inspected now; else (IDS) they wait with the new run */
        if (!si->acked || !c->scan || (s->bar[dir] && s->insp[dir] < dend) ||
            s->insp[dir] < s->woff[dir])
            inspect_upto(c, dend);
        s->pre[dir] = s->woff[dir];
        s->gap[dir] = off - dend;
        s->bar[dir] = s->wlen[dir];
        s->woff[dir] = off - s->wlen[dir];
        si->st.holes++;
    }
    while (len) {
        uint32_t piece = len < pmax ? (uint32_t)len : pmax;
        uint32_t wlen = s->wlen[dir];
        if (wlen + piece > si->cap) {
            /* slide by keeping the last half window (each byte is moved about
             * once, and every new byte still has half a window before it), or
             * the last window while deferring (the bytes waiting stay) */
            uint32_t keep = c->defer ? si->window : half; /* deferred: what waits stays */
            uint32_t drop = wlen > keep ? wlen - keep : 0;
            inspect_upto(c, s->woff[dir] + drop); /* nothing leaves uninspected */
            memmove(win, win + drop, wlen - drop);
            wlen -= drop;
            s->woff[dir] += drop;
            if (drop >= s->bar[dir]) {
                s->bar[dir] = 0;
                s->gap[dir] = 0;
            } else {
                s->bar[dir] -= drop;
            }
        }
        memcpy(win + wlen, data, piece);
        wlen += piece;
        s->wlen[dir] = wlen;
        data += piece;
        len -= piece;
        off += piece;
        if (c->early && c->scan)
            feed_new(c, off - piece);
        if (!c->defer || !c->scan || off - s->insp[dir] > wait)
            inspect_upto(c, off);
    }
}

/* A packet of the other direction's flow: the headers of @p p mirrored, no
 * payload (for inspecting the other direction's bytes), or, with @p p NULL,
 * a packet of flow @p f in direction @p dir (flow end). */
static void pseudo_packet(gh_packet *out, const gh_packet *p, const gh_flow *f, int dir)
{
    memset(out, 0, sizeof(*out));
    if (p) {
        out->ip_ver = p->ip_ver;
        out->src = p->dst;
        out->dst = p->src;
        out->sport = p->dport;
        out->dport = p->sport;
        out->ttl = p->ttl;
    } else {
        bool client_lo = f->flags & GH_FLOWF_CLIENT_IS_LO;
        bool lo_src = dir == GH_FLOW_TOSERVER ? client_lo : !client_lo;
        out->ip_ver = f->key.ip_ver;
        out->src = lo_src ? f->key.lo : f->key.hi;
        out->dst = lo_src ? f->key.hi : f->key.lo;
        out->sport = lo_src ? f->key.lo_port : f->key.hi_port;
        out->dport = lo_src ? f->key.hi_port : f->key.lo_port;
        out->ttl = 64;
    }
    out->ip_proto = 6;
    out->layers = (out->ip_ver == 4 ? GH_LAYER_IPV4 : GH_LAYER_IPV6) | GH_LAYER_TCP;
    out->tcp_flags = GH_TCP_ACK;
}

/* IDS: the packet's ACK tells what the other direction's receiver got:
 * holes before it are given up (the capture missed bytes the receiver has). */
static void take_ack(gh_stream_inspect *si, gh_dpi_scratch *scratch, stream_slot *s, int dir,
                     const gh_packet *p, const gh_pkt_state *st, deliver_ctx *c)
{
    int o = !dir;
    gh_reasm_stream *rs = &s->rs[o];
    if (!(p->tcp_flags & GH_TCP_ACK) || !(rs->flags & GH_REASM_STARTED))
        return;
    int64_t a = gh_reasm_seq_offset(rs, p->tcp_ack);
    if (a <= 0 || (uint64_t)a <= s->acked[o])
        return;
    s->acked[o] = (uint64_t)a;
    if ((uint64_t)a > rs->next_off && rs->held_bytes) {
        gh_packet mirror;
        pseudo_packet(&mirror, p, NULL, o);
        gh_pkt_state ms = *st;
        ms.to_server = !st->to_server;
        /* matches of those bytes (when they must be inspected now, to stay
         * in the window) join this packet's */
        deliver_ctx oc = {.si = si, .scratch = scratch, .slot = s, .dir = o, .p = &mirror,
                          .out = c->out, .n = c->n, .max = c->max, .scan = c->scan,
                          .defer = true, .fed_all = true, .lst = ms};
        oc.st = &oc.lst;
        gh_reasm_skip_gap(si->reasm, rs, (uint64_t)a, on_data, &oc);
        c->n = oc.n;
    }
}

/* stream_size's inputs, as Suricata's TcpSession has them when the packet
 * is inspected (stream-tcp.c runs first): per side, its next sequence
 * number minus its ISN. Tracked here packet by packet (the flow table
 * updates a whole batch before this stage): the SYN sets the ISN and counts
 * 1, each segment moves next to seq + len when that is further; a side
 * that sent no SYN counts 0 (Suricata's zeroed server before the SYN/ACK).
 * A FIN counts 1 for the server and nothing for the client until the
 * server acknowledges it, as Suricata's StreamTcpHandleFin and the ACK
 * updates of the closing states do. */
static void stream_sizes(stream_slot *s, const gh_packet *p, int dir, gh_pkt_state *st)
{
    if (p && (p->tcp_flags & GH_TCP_SYN) && !s->ss_on[dir]) {
        s->ss_on[dir] = true;
        s->ss_isn[dir] = p->tcp_seq;
        s->ss_next[dir] = p->tcp_seq + 1 + p->payload_len;
    } else if (p && s->ss_on[dir] && !(p->tcp_flags & GH_TCP_SYN)) {
        bool fin = p->tcp_flags & GH_TCP_FIN;
        uint32_t end = p->tcp_seq + p->payload_len + (fin && dir == GH_FLOW_TOCLIENT);
        if ((int32_t)(end - s->ss_next[dir]) > 0)
            s->ss_next[dir] = end;
        s->ss_fin[dir] |= fin;
        int o = dir ^ 1;
        if ((p->tcp_flags & GH_TCP_ACK) && s->ss_fin[o] && s->ss_on[o] &&
            (int32_t)(p->tcp_ack - s->ss_next[o]) > 0)
            s->ss_next[o] = p->tcp_ack;
    }
    st->tcp_ssn = s->ss_on[0] || s->ss_on[1];
    for (int d = 0; d < 2; d++)
        st->ssize[d] = s->ss_on[d] ? s->ss_next[d] - s->ss_isn[d] : 0;
}

size_t gh_stream_inspect_packet(gh_stream_inspect *si, gh_dpi_scratch *scratch, gh_flow *f,
                                int dir, const gh_packet *p, const gh_pkt_state *st,
                                gh_dpi_match *out, size_t max)
{
    deliver_ctx c = {.si = si, .scratch = scratch, .dir = dir, .p = p, .out = out,
                     .max = max, .defer = si->acked, .early = si->acked, .fed_all = true,
                     .lst = *st};
    c.st = &c.lst;
    gh_app_records_reset(si->app);
    stream_slot *s = slot_get(si, f);
    if (!s) {
        /* no stream state to spare: this flow is inspected packet by packet */
        si->st.no_slot++;
        si->exc |= 1u << GH_EXC_COND_STREAM_MEMCAP;
        return gh_dpi_match_packet(si->dpi, scratch, p, c.st, p->payload, p->payload_len, out, max);
    }
    c.slot = s;
    c.lst.alproto = s->app.proto;
    c.lst.fv = &s->fv;
    stream_sizes(s, p, dir, &c.lst);
    si->st.packets++;
    /* Stream inspection starts once the session is established (handshake
     * seen, or picked up mid-stream); before that, and for streams that
     * never start, each packet is inspected alone, as Suricata does. Bytes
     * delivered meanwhile still fill the window, for context. */
    bool est = st && st->established;
    c.scan = est;
    gh_dpi_stream_packet_begin(scratch);
    uint64_t exhausted = gh_reasm_get_stats(si->reasm)->pool_exhausted;
    int rc = gh_reasm_segment(si->reasm, &s->rs[dir], p, on_data, &c);
    /* the reassembly memcap (not a flow's own out-of-order limits) */
    if (gh_reasm_get_stats(si->reasm)->pool_exhausted != exhausted)
        si->exc |= 1u << GH_EXC_COND_STREAM_MEMCAP;
    app_closed(&c, dir);
    if (si->acked) {
        /* IDS: this direction's bytes are inspected up to what the receiver
         * acknowledged, in chunks as Suricata's raw stream inspection does:
         * once ACKED_CHUNK bytes wait, or on a FIN or RST of the sender, or
         * once the session closes (the server sent FIN, or both did), else
         * at flow end; a signature alerts once per chunk. The packet's own
         * bytes were fed on arrival (feed_new): the packet side takes its
         * candidates from that scan. */
        take_ack(si, scratch, s, dir, p, c.st, &c);
        uint64_t pend = s->acked[dir] > s->insp[dir] ? s->acked[dir] - s->insp[dir] : 0;
        bool closing = (p->tcp_flags & (GH_TCP_FIN | GH_TCP_RST)) ||
                       (s->rs[GH_FLOW_TOCLIENT].flags & (GH_REASM_FIN | GH_REASM_CLOSED)) ||
                       (s->rs[GH_FLOW_TOSERVER].flags & GH_REASM_CLOSED);
        if (pend && (pend >= ACKED_CHUNK || closing))
            inspect_upto(&c, s->acked[dir]);
    }
    if (!est || !(s->rs[dir].flags & GH_REASM_STARTED)) {
        si->st.not_synced++;
        size_t n = gh_dpi_match_packet(si->dpi, scratch, p, c.st, p->payload, p->payload_len,
                                       si->tmp, TMP_MATCHES);
        c.n = merge(out, c.n, max, si->tmp, n);
        gh_dpi_match_sort(si->dpi, out, c.n);
        return c.n;
    }
    if (rc == GH_E_LIMIT) {
        /* reassembly could not hold it: better inspected alone than not */
        si->st.reasm_refused++;
        size_t n = gh_dpi_match_packet(si->dpi, scratch, p, c.st, p->payload, p->payload_len, si->tmp,
                                       TMP_MATCHES);
        c.n = merge(out, c.n, max, si->tmp, n);
    }
    /* once per packet: header-only signatures, packet-only ones
     * (flow:no_stream), and the anchored ones (offset/depth/startswith count
     * from the packet, as in Suricata's raw stream chunks, which start with
     * the new data) */
    /* when the stream calls scanned all of the payload as new bytes, their
     * hits are the payload's candidates: no second scan */
    unsigned fl = GH_DPI_PACKET_TCP_SIDE;
    if (c.fed_all && c.fed == p->payload_len)
        fl |= GH_DPI_PACKET_STREAM_HITS;
    else
        si->st.packet_rescans++;
    size_t n = gh_dpi_match_packet_ex(si->dpi, scratch, p, c.st, p->payload, p->payload_len, fl,
                                      si->tmp,
                                      TMP_MATCHES);
    c.n = merge(out, c.n, max, si->tmp, n);
    gh_dpi_match_sort(si->dpi, out, c.n);
    return c.n;
}

size_t gh_stream_inspect_datagram(gh_stream_inspect *si, gh_dpi_scratch *scratch, gh_flow *f,
                                  int dir, const gh_packet *p, const gh_pkt_state *st,
                                  gh_dpi_match *out, size_t max)
{
    deliver_ctx c = {.si = si, .scratch = scratch, .dir = dir, .p = p, .out = out,
                     .max = max, .scan = true, .lst = *st};
    c.st = &c.lst;
    gh_app_records_reset(si->app);
    stream_slot *s = f->ext;
    /* a flow takes state when its datagram may be a parser's (probing
     * decides), or for its flowbits and flowints */
    bool client_lo = f->flags & GH_FLOWF_CLIENT_IS_LO;
    gh_app_probe_ctx pc = {.transport = GH_APP_UDP,
                           .server_port = client_lo ? f->key.hi_port : f->key.lo_port,
                           .client_port = client_lo ? f->key.lo_port : f->key.hi_port};
    bool probe = p->payload_len && !(s && s->app_udp) &&
                 gh_app_udp_candidate(&pc, dir, p->payload, p->payload_len);
    if (!s && (probe || gh_dpi_has_flowvars(si->dpi)) && !(s = slot_get(si, f))) {
        si->st.no_slot++;
        si->exc |= 1u << GH_EXC_COND_STREAM_MEMCAP;
    }
    if (s) {
        c.slot = s;
        s->app_udp |= probe;
        if (s->app_udp) {
            gh_app_sink sink = {.ctx = &c, .on_progress = app_progress,
                                .on_anomaly = app_anomaly, .on_exception = app_exception};
            gh_app_datagram(si->app, &s->app, dir, p->payload, p->payload_len, &sink);
        }
        c.lst.alproto = s->app.proto;
        c.lst.fv = &s->fv;
        f->app_proto = s->app.proto;
    }
    size_t n = gh_dpi_match_packet(si->dpi, scratch, p, c.st, p->payload, p->payload_len,
                                   si->tmp, TMP_MATCHES);
    c.n = merge(out, c.n, max, si->tmp, n);
    gh_dpi_match_sort(si->dpi, out, c.n);
    return c.n;
}

int gh_stream_inspect_record_current(gh_stream_inspect *si, const gh_flow *f, int dir)
{
    stream_slot *s = f->ext;
    const gh_app_ops *ops = s ? gh_app_flow_ops(&s->app) : NULL;
    void *state = s ? gh_app_flow_state(si->app, &s->app) : NULL;
    if (!ops || !state)
        return -1;
    int pd = dir ^ s->app.reversed;
    gh_app_tx *cur = NULL;
    for (size_t i = 0, n = ops->tx_count(state); i < n && (!cur || cur->progress[pd] ==
                                                                        GH_STAGE_DONE); i++)
        cur = ops->tx_get(state, i);
    return cur ? gh_app_record(si->app, &s->app, cur, false) : -1;
}

unsigned gh_stream_inspect_take_exceptions(gh_stream_inspect *si)
{
    unsigned m = si->exc;
    si->exc = 0;
    return m;
}

const gh_stream_inspect_stats *gh_stream_inspect_get_stats(const gh_stream_inspect *si)
{
    return &si->st;
}

gh_app *gh_stream_inspect_app(const gh_stream_inspect *si)
{
    return si->app;
}

gh_flowvars *gh_stream_inspect_flowvars(gh_stream_inspect *si, gh_flow *f)
{
    if (!gh_dpi_has_flowvars(si->dpi))
        return NULL;
    stream_slot *s = slot_get(si, f);
    if (!s) {
        si->st.no_slot++;
        si->exc |= 1u << GH_EXC_COND_STREAM_MEMCAP;
    }
    return s ? &s->fv : NULL;
}

uint8_t gh_stream_inspect_alproto(const gh_stream_inspect *si, const gh_flow *f)
{
    const stream_slot *s = f && si ? f->ext : NULL;
    return s ? s->app.proto : GH_ALPROTO_UNKNOWN;
}

const gh_reasm *gh_stream_inspect_reasm(const gh_stream_inspect *si)
{
    return si->reasm;
}


size_t gh_stream_inspect_flow_end(gh_stream_inspect *si, gh_dpi_scratch *scratch, gh_flow *f,
                                  int dir, gh_packet *pseudo, gh_pkt_state *st,
                                  gh_dpi_match *out, size_t max)
{
    stream_slot *s = f->ext;
    if (!si || !s)
        return 0;
    gh_app_records_reset(si->app);
    if (s->app.pc.transport == GH_APP_UDP)
        return 0; /* datagrams: nothing waits */
    bool started = s->rs[dir].flags & GH_REASM_STARTED;
    bool waiting = started && (s->rs[dir].held_bytes ||
                               s->insp[dir] < s->woff[dir] + s->wlen[dir]);
    bool app = !s->app_closed[dir] && s->app.state;
    if (!waiting && !app)
        return 0; /* nothing held, nothing waiting: the common case, kept cheap */
    pseudo_packet(pseudo, NULL, f, dir);
    *st = (gh_pkt_state){.has_flow = true, .established = true,
                         .to_server = dir == GH_FLOW_TOSERVER, .xb = st->xb,
                         .now_s = st->now_s};
    st->alproto = s->app.proto;
    st->fv = &s->fv;
    stream_sizes(s, NULL, dir, st);
    deliver_ctx c = {.si = si, .scratch = scratch, .slot = s, .dir = dir, .p = pseudo, .st = st,
                     .out = out, .max = max, .scan = true, .defer = true, .fed_all = true,
                     .lst = *st};
    if (waiting) {
        /* the bytes held past holes that never filled, then whatever waits */
        gh_reasm_skip_gap(si->reasm, &s->rs[dir], UINT64_MAX, on_data, &c);
        inspect_upto(&c, UINT64_MAX);
    }
    if (app) { /* a body delimited by the close completes; unfinished transactions end */
        s->app_closed[dir] = true;
        gh_app_sink sink = {.ctx = &c, .on_progress = app_progress, .on_anomaly = app_anomaly,
                            .on_exception = app_exception};
        gh_app_close(si->app, &s->app, dir, &sink);
    }
    gh_dpi_match_sort(si->dpi, out, c.n);
    return c.n;
}

size_t gh_stream_inspect_payload(const gh_stream_inspect *si, const gh_flow *f, int dir,
                                 uint8_t *buf, size_t cap)
{
    const stream_slot *s = f ? f->ext : NULL;
    if (!si || !s || (dir != 0 && dir != 1) || cap == 0)
        return 0;
    const uint8_t *win = window_of(si, s, dir);
    if (!win)
        return 0;
    size_t bar = s->bar[dir], wl = s->wlen[dir];
    size_t start = wl > si->window ? wl - si->window : 0; /* the last window bytes */
    size_t n = 0;
    if (bar > start) {
        n = bar - start < cap ? bar - start : cap;
        memcpy(buf, win + start, n);
    }
    if (s->gap[dir] && bar >= start && n < cap) { /* Suricata's marker for bytes never seen */
        char mark[48];
        int m = snprintf(mark, sizeof(mark), "[%llu bytes missing]",
                         (unsigned long long)s->gap[dir]);
        size_t k = (size_t)m < cap - n ? (size_t)m : cap - n;
        memcpy(buf + n, mark, k);
        n += k;
    }
    size_t from = bar > start ? bar : start;
    size_t rest = wl - from < cap - n ? wl - from : cap - n;
    memcpy(buf + n, win + from, rest);
    return n + rest;
}
