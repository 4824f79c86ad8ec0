/* DNS parser (gh_app_dns_ops), emulating Suricata 7.0's rust/src/dns:
 * one transaction per message (a response is its own transaction, not
 * attached to its request), names assembled as dns_parse_name does (raw
 * label bytes joined by '.', root as "", at most 1025 bytes, 255 labels
 * and pointers), the same messages refused as malformed, the same event
 * names, and EVE "dns" events as its default (version 2, detailed and
 * grouped) logger writes them.
 *
 * UDP: one message per datagram. TCP: messages with a 2-byte length
 * prefix, gathered across segments in a per-direction buffer; a message
 * that fails to parse stops the flow's parsing (Suricata's parser error),
 * a gap drops the partial message and waits for bytes that look like DNS.
 *
 * A transaction keeps a copy of its message and its question names; the
 * answer and authority records are walked again from the copy when the
 * event is written. Buffers grow by doubling and keep their capacity:
 * steady state allocates nothing.
 *
 * Known differences from Suricata: a datagram whose QR bit says it is the
 * other side's is not made to reverse the UDP flow (Suricata swaps the flow
 * on the first datagram of each direction); "grouped" answers are written
 * in order of first appearance (Suricata's order is a hash map's). */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "gatehouse/common.h"

#define HDR_LEN 12
#define NAME_MAX_LEN 1025              /* dnsmasq's, which Suricata took */
#define NAME_BUF (NAME_MAX_LEN + 64 + 1) /* a label past the cap before truncating */
#define NAME_MAX_STEPS 255             /* labels + pointers: Suricata's loop guard */

/* Name flags (Suricata's DNSNameFlags). */
enum { NF_LOOP = 1, NF_TRUNC = 2, NF_LABELS = 4 };

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_SOA = 6, T_NULL = 10, T_PTR = 12, T_MX = 15,
       T_TXT = 16, T_AAAA = 28, T_SRV = 33, T_SSHFP = 44 };

/* ---- transactions and state ------------------------------------------------------ */

typedef struct dns_q {
    uint32_t off;   /* name in dns_tx.names */
    uint16_t len;
    uint16_t type;
    uint8_t flags;  /* NF_* of the name */
} dns_q;

typedef struct dns_tx {
    gh_app_tx base; /* first: the engine's part */
    uint8_t dir;    /* 0: parsed as a request, 1: as a response */
    uint16_t id, flags, an, ns;
    gh_buf msg;       /* the message as received (records are walked from it) */
    gh_buf names;     /* question names, decoded */
    dns_q *qs;
    uint32_t nq, cap_q;
} dns_tx;

typedef struct dns_dir {
    gh_buf buf;       /* TCP: length prefix and message being gathered */
    uint32_t have;
    bool dead;      /* TCP: a message failed to parse */
} dns_dir;

/* One record's data as Suricata decodes it. TXT data gives one item per
 * character-string; other types one. */
typedef struct rdata {
    uint16_t type;
    const uint8_t *b; /* A, AAAA, TXT, NULL, unknown: the bytes; SSHFP: fingerprint */
    uint32_t blen;
    uint8_t name[NAME_BUF]; /* CNAME, NS, PTR, MX target, SOA mname, SRV target */
    uint32_t nlen;
    uint8_t nflags;
    uint8_t name2[NAME_BUF]; /* SOA rname */
    uint32_t n2len;
    uint8_t n2flags;
    uint32_t v[5];     /* SOA serial..minimum; SRV priority, weight, port; SSHFP algo, type */
} rdata;

typedef struct dns_state {
    dns_tx *txs;    /* ring of max_tx slots, the oldest reused when full */
    uint32_t cap_tx, head, n;
    uint32_t ninit; /* slots zeroed so far (gh_app_ring_slot) */
    uint64_t next_id;
    bool gap;       /* TCP: a hole; resume at bytes that look like DNS (one flag, as Suricata) */
    dns_dir d[2];
    uint8_t name[NAME_BUF]; /* scratch for names */
    rdata rd;       /* scratch for a record's data */
} dns_state;

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- names ----------------------------------------------------------------------- */

/* parse_name results: nom's Ok, Error and Incomplete */
enum { PN_OK = 0, PN_ERR = -1, PN_INC = -2 };

/* A name at @p pos of message @p m (@p mlen bytes) inside a slice ending at
 * @p end (the message, or a record's data), as Suricata's dns_parse_name:
 * writes the dotted name to @p out, its flags to @p nf (or-ed in) and where
 * the record continues to @p next. */
