/* The content engine: verify a signature's keywords of one buffer (a
 * packet, a stream window or an application-layer buffer) in rule order,
 * as Suricata's DetectEngineContentInspection does; see detect_int.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "base64.h"
#include "detect/detect_int.h"

/* Windows up to this many bytes are searched by a plain loop. */
#define SHORT_SPAN 64

/* Patterns up to this long are found by their rarest byte. */
#define RARE_MAX 16

/* How common byte @p b is in traffic, roughly (higher: more common): zeros
 * and text are everywhere, high bytes and rare punctuation are not. */
static inline unsigned commonness(uint8_t b)
{
    if (b == 0)
        return 9;
    if (b == ' ' || (b >= 'a' && b <= 'z'))
        return 8;
    if (b >= '0' && b <= '9')
        return 7;
    if (b == 0xff || b == '\r' || b == '\n' || b < 0x10)
        return 6;
    if ((b >= 'A' && b <= 'Z') || memchr("/.-=:,\"_<>;&%", b, 13))
        return 5;
    return b < 0x20 ? 4 : 2;
}

/* The first occurrence of @p p (@p n bytes, 2..RARE_MAX) in @p h: memchr
 * for its rarest byte, then a compare. glibc's memmem builds a shift table
 * on every call, most of the cost of a verifier that retries a content at
 * each later occurrence; when the byte turns out common here (more than one
 * compare per 8 bytes), memmem takes the rest, so the worst case stays
 * memmem's. */
static const uint8_t *find_rare(const uint8_t *h, size_t span, const uint8_t *p, uint32_t n)
{
    uint32_t r = 0;
    for (uint32_t i = 1; i < n; i++)
        if (commonness(p[i]) < commonness(p[r]))
            r = i;
    const uint8_t *s = h + r, *end = h + span - (n - r) + 1; /* the rare byte's places */
    size_t tries = 0;
    while (s < end) {
        const uint8_t *q = memchr(s, p[r], (size_t)(end - s));
        if (!q)
            return NULL;
        const uint8_t *at = q - r;
        if (!memcmp(at, p, n))
            return at;
        if (++tries > 16 && tries * 8 > (size_t)(q - h))
            return memmem(at + 1, (size_t)(h + span - (at + 1)), p, n);
        s = q + 1;
    }
    return NULL;
}

