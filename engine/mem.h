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
