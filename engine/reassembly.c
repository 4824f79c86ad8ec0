/* TCP reassembly: per-direction expected offset, out-of-order data held in
 * pool chunks until the gap fills, first data wins (DESIGN.md §2, §5).
 *
 * Offsets: a stream maps sequence numbers to 64-bit stream offsets relative
 * to the next expected byte with serial arithmetic (RFC 1982), so wrap-around
 * at 2^32 is invisible and a stream may carry more than 4 GiB. A segment more
 * than 2^31 bytes ahead reads as old, which is what TCP itself assumes.
 *
 * Held data: a singly linked list of chunks per stream, sorted by offset and
 * non-overlapping; each chunk holds one contiguous piece of at most
 * chunk_size bytes. A new out-of-order segment only fills the holes between
 * held pieces (that is "first data wins" at byte level) and is compared with
 * what it overlaps. An in-order segment is delivered straight from the
 * packet, except where held data already covers it: those bytes arrived
 * first, so they are delivered instead and the packet's are compared.
 *
 * Compare window: the last compare_window delivered bytes are kept (copied
 * from the packet, or the delivered held chunks moved over without a copy) so
 * that retransmissions can be compared. It is best effort: it may only take
 * chunks while a quarter of the pool stays free for out-of-order data, and a
 * stream gives its window back when it needs chunks for held data.
 *
 * Pool: chunk indices are 1-based (0 = none), so a zeroed stream is valid;
 * chunks are handed out from a bump index then a LIFO free list, so pages of
 * the pool are touched only when first needed (like the flow table). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gatehouse/reassembly.h"

static_assert(sizeof(gh_reasm_stream) == 48, "a stream is 48 bytes (two per flow)");

#define MIN_CHUNK 16u
#define MAX_CHUNK 65536u

typedef struct rchunk {
    uint64_t off;  /* stream offset of data[0] */
    uint32_t next; /* index + 1 of the next chunk of the same list; 0 = end */
    uint32_t len;  /* bytes used in data */
    uint8_t data[];
} rchunk;

struct gh_reasm {
    uint8_t *pool;
    size_t stride;      /* bytes per chunk: header + chunk_size, 8-aligned */
    uint32_t nchunks;
    uint32_t bump;      /* chunks [0, bump) were handed out at least once */
    uint32_t free_head; /* index + 1; 0 = none */
    uint32_t reserve;   /* free chunks the compare window may not take */
    gh_reasm_config cfg;
    gh_reasm_stats st;
};

static const char *const counter_names[] = {
#define GH_X_NAME(f, s) s,
    GH_REASM_COUNTER_LIST(GH_X_NAME)
#undef GH_X_NAME
};

const char *gh_reasm_counter_name(size_t i)
{
    return i < sizeof(counter_names) / sizeof(counter_names[0]) ? counter_names[i] : NULL;
}

void gh_reasm_config_init(gh_reasm_config *cfg)
{
    *cfg = (gh_reasm_config){
        .memcap = (size_t)64 << 20,
        .chunk_size = 512,
        .max_held_bytes = 1u << 20,
        .max_held_chunks = 4096,
        .window = 16u << 20,
        .compare_window = 4096,
        .midstream = false,
    };
}

gh_reasm *gh_reasm_new(const gh_reasm_config *cfg, gh_error *err)
{
    gh_reasm_config c;
    if (cfg)
        c = *cfg;
    else
        gh_reasm_config_init(&c);
    if (c.chunk_size < MIN_CHUNK || c.chunk_size > MAX_CHUNK) {
        gh_error_set(err, GH_E_INVAL, "reassembly: chunk_size %u outside [%u, %u]", c.chunk_size,
                     MIN_CHUNK, MAX_CHUNK);
        return NULL;
    }
    size_t stride = (sizeof(rchunk) + c.chunk_size + 7u) & ~(size_t)7u;
    size_t n = c.memcap / stride;
    if (n == 0 || n > UINT32_MAX - 1) {
        gh_error_set(err, GH_E_INVAL, "reassembly: memcap %zu holds %zu chunks of %zu bytes",
                     c.memcap, n, stride);
        return NULL;
    }
    if (c.window == 0 || c.max_held_chunks > UINT16_MAX) {
        gh_error_set(err, GH_E_INVAL, "reassembly: window must be > 0 and max_held_chunks <= %u",
                     (unsigned)UINT16_MAX);
        return NULL;
    }
    gh_reasm *r = calloc(1, sizeof(*r));
    if (!r) {
        gh_error_set(err, GH_E_NOMEM, "reassembly: out of memory");
        return NULL;
    }
    /* malloc, not calloc: untouched chunks must stay unmapped */
    r->pool = malloc(n * stride);
    if (!r->pool) {
        free(r);
        gh_error_set(err, GH_E_NOMEM, "reassembly: cannot allocate a %zu-byte pool", n * stride);
        return NULL;
    }
    r->stride = stride;
    r->nchunks = (uint32_t)n;
    r->reserve = r->nchunks / 4;
    if (c.history)
        c.compare_window = 0; /* the consumer's bytes are the compare window */
    r->cfg = c;
    r->st.mem_alloc = n * stride + sizeof(*r);
    return r;
}

