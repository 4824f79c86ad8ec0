/* Stateful keywords: flowbits and flowint (variables of one flow) and xbits
 * (bits of a host or of a pair of hosts, with an expiry), as Suricata 7's
 * detect-flowbits.c, detect-flowint.c and detect-xbits.c. A signature tests
 * them with its other keywords (isset, isnotset, comparisons) and changes
 * them once it matches (set, unset, toggle, =, +, -). Names become small ids
 * when the rules compile (rules/state_build.c); the run side (state.c)
 * reads and changes them through gh_pkt_state: the flow's gh_flowvars and
 * the worker's gh_xbits table. Internal to libgatehouse. */
#ifndef GATEHOUSE_STATE_H
#define GATEHOUSE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/decode.h"

/* The variables of one flow: the flowbits set (ids, unordered) and the
 * flowints with their values. A flow rarely holds more than a few; a set
 * beyond the room is refused and counted. */
#define GH_FLOWBITS_MAX 31
#define GH_FLOWINTS_MAX 8
struct gh_flowvars {
    uint16_t nbits, nints;
    uint16_t bit[GH_FLOWBITS_MAX];
    uint16_t int_id[GH_FLOWINTS_MAX];
    uint32_t int_val[GH_FLOWINTS_MAX];
};
typedef struct gh_flowvars gh_flowvars;

/* The xbits of hosts and host pairs: a bounded table, one per worker. */
typedef struct gh_xbits gh_xbits;

/* Counts of what the state could not keep. */
typedef struct gh_state_stats {
    uint64_t refused;     /* flowbits/flowint sets refused: the flow's room was full */
    uint64_t xbits_evicted; /* xbits entries (a host or pair) evicted from a full table */
} gh_state_stats;

/* Most names in a flowbits '|' list (Suricata's MAX_TOKENS). */
#define FB_LIST_MAX 100

enum { SV_FLOWBITS, SV_FLOWINT, SV_HOSTBITS, SV_PAIRBITS, SV_N };
enum { FB_ISSET, FB_ISNOTSET, FB_SET, FB_UNSET, FB_TOGGLE };
enum { FI_SET, FI_ADD, FI_SUB, FI_EQ, FI_NE, FI_LT, FI_LE, FI_GT, FI_GE, FI_ISSET,
       FI_ISNOTSET };
enum { XB_SRC, XB_DST, XB_PAIR };

/* One stateful option of a signature. */
typedef struct dpi_var {
    uint8_t kind;       /* SV_* */
    uint8_t cmd;        /* FB_* (flowbits, xbits), FI_* (flowint) */
    uint8_t track;      /* xbits: XB_* */
    uint16_t n;         /* ids: a flowbits isset/isnotset list has several; a
                           flowbits set/unset/toggle with a list has none (Suricata
                           acts on one id, which a list leaves unset) */
    uint16_t *ids;
    uint16_t target;    /* flowint: the variable compared with or added (0: value) */
    uint32_t value;     /* flowint: the number; xbits: expire (seconds) */
} dpi_var;

/* Is @p v a test (run with the other keywords) rather than a change (run
 * when the signature matched)? */
static inline bool gh_var_is_test(const dpi_var *v)
{
    if (v->kind == SV_FLOWINT)
        return v->cmd > FI_SUB;
    return v->cmd == FB_ISSET || v->cmd == FB_ISNOTSET;
}

/* Suricata orders the signatures using each kind of variable
 * (detect-engine-sigorder.c) so that, within one action class, those that
 * only change run before those that change and test, and those before the
 * ones that only test. */
enum { VAR_USE_NONE = 1, VAR_USE_READ = 2, VAR_USE_SET_READ = 3, VAR_USE_SET = 4 };

/* ---- build side (rules/state_build.c) ---- */

/* The variable names of one ruleset being compiled, each with its id. */
typedef struct gh_var_names gh_var_names;

gh_var_names *gh_var_names_new(void);
void gh_var_names_free(gh_var_names *t);

/* Add the names of @p src to @p dst in @p src's id order, as if the rules
 * that named them had been compiled after those of @p dst: @p map[id] is
 * the id in @p dst of @p src's id (map has room for 1 + @p src's count,
 * gh_var_names_count). 0, or -1 when memory or ids run out. */
size_t gh_var_names_count(const gh_var_names *t);
int gh_var_names_merge(gh_var_names *dst, const gh_var_names *src, uint16_t *map);
/* Renumber the ids of @p v (its names and flowint target) through @p map. */
void gh_var_remap(dpi_var *v, const uint16_t *map);

/* Parse a flowbits, flowint or xbits option's value (@p kw) as Suricata 7
 * does: 1 with @p out filled (its ids owned by the caller), 0 for a
 * noalert command (nothing to keep), -1 on an error (message in @p err). */
int gh_var_compile(const char *kw, const char *value, gh_var_names *names, dpi_var *out,
                   char *err, size_t errlen);

/* ---- run side (state.c) ---- */

struct gh_dpi;
/* Does some signature of @p d use flowbits or flowint (then every flow needs
 * a place for them), xbits (then the worker keeps a table)? */
bool gh_dpi_has_flowvars(const struct gh_dpi *d);
bool gh_dpi_has_xbits(const struct gh_dpi *d);

/* What the variables of a packet are: its flow's, the worker's xbits table
 * (either may be NULL: none kept) and the packet's time and addresses. */
typedef struct gh_var_ctx {
    gh_flowvars *fv;
    gh_xbits *xb;
    const gh_packet *p;
    uint32_t now_s;
    gh_state_stats *st;
} gh_var_ctx;

/* Do the tests among @p v[0 .. n) hold? Without a flow no flowbits or
 * flowint test holds, as in Suricata. */
bool gh_vars_test(const dpi_var *v, size_t n, const gh_var_ctx *c);

/* Apply the changes among @p v[0 .. n). */
void gh_vars_apply(const dpi_var *v, size_t n, const gh_var_ctx *c);

/* A table for the xbits of up to @p max hosts and host pairs (rounded up to
 * a power of two); NULL when out of memory. */
gh_xbits *gh_xbits_new(uint32_t max);
void gh_xbits_free(gh_xbits *t);

static inline bool gh_flowbits_isset(const gh_flowvars *fv, uint16_t id)
{
    for (uint16_t i = 0; i < fv->nbits; i++)
        if (fv->bit[i] == id)
            return true;
    return false;
}

#endif
