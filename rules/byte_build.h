/* Build side of byte_test, byte_jump, byte_extract and byte_math: parse a
 * keyword's value as Suricata 7 does (rules/byte_build.c). */
#ifndef GATEHOUSE_BYTE_BUILD_H
#define GATEHOUSE_BYTE_BUILD_H

#include "detect/detect_int.h"

#define BYTE_NAME_MAX 64

/* The result of parsing one byte_* value. */
typedef struct byte_parse {
    bool relative;
    char var[3][BYTE_NAME_MAX]; /* names used for nbytes, offset, value ("" when numeric) */
    int status;                 /* 0 ok, -1 error (msg), 1 unsupported (tag) */
    const char *tag;
    size_t at;                  /* error: offset of the bad token in the value */
    char msg[160];
} byte_parse;

enum { BV_NBYTES, BV_OFFSET, BV_VALUE };

/* Parse @p val of keyword @p type (KW_BYTE_*) into @p b (zeroed by the
 * caller; b->name is malloc'd for byte_extract/byte_math, NULL on error).
 * Suricata's refusals are errors, its dce forms are unsupported. */
void gh_byte_parse(uint8_t type, const char *val, dpi_byte *b, byte_parse *p);

#endif
