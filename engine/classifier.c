/* Packet classifier: partitioned multi-way decision trees.
 *
 * Design (DESIGN.md §5, "Header classification"):
 *  - Boxes are sorted by priority; a box's rank in that order is what the
 *    structure stores, so "best match" is "smallest rank".
 *  - Partition (as CutSplit, Li et al. 2018): a box is "small" in a field when
 *    its range covers at most the square root of the field's span (an IPv4
 *    prefix of /16 or longer, a port range of < 256 values). Greedily, the
 *    field in which most remaining boxes are small takes those boxes as one
 *    subset; the rest form a last subset. Inside a subset every box is narrow
 *    in one common field, so cutting on it replicates little: this is what
 *    keeps the wildcard-heavy fw sets from blowing up, as one tree would.
 *  - Each subset gets a decision tree of multi-way nodes (HyperSplit, Qi et
 *    al. 2009, with up to 8 children instead of 2): a node cuts one field at up
 *    to 7 points placed at the quantiles of the rule-weighted segments, on the
 *    field whose children hold the fewest rules (sum of squares: replication
 *    and imbalance both cost; a split must bring it below the node's size). A
 *    box covering a node's whole region drops every later box. Nodes with at
 *    most LEAF_MAX boxes become leaves; identical leaves are stored once.
 *  - Memory is bounded per subset (64 lines a box): a tree over budget is
 *    built again demanding more progress per split, at last as one leaf (a
 *    linear scan of that subset). The 24 ClassBench 1k/10k sets need < 2 MiB.
 *  - Lookup walks the subsets in order of their best rank and skips a subset
 *    once the match found so far beats everything in it.
 *
 * Memory: one flat array of 64-byte lines addressed by 32-bit references
 * (bit 31 leaf, bits 4..30 line, bits 0..3 the field a node cuts). A node is
 * one line: 7 sorted cut points (+inf in lane 7) and 8 child references; the
 * child is the number of cuts below the value, two SSE2 compares or one AVX2
 * compare. A leaf is a line of 8 ranks whose 8 "children" are the leaf itself,
 * so keys walking in lock step need no test for having arrived, followed by
 * one line per field holding the 8 boxes' lower bounds and widths side by
 * side: all 8 boxes are checked at once with no branch, the first match (the
 * lowest rank) picked by a bit scan. Unused lanes match everything with rank
 * "none". Leaves of more than 8 boxes (boxes no cut separates) chain further
 * blocks, flagged by bit 0 of the reference.
 *
 * Bursts classify GROUP keys in lock step, prefetching each key's next line
 * while the other keys step, so their cache misses overlap. No allocation and
 * no writes during lookup; AVX2 is used when the CPU has it (chosen at build). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__SSE2__) && defined(__GNUC__)
#include <immintrin.h>
#define CLS_X86 1
#endif

#include "classifier.h"

#define LEAF_BIT 0x80000000u
#define BIAS 0x80000000u      /* unsigned order -> signed order for SIMD compares */
#define LINE 16               /* words per 64-byte line */
#define NODE_CUTS 7
#define NODE_KIDS 8
#define FIELD_BITS 4          /* refs: line << 4 | field (node) or | more-blocks (leaf) */
#define FIELD_MASK ((1u << FIELD_BITS) - 1)
#define LEAF_MAX 8            /* split a node while it holds more boxes than this */
#define BLOCK 8               /* boxes per leaf block */
#define MAX_DEPTH 40
#define MAX_SUBSETS 8
#define MIN_SUBSET 16         /* fewer small boxes than this: no subset of their own */
#define GROUP 16              /* keys walked in lock step by the burst lookup */
#define NONE UINT32_MAX       /* "no rank" */
#define EMPTY_LEAF LEAF_BIT   /* line 0: a leaf without boxes */

typedef struct cls_subset {
    uint32_t root;     /* reference of the tree's root */
    uint32_t min_rank; /* best rank in the subset: skip it if we already beat this */
} cls_subset;

struct gh_classifier {
    /* hot: read by every lookup */
    const uint32_t *lines; /* LINE words each, 64-byte aligned */
    const uint32_t *prio;  /* per rank: the caller's priority */
    uint32_t (*one)(const gh_classifier *c, const uint32_t *key);
    void (*group)(const gh_classifier *c, const uint32_t *keys, size_t stride, unsigned n,
                  uint32_t *out);
    unsigned nfields, nsubsets;
    cls_subset subsets[MAX_SUBSETS];
    /* cold */
    const char *isa;
    size_t nranks, nlines, memory;
};

/* ---------------------------------------------------------------- lookup */

/* Line of a reference: (ref << 2) in 32 bits drops the leaf bit and turns
 * "line << 4" into a byte offset (lines are limited to 1 GiB). */
static inline const uint32_t *line_of(const gh_classifier *c, uint32_t ref)
{
    return (const uint32_t *)((const char *)c->lines + ((ref << 2) & ~63u));
}

