/* Tags, run side: Suricata 7's DetectTagMatch, TagFlowAdd, TagHashAddTag
 * and TagHandlePacket (detect-tag.c, detect-engine-tag.c) over a fixed
 * table per worker.
 *
 * Suricata hangs a list of tags on the flow (session) and on the host
 * (host), each keyed by the (sid, gid) that set it, at most
 * DETECT_TAG_MAX_TAGS (50) per flow or host. Here one set-associative table
 * holds a flow's or a host's tags in one entry of TAG_RECS: a tag more is
 * refused and counted (Suricata refuses the 51st). A new entry takes a free
 * slot, else a host's whose tags all timed out (TagTimeoutCheck: 600 s
 * unseen), else the least recently used one, which is counted: only then
 * can the result differ from Suricata's (its host and flow tables grow). A
 * flow's entry goes when the flow ends, as Suricata's flow storage does. */
#include <string.h>

#include "detect/detect_int.h"
#include "detect/tag.h"

#define WAYS 8u
#define TAG_RECS 8u
#define TAG_MATCH_LIMIT 10u   /* DETECT_TAG_MATCH_LIMIT: restarts of one tag */
#define TAG_UNSEEN_S 600u     /* TAG_MAX_LAST_TIME_SEEN */

enum { K_FREE, K_SESSION, K_HOST };

typedef struct tag_rec {
    uint32_t sid, gid;
    uint32_t count;          /* of the rule's metric */
    uint32_t n;              /* packets or bytes so far (uint32_t, as Suricata's) */
    uint32_t first_s, last_s;
    uint16_t cnt_match;      /* restarts: past TAG_MATCH_LIMIT a match no longer restarts it */
    uint8_t metric;
    bool skipped_first;      /* the packet that set it was seen (it is not tagged) */
} tag_rec;

typedef struct tag_ent {
    uint64_t flow_id;        /* K_SESSION */
    gh_addr a;               /* K_HOST */
    uint32_t last_s;         /* last use, for the eviction of the oldest */
    uint8_t kind, ver, nrec;
    tag_rec rec[TAG_RECS];
} tag_ent;

struct gh_tag_table {
    tag_ent *e;
    size_t nsets;
    size_t live;             /* entries in use: none, no per-packet lookups */
    gh_tag_stats st;
};

gh_tag_table *gh_tag_table_new(size_t entries)
{
    gh_tag_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->nsets = entries / WAYS + (entries % WAYS != 0);
    if (!t->nsets)
        t->nsets = 1;
    if (!(t->e = calloc(t->nsets * WAYS, sizeof(tag_ent)))) {
        free(t);
        return NULL;
    }
    return t;
}

void gh_tag_table_free(gh_tag_table *t)
{
    if (!t)
        return;
    free(t->e);
    free(t);
}

const gh_tag_stats *gh_tag_table_stats(const gh_tag_table *t)
{
    return &t->st;
}

bool gh_tag_needed(const gh_dpi *d)
{
    return d && d->has_tags;
}

static tag_ent *set_of(gh_tag_table *t, const tag_ent *k)
{
    uint64_t h = k->flow_id * 0x9e3779b97f4a7c15ull ^ k->kind;
    for (int i = 0; i < 4; i++)
        h = (h ^ k->a.w[i]) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return &t->e[(h % t->nsets) * WAYS];
}

static tag_ent *find(tag_ent *set, const tag_ent *k)
{
    for (unsigned i = 0; i < WAYS; i++) {
        tag_ent *e = &set[i];
        if (e->kind == k->kind && e->flow_id == k->flow_id && e->ver == k->ver &&
            !memcmp(&e->a, &k->a, sizeof(gh_addr)))
            return e;
    }
    return NULL;
}

/* A host whose tags Suricata's TagTimeoutCheck would all have freed. */
static bool timed_out(const tag_ent *e, uint32_t now)
{
    if (e->kind != K_HOST)
        return false;
    for (unsigned i = 0; i < e->nrec; i++)
        if ((uint64_t)e->rec[i].last_s + TAG_UNSEEN_S >= now)
            return false;
    return true;
}

/* The entry of key @p k, made (empty) when it has none. */
static tag_ent *get(gh_tag_table *t, const tag_ent *k, uint32_t now)
{
    tag_ent *set = set_of(t, k), *e = find(set, k);
    if (e)
        return e;
    tag_ent *oldest = NULL, *stale = NULL;
    for (unsigned i = 0; i < WAYS && !e; i++) {
        tag_ent *x = &set[i];
        if (x->kind == K_FREE)
            e = x;
        else if (!stale && timed_out(x, now))
            stale = x;
        else if (!oldest || x->last_s < oldest->last_s)
            oldest = x;
    }
    if (!e && !(e = stale)) {
        t->st.evicted++;
        e = oldest;
    }
    if (e->kind == K_FREE)
        t->live++;
    *e = *k;
    e->nrec = 0;
    e->last_s = now;
    return e;
}

