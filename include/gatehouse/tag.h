/* gatehouse: Suricata's tag keyword, build side.
 *
 * "tag:session|host[,count,packets|seconds|bytes[,src|dst]]" makes a
 * signature that alerts tag the later packets of its flow (session) or of
 * one of its hosts (host); the workers keep the tags and mark the packets
 * (engine/detect/tag.c, Suricata's detect-engine-tag.c). Tagged packets
 * raise no alert: with the EVE option tagged_packets they are written as
 * "packet" events, as Suricata's eve-log alert option tagged-packets does.
 */
#ifndef GATEHOUSE_TAG_H
#define GATEHOUSE_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/common.h"
#include "gatehouse/dpi.h"

/** Tag keywords a signature may have (Suricata has no limit; ET uses one). */
#define GH_TAG_PER_SIG 4

/** Suricata's DETECT_TAG_MAX_PKTS: the default count, and the most packets. */
#define GH_TAG_MAX_PKTS 256u

/** Suricata's DETECT_TAG_TYPE_*, DETECT_TAG_METRIC_*, DETECT_TAG_DIR_*. */
typedef enum gh_tag_type { GH_TAG_SESSION = 0, GH_TAG_HOST = 1 } gh_tag_type;
typedef enum gh_tag_metric {
    GH_TAG_PACKETS = 0,
    GH_TAG_SECONDS = 1,
    GH_TAG_BYTES = 2,
} gh_tag_metric;
typedef enum gh_tag_dir { GH_TAG_SRC = 0, GH_TAG_DST = 1 } gh_tag_dir;

/** One tag keyword of a signature. */
typedef struct gh_tag_spec {
    uint8_t type;      /**< gh_tag_type */
    uint8_t metric;    /**< gh_tag_metric */
    uint8_t dir;       /**< gh_tag_dir: the host tagged (host tags; default dst) */
    uint32_t count;    /**< packets (at most GH_TAG_MAX_PKTS), seconds or bytes */
} gh_tag_spec;

/**
 * Parse a tag value as Suricata 7's DetectTagParse: its regular expression
 * (case-sensitive words, count and metric together, direction last), the
 * default of 256 packets towards dst, packet counts above 256 lowered to
 * 256. false with @p msg filled when Suricata refuses it.
 */
GH_API bool gh_tag_parse_keyword(const char *value, gh_tag_spec *out, char *msg, size_t msz);

/** The tags of signature @p idx in *n (NULL when it has none or is out of range). */
GH_API const gh_tag_spec *gh_dpi_sig_tags(const gh_dpi *d, uint32_t idx, size_t *n);

#endif
