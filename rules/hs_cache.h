/* Build side: a directory of serialized Hyperscan databases, keyed by a hash
 * of everything that goes into their compile (rules/hs_cache.c).
 *
 * Layout of the directory (format version in every file header):
 *   db-<key>.hs       one signature-group database per file (large, few)
 *   pcre-<x>.pack     the pcre prefilter databases (small, thousands), in 16
 *                     packs by the first hex digit x of their key, including
 *                     the expressions Hyperscan rejects (so a warm load does
 *                     not try them again)
 * Files are written to a temporary name and renamed. A file that is
 * truncated, corrupt (checksum), of another format or another Hyperscan is a miss
 * and is rewritten. Used files get their mtime refreshed; when the directory
 * passes its size bound the least recently used files go first. */
#ifndef GATEHOUSE_HS_CACHE_H
#define GATEHOUSE_HS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hs.h>

#define GH_HS_KEY_LEN 16

typedef struct gh_hs_key {
    uint8_t b[GH_HS_KEY_LEN];
} gh_hs_key;

typedef struct gh_hs_cache gh_hs_cache;

/* Open (creating it and its parents) cache directory @p dir, bounded to
 * @p max_bytes. NULL with @p why filled when it cannot be created or
 * written. */
gh_hs_cache *gh_hs_cache_open(const char *dir, uint64_t max_bytes, char *why, size_t why_len);

/* A reader's buffer: what gh_hs_cache_get reads goes into it, reused from
 * one lookup to the next (it grows to the largest). Zero it to start;
 * gh_hs_rbuf_free when done. One per thread. */
typedef struct gh_hs_rbuf {
    uint8_t *p;
    size_t cap;
} gh_hs_rbuf;
void gh_hs_rbuf_free(gh_hs_rbuf *rb);

/* Look up @p k: true when known, with *db the database (the caller owns it,
 * and frees it with gh_hs_db_free) or NULL when Hyperscan rejected the
 * expression. @p packed: a pcre prefilter (pack files). Lookups of
 * different keys may run on several threads at once (each with its own
 * @p rb), but not beside gh_hs_cache_put. */
bool gh_hs_cache_get(gh_hs_cache *c, const gh_hs_key *k, bool packed, gh_hs_rbuf *rb,
                     hs_database_t **db);

/* Remember @p db (NULL: rejected, packed only) under @p k. Group databases
 * are written at once, packs by gh_hs_cache_close. */
void gh_hs_cache_put(gh_hs_cache *c, const gh_hs_key *k, bool packed, const hs_database_t *db);

/* Free a database from gh_hs_cache_get (on huge pages, see gh_mem_pool_alloc)
 * or from Hyperscan's compiler. NULL is fine. */
void gh_hs_db_free(hs_database_t *db);

/* Write the changed packs, prune to the size bound, free. NULL is fine. */
void gh_hs_cache_close(gh_hs_cache *c);

#endif