/* First occurrence of @k's pattern starting in [from, last_start], or -1. */
static int64_t find(const dpi_kw *k, const uint8_t *buf, uint32_t from, uint32_t last_start)
{
    const uint8_t *p = k->pat;
    uint32_t n = k->len;
    if (!k->nocase) {
        const uint8_t *h = buf + from;
        size_t span = (size_t)(last_start - from) + n;
        if (n == 1) {
            const uint8_t *f = memchr(h, p[0], span);
            return f ? (int64_t)(f - buf) : -1;
        }
        if (span > SHORT_SPAN) {
            const uint8_t *f = n <= RARE_MAX ? find_rare(h, span, p, n) : memmem(h, span, p, n);
            return f ? (int64_t)(f - buf) : -1;
        }
        /* a short window (within, depth): glibc's memmem builds a shift
         * table per call, which costs more than comparing here */
        uint8_t first = p[0], last = p[n - 1];
        for (size_t j = 0; j + n <= span; j++)
            if (h[j] == first && h[j + n - 1] == last && !memcmp(h + j + 1, p + 1, n - 2))
                return (int64_t)(h + j - buf);
        return -1;
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

/* The search window of a content with a byte_extract/byte_math variable
 * in offset, depth, distance or within, computed as Suricata's
 * DetectEngineContentInspection does with its *_VAR flags (integer
 * widths, and depth then counting from the offset, included). False when
 * no position can match. Absolute positions count from the stream start. */
static bool var_window(const dpi_kw *k, uint32_t prev_end, const vctx *v, int64_t *lo,
                       int64_t *hi)
{
    const uint64_t *val = v->s->vars;
    uint32_t off, depth = v->len;
    int distance = k->has_distance ? k->distance : 0;
    if (k->relative) {
        off = prev_end;
        if (k->has_distance) {
            if (k->vars & KV_DISTANCE)
                distance = (int)val[k->distance];
            if (distance < 0 && (uint32_t)(-(int64_t)distance) > off)
                off = 0;
            else
                off += (uint32_t)distance;
        }
        if (k->has_within) {
            uint64_t w = k->vars & KV_WITHIN ? val[k->within] : k->within;
            uint64_t lim = prev_end + w + (uint64_t)(int64_t)distance;
            if ((int32_t)depth > (int32_t)lim)
                depth = (uint32_t)lim;
        }
        if (k->vars & KV_DISTANCE)
            depth += off; /* Suricata's: as for a variable offset */
    } else {
        if (k->has_depth)
            depth = k->vars & KV_DEPTH ? (uint32_t)val[k->depth] : k->depth;
        off = !k->has_offset ? 0 : k->vars & KV_OFFSET ? (uint32_t)val[k->offset] : k->offset;
        depth += off; /* a variable depth, or any depth with a variable offset */
        if (v->base || v->dbase) { /* absolute positions count from the stream start */
            int64_t o = (int64_t)off - v->base, d = (int64_t)depth - v->dbase;
            off = o < 0 ? 0 : (uint32_t)o;
            if (k->has_depth) {
                if (d <= 0)
                    return false;
                depth = (uint32_t)d;
            }
        }
    }
    if (depth > v->len)
        depth = v->len;
    if (off > depth || depth == 0)
        return false;
    *lo = off;
    *hi = depth;
    return true;
}

static bool inspect_content(size_t i, const dpi_kw *k, uint32_t prev_end,
                            int64_t ext, vctx *v)
{
    int64_t len = v->len, lo, hi; /* the match must lie in [lo, hi) */
    if (k->vars & (KV_OFFSET | KV_DEPTH | KV_DISTANCE | KV_WITHIN)) {
        if (!var_window(k, prev_end, v, &lo, &hi))
            return k->negated && inspect(i + 1, prev_end, ext, v);
    } else if (k->relative) {
        int64_t base = (int64_t)prev_end + (k->has_distance ? k->distance : 0);
        lo = base < 0 ? 0 : base;
        hi = k->has_within ? base + k->within : len;
    } else { /* absolute positions count from the stream start (0 on a packet) */
        lo = k->has_offset ? (int64_t)k->offset - v->base : 0;
        hi = k->has_depth ? (int64_t)k->depth - v->dbase : len;
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
    bool memo = k->memo && !v->stream && i < VCTX_MEMO;
    if (memo && (v->memo_set >> i & 1) && from >= v->memo_lo[i])
        return false; /* the occurrences from here on failed before */
    int64_t first = from;
    for (;;) {
        if (hi - from < (int64_t)k->len)
            found = -1;
        else
            found = find(k, v->buf, (uint32_t)from, (uint32_t)(hi - k->len));
        if (k->negated)
            return found < 0 && inspect(i + 1, prev_end, ext, v);
        if (found < 0) {
            if (memo && (!(v->memo_set >> i & 1) || first < v->memo_lo[i])) {
                v->memo_set |= (uint16_t)(1u << i);
                v->memo_lo[i] = (uint32_t)first;
            }
            return false;
        }
        int64_t end = found + k->len;
        if (inspect(i + 1, (uint32_t)end, end > ext ? end : ext, v))
            return true;
        if (v->bail || v->stop)
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

/* @p k's expression as it should run: its JIT code once a worker made it
 * (dpi_re_jit); this call makes it when no other worker is at it. */
static const pcre2_code *re_code(const dpi_kw *k)
{
    dpi_re_jit *j = k->re_jit;
    if (!j)
        return k->re;
    pcre2_code *c = atomic_load_explicit(&j->code, memory_order_acquire);
    if (GH_LIKELY(c != NULL))
        return c;
    if (atomic_flag_test_and_set_explicit(&j->busy, memory_order_acq_rel))
        return k->re; /* another worker compiles it */
    c = pcre2_code_copy(k->re); /* a copy: the code others interpret meanwhile stays as is */
    if (c && pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) != 0) {
        pcre2_code_free(c); /* no JIT on this host or for this expression */
        c = NULL;
    }
    atomic_store_explicit(&j->code, c ? c : k->re, memory_order_release);
    return c ? c : k->re;
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
                       : pcre2_match(re_code(k), (PCRE2_SPTR)subj, slen, start, opts, v->s->md,
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
        if (v->bail || v->stop || (!k->retry && !stream_retry(v, ext, end)))
            return false;
        start = ov[0] + 1;
        if (start > slen)
            return false;
    }
}

/* strtoull over @p n bytes, as Suricata's ByteExtractString: strtoull's
 * leading blanks, sign and 0x prefix apply; -1 when no digit was read or
 * the value overflows, else the bytes used. */
static int extract_string(const uint8_t *p, int32_t n, int base, uint64_t *out)
{
    char b[24];
    if (n <= 0 || n > 23) /* Suricata reads an unterminated buffer for 0 bytes */
        return -1;
    memcpy(b, p, (size_t)n);
    b[n] = '\0';
    char *end;
    errno = 0;
    *out = strtoull(b, &end, base);
    if (errno == ERANGE || end == b)
        return -1;
    return (int)(end - b);
}

static uint64_t extract_bin(const uint8_t *p, int32_t n, bool little)
{
    uint64_t x = 0;
    for (int32_t j = 0; j < n; j++)
        x |= (uint64_t)p[little ? j : n - 1 - j] << (8 * j);
    return x;
}

/* What a byte_* keyword read: its value, where the bytes start, how many
 * the value used, and the end of the bytes it required (the extent). */
typedef struct byte_read {
    uint64_t val;
    int64_t pos;
    int ext_bytes;
    int64_t end;
} byte_read;

/* Locate and extract the bytes of @p b at @p off (relative to @p prev_end
 * when @p rel, else to the stream start), as the Detect*DoMatch functions:
 * a relative keyword needs bytes after its base (byte_jump only when it
 * reads some), every keyword needs all @p nb bytes inside the buffer. */
static bool byte_get(const dpi_byte *b, bool rel, bool jump, int64_t off, int32_t nb,
                     uint32_t prev_end, int64_t len, const vctx *v, byte_read *r)
{
    if (len == 0)
        return false;
    r->pos = rel ? (int64_t)prev_end + off : off - v->base;
    int64_t left = len - r->pos;
    if (rel && left <= 0 && (!jump || nb))
        return false;
    if (r->pos < 0 || nb > left)
        return false;
    const uint8_t *p = v->buf + r->pos;
    if (b->string) {
        r->ext_bytes = extract_string(p, nb, b->base, &r->val);
        if (r->ext_bytes <= 0)
            return false;
    } else {
        if (nb < 0 || nb > 8) /* ByteExtractUint64 refuses them */
            return false;
        r->val = extract_bin(p, nb, b->little);
        r->ext_bytes = nb;
    }
    r->end = r->pos + nb;
    return true;
}

static inline int64_t var_or(const vctx *v, const dpi_byte *b, unsigned flag, int64_t c)
{
    return b->vars & flag ? (int64_t)v->s->vars[c] : c;
}

/* A byte_* keyword: its check, the match end it leaves for relative
 * keywords (@p prev_end, moved by byte_jump, byte_extract and byte_math),
 * the value it stores, and its extent on a stream window. */
static bool inspect_byte(size_t i, const dpi_kw *k, uint32_t prev_end, int64_t ext, vctx *v)
{
    const dpi_byte *b = k->bk;
    int64_t off = (int32_t)var_or(v, b, KV_OFFSET, b->offset);
    int32_t nb = (int32_t)var_or(v, b, KV_NBYTES, b->nbytes);
    byte_read r;
    uint64_t val;
    int64_t end;
    switch (k->type) {
    case KW_BYTE_TEST: {
        if (!(b->string && nb <= 23) && nb > 8)
            return false;
        if (!byte_get(b, k->relative, false, off, nb, prev_end, v->len, v, &r))
            return false;
        val = r.val;
        if (b->has_mask) {
            val &= b->bitmask;
            if (val && b->shift)
                val >>= b->shift;
        }
        uint64_t x = (uint64_t)var_or(v, b, KV_VALUE, (int64_t)b->value);
        bool m;
        switch (b->op) {
        case BT_LT: m = val < x; break;
        case BT_GT: m = val > x; break;
        case BT_EQ: m = val == x; break;
        case BT_AND: m = (val & x) != 0; break;
        case BT_OR: m = (val ^ x) != 0; break;
        case BT_GE: m = val >= x; break;
        default: m = val <= x; break;
        }
        if (m == b->neg_op)
            return false;
        end = prev_end;
        break;
    }
    case KW_BYTE_JUMP: {
        if (!(b->string && nb <= 23) && nb > 8)
            return false;
        if (!byte_get(b, k->relative, true, off, nb, prev_end, v->len, v, &r))
            return false;
        val = r.val * b->multiplier;
        if (b->align && val % 4)
            val += 4 - val % 4;
        val += (uint64_t)(int64_t)b->post_offset;
        int64_t from = b->from_begin ? -v->base : b->from_end ? (int64_t)v->len
                                                               : r.pos + r.ext_bytes;
        int64_t to;
        if (__builtin_add_overflow(from, (int64_t)val, &to))
            to = (int64_t)val < 0 ? -1 : INT64_MAX;
        if (to > (int64_t)v->len)
            return false;
        end = to < 0 ? 0 : to; /* before the buffer: its start, as Suricata */
        if (r.end < end)
            r.end = end;
        break;
    }
    case KW_BYTE_EXTRACT:
        if (!byte_get(b, k->relative, false, off, nb, prev_end, v->len, v, &r))
            return false;
        val = r.val * b->multiplier;
        if (b->align && val % b->align)
            val += b->align - val % b->align;
        v->s->vars[b->slot] = val;
        end = r.pos + r.ext_bytes;
        break;
    default: { /* byte_math; Suricata passes it the buffer length as a uint16_t */
        nb = (uint8_t)nb;
        if (nb < 1 || nb > (b->string ? 10 : 4))
            return false;
        if (!byte_get(b, k->relative, false, off, nb, prev_end, v->len & 0xffff, v, &r))
            return false;
        uint64_t x = (uint64_t)var_or(v, b, KV_VALUE, (int64_t)b->value);
        val = r.val;
        switch (b->op) {
        case BM_ADD: val += x; break;
        case BM_SUB: val -= x; break;
        case BM_DIV:
            if (!x)
                return false;
            val /= x;
            break;
        case BM_MUL: val *= x; break;
        case BM_SHL: val = x < 64 ? val << x : 0; break;
        default: val >>= x & 63; break; /* x86's shift count, as Suricata runs */
        }
        if (b->has_mask) {
            val &= b->bitmask;
            if (val && b->shift)
                val >>= b->shift;
        }
        v->s->vars[b->slot] = val;
        end = r.pos + r.ext_bytes;
        break;
    }
    }
    return inspect(i + 1, (uint32_t)end, r.end > ext ? r.end : ext, v);
}

static void b64_block(uint8_t *o, const uint8_t b[4])
{
    o[0] = (uint8_t)((b[0] << 2) | (b[1] >> 4));
    o[1] = (uint8_t)((b[1] << 4) | (b[2] >> 2));
    o[2] = (uint8_t)((b[2] << 6) | b[3]);
}

/* Suricata's DecodeBase64 (util-base64.c) in BASE64_MODE_RFC4648, which
 * base64_decode uses, quirks included: '=' anywhere counts as padding of
 * its block and decoding goes on after it; the first other byte outside
 * the alphabet ends the input, its partial block then still yielding 1 or
 * 2 bytes; a partial block at the end of the input yields its length - 1
 * bytes; each block needs 3 bytes of room in @p dest (@p cap bytes, the
 * ruleset's largest "bytes") or decoding stops. Returns the bytes decoded;
 * *@p read: the input bytes the result depends on. */
static uint32_t b64_decode(uint8_t *dest, uint32_t cap, const uint8_t *src, uint32_t len,
                           uint32_t *read)
{
    uint32_t pad = 0, bi = 0, n = 0, i;
    uint8_t b[4] = {0, 0, 0, 0};
    bool valid = true;
    for (i = 0; i < len; i++) {
        int val = gh_b64_value(src[i]);
        if (val < 0) {
            if (src[i] != '=') {
                valid = false;
                break;
            }
            pad++;
        }
        b[bi++] = val > 0 ? (uint8_t)val : 0;
        if (bi == 4) {
            uint32_t blk = 3 - (pad < 4 ? pad : 3);
            if (cap < n + blk || cap - n < 3) {
                *read = i + 1;
                return n;
            }
            b64_block(dest + n, b);
            n += blk;
            bi = pad = 0;
            memset(b, 0, sizeof(b));
        }
    }
    *read = valid ? len : i + 1;
    if (bi == 0 || cap - n < 3)
        return n;
    if (valid) {
        b64_block(dest + n, b);
        return n + bi - 1;
    }
    b64_block(dest + n, b);
    return n + (bi == 3 ? 2 : 1); /* Suricata counts 1 or 2 characters as 1 byte */
}

/* base64_decode, as Suricata's DetectBase64DecodeDoMatch and its case in
 * DetectEngineContentInspection: decode at most "bytes" bytes from the
 * previous match end (relative) or the buffer start (stream windows: the
 * stream start), plus offset; then the base64_data keywords inspect the
 * decoded data. Their first relative keyword counts from the previous match
 * end of this buffer, as Suricata does not reset it. Base64 is a terminal
 * list: when they match, the signature's keywords after base64_decode in
 * this buffer are not inspected; without base64_data it never matches.
 * On a stream window its extent is the end of the input it decoded. */
static bool inspect_base64(size_t i, const dpi_kw *k, uint32_t prev_end, int64_t ext, vctx *v)
{
    int64_t start = k->relative ? (int64_t)prev_end : -v->base;
    int64_t left = (int64_t)v->len - start;
    bool m = false;
    if (k->offset) {
        start += k->offset;
        left -= k->offset;
    }
    if (start >= 0 && left > 0 && k->nsub) {
        uint32_t read, dlen = left < (int64_t)k->len ? (uint32_t)left : k->len;
        uint32_t n = b64_decode(v->s->b64, v->s->d->b64_max, v->buf + start, dlen, &read);
        if (n) {
            vctx in = {.kw = k->sub, .nkw = k->nsub, .buf = v->s->b64, .len = n, .s = v->s,
                       .budget = v->budget};
            m = inspect(0, prev_end, 0, &in);
            v->budget = in.budget;
            v->bail = in.bail;
            if (m) {
                int64_t end = start + read;
                return !v->stream || (end > ext ? end : ext) > v->new_from;
            }
        }
    }
    /* the content before it, which no relative keyword follows, gives up */
    v->stop = i > 0 && v->kw[i - 1].type == KW_CONTENT && !v->kw[i - 1].negated;
    return false;
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
    case KW_BASE64:
        return inspect_base64(i, k, prev_end, ext, v);
    case KW_ISDATAAT: { /* with Suricata's bounds: relative N needs N bytes after
                           the match, absolute N needs a byte at (stream) offset N */
        int64_t n = k->len;
        if (k->vars & KV_LEN) {
            n = (int64_t)v->s->vars[k->len];
            if (n >= 100000000) /* Suricata's bound on a variable */
                return k->negated && inspect(i + 1, prev_end, ext, v);
        }
        int64_t need = k->relative ? (int64_t)prev_end + n
                                   : n + 1 - v->base; /* exclusive end */
        bool ok = need <= (int64_t)v->len;
        if (k->negated)
            ok = !ok;
        else if (need > ext)
            ext = need;
        return ok && inspect(i + 1, prev_end, ext, v);
    }
    default:
        return inspect_byte(i, k, prev_end, ext, v);
    }
}


bool gh_detect_inspect(size_t i, uint32_t prev_end, int64_t ext, vctx *v)
{
    return inspect(i, prev_end, ext, v);
}
