/* The Hyperscan database cache (rules/hs_cache.c, rules/hs_batch.c): a
 * cached load matches as a fresh compile; broken files are ignored and
 * rewritten; a changed rule recompiles only what it touches; an unusable
 * directory is reported and the load still works; the thread count does
 * not change the result; a damaged pack entry is a miss and is dropped. Every test uses its own temporary directory. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gatehouse/dpi.h"
#include "hs_cache.h"
#include "pktbuild.h"

static const char rules_a[] =
    "alert tcp any any -> any 80 (content:\"GET\"; pcre:\"/GET \\/[a-z]+\\.php/\"; sid:1;)\n"
    "alert tcp any any -> any 8080 (content:\"evil\"; sid:2;)\n"
    "alert udp any any -> any 53 (content:\"|00 01|\"; sid:3;)\n"
    "alert tcp any any -> any any (content:\"attack\"; nocase; pcre:\"/att(a|4)ck/i\"; sid:4;)\n"
    "alert tcp any any -> any [80,8080] (content:\"x\"; pcre:\"/(a)\\1x/\"; sid:5;)\n"
    "alert tcp any 80 -> any any (content:\"HTTP/1.1 200\"; sid:6;)\n"
    "alert udp any any -> any any (content:\"ping\"; pcre:\"/ping[0-9]{2}/\"; sid:7;)\n";

/* rules_a with sid 2's content changed: only its databases change */
static const char rules_b[] =
    "alert tcp any any -> any 80 (content:\"GET\"; pcre:\"/GET \\/[a-z]+\\.php/\"; sid:1;)\n"
    "alert tcp any any -> any 8080 (content:\"wicked\"; sid:2;)\n"
    "alert udp any any -> any 53 (content:\"|00 01|\"; sid:3;)\n"
    "alert tcp any any -> any any (content:\"attack\"; nocase; pcre:\"/att(a|4)ck/i\"; sid:4;)\n"
    "alert tcp any any -> any [80,8080] (content:\"x\"; pcre:\"/(a)\\1x/\"; sid:5;)\n"
    "alert tcp any 80 -> any any (content:\"HTTP/1.1 200\"; sid:6;)\n"
    "alert udp any any -> any any (content:\"ping\"; pcre:\"/ping[0-9]{2}/\"; sid:7;)\n";

typedef struct probe {
    uint8_t proto;
    uint16_t sport, dport;
    const char *payload;
} probe;

static const probe probes[] = {
    {6, 1234, 80, "GET /index.php HTTP/1.1"},
    {6, 1234, 80, "GET / HTTP/1.1"},
    {6, 1234, 8080, "an evil thing"},
    {6, 1234, 8080, "a wicked thing"},
    {6, 1234, 81, "an evil thing"},
    {17, 999, 53, "\x00\x01\x00\x00"},
    {6, 1234, 22, "ATTACK now"},
    {6, 1234, 8080, "aax"},
    {6, 80, 40000, "HTTP/1.1 200 OK"},
    {17, 999, 1000, "ping42"},
    {17, 999, 1000, "pingxx"},
};

#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static gh_packet mkpkt(const probe *pr, size_t len)
{
    gh_packet p;
    memset(&p, 0, sizeof(p));
    p.ip_ver = 4;
    p.ip_proto = pr->proto;
    p.ttl = 64;
    p.layers = GH_LAYER_IPV4 | (pr->proto == 6 ? GH_LAYER_TCP : GH_LAYER_UDP);
    p.src.b[0] = 10;
    p.src.b[3] = 1;
    p.dst.b[0] = 10;
    p.dst.b[3] = 2;
    p.sport = pr->sport;
    p.dport = pr->dport;
    if (pr->proto == 6)
        p.tcp_flags = GH_TCP_ACK | GH_TCP_PSH;
    p.payload = (const uint8_t *)pr->payload;
    p.payload_len = (uint32_t)len;
    return p;
}

/* The sids every probe raises, as one string ("1,4;;2;..."). */
static void transcript(pb_rules *L, pb_text *t)
{
    for (size_t i = 0; i < NPROBES; i++) {
        size_t len = probes[i].proto == 17 && probes[i].dport == 53 ? 4
                                                                    : strlen(probes[i].payload);
        gh_packet p = mkpkt(&probes[i], len);
        gh_dpi_match m[8];
        size_t n = gh_dpi_match_packet(L->d, L->s, &p, NULL, p.payload, p.payload_len, m, 8);
        for (size_t k = 0; k < n; k++)
            pb_tput(t, "%s%u", k ? "," : "", m[k].sid);
        pb_tput(t, ";");
    }
}

