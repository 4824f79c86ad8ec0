/* Flowbits: named booleans kept per flow, which signatures test (isset,
 * isnotset: conditions, with '|' lists matching when one name does) and
 * change once they match (set, unset, toggle), as Suricata 7's
 * detect-flowbits.c. Names become small ids when the rules compile
 * (rules/flowbits_build.c); the run side (flowbits.c) reads and changes a
 * flow's bits through gh_pkt_state.fb. Internal to libgatehouse. */
#ifndef GATEHOUSE_FLOWBITS_H
#define GATEHOUSE_FLOWBITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bits set on one flow: their ids, unordered. A flow rarely holds more
 * than a few; a set beyond GH_FLOWBITS_MAX is refused and counted. */
#define GH_FLOWBITS_MAX 31
struct gh_flowbits {
    uint16_t n;
    uint16_t id[GH_FLOWBITS_MAX];
};
typedef struct gh_flowbits gh_flowbits;

/* Most names in a '|' list (Suricata's MAX_TOKENS). */
#define FB_LIST_MAX 100

enum { FB_ISSET, FB_ISNOTSET, FB_SET, FB_UNSET, FB_TOGGLE };

/* One flowbits option of a signature: its command and names (ids). */
typedef struct dpi_fb {
    uint8_t cmd;        /* FB_* */
    uint16_t n;         /* names; a set/unset/toggle has one (Suricata acts on one id) */
    uint16_t *ids;
} dpi_fb;

/* Suricata orders the signatures that use flowbits (detect-engine-sigorder.c)
 * so that, within one action class, those that only change bits run before
 * those that change and test them, and those before the ones that only test. */
enum { FB_USE_NONE = 1, FB_USE_READ = 2, FB_USE_SET_READ = 3, FB_USE_SET = 4 };

/* Do the conditions (isset/isnotset) of @p fb[0 .. n) hold on @p bits?
 * Without a flow (@p bits NULL) no condition holds, as in Suricata. */
bool gh_flowbits_test(const dpi_fb *fb, size_t n, const gh_flowbits *bits);

/* Apply the commands (set/unset/toggle) of @p fb[0 .. n) to @p bits (NULL:
 * no flow, nothing to change). Returns the sets refused for lack of room. */
unsigned gh_flowbits_apply(const dpi_fb *fb, size_t n, gh_flowbits *bits);

/* ---- build side (rules/flowbits_build.c) ---- */

/* The flowbit names of one ruleset being compiled, each with its id. */
typedef struct gh_fb_names gh_fb_names;

gh_fb_names *gh_fb_names_new(void);
void gh_fb_names_free(gh_fb_names *t);
size_t gh_fb_names_count(const gh_fb_names *t);

/* Parse a flowbits option's value as Suricata 7 does: 1 with @p out filled
 * (its ids owned by the caller), 0 for "noalert" (nothing to keep), -1 on an
 * error (message in @p err; NULL names table: out of memory). */
int gh_flowbits_compile(const char *value, gh_fb_names *names, dpi_fb *out, char *err,
                        size_t errlen);

/* ---- run side (flowbits.c) ---- */

struct gh_dpi;
/* Does some signature of @p d use flowbits (then every flow needs a place
 * for its bits)? */
bool gh_dpi_has_flowbits(const struct gh_dpi *d);

static inline bool gh_flowbits_isset(const gh_flowbits *bits, uint16_t id)
{
    for (uint16_t i = 0; i < bits->n; i++)
        if (bits->id[i] == id)
            return true;
    return false;
}

#endif
