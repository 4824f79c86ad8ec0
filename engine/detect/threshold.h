/* Thresholds, run side: Suricata's PacketAlertHandle for one alert a worker
 * is about to emit (suppressions, then the signature's threshold), with the
 * threshold state in a bounded per-worker table. Internal to libgatehouse. */
#ifndef GATEHOUSE_DETECT_THRESHOLD_H
#define GATEHOUSE_DETECT_THRESHOLD_H

#include <stdint.h>

#include "gatehouse/dpi.h"

typedef struct gh_thresh_table gh_thresh_table;

/* What becomes of a match (PacketAlertHandle's return values). */
typedef enum gh_th_result {
    GH_TH_DISCARD = 0, /* no alert, and its action does not apply */
    GH_TH_ALERT = 1,   /* alert, and its action applies */
    GH_TH_SILENT = 2,  /* no alert, but its action applies */
} gh_th_result;

typedef struct gh_thresh_stats {
    uint64_t expired;  /* entries whose window had ended, reused for a new key */
    uint64_t evicted;  /* live entries evicted (their set was full): the oldest used */
} gh_thresh_stats;

/* A table of @p entries threshold entries (rounded up to a multiple of its
 * set size), allocated once; NULL when memory runs out. */
gh_thresh_table *gh_thresh_table_new(size_t entries);
void gh_thresh_table_free(gh_thresh_table *t);
const gh_thresh_stats *gh_thresh_table_stats(const gh_thresh_table *t);

/* Whether any signature of @p d has a threshold or suppression (else no
 * table is needed). */
bool gh_thresh_needed(const gh_dpi *d);

/* Signature @p idx of @p d matched packet @p p (its addresses; @p ts_ns its
 * time): what Suricata 7 does with the alert. @p action is the signature's
 * action on entry; a rate_filter may change it. No allocation. */
gh_th_result gh_thresh_handle(gh_thresh_table *t, const gh_dpi *d, uint32_t idx,
                              const gh_packet *p, uint64_t ts_ns, gh_rule_action *action);

#endif
