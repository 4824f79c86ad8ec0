/* Stream inspection for TCP: reassembly into per-direction sliding windows,
 * signatures matched on the window (see stream_inspect.h). */
#include <stdlib.h>
#include <string.h>

#include "stream_inspect.h"

typedef struct stream_slot {
    gh_reasm_stream rs[2];
    uint64_t woff[2];  /* stream offset of the window's first byte */
    uint32_t wlen[2];
    uint32_t next_free; /* free-list link (index + 1), 0: end */
    gh_flow *owner;
} stream_slot;

struct gh_stream_inspect {
    const gh_dpi *dpi;
    gh_reasm *reasm;
    stream_slot *slots;
    uint8_t *windows; /* 2 * window bytes per slot, touched only when used */
    gh_dpi_stream **ds; /* 2 per slot, made at the slot's first use, then reused */
    uint32_t window, nslots, free_head;
    gh_stream_inspect_stats st;
};

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
    *off = s->woff[dir];
    *len = s->wlen[dir];
    return si->windows + (i * 2 + (size_t)dir) * si->window;
}

gh_stream_inspect *gh_stream_inspect_new(const gh_dpi *dpi, uint32_t window, uint32_t max_flows,
                                         bool midstream, gh_error *err)
{
    if (window < 256 || max_flows == 0) {
        gh_error_set(err, GH_E_INVAL, "stream window must be >= 256 bytes and flows >= 1");
        return NULL;
    }
    gh_stream_inspect *si = calloc(1, sizeof(*si));
    if (!si)
        goto oom;
    si->dpi = dpi;
    si->window = window;
    si->nslots = max_flows;
    gh_reasm_config rc;
    gh_reasm_config_init(&rc);
    rc.midstream = midstream;
    rc.history = window_history;
    rc.history_ctx = si;
    if (!(si->reasm = gh_reasm_new(&rc, err)))
        goto fail;
    si->slots = calloc(max_flows, sizeof(*si->slots));
    si->windows = malloc((size_t)max_flows * 2 * window);
    si->ds = calloc((size_t)max_flows * 2, sizeof(*si->ds));
    if (!si->slots || !si->windows || !si->ds)
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
    for (size_t i = 0; si->ds && i < (size_t)si->nslots * 2; i++)
        gh_dpi_stream_free(si->ds[i]);
    free(si->ds);
    free(si->slots);
    free(si->windows);
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
    return s;
}

void gh_stream_inspect_flow_end(gh_stream_inspect *si, gh_flow *f)
{
    stream_slot *s = f->ext;
    if (!si || !s)
        return;
    gh_reasm_stream_close(si->reasm, &s->rs[0]);
    gh_reasm_stream_close(si->reasm, &s->rs[1]);
    s->owner = NULL;
    s->next_free = si->free_head;
    si->free_head = (uint32_t)(s - si->slots) + 1;
    f->ext = NULL;
}

/* Merge @p n matches into the packet's list, one entry per signature. */
static size_t merge(gh_dpi_match *out, size_t have, size_t max, const gh_dpi_match *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t k = 0; k < have && !dup; k++)
            dup = out[k].idx == m[i].idx;
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
    const gh_packet *p;
    const gh_pkt_state *st;
    gh_dpi_match *out, tmp[32];
    size_t n, max;
    bool scan; /* false: only fill the window (the packet is inspected alone) */
    size_t fed;     /* bytes of the packet's own payload fed to the stream state */
    bool fed_all;   /* false: some window went without stream state */
} deliver_ctx;

/* New in-order bytes: append them to the window in pieces of at most half
 * a window, scanning after each, so every byte is scanned with at least
 * half a window of the bytes before it. */