void gh_reasm_free(gh_reasm *r)
{
    if (!r)
        return;
    free(r->pool);
    free(r);
}

const gh_reasm_stats *gh_reasm_get_stats(const gh_reasm *r)
{
    return &r->st;
}

/* ---- pool ----------------------------------------------------------------- */

static inline rchunk *chunk_at(const gh_reasm *r, uint32_t idx)
{
    return (rchunk *)(void *)(r->pool + (size_t)(idx - 1) * r->stride);
}

static inline uint32_t chunks_free(const gh_reasm *r)
{
    return r->nchunks - (uint32_t)r->st.chunks_used;
}

/* Callers check chunks_free() first. */
static uint32_t chunk_alloc(gh_reasm *r)
{
    uint32_t idx;
    if (r->free_head) {
        idx = r->free_head;
        r->free_head = chunk_at(r, idx)->next;
    } else {
        assert(r->bump < r->nchunks);
        idx = ++r->bump;
    }
    r->st.chunks_used++;
    if (r->st.chunks_used > r->st.chunks_max)
        r->st.chunks_max = r->st.chunks_used;
    r->st.mem_use += r->stride;
    rchunk *c = chunk_at(r, idx);
    c->next = 0;
    c->len = 0;
    return idx;
}

static void chunk_free(gh_reasm *r, uint32_t idx)
{
    chunk_at(r, idx)->next = r->free_head;
    r->free_head = idx;
    r->st.chunks_used--;
    r->st.mem_use -= r->stride;
}

/* ---- compare window (recently delivered bytes) ----------------------------- */

static void hist_trim(gh_reasm *r, gh_reasm_stream *s)
{
    while (s->hist_head) {
        rchunk *c = chunk_at(r, s->hist_head);
        if (s->hist_bytes - c->len < r->cfg.compare_window)
            break;
        uint32_t idx = s->hist_head;
        s->hist_head = c->next;
        s->hist_bytes -= c->len;
        chunk_free(r, idx);
    }
    if (!s->hist_head)
        s->hist_tail = 0;
}

/* Return a list of chunks (head/tail indexes) to the pool. */
static void chunk_list_free(gh_reasm *r, uint32_t *head, uint32_t *tail)
{
    while (*head) {
        uint32_t idx = *head;
        *head = chunk_at(r, idx)->next;
        chunk_free(r, idx);
    }
    *tail = 0;
}

static void hist_release(gh_reasm *r, gh_reasm_stream *s)
{
    chunk_list_free(r, &s->hist_head, &s->hist_tail);
    s->hist_bytes = 0;
}

/* Take over a delivered held chunk (no copy). */
static void hist_push_chunk(gh_reasm *r, gh_reasm_stream *s, uint32_t idx)
{
    if (r->cfg.compare_window == 0) {
        chunk_free(r, idx);
        return;
    }
    chunk_at(r, idx)->next = 0;
    if (s->hist_tail)
        chunk_at(r, s->hist_tail)->next = idx;
    else
        s->hist_head = idx;
    s->hist_tail = idx;
    s->hist_bytes += chunk_at(r, idx)->len;
    hist_trim(r, s);
}

