/* The huge-page block pool (engine/mem.c, gh_mem_pool_alloc/free): blocks
 * are 64-byte aligned, writable and apart; a chunk goes back to the system
 * once its last block is freed (unless it is the one being carved), a
 * large block's chunks at once; memory that is not the pool's is left
 * alone; two threads allocating and freeing at once keep every block
 * intact. Whole chunks (gh_mem_chunk_get/put/trim): 2 MiB-aligned, zeroed
 * when fresh; one put back is the next taker's, the pool's included, until
 * a trim gives it back to the system. Sizes come from a seeded RNG
 * (GH_TEST_SEED to repeat a run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem.h"
#include "pktbuild.h"

#define CHUNK ((size_t)2 << 20)

/* Whether the page holding @p p is mapped in this process. */
static bool mapped(const void *p)
{
    uintptr_t page = (uintptr_t)p & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    unsigned char v;
    return mincore((void *)page, 1, &v) == 0 || errno != ENOMEM;
}

static void fill(uint8_t *p, size_t n, uint8_t tag)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(tag + i * 13);
}

static bool intact(const uint8_t *p, size_t n, uint8_t tag)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(tag + i * 13))
            return false;
    return true;
}

/* Small blocks fill chunks one after the other; the first chunks go when
 * their blocks are freed, the one being carved stays. */
static void test_small_blocks(void **state)
{
    (void)state;
    uint64_t rng = pb_rng_seed("GH_TEST_SEED");
    enum { N = 400 };
    uint8_t *b[N];
    size_t len[N];
    for (size_t i = 0; i < N; i++) {
        len[i] = 1 + pb_rng(&rng) % 40000; /* ~8 MB in all: several chunks */
        b[i] = gh_mem_pool_alloc(len[i]);
        assert_non_null(b[i]);
        assert_int_equal((uintptr_t)b[i] % 64, 0);
        fill(b[i], len[i], (uint8_t)i);
    }
    for (size_t i = 0; i < N; i++) {
        assert_true(intact(b[i], len[i], (uint8_t)i));
        for (size_t j = 0; j < i; j++) /* apart */
            assert_true(b[i] + len[i] <= b[j] || b[j] + len[j] <= b[i]);
    }
    /* the first block's chunk is not the last one's: freeing every block
     * in it gives it back */
    uint8_t *first = b[0], *last = b[N - 1];
    assert_true((uintptr_t)first / CHUNK != (uintptr_t)last / CHUNK);
    for (size_t i = 0; i < N; i++)
        assert_true(gh_mem_pool_free(b[i]));
    assert_false(mapped(first));
    assert_true(mapped(last)); /* the chunk being carved */
}

/* A block of more than half a chunk has chunks of its own, gone when it is
 * freed, while the chunk being carved for small blocks carries on. */
static void test_large_block(void **state)
{
    (void)state;
    uint8_t *small = gh_mem_pool_alloc(100);
    assert_non_null(small);
    size_t n = 5 * CHUNK + 12345;
    uint8_t *big = gh_mem_pool_alloc(n);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % CHUNK, 0);
    fill(big, n, 7);
    uint8_t *small2 = gh_mem_pool_alloc(100);
    assert_non_null(small2);
    assert_true(small2 == small + 128 || (uintptr_t)small2 / CHUNK != (uintptr_t)small / CHUNK);
    assert_true(intact(big, n, 7));
    assert_true(gh_mem_pool_free(big));
    assert_false(mapped(big));
    assert_false(mapped(big + n - 1));
    assert_true(gh_mem_pool_free(small));
    assert_true(gh_mem_pool_free(small2));
}

/* Memory the pool did not give: false, and it stays usable. */
static void test_not_the_pools(void **state)
{
    (void)state;
    char *m = malloc(64);
    assert_non_null(m);
    strcpy(m, "heap");
    assert_false(gh_mem_pool_free(m));
    assert_false(gh_mem_pool_free(NULL));
    static char st[16];
    assert_false(gh_mem_pool_free(st));
    assert_string_equal(m, "heap");
    free(m);
    assert_null(gh_mem_pool_alloc(0));
}

typedef struct churn {
    uint64_t rng;
    uint8_t tag;
    bool ok;
} churn;

/* Allocate, check and free blocks, some kept a while. */
static void *churn_run(void *arg)
{
    churn *c = arg;
    enum { KEEP = 32, ROUNDS = 3000 };
    uint8_t *b[KEEP] = {0};
    size_t len[KEEP] = {0};
    c->ok = true;
    for (unsigned r = 0; r < ROUNDS; r++) {
        unsigned k = (unsigned)(pb_rng(&c->rng) % KEEP);
        if (b[k]) {
            c->ok &= intact(b[k], len[k], (uint8_t)(c->tag + k));
            c->ok &= gh_mem_pool_free(b[k]);
        }
        /* now and then a block with chunks of its own */
        len[k] = r % 500 == 0 ? CHUNK : 1 + pb_rng(&c->rng) % 20000;
        b[k] = gh_mem_pool_alloc(len[k]);
        if (!b[k]) {
            c->ok = false;
            break;
        }
        fill(b[k], len[k], (uint8_t)(c->tag + k));
    }
    for (unsigned k = 0; k < KEEP; k++)
        if (b[k]) {
            c->ok &= intact(b[k], len[k], (uint8_t)(c->tag + k));
            c->ok &= gh_mem_pool_free(b[k]);
        }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    uint64_t seed = pb_rng_seed("GH_TEST_SEED");
    churn c[2] = {{.rng = seed, .tag = 1}, {.rng = seed ^ 0x9e3779b97f4a7c15ull, .tag = 101}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, churn_run, &c[0]), 0);
    churn_run(&c[1]);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(c[0].ok);
    assert_true(c[1].ok);
}

/* A chunk put back is taken again, as it was (not zeroed), by the next
 * gh_mem_chunk_get or as the pool's next chunk; trim unmaps the rest. */
static void test_whole_chunks(void **state)
{
    (void)state;
    gh_mem_chunks_trim();
    bool zeroed = false;
    uint8_t *a = gh_mem_chunk_get(&zeroed), *b = gh_mem_chunk_get(&zeroed);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(zeroed);
    assert_int_equal((uintptr_t)a % CHUNK, 0);
    assert_int_equal((uintptr_t)b % CHUNK, 0);
    for (size_t i = 0; i < CHUNK; i += 4096)
        assert_int_equal(a[i], 0);
    fill(a, CHUNK, 7);
    fill(b, CHUNK, 9);
    gh_mem_chunk_put(a);
    uint8_t *c = gh_mem_chunk_get(&zeroed);
    assert_ptr_equal(c, a);
    assert_false(zeroed);
    assert_true(intact(c, CHUNK, 7));
    /* the pool's next chunk is the one put back: half-chunk blocks fill
     * the chunk being carved within two, then the third opens one */
    gh_mem_chunk_put(b);
    uint8_t *blk[3];
    bool took = false;
    for (int i = 0; i < 3; i++) {
        blk[i] = gh_mem_pool_alloc(CHUNK / 2);
        assert_non_null(blk[i]);
        took |= blk[i] == b;
    }
    assert_true(took);
    for (int i = 0; i < 3; i++)
        assert_true(gh_mem_pool_free(blk[i]));
    gh_mem_chunk_put(c);
    assert_true(mapped(c));
    gh_mem_chunks_trim();
    assert_false(mapped(c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_blocks),
        cmocka_unit_test(test_large_block),
        cmocka_unit_test(test_not_the_pools),
        cmocka_unit_test(test_two_threads),
        cmocka_unit_test(test_whole_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
