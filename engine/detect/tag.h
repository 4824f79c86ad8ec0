/* Tags, run side: Suricata 7's DetectTagMatch and TagHandlePacket
 * (detect-tag.c, detect-engine-tag.c) over a bounded table per worker.
 * Internal to libgatehouse. */
#ifndef GATEHOUSE_DETECT_TAG_H
#define GATEHOUSE_DETECT_TAG_H

#include <stdint.h>

#include "gatehouse/dpi.h"

typedef struct gh_tag_table gh_tag_table;

typedef struct gh_tag_stats {
    uint64_t refused;  /* tags not kept: their flow or host had the most it keeps */
    uint64_t evicted;  /* flows' or hosts' live tags evicted (their set was full) */
} gh_tag_stats;

/* A table of @p entries flows and hosts with tags (rounded up to a multiple
 * of its set size), allocated once; NULL when memory runs out. */
gh_tag_table *gh_tag_table_new(size_t entries);
void gh_tag_table_free(gh_tag_table *t);
const gh_tag_stats *gh_tag_table_stats(const gh_tag_table *t);

/* Whether any signature of @p d has a tag keyword (else no table is needed). */
bool gh_tag_needed(const gh_dpi *d);

/* Signature @p idx of @p d alerted (or was silenced but acted) on packet
 * @p p of flow @p flow_id (0: none) at @p ts_ns: its tags start, or restart
 * (DetectTagMatch). No allocation. */
void gh_tag_match(gh_tag_table *t, const gh_dpi *d, uint32_t idx, const gh_packet *p,
                  uint64_t flow_id, uint64_t ts_ns);

/* After the packet's matches: count packet @p p (@p len bytes) against the
 * tags of its flow and of its two hosts, drop the tags it ends, and say
 * whether it is a tagged packet (TagHandlePacket's PKT_HAS_TAG). */
bool gh_tag_packet(gh_tag_table *t, const gh_packet *p, uint64_t flow_id, uint64_t ts_ns,
                   uint32_t len);

/* Flow @p flow_id ended: its session tags go (Suricata frees them with the flow). */
void gh_tag_flow_end(gh_tag_table *t, uint64_t flow_id);

#endif
