/* Classifier tests: the decision-tree classifier against a linear first-match
 * scan (gh_cls_linear_lookup) on random box sets and keys, plus the ClassBench
 * acl1/fw1/ipc1 100-rule sets with their traces (skipped without the corpus).
 *
 * Every random case derives from one base seed, printed at the start; rerun
 * with GH_TEST_SEED=<seed> to reproduce a failure (the failing case also prints
 * its own seed, box set size and key). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifier.h"

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rnd32(void)
{
    return (uint32_t)(rnd() >> 32);
}

/* uniform in [0, n), n > 0 */
static uint32_t below(uint32_t n)
{
    return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

static uint64_t base_seed(void)
{
    static uint64_t seed;
    static int done;
    if (!done) {
        const char *e = getenv("GH_TEST_SEED");
        seed = e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
        fprintf(stderr, "test_classifier: GH_TEST_SEED=%" PRIu64 "\n", seed);
        done = 1;
    }
    return seed;
}

/* --------------------------------------------------------- random boxes */

/* Per field, the values boxes are drawn from: tiny (many overlaps and shared
 * boundaries), port-sized, or the full 32 bits. */
static uint32_t field_max[GH_CLS_MAX_FIELDS];

static void random_range(unsigned f, uint32_t *lo, uint32_t *hi)
{
    uint32_t mx = field_max[f];
    uint32_t a, b;
    switch (below(6)) {
    case 0: /* wildcard, over the field's values or over all of uint32 */
        *lo = 0;
        *hi = below(2) ? mx : UINT32_MAX;
        return;
    case 1: /* exact */
        a = below(4) == 0 ? (below(2) ? 0 : mx) : (mx == UINT32_MAX ? rnd32() : below(mx + 1));
        *lo = *hi = a;
        return;
    case 2: { /* prefix */
        unsigned len = below(33);
        uint32_t m = len ? ~(uint32_t)0 << (32 - len) : 0;
        a = (mx == UINT32_MAX ? rnd32() : below(mx + 1)) & m;
        *lo = a;
        *hi = a | ~m;
        if (mx != UINT32_MAX && *hi > mx && below(2))
            *hi = mx;
        return;
    }
    case 3: /* touching an end of uint32 */
        if (below(2)) {
            *lo = 0;
            *hi = below(2) ? rnd32() : below(16);
        } else {
            *lo = below(2) ? rnd32() : UINT32_MAX - below(16);
            *hi = UINT32_MAX;
        }
        return;
    default: /* range */
        a = mx == UINT32_MAX ? rnd32() : below(mx + 1);
        b = mx == UINT32_MAX ? rnd32() : below(mx + 1);
        *lo = a < b ? a : b;
        *hi = a < b ? b : a;
        return;
    }
}

typedef struct rcase {
    gh_cls_rule *box;
    size_t n;
    unsigned nf;
} rcase;

/* Boxes in nondecreasing priority; runs of equal priority, duplicates,
 * narrow and wide boxes, and now and then an empty one (lo > hi). */
static void random_boxes(rcase *rc, size_t n, unsigned nf)
{
    rc->n = n;
    rc->nf = nf;
    rc->box = calloc(n ? n : 1, sizeof(*rc->box));
    assert_non_null(rc->box);
    static const uint32_t maxes[] = {3, 15, 255, 65535, UINT32_MAX, UINT32_MAX};
    for (unsigned f = 0; f < nf; f++)
        field_max[f] = maxes[below(6)];
    uint32_t prio = below(3);
    unsigned wild_bias = below(4); /* some sets are mostly wildcards, like fw */
    for (size_t i = 0; i < n; i++) {
        gh_cls_rule *r = &rc->box[i];
        if (i && below(8) == 0) {
            *r = rc->box[below((uint32_t)i)]; /* duplicate of an earlier box */
        } else {
            for (unsigned f = 0; f < nf; f++) {
                if (below(4) < wild_bias) {
                    r->lo[f] = 0;
                    r->hi[f] = below(2) ? field_max[f] : UINT32_MAX;
                } else {
                    random_range(f, &r->lo[f], &r->hi[f]);
                }
            }
            if (below(64) == 0) { /* empty: matches nothing */
                unsigned f = below(nf);
                if (r->lo[f] == r->hi[f] && r->hi[f] < UINT32_MAX)
                    r->hi[f]++;
                uint32_t t = r->lo[f];
                r->lo[f] = r->hi[f];
                r->hi[f] = t;
            }
        }
        if (below(3))
            prio += 1 + below(3); /* else: same priority as the previous box */
        r->priority = prio;
    }
}

/* A key near the boxes: their bounds and one past them, 0 and UINT32_MAX. */
static void random_key(const rcase *rc, uint32_t *k)
{
    for (unsigned f = 0; f < rc->nf; f++) {
        const gh_cls_rule *r = rc->n ? &rc->box[below((uint32_t)rc->n)] : NULL;
        switch (r ? below(8) : 6 + below(2)) {
        case 0: k[f] = r->lo[f]; break;
        case 1: k[f] = r->hi[f]; break;
        case 2: k[f] = r->lo[f] - 1; break; /* wraps at 0: fine, also a key */
        case 3: k[f] = r->hi[f] + 1; break;
        case 4: { /* inside */
            uint32_t w = r->hi[f] - r->lo[f] + 1;
            k[f] = r->lo[f] + below(w ? w : UINT32_MAX);
            break;
        }
        case 5: k[f] = below(2) ? 0 : UINT32_MAX; break;
        case 6: k[f] = field_max[f] == UINT32_MAX ? rnd32() : below(field_max[f] + 2); break;
        default: k[f] = rnd32(); break;
        }
    }
}

static void print_key(const uint32_t *k, unsigned nf)
{
    for (unsigned f = 0; f < nf; f++)
        print_message("%s%" PRIu32, f ? " " : "key ", k[f]);
    print_message("\n");
}

/* Build over the case, compare single and burst lookups with the linear scan
 * for @p nkeys random keys. Returns the number of mismatches. */
static size_t check_case(const rcase *rc, size_t nkeys, uint64_t seed)
{
    gh_error err = {0};
    gh_classifier *c = gh_cls_build(rc->box, rc->n, rc->nf, &err);
    if (!c) {
        print_message("seed %" PRIu64 ": build failed: %s\n", seed, err.msg);
        fail();
    }
    assert_int_equal(gh_cls_nfields(c), rc->nf);
    assert_true(gh_cls_memory(c) > 0);
    uint32_t *keys = malloc((nkeys ? nkeys : 1) * rc->nf * sizeof(*keys));
    uint32_t *want = malloc((nkeys ? nkeys : 1) * sizeof(*want));
    /* +1: a canary after the burst's output */
    uint32_t *got = malloc((nkeys + 1) * sizeof(*got));
    assert_non_null(keys);
    assert_non_null(want);
    assert_non_null(got);
    for (size_t i = 0; i < nkeys; i++) {
        random_key(rc, keys + i * rc->nf);
        want[i] = gh_cls_linear_lookup(rc->box, rc->n, rc->nf, keys + i * rc->nf);
    }
    size_t bad = 0;
    for (size_t i = 0; i < nkeys; i++) {
        uint32_t v = gh_cls_lookup(c, keys + i * rc->nf);
        if (v != want[i] && bad++ < 3) {
            print_message("seed %" PRIu64 " (%zu boxes, %u fields): lookup %" PRIu32
                          ", linear %" PRIu32 "; ",
                          seed, rc->n, rc->nf, v, want[i]);
            print_key(keys + i * rc->nf, rc->nf);
        }
    }
    /* bursts of every size class: whole, odd lengths, singles */
    size_t at = 0;
    while (at < nkeys) {
        size_t m = below(4) == 0 ? 1 + below(40) : nkeys - at;
        if (m > nkeys - at)
            m = nkeys - at;
        got[at + m] = 0xdeadbeef;
        gh_cls_lookup_burst(c, keys + at * rc->nf, m, got + at);
        assert_int_equal(got[at + m], 0xdeadbeef);
        at += m;
    }
    gh_cls_lookup_burst(c, keys, 0, got); /* n = 0: nothing happens */
    for (size_t i = 0; i < nkeys; i++) {
        if (got[i] != want[i] && bad++ < 3) {
            print_message("seed %" PRIu64 " (%zu boxes, %u fields): burst %" PRIu32
                          ", linear %" PRIu32 "; ",
                          seed, rc->n, rc->nf, got[i], want[i]);
            print_key(keys + i * rc->nf, rc->nf);
        }
    }
    free(keys);
    free(want);
    free(got);
    gh_cls_free(c);
    return bad;
}

/* The lookup code exists per instruction set, chosen at build time; GH_CLS_ISA
 * forces the lesser ones so that each is checked on this machine. */
static void random_sets(unsigned ncases, uint64_t seed_offset)
{
    static const unsigned nfs[] = {1, 2, 3, 4, 5, 5, 5, 7, 8, 11, 11, 12};
    uint64_t base = base_seed() + seed_offset;
    size_t bad = 0;
    for (unsigned i = 0; i < ncases; i++) {
        uint64_t seed = base + i;
        rng_state = seed;
        rcase rc;
        unsigned nf = nfs[below(sizeof(nfs) / sizeof(nfs[0]))];
        size_t n = below(5) == 0 ? below(8) : below(4) == 0 ? below(1500) : below(200);
        random_boxes(&rc, n, nf);
        bad += check_case(&rc, 400, seed);
        free(rc.box);
    }
    assert_int_equal(bad, 0);
}

static void test_random_sets(void **state)
{
    (void)state;
    unsetenv("GH_CLS_ISA");
    random_sets(3000, 0);
}

static void test_random_sets_sse2(void **state)
{
    (void)state;
    setenv("GH_CLS_ISA", "sse2", 1);
    random_sets(500, 10000000);
    unsetenv("GH_CLS_ISA");
}

static void test_random_sets_scalar(void **state)
{
    (void)state;
    setenv("GH_CLS_ISA", "scalar", 1);
    random_sets(500, 20000000);
    unsetenv("GH_CLS_ISA");
}

/* Many boxes no cut can separate: leaves of several 8-box blocks. */
static void test_long_leaves(void **state)
{
    (void)state;
    uint64_t base = base_seed();
    size_t bad = 0;
    for (unsigned i = 0; i < 20; i++) {
        uint64_t seed = base + 1000000 + i;
        rng_state = seed;
        rcase rc;
        random_boxes(&rc, 100 + below(200), 1 + below(6));
        /* the same few boxes over and over, with growing priorities */
        size_t distinct = 1 + below(4);
        for (size_t j = distinct; j < rc.n; j++) {
            uint32_t p = rc.box[j].priority;
            rc.box[j] = rc.box[j % distinct];
            if (below(3) == 0) /* and a few narrowed copies */
                rc.box[j].hi[below(rc.nf)] = rc.box[j].lo[0];
            rc.box[j].priority = p;
        }
        bad += check_case(&rc, 300, seed);
        free(rc.box);
    }
    assert_int_equal(bad, 0);
}

/* Priorities in any order: lookup gives the lowest matching priority. */
static void test_unsorted_priorities(void **state)
{
    (void)state;
    uint64_t base = base_seed();
    for (unsigned i = 0; i < 50; i++) {
        uint64_t seed = base + 2000000 + i;
        rng_state = seed;
        rcase rc;
        random_boxes(&rc, below(150), 1 + below(6));
        for (size_t j = 0; j < rc.n; j++)
            rc.box[j].priority = below(100);
        gh_classifier *c = gh_cls_build(rc.box, rc.n, rc.nf, NULL);
        assert_non_null(c);
        for (unsigned t = 0; t < 200; t++) {
            uint32_t k[GH_CLS_MAX_FIELDS], want = GH_CLS_NOMATCH, got;
            random_key(&rc, k);
            for (size_t j = 0; j < rc.n; j++) {
                unsigned f = 0;
                while (f < rc.nf && rc.box[j].lo[f] <= k[f] && k[f] <= rc.box[j].hi[f])
                    f++;
                if (f == rc.nf && rc.box[j].priority < want)
                    want = rc.box[j].priority;
            }
            gh_cls_lookup_burst(c, k, 1, &got);
            if (got != want || gh_cls_lookup(c, k) != want) {
                print_message("seed %" PRIu64 ": got %" PRIu32 ", want %" PRIu32 "; ", seed, got,
                              want);
                print_key(k, rc.nf);
                fail();
            }
        }
        gh_cls_free(c);
        free(rc.box);
    }
}

static void test_edges(void **state)
{
    (void)state;
    gh_error err = {0};
    /* no boxes: everything misses */
    for (unsigned nf = 1; nf <= GH_CLS_MAX_FIELDS; nf++) {
        gh_classifier *c = gh_cls_build(NULL, 0, nf, &err);
        assert_non_null(c);
        uint32_t k[GH_CLS_MAX_FIELDS * 3] = {0}, out[3] = {0, 0, 0};
        k[nf] = UINT32_MAX;
        assert_int_equal(gh_cls_lookup(c, k), GH_CLS_NOMATCH);
        gh_cls_lookup_burst(c, k, 3, out);
        assert_int_equal(out[0], GH_CLS_NOMATCH);
        assert_int_equal(out[2], GH_CLS_NOMATCH);
        gh_cls_free(c);
    }
    /* bad field counts */
    gh_cls_rule r;
    memset(&r, 0, sizeof(r));
    assert_null(gh_cls_build(&r, 1, 0, &err));
    assert_int_equal(err.code, GH_E_INVAL);
    assert_null(gh_cls_build(&r, 1, GH_CLS_MAX_FIELDS + 1, &err));
    assert_null(gh_cls_build(NULL, 1, 5, &err));
    gh_cls_free(NULL);
    /* one full-range box matches everything, including 0 and UINT32_MAX */
    for (unsigned f = 0; f < GH_CLS_MAX_FIELDS; f++) {
        r.lo[f] = 0;
        r.hi[f] = UINT32_MAX;
    }
    r.priority = 7;
    gh_classifier *c = gh_cls_build(&r, 1, GH_CLS_MAX_FIELDS, &err);
    assert_non_null(c);
    uint32_t k[GH_CLS_MAX_FIELDS];
    memset(k, 0xff, sizeof(k));
    assert_int_equal(gh_cls_lookup(c, k), 7);
    memset(k, 0, sizeof(k));
    assert_int_equal(gh_cls_lookup(c, k), 7);
    gh_cls_free(c);
    /* an empty box (lo > hi) never matches, as in the linear scan */
    r.lo[0] = 5;
    r.hi[0] = 4;
    c = gh_cls_build(&r, 1, 1, &err);
    assert_non_null(c);
    k[0] = 4;
    assert_int_equal(gh_cls_lookup(c, k), GH_CLS_NOMATCH);
    k[0] = 5;
    assert_int_equal(gh_cls_lookup(c, k), GH_CLS_NOMATCH);
    gh_cls_free(c);
}

/* ------------------------------------------------------------ ClassBench */

/* Minimal ClassBench reader (the benchmark has the strict one): keys are
 * proto, src, dst, sport, dport; priority = filter line - 1. */
static size_t load_cb_rules(const char *path, gh_cls_rule **out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return SIZE_MAX;
    char line[512];
    size_t n = 0, cap = 0;
    gh_cls_rule *v = NULL;
    while (fgets(line, sizeof(line), f)) {
        unsigned a[4], b[4], la, lb, sl, sh, dl, dh, pv, pm;
        if (line[0] != '@')
            continue;
        int got = sscanf(line, "@%u.%u.%u.%u/%u %u.%u.%u.%u/%u %u : %u %u : %u %x/%x", &a[0],
                         &a[1], &a[2], &a[3], &la, &b[0], &b[1], &b[2], &b[3], &lb, &sl, &sh, &dl,
                         &dh, &pv, &pm);
        assert_int_equal(got, 16);
        assert_true(pm == 0 || pm == 0xff);
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            v = realloc(v, cap * sizeof(*v));
            assert_non_null(v);
        }
        gh_cls_rule *r = &v[n];
        memset(r, 0, sizeof(*r));
        r->priority = (uint32_t)n++;
        uint32_t s = a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
        uint32_t d = b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
        uint32_t ms = la ? ~(uint32_t)0 << (32 - la) : 0, md = lb ? ~(uint32_t)0 << (32 - lb) : 0;
        r->lo[0] = pm ? pv : 0;
        r->hi[0] = pm ? pv : 255;
        r->lo[1] = s & ms;
        r->hi[1] = (s & ms) | ~ms;
        r->lo[2] = d & md;
        r->hi[2] = (d & md) | ~md;
        r->lo[3] = sl;
        r->hi[3] = sh;
        r->lo[4] = dl;
        r->hi[4] = dh;
    }
    fclose(f);
    *out = v;
    return n;
}

