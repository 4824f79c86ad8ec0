/* The flow table: a fixed pool of flow entries and a bucketized
 * open-addressing index over it, one table per worker.
 *
 * Index: 64-byte buckets of 8 slots (entry index + 16-bit hash signature),
 * linear probing from the home bucket. Each bucket counts the entries whose
 * probe path passes it ("overflow"), so a lookup stops at the first bucket
 * with overflow 0 and a delete needs no tombstones: it decrements the
 * counts on the path it walks. Entries never move, so flow pointers are
 * stable for the later stages.
 *
 * Pool: entries are handed out from a bump index (untouched memory stays
 * unmapped) and a LIFO free list. Ended flows wait on a limbo list until
 * gh_flow_table_end_batch(), which keeps pointers of the current batch valid.
 *
 * Eviction samples evict_sample entries round-robin and takes the best
 * victim by (timed out < closed < not established < established, then least
 * recently seen) -- an approximate LRU (as Redis does) that costs nothing
 * per packet, unlike a linked LRU list that writes two neighbours on every
 * hit. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "gatehouse/flow.h"
#include "mem.h"

static_assert(sizeof(gh_flow_key) == 44, "flow key is 44 bytes, no hidden padding");
static_assert(sizeof(gh_flow) <= 256, "a flow entry costs at most 256 bytes (DESIGN.md 4)");
static_assert(sizeof(gh_flow) == 192, "flow entry is three cache lines");
static_assert(offsetof(gh_flow, stage_flags) < 64, "hot fields in the first cache line");
static_assert(offsetof(gh_flow, bytes) == 64, "per-packet counters start line 1");
static_assert(offsetof(gh_flow, flow_id) == 128, "cold fields start line 2");

#define NS_PER_S ((uint64_t)1000000000)
#define SLOTS 8

/* Wrap-around-safe sequence comparisons (RFC 793 modular arithmetic). */
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ICMPV6_ 58

typedef struct flow_bucket {
    uint32_t idx[SLOTS]; /* pool index + 1; 0 = empty */
    uint16_t sig[SLOTS]; /* hash bits 48..63 */
    uint32_t overflow;   /* entries placed past this bucket from a home at or before it */
    uint32_t pad[3];
} flow_bucket;
static_assert(sizeof(flow_bucket) == 64, "one bucket per cache line");

struct gh_flow_table {
    gh_flow *pool;          /* capacity entries, 64-byte aligned */
    flow_bucket *buckets;   /* nb_max allocated (lazily mapped), bmask + 1 in use */
    uint32_t bmask;         /* buckets in use - 1 */
    uint32_t nb_max;        /* buckets for max_flows */
    uint32_t max_flows;     /* active limit before eviction */
    uint32_t capacity;      /* max_flows + GH_FLOW_BATCH_RESERVE */
    uint32_t bump;          /* entries [0, bump) have been handed out at least once */
    uint32_t free_head;     /* index + 1 of the first free entry; 0 = none */
    uint32_t limbo_head;    /* ended this batch, index + 1 */
    uint32_t expire_hand, evict_hand;
    uint64_t id_counter;
    uint64_t timeout_ns[GH_FLOW_PROTO_COUNT][GH_FLOW_STATE_COUNT];
    gh_flow_config cfg;
    gh_flow_stats st;
    void *pool_mem, *bucket_mem;
    size_t memuse;
};

/* ---- names --------------------------------------------------------------- */

static const char *const tcp_state_names[GH_TCP_STATE_COUNT] = {
    "none", "syn_sent", "syn_recv", "established", "fin_wait", "closing", "closed", "reset",
};
static const char *const flow_state_names[GH_FLOW_STATE_COUNT] = {"new", "established", "closed"};
static const char *const end_reason_names[GH_FLOW_END_COUNT] = {"timeout", "forced", "shutdown",
                                                                "tcp_reuse"};

const char *gh_tcp_state_name(gh_tcp_state s)
{
    return (unsigned)s < GH_TCP_STATE_COUNT ? tcp_state_names[s] : "unknown";
}

const char *gh_flow_state_name(gh_flow_state s)
{
    return (unsigned)s < GH_FLOW_STATE_COUNT ? flow_state_names[s] : "unknown";
}

const char *gh_flow_end_reason_name(gh_flow_end_reason r)
{
    return (unsigned)r < GH_FLOW_END_COUNT ? end_reason_names[r] : "unknown";
}

/* ---- configuration ------------------------------------------------------- */

void gh_flow_config_init(gh_flow_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->expire_scan = 256;
    cfg->evict_sample = 32;
    cfg->evict_established = true;
    cfg->evict_live = true;
    cfg->midstream = false;
    cfg->async_oneside = false;
    cfg->vlan_tracking = true;
    /* Suricata's shipped suricata.yaml flow-timeouts (its compiled-in
     * fallbacks are shorter: TCP 30/300/10). */
    static const uint32_t def[GH_FLOW_PROTO_COUNT][GH_FLOW_STATE_COUNT] = {
        [GH_FLOW_PROTO_TCP] = {60, 600, 60},
        [GH_FLOW_PROTO_UDP] = {30, 300, 0},
        [GH_FLOW_PROTO_ICMP] = {30, 300, 0},
        [GH_FLOW_PROTO_OTHER] = {30, 300, 0},
    };
    memcpy(cfg->timeout_s, def, sizeof(def));
}

static uint32_t nbuckets_for(uint32_t max_flows)
{
    /* at most 6 of 8 slots per bucket on average (75% load) */
    uint64_t want = ((uint64_t)max_flows + 5) / 6;
    uint32_t nb = 2;
    while (nb < want)
        nb <<= 1;
    return nb;
}

/* Buckets in use at first: the index grows with the flows (index_grow), so
 * a capture of a few thousand flows touches a few pages of buckets, not one
 * page per flow across the whole index (each a page fault). */
#define BUCKETS_START 256u
/* flows whose entries a new table maps at once */
#define FLOW_PREFAULT 10000u

