/* The content engine: verify a signature's keywords of one buffer (a
 * packet, a stream window or an application-layer buffer) in rule order,
 * as Suricata's DetectEngineContentInspection does; see detect_int.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "detect/detect_int.h"

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
    /* candidates are the first byte in either case, found with memchr (a
     * byte loop here was most of the verification time on ET Open) */
    int c0 = p[0], c1 = c0 >= 'a' && c0 <= 'z' ? c0 - 32 : c0;
    const uint8_t *end = buf + last_start + 1;
    const uint8_t *n0 = memchr(buf + from, c0, (size_t)(end - (buf + from)));
    const uint8_t *n1 = c1 != c0 ? memchr(buf + from, c1, (size_t)(end - (buf + from))) : NULL;
    while (n0 || n1) {
        const uint8_t *h = !n1 || (n0 && n0 < n1) ? n0 : n1;
        uint32_t j = 1;
        while (j < n && lc(h[j]) == p[j])
            j++;
        if (j == n)
            return h - buf;
        if (h == n0)
            n0 = h + 1 < end ? memchr(h + 1, c0, (size_t)(end - h - 1)) : NULL;
        else
            n1 = h + 1 < end ? memchr(h + 1, c1, (size_t)(end - h - 1)) : NULL;
    }
    return -1;
}

/* The verifier carries, next to the previous match end, the extent of the
 * match built so far (exclusive end of the furthest byte a positive keyword
 * used, buffer index). On a packet it is ignored. On a stream window a
 * complete match counts only when its extent exceeds new_from, i.e. it
 * needs a byte this packet delivered; a chain without positive keywords
 * has the whole window as its extent. */
static bool inspect(size_t i, uint32_t prev_end, int64_t ext, vctx *v);

/* When keyword @k (a positive content or pcre, not retried for the
 * keywords after it: they never read its match end) matched ending at @end
 * and the rest of the chain failed, can a later occurrence still help? Only
 * on a stream window, when neither the extent so far nor this match reached
 * the new bytes: the rest then may have failed for the extent alone. */
static inline bool stream_retry(const vctx *v, int64_t ext, int64_t end)
{
    return v->stream && ext <= v->new_from && end <= v->new_from;
}

static bool inspect_content(size_t i, const dpi_kw *k, uint32_t prev_end,
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
            return found < 0 && inspect(i + 1, prev_end, ext, v);
        if (found < 0)
            return false;
        int64_t end = found + k->len;
        if (inspect(i + 1, (uint32_t)end, end > ext ? end : ext, v))
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

static int on_re_hs(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
    (void)id;
    (void)from;
    (void)to;
    (void)flags;
    *(bool *)ctx = true;
    return 1; /* one is enough */
}

/* Can pcre @p k match in @p subj? false only when it cannot. */
static bool re_hs_maybe(const dpi_kw *k, const uint8_t *subj, size_t len, gh_dpi_scratch *s)
{
    bool found = false;
    hs_error_t e = hs_scan(k->re_hs, (const char *)subj, (unsigned)len, 0, s->hs, on_re_hs,
                           &found);
    return found || (e != HS_SUCCESS && e != HS_SCAN_TERMINATED);
}

static bool inspect_pcre(size_t i, const dpi_kw *k, uint32_t prev_end,
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
    if (!never && k->re_hs) {
        /* Hyperscan proves that no match exists; scanned once per buffer
         * when the subject does not depend on an earlier match */
        uint64_t bit = !k->relative && i < 64 ? UINT64_C(1) << i : 0;
        if (bit && (v->re_scanned & bit)) {
            never = (v->re_none & bit) != 0;
        } else {
            never = !re_hs_maybe(k, subj, slen, v->s);
            v->s->stats.pcre_hs_rejects += never;
            v->re_scanned |= bit;
            v->re_none |= never ? bit : 0;
        }
    }
    for (;;) {
        int rc = never ? PCRE2_ERROR_NOMATCH
                       : pcre2_match(k->re, (PCRE2_SPTR)subj, slen, start, opts, v->s->md,
                                     v->s->mctx);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
            v->s->stats.pcre_errors++;
        if (k->negated)
            return rc < 0 && inspect(i + 1, prev_end, ext, v);
        if (rc < 0)
            return false;
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(v->s->md);
        int64_t end = (int64_t)base + (int64_t)ov[1];
        if (inspect(i + 1, (uint32_t)end, end > ext ? end : ext, v))
            return true;
        if (v->bail || (!k->retry && !stream_retry(v, ext, end)))
            return false;
        start = ov[0] + 1;
        if (start > slen)
            return false;
    }
}

static bool inspect(size_t i, uint32_t prev_end, int64_t ext, vctx *v)
{
    if (i == v->nkw)
        return !v->stream || (v->has_ext ? ext : (int64_t)v->len) > v->new_from;
    if (GH_UNLIKELY(v->budget == 0)) {
        v->bail = true;
        return false;
    }
    v->budget--;
    const dpi_kw *k = &v->kw[i];
    switch (k->type) {
    case KW_CONTENT:
        return inspect_content(i, k, prev_end, ext, v);
    case KW_PCRE:
        return inspect_pcre(i, k, prev_end, ext, v);
    default: { /* isdataat, with Suricata's bounds: relative N needs N bytes
                  after the match, absolute N needs a byte at (stream) offset N */
        int64_t need = k->relative ? (int64_t)prev_end + k->len
                                   : (int64_t)k->len + 1 - v->base; /* exclusive end */
        bool ok = need <= (int64_t)v->len;
        if (k->negated)
            ok = !ok;
        else if (need > ext)
            ext = need;
        return ok && inspect(i + 1, prev_end, ext, v);
    }
    }
}


bool gh_detect_inspect(size_t i, uint32_t prev_end, int64_t ext, vctx *v)
{
    return inspect(i, prev_end, ext, v);
}
