/* Large, long-lived allocations of the build and run sides. */
#ifndef GH_ENGINE_MEM_H
#define GH_ENGINE_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Ask for transparent huge pages on the 2 MiB-aligned part of @p p..@p p+n,
 * before it is first touched. A ruleset's tables and parse trees are touched
 * once page by page; with 4 KiB pages that is one fault per page, which cost
 * about a third of a warm load. Only advice: ignored where THP is off, the
 * range is too small, or the system is not Linux. */
void gh_mem_advise_huge(void *p, size_t n);

/* calloc(@p n, @p size) with the advice above: for tables of a ruleset. */
void *gh_mem_calloc_huge(size_t n, size_t size);

/* @p n zeroed bytes on 2 MiB boundaries (huge pages where the system has
 * them), for memory that fills up whole, such as a parse arena's chunks;
 * NULL when out of memory. Release with gh_mem_huge_free(p, n). */
void *gh_mem_huge_alloc(size_t n);
void gh_mem_huge_free(void *p, size_t n);

/* A whole file, read-only. */
typedef struct gh_mem_file {
    const char *p;
    size_t len;
    bool mapped;
} gh_mem_file;

/* Read @p path whole into @p f: a regular file is mapped (no copy, its
 * pages shared with the page cache), anything else (a pipe, /dev/stdin) is
 * read to its end. 0, or -1 with errno set. Release with gh_mem_file_free. */
int gh_mem_file_read(const char *path, gh_mem_file *f);
void gh_mem_file_free(gh_mem_file *f);

#endif