/* Load @p text with cache @p dir (NULL: none) and @p jobs threads; the
 * transcript in @p t. */
static void load(pb_rules *L, const char *text, const char *dir, unsigned jobs, pb_text *t)
{
    gh_dpi_options o;
    gh_dpi_options_init(&o);
    o.cache_dir = dir;
    o.jobs = jobs;
    pb_rules_load_ex(L, text, NULL, &o);
    assert_int_equal(L->nerrs, 0);
    assert_int_equal(L->rep.loaded, 7);
    memset(t, 0, sizeof(*t));
    transcript(L, t);
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/gh_test_hs_cache_XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    char p[512];
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            assert_int_equal(unlink(p), 0);
        }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

/* Files of @p dir whose name starts with @p prefix. */
static size_t count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void test_hit_matches_fresh(void **state)
{
    (void)state;
    char *dir = tmpdir();
    pb_rules F, C, W;
    pb_text tf, tc, tw;
    load(&F, rules_a, NULL, 0, &tf);
    load(&C, rules_a, dir, 0, &tc);   /* cold: compiled, written */
    load(&W, rules_a, dir, 0, &tw);   /* warm: everything read */
    printf("fresh: %s\n", tf.p);
    assert_string_equal(tf.p, tc.p);
    assert_string_equal(tf.p, tw.p);
    assert_true(strstr(tf.p, "1;") == tf.p); /* the probes do fire */
    assert_true(C.rep.db_distinct > 0);
    assert_int_equal(C.rep.db_cached, 0);
    assert_int_equal(C.rep.db_compiled, C.rep.db_distinct);
    assert_int_equal(W.rep.db_distinct, C.rep.db_distinct);
    assert_int_equal(W.rep.db_cached, W.rep.db_distinct);
    assert_int_equal(W.rep.db_compiled, 0);
    assert_true(W.rep.pcre_cached > 0);
    assert_int_equal(W.rep.pcre_hyperscan, F.rep.pcre_hyperscan);
    assert_int_equal(W.rep.databases, F.rep.databases);
    assert_int_equal(W.rep.patterns, F.rep.patterns);
    assert_int_equal(W.rep.db_bytes, F.rep.db_bytes);
    assert_string_equal(W.rep.cache_error, "");
    assert_int_equal(count_files(dir, "db-"), C.rep.db_distinct);
    pb_rules_free(&F);
    pb_rules_free(&C);
    pb_rules_free(&W);
    free(tf.p);
    free(tc.p);
    free(tw.p);
    rm_rf(dir);
    free(dir);
}

/* Break @p path: keep half of it, or flip a byte in its middle, or replace
 * it with text. */
static void damage(const char *path, int how)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if (how == 0) {
        assert_int_equal(truncate(path, st.st_size / 2), 0);
        return;
    }
    int fd = open(path, how == 1 ? O_RDWR : O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    if (how == 1) {
        uint8_t b;
        off_t at = st.st_size / 2;
        assert_int_equal(pread(fd, &b, 1, at), 1);
        b ^= 0x5a;
        assert_int_equal(pwrite(fd, &b, 1, at), 1);
    } else {
        const char junk[] = "not a cache file\n";
        assert_int_equal(write(fd, junk, sizeof(junk) - 1), (ssize_t)(sizeof(junk) - 1));
    }
    close(fd);
}

