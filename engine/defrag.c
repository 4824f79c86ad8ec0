/* Fragment reassembly: see include/gatehouse/defrag.h for the semantics.
 *
 * Memory. Three pools sized at creation: datagram trackers, data chunks
 * and hash buckets, plus one output buffer of the largest IP packet.
 * A tracker maps its datagram's 64 KiB offset space onto chunks directly
 * (chunk[offset / 512]), so a fragment's bytes land with no search. Each
 * chunk carries a 64-bit map of which of its 8-byte blocks are held:
 * every fragment but the last starts and ends on an 8-byte boundary, and
 * the last one fixes the end, so an 8-byte block is the unit of "held"
 * (the one partial block at the end can only come from a last fragment
 * with that same end). The first fragment's IP header (for IPv6 the
 * unfragmentable part) is kept in one more chunk.
 *
 * Trackers sit on a FIFO list in creation order: the head is both the
 * oldest (the one evicted when a pool is empty) and the first to time out,
 * so expiry walks only what it drops. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gatehouse/defrag.h"

#define NS_PER_S ((uint64_t)1000000000)
#define IP_MAX 65535u
#define CHUNK GH_DEFRAG_CHUNK_SIZE
#define BLOCKS_PER_CHUNK (CHUNK / 8)
#define MAX_CHUNKS ((IP_MAX + CHUNK) / CHUNK) /* chunks covering [0, 65535] */
#define IPV4_HLEN 20u
#define IPV6_HLEN 40u
#define OUT_SIZE (IPV6_HLEN + IP_MAX)

static_assert(BLOCKS_PER_CHUNK == 64, "one uint64_t block map per chunk");

/* tracker.flags */
enum {
    DG_LAST = 1u << 0,     /* last fragment seen: end is known */
    DG_HDR = 1u << 1,      /* first fragment seen: header held */
    DG_OVERLAP = 1u << 2,
    DG_CONFLICT = 1u << 3,
};

/* Padding is zero so keys compare with memcmp. */
typedef struct dg_key {
    gh_addr src, dst;
    uint32_t id;
    uint16_t vlan[2];
    uint8_t proto; /* IPv4 protocol; 0 for IPv6 */
    uint8_t ver;
    uint8_t pad[2];
} dg_key;
static_assert(sizeof(dg_key) == 44, "key has no hidden padding");

typedef struct tracker {
    /* Hot: lookup and bookkeeping. */
    dg_key key;
    uint32_t hnext;       /* index + 1 of the next tracker in the bucket */
    uint32_t older, newer; /* FIFO list, index + 1; also the free list (newer) */
    uint64_t expire_ns;
    uint32_t have;        /* distinct data bytes held */
    uint32_t end;         /* data length, valid with DG_LAST */
    uint32_t max_end;     /* highest fragment end held */
    uint32_t hdr_chunk;   /* index + 1 of the header chunk */
    uint16_t hdr_len;
    uint16_t nh_off;      /* IPv6: header byte that named the Fragment header */
    uint8_t nh;           /* IPv6: the first fragment's Fragment header Next Header */
    uint8_t flags;        /* DG_* */
    uint16_t nfrags;
    uint32_t chunk[MAX_CHUNKS]; /* index + 1 per 512-byte range; 0 = none */
} tracker;

struct gh_defrag {
    tracker *trk;
    uint32_t *buckets;    /* index + 1 of the first tracker; 0 = empty */
    uint32_t bmask;
    uint32_t trk_free;    /* index + 1 of the first released tracker; 0 = none */
    uint32_t trk_bump;    /* trackers [0, trk_bump) have been handed out at least once */
    uint32_t oldest, newest; /* FIFO ends, index + 1 */
    uint8_t (*chunk_data)[CHUNK];
    uint64_t *chunk_map;  /* held 8-byte blocks per chunk */
    uint32_t *chunk_free; /* stack of released chunk indexes */
    uint32_t nchunks;
    uint32_t nfree_chunks; /* released ones plus those never handed out */
    uint32_t chunk_bump;  /* chunks [0, chunk_bump) have been handed out at least once */
    uint8_t *out;         /* OUT_SIZE bytes */
    uint64_t timeout_ns;
    gh_defrag_stats st;
    gh_defrag_config cfg;
};

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* ---- configuration and lifetime --------------------------------------- */