/* Portable versions; vb is the field value ^ BIAS. */
static inline uint32_t node_next_scalar(const uint32_t *node, uint32_t vb)
{
    unsigned i = 0;
    for (unsigned k = 0; k < NODE_CUTS; k++)
        i += (int32_t)vb > (int32_t)node[k];
    return node[NODE_KIDS + (i & 7)];
}

static inline uint32_t leaf_block_scalar(const uint32_t *blk, const uint32_t *k, unsigned nf)
{
    for (unsigned i = 0; i < BLOCK; i++) {
        unsigned f = 0;
        while (f < nf && (k[f] - blk[LINE * (f + 1) + i]) <= (blk[LINE * (f + 1) + 8 + i] ^ BIAS))
            f++;
        if (f == nf)
            return blk[i];
    }
    return NONE;
}

#ifdef CLS_X86
static inline uint32_t node_next_sse2(const uint32_t *node, uint32_t vb)
{
    __m128i x = _mm_set1_epi32((int)vb);
    __m128i g0 = _mm_cmpgt_epi32(x, _mm_load_si128((const __m128i *)node));
    __m128i g1 = _mm_cmpgt_epi32(x, _mm_load_si128((const __m128i *)(node + 4)));
    /* cuts ascend and lane 7 is +inf: the mask is a run of ones from lane 0;
     * "& 7" for leaf lines, whose lanes hold ranks (every child is the leaf) */
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_packs_epi32(g0, g1));
    return node[NODE_KIDS + (((unsigned)__builtin_ctz(~m) >> 1) & 7)];
}

/* Rank of the first box of the block containing @p k, or NONE. */
static inline uint32_t leaf_block_sse2(const uint32_t *blk, const uint32_t *k, unsigned nf)
{
    const __m128i bias = _mm_set1_epi32((int)BIAS);
    __m128i bad0 = _mm_setzero_si128(), bad1 = _mm_setzero_si128();
    for (unsigned f = 0; f < nf; f++) {
        const __m128i *l = (const __m128i *)(blk + LINE * (f + 1));
        __m128i x = _mm_set1_epi32((int)k[f]);
        __m128i d0 = _mm_xor_si128(_mm_sub_epi32(x, _mm_load_si128(l)), bias);
        __m128i d1 = _mm_xor_si128(_mm_sub_epi32(x, _mm_load_si128(l + 1)), bias);
        bad0 = _mm_or_si128(bad0, _mm_cmpgt_epi32(d0, _mm_load_si128(l + 2)));
        bad1 = _mm_or_si128(bad1, _mm_cmpgt_epi32(d1, _mm_load_si128(l + 3)));
    }
    unsigned m = ~(unsigned)_mm_movemask_epi8(_mm_packs_epi32(bad0, bad1)) & 0xffff;
    uint32_t r = blk[((unsigned)__builtin_ctz(m | 0x10000) >> 1) & 7];
    return m ? r : NONE;
}

#define CLS_AVX2 __attribute__((target("avx2,bmi")))

CLS_AVX2 static inline uint32_t node_next_avx2(const uint32_t *node, uint32_t vb)
{
    __m256i g = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)vb),
                                   _mm256_load_si256((const __m256i *)node));
    unsigned m = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(g));
    return node[NODE_KIDS + (_tzcnt_u32(~m) & 7)];
}

CLS_AVX2 static inline uint32_t leaf_block_avx2(const uint32_t *blk, const uint32_t *k, unsigned nf)
{
    const __m256i bias = _mm256_set1_epi32((int)BIAS);
    __m256i bad = _mm256_setzero_si256();
    for (unsigned f = 0; f < nf; f++) {
        const __m256i *l = (const __m256i *)(blk + LINE * (f + 1));
        __m256i d = _mm256_sub_epi32(_mm256_set1_epi32((int)k[f]), _mm256_load_si256(l));
        d = _mm256_xor_si256(d, bias);
        bad = _mm256_or_si256(bad, _mm256_cmpgt_epi32(d, _mm256_load_si256(l + 1)));
    }
    unsigned m = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(bad)) & 0xff;
    uint32_t r = blk[_tzcnt_u32(m) & 7];
    return m ? r : NONE;
}
#endif

/*
 * The lookup loops, instantiated per instruction set (the target attribute
 * must be on the function that inlines the intrinsics) and per field count
 * (a constant NF lets the compiler unroll the field loops). Keys are read in
 * place, STRIDE words apart: a leaf reference carries 0 or 1 in its field
 * bits, so keys need at least 2 words (the caller pads 1-field keys).
 *
 * LEAF_EVAL: best of @p best and the first box of leaf @p ref containing @p k;
 * blocks after the first only when bit 0 of the ref says there are more and
 * none matched so far (ranks ascend through the blocks).
 */