static int parse_name(const uint8_t *m, uint32_t mlen, uint32_t pos, uint32_t end, uint8_t *out,
                      uint32_t *olen, uint8_t *nf, uint32_t *next)
{
    uint32_t n = 0, steps = 0, pivot = 0;
    bool followed = false;
    uint8_t flags = 0;
    for (;;) {
        if (pos >= end)
            break;
        uint8_t c = m[pos];
        if (c == 0) {
            pos++;
            break;
        }
        if ((c & 0xc0) == 0) {
            if (end - pos - 1 < c)
                return PN_INC; /* label runs past its slice */
            if (!(flags & NF_TRUNC)) {
                if (n)
                    out[n++] = '.';
                memcpy(out + n, m + pos + 1, c);
                n += c;
            }
            pos += 1u + c;
        } else if ((c & 0xc0) == 0xc0) {
            if (end - pos < 2)
                return PN_INC;
            uint32_t off = (uint32_t)((c & 0x3f) << 8 | m[pos + 1]);
            if (off > mlen)
                return PN_ERR;
            /* Suricata compares the rest of the message at the target with
             * the rest of the slice by content: equal means a pointer to itself */
            if (mlen - off == end - pos && !memcmp(m + off, m + pos, end - pos)) {
                flags |= NF_LOOP;
                if (!followed)
                    return PN_ERR;
                break;
            }
            if (!followed) {
                followed = true;
                pivot = pos + 2;
            }
            pos = off;
            end = mlen;
        } else {
            return PN_ERR; /* 0x40 and 0x80 label types */
        }
        if (++steps > NAME_MAX_STEPS) {
            /* past a pointer the record's end is known: keep what we have */
            if (!followed)
                return PN_ERR;
            flags |= NF_LABELS | NF_TRUNC;
            break;
        }
        if (n > NAME_MAX_LEN) {
            n = NAME_MAX_LEN;
            flags |= NF_TRUNC;
            if (followed)
                break;
        }
    }
    *olen = n;
    *nf |= flags;
    *next = followed ? pivot : pos;
    return PN_OK;
}

/* ---- records --------------------------------------------------------------------- */

/* The next item of a record's data, at *@p off before @p end, into @p r
 * (item @p k: TXT has one per character-string, the other types one);
 * false when there is none or it is malformed. @p parse_flags collects the
 * names' flags. As Suricata's nom parsers, an item must consume a byte
 * (many_m_n refuses an empty parse). */
static bool rdata_next(const uint8_t *m, uint32_t mlen, uint32_t *off, uint32_t end, uint32_t k,
                       rdata *r, uint8_t *parse_flags)
{
    uint32_t p = *off, next;
    r->nflags = r->n2flags = 0;
    if (k && r->type != T_TXT)
        return false;
    switch (r->type) {
    case T_TXT:
        if (p >= end || end - p - 1 < m[p])
            return false;
        r->b = m + p + 1;
        r->blen = m[p];
        *off = p + 1u + m[p];
        return true;
    case T_CNAME:
    case T_NS:
    case T_PTR:
    case T_MX:
        if (r->type == T_MX) {
            if (end - p < 2)
                return false;
            p += 2;
        }
        if (parse_name(m, mlen, p, end, r->name, &r->nlen, &r->nflags, &next))
            return false;
        *parse_flags |= r->nflags;
        return next > *off;
    case T_SOA:
        if (parse_name(m, mlen, p, end, r->name, &r->nlen, &r->nflags, &next) ||
            parse_name(m, mlen, next, end, r->name2, &r->n2len, &r->n2flags, &next) ||
            end - next < 20)
            return false;
        *parse_flags |= r->nflags | r->n2flags;
        for (int i = 0; i < 5; i++)
            r->v[i] = be32(m + next + 4 * i);
        return true;
    case T_SRV:
        if (end - p < 6)
            return false;
        for (int i = 0; i < 3; i++)
            r->v[i] = be16(m + p + 2 * i);
        if (parse_name(m, mlen, p + 6, end, r->name, &r->nlen, &r->nflags, &next))
            return false;
        *parse_flags |= r->nflags;
        return true;
    case T_SSHFP:
        if (end - p < 2)
            return false;
        r->v[0] = m[p];
        r->v[1] = m[p + 1];
        r->b = m + p + 2;
        r->blen = end - p - 2;
        return true;
    default: /* A, AAAA, NULL and the rest: the bytes as they are */
        if (p == end)
            return false;
        r->b = m + p;
        r->blen = end - p;
        return true;
    }
}

/* A resource record's fixed part. */
typedef struct rr {
    uint32_t name_len;
    uint8_t name_flags;
    uint16_t type;
    uint32_t ttl;
    uint32_t data, data_end; /* offsets in the message */
} rr;

/* The record at *@p pos into @p r (name in @p name); advances *@p pos. */
static bool rr_parse(const uint8_t *m, uint32_t mlen, uint32_t *pos, rr *r, uint8_t *name,
                     uint8_t *parse_flags)
{
    uint32_t p;
    r->name_flags = 0;
    if (parse_name(m, mlen, *pos, mlen, name, &r->name_len, &r->name_flags, &p))
        return false;
    *parse_flags |= r->name_flags;
    if (mlen - p < 10 || mlen - p - 10 < be16(m + p + 8))
        return false;
    r->type = be16(m + p);
    r->ttl = be32(m + p + 4);
    r->data = p + 10;
    r->data_end = r->data + be16(m + p + 8);
    *pos = r->data_end;
    return true;
}

/* ---- messages -------------------------------------------------------------------- */

