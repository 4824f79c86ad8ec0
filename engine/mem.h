/* Large, long-lived allocations of the build and run sides. */
#ifndef GH_ENGINE_MEM_H
#define GH_ENGINE_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* calloc(@p n, @p size) on transparent huge pages where it can: for a
 * ruleset's large tables, touched once page by page, where a 4 KiB fault per
 * page was a large part of a warm load. Only advice: ignored where THP is
 * off, the block is small, or the system is not Linux. */
void *gh_mem_calloc_huge(size_t n, size_t size);

/* Whole chunks of GH_MEM_CHUNK bytes, 2 MiB-aligned on transparent huge
 * pages (one fault per 2 MiB where THP is on), for an allocator of its own
 * (the rule parser's arena). A chunk put back is kept mapped for the next
 * gh_mem_chunk_get or the next chunk of gh_mem_pool_alloc, until
 * gh_mem_chunks_trim gives the kept ones back to the system (some are
 * unmapped at once beyond 128 MiB kept): a load frees its parse trees
 * (50 MB for all of ET Open) just before it reads 29 MB of databases into
 * the pool, and fresh memory costs the kernel's zeroing of every page (on
 * a VM about 1 ms per MB) where a kept chunk costs nothing. *@p zeroed
 * tells whether the chunk is fresh, all zero. NULL when memory runs out.
 * Thread-safe. */
#define GH_MEM_CHUNK ((size_t)2 << 20)
void *gh_mem_chunk_get(bool *zeroed);
void gh_mem_chunk_put(void *p);
void gh_mem_chunks_trim(void);

/* Long-lived blocks of any size carved from 2 MiB-aligned chunks on
 * transparent huge pages (a block of more than half a chunk gets chunks of
 * its own), 64-byte aligned, not zeroed: for many blocks written whole
 * once, such as the Hyperscan databases of a warm load (29 MB for all of
 * ET Open: ~7,000 page faults on 4 KiB pages). A chunk goes back to the
 * system when its last block is freed (but for the one being carved).
 * Thread-safe. gh_mem_pool_free returns false, doing nothing, for memory
 * that is not the pool's. */
void *gh_mem_pool_alloc(size_t n);
bool gh_mem_pool_free(void *p);

/* Map the pages of @p p..@p p+n now (MADV_POPULATE_WRITE where Linux has
 * it, 5.14), keeping their content, and touch each once, which on a VM with
 * shadow page tables also enters it in the tables the CPU walks (the first
 * access traps otherwise, even to a page the kernel has mapped). */
void gh_mem_prefault(void *p, size_t n);

/* Heap mapped ahead of its use. Each 4 KiB page a process touches first is
 * a page fault: about a microsecond on bare metal, ~10 us on a VM with
 * shadow page tables, and the packet path's heap (parser states, header
 * and body buffers, decompressors) takes a thousand of them in a capture's
 * first 10 MB. gh_mem_warm_start takes @p bytes of the calling thread's
 * heap and has a helper thread map them while the caller goes on (loading
 * the rules); gh_mem_warm_finish stops the helper (it ends the 64 KiB block
 * it is on: the caller never waits longer) and frees them, into the
 * allocator's free lists, where the next allocations find them mapped (a
 * block kept after them stops the allocator from giving them back to the
 * system as the top of its heap). gh_mem_warm_free frees that block.
 * Best effort: NULL (nothing to do later) when there is no memory or no
 * thread; all three take NULL. */
typedef struct gh_mem_warm gh_mem_warm;
gh_mem_warm *gh_mem_warm_start(size_t bytes);
void gh_mem_warm_finish(gh_mem_warm *w);
void gh_mem_warm_free(gh_mem_warm *w);

/* A whole file, read-only. */
typedef struct gh_mem_file {
    const char *p;
    size_t len;
    bool mapped;
} gh_mem_file;

/* Read @p path whole into @p f: a regular file is mapped (no copy, its
 * pages shared with the page cache), anything else (a pipe, /dev/stdin) is
 * read to its end. 0, or -1 with errno set and @p f zeroed. Release with
 * gh_mem_file_free, which also takes a zeroed gh_mem_file. */
int gh_mem_file_read(const char *path, gh_mem_file *f);
void gh_mem_file_free(gh_mem_file *f);

#endif