size_t gh_flow_table_memsize(uint32_t max_flows)
{
    return ((size_t)max_flows + GH_FLOW_BATCH_RESERVE) * sizeof(gh_flow) +
           (size_t)nbuckets_for(max_flows) * sizeof(flow_bucket) + sizeof(gh_flow_table) +
           2 * 64; /* alignment slack */
}

/* Zeroed memory aligned to 64 bytes. calloc keeps large blocks lazily
 * mapped (zero pages), unlike aligned_alloc + memset. */
static void *calloc64(size_t n, void **base)
{
    *base = calloc(1, n + 64);
    if (!*base)
        return NULL;
    uintptr_t a = ((uintptr_t)*base + 63) & ~(uintptr_t)63;
    return (void *)a;
}

gh_flow_table *gh_flow_table_new(const gh_flow_config *cfg, gh_error *err)
{
    gh_flow_config c;
    if (cfg)
        c = *cfg;
    else
        gh_flow_config_init(&c);

    uint32_t n = c.max_flows;
    if (n == 0 && c.memcap) {
        /* the most flows that fit: start from the per-flow cost, step down */
        uint64_t guess = c.memcap / (sizeof(gh_flow) + sizeof(flow_bucket) / 3);
        if (guess > GH_FLOW_MAX_FLOWS_LIMIT)
            guess = GH_FLOW_MAX_FLOWS_LIMIT;
        n = (uint32_t)guess;
        while (n > 0 && gh_flow_table_memsize(n) > c.memcap)
            n -= n / 64 + 1;
        if (n == 0) {
            gh_error_set(err, GH_E_INVAL, "flow memcap %zu bytes holds no flow (one needs %zu)",
                         c.memcap, gh_flow_table_memsize(1));
            return NULL;
        }
    } else if (n == 0) {
        n = GH_FLOW_DEFAULT_MAX_FLOWS;
    }
    if (n > GH_FLOW_MAX_FLOWS_LIMIT) {
        gh_error_set(err, GH_E_INVAL, "flow max-flows %u above the limit %u", n,
                     GH_FLOW_MAX_FLOWS_LIMIT);
        return NULL;
    }
    if (c.memcap && gh_flow_table_memsize(n) > c.memcap) {
        gh_error_set(err, GH_E_INVAL, "flow max-flows %u needs %zu bytes, above the memcap %zu", n,
                     gh_flow_table_memsize(n), c.memcap);
        return NULL;
    }
    if (c.expire_scan == 0)
        c.expire_scan = 256;

    gh_flow_table *t = calloc(1, sizeof(*t));
    if (!t) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    t->cfg = c;
    t->max_flows = n;
    t->capacity = n + GH_FLOW_BATCH_RESERVE;
    uint32_t nb = nbuckets_for(n);
    t->nb_max = nb;
    t->bmask = (nb < BUCKETS_START ? nb : BUCKETS_START) - 1;
    t->pool = calloc64((size_t)t->capacity * sizeof(gh_flow), &t->pool_mem);
    t->buckets = calloc64((size_t)nb * sizeof(flow_bucket), &t->bucket_mem);
    if (!t->pool || !t->buckets) {
        gh_error_set(err, GH_E_NOMEM, "out of memory for a flow table of %u flows (%zu bytes)", n,
                     gh_flow_table_memsize(n));
        gh_flow_table_free(t);
        return NULL;
    }
    /* the first flows' entries mapped now, not one page fault per 21 new
     * flows while the packets run (Suricata preallocates 10,000 flows) */
    gh_mem_prefault(t->pool, (size_t)(t->capacity < FLOW_PREFAULT ? t->capacity : FLOW_PREFAULT) *
                                 sizeof(gh_flow));
    gh_mem_prefault(t->buckets, (size_t)(t->bmask + 1) * sizeof(flow_bucket));
    t->memuse = gh_flow_table_memsize(n);
    for (int p = 0; p < GH_FLOW_PROTO_COUNT; p++)
        for (int s = 0; s < GH_FLOW_STATE_COUNT; s++)
            t->timeout_ns[p][s] = (uint64_t)c.timeout_s[p][s] * NS_PER_S;
    return t;
}

void gh_flow_table_free(gh_flow_table *t)
{
    if (!t)
        return;
    free(t->pool_mem);
    free(t->bucket_mem);
    free(t);
}

const gh_flow_stats *gh_flow_table_stats(const gh_flow_table *t)
{
    return &t->st;
}

uint32_t gh_flow_table_max_flows(const gh_flow_table *t)
{
    return t->max_flows;
}

size_t gh_flow_table_memuse(const gh_flow_table *t)
{
    return t->memuse;
}

/* ---- keys and hashing ---------------------------------------------------- */

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* A wyhash-style multiply-fold over the 44 key bytes. Symmetry comes from
 * the canonical key, not from the hash. */