/* Suricata's header sanity: every record announced takes at least 2 bytes. */
static bool header_valid(const uint8_t *b, uint32_t n)
{
    if (n < HDR_LEN)
        return false;
    uint64_t min = HDR_LEN + 2ull * ((uint64_t)be16(b + 4) + be16(b + 6) + be16(b + 8) +
                                     be16(b + 10));
    return min <= n;
}

/* Walk the questions (into @p tx when not NULL) and, with @p records, the
 * answer and authority sections, checking every record's data. False:
 * malformed. */
static bool walk(dns_state *st, const uint8_t *m, uint32_t mlen, bool records, dns_tx *tx,
                 uint8_t *parse_flags)
{
    uint32_t pos = HDR_LEN;
    uint16_t qd = be16(m + 4);
    for (uint32_t i = 0; i < qd; i++) {
        uint32_t nlen, next;
        uint8_t nf = 0;
        if (parse_name(m, mlen, pos, mlen, st->name, &nlen, &nf, &next) || mlen - next < 4)
            return false;
        *parse_flags |= nf;
        if (tx) {
            if (tx->nq == tx->cap_q) {
                uint32_t cap = tx->cap_q ? tx->cap_q * 2 : 4;
                dns_q *q = realloc(tx->qs, cap * sizeof(*q));
                if (!q)
                    return false;
                tx->qs = q;
                tx->cap_q = cap;
            }
            if (gh_buf_reserve(&tx->names, (size_t)tx->names.len + nlen))
                return false;
            if (nlen) /* the root: names may not be allocated yet */
                memcpy(tx->names.p + tx->names.len, st->name, nlen);
            tx->qs[tx->nq++] = (dns_q){.off = tx->names.len, .len = (uint16_t)nlen,
                                       .type = be16(m + next), .flags = nf};
            tx->names.len += nlen;
        }
        pos = next + 4;
    }
    if (!records)
        return true;
    uint32_t nrr = (uint32_t)be16(m + 6) + be16(m + 8);
    for (uint32_t i = 0; i < nrr; i++) {
        rr r;
        if (!rr_parse(m, mlen, &pos, &r, st->name, parse_flags))
            return false;
        /* the first item decides (a TXT string cut short after it ends the list) */
        uint32_t off = r.data;
        st->rd.type = r.type;
        if (!rdata_next(m, mlen, &off, r.data_end, 0, &st->rd, parse_flags))
            return false;
    }
    return true;
}

static void anomaly(const gh_app_sink *sink, dns_tx *tx, int dir, const char *name)
{
    if (sink->on_anomaly)
        sink->on_anomaly(sink->ctx, tx ? &tx->base : NULL, dir, name);
}

/* The transaction events without one of their own attach to (Suricata's
 * set_event: the most recent), NULL when there is none. */
static dns_tx *tx_last(dns_state *st)
{
    return st->n ? &st->txs[(st->head + st->n - 1) % st->cap_tx] : NULL;
}

/* A slot for a new transaction: the oldest is reused once the ring is full
 * (every DNS transaction is complete when it is made). */
static dns_tx *tx_new(dns_state *st, int dir)
{
    if (st->n == st->cap_tx) {
        st->head = (st->head + 1) % st->cap_tx;
        st->n--;
    }
    dns_tx *tx = gh_app_ring_slot(st->txs, sizeof(*st->txs), (st->head + st->n) % st->cap_tx,
                                  &st->ninit);
    st->n++;
    gh_app_tx_start(&tx->base, st->next_id++);
    tx->dir = (uint8_t)dir;
    tx->msg.len = tx->names.len = 0;
    tx->nq = 0;
    return tx;
}

/* One message of direction @p dir (Suricata's parse_request/parse_response).
 * False when a TCP stream cannot go on. */
static bool message(dns_state *st, int dir, const uint8_t *b, uint32_t n, bool tcp,
                    const gh_app_sink *sink)
{
    if (!header_valid(b, n))
        return !tcp;
    uint8_t pf = 0;
    if (!walk(st, b, n, dir == 1, NULL, &pf)) {
        anomaly(sink, tx_last(st), dir, "malformed_data");
        return false;
    }
    uint16_t flags = be16(b + 2);
    bool qr = flags & 0x8000;
    if (dir == 0 && qr) {
        anomaly(sink, tx_last(st), dir, "not_request");
        return false;
    }
    if (dir == 1 && !qr)
        anomaly(sink, tx_last(st), dir, "not_response");
    dns_tx *tx = tx_new(st, dir);
    if (gh_buf_reserve(&tx->msg, n) || !walk(st, b, n, false, tx, &pf)) {
        tx->nq = 0; /* out of memory: the message without its questions */
    } else {
        memcpy(tx->msg.p, b, n);
        tx->msg.len = n;
    }
    tx->id = be16(b);
    tx->flags = flags;
    tx->an = be16(b + 6);
    tx->ns = be16(b + 8);
    if (flags & 0x0040)
        anomaly(sink, tx, dir, "z_flag_set");
    if (((flags >> 11) & 0xf) >= 7)
        anomaly(sink, tx, dir, "invalid_opcode");
    if (pf & NF_TRUNC)
        anomaly(sink, tx, dir, "name_too_long");
    if (pf & NF_LOOP)
        anomaly(sink, tx, dir, "infinite_loop");
    if (pf & NF_LABELS)
        anomaly(sink, tx, dir, "too_many_labels");
    /* a message is the whole transaction: both directions complete */
    tx->base.progress[0] = tx->base.progress[1] = GH_STAGE_DONE;
    if (sink->on_progress)
        sink->on_progress(sink->ctx, &tx->base, dir, GH_STAGE_DONE);
    return true;
}

