/* Thresholds, run side: Suricata 7's PacketAlertHandle and
 * ThresholdHandlePacket (detect-engine-alert.c, detect-engine-threshold.c)
 * over a fixed table per worker.
 *
 * Suricata keeps a list of entries per host (by_src, by_dst), per address
 * pair (by_both, either order) and per signature (by_rule), each keyed by
 * (sid, gid). Here one set-associative table holds them all: a key hashes to
 * a set of WAYS slots; a new entry takes a free slot, else one whose window
 * has ended (Suricata's ThresholdTimeoutCheck would have freed it), else the
 * least recently used one, which is counted: only then can the result differ
 * from Suricata's (its host table would have grown). Times are compared in
 * microseconds, as Suricata's SCTime_t. */
#include "detect/detect_int.h"
#include "detect/threshold.h"

#define WAYS 8u

enum { K_FREE, K_HOST, K_PAIR, K_RULE };

typedef struct th_ent {
    uint64_t tv1;          /* window start (us) */
    uint64_t last;         /* last use (us), for the eviction of the oldest */
    int64_t tv_timeout;    /* rate_filter: the second the new action began, 0: none */
    uint32_t sid, gid;
    uint32_t count;
    uint32_t seconds, timeout; /* of the threshold that made it, for expiry */
    uint8_t kind;          /* K_* */
    uint8_t ver;           /* IP version of a and b */
    gh_addr a, b;          /* K_HOST: a; K_PAIR: the lower address in a */
} th_ent;

struct gh_thresh_table {
    th_ent *e;
    size_t nsets;
    gh_thresh_stats st;
};

gh_thresh_table *gh_thresh_table_new(size_t entries)
{
    gh_thresh_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->nsets = entries / WAYS + (entries % WAYS != 0);
    if (!t->nsets)
        t->nsets = 1;
    if (!(t->e = calloc(t->nsets * WAYS, sizeof(th_ent)))) {
        free(t);
        return NULL;
    }
    return t;
}

void gh_thresh_table_free(gh_thresh_table *t)
{
    if (!t)
        return;
    free(t->e);
    free(t);
}

const gh_thresh_stats *gh_thresh_table_stats(const gh_thresh_table *t)
{
    return &t->st;
}