/* TagFlowAdd / TagHashAddTag: a match of (sid, gid) restarts its tag unless
 * it restarted TAG_MATCH_LIMIT times already, or adds one. */
static void add(gh_tag_table *t, tag_ent *e, const dpi_sig *sg, const gh_tag_spec *ts,
                uint32_t now)
{
    e->last_s = now;
    for (unsigned i = 0; i < e->nrec; i++) {
        tag_rec *r = &e->rec[i];
        if (r->sid == sg->info.sid && r->gid == sg->info.gid) {
            if (++r->cnt_match < TAG_MATCH_LIMIT) {
                r->first_s = r->last_s = now;
                r->n = 0;
            }
            return;
        }
    }
    if (e->nrec == TAG_RECS) {
        t->st.refused++;
        return;
    }
    e->rec[e->nrec++] = (tag_rec){.sid = sg->info.sid, .gid = sg->info.gid,
                                  .count = ts->count, .metric = ts->metric,
                                  .first_s = now, .last_s = now};
}

void gh_tag_match(gh_tag_table *t, const gh_dpi *d, uint32_t idx, const gh_packet *p,
                  uint64_t flow_id, uint64_t ts_ns)
{
    const dpi_sig *sg = &d->sigs[idx];
    uint32_t now = (uint32_t)(ts_ns / 1000000000u);
    for (unsigned i = 0; i < sg->ntags; i++) {
        const gh_tag_spec *ts = &sg->tags[i];
        tag_ent k = {.kind = ts->type == GH_TAG_HOST ? K_HOST : K_SESSION};
        if (k.kind == K_HOST) {
            if (p->ip_ver != 4 && p->ip_ver != 6)
                continue;
            k.ver = p->ip_ver;
            k.a = ts->dir == GH_TAG_SRC ? p->src : p->dst;
        } else {
            if (!flow_id) /* "No flow to append the session tag" */
                continue;
            k.flow_id = flow_id;
        }
        add(t, get(t, &k, now), sg, ts, now);
    }
}

/* TagHandlePacketFlow / TagHandlePacketHost on entry @p e. */
static bool handle(gh_tag_table *t, tag_ent *e, uint32_t now, uint32_t len)
{
    bool tagged = false;
    e->last_s = now;
    for (unsigned i = 0; i < e->nrec;) {
        tag_rec *r = &e->rec[i];
        r->last_s = now;
        if (r->metric == GH_TAG_PACKETS)
            r->n++;
        else if (r->metric == GH_TAG_BYTES)
            r->n += len;
        if (!r->skipped_first) {
            /* the packet that set it: its alert shows it already */
            r->skipped_first = true;
            i++;
            continue;
        }
        bool over = r->metric == GH_TAG_SECONDS ? r->last_s - r->first_s > r->count
                                                : r->n > r->count;
        if (!over) {
            tagged = true;
            i++;
            continue;
        }
        /* expired: the order of the rest does not matter */
        e->rec[i] = e->rec[--e->nrec];
    }
    if (!e->nrec) {
        e->kind = K_FREE;
        t->live--;
    }
    return tagged;
}

bool gh_tag_packet(gh_tag_table *t, const gh_packet *p, uint64_t flow_id, uint64_t ts_ns,
                   uint32_t len)
{
    if (!t->live)
        return false;
    uint32_t now = (uint32_t)(ts_ns / 1000000000u);
    bool tagged = false;
    tag_ent k = {.kind = K_SESSION, .flow_id = flow_id}, *e;
    if (flow_id && (e = find(set_of(t, &k), &k)))
        tagged |= handle(t, e, now, len);
    if (p->ip_ver != 4 && p->ip_ver != 6)
        return tagged;
    /* the source host, then the destination (the same one twice when equal) */
    k = (tag_ent){.kind = K_HOST, .ver = p->ip_ver, .a = p->src};
    if ((e = find(set_of(t, &k), &k)))
        tagged |= handle(t, e, now, len);
    k.a = p->dst;
    if ((e = find(set_of(t, &k), &k)))
        tagged |= handle(t, e, now, len);
    return tagged;
}

void gh_tag_flow_end(gh_tag_table *t, uint64_t flow_id)
{
    if (!t->live || !flow_id)
        return;
    tag_ent k = {.kind = K_SESSION, .flow_id = flow_id}, *e;
    if ((e = find(set_of(t, &k), &k))) {
        e->kind = K_FREE;
        t->live--;
    }
}