/* Copy bytes delivered from a packet. */
static void hist_append(gh_reasm *r, gh_reasm_stream *s, const uint8_t *data, uint64_t len,
                        uint64_t off)
{
    uint32_t w = r->cfg.compare_window;
    if (w == 0)
        return;
    if (len > w) {
        data += len - w;
        off += len - w;
        len = w;
    }
    if (s->hist_tail) {
        rchunk *t = chunk_at(r, s->hist_tail);
        if (t->off + t->len == off && t->len < r->cfg.chunk_size) {
            uint32_t n = r->cfg.chunk_size - t->len;
            if (n > len)
                n = (uint32_t)len;
            memcpy(t->data + t->len, data, n);
            t->len += n;
            s->hist_bytes += n;
            data += n;
            off += n;
            len -= n;
        }
    }
    while (len > 0 && chunks_free(r) > r->reserve) {
        uint32_t idx = chunk_alloc(r);
        rchunk *c = chunk_at(r, idx);
        uint32_t n = len < r->cfg.chunk_size ? (uint32_t)len : r->cfg.chunk_size;
        c->off = off;
        c->len = n;
        memcpy(c->data, data, n);
        if (s->hist_tail)
            chunk_at(r, s->hist_tail)->next = idx;
        else
            s->hist_head = idx;
        s->hist_tail = idx;
        s->hist_bytes += n;
        data += n;
        off += n;
        len -= n;
    }
    hist_trim(r, s);
}

/* True when the kept delivered bytes overlapping [off, off + len) differ
 * from @p data. Bytes no longer kept are not compared. */
static bool hist_differs(const gh_reasm *r, const gh_reasm_stream *s, const uint8_t *data,
                         uint64_t off, uint64_t len)
{
    uint64_t end = off + len;
    if (r->cfg.history) {
        uint64_t ho = 0;
        size_t hl = 0;
        const uint8_t *h = r->cfg.history(r->cfg.history_ctx, s, &ho, &hl);
        uint64_t a = ho > off ? ho : off;
        uint64_t b = ho + hl < end ? ho + hl : end;
        return h && a < b && memcmp(h + (a - ho), data + (a - off), (size_t)(b - a)) != 0;
    }
    for (uint32_t i = s->hist_head; i; i = chunk_at(r, i)->next) {
        const rchunk *c = chunk_at(r, i);
        uint64_t a = c->off > off ? c->off : off;
        uint64_t b = c->off + c->len < end ? c->off + c->len : end;
        if (a < b && memcmp(c->data + (a - c->off), data + (a - off), (size_t)(b - a)) != 0)
            return true;
        if (c->off >= end)
            break;
    }
    return false;
}

/* ---- held out-of-order data -------------------------------------------------- */

static void held_release(gh_reasm *r, gh_reasm_stream *s)
{
    chunk_list_free(r, &s->held_head, &s->held_tail);
    r->st.held_bytes -= s->held_bytes;
    s->held_bytes = 0;
    s->held_chunks = 0;
}

/* Hold [off, off + len), off > next_off: fill only the holes between held
 * pieces (first data wins); all or nothing, so a limit never leaves half a
 * segment behind. */