void gh_defrag_config_init(gh_defrag_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->memcap = GH_DEFRAG_DEFAULT_MEMCAP;
    cfg->max_datagrams = GH_DEFRAG_DEFAULT_MAX_DATAGRAMS;
    cfg->timeout_s = GH_DEFRAG_DEFAULT_TIMEOUT_S;
    cfg->policy = GH_DEFRAG_POLICY_FIRST;
    cfg->vlan_tracking = true;
}

gh_defrag *gh_defrag_new(const gh_defrag_config *cfg, gh_error *err)
{
    gh_defrag_config def;
    if (!cfg) {
        gh_defrag_config_init(&def);
        cfg = &def;
    }
    if (cfg->policy != GH_DEFRAG_POLICY_FIRST) {
        gh_error_set(err, GH_E_UNSUPPORTED, "defrag: only the first-wins overlap policy is implemented");
        return NULL;
    }
    size_t nchunks = cfg->memcap / CHUNK;
    if (nchunks == 0 || nchunks > UINT32_MAX / 2) {
        gh_error_set(err, GH_E_INVAL, "defrag: memcap %zu must hold 1 to 2^31 chunks of %u bytes",
                     cfg->memcap, CHUNK);
        return NULL;
    }
    if (cfg->max_datagrams == 0 || cfg->max_datagrams > (1u << 24)) {
        gh_error_set(err, GH_E_INVAL, "defrag: max_datagrams %u must be 1 to 2^24", cfg->max_datagrams);
        return NULL;
    }
    if (cfg->timeout_s == 0) {
        gh_error_set(err, GH_E_INVAL, "defrag: timeout must be at least 1 second");
        return NULL;
    }
    gh_defrag *d = calloc(1, sizeof(*d));
    if (!d)
        goto nomem;
    d->cfg = *cfg;
    d->timeout_ns = (uint64_t)cfg->timeout_s * NS_PER_S;
    uint32_t nb = 1;
    while (nb < cfg->max_datagrams * 2u)
        nb <<= 1;
    d->bmask = nb - 1;
    d->trk = calloc(cfg->max_datagrams, sizeof(*d->trk));
    d->buckets = calloc(nb, sizeof(*d->buckets));
    d->chunk_data = malloc(nchunks * sizeof(*d->chunk_data));
    d->chunk_map = calloc(nchunks, sizeof(*d->chunk_map));
    d->chunk_free = malloc(nchunks * sizeof(*d->chunk_free));
    d->out = malloc(OUT_SIZE);
    if (!d->trk || !d->buckets || !d->chunk_data || !d->chunk_map || !d->chunk_free || !d->out)
        goto nomem;
    d->nchunks = (uint32_t)nchunks;
    /* chunks and trackers are handed out from a bump index, low first, then
     * the released ones again (last released first): a small working set
     * stays in few pages, and memory never used is never touched (no free
     * list written through all of it here) */
    d->nfree_chunks = d->nchunks;
    return d;
nomem:
    gh_defrag_free(d);
    gh_error_set(err, GH_E_NOMEM, "defrag: cannot allocate %zu chunks and %u trackers", nchunks,
                 cfg->max_datagrams);
    return NULL;
}

void gh_defrag_free(gh_defrag *d)
{
    if (!d)
        return;
    free(d->trk);
    free(d->buckets);
    free(d->chunk_data);
    free(d->chunk_map);
    free(d->chunk_free);
    free(d->out);
    free(d);
}

const gh_defrag_stats *gh_defrag_get_stats(const gh_defrag *d)
{
    return &d->st;
}