static inline uint64_t key_hash(const gh_flow_key *k, uint64_t seed)
{
    const uint8_t *p = (const uint8_t *)k;
    uint32_t tail;
    memcpy(&tail, p + 40, 4);
    uint64_t h = mum(rd64(p) ^ 0xa0761d6478bd642full ^ seed, rd64(p + 8) ^ 0xe7037ed1a0b428dbull);
    h = mum(h ^ rd64(p + 16) ^ 0x8ebc6af09c88c6e3ull, rd64(p + 24) ^ 0x589965cc75374cc3ull);
    h = mum(h ^ rd64(p + 32) ^ 0x1d8e4e27c47d124full, (uint64_t)tail ^ 0xa0761d6478bd642full);
    /* final avalanche (murmur3 fmix64) so every output bit depends on all */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static inline bool key_eq(const gh_flow_key *a, const gh_flow_key *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

/* Order the endpoints so both directions build the same key. Returns true
 * when (a, ap) is the lower endpoint. */
static inline bool set_endpoints(gh_flow_key *k, const gh_addr *a, uint16_t ap, const gh_addr *b,
                                 uint16_t bp)
{
    int c = memcmp(a->b, b->b, 16);
    bool a_lo = c < 0 || (c == 0 && ap <= bp);
    if (a_lo) {
        k->lo = *a;
        k->hi = *b;
        k->lo_port = ap;
        k->hi_port = bp;
    } else {
        k->lo = *b;
        k->hi = *a;
        k->lo_port = bp;
        k->hi_port = ap;
    }
    return a_lo;
}

/* ICMP query/response pairs that carry an identifier: the request type
 * (flow class) for both, or -1. */
static int icmp_echo_class(uint8_t proto, uint8_t type)
{
    if (proto == IPPROTO_ICMP_) {
        switch (type) {
        case 8: case 0: return 8;    /* echo */
        case 13: case 14: return 13; /* timestamp */
        case 15: case 16: return 15; /* information */
        case 17: case 18: return 17; /* address mask */
        default: return -1;
        }
    }
    return (type == 128 || type == 129) ? 128 : -1;
}

/* ICMP error messages (they quote the packet that caused them). */
static inline bool is_icmp_error(uint8_t proto, uint8_t type)
{
    if (proto == IPPROTO_ICMP_)
        return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    return type >= 1 && type <= 4;
}

/* What kind of packet this is for the flow table. */
enum { PK_FLOW, PK_ICMP_ERROR, PK_NOT_IP, PK_FRAGMENT, PK_NO_L4 };

static int classify(const gh_packet *p)
{
    if (p->ip_ver != 4 && p->ip_ver != 6)
        return PK_NOT_IP;
    /* an unfragmented datagram may still carry a fragment header (offset 0,
     * no more fragments): that one is whole */
    if ((p->flags & GH_PKT_FRAGMENT) &&
        (p->flags & (GH_PKT_FIRST_FRAG | GH_PKT_MORE_FRAGS)) != GH_PKT_FIRST_FRAG)
        return PK_FRAGMENT;
    switch (p->ip_proto) {
    case IPPROTO_TCP_:
        return (p->layers & GH_LAYER_TCP) ? PK_FLOW : PK_NO_L4;
    case IPPROTO_UDP_:
        return (p->layers & GH_LAYER_UDP) ? PK_FLOW : PK_NO_L4;
    case IPPROTO_ICMP_:
    case IPPROTO_ICMPV6_:
        if (!(p->layers & (GH_LAYER_ICMPV4 | GH_LAYER_ICMPV6)))
            return PK_NO_L4;
        /* errors never create flows, even when the quote did not decode */
        return is_icmp_error(p->ip_proto, p->icmp_type) ? PK_ICMP_ERROR : PK_FLOW;
    default:
        return PK_FLOW;
    }
}

/* Build the canonical key of a PK_FLOW packet; returns whether the packet's
 * source is key.lo. */
static bool key_from_packet(gh_flow_key *k, const gh_packet *p, bool vlan)
{
    memset(k, 0, sizeof(*k));
    k->proto = p->ip_proto;
    k->ip_ver = p->ip_ver;
    if (vlan) {
        for (unsigned i = 0; i < p->vlan_count && i < 2; i++)
            k->vlan[i] = p->vlan_id[i];
    }
    uint16_t sp = 0, dp = 0;
    switch (p->ip_proto) {
    case IPPROTO_TCP_:
    case IPPROTO_UDP_:
        sp = p->sport;
        dp = p->dport;
        break;
    case IPPROTO_ICMP_:
    case IPPROTO_ICMPV6_: {
        int cls = icmp_echo_class(p->ip_proto, p->icmp_type);
        if (cls >= 0) {
            k->icmp_class = (uint8_t)cls;
            sp = dp = p->icmp_id;
        } else {
            k->icmp_class = p->icmp_type;
            sp = dp = p->icmp_code;
        }
        break;
    }
    default:
        break;
    }
    return set_endpoints(k, &p->src, sp, &p->dst, dp);
}

/* Key of the packet an ICMP error quotes; returns whether the quoted
 * packet's source is key.lo. */
static bool key_from_icmp_inner(gh_flow_key *k, const gh_packet *p, bool vlan)
{
    const gh_icmp_inner *in = &p->icmp_inner;
    memset(k, 0, sizeof(*k));
    k->proto = in->ip_proto;
    k->ip_ver = in->ip_ver;
    if (vlan) {
        for (unsigned i = 0; i < p->vlan_count && i < 2; i++)
            k->vlan[i] = p->vlan_id[i];
    }
    return set_endpoints(k, &in->src, in->sport, &in->dst, in->dport);
}

uint32_t gh_flow_hash_frame(uint32_t linktype, const uint8_t *data, uint32_t caplen)
{
    gh_addr src, dst;
    gh_flow_key k;
    memset(&k, 0, sizeof(k));
    k.ip_ver = (uint8_t)gh_decode_flow_addrs(linktype, data, caplen, &src, &dst);
    if (!k.ip_ver)
        return 0;
    set_endpoints(&k, &src, 0, &dst, 0);
    /* high half: the table indexes buckets with the low bits, so workers
     * that each see one residue of this value still spread over all buckets */
    return (uint32_t)(key_hash(&k, 0) >> 32);
}

/* ---- index ---------------------------------------------------------------- */

static inline bool in_table(const gh_flow *f)
{
    return f->key.ip_ver != 0 && !(f->flags & GH_FLOWF_ENDED);
}

static inline uint32_t flow_index(const gh_flow_table *t, const gh_flow *f)
{
    return (uint32_t)(f - t->pool);
}

static gh_flow *index_find(const gh_flow_table *t, const gh_flow_key *k, uint64_t h)
{
    uint32_t b = (uint32_t)h & t->bmask;
    uint16_t sig = (uint16_t)(h >> 48);
    for (;;) {
        const flow_bucket *bk = &t->buckets[b];
        for (int s = 0; s < SLOTS; s++) {
            if (bk->sig[s] == sig && bk->idx[s]) {
                gh_flow *f = &t->pool[bk->idx[s] - 1];
                if (GH_LIKELY(key_eq(&f->key, k)))
                    return f;
            }
        }
        if (!bk->overflow)
            return NULL;
        b = (b + 1) & t->bmask;
    }
}

static void index_insert(gh_flow_table *t, gh_flow *f, uint64_t h)
{
    uint32_t b = (uint32_t)h & t->bmask;
    uint32_t fi = flow_index(t, f) + 1;
    /* terminates: active <= max_flows < 8 * nbuckets */
    for (;;) {
        flow_bucket *bk = &t->buckets[b];
        for (int s = 0; s < SLOTS; s++) {
            if (!bk->idx[s]) {
                bk->idx[s] = fi;
                bk->sig[s] = (uint16_t)(h >> 48);
                return;
            }
        }
        bk->overflow++;
        b = (b + 1) & t->bmask;
    }
}

/* Before inserting entry number @p active: at half the slots in use the
 * buckets in use double (up to those for max_flows), and every live entry
 * is placed again. Each entry moves about once on average. */
static void index_grow(gh_flow_table *t, uint32_t active)
{
    uint32_t nb = t->bmask + 1;
    if (nb >= t->nb_max || active < nb * (SLOTS / 2))
        return;
    memset(t->buckets, 0, (size_t)nb * sizeof(flow_bucket));
    t->bmask = 2 * nb - 1;
    for (uint32_t i = 0; i < t->bump; i++) {
        gh_flow *f = &t->pool[i];
        if (in_table(f))
            index_insert(t, f, key_hash(&f->key, t->cfg.hash_seed));
    }
}

static void index_remove(gh_flow_table *t, gh_flow *f)
{
    uint32_t b = f->hash & t->bmask;
    uint32_t fi = flow_index(t, f) + 1;
    for (;;) {
        flow_bucket *bk = &t->buckets[b];
        for (int s = 0; s < SLOTS; s++) {
            if (bk->idx[s] == fi) {
                bk->idx[s] = 0;
                bk->sig[s] = 0;
                return;
            }
        }
        /* the entry sits further on: undo this bucket's share of its path */
        assert(bk->overflow > 0);
        bk->overflow--;
        b = (b + 1) & t->bmask;
    }
}

/* ---- state bookkeeping ---------------------------------------------------- */

static inline int proto_row(uint8_t proto)
{
    switch (proto) {
    case IPPROTO_TCP_: return GH_FLOW_PROTO_TCP;
    case IPPROTO_UDP_: return GH_FLOW_PROTO_UDP;
    case IPPROTO_ICMP_:
    case IPPROTO_ICMPV6_: return GH_FLOW_PROTO_ICMP;
    default: return GH_FLOW_PROTO_OTHER;
    }
}

static inline bool flow_expired(const gh_flow_table *t, const gh_flow *f, uint64_t now)
{
    uint64_t to = t->timeout_ns[proto_row(f->key.proto)][gh_flow_get_state(f)];
    return now >= f->last_ns && now - f->last_ns >= to;
}

static inline void count_state(gh_flow_table *t, const gh_flow *f, int delta)
{
    t->st.state[gh_flow_get_state(f)] += (uint32_t)delta;
    if (f->key.proto == IPPROTO_TCP_)
        t->st.tcp_state[f->tcp_state] += (uint32_t)delta;
}

/* End a flow: out of the index, callback, onto the limbo list. */
static void flow_end(gh_flow_table *t, gh_flow *f, gh_flow_end_reason why)
{
    index_remove(t, f);
    count_state(t, f, -1);
    t->st.active--;
    t->st.ended++;
    switch (why) {
    case GH_FLOW_END_TIMEOUT: t->st.timed_out++; break;
    case GH_FLOW_END_FORCED: t->st.evicted++; break;
    case GH_FLOW_END_SHUTDOWN: t->st.shutdown++; break;
    default: t->st.tcp_reuse++; break;
    }
    f->end_reason = (uint8_t)why;
    f->flags |= GH_FLOWF_ENDED;
    if (t->cfg.on_end)
        t->cfg.on_end(t->cfg.on_end_ctx, f);
    f->next = t->limbo_head;
    t->limbo_head = flow_index(t, f) + 1;
}

void gh_flow_table_end_batch(gh_flow_table *t)
{
    uint32_t i = t->limbo_head;
    while (i) {
        gh_flow *f = &t->pool[i - 1];
        uint32_t next = f->next;
        f->key.ip_ver = 0; /* free */
        f->flags = 0;
        f->next = t->free_head;
        t->free_head = i;
        i = next;
    }
    t->limbo_head = 0;
}

/* Victim rank: lower is evicted first. */
static inline int evict_rank(const gh_flow_table *t, const gh_flow *f, uint64_t now)
{
    if (flow_expired(t, f, now))
        return 0;
    switch (gh_flow_get_state(f)) {
    case GH_FLOW_STATE_CLOSED: return 1;
    case GH_FLOW_STATE_NEW: return 2;
    default: return 3;
    }
}

static bool evict_one(gh_flow_table *t, uint64_t now)
{
    uint32_t want = t->cfg.evict_sample;
    if (!want || !t->bump)
        return false;
    gh_flow *best = NULL;
    int best_rank = 4;
    /* free and limbo entries are skipped; at most bump - active of them
     * exist, so this budget always reaches `want` flows (or all of them) */
    uint32_t budget = want + (t->bump - t->st.active);
    for (uint32_t seen = 0; seen < want && budget; budget--) {
        if (t->evict_hand >= t->bump)
            t->evict_hand = 0;
        gh_flow *f = &t->pool[t->evict_hand++];
        if (!in_table(f))
            continue;
        seen++;
        int r = evict_rank(t, f, now);
        if ((r == 3 && !t->cfg.evict_established) || (r > 1 && !t->cfg.evict_live))
            continue;
        if (r < best_rank || (r == best_rank && f->last_ns < best->last_ns)) {
            best = f;
            best_rank = r;
            if (r == 0)
                break;
        }
    }
    if (!best)
        return false;
    flow_end(t, best, best_rank == 0 ? GH_FLOW_END_TIMEOUT : GH_FLOW_END_FORCED);
    return true;
}

static gh_flow *flow_alloc(gh_flow_table *t, uint64_t now)
{
    if (t->st.active >= t->max_flows && !evict_one(t, now))
        return NULL;
    if (t->free_head) {
        gh_flow *f = &t->pool[t->free_head - 1];
        t->free_head = f->next;
        return f;
    }
    if (t->bump < t->capacity)
        return &t->pool[t->bump++];
    return NULL; /* the reserve is all in limbo: end_batch is overdue */
}

/* A bijection on [0, 2^51): distinct inputs give distinct flow ids, kept
 * below 2^53 so JSON readers that parse numbers as doubles keep them exact
 * (Suricata keeps 51 bits for the same reason). */
static uint64_t id_mix51(uint64_t x)
{
    const uint64_t m = (1ull << 51) - 1;
    x &= m;
    x ^= x >> 23;
    x = (x * 0x5851f42d4c957f2dull) & m;
    x ^= x >> 27;
    x = (x * 0x14057b7ef767814full) & m;
    x ^= x >> 29;
    return x;
}

/* ---- per-packet update ---------------------------------------------------- */

static inline uint32_t us_between(uint64_t from, uint64_t to)
{
    uint64_t d = to > from ? (to - from) / 1000 : 0;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static void tcp_track(gh_flow *f, const gh_packet *p, int d, uint64_t now, bool async_oneside)
{
    uint8_t fl = p->tcp_flags;
    gh_flow_tcp_dir *me = &f->tcp[d], *peer = &f->tcp[d ^ 1];
    me->tcp_flags |= fl;

    if (fl & GH_TCP_SYN) {
        me->flags |= GH_FLOWD_SYN;
        if (!(me->flags & GH_FLOWD_FIN))
            f->fin_seq[d] = p->tcp_seq; /* the ISN, until a FIN takes the slot */
        if (p->flags & GH_PKT_TCP_WSCALE) {
            me->flags |= GH_FLOWD_WSCALE;
            me->wscale = p->tcp_wscale > 14 ? 14 : p->tcp_wscale; /* RFC 7323 caps at 14 */
        }
    }

    if (!(fl & GH_TCP_RST)) {
        /* sequence space: SYN and FIN occupy one number each */
        uint32_t seglen = p->payload_len + !!(fl & GH_TCP_SYN) + !!(fl & GH_TCP_FIN);
        uint32_t end = p->tcp_seq + seglen;
        if (!(me->flags & GH_FLOWD_SEQ)) {
            me->high_seq = end;
            me->flags |= GH_FLOWD_SEQ;
        } else if (seglen) {
            if (SEQ_LEQ(end, me->high_seq))
                me->retrans++;
            else
                me->high_seq = end;
        }
        /* windows in SYN segments are never scaled (RFC 7323 2.2) */
        uint32_t shift = ((f->flags & GH_FLOWF_WSCALE) && !(fl & GH_TCP_SYN)) ? me->wscale : 0;
        uint32_t win = (uint32_t)p->tcp_win << shift;
        if (win < me->min_win)
            me->min_win = win;
        if (p->tcp_win == 0 && !(fl & (GH_TCP_SYN | GH_TCP_FIN)))
            me->zero_win++;
    }

    switch (f->tcp_state) {
    case GH_TCP_NONE:
        if (fl & GH_TCP_RST)
            f->tcp_state = GH_TCP_RESET;
        return;
    case GH_TCP_SYN_SENT:
        if (fl & GH_TCP_RST) {
            f->tcp_state = GH_TCP_RESET;
        } else if (d == GH_FLOW_TOSERVER) {
            if ((fl & (GH_TCP_SYN | GH_TCP_ACK)) == GH_TCP_SYN) {
                f->syn_ns = now; /* RTT from the SYN the server answers (Karn) */
            } else if (async_oneside && (fl & (GH_TCP_SYN | GH_TCP_ACK)) == GH_TCP_ACK &&
                       p->tcp_seq == f->fin_seq[d] + 1) {
                /* only the client's side is on this path (Suricata's
                 * stream.async-oneside): its ACK after the SYN completes
                 * the handshake */
                f->tcp_state = GH_TCP_ESTABLISHED;
                f->flags |= GH_FLOWF_ESTABLISHED;
                break; /* the ACK may carry data or a FIN */
            }
        } else if (fl & GH_TCP_SYN) {
            /* SYN/ACK, or the server's own SYN in a simultaneous open */
            f->tcp_state = GH_TCP_SYN_RECV;
            if (fl & GH_TCP_ACK) {
                f->rtt_synack_us = us_between(f->syn_ns, now);
                f->flags |= GH_FLOWF_SYNACK;
            }
            if ((me->flags & GH_FLOWD_WSCALE) && (peer->flags & GH_FLOWD_WSCALE))
                f->flags |= GH_FLOWF_WSCALE;
        }
        return;
    case GH_TCP_SYN_RECV:
        if (fl & GH_TCP_RST) {
            f->tcp_state = GH_TCP_RESET;
            return;
        }
        if (d == GH_FLOW_TOCLIENT) {
            if ((fl & (GH_TCP_SYN | GH_TCP_ACK)) == (GH_TCP_SYN | GH_TCP_ACK)) {
                /* retransmitted SYN/ACK: the client's ACK answers this one */
                f->rtt_synack_us = us_between(f->syn_ns, now);
                f->flags |= GH_FLOWF_SYNACK;
            }
            return;
        }
        if ((fl & (GH_TCP_SYN | GH_TCP_ACK)) != GH_TCP_ACK)
            return;
        /* only an ACK of the server's SYN completes the handshake (a forged
         * or stale one would make any injected segment "established") */
        if (!SEQ_GT(p->tcp_ack, f->fin_seq[d ^ 1]) || SEQ_GT(p->tcp_ack, peer->high_seq))
            return;
        f->tcp_state = GH_TCP_ESTABLISHED;
        f->flags |= GH_FLOWF_ESTABLISHED;
        if (f->flags & GH_FLOWF_SYNACK) {
            f->rtt_ack_us = us_between(f->syn_ns + (uint64_t)f->rtt_synack_us * 1000, now);
            f->flags |= GH_FLOWF_RTT;
        }
        break; /* the ACK may carry data or a FIN: go on below */
    case GH_TCP_ESTABLISHED:
    case GH_TCP_FIN_WAIT:
    case GH_TCP_CLOSING:
        break;
    default: /* closed, reset: final */
        return;
    }

    /* established and closing states */
    if (fl & GH_TCP_RST) {
        f->tcp_state = GH_TCP_RESET;
        return;
    }
    if ((fl & GH_TCP_ACK) && (peer->flags & GH_FLOWD_FIN) &&
        SEQ_GT(p->tcp_ack, f->fin_seq[d ^ 1]))
        peer->flags |= GH_FLOWD_FIN_ACKED;
    if ((fl & GH_TCP_FIN) && !(me->flags & GH_FLOWD_FIN)) {
        me->flags |= GH_FLOWD_FIN;
        f->fin_seq[d] = p->tcp_seq + p->payload_len;
    }
    uint8_t both = me->flags & peer->flags;
    if (both & GH_FLOWD_FIN)
        f->tcp_state = (both & GH_FLOWD_FIN_ACKED) ? GH_TCP_CLOSED : GH_TCP_CLOSING;
    else if ((me->flags | peer->flags) & GH_FLOWD_FIN)
        f->tcp_state = GH_TCP_FIN_WAIT;
}

static inline void flow_update(const gh_flow_table *t, gh_flow *f, const gh_packet *p, int d,
                               uint64_t now)
{
    f->pkts[d]++;
    f->bytes[d] += p->caplen;
    if (now > f->last_ns)
        f->last_ns = now;
    if (f->key.proto == IPPROTO_TCP_) {
        tcp_track(f, p, d, now, t->cfg.async_oneside);
    } else {
        if (f->pkts[d] == 1 && (f->key.proto == IPPROTO_ICMP_ || f->key.proto == IPPROTO_ICMPV6_)) {
            f->icmp_type[d] = p->icmp_type;
            f->icmp_code[d] = p->icmp_code;
        }
        if (f->pkts[d ^ 1])
            f->flags |= GH_FLOWF_ESTABLISHED;
    }
}

static void flow_init(gh_flow_table *t, gh_flow *f, const gh_flow_key *k, uint64_t h,
                      bool src_is_lo, const gh_packet *p, uint64_t now, uint64_t pkt_id)
{
    memset(f, 0, sizeof(*f));
    f->key = *k;
    f->hash = (uint32_t)h;
    f->start_ns = f->last_ns = now;
    f->flow_id = id_mix51(pkt_id ? pkt_id
                                 : ((uint64_t)t->cfg.worker_id << 40) |
                                       (++t->id_counter & ((1ull << 40) - 1)));
    f->tcp[0].min_win = f->tcp[1].min_win = UINT32_MAX;
    f->vlan_count = p->vlan_count > 2 ? 2 : p->vlan_count;
    for (unsigned i = 0; i < f->vlan_count; i++)
        f->vlan[i] = p->vlan_id[i];

    /* the client sends the SYN; a SYN/ACK comes from the server; otherwise
     * the first packet's sender is the client */
    bool sender_is_client = true;
    if (k->proto == IPPROTO_TCP_) {
        uint8_t fl = p->tcp_flags;
        if ((fl & (GH_TCP_SYN | GH_TCP_ACK)) == (GH_TCP_SYN | GH_TCP_ACK))
            sender_is_client = false;
        if (fl & GH_TCP_RST) {
            f->tcp_state = GH_TCP_NONE; /* never picked up on a RST */
        } else if ((fl & (GH_TCP_SYN | GH_TCP_ACK)) == GH_TCP_SYN) {
            f->tcp_state = GH_TCP_SYN_SENT;
        } else if (t->cfg.midstream) {
            f->tcp_state = GH_TCP_ESTABLISHED;
            f->flags |= GH_FLOWF_ESTABLISHED | GH_FLOWF_MIDSTREAM;
        } else {
            f->tcp_state = GH_TCP_NONE;
            f->flags |= GH_FLOWF_MIDSTREAM;
        }
    }
    if (sender_is_client == src_is_lo)
        f->flags |= GH_FLOWF_CLIENT_IS_LO;
}

static inline int packet_dir(const gh_flow *f, bool src_is_lo)
{
    return src_is_lo == !!(f->flags & GH_FLOWF_CLIENT_IS_LO) ? GH_FLOW_TOSERVER
                                                             : GH_FLOW_TOCLIENT;
}

/* A new SYN on a TCP flow that cannot continue starts a new connection. */
static inline bool tcp_reuse(const gh_flow *f, const gh_packet *p)
{
    if ((p->tcp_flags & (GH_TCP_SYN | GH_TCP_ACK | GH_TCP_RST)) != GH_TCP_SYN)
        return false;
    switch (f->tcp_state) {
    case GH_TCP_NONE:
    case GH_TCP_CLOSING:
    case GH_TCP_CLOSED:
    case GH_TCP_RESET:
        return true;
    default:
        return false;
    }
}

static gh_flow *find_icmp_error(gh_flow_table *t, const gh_packet *p, int *dir)
{
    if (!(p->layers & GH_LAYER_ICMP_INNER))
        return NULL; /* quote too short or not IP */
    gh_flow_key k;
    bool quoted_src_is_lo = key_from_icmp_inner(&k, p, t->cfg.vlan_tracking);
    gh_flow *f = index_find(t, &k, key_hash(&k, t->cfg.hash_seed));
    if (f)
        *dir = packet_dir(f, quoted_src_is_lo) ^ 1; /* the error travels back */
    return f;
}

gh_flow *gh_flow_find(gh_flow_table *t, const gh_packet *p, int *dir_out)
{
    int dir = GH_FLOW_NOFLOW;
    gh_flow *f = NULL;
    switch (classify(p)) {
    case PK_FLOW: {
        gh_flow_key k;
        bool src_is_lo = key_from_packet(&k, p, t->cfg.vlan_tracking);
        f = index_find(t, &k, key_hash(&k, t->cfg.hash_seed));
        if (f)
            dir = packet_dir(f, src_is_lo);
        break;
    }
    case PK_ICMP_ERROR:
        f = find_icmp_error(t, p, &dir);
        break;
    default:
        break;
    }
    if (dir_out)
        *dir_out = dir;
    return f;
}

/* The lookup proper, with the packet already classified and, for PK_FLOW,
 * its key and hash computed (by gh_flow_lookup or the burst's first pass). */
static gh_flow *lookup_classified(gh_flow_table *t, const gh_packet *p, int cls,
                                  const gh_flow_key *k, bool src_is_lo, uint64_t h,
                                  uint64_t now_ns, uint64_t pkt_id, int *dir_out)
{
    t->st.lookups++;
    switch (cls) {
    case PK_FLOW:
        break;
    case PK_ICMP_ERROR: {
        int dir;
        gh_flow *f = find_icmp_error(t, p, &dir);
        if (!f) {
            t->st.icmp_error_unmatched++;
            *dir_out = GH_FLOW_NOFLOW;
            return NULL;
        }
        /* counted in the quoted flow, but an error does not keep it alive */
        t->st.icmp_error_matched++;
        f->pkts[dir]++;
        f->bytes[dir] += p->caplen;
        *dir_out = dir;
        return f;
    }
    case PK_NOT_IP:
        t->st.noflow_not_ip++;
        *dir_out = GH_FLOW_NOFLOW;
        return NULL;
    case PK_FRAGMENT:
        t->st.noflow_fragment++;
        *dir_out = GH_FLOW_NOFLOW;
        return NULL;
    default:
        t->st.noflow_no_l4++;
        *dir_out = GH_FLOW_NOFLOW;
        return NULL;
    }

    gh_flow *f = index_find(t, k, h);
    if (f) {
        if (GH_UNLIKELY(flow_expired(t, f, now_ns))) {
            flow_end(t, f, GH_FLOW_END_TIMEOUT);
            f = NULL;
        } else if (GH_UNLIKELY(k->proto == IPPROTO_TCP_ && tcp_reuse(f, p))) {
            flow_end(t, f, GH_FLOW_END_TCP_REUSE);
            f = NULL;
        } else {
            int d = packet_dir(f, src_is_lo);
            uint8_t tcp0 = f->tcp_state;
            gh_flow_state fs0 = gh_flow_get_state(f);
            flow_update(t, f, p, d, now_ns);
            if (GH_UNLIKELY(f->tcp_state != tcp0 || gh_flow_get_state(f) != fs0)) {
                t->st.state[fs0]--;
                t->st.state[gh_flow_get_state(f)]++;
                if (k->proto == IPPROTO_TCP_) {
                    t->st.tcp_state[tcp0]--;
                    t->st.tcp_state[f->tcp_state]++;
                }
            }
            *dir_out = d;
            return f;
        }
    }

    f = flow_alloc(t, now_ns);
    if (GH_UNLIKELY(!f)) {
        t->st.pool_full++;
        *dir_out = GH_FLOW_FULL;
        return NULL;
    }
    index_grow(t, t->st.active); /* before f is live: it is inserted below */
    flow_init(t, f, k, h, src_is_lo, p, now_ns, pkt_id);
    index_insert(t, f, h);
    int d = packet_dir(f, src_is_lo);
    flow_update(t, f, p, d, now_ns);
    count_state(t, f, +1);
    t->st.created++;
    if (++t->st.active > t->st.active_max)
        t->st.active_max = t->st.active;
    *dir_out = d;
    return f;
}

gh_flow *gh_flow_lookup(gh_flow_table *t, const gh_packet *p, uint64_t now_ns, uint64_t pkt_id,
                        int *dir_out)
{
    int dummy;
    gh_flow_key k;
    bool src_is_lo = false;
    uint64_t h = 0;
    int cls = classify(p);
    if (cls == PK_FLOW) {
        src_is_lo = key_from_packet(&k, p, t->cfg.vlan_tracking);
        h = key_hash(&k, t->cfg.hash_seed);
    }
    return lookup_classified(t, p, cls, &k, src_is_lo, h, now_ns, pkt_id,
                             dir_out ? dir_out : &dummy);
}

/* Packets per prefetch round: enough misses in flight to hide DRAM
 * latency, few enough that the first prefetched lines are still cached. */
#define BURST_CHUNK 16

void gh_flow_lookup_burst(gh_flow_table *t, const gh_packet *const *pkts, size_t n,
                          const uint64_t *now_ns, const uint64_t *pkt_ids, gh_flow **flows,
                          int *dirs)
{
    gh_flow_lookup_burst_state(t, pkts, n, now_ns, pkt_ids, flows, dirs, NULL);
}

void gh_flow_lookup_burst_state(gh_flow_table *t, const gh_packet *const *pkts, size_t n,
                                const uint64_t *now_ns, const uint64_t *pkt_ids, gh_flow **flows,
                                int *dirs, bool *established)
{
    gh_flow_key k[BURST_CHUNK];
    uint64_t h[BURST_CHUNK];
    bool lo[BURST_CHUNK];
    int cls[BURST_CHUNK];
    for (size_t base = 0; base < n; base += BURST_CHUNK) {
        size_t m = n - base < BURST_CHUNK ? n - base : BURST_CHUNK;
        /* 1: hash every packet, prefetch its home bucket */
        for (size_t i = 0; i < m; i++) {
            const gh_packet *p = pkts[base + i];
            cls[i] = classify(p);
            lo[i] = false;
            h[i] = 0;
            if (cls[i] != PK_FLOW)
                continue;
            lo[i] = key_from_packet(&k[i], p, t->cfg.vlan_tracking);
            h[i] = key_hash(&k[i], t->cfg.hash_seed);
            __builtin_prefetch(&t->buckets[(uint32_t)h[i] & t->bmask]);
        }
        /* 2: prefetch the entry the signature points at (a hint only: the
         * lookups below may change the index, and then simply miss) */
        for (size_t i = 0; i < m; i++) {
            if (cls[i] != PK_FLOW)
                continue;
            const flow_bucket *bk = &t->buckets[(uint32_t)h[i] & t->bmask];
            uint16_t sig = (uint16_t)(h[i] >> 48);
            for (int s = 0; s < SLOTS; s++) {
                if (bk->sig[s] == sig && bk->idx[s]) {
                    const char *f = (const char *)&t->pool[bk->idx[s] - 1];
                    __builtin_prefetch(f, 1);
                    __builtin_prefetch(f + 64, 1);
                    break;
                }
            }
        }
        /* 3: the lookups, in packet order */
        for (size_t i = 0; i < m; i++) {
            size_t j = base + i;
            flows[j] = lookup_classified(t, pkts[j], cls[i], &k[i], lo[i], h[i], now_ns[j],
                                         pkt_ids ? pkt_ids[j] : 0, &dirs[j]);
            if (established)
                established[j] = flows[j] && gh_flow_is_established(flows[j]);
        }
    }
}

/* ---- expiry --------------------------------------------------------------- */

size_t gh_flow_table_expire(gh_flow_table *t, uint64_t now_ns)
{
    gh_flow_table_end_batch(t);
    size_t ended = 0;
    uint32_t n = t->cfg.expire_scan < t->bump ? t->cfg.expire_scan : t->bump;
    for (uint32_t i = 0; i < n; i++) {
        if (t->expire_hand >= t->bump)
            t->expire_hand = 0;
        gh_flow *f = &t->pool[t->expire_hand++];
        if (in_table(f) && flow_expired(t, f, now_ns)) {
            flow_end(t, f, GH_FLOW_END_TIMEOUT);
            ended++;
        }
    }
    return ended;
}

size_t gh_flow_table_flush(gh_flow_table *t, uint64_t now_ns)
{
    size_t ended = 0;
    for (uint32_t i = 0; i < t->bump; i++) {
        gh_flow *f = &t->pool[i];
        if (!in_table(f))
            continue;
        bool timed_out = now_ns && flow_expired(t, f, now_ns);
        flow_end(t, f, timed_out ? GH_FLOW_END_TIMEOUT : GH_FLOW_END_SHUTDOWN);
        ended++;
    }
    gh_flow_table_end_batch(t);
    return ended;
}

/* ---- self-check ------------------------------------------------------------ */

int gh_flow_table_check(const gh_flow_table *t, gh_error *err)
{
    uint32_t nb = t->bmask + 1;
    uint32_t *want = calloc(nb, sizeof(*want));
    uint8_t *seen = calloc(t->capacity ? t->capacity : 1, 1);
    int rc = GH_E_NOMEM;
    if (!want || !seen) {
        gh_error_set(err, rc, "out of memory");
        goto out;
    }
    rc = GH_E_FORMAT;
    uint32_t indexed = 0;
    for (uint32_t b = 0; b < nb; b++) {
        for (int s = 0; s < SLOTS; s++) {
            uint32_t i = t->buckets[b].idx[s];
            if (!i)
                continue;
            if (i > t->bump || seen[i - 1]) {
                gh_error_set(err, rc, "bucket %u slot %d: bad or duplicate entry %u", b, s, i);
                goto out;
            }
            seen[i - 1] = 1;
            const gh_flow *f = &t->pool[i - 1];
            uint64_t h = key_hash(&f->key, t->cfg.hash_seed);
            if (!in_table(f) || f->hash != (uint32_t)h ||
                t->buckets[b].sig[s] != (uint16_t)(h >> 48)) {
                gh_error_set(err, rc, "entry %u: not live or hash/signature mismatch", i - 1);
                goto out;
            }
            if (index_find(t, &f->key, h) != f) {
                gh_error_set(err, rc, "entry %u: not found by its key", i - 1);
                goto out;
            }
            /* every bucket from home up to here is on its probe path */
            for (uint32_t p = (uint32_t)h & t->bmask; p != b; p = (p + 1) & t->bmask)
                want[p]++;
            indexed++;
        }
    }
    for (uint32_t b = 0; b < nb; b++) {
        if (t->buckets[b].overflow != want[b]) {
            gh_error_set(err, rc, "bucket %u: overflow %u, expected %u", b,
                         t->buckets[b].overflow, want[b]);
            goto out;
        }
    }
    uint32_t live = 0, state[GH_FLOW_STATE_COUNT] = {0}, tcp[GH_TCP_STATE_COUNT] = {0};
    for (uint32_t i = 0; i < t->bump; i++) {
        const gh_flow *f = &t->pool[i];
        if (!in_table(f))
            continue;
        if (!seen[i]) {
            gh_error_set(err, rc, "entry %u: live but not indexed", i);
            goto out;
        }
        live++;
        state[gh_flow_get_state(f)]++;
        if (f->key.proto == IPPROTO_TCP_)
            tcp[f->tcp_state]++;
    }
    uint32_t nfree = 0, nlimbo = 0;
    for (uint32_t i = t->free_head; i && nfree <= t->bump; i = t->pool[i - 1].next)
        nfree++;
    for (uint32_t i = t->limbo_head; i && nlimbo <= t->bump; i = t->pool[i - 1].next)
        nlimbo++;
    if (live != indexed || live != t->st.active || live + nfree + nlimbo != t->bump) {
        gh_error_set(err, rc, "pool: %u live, %u indexed, %u active, %u free, %u limbo, %u used",
                     live, indexed, t->st.active, nfree, nlimbo, t->bump);
        goto out;
    }
    if (memcmp(state, t->st.state, sizeof(state)) || memcmp(tcp, t->st.tcp_state, sizeof(tcp))) {
        gh_error_set(err, rc, "per-state counters disagree with the entries");
        goto out;
    }
    rc = GH_OK;
out:
    free(want);
    free(seen);
    return rc;
}
