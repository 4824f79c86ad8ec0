/* HTTP/1.0 and 1.1 parser (gh_app_http1_ops), emulating libhtp 0.5 as
 * Suricata 7 configures it by default: IDS personality with lowercasing
 * off, request and response decompression on, libhtp's header joining,
 * folding and body framing, Suricata's event names and buffer layouts.
 *
 * Each direction is a byte-driven state machine, so any segmentation of
 * the stream gives the same transactions and buffers. Lines are collected
 * in a per-direction buffer (capped at header_limit); bodies are consumed
 * in place. Every buffer grows by doubling and keeps its capacity across
 * transactions and flows: steady state allocates nothing.
 *
 * Known differences from libhtp: best fit maps only U+FF01..FF5E (others
 * become '?'); one Content-Encoding layer (a list is kept raw); trailers are
 * parsed but not added to the header buffers; hostnames are not validated
 * beyond the port; header_limit counts the whole head, not each field, and
 * overflow stops storing instead of failing the stream; with no free tx
 * slot (max_tx) the request direction stops with UNKNOWN_ERROR, as does a
 * gap outside a body of known length. */
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>

#include "app/app.h"
#include "gatehouse/common.h"

/* ---- spans ------------------------------------------------------------------ */

/* A piece of a message's raw or field buffer; absent when !set. */
typedef struct span {
    uint32_t off, len;
    uint8_t in_fld; /* 0: in raw, 1: in fld */
    uint8_t set;
} span;

typedef struct hdr {
    span name, value; /* in fld */
    uint32_t next_dup; /* index of the next same-name header + 1, 0: none */
    uint8_t dup;       /* a later occurrence of an earlier name */
} hdr;

/* ---- transactions --------------------------------------------------------- */

/* One direction of a transaction. */
typedef struct h1_msg {
    gh_buf raw;  /* start line + raw header block as received */
    gh_buf fld;  /* header names/values, merged values, composed buffers */
    hdr *hdrs;
    uint32_t n_hdrs, cap_hdrs;
    span bufs[GH_BUF_N];
    gh_buf body; /* dechunked, decompressed, up to the body limit */
    uint64_t body_len; /* as transferred: dechunked, before decompression */
    uint32_t events;   /* once-per-message anomalies already raised */
} h1_msg;

typedef struct h1_tx {
    gh_app_tx base; /* first: the engine's part */
    h1_msg m[2];
    uint16_t status;
    bool head, http09, seen_100, connect;
} h1_tx;

enum {
    EV_MISSING_COLON = 1u << 0,
    EV_FOLDING = 1u << 1,
    EV_TOO_LONG = 1u << 2,
};

/* ---- per-direction parser state ------------------------------------------ */

enum {
    S_START,       /* blank lines, then the start line */
    S_HEADERS,
    S_BODY_CL,
    S_CHUNK_LEN,
    S_CHUNK_DATA,
    S_CHUNK_END,   /* anything up to the LF after chunk data */
    S_TRAILERS,
    S_BODY_CLOSE,  /* response body delimited by the connection's close */
    S_IGNORE,      /* data we do not parse (after HTTP/0.9, tunnels) */
    S_DEAD,        /* unparseable (gap, fatal framing error) */
    S_CLOSED,
};

enum { ENC_NONE, ENC_GZIP, ENC_DEFLATE };
enum { Z_IDLE, Z_SNIFF, Z_RUN, Z_PASS, Z_STOP };

typedef struct h1_dir {
    int st;
    h1_tx *tx;           /* message being parsed, NULL between messages */
    gh_buf line;           /* current line, capped at header_limit */
    bool line_cut;
    gh_buf fold;           /* pending logical header line (folding) */
    bool fold_pending;
    uint32_t hdr_bytes;  /* start line + header bytes of this message */
    bool too_long;
    uint64_t left;       /* body or chunk bytes left */
    bool body_pending;   /* stored body grew since the last BODY report */
    /* framing from the header lines, seen even past header_limit */
    int64_t cl;          /* -1: absent, -2: invalid */
    int64_t cl_first;
    bool te, te_chunked;
    int enc;
    /* decompression: ISA-L's inflate (zlib's format, about 2.8x zlib's
     * speed), allocated with the direction's first compressed body and
     * kept, as the buffers are, for the state's life */
    struct inflate_state *z;
    int z_mode;
    uint8_t sniff[2];
    uint8_t n_sniff;
    uint64_t z_out;
} h1_dir;

typedef struct h1_state {
    gh_app_limits lim;
    h1_tx *txs;          /* ring of lim.max_tx slots */
    uint32_t cap_tx, head, n;
    uint32_t ninit;      /* slots zeroed so far (gh_app_ring_slot) */
    uint64_t next_id;
    uint64_t resp_id;    /* id of the tx the next response belongs to */
    uint8_t *zbuf;       /* inflate output scratch */
    h1_dir d[2];
} h1_state;

#define ZBUF_SIZE 16384

/* ---- small helpers -------------------------------------------------------- */

static bool is_lws(uint8_t c) { return c == ' ' || c == '\t'; }

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

static bool eq_nocase(const uint8_t *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lower(a[i]) != lower((uint8_t)b[i]))
            return false;
    return true;
}

static void trim(const uint8_t **p, size_t *n)
{
    while (*n && is_lws((*p)[0])) {
        (*p)++;
        (*n)--;
    }
    while (*n && is_lws((*p)[*n - 1]))
        (*n)--;
}

/* Case-insensitive token search ("chunked" in "gzip, chunked"). */
static bool has_nocase(const uint8_t *p, size_t n, const char *s)
{
    size_t sn = strlen(s);
    for (size_t i = 0; i + sn <= n; i++)
        if (eq_nocase(p + i, sn, s))
            return true;
    return false;
}