/* ---- index, pools, FIFO ----------------------------------------------- */

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint32_t key_hash(const dg_key *k, uint64_t seed)
{
    uint64_t w[6];
    memset(w, 0, sizeof(w));
    memcpy(w, k, sizeof(*k));
    uint64_t h = mum(w[0] ^ seed ^ 0xa0761d6478bd642full, w[1] ^ 0xe7037ed1a0b428dbull);
    h = mum(h ^ w[2] ^ 0x8ebc6af09c88c6e3ull, w[3] ^ 0x589965cc75374cc3ull);
    h = mum(h ^ w[4] ^ 0x1d8e4e27c47d124full, w[5] ^ 0xa0761d6478bd642full);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static uint32_t chunk_alloc(gh_defrag *d)
{
    uint32_t released = d->nfree_chunks - (d->nchunks - d->chunk_bump);
    uint32_t c = released ? d->chunk_free[released - 1] : d->chunk_bump++;
    d->nfree_chunks--;
    d->chunk_map[c] = 0;
    d->st.chunks_used++;
    return c;
}

static void chunk_release(gh_defrag *d, uint32_t c)
{
    d->chunk_free[d->nfree_chunks - (d->nchunks - d->chunk_bump)] = c;
    d->nfree_chunks++;
    d->st.chunks_used--;
}

/* Unlink tracker @p ti (index + 1) from index and FIFO, return its chunks. */
static void tracker_drop(gh_defrag *d, uint32_t ti)
{
    tracker *t = &d->trk[ti - 1];
    uint32_t *pp = &d->buckets[key_hash(&t->key, d->cfg.hash_seed) & d->bmask];
    while (*pp != ti)
        pp = &d->trk[*pp - 1].hnext;
    *pp = t->hnext;
    if (t->older)
        d->trk[t->older - 1].newer = t->newer;
    else
        d->oldest = t->newer;
    if (t->newer)
        d->trk[t->newer - 1].older = t->older;
    else
        d->newest = t->older;
    for (uint32_t i = 0; i < MAX_CHUNKS; i++)
        if (t->chunk[i])
            chunk_release(d, t->chunk[i] - 1);
    if (t->hdr_chunk)
        chunk_release(d, t->hdr_chunk - 1);
    memset(t, 0, sizeof(*t));
    t->newer = d->trk_free;
    d->trk_free = ti;
    d->st.datagrams--;
}

static uint32_t expire_head(gh_defrag *d, uint64_t now_ns)
{
    uint32_t n = 0;
    while (d->oldest && d->trk[d->oldest - 1].expire_ns <= now_ns) {
        tracker_drop(d, d->oldest);
        n++;
    }
    d->st.timeouts += n;
    return n;
}

uint32_t gh_defrag_expire(gh_defrag *d, uint64_t now_ns)
{
    return expire_head(d, now_ns);
}

/* Drop the oldest datagram other than @p keep; false when there is none. */
static bool evict_oldest(gh_defrag *d, uint32_t keep)
{
    uint32_t ti = d->oldest;
    if (ti == keep && ti)
        ti = d->trk[ti - 1].newer;
    if (!ti)
        return false;
    tracker_drop(d, ti);
    d->st.evicted++;
    return true;
}

static uint32_t tracker_find(gh_defrag *d, const dg_key *k, uint32_t h)
{
    uint32_t ti = d->buckets[h & d->bmask];
    while (ti && memcmp(&d->trk[ti - 1].key, k, sizeof(*k)) != 0)
        ti = d->trk[ti - 1].hnext;
    return ti;
}

static uint32_t tracker_new(gh_defrag *d, const dg_key *k, uint32_t h, uint64_t now_ns)
{
    uint32_t ti = d->trk_free ? d->trk_free : ++d->trk_bump;
    tracker *t = &d->trk[ti - 1];
    if (d->trk_free)
        d->trk_free = t->newer;
    memset(t, 0, sizeof(*t));
    t->key = *k;
    t->expire_ns = now_ns + d->timeout_ns;
    t->hnext = d->buckets[h & d->bmask];
    d->buckets[h & d->bmask] = ti;
    t->older = d->newest;
    if (d->newest)
        d->trk[d->newest - 1].newer = ti;
    else
        d->oldest = ti;
    d->newest = ti;
    d->st.datagrams++;
    return ti;
}

/* ---- one fragment ----------------------------------------------------- */

/* Where a fragment's pieces are inside the packet. */
typedef struct frag_view {
    const uint8_t *ip;   /* IP header */
    const uint8_t *data; /* fragment data */
    uint32_t len;        /* fragment data bytes */
    uint32_t off;        /* data offset in the datagram */
    uint32_t id;
    uint32_t hdr_len;    /* IPv4 header / IPv6 unfragmentable part */
    uint32_t nh_off;     /* IPv6: offset of the byte that holds 44 */
    uint8_t nh;          /* IPv6: the Fragment header's Next Header */
    bool more;
} frag_view;

static bool ipv6_exthdr(uint8_t nh)
{
    /* hop-by-hop, routing, destination options, AH, mobility */
    return nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 135;
}

/* Locate the fragment's header and data; the decoder bounded l3_len by the
 * captured bytes, and every read below stays inside [l3_off, l3_off + l3_len). */
static int frag_parse(gh_defrag *d, const gh_packet *p, frag_view *v)
{
    if (!(p->flags & GH_PKT_FRAGMENT) || !p->data || (p->ip_ver != 4 && p->ip_ver != 6))
        return GH_E_INVAL;
    /* catches: a fragment whose end was not captured: its bytes are unknown */
    if (p->flags & (GH_PKT_TRUNCATED | GH_PKT_TSO | GH_PKT_JUMBO)) {
        d->st.truncated++;
        return GH_E_FORMAT;
    }
    if ((uint64_t)p->l3_off + p->l3_len > p->caplen)
        return GH_E_INVAL;
    const uint8_t *ip = p->data + p->l3_off;
    uint32_t l3 = p->l3_len;
    v->ip = ip;
    if (p->ip_ver == 4) {
        /* catches: a header checksum the receiving host would reject, so
         * inspection never sees bytes the host discards */
        if (gh_packet_has_anomaly(p, GH_ANOM_IPV4_CSUM_BAD) || p->ip_hlen < IPV4_HLEN ||
            p->ip_hlen > l3)
            goto invalid;
        uint16_t ff = rd16(ip + 6);
        v->hdr_len = p->ip_hlen;
        v->off = (uint32_t)(ff & 0x1fff) * 8;
        v->more = (ff & 0x2000) != 0;
        v->id = rd16(ip + 4);
        v->data = ip + p->ip_hlen;
        v->len = l3 - p->ip_hlen;
        return 0;
    }
    /* IPv6: the decoder's ip_hlen of a first fragment includes headers after
     * the Fragment header, so walk the chain to find it. */
    if (l3 < IPV6_HLEN)
        goto invalid;
    uint32_t cur = IPV6_HLEN, nh_off = 6;
    uint8_t nh = ip[6];
    for (int n = 0; nh != 44; n++) {
        /* catches: no Fragment header before the upper layer, or a chain
         * running past the packet */
        if (!ipv6_exthdr(nh) || n > 16 || l3 - cur < 8)
            goto invalid;
        uint32_t xlen = nh == 51 ? ((uint32_t)ip[cur + 1] + 2) * 4 : ((uint32_t)ip[cur + 1] + 1) * 8;
        if (xlen > l3 - cur)
            goto invalid;
        nh_off = cur;
        nh = ip[cur];
        cur += xlen;
    }
    if (l3 - cur < 8)
        goto invalid;
    uint16_t fo = rd16(ip + cur + 2);
    v->hdr_len = cur;
    v->nh_off = nh_off;
    v->nh = ip[cur];
    v->off = fo & 0xfff8u;
    v->more = fo & 1u;
    v->id = rd32(ip + cur + 4);
    v->data = ip + cur + 8;
    v->len = l3 - cur - 8;
    return 0;
invalid:
    d->st.invalid++;
    return GH_E_FORMAT;
}

/* Chunks a fragment [off, end) needs that the tracker lacks. */
static uint32_t chunks_needed(const tracker *t, uint32_t off, uint32_t end, bool hdr)
{
    uint32_t n = hdr && !(t->flags & DG_HDR);
    if (end > off)
        for (uint32_t c = off / CHUNK; c <= (end - 1) / CHUNK; c++)
            n += t->chunk[c] == 0;
    return n;
}

/* Copy the blocks of [off, end) not held yet; compare the others. */
static void store_data(gh_defrag *d, tracker *t, const uint8_t *src, uint32_t off, uint32_t end,
                       bool *overlap, bool *conflict)
{
    for (uint32_t b = off / 8; b * 8 < end; b++) {
        uint32_t bs = b * 8, be = bs + 8 < end ? bs + 8 : end;
        uint32_t ci = bs / CHUNK;
        if (!t->chunk[ci])
            t->chunk[ci] = chunk_alloc(d) + 1;
        uint32_t c = t->chunk[ci] - 1;
        uint64_t bit = (uint64_t)1 << ((bs % CHUNK) / 8);
        uint8_t *dst = d->chunk_data[c] + bs % CHUNK;
        if (d->chunk_map[c] & bit) {
            *overlap = true;
            if (memcmp(dst, src + (bs - off), be - bs) != 0)
                *conflict = true;
        } else {
            memcpy(dst, src + (bs - off), be - bs);
            d->chunk_map[c] |= bit;
            t->have += be - bs;
        }
    }
}

/* Write the whole packet into d->out; returns its length, 0 when too large. */
static uint32_t build(gh_defrag *d, const tracker *t, uint32_t *linktype)
{
    const uint8_t *hdr = d->chunk_data[t->hdr_chunk - 1];
    uint8_t *o = d->out;
    uint32_t total = t->hdr_len + t->end;
    if (t->key.ver == 4) {
        if (total > IP_MAX)
            return 0;
        memcpy(o, hdr, t->hdr_len);
        wr16(o + 2, total);
        o[6] &= 0xc0; /* keep RF and DF; clear MF and the offset */
        o[7] = 0;
        o[10] = o[11] = 0;
        wr16(o + 10, gh_csum_fold(gh_csum_partial(o, t->hdr_len, 0)));
        *linktype = GH_LINK_IPV4;
    } else {
        if (total - IPV6_HLEN > IP_MAX)
            return 0;
        memcpy(o, hdr, t->hdr_len);
        wr16(o + 4, total - IPV6_HLEN);
        o[t->nh_off] = t->nh;
        *linktype = GH_LINK_IPV6;
    }
    for (uint32_t pos = 0; pos < t->end; pos += CHUNK) {
        uint32_t n = t->end - pos < CHUNK ? t->end - pos : CHUNK;
        memcpy(o + t->hdr_len + pos, d->chunk_data[t->chunk[pos / CHUNK] - 1], n);
    }
    return total;
}

/* Discard a fragment; a tracker it created holds nothing, so free it. */
static int reject(gh_defrag *d, uint32_t ti, int rc)
{
    if (d->trk[ti - 1].nfrags == 0)
        tracker_drop(d, ti);
    return rc;
}

int gh_defrag_add(gh_defrag *d, const gh_packet *p, uint64_t now_ns, gh_defrag_out *out)
{
    frag_view v;
    memset(out, 0, sizeof(*out));
    memset(&v, 0, sizeof(v));
    int rc = frag_parse(d, p, &v);
    if (rc == GH_E_INVAL)
        return rc;
    d->st.fragments++;
    if (expire_head(d, now_ns))
        out->events |= GH_DEFRAG_EV_TIMEOUT;
    if (rc)
        return rc;
    uint32_t end = v.off + v.len;
    /* catches: a datagram beyond the 64 KiB IP limit ("ping of death") */
    if (GH_UNLIKELY(end > IP_MAX)) {
        d->st.too_large++;
        return GH_E_FORMAT;
    }
    /* catches: a non-last fragment whose length leaves a gap that no
     * 8-byte-aligned offset can fill; also headers beyond one chunk */
    if (GH_UNLIKELY((v.more && (v.len % 8) != 0) || (v.off == 0 && v.hdr_len > CHUNK))) {
        d->st.invalid++;
        return GH_E_FORMAT;
    }

    dg_key k;
    memset(&k, 0, sizeof(k));
    k.id = v.id;
    k.ver = p->ip_ver;
    /* addresses from the header itself: for IPv6 with a routing header the
     * decoder's dst is the final destination, not the header's */
    if (p->ip_ver == 4) {
        memcpy(k.src.b, v.ip + 12, 4);
        memcpy(k.dst.b, v.ip + 16, 4);
        k.proto = v.ip[9];
    } else {
        memcpy(k.src.b, v.ip + 8, 16);
        memcpy(k.dst.b, v.ip + 24, 16);
    }
    if (d->cfg.vlan_tracking) {
        for (uint32_t i = 0; i < p->vlan_count && i < GH_MAX_VLAN; i++)
            k.vlan[i] = p->vlan_id[i];
    }
    uint32_t h = key_hash(&k, d->cfg.hash_seed);
    uint32_t ti = tracker_find(d, &k, h);
    if (!ti) {
        if (!d->trk_free && d->trk_bump == d->cfg.max_datagrams) {
            evict_oldest(d, 0);
            out->events |= GH_DEFRAG_EV_EVICTED;
        }
        ti = tracker_new(d, &k, h, now_ns);
    }
    tracker *t = &d->trk[ti - 1];

    /* First wins for the datagram's length as for its bytes. */
    bool bad;
    if (v.more)
        bad = (t->flags & DG_LAST) && end > t->end; /* catches: data past a known end */
    else if (t->flags & DG_LAST)
        bad = end != t->end;                        /* catches: two different ends */
    else
        bad = end < t->max_end;                     /* catches: an end before held data */
    uint32_t limit = IP_MAX;
    if (t->flags & DG_HDR)
        limit -= t->key.ver == 4 ? t->hdr_len : t->hdr_len - IPV6_HLEN;
    else if (v.off == 0)
        limit -= p->ip_ver == 4 ? v.hdr_len : v.hdr_len - IPV6_HLEN;
    if (GH_UNLIKELY(bad)) {
        d->st.invalid++;
        return reject(d, ti, GH_E_FORMAT);
    }
    /* catches: header plus data beyond what a length field can say */
    if (GH_UNLIKELY(end > limit || t->max_end > limit)) {
        d->st.too_large++;
        return reject(d, ti, GH_E_FORMAT);
    }

    uint32_t need = chunks_needed(t, v.off, end, v.off == 0);
    while (d->nfree_chunks < need) {
        if (!evict_oldest(d, ti)) {
            d->st.mem_drops++;
            return reject(d, ti, GH_E_LIMIT);
        }
        out->events |= GH_DEFRAG_EV_EVICTED;
    }
    if (v.off == 0 && !(t->flags & DG_HDR)) {
        uint32_t c = chunk_alloc(d);
        memcpy(d->chunk_data[c], v.ip, v.hdr_len);
        t->hdr_chunk = c + 1;
        t->hdr_len = (uint16_t)v.hdr_len;
        t->nh_off = (uint16_t)v.nh_off;
        t->nh = v.nh;
        t->flags |= DG_HDR;
    }
    bool overlap = false, conflict = false;
    store_data(d, t, v.data, v.off, end, &overlap, &conflict);
    if (overlap) {
        d->st.overlaps++;
        out->events |= GH_DEFRAG_EV_OVERLAP;
        t->flags |= DG_OVERLAP;
    }
    if (conflict) {
        d->st.overlap_conflicts++;
        out->events |= GH_DEFRAG_EV_CONFLICT;
        t->flags |= DG_CONFLICT;
    }
    if (end > t->max_end)
        t->max_end = end;
    if (!v.more) {
        t->flags |= DG_LAST;
        t->end = end;
    }
    if (t->nfrags < UINT16_MAX)
        t->nfrags++;
    if (!(t->flags & DG_LAST) || !(t->flags & DG_HDR) || t->have != t->end)
        return 0;

    uint32_t len = build(d, t, &out->linktype);
    uint32_t nfrags = t->nfrags;
    uint32_t dgf = (t->flags & DG_OVERLAP ? GH_DEFRAG_DG_OVERLAP : 0) |
                   (t->flags & DG_CONFLICT ? GH_DEFRAG_DG_CONFLICT : 0);
    tracker_drop(d, ti);
    if (!len) {
        d->st.too_large++;
        out->linktype = 0;
        return GH_E_FORMAT;
    }
    d->st.reassembled++;
    out->data = d->out;
    out->len = len;
    out->dgram_flags = dgf;
    out->nfrags = nfrags;
    return 1;
}