static void test_corrupt_ignored(void **state)
{
    (void)state;
    char *dir = tmpdir();
    pb_rules F, C;
    pb_text tf, tc;
    load(&F, rules_a, NULL, 0, &tf);
    load(&C, rules_a, dir, 0, &tc);
    pb_rules_free(&C);
    free(tc.p);
    /* every file of the cache broken one way or another */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int how = 0;
    size_t broken = 0;
    char p[512];
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            damage(p, how++ % 3);
            broken++;
        }
    closedir(d);
    assert_true(broken >= 3);
    pb_rules B, W;
    pb_text tb, tw;
    load(&B, rules_a, dir, 0, &tb); /* every entry a miss: compiled and rewritten */
    assert_string_equal(tf.p, tb.p);
    assert_int_equal(B.rep.db_cached, 0);
    assert_int_equal(B.rep.pcre_cached, 0);
    assert_int_equal(B.rep.db_compiled, B.rep.db_distinct);
    load(&W, rules_a, dir, 0, &tw); /* the rewritten files serve */
    assert_string_equal(tf.p, tw.p);
    assert_int_equal(W.rep.db_cached, W.rep.db_distinct);
    assert_true(W.rep.pcre_cached > 0);
    pb_rules_free(&F);
    pb_rules_free(&B);
    pb_rules_free(&W);
    free(tf.p);
    free(tb.p);
    free(tw.p);
    rm_rf(dir);
    free(dir);
}

static void test_changed_rule_new_key(void **state)
{
    (void)state;
    char *dir = tmpdir();
    pb_rules A, B, FB;
    pb_text ta, tb, tfb;
    load(&A, rules_a, dir, 0, &ta);
    size_t files_a = count_files(dir, "db-");
    load(&FB, rules_b, NULL, 0, &tfb);
    load(&B, rules_b, dir, 0, &tb);
    assert_string_equal(tb.p, tfb.p);
    assert_string_not_equal(ta.p, tb.p); /* sid 2 moved from "evil" to "wicked" */
    /* only the databases holding sid 2's fast pattern were compiled */
    assert_true(B.rep.db_compiled > 0);
    assert_true(B.rep.db_cached > 0);
    assert_int_equal(B.rep.db_cached + B.rep.db_compiled, B.rep.db_distinct);
    assert_true(B.rep.pcre_cached >= B.rep.pcre_hyperscan); /* the pcres did not change */
    assert_int_equal(count_files(dir, "db-"), files_a + B.rep.db_compiled);
    pb_rules_free(&A);
    pb_rules_free(&B);
    pb_rules_free(&FB);
    free(ta.p);
    free(tb.p);
    free(tfb.p);
    rm_rf(dir);
    free(dir);
}

