/* gatehouse: Suricata's thresholds, build side.
 *
 * The threshold and detection_filter keywords of a signature, and a
 * threshold file in Suricata's threshold.config format (suppress,
 * event_filter, threshold, rate_filter), become one gh_threshold_spec per
 * signature plus its suppressions; the workers apply them to every alert
 * they are about to emit (engine/detect/threshold.c, Suricata's
 * PacketAlertHandle and ThresholdHandlePacket).
 */
#ifndef GATEHOUSE_THRESHOLD_H
#define GATEHOUSE_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/common.h"
#include "gatehouse/dpi.h"
#include "gatehouse/rules.h"

/** Suricata's TYPE_* (detect-threshold.h), same values. */
typedef enum gh_th_type {
    GH_TH_NONE = 0,      /**< no threshold (or, with present, Suricata's type 0: never alerts) */
    GH_TH_LIMIT = 1,     /**< the first count alerts per window */
    GH_TH_BOTH = 2,      /**< one alert, at the count-th match of a window */
    GH_TH_THRESHOLD = 3, /**< an alert every count matches of a window */
    GH_TH_DETECTION = 4, /**< detection_filter: every match after the count-th */
    GH_TH_RATE = 5,      /**< rate_filter: more than count per window changes the action */
} gh_th_type;

/** Suricata's TRACK_* values. */
typedef enum gh_th_track {
    GH_TRACK_NONE = 0,
    GH_TRACK_DST = 1,
    GH_TRACK_SRC = 2,
    GH_TRACK_RULE = 3,
    GH_TRACK_EITHER = 4, /**< suppress only */
    GH_TRACK_BOTH = 5,   /**< the address pair, either direction */
} gh_th_track;

/** One threshold of a signature, typed at compile time. */
typedef struct gh_threshold_spec {
    bool present;          /**< the signature has one (keyword or threshold file) */
    uint8_t type;          /**< gh_th_type; GH_TH_NONE when present: never alerts */
    uint8_t track;         /**< gh_th_track; GH_TRACK_NONE when present: never alerts */
    bool has_new_action;   /**< rate_filter: new_action alert|drop|pass|reject (log and
                                sdrop are accepted and change nothing, as in Suricata) */
    gh_rule_action new_action;
    uint32_t count, seconds;
    uint32_t timeout;      /**< rate_filter: seconds the new action holds */
    bool from_keyword;     /**< threshold/detection_filter keyword, not the file */
} gh_threshold_spec;

/**
 * Parse the value of keyword @p name ("threshold" or "detection_filter")
 * with Suricata 7's rules (its regular expressions, so the same values are
 * accepted: any order, each part once; detection_filter tracks by_src or
 * by_dst only, count and seconds > 0). false with @p msg filled when
 * Suricata refuses it.
 */
GH_API bool gh_threshold_parse_keyword(const char *name, const char *value,
                                       gh_threshold_spec *out, char *msg, size_t msz);

/** A parsed threshold file. */
typedef struct gh_threshold_conf gh_threshold_conf;

/**
 * Parse threshold.config text @p text (file name @p name for positions):
 * lines "suppress|event_filter|threshold|rate_filter gen_id G, sig_id S,
 * ...", '#' comments, lines continued by a trailing '\'. Suppress addresses
 * ("ip") are evaluated with @p vars. Every bad line is an error appended to
 * @p errs (file:line; the caller frees) and the result is NULL; Suricata
 * skips such lines unless testing the configuration (-T). NULL with @p err
 * set (and no errors) when memory runs out.
 */
GH_API gh_threshold_conf *gh_threshold_conf_parse(const char *name, const char *text,
                                                  const gh_rule_vars *vars, gh_rule_error **errs,
                                                  size_t *nerrs, gh_error *err);

/** gh_threshold_conf_parse of file @p path (GH_E_IO in @p err when unreadable). */
GH_API gh_threshold_conf *gh_threshold_conf_load(const char *path, const gh_rule_vars *vars,
                                                 gh_rule_error **errs, size_t *nerrs,
                                                 gh_error *err);

/** Free; NULL is fine. */
GH_API void gh_threshold_conf_free(gh_threshold_conf *c);

/** Lines of @p c that took effect (Suricata's "Threshold config parsed: N rule(s)"). */
GH_API size_t gh_threshold_conf_count(const gh_threshold_conf *c);

/**
 * Apply @p c to @p d's signatures in file order, as Suricata's
 * SetupSuppressRule / SetupThresholdRule do: a suppress without track
 * silences the signature's alerts (its action still applies); with track
 * and ip it silences the alerts whose address is in the list. An
 * event_filter or threshold line for one signature replaces its keyword
 * threshold or detection_filter; a rate_filter line is ignored for a
 * signature that has one; sig_id 0 lines apply to the signatures (of gen_id,
 * or all with gen_id 0) that have none yet. Lines naming a signature @p d
 * does not have are appended to @p warns (the caller frees) and ignored.
 * Call before any worker matches with @p d. Returns GH_OK or GH_E_NOMEM.
 */
GH_API int gh_dpi_set_thresholds(gh_dpi *d, const gh_threshold_conf *c, gh_rule_error **warns,
                                 size_t *nwarns);

/** The threshold of signature @p idx (NULL when out of range). */
GH_API const gh_threshold_spec *gh_dpi_sig_threshold(const gh_dpi *d, uint32_t idx);

#endif