/* ---- probing --------------------------------------------------------------------- */

/* Suricata's probe(): does a message of @p dlen bytes, of which the first
 * @p n are here, look like DNS? Sets @p is_request from the QR bit. */
static bool probe_msg(const uint8_t *b, size_t n, size_t dlen, bool *is_request)
{
    if (n > dlen)
        n = dlen;
    if (n < HDR_LEN)
        return false;
    *is_request = !(b[2] & 0x80);
    if (n == dlen) {
        /* whole: a question name that is no name says no; one cut short
         * leaves the header to decide */
        uint32_t pos = HDR_LEN, nlen, next;
        uint8_t nf = 0, name[NAME_BUF];
        for (uint32_t i = 0, qd = be16(b + 4); i < qd; i++, pos = next + 4) {
            int rc = parse_name(b, (uint32_t)n, pos, (uint32_t)n, name, &nlen, &nf, &next);
            if (rc == PN_ERR)
                return false;
            if (rc == PN_INC || n - next < 4)
                break;
        }
    }
    return header_valid(b, dlen);
}

/* Suricata registers DNS probing on destination port 53 only (both
 * transports, detection-ports dp: 53). TCP: a query must come from the
 * client; a response there is the other side's (detection reverses the
 * session). UDP: either, as the first datagram decides. */
static int probe(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc)
{
    bool req;
    if (pc->server_port != 53)
        return GH_PROBE_NO;
    if (pc->transport == GH_APP_UDP)
        return probe_msg(b, n, n, &req) ? GH_PROBE_YES : GH_PROBE_NO;
    if (n < 2 + HDR_LEN)
        return GH_PROBE_MORE;
    if (!probe_msg(b + 2, n - 2, be16(b), &req))
        return GH_PROBE_NO;
    return req == (dir == 0) ? GH_PROBE_YES : GH_PROBE_NO;
}

/* After a gap: do these bytes look like the start of a message (Suricata's
 * probe_tcp, whose "incomplete" also resumes)? */
static bool resync(const uint8_t *b, size_t n)
{
    if (n < 2)
        return true;
    size_t dlen = be16(b);
    if (n - 2 >= dlen && dlen < HDR_LEN)
        return true;
    bool req;
    return probe_msg(b + 2, n - 2, dlen, &req);
}

/* ---- parsing --------------------------------------------------------------------- */

static void datagram(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink)
{
    if (n <= UINT16_MAX)
        message(state, dir, b, (uint32_t)n, false, sink);
}

static void parse(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink)
{
    dns_state *st = state;
    dns_dir *d = &st->d[dir];
    if (d->dead || !n)
        return;
    if (st->gap) {
        if (resync(b, n))
            st->gap = false;
        else if (dir == 1)
            return; /* Suricata's response side drops them; its request side parses anyway */
    }
    while (n) {
        uint32_t need = d->have < 2 ? 2 : 2u + be16(d->buf.p);
        if (need == 2 && d->have == 2) {
            d->have = 0; /* an empty message: Suricata skips its prefix */
            continue;
        }
        if (gh_buf_reserve(&d->buf, need)) {
            d->dead = true;
            return;
        }
        size_t k = need - d->have < n ? need - d->have : n;
        memcpy(d->buf.p + d->have, b, k);
        d->have += (uint32_t)k;
        b += k;
        n -= k;
        if (d->have < need || need == 2)
            continue;
        d->have = 0;
        if (!message(st, dir, d->buf.p + 2, need - 2, true, sink)) {
            /* Suricata's parser error ends the application layer of the flow */
            st->d[0].dead = st->d[1].dead = true;
            gh_app_exception(sink, dir, GH_APP_EXC_ERROR);
            return;
        }
    }
}

static void gap(void *state, int dir, uint64_t len, const gh_app_sink *sink)
{
    (void)sink;
    dns_state *st = state;
    if (!len)
        return;
    st->d[dir].have = 0; /* the partial message before the hole is lost */
    st->gap = true;
}

static void close_dir(void *state, int dir, const gh_app_sink *sink)
{
    (void)sink;
    dns_state *st = state;
    st->d[dir].have = 0; /* every message made a complete transaction already */
}

/* ---- buffers and fields ---------------------------------------------------------- */

/* dns.query: the request's question names, to_server only (Suricata's
 * rs_dns_tx_get_query_name): a root name ("") ends the list. */