#define CLS_DEFINE_LOOKUP(SFX, ATTR, NODE_NEXT, LEAF_BLOCK, NF)                                  \
    ATTR static inline uint32_t leaf_eval_##SFX(const gh_classifier *c, uint32_t ref,            \
                                                const uint32_t *k, uint32_t best)                \
    {                                                                                             \
        const unsigned nf = (NF);                                                                 \
        const uint32_t *blk = line_of(c, ref);                                                    \
        uint32_t r = LEAF_BLOCK(blk, k, nf);                                                      \
        if (GH_UNLIKELY(ref & 1)) {                                                               \
            while (r == NONE && blk[NODE_KIDS]) {                                                 \
                blk += LINE * (nf + 1);                                                           \
                r = LEAF_BLOCK(blk, k, nf);                                                       \
            }                                                                                     \
        }                                                                                         \
        return r < best ? r : best;                                                               \
    }                                                                                             \
                                                                                                  \
    ATTR static uint32_t lookup_one_##SFX(const gh_classifier *c, const uint32_t *k)             \
    {                                                                                             \
        uint32_t best = NONE;                                                                     \
        for (unsigned s = 0; s < c->nsubsets && c->subsets[s].min_rank < best; s++) {            \
            uint32_t ref = c->subsets[s].root;                                                    \
            while (!(ref & LEAF_BIT))                                                             \
                ref = NODE_NEXT(line_of(c, ref), k[ref & FIELD_MASK] ^ BIAS);                     \
            best = leaf_eval_##SFX(c, ref, k, best);                                              \
        }                                                                                         \
        return best;                                                                              \
    }                                                                                             \
                                                                                                  \
    /* Per subset, all keys step together until every one is at a leaf (a leaf \
     * steps to itself); a key whose match already beats the subset starts at \
     * the empty leaf. Then each key checks its leaf. */                                          \
    ATTR static void lookup_group_##SFX(const gh_classifier *c, const uint32_t *keys,            \
                                        size_t stride, unsigned g, uint32_t *out)                 \
    {                                                                                             \
        uint32_t best[GROUP], ref[GROUP];                                                         \
        for (unsigned j = 0; j < g; j++)                                                          \
            best[j] = NONE;                                                                       \
        for (unsigned s = 0; s < c->nsubsets; s++) {                                              \
            const uint32_t root = c->subsets[s].root, min_rank = c->subsets[s].min_rank;          \
            uint32_t all = LEAF_BIT, any = 0;                                                     \
            for (unsigned j = 0; j < g; j++) {                                                    \
                uint32_t skip = 0u - (uint32_t)(best[j] <= min_rank);                             \
                ref[j] = (root & ~skip) | (EMPTY_LEAF & skip);                                    \
                all &= ref[j];                                                                    \
                any |= ~skip;                                                                     \
            }                                                                                     \
            if (!any) /* every key beats this subset, and so the later ones */                    \
                break;                                                                            \
            while (!(all & LEAF_BIT)) {                                                           \
                all = LEAF_BIT;                                                                   \
                const uint32_t *k = keys;                                                         \
                for (unsigned j = 0; j < g; j++, k += stride) {                                   \
                    uint32_t r = ref[j];                                                          \
                    r = NODE_NEXT(line_of(c, r), k[r & FIELD_MASK] ^ BIAS);                       \
                    __builtin_prefetch(line_of(c, r));                                            \
                    ref[j] = r;                                                                   \
                    all &= r;                                                                     \
                }                                                                                 \
            }                                                                                     \
            for (unsigned j = 0; j < g; j++)                                                      \
                best[j] = leaf_eval_##SFX(c, ref[j], keys + j * stride, best[j]);                 \
        }                                                                                         \
        for (unsigned j = 0; j < g; j++)                                                          \
            out[j] = best[j];                                                                     \
    }

#define CLS_NO_ATTR
#ifdef CLS_X86
CLS_DEFINE_LOOKUP(sse2_5, CLS_NO_ATTR, node_next_sse2, leaf_block_sse2, 5)
CLS_DEFINE_LOOKUP(sse2_11, CLS_NO_ATTR, node_next_sse2, leaf_block_sse2, 11)
CLS_DEFINE_LOOKUP(sse2_n, CLS_NO_ATTR, node_next_sse2, leaf_block_sse2, c->nfields)
CLS_DEFINE_LOOKUP(avx2_5, CLS_AVX2, node_next_avx2, leaf_block_avx2, 5)
CLS_DEFINE_LOOKUP(avx2_11, CLS_AVX2, node_next_avx2, leaf_block_avx2, 11)
CLS_DEFINE_LOOKUP(avx2_n, CLS_AVX2, node_next_avx2, leaf_block_avx2, c->nfields)
#endif
CLS_DEFINE_LOOKUP(scalar_n, CLS_NO_ATTR, node_next_scalar, leaf_block_scalar, c->nfields)

/* Chosen once per classifier: instruction set and field count. GH_CLS_ISA
 * (scalar, sse2) forces a lesser one, for tests and comparisons. */
