/* Suricata 7.0's buffer transforms (dotprefix, to_lowercase, ..., xor):
 * the build side (rules/transform_build.c) parses a keyword into a
 * gh_xform once; the run side (engine/detect/transform.c) applies it to a
 * buffer into caller-owned memory, without allocating. Internal to
 * libgatehouse. */
#ifndef GATEHOUSE_DETECT_TRANSFORM_H
#define GATEHOUSE_DETECT_TRANSFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum gh_xform_kind {
    GH_XF_DOTPREFIX,
    GH_XF_TO_LOWERCASE,
    GH_XF_TO_UPPERCASE,
    GH_XF_STRIP_WHITESPACE,
    GH_XF_COMPRESS_WHITESPACE,
    GH_XF_URL_DECODE,
    GH_XF_TO_MD5,
    GH_XF_TO_SHA1,
    GH_XF_TO_SHA256,
    GH_XF_PCREXFORM,
    GH_XF_XOR,
    GH_XF_HEADER_LOWERCASE,
    GH_XF_STRIP_PSEUDO_HEADERS,
    GH_XF_N
} gh_xform_kind;

typedef struct gh_xform {
    uint8_t kind;     /* gh_xform_kind */
    void *re;         /* pcre2_code* for pcrexform */
    uint8_t *key;     /* xor */
    uint32_t key_len;
} gh_xform;

/* ---- build side (rules/transform_build.c) --------------------------------- */

/* Whether @name is a Suricata 7.0 transform keyword (case-insensitive). */
bool gh_xform_is(const char *name);

/* Parse transform @name with its option value as written in the rule
 * (quotes included; NULL for "name;") into @out, which owns what it points
 * to afterwards (gh_xform_free). 0, or -1 with a message in @err, in
 * Suricata's wording where it has one; @out is then empty. pcrexform and
 * xor take a double-quoted value, the others none. */
int gh_xform_parse(const char *name, const char *value, gh_xform *out, char *err, size_t errlen);

/* Free what @x owns and empty it; NULL is fine. */
void gh_xform_free(gh_xform *x);

/* ---- run side (engine/detect/transform.c) ------------------------------------ */

/* Apply @x to @in/@n, writing at most @cap bytes to @out (which must not
 * overlap @in); returns the output length. A result longer than @cap is
 * cut at @cap. @md: a pcre2_match_data the caller owns with room for at
 * least 2 pairs (pcrexform reads group 1); NULL for the other kinds. Never
 * allocates. */
size_t gh_xform_apply(const gh_xform *x, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                      void *md);

/* Apply the chain of @nx transforms using two caller buffers of @cap bytes
 * each; *@res points at the result (one of the two, or @in when nx == 0);
 * returns its length. */
size_t gh_xform_chain(const gh_xform *x, size_t nx, const uint8_t *in, size_t n, uint8_t *buf_a,
                      uint8_t *buf_b, size_t cap, void *md, const uint8_t **res);

#endif