static int hold(gh_reasm *r, gh_reasm_stream *s, const uint8_t *data, uint64_t off, uint64_t len)
{
    const uint32_t cs = r->cfg.chunk_size;
    uint64_t end = off + len;
    if (end - s->next_off > r->cfg.window) {
        r->st.beyond_window++;
        return GH_E_LIMIT;
    }
    /* dry run: new bytes and chunks needed; compare what is already held */
    uint64_t pos = off, need_bytes = 0, need_chunks = 0;
    bool overlap = false, conflict = false;
    /* the common case after a loss: the segment continues past the last held one */
    const rchunk *tail = s->held_tail ? chunk_at(r, s->held_tail) : NULL;
    bool append = tail && off >= tail->off + tail->len;
    /* ... and a segment arriving in reverse order ends before the first held one */
    bool prepend = !append && tail && end <= chunk_at(r, s->held_head)->off;
    for (uint32_t i = append || prepend ? 0 : s->held_head; i && pos < end; i = chunk_at(r, i)->next) {
        const rchunk *c = chunk_at(r, i);
        uint64_t cend = c->off + c->len;
        if (cend <= pos)
            continue;
        if (c->off >= end)
            break;
        if (c->off > pos) {
            need_bytes += c->off - pos;
            need_chunks += (c->off - pos + cs - 1) / cs;
            pos = c->off;
        }
        uint64_t b = cend < end ? cend : end;
        overlap = true;
        if (memcmp(c->data + (pos - c->off), data + (pos - off), (size_t)(b - pos)) != 0)
            conflict = true;
        pos = b;
    }
    if (pos < end) {
        need_bytes += end - pos;
        need_chunks += (end - pos + cs - 1) / cs;
    }
    r->st.overlaps += overlap;
    r->st.overlap_conflicts += conflict;
    if (need_bytes == 0)
        return GH_OK; /* a copy of held data */
    if (s->held_bytes + need_bytes > r->cfg.max_held_bytes ||
        s->held_chunks + need_chunks > r->cfg.max_held_chunks) {
        r->st.held_limit++;
        return GH_E_LIMIT;
    }
    if (chunks_free(r) < need_chunks)
        hist_release(r, s); /* held data matters more than comparing old bytes */
    if (chunks_free(r) < need_chunks) {
        r->st.pool_exhausted++;
        return GH_E_LIMIT;
    }
    pos = off;
    uint32_t *link = append ? &chunk_at(r, s->held_tail)->next : &s->held_head;
    while (pos < end) {
        rchunk *c = *link ? chunk_at(r, *link) : NULL;
        if (c && c->off + c->len <= pos) {
            link = &c->next;
            continue;
        }
        if (c && c->off <= pos) {
            pos = c->off + c->len;
            link = &c->next;
            continue;
        }
        uint64_t hole_end = c && c->off < end ? c->off : end;
        while (pos < hole_end) {
            uint32_t n = hole_end - pos < cs ? (uint32_t)(hole_end - pos) : cs;
            uint32_t idx = chunk_alloc(r);
            rchunk *nc = chunk_at(r, idx);
            nc->off = pos;
            nc->len = n;
            memcpy(nc->data, data + (pos - off), n);
            nc->next = *link;
            *link = idx;
            link = &nc->next;
            if (!nc->next)
                s->held_tail = idx;
            pos += n;
        }
    }
    s->held_bytes += (uint32_t)need_bytes;
    s->held_chunks = (uint16_t)(s->held_chunks + need_chunks);
    r->st.held_bytes += need_bytes;
    r->st.ooo_held++;
    r->st.ooo_bytes += need_bytes;
    return GH_OK;
}

/* ---- delivery ------------------------------------------------------------------ */

static inline void emit(gh_reasm *r, gh_reasm_stream *s, const uint8_t *data, uint64_t len,
                        gh_reasm_deliver_fn fn, void *ctx)
{
    if (fn)
        fn(ctx, data, (size_t)len, s->next_off);
    s->next_off += len;
    r->st.bytes_delivered += len;
}

/* The packet's bytes [off, off + len) start at next_off: deliver them and
 * every held piece they make contiguous, preferring held bytes where both
 * exist (they came first). */
static void deliver(gh_reasm *r, gh_reasm_stream *s, const uint8_t *data, uint64_t off,
                    uint64_t len, gh_reasm_deliver_fn fn, void *ctx)
{
    uint64_t end = off + len;
    bool overlap = false, conflict = false;
    for (;;) {
        rchunk *c = s->held_head ? chunk_at(r, s->held_head) : NULL;
        if (c && c->off <= s->next_off) {
            uint64_t cend = c->off + c->len;
            if (cend > s->next_off) {
                uint64_t from = s->next_off;
                if (from < end) {
                    uint64_t to = cend < end ? cend : end;
                    overlap = true;
                    if (memcmp(c->data + (from - c->off), data + (from - off), (size_t)(to - from)))
                        conflict = true;
                }
                emit(r, s, c->data + (from - c->off), cend - from, fn, ctx);
            }
            uint32_t idx = s->held_head;
            s->held_head = c->next;
            if (!s->held_head)
                s->held_tail = 0;
            s->held_bytes -= c->len;
            s->held_chunks--;
            r->st.held_bytes -= c->len;
            hist_push_chunk(r, s, idx);
            continue;
        }
        if (s->next_off < end) {
            uint64_t lim = c && c->off < end ? c->off : end;
            const uint8_t *p = data + (s->next_off - off);
            uint64_t at = s->next_off;
            emit(r, s, p, lim - at, fn, ctx);
            hist_append(r, s, p, lim - at, at);
            continue;
        }
        break;
    }
    r->st.overlaps += overlap;
    r->st.overlap_conflicts += conflict;
}

/* Stream offset of @p seq, relative to the next expected byte. */
static inline int64_t seq_to_off(const gh_reasm_stream *s, uint32_t seq)
{
    uint32_t next_seq = s->base_seq + (uint32_t)s->next_off;
    return (int64_t)s->next_off + (int32_t)(seq - next_seq);
}