/* libhtp's content-length: digits with optional LWS around; -2 invalid. */
static int64_t parse_cl(const uint8_t *p, size_t n)
{
    trim(&p, &n);
    if (!n)
        return -2;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -2;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static const uint8_t *span_ptr(const h1_msg *m, span s)
{
    return gh_buf_at(s.in_fld ? &m->fld : &m->raw, s.off);
}

static void anomaly(const gh_app_sink *sink, h1_tx *tx, int dir, const char *name)
{
    if (sink->on_anomaly)
        sink->on_anomaly(sink->ctx, tx ? &tx->base : NULL, dir, name);
}

/* Once-per-message anomaly. */
static void anomaly_once(const gh_app_sink *sink, h1_tx *tx, int dir, uint32_t bit,
                         const char *name)
{
    if (tx->m[dir].events & bit)
        return;
    tx->m[dir].events |= bit;
    anomaly(sink, tx, dir, name);
}

static void report(const gh_app_sink *sink, h1_tx *tx, int dir, gh_app_stage stage)
{
    tx->base.progress[dir] = (uint8_t)stage;
    if (sink->on_progress)
        sink->on_progress(sink->ctx, &tx->base, dir, stage);
}

/* ---- transaction slots ---------------------------------------------------- */

static void msg_reset(h1_msg *m)
{
    m->raw.len = 0;
    m->fld.len = 0;
    m->n_hdrs = 0;
    memset(m->bufs, 0, sizeof(m->bufs));
    m->body.len = 0;
    m->body_len = 0;
    m->events = 0;
}

static h1_tx *tx_by_id(h1_state *st, uint64_t id)
{
    if (!st->n)
        return NULL;
    uint64_t first = st->txs[st->head].base.id;
    if (id < first || id - first >= st->n)
        return NULL;
    return &st->txs[(st->head + (uint32_t)(id - first)) % st->cap_tx];
}

static h1_tx *tx_new(h1_state *st)
{
    if (st->n == st->cap_tx)
        return NULL;
    h1_tx *tx = gh_app_ring_slot(st->txs, sizeof(*st->txs), (st->head + st->n) % st->cap_tx,
                                 &st->ninit);
    st->n++;
    gh_app_tx_start(&tx->base, st->next_id++);
    msg_reset(&tx->m[0]);
    msg_reset(&tx->m[1]);
    tx->status = 0;
    tx->head = tx->http09 = tx->seen_100 = tx->connect = false;
    return tx;
}

/* Slots free up in order once both directions reported DONE. An empty
 * ring starts over at slot 0: a connection's requests one after another
 * reuse one slot and its buffers, already grown and mapped, instead of
 * going round all max_tx of them. */
static void tx_retire(h1_state *st)
{
    while (st->n) {
        h1_tx *tx = &st->txs[st->head];
        if (tx->base.progress[0] != GH_STAGE_DONE || tx->base.progress[1] != GH_STAGE_DONE)
            break;
        st->head = (st->head + 1) % st->cap_tx;
        st->n--;
    }
    if (!st->n)
        st->head = 0;
}

/* ---- probing -------------------------------------------------------------- */

/* Suricata's HTTP method patterns (app-layer-htp.c), matched case-insensitively. */
static const char *const methods[] = {
    "GET", "PUT", "POST", "HEAD", "TRACE", "OPTIONS", "CONNECT", "DELETE", "PATCH",
    "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "CHECKOUT",
    "UNCHECKOUT", "CHECKIN", "UPDATE", "LABEL", "REPORT", "MKWORKSPACE", "MKACTIVITY",
    "MERGE", "INVALID", "VERSION-CONTROL", "BASELINE-CONTROL", "SEARCH", NULL};

static int probe(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc)
{
    (void)pc;
    if (dir) {
        static const char v[] = "HTTP/";
        size_t k = n < 5 ? n : 5;
        for (size_t i = 0; i < k; i++)
            if (lower(b[i]) != lower((uint8_t)v[i]))
                return GH_PROBE_NO;
        return n >= 5 ? GH_PROBE_YES : GH_PROBE_MORE;
    }
    size_t i = 0;
    while (i < n && (b[i] == '\r' || b[i] == '\n' || b[i] == ' '))
        i++;
    if (i == n)
        return GH_PROBE_MORE;
    bool more = false;
    for (int m = 0; methods[m]; m++) {
        size_t ml = strlen(methods[m]);
        size_t k = 0;
        while (k < ml && i + k < n && lower(b[i + k]) == lower((uint8_t)methods[m][k]))
            k++;
        if (i + k == n) {
            more = true; /* a prefix of this method, or method without delimiter yet */
            continue;
        }
        if (k == ml && (b[i + k] == ' ' || b[i + k] == '\t'))
            return GH_PROBE_YES;
    }
    return more ? GH_PROBE_MORE : GH_PROBE_NO;
}

/* ---- URI normalization (libhtp htp_normalize_parsed_uri, IDS personality) - */

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Best fit for code points above 0xff: the full-width ASCII forms map to
 * ASCII (the evasion libhtp's table exists for); the rest become '?'. */
static uint8_t bestfit(uint32_t cp)
{
    if (cp < 0x100)
        return (uint8_t)cp;
    if (cp >= 0xff01 && cp <= 0xff5e)
        return (uint8_t)(cp - 0xfee0);
    return '?';
}

/* Percent and %u decoding and backslash to slash, as Suricata 7's libhtp
 * does by default (checked against it): an encoded separator (%2f) stays
 * encoded and "//" is kept. */
static size_t decode_path(uint8_t *d, size_t len)
{
    size_t r = 0, w = 0;
    while (r < len) {
        int c = d[r];
        size_t used = 1;
        if (c == '%' && r + 2 < len) {
            if ((d[r + 1] == 'u' || d[r + 1] == 'U')) {
                if (r + 5 < len && hexval(d[r + 2]) >= 0 && hexval(d[r + 3]) >= 0 &&
                    hexval(d[r + 4]) >= 0 && hexval(d[r + 5]) >= 0) {
                    int c1 = hexval(d[r + 2]) * 16 + hexval(d[r + 3]);
                    int c2 = hexval(d[r + 4]) * 16 + hexval(d[r + 5]);
                    c = c1 == 0 ? c2 : bestfit((uint32_t)(c1 << 8 | c2));
                    used = 6;
                }
            } else if (hexval(d[r + 1]) >= 0 && hexval(d[r + 2]) >= 0) {
                c = hexval(d[r + 1]) * 16 + hexval(d[r + 2]);
                used = 3;
            }
        }
        if (used > 1 && (c == '/' || c == '\\')) { /* an encoded separator: as sent */
            memmove(d + w, d + r, used);
            w += used;
            r += used;
            continue;
        }
        r += used;
        d[w++] = (uint8_t)(c == '\\' ? '/' : c);
    }
    return w;
}

/* The query: percent-decoded (%XX), nothing else. */
static size_t decode_query(uint8_t *d, size_t len)
{
    size_t r = 0, w = 0;
    while (r < len) {
        if (d[r] == '%' && r + 2 < len && hexval(d[r + 1]) >= 0 && hexval(d[r + 2]) >= 0) {
            d[w++] = (uint8_t)(hexval(d[r + 1]) * 16 + hexval(d[r + 2]));
            r += 3;
        } else {
            d[w++] = d[r++];
        }
    }
    return w;
}

/* UTF-8 to single bytes with best fit; overlong forms decoded, invalid
 * bytes replaced by '?', a sequence cut by the end dropped (as libhtp). */
static size_t utf8_bestfit(uint8_t *d, size_t len)
{
    size_t r = 0, w = 0;
    while (r < len) {
        uint8_t c = d[r];
        if (c < 0x80) {
            d[w++] = c;
            r++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc0 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf7) {
            need = 3;
            cp = c & 0x07;
        } else {
            d[w++] = '?';
            r++;
            continue;
        }
        size_t k = 1;
        while (k <= need && r + k < len && (d[r + k] & 0xc0) == 0x80) {
            cp = cp << 6 | (d[r + k] & 0x3f);
            k++;
        }
        if (k > need) {
            d[w++] = bestfit(cp);
            r += k;
        } else if (r + k == len) {
            r = len;
        } else {
            d[w++] = '?';
            r += k; /* the byte that broke the sequence starts the next one */
        }
    }
    return w;
}

/* RFC 3986 5.2.4 remove_dot_segments, in place. */
static size_t remove_dots(uint8_t *d, size_t len)
{
    size_t r = 0, w = 0;
    while (r < len) {
        size_t rest = len - r;
        const uint8_t *p = d + r;
        if (rest >= 3 && !memcmp(p, "../", 3)) {
            r += 3;
        } else if (rest >= 2 && !memcmp(p, "./", 2)) {
            r += 2;
        } else if (rest >= 3 && !memcmp(p, "/./", 3)) {
            r += 2;
        } else if (rest == 2 && !memcmp(p, "/.", 2)) {
            d[r + 1] = '/';
            r += 1;
        } else if ((rest >= 4 && !memcmp(p, "/../", 4)) || (rest == 3 && !memcmp(p, "/..", 3))) {
            if (rest == 3) {
                d[r + 2] = '/';
                r += 2;
            } else {
                r += 3;
            }
            while (w > 0 && d[w - 1] != '/')
                w--;
            if (w > 0)
                w--;
        } else if ((rest == 1 && p[0] == '.') || (rest == 2 && !memcmp(p, "..", 2))) {
            r = len;
        } else {
            if (d[r] == '/')
                d[w++] = d[r++];
            while (r < len && d[r] != '/')
                d[w++] = d[r++];
        }
    }
    return w;
}

/* Authority of an absolute URI as libhtp's htp_parse_uri splits it. */
static bool uri_split(const uint8_t *u, size_t n, size_t *host_off, size_t *host_len,
                      size_t *path_off)
{
    *path_off = 0;
    if (!n || u[0] == '/')
        return false;
    const uint8_t *colon = memchr(u, ':', n);
    if (!colon)
        return false;
    size_t pos = (size_t)(colon - u) + 1;
    *path_off = pos;
    if (!(pos + 2 < n && u[pos] == '/' && u[pos + 1] == '/' && u[pos + 2] != '/'))
        return false;
    size_t start = pos + 2, end = start;
    while (end < n && u[end] != '?' && u[end] != '/' && u[end] != '#')
        end++;
    *path_off = end;
    const uint8_t *at = memchr(u + start, '@', end - start);
    if (at)
        start = (size_t)(at - u) + 1;
    size_t hl = end - start;
    if (hl && u[start] == '[') {
        const uint8_t *rb = memchr(u + start, ']', hl);
        if (rb)
            hl = (size_t)(rb - (u + start)) + 1;
    } else {
        const uint8_t *c = memchr(u + start, ':', hl);
        if (c)
            hl = (size_t)(c - (u + start));
    }
    *host_off = start;
    *host_len = hl;
    return true;
}

/* ---- building a message's buffers ------------------------------------------ */

/* Append bytes to fld and return their span (unset on allocation failure). */
static span fld_put(h1_msg *m, const void *d, size_t n)
{
    span s = {m->fld.len, (uint32_t)n, 1, 1};
    if (gh_buf_put(&m->fld, d, n))
        s.set = 0;
    return s;
}

static span raw_span(size_t off, size_t len)
{
    return (span){(uint32_t)off, (uint32_t)len, 0, 1};
}

/* The hostname: trailing dots dropped, lowercased (libhtp's
 * htp_normalize_hostname) except a Host header with a port, whose case
 * Suricata 7 keeps (both checked against it: "www.ExAmPlE.cOM" matches
 * content "www.example.com", "WWW.Example.COM:8080" needs to_lowercase). */
static span host_norm(h1_msg *m, const uint8_t *p, size_t n, bool lowercase)
{
    while (n && p[n - 1] == '.')
        n--;
    span s = fld_put(m, p, n);
    if (s.set && lowercase)
        for (uint32_t i = 0; i < s.len; i++)
            m->fld.p[s.off + i] = lower(m->fld.p[s.off + i]);
    return s;
}

/* Host header value to hostname (htp_parse_hostport); false if invalid. */
static bool host_from_header(const uint8_t *p, size_t n, const uint8_t **h, size_t *hl)
{
    trim(&p, &n);
    *h = p;
    *hl = 0;
    if (!n)
        return false;
    const uint8_t *port;
    size_t port_len;
    if (p[0] == '[') {
        const uint8_t *rb = memchr(p, ']', n);
        if (!rb)
            return false;
        *hl = (size_t)(rb - p) + 1;
        if (*hl == n)
            return true;
        if (p[*hl] != ':')
            return false;
        port = p + *hl + 1;
        port_len = n - *hl - 1;
    } else {
        const uint8_t *c = memchr(p, ':', n);
        if (!c) {
            *hl = n;
            return true;
        }
        size_t e = (size_t)(c - p);
        while (e && is_space(p[e - 1]))
            e--;
        *hl = e;
        port = c + 1;
        port_len = n - (size_t)(c + 1 - p);
    }
    int64_t v = parse_cl(port, port_len);
    return v > 0 && v < 65536;
}

/* Is the Host header's hostname (at @p off, @p n bytes in fld) all of its
 * trimmed value, i.e. no port? */
static bool hv_port_less(const h1_msg *m, const hdr *hh, size_t off, size_t n)
{
    const uint8_t *v = gh_buf_at(&m->fld, hh->value.off);
    size_t vl = hh->value.len;
    trim(&v, &vl);
    return (size_t)(v - m->fld.p) == off && vl == n;
}

static const hdr *find_hdr(const h1_msg *m, const char *name)
{
    for (uint32_t i = 0; i < m->n_hdrs; i++) {
        const hdr *h = &m->hdrs[i];
        if (!h->dup && eq_nocase(span_ptr(m, h->name), h->name.len, name))
            return h;
    }
    return NULL;
}

/* Join repeated headers into the first one with ", " (libhtp), except
 * Content-Length whose later copies are dropped. */
static void merge_headers(h1_msg *m)
{
    for (uint32_t i = 0; i < m->n_hdrs; i++) {
        hdr *h = &m->hdrs[i];
        if (h->dup || !h->next_dup)
            continue;
        if (eq_nocase(span_ptr(m, h->name), h->name.len, "content-length"))
            continue;
        uint32_t start = m->fld.len;
        bool ok = !gh_buf_put(&m->fld, gh_buf_at(&m->fld, h->value.off), h->value.len);
        for (uint32_t j = h->next_dup; ok && j; j = m->hdrs[j - 1].next_dup) {
            span v = m->hdrs[j - 1].value;
            ok = !gh_buf_put(&m->fld, ", ", 2) &&
                 !gh_buf_put(&m->fld, gh_buf_at(&m->fld, v.off), v.len);
        }
        if (ok)
            h->value = (span){start, m->fld.len - start, 1, 1};
    }
}

static bool put_hdr_line(h1_msg *m, const hdr *h)
{
    return !gh_buf_put(&m->fld, span_ptr(m, h->name), h->name.len) &&
           !gh_buf_put(&m->fld, ": ", 2) &&
           !gh_buf_put(&m->fld, gh_buf_at(&m->fld, h->value.off), h->value.len) &&
           !gh_buf_put(&m->fld, "\r\n", 2);
}

/* Buffers complete with the header section (Suricata's detect-http-*.c). */
static void compose_header_buffers(h1_msg *m, int dir, uint32_t hdr_off, uint32_t line_len)
{
    static const struct {
        gh_buffer_id id;
        const char *name[2];
    } single[] = {
        {GH_BUF_HTTP_USER_AGENT, {"user-agent", NULL}},
        {GH_BUF_HTTP_REFERER, {"referer", NULL}},
        {GH_BUF_HTTP_ACCEPT, {"accept", NULL}},
        {GH_BUF_HTTP_ACCEPT_ENC, {"accept-encoding", NULL}},
        {GH_BUF_HTTP_ACCEPT_LANG, {"accept-language", NULL}},
        {GH_BUF_HTTP_LOCATION, {NULL, "location"}},
        {GH_BUF_HTTP_SERVER, {NULL, "server"}},
        {GH_BUF_HTTP_COOKIE, {"cookie", "set-cookie"}},
        {GH_BUF_HTTP_CONTENT_TYPE, {"content-type", "content-type"}},
        {GH_BUF_HTTP_CONTENT_LEN, {"content-length", "content-length"}},
        {GH_BUF_HTTP_CONNECTION, {"connection", "connection"}},
    };
    merge_headers(m);
    for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
        const char *name = single[i].name[dir];
        const hdr *h = name ? find_hdr(m, name) : NULL;
        if (h)
            m->bufs[single[i].id] = h->value;
    }
    const char *skip = dir ? "set-cookie" : "cookie";
    uint32_t start = m->fld.len;
    bool ok = true;
    for (uint32_t i = 0; ok && i < m->n_hdrs; i++) {
        const hdr *h = &m->hdrs[i];
        if (!h->dup && !eq_nocase(span_ptr(m, h->name), h->name.len, skip))
            ok = put_hdr_line(m, h);
    }
    if (ok && m->fld.len > start)
        m->bufs[GH_BUF_HTTP_HEADER] = (span){start, m->fld.len - start, 1, 1};

    start = m->fld.len;
    ok = !gh_buf_put(&m->fld, "\r\n", 2);
    for (uint32_t i = 0; ok && i < m->n_hdrs; i++) {
        const hdr *h = &m->hdrs[i];
        if (!h->dup)
            ok = !gh_buf_put(&m->fld, span_ptr(m, h->name), h->name.len) &&
                 !gh_buf_put(&m->fld, "\r\n", 2);
    }
    if (ok && !gh_buf_put(&m->fld, "\r\n", 2))
        m->bufs[GH_BUF_HTTP_HEADER_NAMES] = (span){start, m->fld.len - start, 1, 1};

    start = m->fld.len;
    ok = !gh_buf_put(&m->fld, m->raw.p, line_len) && !gh_buf_put(&m->fld, "\r\n", 2);
    bool any = false;
    for (uint32_t i = 0; ok && i < m->n_hdrs; i++) {
        if (!m->hdrs[i].dup) {
            ok = put_hdr_line(m, &m->hdrs[i]);
            any = true;
        }
    }
    if (ok && any)
        ok = !gh_buf_put(&m->fld, "\r\n", 2);
    if (ok)
        m->bufs[GH_BUF_HTTP_START] = (span){start, m->fld.len - start, 1, 1};

    if (m->raw.len > hdr_off)
        m->bufs[GH_BUF_HTTP_HEADER_RAW] = raw_span(hdr_off, m->raw.len - hdr_off);
}

/* ---- decompression and body storage ---------------------------------------- */

static uint32_t body_limit(const h1_state *st, int dir)
{
    return dir ? st->lim.response_body_limit : st->lim.request_body_limit;
}

static void store_body(h1_state *st, int dir, const uint8_t *b, size_t n)
{
    h1_dir *d = &st->d[dir];
    h1_msg *m = &d->tx->m[dir];
    uint32_t lim = body_limit(st, dir);
    if (m->body.len >= lim || !n)
        return;
    /* a body sent as is with its length known: room for all of it that is
     * kept, at once (growing by doubling copied it about once more) */
    if (!m->body.len && d->z_mode == Z_IDLE && d->cl > 0)
        (void)gh_buf_reserve(&m->body, (uint64_t)d->cl < lim ? (size_t)d->cl : lim);
    size_t k = n < lim - m->body.len ? n : lim - m->body.len;
    if (!gh_buf_put(&m->body, b, k))
        st->d[dir].body_pending = true;
}

static void flush_body(h1_state *st, int dir, const gh_app_sink *sink)
{
    h1_dir *d = &st->d[dir];
    if (d->tx && d->body_pending) {
        d->body_pending = false;
        report(sink, d->tx, dir, GH_STAGE_BODY);
    }
}

/* Anomalies inside a body follow the BODY report of the bytes before them,
 * so their order does not depend on segmentation. */
static void body_anomaly(h1_state *st, int dir, const gh_app_sink *sink, const char *name)
{
    flush_body(st, dir, sink);
    anomaly(sink, st->d[dir].tx, dir, name);
}

static void inflate_feed(h1_state *st, int dir, const uint8_t *b, size_t n,
                         const gh_app_sink *sink)
{
    h1_dir *d = &st->d[dir];
    struct inflate_state *z = d->z;
    z->next_in = (uint8_t *)(uintptr_t)b;
    z->avail_in = (uint32_t)n;
    /* until the input is used up and a call leaves room in the output
     * (a full output may hold back more of the bytes already taken) */
    while (d->z_mode == Z_RUN) {
        z->next_out = st->zbuf;
        z->avail_out = ZBUF_SIZE;
        uint32_t in_before = z->avail_in;
        int rc = isal_inflate(z);
        size_t got = ZBUF_SIZE - z->avail_out;
        uint64_t room = st->lim.decompress_limit - d->z_out;
        if (got > room) {
            store_body(st, dir, st->zbuf, (size_t)room);
            d->z_out += room;
            body_anomaly(st, dir, sink, "COMPRESSION_BOMB");
            gh_app_exception(sink, dir, GH_APP_EXC_DECODE_CAP);
            d->z_mode = Z_STOP;
            return;
        }
        store_body(st, dir, st->zbuf, got);
        d->z_out += got;
        if (rc == ISAL_DECOMP_OK && z->block_state == ISAL_BLOCK_FINISH) {
            d->z_mode = Z_STOP; /* trailing bytes after the stream are not body */
        } else if (rc != ISAL_DECOMP_OK || z->avail_in > in_before) {
            /* libhtp passes the rest through undecoded: the bytes ISA-L
             * left, of this call's; its count is not kept on every error (an
             * invalid lookback leaves it below zero, bytes it read ahead) */
            body_anomaly(st, dir, sink, "GZIP_DECOMPRESSION_FAILED");
            d->z_mode = Z_PASS;
            size_t left = z->avail_in <= n ? z->avail_in : 0;
            store_body(st, dir, b + n - left, left);
            return;
        } else if ((!z->avail_in && z->avail_out) || (!got && z->avail_in == in_before)) {
            return;
        }
    }
}

/* deflate: zlib-wrapped or raw, decided by the first two bytes (libhtp
 * tries one and falls back to the other). */
static void sniff_deflate(h1_state *st, int dir, const gh_app_sink *sink)
{
    h1_dir *d = &st->d[dir];
    bool zlib_hdr = d->n_sniff == 2 && (d->sniff[0] & 0x0f) == 8 &&
                    ((d->sniff[0] << 8) | d->sniff[1]) % 31 == 0;
    isal_inflate_init(d->z);
    d->z->crc_flag = zlib_hdr ? ISAL_ZLIB : ISAL_DEFLATE;
    d->z_mode = Z_RUN;
    inflate_feed(st, dir, d->sniff, d->n_sniff, sink);
}

/* Body bytes as transferred (dechunked). */
static void body_data(h1_state *st, int dir, const uint8_t *b, size_t n,
                      const gh_app_sink *sink)
{
    h1_dir *d = &st->d[dir];
    d->tx->m[dir].body_len += n;
    while (n && d->z_mode == Z_SNIFF) {
        d->sniff[d->n_sniff++] = *b++;
        n--;
        if (d->n_sniff == 2)
            sniff_deflate(st, dir, sink);
    }
    if (!n)
        return;
    switch (d->z_mode) {
    case Z_IDLE:
    case Z_PASS:
        store_body(st, dir, b, n);
        break;
    case Z_RUN:
        inflate_feed(st, dir, b, n, sink);
        break;
    default:
        break;
    }
}

static void body_start(h1_state *st, int dir, const gh_app_sink *sink)
{
    h1_dir *d = &st->d[dir];
    d->z_out = 0;
    d->n_sniff = 0;
    d->z_mode = Z_IDLE;
    if (d->enc == ENC_NONE)
        return;
    if (!d->z && !(d->z = malloc(sizeof(*d->z)))) {
        gh_app_exception(sink, dir, GH_APP_EXC_MEMCAP); /* the body stays as sent */
        return;
    }
    if (d->enc == ENC_GZIP) {
        isal_inflate_init(d->z);
        d->z->crc_flag = ISAL_GZIP;
        d->z_mode = Z_RUN;
    } else {
        d->z_mode = Z_SNIFF;
    }
}

/* ---- message completion ---------------------------------------------------- */

static void msg_done(h1_state *st, int dir, const gh_app_sink *sink)
{
    h1_dir *d = &st->d[dir];
    h1_tx *tx = d->tx;
    if (d->z_mode == Z_SNIFF && d->n_sniff)
        sniff_deflate(st, dir, sink);
    flush_body(st, dir, sink);
    d->tx = NULL;
    d->st = S_START;
    d->z_mode = Z_IDLE;
    if (tx->base.progress[dir] < GH_STAGE_LINE)
        report(sink, tx, dir, GH_STAGE_LINE);
    if (tx->base.progress[dir] < GH_STAGE_HEADERS)
        report(sink, tx, dir, GH_STAGE_HEADERS);
    report(sink, tx, dir, GH_STAGE_DONE);
    if (dir == 0 && tx->http09)
        d->st = S_IGNORE; /* libhtp ignores request data after HTTP/0.9 */
    if (dir == 1) {
        st->resp_id = tx->base.id + 1;
        /* upgrades and successful CONNECT leave HTTP: stop parsing */
        if (tx->status == 101 || (tx->connect && tx->status >= 200 && tx->status < 300)) {
            d->st = S_IGNORE;
            if (st->d[0].st != S_CLOSED)
                st->d[0].st = S_IGNORE;
        }
    }
    tx_retire(st);
}

static void dead(h1_state *st, int dir, const gh_app_sink *sink, const char *name)
{
    h1_dir *d = &st->d[dir];
    anomaly(sink, d->tx, dir, name);
    flush_body(st, dir, sink);
    d->st = S_DEAD;
    gh_app_exception(sink, dir, GH_APP_EXC_ERROR);
}

/* ---- start lines ------------------------------------------------------------ */

/* Request line (htp_parse_request_line_generic) into tx->m[0] spans. */
static void request_line(h1_tx *tx, const gh_app_sink *sink, size_t len)
{
    h1_msg *m = &tx->m[0];
    const uint8_t *p = m->raw.p;
    size_t pos = 0;
    m->bufs[GH_BUF_HTTP_REQUEST_LINE] = raw_span(0, len);
    if (len && is_space(p[0])) {
        anomaly(sink, tx, 0, "REQUEST_LINE_LEADING_WHITESPACE");
        while (pos < len && is_space(p[pos]))
            pos++;
    }
    size_t ms = pos;
    while (pos < len && !is_space(p[pos]))
        pos++;
    m->bufs[GH_BUF_HTTP_METHOD] = raw_span(ms, pos - ms);
    tx->head = pos - ms == 4 && !memcmp(p + ms, "HEAD", 4);
    tx->connect = pos - ms == 7 && !memcmp(p + ms, "CONNECT", 7);
    size_t ws = pos;
    while (pos < len && is_space(p[pos]))
        pos++;
    if (pos < len && (pos - ws != 1 || p[ws] != ' '))
        anomaly(sink, tx, 0, "METHOD_DELIM_NON_COMPLIANT");
    size_t us = pos;
    while (pos < len && p[pos] != ' ' && p[pos] != '\t')
        pos++;
    size_t ue = pos;
    /* a URI with spaces: the protocol is the last word when it is HTTP/
     * (libhtp's allow_space_uri, as Suricata 8 parses "GET /a b HTTP/1.1") */
    size_t last = len;
    while (last > ue && !is_space(p[last - 1]))
        last--;
    if (last > ue && len - last >= 5 && !memcmp(p + last, "HTTP/", 5)) {
        size_t e = last;
        while (e > ue && is_space(p[e - 1]))
            e--;
        if (e > ue) {
            ue = e;
            pos = e;
        }
    }
    if (ue == us) {
        anomaly(sink, tx, 0, "REQUEST_LINE_INCOMPLETE");
    } else {
        m->bufs[GH_BUF_HTTP_URI_RAW] = raw_span(us, ue - us);
    }
    ws = pos;
    while (pos < len && is_space(p[pos]))
        pos++;
    if (pos < len && (pos - ws != 1 || p[ws] != ' '))
        anomaly(sink, tx, 0, "URI_DELIM_NON_COMPLIANT");
    size_t pe = len;
    while (pe > pos && is_space(p[pe - 1]))
        pe--;
    if (pe > pos)
        m->bufs[GH_BUF_HTTP_PROTOCOL] = raw_span(pos, pe - pos);
    else
        tx->http09 = true;

    if (ue == us)
        return;
    /* http.uri: normalized path, then "?query" and "#fragment" as sent */
    size_t hoff, hlen, path_off;
    uri_split(p + us, ue - us, &hoff, &hlen, &path_off);
    size_t pend = path_off;
    while (pend < ue - us && p[us + pend] != '?' && p[us + pend] != '#')
        pend++;
    span s = fld_put(m, p + us + path_off, pend - path_off);
    if (!s.set || !s.len) /* nothing to normalize (and fld may hold no bytes) */
        return;
    uint8_t *d = m->fld.p + s.off;
    size_t n = decode_path(d, s.len);
    n = utf8_bestfit(d, n);
    n = remove_dots(d, n);
    m->fld.len = s.off + (uint32_t)n;
    uint32_t q = m->fld.len;
    if (gh_buf_put(&m->fld, m->raw.p + us + pend, ue - us - pend))
        return;
    m->fld.len = q + (uint32_t)decode_query(m->fld.p + q, m->fld.len - q);
    s.len = m->fld.len - s.off;
    m->bufs[GH_BUF_HTTP_URI] = s;
}

/* Status line (htp_parse_response_line_generic). False when the line is
 * not a status line: libhtp then takes it as the start of the body. */
static bool status_line(h1_tx *tx, const gh_app_sink *sink, size_t len)
{
    h1_msg *m = &tx->m[1];
    const uint8_t *p = m->raw.p;
    size_t pos = 0;
    while (pos < len && is_space(p[pos]))
        pos++;
    if (len - pos < 4 || !eq_nocase(p + pos, 4, "http"))
        return false;
    m->bufs[GH_BUF_HTTP_RESPONSE_LINE] = raw_span(0, len);
    size_t ps = pos;
    while (pos < len && !is_space(p[pos]))
        pos++;
    m->bufs[GH_BUF_HTTP_PROTOCOL] = raw_span(ps, pos - ps);
    while (pos < len && is_space(p[pos]))
        pos++;
    size_t cs = pos;
    while (pos < len && !is_space(p[pos]))
        pos++;
    int code = -1;
    if (pos - cs == 3) {
        code = 0;
        for (size_t i = cs; i < pos; i++)
            code = (p[i] >= '0' && p[i] <= '9' && code >= 0) ? code * 10 + p[i] - '0' : -1;
    }
    if (pos > cs)
        m->bufs[GH_BUF_HTTP_STAT_CODE] = raw_span(cs, pos - cs);
    if (code < 100 || code > 999) {
        anomaly(sink, tx, 1, "RESPONSE_INVALID_STATUS");
        code = 0;
    }
    tx->status = (uint16_t)code;
    while (pos < len && is_space(p[pos]))
        pos++;
    if (pos < len)
        m->bufs[GH_BUF_HTTP_STAT_MSG] = raw_span(pos, len - pos);
    return true;
}

/* ---- header lines ----------------------------------------------------------- */

/* One logical (unfolded) header line: framing facts always, the header
 * table only while within header_limit. */
static void header_line(h1_state *st, int dir, const uint8_t *p, size_t n,
                        const gh_app_sink *sink, bool trailer)
{
    h1_dir *d = &st->d[dir];
    h1_tx *tx = d->tx;
    h1_msg *m = &tx->m[dir];
    const uint8_t *colon = n ? memchr(p, ':', n) : NULL; /* p may be NULL when n is 0 */
    const uint8_t *name = p, *val;
    size_t nl, vl;
    if (!colon) {
        anomaly_once(sink, tx, dir, EV_MISSING_COLON,
                     dir ? "RESPONSE_FIELD_MISSING_COLON" : "REQUEST_FIELD_MISSING_COLON");
        nl = 0;
        val = p;
        vl = n;
    } else {
        nl = (size_t)(colon - p);
        while (nl && is_lws(name[nl - 1]))
            nl--;
        val = colon + 1;
        vl = n - nl - 1 - (size_t)(colon - p - nl);
    }
    trim(&val, &vl);
    if (trailer)
        return;
    if (eq_nocase(name, nl, "content-length")) {
        int64_t v = parse_cl(val, vl);
        if (d->cl == -1) {
            d->cl = v;
        } else if (v != d->cl) {
            anomaly(sink, tx, dir,
                    dir ? "DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE"
                        : "DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST");
        }
    } else if (eq_nocase(name, nl, "transfer-encoding")) {
        d->te = true;
        if (has_nocase(val, vl, "chunked"))
            d->te_chunked = true;
    } else if (eq_nocase(name, nl, "content-encoding")) {
        if (eq_nocase(val, vl, "gzip") || eq_nocase(val, vl, "x-gzip"))
            d->enc = ENC_GZIP;
        else if (eq_nocase(val, vl, "deflate") || eq_nocase(val, vl, "x-deflate"))
            d->enc = ENC_DEFLATE;
        else
            d->enc = ENC_NONE; /* identity, several layers, unknown: kept raw */
    }
    if (d->too_long)
        return;
    if (m->n_hdrs == m->cap_hdrs) {
        uint32_t cap = m->cap_hdrs ? m->cap_hdrs * 2 : 16;
        hdr *h = realloc(m->hdrs, cap * sizeof(*h));
        if (!h)
            return;
        m->hdrs = h;
        m->cap_hdrs = cap;
    }
    hdr h = {.name = fld_put(m, name, nl)};
    h.value = fld_put(m, val, vl);
    if (!h.name.set || !h.value.set)
        return;
    uint32_t first = UINT32_MAX;
    for (uint32_t i = 0; i < m->n_hdrs; i++) {
        hdr *e = &m->hdrs[i];
        if (e->dup || e->name.len != nl)
            continue;
        uint32_t k = 0;
        while (k < nl && lower(m->fld.p[e->name.off + k]) == lower(name[k]))
            k++;
        if (k == nl) {
            first = i;
            break;
        }
    }
    if (first != UINT32_MAX) {
        hdr *e = &m->hdrs[first];
        if (!e->next_dup)
            anomaly(sink, tx, dir,
                    dir ? "RESPONSE_HEADER_REPETITION" : "REQUEST_HEADER_REPETITION");
        while (e->next_dup)
            e = &m->hdrs[e->next_dup - 1];
        e->next_dup = m->n_hdrs + 1;
        h.dup = 1;
    }
    m->hdrs[m->n_hdrs++] = h;
}

static void finish_fold(h1_state *st, int dir, const gh_app_sink *sink, bool trailer)
{
    h1_dir *d = &st->d[dir];
    if (!d->fold_pending)
        return;
    d->fold_pending = false;
    header_line(st, dir, d->fold.p, d->fold.len, sink, trailer);
}

static size_t chomp(const uint8_t *p, size_t n)
{
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    return n;
}

static bool line_empty(const gh_buf *l)
{
    return (l->len == 1 && l->p[0] == '\n') || (l->len == 2 && l->p[0] == '\r' && l->p[1] == '\n');
}

/* A header or trailer line (with its terminator) completed. Returns true
 * at the empty line that ends the section. */
static bool header_section_line(h1_state *st, int dir, const gh_app_sink *sink, bool trailer)
{
    h1_dir *d = &st->d[dir];
    gh_buf *l = &d->line;
    if (line_empty(l)) {
        finish_fold(st, dir, sink, trailer);
        return true;
    }
    size_t n = chomp(l->p, l->len);
    if (n && is_lws(l->p[0])) {
        if (!d->fold_pending) {
            anomaly_once(sink, d->tx, dir, EV_FOLDING,
                         dir ? "INVALID_RESPONSE_FIELD_FOLDING" : "INVALID_REQUEST_FIELD_FOLDING");
            d->fold.len = 0;
            d->fold_pending = true;
        }
        /* libhtp appends the continuation, leading whitespace included */
        if (d->fold.len + n <= st->lim.header_limit)
            gh_buf_put(&d->fold, l->p, n);
        return false;
    }
    finish_fold(st, dir, sink, trailer);
    d->fold.len = 0;
    gh_buf_put(&d->fold, l->p, n);
    d->fold_pending = true;
    return false;
}

/* ---- framing after the header section --------------------------------------- */

static void request_headers_done(h1_state *st, const gh_app_sink *sink, uint32_t line_len)
{
    h1_dir *d = &st->d[0];
    h1_tx *tx = d->tx;
    h1_msg *m = &tx->m[0];
    compose_header_buffers(m, 0, line_len, m->bufs[GH_BUF_HTTP_REQUEST_LINE].len);

    /* host: the absolute URI's authority wins over the Host header */
    const hdr *hh = find_hdr(m, "host");
    span ur = m->bufs[GH_BUF_HTTP_URI_RAW];
    size_t hoff = 0, hlen = 0, poff;
    bool uri_host = ur.set && uri_split(m->raw.p + ur.off, ur.len, &hoff, &hlen, &poff);
    /* offsets, not pointers: host_norm appends to fld, which may move */
    size_t hv_off = 0, hvl = 0;
    if (hh) {
        const uint8_t *hv;
        span v = hh->value;
        if (!host_from_header(m->fld.p + v.off, v.len, &hv, &hvl))
            anomaly(sink, tx, 0, "REQUEST_HEADER_HOST_INVALID");
        hv_off = (size_t)(hv - m->fld.p);
    }
    if (uri_host) {
        m->bufs[GH_BUF_HTTP_HOST_RAW] = raw_span(ur.off + hoff, hlen);
        span a = host_norm(m, m->raw.p + ur.off + hoff, hlen, true);
        m->bufs[GH_BUF_HTTP_HOST] = a;
        if (hh) {
            span b = host_norm(m, m->fld.p + hv_off, hvl, true);
            if (a.set && b.set &&
                (a.len != b.len || memcmp(m->fld.p + a.off, m->fld.p + b.off, a.len)))
                anomaly(sink, tx, 0, "HOST_HEADER_AMBIGUOUS");
        }
    } else if (hh) {
        m->bufs[GH_BUF_HTTP_HOST_RAW] = hh->value;
        if (hvl)
            m->bufs[GH_BUF_HTTP_HOST] =
                host_norm(m, m->fld.p + hv_off, hvl, hv_port_less(m, hh, hv_off, hvl));
    }
    span proto = m->bufs[GH_BUF_HTTP_PROTOCOL];
    if (!hh && proto.set && proto.len == 8 && !memcmp(m->raw.p + proto.off, "HTTP/1.1", 8))
        anomaly(sink, tx, 0, "MISSING_HOST_HEADER");

    report(sink, tx, 0, GH_STAGE_HEADERS);
    if (d->te) {
        if (d->te_chunked) {
            d->st = S_CHUNK_LEN;
            body_start(st, 0, sink);
            return;
        }
        anomaly(sink, tx, 0, "INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST");
    }
    if (d->cl == -2) {
        dead(st, 0, sink, "INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST");
        return;
    }
    if (d->cl > 0) {
        d->left = (uint64_t)d->cl;
        d->st = S_BODY_CL;
        body_start(st, 0, sink);
        return;
    }
    msg_done(st, 0, sink);
}

static void response_headers_done(h1_state *st, const gh_app_sink *sink, uint32_t line_len)
{
    h1_dir *d = &st->d[1];
    h1_tx *tx = d->tx;
    h1_msg *m = &tx->m[1];
    uint16_t s = tx->status;
    if (s >= 100 && s < 200 && s != 101) {
        /* interim response: the real one follows for the same tx */
        if (tx->seen_100)
            anomaly(sink, tx, 1, "100_CONTINUE_ALREADY_SEEN");
        tx->seen_100 = true;
        msg_reset(m);
        d->st = S_START;
        return;
    }
    compose_header_buffers(m, 1, line_len, m->bufs[GH_BUF_HTTP_RESPONSE_LINE].len);
    report(sink, tx, 1, GH_STAGE_HEADERS);
    if ((s >= 100 && s < 200) || s == 204 || s == 304 || tx->head) {
        msg_done(st, 1, sink);
        return;
    }
    if (d->te) {
        if (d->te_chunked) {
            span proto = m->bufs[GH_BUF_HTTP_PROTOCOL];
            if (proto.set && proto.len == 8 && !memcmp(m->raw.p + proto.off, "HTTP/1.0", 8))
                anomaly(sink, tx, 1, "RESPONSE_CHUNKED_OLD_PROTO");
            d->st = S_CHUNK_LEN;
            body_start(st, 1, sink);
            return;
        }
        anomaly(sink, tx, 1, "RESPONSE_ABNORMAL_TRANSFER_ENCODING");
    }
    if (d->cl == -2) {
        dead(st, 1, sink, "INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE");
        return;
    }
    if (d->cl >= 0) {
        if (d->cl == 0) {
            msg_done(st, 1, sink);
            return;
        }
        d->left = (uint64_t)d->cl;
        d->st = S_BODY_CL;
    } else {
        d->st = S_BODY_CLOSE;
    }
    body_start(st, 1, sink);
}

/* ---- the state machine ------------------------------------------------------- */

/* Collect bytes up to and including LF into d->line (capped). True when a
 * line is complete. Header bytes count against header_limit. */
static bool read_line(h1_state *st, int dir, const uint8_t *b, size_t n, size_t *pos,
                      bool counts, const gh_app_sink *sink)
{
    h1_dir *d = &st->d[dir];
    const uint8_t *lf = memchr(b + *pos, '\n', n - *pos);
    size_t take = lf ? (size_t)(lf - (b + *pos)) + 1 : n - *pos;
    size_t room = st->lim.header_limit > d->line.len ? st->lim.header_limit - d->line.len : 0;
    size_t k = take < room ? take : room;
    if (k < take) {
        d->line_cut = true;
        /* keep the terminator so the line is still recognised */
        if (lf && k)
            k--;
    }
    gh_buf_put(&d->line, b + *pos, k);
    if (k < take && lf)
        gh_buf_put(&d->line, "\n", 1);
    *pos += take;
    if (counts && d->tx) {
        d->hdr_bytes += (uint32_t)(take > UINT32_MAX - d->hdr_bytes ? 0 : take);
        if (d->hdr_bytes > st->lim.header_limit && !d->too_long) {
            d->too_long = true;
            anomaly_once(sink, d->tx, dir, EV_TOO_LONG,
                         dir ? "RESPONSE_FIELD_TOO_LONG" : "REQUEST_FIELD_TOO_LONG");
        }
    }
    return lf != NULL;
}

static void msg_begin(h1_dir *d, h1_tx *tx)
{
    d->tx = tx;
    d->hdr_bytes = 0;
    d->too_long = false;
    d->fold_pending = false;
    d->cl = -1;
    d->te = d->te_chunked = false;
    d->enc = ENC_NONE;
    d->body_pending = false;
}

/* A complete start line in d->line: create/select the tx and parse it. */
static void start_line(h1_state *st, int dir, const gh_app_sink *sink)
{
    h1_dir *d = &st->d[dir];
    h1_tx *tx = d->tx;
    if (!tx) {
        if (dir == 0) {
            tx = tx_new(st);
            if (!tx) {
                /* no slot: libhtp refuses new transactions; stop this direction */
                dead(st, 0, sink, "UNKNOWN_ERROR");
                return;
            }
        } else {
            tx = tx_by_id(st, st->resp_id);
            if (!tx) {
                anomaly(sink, NULL, 1, "UNABLE_TO_MATCH_RESPONSE_TO_REQUEST");
                tx = tx_new(st);
                if (!tx) {
                    dead(st, 1, sink, "UNKNOWN_ERROR");
                    return;
                }
                st->resp_id = tx->base.id;
                report(sink, tx, 0, GH_STAGE_LINE);
                report(sink, tx, 0, GH_STAGE_HEADERS);
                report(sink, tx, 0, GH_STAGE_DONE);
            }
        }
        msg_begin(d, tx);
    }
    d->hdr_bytes = d->line.len;
    h1_msg *m = &tx->m[dir];
    size_t len = chomp(d->line.p, d->line.len);
    gh_buf_put(&m->raw, d->line.p, d->line.len);
    if (d->hdr_bytes > st->lim.header_limit || d->line_cut) {
        d->too_long = true;
        anomaly_once(sink, tx, dir, EV_TOO_LONG,
                     dir ? "RESPONSE_FIELD_TOO_LONG" : "REQUEST_FIELD_TOO_LONG");
    }
    if (dir == 0) {
        request_line(tx, sink, len);
        report(sink, tx, 0, GH_STAGE_LINE);
        if (tx->http09) {
            compose_header_buffers(m, 0, m->raw.len, (uint32_t)len);
            m->bufs[GH_BUF_HTTP_HEADER_NAMES].set = 0;
            m->bufs[GH_BUF_HTTP_START].set = 0;
            msg_done(st, 0, sink);
            return;
        }
        d->st = S_HEADERS;
        return;
    }
    if (!status_line(tx, sink, len)) {
        /* not a status line: everything is body until close */
        m->raw.len = 0;
        report(sink, tx, 1, GH_STAGE_LINE);
        report(sink, tx, 1, GH_STAGE_HEADERS);
        d->st = S_BODY_CLOSE;
        body_start(st, 1, sink);
        body_data(st, 1, d->line.p, d->line.len, sink);
        return;
    }
    if (!(tx->status >= 100 && tx->status < 200 && tx->status != 101))
        report(sink, tx, 1, GH_STAGE_LINE);
    d->st = S_HEADERS;
}

/* Chunk size line (htp_parse_chunked_length): hex digits, ";ext" ignored. */
static int64_t chunk_len(const uint8_t *p, size_t n)
{
    n = chomp(p, n);
    const uint8_t *semi = memchr(p, ';', n);
    if (semi)
        n = (size_t)(semi - p);
    trim(&p, &n);
    if (!n)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(p[i]);
        if (h < 0 || v > (INT64_MAX >> 4))
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static void parse(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink)
{
    h1_state *st = state;
    h1_dir *d = &st->d[dir];
    size_t pos = 0;
    while (pos < n) {
        switch (d->st) {
        case S_START: {
            if (dir == 1 && !d->tx) {
                h1_tx *tx = tx_by_id(st, st->resp_id);
                if (tx && tx->http09) {
                    /* an HTTP/0.9 response is all body */
                    msg_begin(d, tx);
                    report(sink, tx, 1, GH_STAGE_LINE);
                    report(sink, tx, 1, GH_STAGE_HEADERS);
                    d->st = S_BODY_CLOSE;
                    body_start(st, 1, sink);
                    break;
                }
            }
            if (!read_line(st, dir, b, n, &pos, false, sink))
                break;
            if (!line_empty(&d->line))
                start_line(st, dir, sink);
            d->line.len = 0;
            d->line_cut = false;
            break;
        }
        case S_HEADERS:
        case S_TRAILERS: {
            if (!read_line(st, dir, b, n, &pos, d->st == S_HEADERS, sink))
                break;
            bool trailer = d->st == S_TRAILERS;
            h1_msg *m = &d->tx->m[dir];
            if (!trailer && !d->too_long)
                gh_buf_put(&m->raw, d->line.p, d->line.len);
            bool end = header_section_line(st, dir, sink, trailer);
            d->line.len = 0;
            d->line_cut = false;
            if (!end)
                break;
            if (trailer) {
                msg_done(st, dir, sink);
            } else {
                /* the start line is the first thing in raw */
                span sl = m->bufs[dir ? GH_BUF_HTTP_RESPONSE_LINE : GH_BUF_HTTP_REQUEST_LINE];
                uint32_t line_raw = sl.len;
                while (line_raw < m->raw.len && m->raw.p[line_raw] != '\n')
                    line_raw++;
                line_raw = line_raw < m->raw.len ? line_raw + 1 : m->raw.len;
                if (dir == 0)
                    request_headers_done(st, sink, line_raw);
                else
                    response_headers_done(st, sink, line_raw);
            }
            break;
        }
        case S_BODY_CL: {
            size_t k = n - pos < d->left ? n - pos : (size_t)d->left;
            body_data(st, dir, b + pos, k, sink);
            pos += k;
            d->left -= k;
            if (!d->left)
                msg_done(st, dir, sink);
            break;
        }
        case S_CHUNK_LEN: {
            if (!read_line(st, dir, b, n, &pos, false, sink))
                break;
            bool blank = chomp(d->line.p, d->line.len) == 0;
            int64_t v = blank ? 0 : chunk_len(d->line.p, d->line.len);
            d->line.len = 0;
            d->line_cut = false;
            if (blank)
                break; /* libhtp skips empty lines before a chunk size */
            if (v < 0) {
                dead(st, dir, sink,
                     dir ? "INVALID_RESPONSE_CHUNK_LEN" : "INVALID_REQUEST_CHUNK_LEN");
                break;
            }
            if (v == 0) {
                d->st = S_TRAILERS;
                d->fold_pending = false;
            } else {
                d->left = (uint64_t)v;
                d->st = S_CHUNK_DATA;
            }
            break;
        }
        case S_CHUNK_DATA: {
            size_t k = n - pos < d->left ? n - pos : (size_t)d->left;
            body_data(st, dir, b + pos, k, sink);
            pos += k;
            d->left -= k;
            if (!d->left)
                d->st = S_CHUNK_END;
            break;
        }
        case S_CHUNK_END: {
            const uint8_t *lf = memchr(b + pos, '\n', n - pos);
            if (!lf) {
                pos = n;
                break;
            }
            pos = (size_t)(lf - b) + 1;
            d->st = S_CHUNK_LEN;
            break;
        }
        case S_BODY_CLOSE:
            body_data(st, dir, b + pos, n - pos, sink);
            pos = n;
            break;
        default: /* S_IGNORE, S_DEAD, S_CLOSED */
            pos = n;
            break;
        }
    }
    flush_body(st, dir, sink);
}

/* ---- gaps and close ---------------------------------------------------------- */

static void gap(void *state, int dir, uint64_t len, const gh_app_sink *sink)
{
    h1_state *st = state;
    h1_dir *d = &st->d[dir];
    bool in_body = (d->st == S_BODY_CL || d->st == S_CHUNK_DATA) && len <= d->left;
    if (in_body || d->st == S_BODY_CLOSE) {
        /* the body's framing survives; its content (and any inflate stream) does not */
        d->tx->m[dir].body_len += len;
        if (d->st != S_BODY_CLOSE)
            d->left -= len;
        if (d->z_mode != Z_IDLE)
            d->z_mode = Z_STOP;
        if (d->st == S_BODY_CL && !d->left)
            msg_done(st, dir, sink);
        else if (d->st == S_CHUNK_DATA && !d->left)
            d->st = S_CHUNK_END;
        return;
    }
    if (d->st == S_IGNORE || d->st == S_DEAD || d->st == S_CLOSED)
        return;
    dead(st, dir, sink, "UNKNOWN_ERROR");
}

static void close_dir(void *state, int dir, const gh_app_sink *sink)
{
    h1_state *st = state;
    h1_dir *d = &st->d[dir];
    if (d->tx)
        msg_done(st, dir, sink);
    /* every transaction still waiting in this direction ends with it */
    for (uint32_t i = 0; i < st->n;) {
        h1_tx *tx = &st->txs[(st->head + i) % st->cap_tx];
        if (tx->base.progress[dir] == GH_STAGE_DONE) {
            i++;
            continue;
        }
        d->tx = tx;
        uint32_t before = st->n;
        msg_done(st, dir, sink);
        if (st->n == before)
            i++;
        else
            i = 0; /* slots retired: rescan from the (new) oldest */
    }
    d->st = S_CLOSED;
}

/* ---- buffers ------------------------------------------------------------------ */

static bool get_buffer(void *state, gh_app_tx *gtx, gh_buffer_id id, int dir, uint32_t idx,
                       const uint8_t **b, uint32_t *len)
{
    (void)state;
    h1_tx *tx = (h1_tx *)gtx;
    const gh_buffer_info *info = gh_buffer_get_info(id);
    if (idx || id == GH_BUF_PAYLOAD || (info->proto && info->proto != GH_ALPROTO_HTTP1))
        return false;
    int md = gh_bufdir_source(info->dirs, dir);
    const h1_msg *m = &tx->m[md];
    if (id == GH_BUF_HTTP_REQUEST_BODY || id == GH_BUF_HTTP_RESPONSE_BODY ||
        id == GH_BUF_FILE_DATA) {
        if (!m->body.len)
            return false;
        *b = m->body.p;
        *len = m->body.len;
        return true;
    }
    span s = m->bufs[id];
    if (!s.set || tx->base.progress[md] < info->stage)
        return false;
    *b = span_ptr(m, s);
    *len = s.len;
    return true;
}

static uint64_t body_length(void *state, gh_app_tx *gtx, int dir)
{
    (void)state;
    return ((h1_tx *)gtx)->m[dir ? 1 : 0].body_len;
}

/* A field of the event: the buffer as it is (absent: not written). */
static gh_eve_str field(h1_tx *tx, gh_buffer_id id, int dir)
{
    const uint8_t *p;
    uint32_t n;
    if (!get_buffer(NULL, &tx->base, id, dir, 0, &p, &n))
        return (gh_eve_str){NULL, 0};
    return (gh_eve_str){(const char *)p, n};
}

/* Suricata's "http" object: the same for an alert and the event (with the
 * transaction id before it). */
static bool log_tx(void *state, gh_app_tx *gtx, bool alert, uint32_t i, gh_jbuf *b)
{
    if (i)
        return false;
    h1_tx *tx = (h1_tx *)gtx;
    gh_eve_http h = {.tx_id = gtx->id};
    h.hostname = field(tx, GH_BUF_HTTP_HOST, 0);
    h.url = field(tx, GH_BUF_HTTP_URI_RAW, 0);
    h.user_agent = field(tx, GH_BUF_HTTP_USER_AGENT, 0);
    h.content_type = field(tx, GH_BUF_HTTP_CONTENT_TYPE, 1);
    h.referer = field(tx, GH_BUF_HTTP_REFERER, 0);
    h.method = field(tx, GH_BUF_HTTP_METHOD, 0);
    h.protocol = field(tx, GH_BUF_HTTP_PROTOCOL, 0);
    h.redirect = field(tx, GH_BUF_HTTP_LOCATION, 1);
    gh_eve_str sc = field(tx, GH_BUF_HTTP_STAT_CODE, 1);
    for (uint32_t k = 0; k < sc.n && k < 4 && sc.p[k] >= '0' && sc.p[k] <= '9'; k++)
        h.status = h.status * 10 + (uint32_t)(sc.p[k] - '0');
    h.length = body_length(state, gtx, 1);
    if (!alert) {
        GH_JBUF_LIT(b, ",\"tx_id\":");
        gh_jbuf_u64(b, gtx->id);
    }
    gh_eve_fmt_http(b, &h);
    return true;
}

static size_t tx_count(void *state)
{
    return ((h1_state *)state)->n;
}

static gh_app_tx *tx_get(void *state, size_t i)
{
    h1_state *st = state;
    if (i >= st->n)
        return NULL;
    return &st->txs[(st->head + (uint32_t)i) % st->cap_tx].base;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void reset(void *state)
{
    h1_state *st = state;
    st->head = st->n = 0;
    st->next_id = st->resp_id = 0;
    for (int i = 0; i < 2; i++) {
        h1_dir *d = &st->d[i];
        d->st = S_START;
        d->tx = NULL;
        d->line.len = 0;
        d->line_cut = false;
        d->fold.len = 0;
        d->fold_pending = false;
        d->z_mode = Z_IDLE;
        d->body_pending = false;
    }
}

static void state_free(void *state)
{
    h1_state *st = state;
    if (st->txs) {
        for (uint32_t i = 0; i < st->ninit; i++) {
            h1_tx *tx = &st->txs[i];
            gh_app_tx_release(&tx->base);
            for (int k = 0; k < 2; k++) {
                gh_buf_free(&tx->m[k].raw);
                gh_buf_free(&tx->m[k].fld);
                gh_buf_free(&tx->m[k].body);
                free(tx->m[k].hdrs);
            }
        }
    }
    free(st->txs);
    st->txs = NULL;
    for (int i = 0; i < 2; i++) {
        h1_dir *d = &st->d[i];
        gh_buf_free(&d->line);
        gh_buf_free(&d->fold);
        free(d->z);
        d->z = NULL;
    }
    free(st->zbuf);
    st->zbuf = NULL;
}

static int init(void *state, const gh_app_limits *lim)
{
    h1_state *st = state;
    st->lim = *lim;
    if (!st->lim.max_tx || !st->lim.header_limit)
        return GH_E_INVAL;
    st->cap_tx = st->lim.max_tx;
    st->ninit = 0;
    st->txs = malloc((size_t)st->cap_tx * sizeof(*st->txs));
    st->zbuf = malloc(ZBUF_SIZE);
    if (!st->txs || !st->zbuf) {
        state_free(st);
        return GH_E_NOMEM;
    }
    reset(st);
    return 0;
}

const gh_app_ops gh_app_http1_ops = {
    .name = "http",
    .proto = GH_ALPROTO_HTTP1,
    .transports = GH_APP_TCP,
    .probe = probe,
    .state_size = sizeof(h1_state),
    .init = init,
    .reset = reset,
    .parse = parse,
    .gap = gap,
    .close = close_dir,
    .get_buffer = get_buffer,
    .body_length = body_length,
    .log = log_tx,
    .tx_count = tx_count,
    .tx_get = tx_get,
    .free = state_free,
};