static void pick_lookup(gh_classifier *c)
{
    const char *force = getenv("GH_CLS_ISA");
    if (force && strcmp(force, "scalar") == 0) {
        c->one = lookup_one_scalar_n;
        c->group = lookup_group_scalar_n;
        c->isa = "scalar";
        return;
    }
#ifdef CLS_X86
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
                !(force && strcmp(force, "sse2") == 0);
    const unsigned nf = c->nfields;
    if (avx2 && nf == 5) {
        c->one = lookup_one_avx2_5;
        c->group = lookup_group_avx2_5;
    } else if (avx2 && nf == 11) {
        c->one = lookup_one_avx2_11;
        c->group = lookup_group_avx2_11;
    } else if (avx2) {
        c->one = lookup_one_avx2_n;
        c->group = lookup_group_avx2_n;
    } else if (nf == 5) {
        c->one = lookup_one_sse2_5;
        c->group = lookup_group_sse2_5;
    } else if (nf == 11) {
        c->one = lookup_one_sse2_11;
        c->group = lookup_group_sse2_11;
    } else {
        c->one = lookup_one_sse2_n;
        c->group = lookup_group_sse2_n;
    }
    c->isa = avx2 ? "avx2" : "sse2";
#else
    c->one = lookup_one_scalar_n;
    c->group = lookup_group_scalar_n;
    c->isa = "scalar";
#endif
}

uint32_t gh_cls_lookup(const gh_classifier *c, const uint32_t *key)
{
    /* one key stops at its leaf: it never reads the field bits of a leaf ref */
    uint32_t best = c->one(c, key);
    return best == NONE ? GH_CLS_NOMATCH : c->prio[best];
}

void gh_cls_lookup_burst(const gh_classifier *c, const uint32_t *keys, size_t n, uint32_t *out)
{
    const unsigned nf = c->nfields;
    for (size_t i = 0; i < n; i += GROUP) {
        unsigned g = (unsigned)(n - i < GROUP ? n - i : GROUP);
        if (GH_UNLIKELY(nf == 1)) { /* keys at their leaf read field 0 or 1 */
            uint32_t pad[2 * GROUP];
            for (unsigned j = 0; j < g; j++) {
                pad[2 * j] = keys[i + j];
                pad[2 * j + 1] = 0;
            }
            c->group(c, pad, 2, g, out + i);
        } else {
            c->group(c, keys + i * nf, nf, g, out + i);
        }
        for (unsigned j = 0; j < g; j++)
            out[i + j] = out[i + j] == NONE ? GH_CLS_NOMATCH : c->prio[out[i + j]];
    }
}

size_t gh_cls_memory(const gh_classifier *c)
{
    return c ? c->memory : 0;
}

unsigned gh_cls_nfields(const gh_classifier *c)
{
    return c->nfields;
}

void gh_cls_free(gh_classifier *c)
{
    if (!c)
        return;
    free((void *)c->lines);
    free((void *)c->prio);
    free(c);
}

uint32_t gh_cls_linear_lookup(const gh_cls_rule *rules, size_t n, unsigned nfields,
                              const uint32_t *key)
{
    for (size_t i = 0; i < n; i++) {
        const gh_cls_rule *r = &rules[i];
        unsigned f = 0;
        while (f < nfields && r->lo[f] <= key[f] && key[f] <= r->hi[f])
            f++;
        if (f == nfields)
            return r->priority;
    }
    return GH_CLS_NOMATCH;
}

/* ----------------------------------------------------------------- build */

typedef struct leaf_entry {
    uint32_t hash, line, n;
} leaf_entry;

typedef struct bctx {
    unsigned nf;
    const uint32_t *lo, *hi; /* [rank * nf + field] */
    uint32_t *lines;
    size_t nlines, cap_lines;
    leaf_entry *htab; /* leaf dedup; line 0 = empty slot */
    size_t hcap, hcount;
    uint64_t *ev; /* scratch for cut selection */
    size_t cap_ev;
    size_t limit_lines;  /* hard limit for the whole classifier */
    size_t budget_lines; /* soft limit for the subset being built */
    double progress;     /* a split must bring the cost below progress * boxes */
    int err;             /* GH_E_*, or OVER_BUDGET */
} bctx;

#define OVER_BUDGET 1

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

/* @p n more lines; returns the first, or 0 with b->err set. */
static size_t new_lines(bctx *b, size_t n)
{
    if (b->nlines + n > b->budget_lines) {
        b->err = b->nlines + n > b->limit_lines ? GH_E_LIMIT : OVER_BUDGET;
        return 0;
    }
    if (!grow((void **)&b->lines, &b->cap_lines, b->nlines + n, LINE * sizeof(uint32_t))) {
        b->err = GH_E_NOMEM;
        return 0;
    }
    size_t at = b->nlines;
    b->nlines += n;
    memset(b->lines + at * LINE, 0, n * LINE * sizeof(uint32_t));
    return at;
}