static bool get_buffer(void *state, gh_app_tx *gtx, gh_buffer_id id, int dir, uint32_t idx,
                       const uint8_t **b, uint32_t *len)
{
    (void)state;
    dns_tx *tx = (dns_tx *)gtx;
    if (id != GH_BUF_DNS_QUERY || dir != 0 || tx->dir != 0 || idx >= tx->nq ||
        !tx->qs[idx].len)
        return false;
    *b = tx->names.p + tx->qs[idx].off;
    *len = tx->qs[idx].len;
    return true;
}

/* dns.opcode: the message's (Suricata 7 reads the request's flags to the
 * server, the response's to the client); dns.rrtype (Suricata 8): each
 * question's type. A transaction has one direction. */
static bool get_field(void *state, gh_app_tx *gtx, gh_field_id id, int dir, uint32_t idx,
                      uint64_t *v)
{
    (void)state;
    dns_tx *tx = (dns_tx *)gtx;
    if (dir != tx->dir)
        return false;
    if (id == GH_FIELD_DNS_OPCODE && !idx) {
        *v = (tx->flags >> 11) & 0xf;
        return true;
    }
    if (id == GH_FIELD_DNS_RRTYPE && idx < tx->nq) {
        *v = tx->qs[idx].type;
        return true;
    }
    return false;
}

/* ---- events ---------------------------------------------------------------------- */

/* Suricata's rrtype names (rust/src/dns/log.rs dns_rrtype_string, its
 * misspellings included); NULL: printed as a number. The named types are
 * also the ones its alert metadata logs. */
static const char *rrtype_name(uint16_t t)
{
    static const char *const low[] = {
        [1] = "A", [2] = "NS", [3] = "ND", [4] = "MF", [5] = "CNAME", [6] = "SOA", [7] = "MB",
        [8] = "MG", [9] = "MR", [10] = "NULL", [11] = "WKS", [12] = "PTR", [13] = "HINFO",
        [14] = "MINFO", [15] = "MX", [16] = "TXT", [17] = "RP", [18] = "AFSDB", [19] = "X25",
        [20] = "ISDN", [21] = "RT", [22] = "NSAP", [23] = "NSAPPT", [24] = "SIG", [25] = "KEY",
        [26] = "PX", [27] = "GPOS", [28] = "AAAA", [29] = "LOC", [30] = "NXT", [33] = "SRV",
        [34] = "ATMA", [35] = "NAPTR", [36] = "KX", [37] = "CERT", [38] = "A6", [39] = "DNAME",
        [41] = "OPT", [42] = "APL", [43] = "DS", [44] = "SSHFP", [45] = "IPSECKEY",
        [46] = "RRSIG", [47] = "NSEC", [48] = "DNSKEY", [49] = "DHCID", [50] = "NSEC3",
        [51] = "NSEC3PARAM", [52] = "TLSA", [55] = "HIP", [59] = "CDS", [60] = "CDSNKEY",
        [65] = "HTTPS", [99] = "SPF"};
    if (t < sizeof(low) / sizeof(low[0]))
        return low[t];
    switch (t) {
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 254: return "MAILA";
    case 255: return "ANY";
    case 256: return "URI";
    default: return NULL;
    }
}

static void put_rrtype(gh_jbuf *b, uint16_t t)
{
    const char *s = rrtype_name(t);
    if (s) {
        gh_jbuf_quoted(b, s);
    } else {
        GH_JBUF_LIT(b, "\"");
        gh_jbuf_u64(b, t);
        GH_JBUF_LIT(b, "\"");
    }
}

static const char *rcode_name(unsigned rc)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                        "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                        "NOTZONE"};
    return rc < sizeof(names) / sizeof(names[0]) ? names[rc] : NULL;
}

/* Suricata's dns_print_addr: 4 bytes dotted, 16 as eight hex groups, else "". */
static void put_addr(gh_jbuf *b, const uint8_t *p, uint32_t n)
{
    if (n == 4) {
        gh_jbuf_ip(b, p, 4);
    } else if (n == 16) {
        gh_jbuf_append(b, "\"", 1);
        for (int i = 0; i < 16; i += 2) {
            if (i)
                gh_jbuf_append(b, ":", 1);
            gh_jbuf_hex(b, (unsigned)p[i] << 8 | p[i + 1], 4);
        }
        gh_jbuf_append(b, "\"", 1);
    } else {
        gh_jbuf_append(b, "\"\"", 2);
    }
}

static void put_soa(gh_jbuf *b, const rdata *r)
{
    gh_jbuf_append(b, "{\"mname\":", 9);
    gh_jbuf_json_jb(b, r->name, r->nlen);
    if (r->nflags & NF_TRUNC)
        GH_JBUF_LIT(b, ",\"mname_truncated\":true");
    GH_JBUF_LIT(b, ",\"rname\":");
    gh_jbuf_json_jb(b, r->name2, r->n2len);
    if (r->n2flags & NF_TRUNC)
        GH_JBUF_LIT(b, ",\"rname_truncated\":true");
    static const char *const keys[] = {"serial", "refresh", "retry", "expire", "minimum"};
    for (int i = 0; i < 5; i++) {
        gh_jbuf_key(b, true, keys[i]);
        gh_jbuf_u64(b, r->v[i]);
    }
    GH_JBUF_LIT(b, "}");
}