static void on_data(void *ctx, const uint8_t *data, size_t len, uint64_t off)
{
    deliver_ctx *c = ctx;
    gh_stream_inspect *si = c->si;
    stream_slot *s = c->slot;
    uint8_t *win = si->windows + ((size_t)(s - si->slots) * 2 + (size_t)c->dir) * si->window;
    uint32_t half = si->window / 2;
    si->st.bytes += len;
    if (data >= c->p->payload && data < c->p->payload + c->p->payload_len)
        c->fed += len; /* the packet's own bytes (not held ones of earlier packets) */
    while (len) {
        uint32_t piece = len < half ? (uint32_t)len : half;
        uint32_t wlen = s->wlen[c->dir];
        if (wlen == 0)
            s->woff[c->dir] = off;
        if (wlen + piece > si->window) {
            uint32_t drop = wlen + piece - si->window;
            memmove(win, win + drop, wlen - drop);
            wlen -= drop;
            s->woff[c->dir] += drop;
        }
        memcpy(win + wlen, data, piece);
        uint32_t new_from = wlen;
        wlen += piece;
        s->wlen[c->dir] = wlen;
        data += piece;
        len -= piece;
        off += piece;
        /* each new byte goes once through the direction's Hyperscan stream
         * (gh_dpi_match_stream_inc); without that state, the window is
         * scanned whole */
        size_t di = (size_t)(s - si->slots) * 2 + (size_t)c->dir;
        if (!si->ds[di])
            si->ds[di] = gh_dpi_stream_new();
        if (!c->scan) {
            if (si->ds[di])
                gh_dpi_match_stream_inc(si->dpi, c->scratch, si->ds[di], c->p, c->st, win, wlen,
                                        s->woff[c->dir], new_from, GH_DPI_STREAM_FEED_ONLY,
                                        c->tmp, 0);
            continue;
        }
        si->st.windows++;
        size_t n;
        if (si->ds[di])
            n = gh_dpi_match_stream_inc(si->dpi, c->scratch, si->ds[di], c->p, c->st, win, wlen,
                                        s->woff[c->dir], new_from, 0, c->tmp,
                                        sizeof(c->tmp) / sizeof(c->tmp[0]));
        else {
            c->fed_all = false;
            n = gh_dpi_match_stream(si->dpi, c->scratch, c->p, c->st, win, wlen,
                                    s->woff[c->dir], new_from,
                                    GH_DPI_STREAM_SKIP_HEADER_ONLY | GH_DPI_STREAM_SKIP_ANCHORED,
                                    c->tmp, sizeof(c->tmp) / sizeof(c->tmp[0]));
        }
        c->n = merge(c->out, c->n, c->max, c->tmp, n);
    }
}

size_t gh_stream_inspect_packet(gh_stream_inspect *si, gh_dpi_scratch *scratch, gh_flow *f,
                                int dir, const gh_packet *p, const gh_pkt_state *st,
                                gh_dpi_match *out, size_t max)
{
    deliver_ctx c = {.si = si, .scratch = scratch, .dir = dir, .p = p, .st = st, .out = out,
                     .max = max, .fed_all = true};
    stream_slot *s = slot_get(si, f);
    if (!s) {
        /* no stream state to spare: this flow is inspected packet by packet */
        si->st.no_slot++;
        return gh_dpi_match_packet(si->dpi, scratch, p, st, p->payload, p->payload_len, out, max);
    }
    c.slot = s;
    si->st.packets++;
    /* Stream inspection starts once the session is established (handshake
     * seen, or picked up mid-stream); before that, and for streams that
     * never start, each packet is inspected alone, as Suricata does. Bytes
     * delivered meanwhile still fill the window, for context. */
    bool est = st && st->established;
    c.scan = est;
    gh_dpi_stream_packet_begin(scratch);
    int rc = gh_reasm_segment(si->reasm, &s->rs[dir], p, on_data, &c);
    if (!est || !(s->rs[dir].flags & GH_REASM_STARTED)) {
        si->st.not_synced++;
        size_t n = gh_dpi_match_packet(si->dpi, scratch, p, st, p->payload, p->payload_len,
                                       c.tmp, sizeof(c.tmp) / sizeof(c.tmp[0]));
        c.n = merge(out, c.n, max, c.tmp, n);
        gh_dpi_match_sort(si->dpi, out, c.n);
        return c.n;
    }
    if (rc == GH_E_LIMIT) {
        /* reassembly could not hold it: better inspected alone than not */
        si->st.reasm_refused++;
        size_t n = gh_dpi_match_packet(si->dpi, scratch, p, st, p->payload, p->payload_len, c.tmp,
                                       sizeof(c.tmp) / sizeof(c.tmp[0]));
        c.n = merge(out, c.n, max, c.tmp, n);
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
    size_t n = gh_dpi_match_packet_ex(si->dpi, scratch, p, st, p->payload, p->payload_len, fl,
                                      c.tmp,
                                      sizeof(c.tmp) / sizeof(c.tmp[0]));
    c.n = merge(out, c.n, max, c.tmp, n);
    gh_dpi_match_sort(si->dpi, out, c.n);
    return c.n;
}

const gh_stream_inspect_stats *gh_stream_inspect_get_stats(const gh_stream_inspect *si)
{
    return &si->st;
}

const gh_reasm *gh_stream_inspect_reasm(const gh_stream_inspect *si)
{
    return si->reasm;
}

const uint8_t *gh_stream_inspect_window(const gh_stream_inspect *si, const gh_flow *f, int dir,
                                        size_t *len)
{
    const stream_slot *s = f ? f->ext : NULL;
    *len = 0;
    if (!si || !s || (dir != 0 && dir != 1))
        return NULL;
    *len = s->wlen[dir];
    return si->windows + ((size_t)(s - si->slots) * 2 + (size_t)dir) * si->window;
}