int gh_reasm_segment(gh_reasm *r, gh_reasm_stream *s, const gh_packet *p,
                     gh_reasm_deliver_fn fn, void *ctx)
{
    if (GH_UNLIKELY(!r || !s || !p || !(p->layers & GH_LAYER_TCP)))
        return GH_E_INVAL;
    r->st.segments++;
    const uint8_t fl = p->tcp_flags;
    if (s->flags & GH_REASM_CLOSED) {
        r->st.after_close++;
        return GH_OK;
    }
    if (fl & GH_TCP_RST) {
        /* only an in-window RST ends the stream (RFC 5961 spirit): a forged
         * one with any other sequence number must not stop inspection */
        if (s->flags & GH_REASM_STARTED) {
            int64_t d = seq_to_off(s, p->tcp_seq) - (int64_t)s->next_off;
            if (d < 0 || d > (int64_t)r->cfg.window) {
                r->st.rst_invalid++;
                return GH_OK;
            }
        }
        r->st.resets++;
        gh_reasm_stream_close(r, s);
        return GH_OK;
    }
    if (!(s->flags & GH_REASM_STARTED)) {
        if (fl & GH_TCP_SYN) {
            s->base_seq = p->tcp_seq + 1;
        } else if (r->cfg.midstream) {
            s->base_seq = p->tcp_seq;
            s->flags |= GH_REASM_MIDSTREAM;
            r->st.midstream++;
        } else {
            r->st.not_synced++;
            return GH_OK;
        }
        s->flags |= GH_REASM_STARTED;
        s->next_off = 0;
    }

    /* SYN takes one sequence number before the data, FIN one after it */
    const uint32_t dseq = p->tcp_seq + ((fl & GH_TCP_SYN) ? 1u : 0u);
    uint64_t len = p->payload ? p->payload_len : 0;
    const uint8_t *data = p->payload;
    int rc = GH_OK;
    int64_t off = seq_to_off(s, dseq);
    if ((fl & GH_TCP_FIN) && !(s->flags & GH_REASM_FIN)) {
        /* the first FIN that is neither old nor past the window: an old one
         * would otherwise end inspection early */
        int64_t d = off + (int64_t)len - (int64_t)s->next_off;
        if (d >= 0 && d <= (int64_t)r->cfg.window) {
            s->fin_seq = dseq + (uint32_t)len;
            s->flags |= GH_REASM_FIN;
        } else {
            r->st.fin_invalid++;
        }
    }
    if (len == 0) {
        r->st.zero_len++;
        goto fin_check;
    }
    if (s->flags & GH_REASM_FIN) {
        int64_t fin_off = seq_to_off(s, s->fin_seq);
        if (off + (int64_t)len > fin_off) {
            r->st.after_fin++;
            len = off >= fin_off ? 0 : (uint64_t)(fin_off - off);
            if (len == 0)
                goto fin_check;
        }
    }
    if (off + (int64_t)len <= (int64_t)s->next_off) {
        r->st.retransmissions++;
        if (off + (int64_t)len > 0) {
            uint64_t skip = off < 0 ? (uint64_t)-off : 0;
            if (hist_differs(r, s, data + skip, (uint64_t)(off + (int64_t)skip), len - skip))
                r->st.retrans_conflicts++;
        }
        goto fin_check;
    }
    if (off < (int64_t)s->next_off) {
        /* partly delivered already: compare the old part, deliver the rest */
        r->st.retransmissions++;
        int64_t a = off < 0 ? 0 : off; /* bytes before offset 0 are not compared */
        if (hist_differs(r, s, data + (a - off), (uint64_t)a, s->next_off - (uint64_t)a))
            r->st.retrans_conflicts++;
        uint64_t cut = (uint64_t)((int64_t)s->next_off - off);
        data += cut;
        len -= cut;
        off = (int64_t)s->next_off;
    }
    if (off > (int64_t)s->next_off) {
        rc = hold(r, s, data, (uint64_t)off, len);
    } else {
        r->st.in_order++;
        deliver(r, s, data, (uint64_t)off, len, fn, ctx);
    }

fin_check:
    if ((s->flags & (GH_REASM_FIN | GH_REASM_FIN_DONE)) == GH_REASM_FIN &&
        (int64_t)s->next_off >= seq_to_off(s, s->fin_seq)) {
        s->flags |= GH_REASM_FIN_DONE;
        /* anything still held lies past the FIN: it will never be delivered */
        held_release(r, s);
        hist_release(r, s);
    }
    return rc;
}