static void put_sshfp(gh_jbuf *b, const rdata *r)
{
    gh_jbuf_append(b, "{\"fingerprint\":\"", 16);
    for (uint32_t i = 0; i < r->blen; i++) {
        if (i)
            GH_JBUF_LIT(b, ":");
        gh_jbuf_hex(b, r->b[i], 2);
    }
    GH_JBUF_LIT(b, "\",\"algo\":");
    gh_jbuf_u64(b, r->v[0]);
    GH_JBUF_LIT(b, ",\"type\":");
    gh_jbuf_u64(b, r->v[1]);
    GH_JBUF_LIT(b, "}");
}

static void put_srv(gh_jbuf *b, const rdata *r)
{
    GH_JBUF_LIT(b, "{\"priority\":");
    gh_jbuf_u64(b, r->v[0]);
    GH_JBUF_LIT(b, ",\"weight\":");
    gh_jbuf_u64(b, r->v[1]);
    GH_JBUF_LIT(b, ",\"port\":");
    gh_jbuf_u64(b, r->v[2]);
    GH_JBUF_LIT(b, ",\"name\":");
    gh_jbuf_json_jb(b, r->name, r->nlen);
    gh_jbuf_append(b, "}", 1);
}

/* The value "grouped" lists for an item of a groupable type. */
static void put_grouped_value(gh_jbuf *b, const rdata *r)
{
    switch (r->type) {
    case T_A:
    case T_AAAA: put_addr(b, r->b, r->blen); break;
    case T_CNAME:
    case T_MX:
    case T_NS:
    case T_PTR: gh_jbuf_json_jb(b, r->name, r->nlen); break;
    case T_TXT:
    case T_NULL: gh_jbuf_json_jb(b, r->b, r->blen); break;
    case T_SOA: put_soa(b, r); break;
    case T_SSHFP: put_sshfp(b, r); break;
    default: put_srv(b, r); break;
    }
}

/* One answer or authority item in detail (dns_log_json_answer_detail). */
static void put_detail(gh_jbuf *b, const uint8_t *name, const rr *h, const rdata *r)
{
    gh_jbuf_append(b, "{\"rrname\":", 10);
    gh_jbuf_json_jb(b, name, h->name_len);
    if (h->name_flags & NF_TRUNC)
        GH_JBUF_LIT(b, ",\"rrname_truncated\":true");
    GH_JBUF_LIT(b, ",\"rrtype\":");
    put_rrtype(b, h->type);
    GH_JBUF_LIT(b, ",\"ttl\":");
    gh_jbuf_u64(b, h->ttl);
    switch (r->type) {
    case T_A:
    case T_AAAA:
        GH_JBUF_LIT(b, ",\"rdata\":");
        put_addr(b, r->b, r->blen);
        break;
    case T_CNAME:
    case T_MX:
    case T_NS:
    case T_PTR:
        GH_JBUF_LIT(b, ",\"rdata\":");
        gh_jbuf_json_jb(b, r->name, r->nlen);
        if (r->nflags & NF_TRUNC)
            GH_JBUF_LIT(b, ",\"rdata_truncated\":true");
        break;
    case T_TXT:
    case T_NULL:
        GH_JBUF_LIT(b, ",\"rdata\":");
        gh_jbuf_json_jb(b, r->b, r->blen);
        break;
    case T_SOA:
        GH_JBUF_LIT(b, ",\"soa\":");
        put_soa(b, r);
        break;
    case T_SSHFP:
        GH_JBUF_LIT(b, ",\"sshfp\":");
        put_sshfp(b, r);
        break;
    case T_SRV:
        GH_JBUF_LIT(b, ",\"srv\":");
        put_srv(b, r);
        break;
    default:
        break;
    }
    gh_jbuf_append(b, "}", 1);
}

/* Call @p fn for every item of section @p sec (0: answers, 1: authorities)
 * of the transaction's message, already known to parse. */
typedef void (*item_fn)(void *ctx, const uint8_t *name, const rr *h, const rdata *r);

static void each_item(dns_state *st, const dns_tx *tx, int sec, item_fn fn, void *ctx)
{
    const uint8_t *m = tx->msg.p;
    uint32_t mlen = tx->msg.len, pos = HDR_LEN, nlen, next;
    uint8_t nf = 0;
    for (uint32_t i = 0; i < be16(m + 4); i++, pos = next + 4)
        parse_name(m, mlen, pos, mlen, st->name, &nlen, &nf, &next);
    uint32_t skip = sec ? tx->an : 0, count = sec ? tx->ns : tx->an;
    for (uint32_t i = 0; i < skip + count; i++) {
        rr h;
        if (!rr_parse(m, mlen, &pos, &h, st->name, &nf) || i < skip)
            continue;
        uint32_t off = h.data;
        st->rd.type = h.type;
        for (uint32_t k = 0; rdata_next(m, mlen, &off, h.data_end, k, &st->rd, &nf); k++)
            fn(ctx, st->name, &h, &st->rd);
    }
}

