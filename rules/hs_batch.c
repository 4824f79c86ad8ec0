/* Compile a batch of Hyperscan databases: merge identical requests, read the
 * cache, compile the misses on threads (largest first, each into its own
 * slot, so the result is the serial one), write them back. */
#include "hs_batch.h"
#include "mem.h"
#include "rules_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The key: SHA-256 (first 16 bytes) of the compile's whole input, laid out
 * in @p b (reused from one request to the next: one digest call each, not
 * two per expression, which cost more than the hashing). */
static bool req_key(const gh_hs_req *r, const hs_platform_info_t *plat, const EVP_MD *md,
                    gh_sbuf *b, gh_hs_key *k)
{
    static const char tag[] = "gatehouse hs_compile_multi v1";
    const char *ver = hs_version();
    unsigned head[4] = {r->mode, r->prefilter, r->n, 0};
    b->len = 0;
    gh_sbuf_put(b, tag, sizeof(tag));
    gh_sbuf_put(b, ver, strlen(ver) + 1);
    gh_sbuf_put(b, (const char *)&plat->tune, sizeof(plat->tune));
    gh_sbuf_put(b, (const char *)&plat->cpu_features, sizeof(plat->cpu_features));
    gh_sbuf_put(b, (const char *)head, sizeof(head));
    for (unsigned i = 0; i < r->n; i++) {
        unsigned fi[2] = {r->flags[i], r->ids[i]};
        gh_sbuf_put(b, (const char *)fi, sizeof(fi));
        gh_sbuf_put(b, r->ex[i], strlen(r->ex[i]) + 1);
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (b->oom || !EVP_Digest(b->p, b->len, d, &dlen, md, NULL) || dlen < GH_HS_KEY_LEN)
        return false;
    memcpy(k->b, d, GH_HS_KEY_LEN);
    return true;
}

typedef struct job {
    gh_hs_req *r;
    hs_database_t *db;
    char *msg;          /* Hyperscan's refusal, strdup'd */
    int expr;
    bool failed;
} job;

/* The main thread takes the largest jobs first, the others the smallest: at
 * most one large compile runs at a time, which bounds the peak memory
 * (compiles of large databases take hundreds of MB each). */
typedef struct pool {
    job *j;
    size_t *order;      /* job indices, most expressions first */
    pthread_mutex_t mu;
    size_t lo, hi;      /* order[lo, hi) not taken yet */
} pool;

static void compile_one(job *j)
{
    hs_compile_error_t *ce = NULL;
    if (hs_compile_multi((const char *const *)j->r->ex, j->r->flags, j->r->ids, j->r->n,
                         j->r->mode, NULL, &j->db, &ce) == HS_SUCCESS)
        return;
    j->db = NULL;
    j->failed = true;
    j->expr = ce ? ce->expression : -1;
    j->msg = strdup(ce && ce->message ? ce->message : "?");
    hs_free_compile_error(ce);
}

static void take(pool *p, bool largest)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool any = p->lo < p->hi;
        size_t i = !any ? 0 : largest ? p->order[p->lo++] : p->order[--p->hi];
        pthread_mutex_unlock(&p->mu);
        if (!any)
            return;
        compile_one(&p->j[i]);
    }
}

static void *worker(void *arg)
{
    take(arg, false);
    return NULL;
}

static int job_cmp(const void *a, const void *b, void *arg)
{
    const job *j = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    unsigned nx = j[x].r->n, ny = j[y].r->n;
    if (nx != ny)
        return nx < ny ? 1 : -1;
    return (x > y) - (x < y);
}

static void run_jobs(job *j, size_t n, unsigned jobs)
{
    pool p = {.j = j, .hi = n, .order = malloc((n ? n : 1) * sizeof(size_t))};
    if (!p.order) { /* serial, in request order */
        for (size_t i = 0; i < n; i++)
            compile_one(&j[i]);
        return;
    }
    pthread_mutex_init(&p.mu, NULL);
    for (size_t i = 0; i < n; i++)
        p.order[i] = i;
    qsort_r(p.order, n, sizeof(*p.order), job_cmp, j);
    jobs = gh_load_threads(jobs);
    if (jobs > n)
        jobs = (unsigned)n;
    pthread_t *t = jobs > 1 ? malloc((jobs - 1) * sizeof(*t)) : NULL;
    size_t started = 0;
    for (unsigned i = 0; t && i + 1 < jobs; i++, started++)
        if (pthread_create(&t[i], NULL, worker, &p) != 0)
            break; /* fewer threads: the others take the rest */
    take(&p, true);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    pthread_mutex_destroy(&p.mu);
    free(p.order);
}

/* The distinct databases read from the cache on threads: each is a file or
 * a pack entry to check and deserialize, megabytes for the large groups,
 * thousands of small prefilters. */
typedef struct get_pool {
    gh_hs_cache *c;
    gh_hs_req *r;
    const size_t *todo; /* request indexes */
    size_t n;
    atomic_size_t next;
} get_pool;

static void *get_worker(void *arg)
{
    get_pool *p = arg;
    gh_hs_rbuf rb = {0};
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;) {
        gh_hs_req *q = &p->r[p->todo[i]];
        hs_database_t *db = NULL;
        q->cached = gh_hs_cache_get(p->c, &q->key, q->prefilter != 0, &rb, &db);
        q->db = db;
    }
    gh_hs_rbuf_free(&rb);
    return NULL;
}