static void test_unusable_dir(void **state)
{
    (void)state;
    char *dir = tmpdir();
    char file[512], sub[600];
    snprintf(file, sizeof(file), "%s/plain", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(sub, sizeof(sub), "%s/cache", file); /* under a regular file: cannot exist */
    pb_rules F, U;
    pb_text tf, tu;
    load(&F, rules_a, NULL, 0, &tf);
    load(&U, rules_a, sub, 0, &tu);
    assert_string_equal(tf.p, tu.p);
    assert_true(U.rep.cache_error[0] != '\0');
    printf("cache_error: %s\n", U.rep.cache_error);
    assert_int_equal(U.rep.db_compiled, U.rep.db_distinct);
    assert_int_equal(count_files(dir, ""), 3); /* ".", "..", "plain" */
    pb_rules_free(&F);
    pb_rules_free(&U);
    free(tf.p);
    free(tu.p);
    rm_rf(dir);
    free(dir);
}

/* A prefilter key of pack 1 (the first hex digit of a key names its pack). */
static gh_hs_key pack1_key(uint8_t id)
{
    gh_hs_key k;
    memset(&k, id, sizeof(k));
    k.b[0] = 0x10;
    return k;
}

static hs_database_t *block_db(const char *re)
{
    hs_database_t *db = NULL;
    hs_compile_error_t *ce = NULL;
    assert_int_equal(hs_compile(re, 0, HS_MODE_BLOCK, NULL, &db, &ce), HS_SUCCESS);
    return db;
}

/* The entry count of pack file @p path, and the offset of the bytes of the
 * entry with key @p k (0: none), from the layout in rules/hs_cache.c. */
static uint32_t pack_scan(const char *path, const gh_hs_key *k, long *bytes_at)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t hdr[16], eh[40];
    assert_int_equal(fread(hdr, sizeof(hdr), 1, f), 1);
    uint32_t count;
    memcpy(&count, hdr + 12, 4);
    *bytes_at = 0;
    long at = (long)(sizeof(hdr) + count * sizeof(eh)); /* the bytes follow the index */
    for (uint32_t i = 0; i < count; i++) {
        assert_int_equal(fread(eh, sizeof(eh), 1, f), 1);
        uint64_t len;
        memcpy(&len, eh + 32, 8);
        if (!memcmp(eh, k->b, GH_HS_KEY_LEN))
            *bytes_at = at;
        at += (long)len;
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    assert_int_equal(ftell(f), at);
    fclose(f);
    return count;
}

/* A pack's entries are checked when used: a damaged one is a miss, and it
 * is not written back when the pack is rewritten, used or not. */
static void test_pack_entry_checked(void **state)
{
    (void)state;
    char *dir = tmpdir();
    char why[256], pack[512];
    snprintf(pack, sizeof(pack), "%s/pcre-1.pack", dir);
    gh_hs_key k1 = pack1_key(1), k2 = pack1_key(2), k3 = pack1_key(3), k4 = pack1_key(4);
    hs_database_t *d1 = block_db("abc"), *d2 = block_db("de+f"), *d3 = block_db("gh[0-9]i");
    gh_hs_cache *c = gh_hs_cache_open(dir, UINT64_MAX, why, sizeof(why));
    assert_non_null(c);
    gh_hs_cache_put(c, &k1, true, d1);
    gh_hs_cache_put(c, &k2, true, d2);
    gh_hs_cache_put(c, &k4, true, d2);
    gh_hs_cache_close(c);
    long at;
    assert_int_equal(pack_scan(pack, &k4, &at), 3);
    assert_true(at > 0);
    int fd = open(pack, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, at + 16), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, at + 16), 1);
    assert_int_equal(pack_scan(pack, &k2, &at), 3);
    assert_int_equal(pread(fd, &b, 1, at + 16), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, at + 16), 1);
    close(fd);

    /* k2 used and damaged: a miss; k4 damaged and not used; k3 new */
    c = gh_hs_cache_open(dir, UINT64_MAX, why, sizeof(why));
    assert_non_null(c);
    hs_database_t *got = NULL;
    gh_hs_rbuf rb = {0};
    assert_true(gh_hs_cache_get(c, &k1, true, &rb, &got));
    assert_non_null(got);
    size_t size = 0, want = 0;
    assert_int_equal(hs_database_size(got, &size), HS_SUCCESS);
    assert_int_equal(hs_database_size(d1, &want), HS_SUCCESS);
    assert_int_equal(size, want);
    gh_hs_db_free(got);
    assert_false(gh_hs_cache_get(c, &k2, true, &rb, &got));
    assert_null(got);
    gh_hs_cache_put(c, &k3, true, d3);
    gh_hs_cache_close(c);
    assert_int_equal(pack_scan(pack, &k2, &at), 2); /* k1 and k3 */
    assert_int_equal(at, 0);
    assert_int_equal(pack_scan(pack, &k4, &at), 2);
    assert_int_equal(at, 0);

    c = gh_hs_cache_open(dir, UINT64_MAX, why, sizeof(why));
    assert_non_null(c);
    assert_true(gh_hs_cache_get(c, &k3, true, &rb, &got));
    gh_hs_db_free(got);
    assert_false(gh_hs_cache_get(c, &k4, true, &rb, &got));
    gh_hs_cache_close(c);
    gh_hs_rbuf_free(&rb);
    hs_free_database(d1);
    hs_free_database(d2);
    hs_free_database(d3);
    rm_rf(dir);
    free(dir);
}

/* Identical databases are built once; the thread count changes nothing. */
static void test_shared_and_deterministic(void **state)
{
    (void)state;
    pb_rules S, P;
    pb_text ts, tp;
    load(&S, rules_a, NULL, 1, &ts);
    load(&P, rules_a, NULL, 4, &tp);
    assert_string_equal(ts.p, tp.p);
    assert_true(S.rep.db_distinct <= S.rep.databases);
    assert_int_equal(S.rep.db_distinct, P.rep.db_distinct);
    assert_int_equal(S.rep.db_bytes, P.rep.db_bytes);
    assert_int_equal(S.rep.patterns, P.rep.patterns);
    pb_rules_free(&S);
    pb_rules_free(&P);
    free(ts.p);
    free(tp.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_matches_fresh),
        cmocka_unit_test(test_corrupt_ignored),
        cmocka_unit_test(test_pack_entry_checked),
        cmocka_unit_test(test_changed_rule_new_key),
        cmocka_unit_test(test_unusable_dir),
        cmocka_unit_test(test_shared_and_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