bool gh_thresh_needed(const gh_dpi *d)
{
    return d && d->has_thresholds;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t key_hash(const th_ent *k)
{
    uint64_t h = ((uint64_t)k->sid << 32) | k->gid;
    h = mix(h, (uint64_t)k->kind << 8 | k->ver);
    for (int i = 0; i < 4; i++)
        h = mix(h, ((uint64_t)k->a.w[i] << 32) | k->b.w[i]);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static bool key_eq(const th_ent *x, const th_ent *k)
{
    return x->kind == k->kind && x->sid == k->sid && x->gid == k->gid && x->ver == k->ver &&
           !memcmp(&x->a, &k->a, sizeof(gh_addr)) && !memcmp(&x->b, &k->b, sizeof(gh_addr));
}

/* An entry Suricata's ThresholdTimeoutCheck would have freed by @p now; a
 * rate_filter whose new action still holds is kept. */
static bool expired(const th_ent *e, uint64_t now)
{
    if (e->tv_timeout && (int64_t)(now / 1000000u) - e->tv_timeout <= (int64_t)e->timeout)
        return false;
    return now > e->tv1 + (uint64_t)e->seconds * 1000000u;
}

/* A slot for key @p k (not in the table) in set @p set. */
static th_ent *take_slot(gh_thresh_table *t, th_ent *set, uint64_t now)
{
    th_ent *oldest = NULL, *stale = NULL;
    for (unsigned i = 0; i < WAYS; i++) {
        th_ent *e = &set[i];
        if (e->kind == K_FREE)
            return e;
        if (!stale && expired(e, now))
            stale = e;
        if (!oldest || e->last < oldest->last)
            oldest = e;
    }
    if (stale) {
        t->st.expired++;
        return stale;
    }
    t->st.evicted++;
    return oldest;
}

/* IsThresholdReached: a rate_filter's new action holds for timeout seconds
 * once more than count matches fell in one window. */
static bool rate_reached(th_ent *e, const gh_threshold_spec *td, uint64_t now)
{
    if (e->tv_timeout != 0) {
        if ((int64_t)(now / 1000000u) - e->tv_timeout > (int64_t)td->timeout) {
            e->tv_timeout = 0;
            return false;
        }
        return true;
    }
    if (now <= e->tv1 + (uint64_t)td->seconds * 1000000u) {
        if (++e->count > td->count) {
            e->tv_timeout = (int64_t)(now / 1000000u);
            return true;
        }
    } else {
        e->tv1 = now;
        e->count = 1;
    }
    return false;
}

/* ThresholdHandlePacket on entry @p e (NULL: none yet; *create asks for
 * one, which starts a window at @p now with count 1). */
static gh_th_result decide(const gh_threshold_spec *td, th_ent *e, uint64_t now, bool *create,
                           gh_rule_action *action)
{
    bool in = e && now <= e->tv1 + (uint64_t)td->seconds * 1000000u;
    if (e && !in && td->type != GH_TH_RATE) {
        /* the window ended: this match starts the next one */
        e->tv1 = now;
        e->count = 1;
    } else if (in && td->type != GH_TH_RATE) {
        e->count++;
    }
    switch (td->type) {
    case GH_TH_LIMIT:
        *create = !e;
        return !in || e->count <= td->count ? GH_TH_ALERT : GH_TH_SILENT;
    case GH_TH_THRESHOLD:
        if (!e) {
            *create = td->count != 1;
            return td->count == 1 ? GH_TH_ALERT : GH_TH_DISCARD;
        }
        if (in && e->count >= td->count) {
            e->count = 0;
            return GH_TH_ALERT;
        }
        return GH_TH_DISCARD;
    case GH_TH_BOTH:
        *create = !e;
        if (!e || !in)
            return td->count == 1 ? GH_TH_ALERT : GH_TH_DISCARD;
        if (e->count == td->count)
            return GH_TH_ALERT;
        return e->count > td->count ? GH_TH_SILENT : GH_TH_DISCARD;
    case GH_TH_DETECTION:
        *create = !e;
        return in && e->count > td->count ? GH_TH_ALERT : GH_TH_DISCARD;
    case GH_TH_RATE:
        *create = !e;
        if (e && rate_reached(e, td, now) && td->has_new_action)
            *action = td->new_action;
        return GH_TH_ALERT;
    default:
        return GH_TH_DISCARD; /* a type or track Suricata parses but cannot run */
    }
}

/* PacketAlertThreshold for a threshold (not a suppression). */
static gh_th_result threshold(gh_thresh_table *t, const dpi_sig *sg, const gh_packet *p,
                              uint64_t now, gh_rule_action *action)
{
    const gh_threshold_spec *td = &sg->th;
    th_ent k = {.sid = sg->info.sid, .gid = sg->info.gid};
    switch (td->track) {
    case GH_TRACK_SRC:
    case GH_TRACK_DST:
        k.kind = K_HOST;
        k.ver = p->ip_ver;
        k.a = td->track == GH_TRACK_SRC ? p->src : p->dst;
        break;
    case GH_TRACK_BOTH: {
        /* Suricata's IPPair matches either order */
        bool swap = memcmp(&p->src, &p->dst, sizeof(gh_addr)) > 0;
        k.kind = K_PAIR;
        k.ver = p->ip_ver;
        k.a = swap ? p->dst : p->src;
        k.b = swap ? p->src : p->dst;
        break;
    }
    case GH_TRACK_RULE:
        k.kind = K_RULE;
        break;
    default:
        return GH_TH_DISCARD;
    }
    th_ent *set = &t->e[(key_hash(&k) % t->nsets) * WAYS], *e = NULL;
    for (unsigned i = 0; i < WAYS && !e; i++)
        if (key_eq(&set[i], &k))
            e = &set[i];
    bool create = false;
    gh_th_result r = decide(td, e, now, &create, action);
    if (e) {
        e->last = now;
    } else if (create) {
        e = take_slot(t, set, now);
        *e = k;
        e->tv1 = e->last = now;
        e->count = 1;
        e->seconds = td->seconds;
        e->timeout = td->timeout;
    }
    return r;
}

gh_th_result gh_thresh_handle(gh_thresh_table *t, const gh_dpi *d, uint32_t idx,
                              const gh_packet *p, uint64_t ts_ns, gh_rule_action *action)
{
    const dpi_sig *sg = &d->sigs[idx];
    gh_th_result r = GH_TH_ALERT;
    if (p->ip_ver == 4 || p->ip_ver == 6) {
        /* suppressions first: an address in the list silences the alert */
        for (size_t i = 0; i < sg->nsup; i++) {
            const dpi_suppress *s = &d->sups[sg->sup_idx[i]];
            bool in = (s->track != GH_TRACK_DST &&
                       gh_detect_addr_in(&s->addrs, p->ip_ver, &p->src)) ||
                      (s->track != GH_TRACK_SRC &&
                       gh_detect_addr_in(&s->addrs, p->ip_ver, &p->dst));
            if (in)
                return GH_TH_SILENT;
        }
        if (sg->th.present)
            r = threshold(t, sg, p, ts_ns / 1000u, action);
    }
    /* a suppress without track cleared the signature's alert flag: its
     * action applies without an alert (a pass has no alert flag) */
    if (r == GH_TH_ALERT && sg->noalert &&
        gh_action_class_of(sg->info.action) != GH_ACTCLASS_PASS)
        r = GH_TH_SILENT;
    return r;
}