static void get_all(get_pool *p, unsigned jobs)
{
    jobs = gh_load_threads(jobs);
    if (jobs > p->n)
        jobs = (unsigned)p->n;
    pthread_t t[16];
    size_t started = 0;
    for (; started + 1 < jobs && started < sizeof(t) / sizeof(t[0]); started++)
        if (pthread_create(&t[started], NULL, get_worker, p) != 0)
            break; /* fewer threads: this one takes the rest */
    get_worker(p);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
}

static int key_cmp(const void *a, const void *b, void *arg)
{
    const gh_hs_req *r = arg;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = memcmp(r[x].key.b, r[y].key.b, GH_HS_KEY_LEN);
    return c ? c : (x > y) - (x < y);
}

/* The keys of @p r[0..n) not keyed yet, and in @p rep the first request
 * identical to each. 0, or GH_E_NOMEM. */
static int key_all(gh_hs_req *r, size_t n, size_t *rep)
{
    hs_platform_info_t plat;
    memset(&plat, 0, sizeof(plat));
    (void)hs_populate_platform(&plat);
    size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    gh_sbuf kb = {0};
    int rc = idx && md ? 0 : GH_E_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        idx[i] = i;
        if (!r[i].keyed && !(r[i].keyed = req_key(&r[i], &plat, md, &kb, &r[i].key)))
            rc = GH_E_NOMEM;
    }
    free(kb.p);
    EVP_MD_free(md);
    if (!rc) {
        qsort_r(idx, n, sizeof(*idx), key_cmp, r);
        for (size_t i = 0; i < n; i++)
            rep[idx[i]] = i && !memcmp(r[idx[i]].key.b, r[idx[i - 1]].key.b, GH_HS_KEY_LEN)
                              ? rep[idx[i - 1]] : idx[i];
    }
    free(idx);
    return rc;
}

static int append_db(gh_hs_dbs *dbs, hs_database_t *db)
{
    if (dbs->n == dbs->cap) {
        size_t nc = dbs->cap ? 2 * dbs->cap : 64;
        hs_database_t **nd = realloc(dbs->db, nc * sizeof(*nd));
        if (!nd)
            return GH_E_NOMEM;
        dbs->db = nd;
        dbs->cap = nc;
    }
    dbs->db[dbs->n++] = db;
    return 0;
}

void gh_hs_batch_prefetch(gh_hs_req *r, size_t n, gh_hs_cache *c)
{
    size_t *rep = malloc((n ? n : 1) * sizeof(*rep));
    size_t *todo = malloc((n ? n : 1) * sizeof(*todo));
    if (rep && todo && key_all(r, n, rep) == 0) {
        get_pool gp = {.c = c, .r = r, .todo = todo};
        for (size_t i = 0; i < n; i++)
            if (rep[i] == i && !r[i].cached)
                todo[gp.n++] = i;
        get_worker(&gp);
    }
    free(rep);
    free(todo);
}

int gh_hs_batch_build(gh_hs_req *r, size_t n, gh_hs_cache *c, unsigned jobs, gh_hs_dbs *dbs,
                      gh_hs_batch_stats st[2], gh_error *err)
{
    memset(st, 0, 2 * sizeof(*st));
    size_t *rep = malloc((n ? n : 1) * sizeof(*rep)); /* the first identical request */
    size_t *todo = malloc((n ? n : 1) * sizeof(*todo));
    job *j = calloc(n ? n : 1, sizeof(*j));
    size_t nj = 0;
    int rc = rep && todo && j ? key_all(r, n, rep) : GH_E_NOMEM;
    if (rc) {
        gh_error_set(err, rc, "out of memory building the signature databases");
        goto out;
    }
    /* the distinct ones: from the cache (on threads; a prefetch may have
     * read some already), else to compile, in request order */
    get_pool gp = {.c = c, .r = r, .todo = todo};
    for (size_t i = 0; c && i < n; i++)
        if (rep[i] == i && !r[i].cached)
            todo[gp.n++] = i;
    if (gp.n)
        get_all(&gp, jobs);
    for (size_t i = 0; i < n; i++) {
        if (rep[i] != i)
            continue;
        gh_hs_batch_stats *s = &st[r[i].prefilter != 0];
        s->distinct++;
        if (r[i].cached) {
            s->cached++;
            s->rejected += r[i].db == NULL;
            continue;
        }
        j[nj++].r = &r[i];
    }
    if (nj) /* compiles take hundreds of MB: no chunk is kept for reuse beside them */
        gh_mem_chunks_trim();
    run_jobs(j, nj, jobs);
    for (size_t i = 0; i < nj; i++) {
        if (j[i].failed && !j[i].r->prefilter && !rc) {
            rc = GH_E_UNSUPPORTED;
            gh_error_set(err, rc, "hyperscan: %s (expression %d)", j[i].msg, j[i].expr);
        }
        j[i].r->db = j[i].db;
        st[j[i].r->prefilter != 0].compiled++;
        st[j[i].r->prefilter != 0].rejected += j[i].failed;
        if (c && (!j[i].failed || j[i].r->prefilter))
            gh_hs_cache_put(c, &j[i].r->key, j[i].r->prefilter, j[i].db);
    }
    for (size_t i = 0; i < n; i++) {
        if (rep[i] != i || !r[i].db)
            continue;
        if (rc || append_db(dbs, r[i].db) != 0) {
            if (!rc) {
                rc = GH_E_NOMEM;
                gh_error_set(err, rc, "out of memory building the signature databases");
            }
            gh_hs_db_free(r[i].db);
            r[i].db = NULL;
        }
    }
    for (size_t i = 0; i < n; i++)
        r[i].db = rc ? NULL : r[rep[i]].db;
out:
    for (size_t i = 0; j && i < nj; i++)
        free(j[i].msg);
    free(j);
    free(rep);
    free(todo);
    return rc;
}