void gh_reasm_stream_close(gh_reasm *r, gh_reasm_stream *s)
{
    if (s->flags & GH_REASM_CLOSED)
        return;
    if (s->flags & GH_REASM_STARTED) {
        bool gap = s->held_head != 0 || (s->flags & GH_REASM_SKIPPED) ||
                   (s->flags & (GH_REASM_FIN | GH_REASM_FIN_DONE)) == GH_REASM_FIN;
        r->st.gaps += gap;
        r->st.streams_closed++;
    }
    held_release(r, s);
    hist_release(r, s);
    s->flags |= GH_REASM_CLOSED;
}

int64_t gh_reasm_seq_offset(const gh_reasm_stream *s, uint32_t seq)
{
    return seq_to_off(s, seq);
}

uint64_t gh_reasm_skip_gap(gh_reasm *r, gh_reasm_stream *s, uint64_t upto,
                           gh_reasm_deliver_fn fn, void *ctx)
{
    uint64_t skipped = 0;
    if (!(s->flags & GH_REASM_STARTED) || (s->flags & GH_REASM_CLOSED))
        return 0;
    while (s->held_head) {
        const rchunk *c = chunk_at(r, s->held_head);
        if (c->off <= s->next_off || c->off > upto)
            break;
        skipped += c->off - s->next_off;
        r->st.gaps_skipped++;
        s->flags |= GH_REASM_SKIPPED;
        s->next_off = c->off;
        deliver(r, s, NULL, s->next_off, 0, fn, ctx); /* the held pieces now contiguous */
    }
    return skipped;
}

int gh_reasm_stream_check(const gh_reasm *r, const gh_reasm_stream *s, gh_error *err)
{
    uint64_t bytes = 0, n = 0, prev_end = s->next_off;
    uint32_t last = 0;
    for (uint32_t i = s->held_head; i; i = chunk_at(r, i)->next) {
        if (i > r->bump || ++n > r->nchunks) {
            gh_error_set(err, GH_E_FORMAT, "held list: bad index %u or loop", i);
            return GH_E_FORMAT;
        }
        const rchunk *c = chunk_at(r, i);
        if (c->len == 0 || c->len > r->cfg.chunk_size) {
            gh_error_set(err, GH_E_FORMAT, "held chunk %u: length %u", i, c->len);
            return GH_E_FORMAT;
        }
        /* strictly past next_off: a piece touching it would have been delivered */
        if (c->off <= prev_end && !(n > 1 && c->off == prev_end)) {
            gh_error_set(err, GH_E_FORMAT,
                         "held chunk %u at %llu overlaps or touches %llu (next_off %llu)", i,
                         (unsigned long long)c->off, (unsigned long long)prev_end,
                         (unsigned long long)s->next_off);
            return GH_E_FORMAT;
        }
        prev_end = c->off + c->len;
        bytes += c->len;
        last = i;
    }
    if (last != s->held_tail) {
        gh_error_set(err, GH_E_FORMAT, "held tail %u, last chunk %u", s->held_tail, last);
        return GH_E_FORMAT;
    }
    if (bytes != s->held_bytes || n != s->held_chunks) {
        gh_error_set(err, GH_E_FORMAT, "held: %llu bytes in %llu chunks, stream says %u in %u",
                     (unsigned long long)bytes, (unsigned long long)n, s->held_bytes,
                     s->held_chunks);
        return GH_E_FORMAT;
    }
    bytes = 0;
    n = 0;
    prev_end = 0;
    last = 0;
    for (uint32_t i = s->hist_head; i; i = chunk_at(r, i)->next) {
        if (i > r->bump || ++n > r->nchunks) {
            gh_error_set(err, GH_E_FORMAT, "window list: bad index %u or loop", i);
            return GH_E_FORMAT;
        }
        const rchunk *c = chunk_at(r, i);
        if (c->off < prev_end || c->off + c->len > s->next_off) {
            gh_error_set(err, GH_E_FORMAT, "window chunk %u at %llu+%u out of order", i,
                         (unsigned long long)c->off, c->len);
            return GH_E_FORMAT;
        }
        prev_end = c->off + c->len;
        bytes += c->len;
        last = i;
    }
    if (bytes != s->hist_bytes || last != s->hist_tail) {
        gh_error_set(err, GH_E_FORMAT, "window: %llu bytes (stream says %u), tail %u vs %u",
                     (unsigned long long)bytes, s->hist_bytes, last, s->hist_tail);
        return GH_E_FORMAT;
    }
    return GH_OK;
}