typedef struct list_ctx {
    gh_jbuf *b;
    bool first;
    int32_t type;  /* grouped: the type being listed */
} list_ctx;

static void detail_item(void *ctx, const uint8_t *name, const rr *h, const rdata *r)
{
    list_ctx *c = ctx;
    if (!c->first)
        gh_jbuf_append(c->b, ",", 1);
    c->first = false;
    put_detail(c->b, name, h, r);
}

/* The types "grouped" lists, in order of first appearance (Suricata's
 * order is its hash map's); beyond MAX_GROUPS distinct types the rest are
 * left out. */
#define MAX_GROUPS 64
typedef struct types_ctx {
    uint16_t t[MAX_GROUPS];
    uint32_t n;
} types_ctx;

static void type_item(void *ctx, const uint8_t *name, const rr *h, const rdata *r)
{
    (void)name;
    (void)h;
    types_ctx *c = ctx;
    static const uint16_t groupable[] = {T_A, T_AAAA, T_CNAME, T_MX, T_NS, T_PTR,
                                         T_TXT, T_NULL, T_SOA, T_SSHFP, T_SRV};
    bool g = false;
    for (size_t i = 0; i < sizeof(groupable) / sizeof(groupable[0]); i++)
        g |= r->type == groupable[i];
    for (uint32_t i = 0; g && i < c->n; i++)
        g = c->t[i] != r->type;
    if (g && c->n < MAX_GROUPS)
        c->t[c->n++] = r->type;
}

static void group_item(void *ctx, const uint8_t *name, const rr *h, const rdata *r)
{
    (void)name;
    (void)h;
    list_ctx *c = ctx;
    if (r->type != c->type)
        return;
    if (!c->first)
        gh_jbuf_append(c->b, ",", 1);
    c->first = false;
    put_grouped_value(c->b, r);
}

/* The "answer" object's members (dns_log_json_answer), with @p full the
 * answers themselves (detailed and grouped) as the dns event has them. */
static void put_answer(dns_state *st, dns_tx *tx, bool full, gh_jbuf *b)
{
    uint16_t f = tx->flags;
    GH_JBUF_LIT(b, "\"version\":2,\"type\":\"answer\",\"id\":");
    gh_jbuf_u64(b, tx->id);
    GH_JBUF_LIT(b, ",\"flags\":\"");
    gh_jbuf_hex(b, f, 1);
    GH_JBUF_LIT(b, "\"");
    static const struct { uint16_t bit; const char *name; } bits[] = {
        {0x8000, "qr"}, {0x0400, "aa"}, {0x0200, "tc"}, {0x0100, "rd"}, {0x0080, "ra"},
        {0x0040, "z"}};
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (f & bits[i].bit) {
            gh_jbuf_key(b, true, bits[i].name);
            GH_JBUF_LIT(b, "true");
        }
    GH_JBUF_LIT(b, ",\"opcode\":");
    gh_jbuf_u64(b, (f >> 11) & 0xf);
    if (tx->nq) {
        GH_JBUF_LIT(b, ",\"rrname\":");
        gh_jbuf_json_jb(b, gh_buf_at(&tx->names, tx->qs[0].off), tx->qs[0].len);
        if (tx->qs[0].flags & NF_TRUNC)
            GH_JBUF_LIT(b, ",\"rrname_truncated\":true");
        GH_JBUF_LIT(b, ",\"rrtype\":");
        put_rrtype(b, tx->qs[0].type);
    }
    const char *rc = rcode_name(f & 0xf);
    GH_JBUF_LIT(b, ",\"rcode\":");
    if (rc) {
        gh_jbuf_quoted(b, rc);
    } else {
        GH_JBUF_LIT(b, "\"");
        gh_jbuf_u64(b, f & 0xf);
        GH_JBUF_LIT(b, "\"");
    }
    list_ctx c = {.b = b, .first = true, .type = -1};
    if (full && tx->an) { /* every record has an item: the message parsed */
        GH_JBUF_LIT(b, ",\"answers\":[");
        each_item(st, tx, 0, detail_item, &c);
        types_ctx t = {.n = 0};
        each_item(st, tx, 0, type_item, &t);
        GH_JBUF_LIT(b, "],\"grouped\":{");
        for (uint32_t i = 0; i < t.n; i++) {
            gh_jbuf_key(b, i > 0, rrtype_name(t.t[i]));
            GH_JBUF_LIT(b, "[");
            c = (list_ctx){.b = b, .first = true, .type = t.t[i]};
            each_item(st, tx, 0, group_item, &c);
            gh_jbuf_append(b, "]", 1);
        }
        gh_jbuf_append(b, "}", 1);
    }
    if (tx->ns) {
        c = (list_ctx){.b = b, .first = true, .type = -1};
        GH_JBUF_LIT(b, ",\"authorities\":[");
        each_item(st, tx, 1, detail_item, &c);
        gh_jbuf_append(b, "]", 1);
    }
}