static uint32_t hash_ranks(const uint32_t *r, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++) {
        h ^= r[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return (uint32_t)h;
}

/* Write the leaf blocks for ranks @p R at line @p at (see the top comment). */
static void fill_leaf(bctx *b, size_t at, const uint32_t *R, size_t nr)
{
    const unsigned nf = b->nf;
    size_t nblk = nr ? (nr + BLOCK - 1) / BLOCK : 1;
    for (size_t k = 0; k < nblk; k++) {
        uint32_t *blk = b->lines + (at + k * (nf + 1)) * LINE;
        for (unsigned i = 0; i < BLOCK; i++) {
            size_t x = k * BLOCK + i;
            blk[i] = x < nr ? R[x] : NONE;
            for (unsigned f = 0; f < nf; f++) {
                uint32_t lo = x < nr ? b->lo[(size_t)R[x] * nf + f] : 0;
                uint32_t hi = x < nr ? b->hi[(size_t)R[x] * nf + f] : UINT32_MAX;
                blk[LINE * (f + 1) + i] = lo;
                blk[LINE * (f + 1) + 8 + i] = (hi - lo) ^ BIAS;
            }
        }
        /* first block: its "children" are the leaf itself (lock-step walk);
         * later blocks: word 8 says whether another block follows */
        uint32_t self = LEAF_BIT | (uint32_t)at << FIELD_BITS | (nblk > 1);
        for (unsigned i = 0; i < NODE_KIDS; i++)
            blk[NODE_KIDS + i] = k == 0 ? self : 0;
        if (k > 0)
            blk[NODE_KIDS] = k + 1 < nblk;
    }
}

/* A leaf holding ranks @p R (ascending); identical leaves are shared. */
static uint32_t make_leaf(bctx *b, const uint32_t *R, size_t nr)
{
    const unsigned nf = b->nf;
    if (nr == 0)
        return EMPTY_LEAF;
    if (b->hcount * 2 >= b->hcap) {
        size_t nc = b->hcap ? b->hcap * 2 : 4096;
        leaf_entry *t = calloc(nc, sizeof(*t));
        if (!t) {
            b->err = GH_E_NOMEM;
            return EMPTY_LEAF;
        }
        for (size_t i = 0; i < b->hcap; i++) {
            if (!b->htab[i].line)
                continue;
            size_t h = b->htab[i].hash & (nc - 1);
            while (t[h].line)
                h = (h + 1) & (nc - 1);
            t[h] = b->htab[i];
        }
        free(b->htab);
        b->htab = t;
        b->hcap = nc;
    }
    uint32_t hv = hash_ranks(R, nr);
    size_t h = hv & (b->hcap - 1);
    for (; b->htab[h].line; h = (h + 1) & (b->hcap - 1)) {
        const leaf_entry *e = &b->htab[h];
        if (e->hash != hv || e->n != nr)
            continue;
        size_t i = 0;
        while (i < nr && b->lines[(e->line + (i / BLOCK) * (nf + 1)) * LINE + i % BLOCK] == R[i])
            i++;
        if (i == nr)
            return b->lines[e->line * LINE + NODE_KIDS]; /* its self reference */
    }
    size_t nblk = nr ? (nr + BLOCK - 1) / BLOCK : 1;
    size_t at = new_lines(b, nblk * (nf + 1));
    if (!at)
        return EMPTY_LEAF;
    fill_leaf(b, at, R, nr);
    b->htab[h] = (leaf_entry){hv, (uint32_t)at, (uint32_t)nr};
    b->hcount++;
    return b->lines[at * LINE + NODE_KIDS];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static inline uint32_t max32(uint32_t a, uint32_t b) { return a > b ? a : b; }
static inline uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* Child index of value @p v among sorted @p cuts: number of cuts below v. */
static inline unsigned cut_index(const uint32_t *cuts, unsigned ncuts, uint32_t v)
{
    unsigned i = 0;
    while (i < ncuts && v > cuts[i])
        i++;
    return i;
}

static double eval_field(bctx *b, const uint32_t *R, size_t nr, unsigned f, uint32_t rlo,
                         uint32_t rhi, uint32_t *cuts, unsigned *ncuts)
{
    const unsigned nf = b->nf;
    if (!grow((void **)&b->ev, &b->cap_ev, 2 * nr, sizeof(uint64_t))) {
        b->err = GH_E_NOMEM;
        return -1;
    }
    size_t ne = 0;
    uint64_t base = 0; /* boxes starting at rlo */
    for (size_t i = 0; i < nr; i++) {
        uint32_t a = max32(b->lo[(size_t)R[i] * nf + f], rlo);
        uint32_t z = min32(b->hi[(size_t)R[i] * nf + f], rhi);
        if (a > rlo)
            b->ev[ne++] = (uint64_t)a << 1 | 1;
        else
            base++;
        if (z < rhi)
            b->ev[ne++] = (uint64_t)(z + 1) << 1;
    }
    if (ne == 0)
        return -1;
    qsort(b->ev, ne, sizeof(uint64_t), cmp_u64);
    /* First pass: total weight. Segment j runs from one distinct event value
     * to the next; its weight is the number of boxes covering it. */
    uint64_t total = 0, cur = base;
    size_t nseg = 1;
    for (size_t i = 0; i < ne;) {
        uint32_t p = (uint32_t)(b->ev[i] >> 1);
        total += cur;
        while (i < ne && (uint32_t)(b->ev[i] >> 1) == p) {
            if (b->ev[i] & 1)
                cur++;
            else
                cur--;
            i++;
        }
        nseg++;
    }
    total += cur;
    unsigned K = nseg < NODE_KIDS ? (unsigned)nseg : NODE_KIDS;
    /* Second pass: cut where the cumulative weight crosses total * k / K. */
    unsigned nc = 0, k = 1;
    uint64_t cum = 0;
    cur = base;
    for (size_t i = 0; i < ne && nc < K - 1;) {
        uint32_t p = (uint32_t)(b->ev[i] >> 1);
        cum += cur; /* segment ending at p - 1 */
        if (cum * K >= total * k) {
            cuts[nc++] = p - 1;
            while (k < K && cum * K >= total * k)
                k++;
        }
        while (i < ne && (uint32_t)(b->ev[i] >> 1) == p) {
            if (b->ev[i] & 1)
                cur++;
            else
                cur--;
            i++;
        }
    }
    if (nc == 0) {
        /* all the weight in the first segment: cut right after it */
        cuts[nc++] = (uint32_t)(b->ev[0] >> 1) - 1;
    }
    *ncuts = nc;
    uint64_t cnt[NODE_KIDS] = {0};
    for (size_t i = 0; i < nr; i++) {
        uint32_t a = max32(b->lo[(size_t)R[i] * nf + f], rlo);
        uint32_t z = min32(b->hi[(size_t)R[i] * nf + f], rhi);
        unsigned ca = cut_index(cuts, nc, a), cz = cut_index(cuts, nc, z);
        for (unsigned j = ca; j <= cz; j++)
            cnt[j]++;
    }
    double cost = 0;
    for (unsigned j = 0; j <= nc; j++)
        cost += (double)cnt[j] * (double)cnt[j];
    return cost / (double)nr;
}

static bool covers(const bctx *b, uint32_t r, const uint32_t *rlo, const uint32_t *rhi)
{
    for (unsigned f = 0; f < b->nf; f++)
        if (b->lo[(size_t)r * b->nf + f] > rlo[f] || b->hi[(size_t)r * b->nf + f] < rhi[f])
            return false;
    return true;
}

static uint32_t build_node(bctx *b, const uint32_t *R, size_t nr, const uint32_t *rlo,
                           const uint32_t *rhi, unsigned depth)
{
    const unsigned nf = b->nf;
    if (b->err)
        return EMPTY_LEAF;
    /* a box covering the whole region hides every later one */
    for (size_t i = 0; i < nr; i++) {
        if (covers(b, R[i], rlo, rhi)) {
            nr = i + 1;
            break;
        }
    }
    if (nr <= LEAF_MAX || depth >= MAX_DEPTH)
        return make_leaf(b, R, nr);

    double best_cost = b->progress * (double)nr;
    unsigned best_f = 0, best_nc = 0;
    uint32_t best_cuts[NODE_CUTS], cuts[NODE_CUTS];
    for (unsigned f = 0; f < nf; f++) {
        if (rlo[f] == rhi[f])
            continue;
        unsigned nc = 0;
        double cost = eval_field(b, R, nr, f, rlo[f], rhi[f], cuts, &nc);
        if (b->err)
            return EMPTY_LEAF;
        if (cost >= 0 && cost < best_cost) {
            best_cost = cost;
            best_f = f;
            best_nc = nc;
            memcpy(best_cuts, cuts, sizeof(cuts));
        }
    }
    if (best_nc == 0) /* no field makes progress: a long leaf */
        return make_leaf(b, R, nr);

    size_t at = new_lines(b, 1);
    uint32_t *child = at ? malloc(nr * sizeof(*child)) : NULL;
    if (!child) {
        if (!b->err)
            b->err = GH_E_NOMEM;
        return EMPTY_LEAF;
    }
    uint32_t clo[GH_CLS_MAX_FIELDS], chi[GH_CLS_MAX_FIELDS], kids[NODE_KIDS];
    memcpy(clo, rlo, nf * sizeof(*rlo));
    memcpy(chi, rhi, nf * sizeof(*rhi));
    const unsigned f = best_f;
    for (unsigned j = 0; j <= best_nc; j++) {
        clo[f] = j == 0 ? rlo[f] : best_cuts[j - 1] + 1;
        chi[f] = j == best_nc ? rhi[f] : best_cuts[j];
        size_t nch = 0;
        for (size_t i = 0; i < nr; i++)
            if (b->lo[(size_t)R[i] * nf + f] <= chi[f] && b->hi[(size_t)R[i] * nf + f] >= clo[f])
                child[nch++] = R[i];
        kids[j] = build_node(b, child, nch, clo, chi, depth + 1);
    }
    free(child);
    if (b->err)
        return EMPTY_LEAF;
    uint32_t *node = b->lines + at * LINE;
    for (unsigned j = 0; j < NODE_CUTS + 1; j++)
        node[j] = (j < best_nc ? best_cuts[j] : UINT32_MAX) ^ BIAS;
    for (unsigned j = 0; j < NODE_KIDS; j++)
        node[NODE_KIDS + j] = kids[j < best_nc + 1 ? j : best_nc];
    return (uint32_t)(at << FIELD_BITS) | f;
}

/* Forget the leaves from line @p from on (a subset being built again). */
static void drop_leaves_from(bctx *b, size_t from)
{
    size_t keep = 0;
    for (size_t i = 0; i < b->hcap; i++)
        if (b->htab[i].line && b->htab[i].line < from)
            b->htab[keep++] = b->htab[i];
    memset(b->htab + keep, 0, (b->hcap - keep) * sizeof(*b->htab));
    b->hcount = keep;
    for (size_t i = 0; i < keep; i++) { /* reinsert the survivors */
        leaf_entry e = b->htab[i];
        b->htab[i].line = 0;
        size_t h = e.hash & (b->hcap - 1);
        while (b->htab[h].line)
            h = (h + 1) & (b->hcap - 1);
        b->htab[h] = e;
    }
}

/* The tree of one subset of @p m boxes, within a memory budget of 64 lines
 * per box: over it, build again demanding twice the progress per split, and
 * at last fall back to one leaf (a linear scan of the subset, m / 8 blocks). */
static uint32_t build_subset(bctx *b, const uint32_t *R, size_t m, const uint32_t *rlo,
                             const uint32_t *rhi)
{
    const size_t start = b->nlines;
    b->progress = 1.0;
    for (int attempt = 0;; attempt++) {
        /* the last attempt, one leaf, needs m / 8 + 1 blocks: give it room */
        b->budget_lines = b->progress > 0 ? start + 4096 + 64 * m : b->limit_lines;
        if (b->budget_lines > b->limit_lines)
            b->budget_lines = b->limit_lines;
        uint32_t root = build_node(b, R, m, rlo, rhi, 0);
        if (b->err != OVER_BUDGET)
            return root;
        b->err = 0;
        b->nlines = start;
        drop_leaves_from(b, start);
        b->progress = attempt < 4 ? b->progress * 0.5 : 0.0; /* 0: no split qualifies */
    }
}

/* Bits needed for the span of field values the boxes use. */
static unsigned span_bits(uint32_t lo, uint32_t hi)
{
    uint32_t s = hi - lo;
    return s ? 32u - (unsigned)__builtin_clz(s) : 0;
}

static void *alloc_aligned(size_t bytes)
{
    size_t sz = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, sz ? sz : 64);
}

typedef struct prio_idx {
    uint32_t prio;
    uint32_t idx;
} prio_idx;

static int cmp_prio_idx(const void *a, const void *b)
{
    const prio_idx *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static bool small_in(const uint32_t *lo, const uint32_t *hi, size_t r, unsigned nf, unsigned f,
                     const unsigned *fbits)
{
    return fbits[f] >= 12 && hi[r * nf + f] - lo[r * nf + f] < (1u << (fbits[f] / 2));
}

gh_classifier *gh_cls_build(const gh_cls_rule *rules, size_t n, unsigned nfields, gh_error *err)
{
    if (nfields < 1 || nfields > GH_CLS_MAX_FIELDS || (n && !rules)) {
        gh_error_set(err, GH_E_INVAL, "classifier: %u fields (1..%d)%s", nfields,
                     GH_CLS_MAX_FIELDS, n && !rules ? ", no rules" : "");
        return NULL;
    }
    if (n >= (size_t)1 << 30) {
        gh_error_set(err, GH_E_LIMIT, "classifier: %zu boxes (limit %u)", n, 1u << 30);
        return NULL;
    }
    gh_classifier *c = calloc(1, sizeof(*c));
    prio_idx *order = malloc((n ? n : 1) * sizeof(*order));
    bctx b = {.nf = nfields};
    uint32_t *lo = NULL, *hi = NULL, *ranks = NULL, *prio = NULL;
    uint8_t *subset_of = NULL;
    if (!c || !order)
        goto nomem;
    c->nfields = nfields;
    pick_lookup(c);

    /* rank = position in (priority, input order); empty boxes dropped */
    size_t nr = 0;
    for (size_t i = 0; i < n; i++) {
        bool empty = false;
        for (unsigned f = 0; f < nfields; f++)
            empty |= rules[i].lo[f] > rules[i].hi[f];
        if (!empty)
            order[nr++] = (prio_idx){rules[i].priority, (uint32_t)i};
    }
    qsort(order, nr, sizeof(*order), cmp_prio_idx);
    c->nranks = nr;
    lo = malloc((nr ? nr : 1) * nfields * sizeof(*lo));
    hi = malloc((nr ? nr : 1) * nfields * sizeof(*hi));
    prio = malloc((nr ? nr : 1) * sizeof(*prio));
    c->prio = prio;
    ranks = malloc((nr ? nr : 1) * sizeof(*ranks));
    subset_of = malloc(nr ? nr : 1);
    if (!lo || !hi || !prio || !ranks || !subset_of)
        goto nomem;
    for (size_t r = 0; r < nr; r++) {
        const gh_cls_rule *x = &rules[order[r].idx];
        prio[r] = x->priority;
        memcpy(lo + r * nfields, x->lo, nfields * sizeof(*lo));
        memcpy(hi + r * nfields, x->hi, nfields * sizeof(*hi));
    }
    b.lo = lo;
    b.hi = hi;
    b.limit_lines = ((size_t)1 << 30) / (LINE * sizeof(uint32_t)); /* 1 GiB: see line_of */
    /* line 0: the empty leaf (every lane matches, with rank "none") */
    if (!grow((void **)&b.lines, &b.cap_lines, nfields + 1, LINE * sizeof(uint32_t)))
        goto nomem;
    b.nlines = nfields + 1;
    fill_leaf(&b, 0, NULL, 0);

    /* Partition: greedily, the field most boxes are small in takes them. */
    unsigned fbits[GH_CLS_MAX_FIELDS];
    for (unsigned f = 0; f < nfields; f++) {
        uint32_t mn = UINT32_MAX, mx = 0;
        for (size_t r = 0; r < nr; r++) {
            mn = min32(mn, lo[r * nfields + f]);
            mx = max32(mx, hi[r * nfields + f]);
        }
        fbits[f] = nr ? span_bits(mn, mx) : 0;
    }
    memset(subset_of, 0xff, nr);
    unsigned nsub = 0;
    for (; nsub < MAX_SUBSETS - 1; nsub++) {
        size_t cnt[GH_CLS_MAX_FIELDS] = {0};
        for (size_t r = 0; r < nr; r++)
            for (unsigned f = 0; f < nfields && subset_of[r] == 0xff; f++)
                cnt[f] += small_in(lo, hi, r, nfields, f, fbits);
        unsigned bf = 0;
        for (unsigned f = 1; f < nfields; f++)
            if (cnt[f] > cnt[bf])
                bf = f;
        if (cnt[bf] < MIN_SUBSET)
            break;
        for (size_t r = 0; r < nr; r++)
            if (subset_of[r] == 0xff && small_in(lo, hi, r, nfields, bf, fbits))
                subset_of[r] = (uint8_t)nsub;
    }
    bool rest = false;
    for (size_t r = 0; r < nr; r++) {
        if (subset_of[r] == 0xff) {
            subset_of[r] = (uint8_t)nsub;
            rest = true;
        }
    }
    nsub += rest;

    uint32_t full_lo[GH_CLS_MAX_FIELDS], full_hi[GH_CLS_MAX_FIELDS];
    for (unsigned f = 0; f < nfields; f++) {
        full_lo[f] = 0;
        full_hi[f] = UINT32_MAX;
    }
    for (unsigned s = 0; s < nsub && !b.err; s++) {
        size_t m = 0;
        for (size_t r = 0; r < nr; r++)
            if (subset_of[r] == s)
                ranks[m++] = (uint32_t)r;
        c->subsets[s].min_rank = ranks[0];
        c->subsets[s].root = build_subset(&b, ranks, m, full_lo, full_hi);
    }
    c->nsubsets = nsub;
    if (b.err) {
        if (b.err == GH_E_NOMEM)
            goto nomem;
        gh_error_set(err, b.err, "classifier: %zu boxes need more than %zu MiB", nr,
                     b.limit_lines * LINE * sizeof(uint32_t) >> 20);
        goto fail;
    }
    /* subsets in order of their best rank, for the early stop */
    for (unsigned i = 1; i < nsub; i++)
        for (unsigned j = i; j > 0 && c->subsets[j].min_rank < c->subsets[j - 1].min_rank; j--) {
            cls_subset t = c->subsets[j];
            c->subsets[j] = c->subsets[j - 1];
            c->subsets[j - 1] = t;
        }

    /* the final array, exactly sized and aligned */
    uint32_t *lines = alloc_aligned(b.nlines * LINE * sizeof(uint32_t));
    if (!lines)
        goto nomem;
    memcpy(lines, b.lines, b.nlines * LINE * sizeof(uint32_t));
    c->lines = lines;
    c->nlines = b.nlines;
    c->memory = sizeof(*c) + b.nlines * LINE * sizeof(uint32_t) + nr * sizeof(uint32_t);
    free(b.lines);
    free(b.htab);
    free(b.ev);
    free(lo);
    free(hi);
    free(ranks);
    free(subset_of);
    free(order);
    return c;

nomem:
    gh_error_set(err, GH_E_NOMEM, "classifier: out of memory building over %zu boxes", n);
fail:
    free(b.lines);
    free(b.htab);
    free(b.ev);
    free(lo);
    free(hi);
    free(ranks);
    free(subset_of);
    free(order);
    gh_cls_free(c);
    return NULL;
}
