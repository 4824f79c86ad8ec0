#ifndef GATEHOUSE_TRANSFORM_H
#define GATEHOUSE_TRANSFORM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef enum gh_xform_kind { GH_XF_DOTPREFIX, GH_XF_TO_LOWERCASE, GH_XF_TO_UPPERCASE, GH_XF_STRIP_WHITESPACE, GH_XF_COMPRESS_WHITESPACE, GH_XF_URL_DECODE, GH_XF_TO_MD5, GH_XF_TO_SHA1, GH_XF_TO_SHA256, GH_XF_PCREXFORM, GH_XF_XOR, GH_XF_HEADER_LOWERCASE, GH_XF_STRIP_PSEUDO_HEADERS, GH_XF_N } gh_xform_kind;
typedef struct gh_xform { uint8_t kind; void *re; uint8_t *key; uint32_t key_len; } gh_xform;
bool gh_xform_is(const char *name);
int gh_xform_parse(const char *name, const char *value, gh_xform *out, char *err, size_t errlen);
void gh_xform_free(gh_xform *x);
size_t gh_xform_apply(const gh_xform *x, const uint8_t *in, size_t n, uint8_t *out, size_t cap, void *md);
size_t gh_xform_chain(const gh_xform *x, size_t nx, const uint8_t *in, size_t n, uint8_t *buf_a, uint8_t *buf_b, size_t cap, void *md, const uint8_t **res);
#endif