/* Question @p i as a "query" object's members (dns_log_query). */
static void put_query(dns_tx *tx, uint32_t i, gh_jbuf *b)
{
    const dns_q *q = &tx->qs[i];
    GH_JBUF_LIT(b, "\"type\":\"query\",\"id\":");
    gh_jbuf_u64(b, tx->id);
    GH_JBUF_LIT(b, ",\"rrname\":");
    gh_jbuf_json_jb(b, gh_buf_at(&tx->names, q->off), q->len);
    if (q->flags & NF_TRUNC)
        GH_JBUF_LIT(b, ",\"rrname_truncated\":true");
    GH_JBUF_LIT(b, ",\"rrtype\":");
    put_rrtype(b, q->type);
    GH_JBUF_LIT(b, ",\"tx_id\":");
    gh_jbuf_u64(b, tx->base.id);
    if (tx->flags & 0x0040)
        GH_JBUF_LIT(b, ",\"z\":true");
    GH_JBUF_LIT(b, ",\"opcode\":");
    gh_jbuf_u64(b, (tx->flags >> 11) & 0xf);
}

/* Events: a request logs one "query" event per question, a response one
 * "answer" event when it has a question (Suricata's default logger, every
 * type). An alert carries "query" (the questions up to the first of a type
 * Suricata has no name for) or "answer" (without the answers: its alert
 * logger asks for neither format). */
static bool log_tx(void *state, gh_app_tx *gtx, bool alert, uint32_t i, gh_jbuf *b)
{
    dns_state *st = state;
    dns_tx *tx = (dns_tx *)gtx;
    if (alert) {
        if (i)
            return false;
        GH_JBUF_LIT(b, ",\"dns\":{\"version\":2");
        uint32_t n = 0;
        while (tx->dir == 0 && n < tx->nq && rrtype_name(tx->qs[n].type))
            n++;
        for (uint32_t k = 0; k < n; k++) {
            if (k)
                GH_JBUF_LIT(b, ",{");
            else
                GH_JBUF_LIT(b, ",\"query\":[{");
            put_query(tx, k, b);
            gh_jbuf_append(b, k + 1 == n ? "}]" : "}", k + 1 == n ? 2 : 1);
        }
        bool named = false;
        for (uint32_t k = 0; tx->dir == 1 && k < tx->nq; k++)
            named |= rrtype_name(tx->qs[k].type) != NULL;
        if (named) {
            GH_JBUF_LIT(b, ",\"answer\":{");
            put_answer(st, tx, false, b);
            gh_jbuf_append(b, "}", 1);
        }
        gh_jbuf_append(b, "}", 1);
        return true;
    }
    if (tx->dir == 0) {
        if (i >= tx->nq)
            return false;
        GH_JBUF_LIT(b, ",\"dns\":{\"version\":2,");
        put_query(tx, i, b);
    } else {
        if (i || !tx->nq)
            return false;
        GH_JBUF_LIT(b, ",\"dns\":{");
        put_answer(st, tx, true, b);
    }
    gh_jbuf_append(b, "}", 1);
    return true;
}

static size_t tx_count(void *state)
{
    return ((dns_state *)state)->n;
}

static gh_app_tx *tx_get(void *state, size_t i)
{
    dns_state *st = state;
    return i < st->n ? &st->txs[(st->head + (uint32_t)i) % st->cap_tx].base : NULL;
}

/* ---- lifecycle ------------------------------------------------------------------- */

static void reset(void *state)
{
    dns_state *st = state;
    st->head = st->n = 0;
    st->next_id = 0;
    st->gap = false;
    for (int i = 0; i < 2; i++) {
        st->d[i].have = 0;
        st->d[i].dead = false;
    }
}

static void state_free(void *state)
{
    dns_state *st = state;
    for (uint32_t i = 0; st->txs && i < st->ninit; i++) {
        dns_tx *tx = &st->txs[i];
        gh_app_tx_release(&tx->base);
        free(tx->msg.p);
        free(tx->names.p);
        free(tx->qs);
    }
    free(st->txs);
    st->txs = NULL;
    for (int i = 0; i < 2; i++) {
        free(st->d[i].buf.p);
        st->d[i].buf = (gh_buf){0};
    }
}

static int init(void *state, const gh_app_limits *lim)
{
    dns_state *st = state;
    if (!lim->max_tx)
        return GH_E_INVAL;
    st->cap_tx = lim->max_tx;
    st->ninit = 0;
    st->txs = malloc((size_t)st->cap_tx * sizeof(*st->txs));
    if (!st->txs)
        return GH_E_NOMEM;
    reset(st);
    return 0;
}

const gh_app_ops gh_app_dns_ops = {
    .name = "dns",
    .proto = GH_ALPROTO_DNS,
    .transports = GH_APP_TCP | GH_APP_UDP,
    .probe = probe,
    .state_size = sizeof(dns_state),
    .init = init,
    .reset = reset,
    .parse = parse,
    .datagram = datagram,
    .gap = gap,
    .close = close_dir,
    .get_buffer = get_buffer,
    .get_field = get_field,
    .log = log_tx,
    /* Suricata's dns logger writes every event client to server (LOG_DIR_FLOW) */
    .log_packet_dir = false,
    .tx_count = tx_count,
    .tx_get = tx_get,
    .free = state_free,
};