static void classbench_set(const char *name)
{
    char rp[1024], tp[1024];
    snprintf(rp, sizeof(rp), "%s/classbench/hypersplit/rules/%s", GH_CORPUS_DIR, name);
    snprintf(tp, sizeof(tp), "%s/classbench/hypersplit/traces/%s_trace", GH_CORPUS_DIR, name);
    gh_cls_rule *rules = NULL;
    size_t n = load_cb_rules(rp, &rules);
    FILE *f = fopen(tp, "r");
    if (n == SIZE_MAX || !f) {
        if (f)
            fclose(f);
        free(rules);
        print_message("%s: corpus not found under %s, skipping\n", name, GH_CORPUS_DIR);
        skip();
    }
    gh_error err = {0};
    gh_classifier *c = gh_cls_build(rules, n, 5, &err);
    assert_non_null(c);
    size_t cap = 1024, m = 0, bad = 0;
    uint32_t *keys = malloc(cap * 5 * sizeof(*keys)), *want = malloc(cap * sizeof(*want));
    unsigned s, d, sp, dp, p, N;
    while (fscanf(f, "%u %u %u %u %u %u", &s, &d, &sp, &dp, &p, &N) == 6) {
        if (m == cap) {
            cap *= 2;
            keys = realloc(keys, cap * 5 * sizeof(*keys));
            want = realloc(want, cap * sizeof(*want));
            assert_non_null(keys);
            assert_non_null(want);
        }
        uint32_t *k = keys + m * 5;
        k[0] = p;
        k[1] = s;
        k[2] = d;
        k[3] = sp;
        k[4] = dp;
        want[m++] = N - 1;
    }
    fclose(f);
    assert_true(m > 0);
    uint32_t *got = malloc(m * sizeof(*got));
    assert_non_null(got);
    gh_cls_lookup_burst(c, keys, m, got);
    for (size_t i = 0; i < m; i++) {
        uint32_t one = gh_cls_lookup(c, keys + i * 5);
        uint32_t lin = gh_cls_linear_lookup(rules, n, 5, keys + i * 5);
        if (got[i] != want[i] || one != want[i] || lin != want[i]) {
            if (bad++ < 3)
                print_message("%s header %zu: expected %u, burst %u, single %u, linear %u\n", name,
                              i + 1, want[i] + 1, got[i] + 1, one + 1, lin + 1);
        }
    }
    print_message("%s: %zu rules, %zu headers, %zu mismatches\n", name, n, m, bad);
    assert_int_equal(bad, 0);
    free(got);
    free(keys);
    free(want);
    free(rules);
    gh_cls_free(c);
}

static void test_classbench_acl1(void **state)
{
    (void)state;
    classbench_set("acl1_100");
}

static void test_classbench_fw1(void **state)
{
    (void)state;
    classbench_set("fw1_100");
}

static void test_classbench_ipc1(void **state)
{
    (void)state;
    classbench_set("ipc1_100");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random_sets),
        cmocka_unit_test(test_random_sets_sse2),
        cmocka_unit_test(test_random_sets_scalar),
        cmocka_unit_test(test_long_leaves),
        cmocka_unit_test(test_unsorted_priorities),
        cmocka_unit_test(test_classbench_acl1),
        cmocka_unit_test(test_classbench_fw1),
        cmocka_unit_test(test_classbench_ipc1),
    };
    base_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
