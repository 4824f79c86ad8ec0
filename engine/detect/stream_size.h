/* stream_size: how many sequence numbers each side of a TCP session used
 * (next sequence number minus ISN), compared with a number, as Suricata 7's
 * detect-stream_size.c. The build side (rules/stream_size_build.c) parses
 * the option; the stream stage fills gh_pkt_state.ssize. Internal. */
#ifndef GATEHOUSE_STREAM_SIZE_H
#define GATEHOUSE_STREAM_SIZE_H

#include <stdbool.h>
#include <stddef.h>

#include "hdrmatch.h"

/* Which side's size is compared (Suricata's DetectStreamSizeDataFlags). */
enum { SSIZE_SERVER = 1, SSIZE_CLIENT, SSIZE_BOTH, SSIZE_EITHER };

typedef struct dpi_ssize {
    uint8_t which;      /* SSIZE_* */
    gh_uint_match um;   /* EQ, NE, LT, LE, GT or GE */
} dpi_ssize;

/* stream_size:<side>,<op>,<n>. 0, or -1 with a message in @p err. */
int gh_stream_size_parse(const char *v, dpi_ssize *out, char *err, size_t errlen);

/* Every stream_size option of a signature on the packet's session: no
 * TCP session (not TCP, or no SYN seen) matches none. */
static inline bool gh_stream_size_eval(const dpi_ssize *ss, size_t n, const gh_pkt_state *st)
{
    for (size_t i = 0; i < n; i++) {
        if (!st->tcp_ssn)
            return false;
        bool c = gh_uint_match_eval(&ss[i].um, st->ssize[0]);
        bool s = gh_uint_match_eval(&ss[i].um, st->ssize[1]);
        bool ok = ss[i].which == SSIZE_CLIENT ? c
                : ss[i].which == SSIZE_SERVER ? s
                : ss[i].which == SSIZE_BOTH   ? c && s
                                              : c || s;
        if (!ok)
            return false;
    }
    return true;
}

#endif
