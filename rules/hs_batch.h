/* Build side: compile a batch of Hyperscan databases at once
 * (rules/hs_batch.c). Identical requests (same key: expressions, flags, ids,
 * mode, Hyperscan version and platform) get one database; the cache
 * directory is asked first; the rest compile on worker threads. The result
 * does not depend on the thread count. */
#ifndef GATEHOUSE_HS_BATCH_H
#define GATEHOUSE_HS_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <hs.h>

#include "gatehouse/common.h"
#include "hs_cache.h"

/* One database to build. */
typedef struct gh_hs_req {
    char **ex;          /* expressions (owned by the caller) */
    unsigned *flags, *ids;
    unsigned n;
    unsigned mode;      /* HS_MODE_BLOCK or HS_MODE_STREAM */
    bool prefilter;     /* a pcre prefilter: Hyperscan may reject it (db stays NULL),
                           cached in the packs */
    hs_database_t *db;  /* out: shared with identical requests, owned by the
                           gh_hs_dbs the batch appends to */
    /* zero to start; set by gh_hs_batch_prefetch for gh_hs_batch_build */
    gh_hs_key key;      /* of everything the compile depends on (keyed: computed) */
    bool keyed;
    bool cached;        /* db (or the rejection) was read from the cache */
} gh_hs_req;

/* The distinct databases of a ruleset, each to be freed once (the caller's). */
typedef struct gh_hs_dbs {
    hs_database_t **db;
    size_t n, cap;
} gh_hs_dbs;

/* What a batch did with its distinct requests. */
typedef struct gh_hs_batch_stats {
    size_t distinct;    /* requests after merging identical ones */
    size_t cached;      /* of those, read from the cache directory */
    size_t compiled;    /* compiled now */
    size_t rejected;    /* prefilters Hyperscan cannot take (cached or not) */
} gh_hs_batch_stats;

/* Build the databases of @p r[0..n) with up to @p jobs threads (0: the
 * online CPUs), using cache @p c (NULL: none); append the new distinct
 * databases to @p dbs in request order. Counts go to @p st[0] for the
 * databases, @p st[1] for the prefilters. 0, or a negative GH_E_* with
 * @p err filled (a group Hyperscan rejects: the first in request order;
 * memory). */
int gh_hs_batch_build(gh_hs_req *r, size_t n, gh_hs_cache *c, unsigned jobs, gh_hs_dbs *dbs,
                      gh_hs_batch_stats st[2], gh_error *err);

/* Ahead of gh_hs_batch_build (on a thread of its own while the caller
 * prepares the other requests): key @p r[0..n) and read the distinct ones
 * cache @p c holds, on the calling thread. Only the cache is touched, and
 * nothing else may use it meanwhile. Best effort: what it does not do (no
 * memory), the build does. Each r[i].db it sets goes to the build, which
 * appends it to the ruleset's databases, or the caller frees it when the
 * build does not happen. */
void gh_hs_batch_prefetch(gh_hs_req *r, size_t n, gh_hs_cache *c);

#endif
