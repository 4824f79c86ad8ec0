/* Application layer stage: protocol detection by content (never by port),
 * a bounded pool of parser states, and the records events show of this
 * packet's transactions. */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

/* Parsers, tried in order by detection. */
static const gh_app_ops *const parsers[] = {&gh_app_http1_ops};
#define N_PARSERS (sizeof(parsers) / sizeof(parsers[0]))

/* Records per packet, and the bytes their strings may take. */
#define REC_MAX 32
#define ANOM_MAX 32
#define ARENA_BYTES (64u * 1024u)
#define FIELD_MAX 8192u /* longest field copied into a record */

struct gh_app {
    gh_app_limits lim;
    uint32_t max_flows;
    void **states;         /* max_flows slots, each allocated on first use */
    const gh_app_ops **state_ops;
    uint32_t *free_list;   /* free slot indexes (1-based), LIFO */
    uint32_t nfree, nused; /* nused: slots ever allocated */
    gh_app_stats st;
    gh_app_rec recs[REC_MAX];
    size_t nrecs;
    gh_app_anom anoms[ANOM_MAX];
    size_t nanoms;
    char *arena;
    size_t arena_used;
};

void gh_app_limits_init(gh_app_limits *l)
{
    /* libhtp's field limit and Suricata 7's default body limits */
    l->header_limit = 18000;
    l->request_body_limit = 100 * 1024;
    l->response_body_limit = 100 * 1024;
    l->decompress_limit = 1024 * 1024;
    l->max_tx = 16;
}

void gh_app_tx_start(gh_app_tx *tx, uint64_t id)
{
    uint32_t *keep = tx->alerted;
    uint16_t cap = tx->cap_alerted;
    *tx = (gh_app_tx){.id = id, .alerted = keep, .cap_alerted = cap};
}

void gh_app_tx_release(gh_app_tx *tx)
{
    free(tx->alerted);
    tx->alerted = NULL;
    tx->cap_alerted = 0;
    tx->n_alerted = 0;
}

const char *gh_alproto_name(uint8_t proto)
{
    switch (proto) {
    case GH_ALPROTO_HTTP1: return "http";
    case GH_ALPROTO_FAILED: return "failed";
    default: return "unknown";
    }
}

gh_app *gh_app_new(uint32_t max_flows, const gh_app_limits *lim, gh_error *err)
{
    gh_app *a = calloc(1, sizeof(*a));
    if (!a)
        goto oom;
    if (lim)
        a->lim = *lim;
    else
        gh_app_limits_init(&a->lim);
    a->max_flows = max_flows;
    a->states = calloc(max_flows ? max_flows : 1, sizeof(*a->states));
    a->state_ops = calloc(max_flows ? max_flows : 1, sizeof(*a->state_ops));
    a->free_list = malloc((max_flows ? max_flows : 1) * sizeof(*a->free_list));
    a->arena = malloc(ARENA_BYTES);
    if (!a->states || !a->state_ops || !a->free_list || !a->arena)
        goto oom;
    return a;
oom:
    gh_app_free(a);
    gh_error_set(err, GH_E_NOMEM, "out of memory for the application layer");
    return NULL;
}

void gh_app_free(gh_app *a)
{
    if (!a)
        return;
    for (uint32_t i = 0; a->states && i < a->nused; i++) {
        if (a->states[i]) {
            a->state_ops[i]->free(a->states[i]);
            free(a->states[i]);
        }
    }
    free(a->states);
    free(a->state_ops);
    free(a->free_list);
    free(a->arena);
    free(a);
}

/* A parser state for @p ops: a free slot's (reset), else a new one while
 * the pool has room; 0 when full. */
static uint32_t state_get(gh_app *a, const gh_app_ops *ops)
{
    while (a->nfree) {
        uint32_t i = a->free_list[--a->nfree];
        if (a->state_ops[i - 1] == ops) {
            ops->reset(a->states[i - 1]);
            return i;
        }
        /* another protocol's state: give it back to the heap */
        a->state_ops[i - 1]->free(a->states[i - 1]);
        free(a->states[i - 1]);
        a->states[i - 1] = NULL;
        void *s = calloc(1, ops->state_size);
        if (!s || ops->init(s, &a->lim) != 0) {
            free(s);
            a->free_list[a->nfree++] = i; /* an empty slot for later */
            a->state_ops[i - 1] = NULL;
            return 0;
        }
        a->states[i - 1] = s;
        a->state_ops[i - 1] = ops;
        return i;
    }
    if (a->nused == a->max_flows)
        return 0;
    void *s = calloc(1, ops->state_size);
    if (!s)
        return 0;
    if (ops->init(s, &a->lim) != 0) {
        ops->free(s);
        free(s);
        return 0;
    }
    a->states[a->nused] = s;
    a->state_ops[a->nused] = ops;
    return ++a->nused;
}

void gh_app_flow_release(gh_app *a, gh_app_flow *af)
{
    if (a && af->state)
        a->free_list[a->nfree++] = af->state;
    memset(af, 0, sizeof(*af));
}

const gh_app_ops *gh_app_flow_ops(const gh_app_flow *af)
{
    for (size_t i = 0; i < N_PARSERS; i++)
        if (af->state && parsers[i]->proto == af->proto)
            return parsers[i];
    return NULL;
}

void *gh_app_flow_state(gh_app *a, const gh_app_flow *af)
{
    return af->state && a->states[af->state - 1] ? a->states[af->state - 1] : NULL;
}

/* Direction @p dir's first bytes: which parser takes them (Suricata's
 * probing: by content, on any port). The flow is decided by the first
 * YES of either direction; it fails when the client's first bytes are no
 * protocol's, or both directions said no. */
static void detect(gh_app *a, gh_app_flow *af, int dir, const gh_app_sink *sink)
{
    bool more = false;
    for (size_t i = 0; i < N_PARSERS; i++) {
        int r = parsers[i]->probe(dir, af->probe[dir], af->nprobe[dir]);
        if (r == GH_PROBE_NO && parsers[i]->probe(!dir, af->probe[dir], af->nprobe[dir]) ==
                                    GH_PROBE_YES) {
            /* the other side's protocol: the session was picked up with the
             * server taken for the client (Suricata reverses the flow) */
            af->reversed = true;
            r = GH_PROBE_YES;
        }
        if (r == GH_PROBE_MORE && af->nprobe[dir] < GH_APP_PROBE_MAX) {
            more = true;
        } else if (r == GH_PROBE_YES) {
            af->proto = (uint8_t)parsers[i]->proto;
            a->st.flows[af->proto]++;
            if (!(af->state = state_get(a, parsers[i]))) {
                a->st.no_state++;
                return;
            }
            void *s = a->states[af->state - 1];
            /* what waited for the decision, in order */
            parsers[i]->parse(s, dir ^ af->reversed, af->probe[dir], af->nprobe[dir], sink);
            return;
        }
    }
    if (more)
        return;
    af->said_no[dir] = 1;
    if (dir == 0 || af->said_no[0]) {
        af->proto = GH_ALPROTO_FAILED;
        a->st.flows[GH_ALPROTO_FAILED]++;
    }
}

void gh_app_data(gh_app *a, gh_app_flow *af, int dir, const uint8_t *b, size_t n,
                 const gh_app_sink *sink)
{
    if (!n || af->dead[dir] || af->proto == GH_ALPROTO_FAILED)
        return;
    if (af->proto == GH_ALPROTO_UNKNOWN) {
        if (af->said_no[dir])
            return;
        /* gather the first bytes; the rest follows the decision */
        size_t k = GH_APP_PROBE_MAX - af->nprobe[dir];
        if (k > n)
            k = n;
        memcpy(af->probe[dir] + af->nprobe[dir], b, k);
        af->nprobe[dir] = (uint8_t)(af->nprobe[dir] + k);
        detect(a, af, dir, sink);
        if (af->proto == GH_ALPROTO_UNKNOWN || af->proto == GH_ALPROTO_FAILED)
            return;
        b += k;
        n -= k;
        /* the other direction's bytes that waited */
        if (af->state && af->nprobe[!dir] && !af->said_no[!dir]) {
            const gh_app_ops *ops = gh_app_flow_ops(af);
            ops->parse(a->states[af->state - 1], !dir ^ af->reversed, af->probe[!dir],
                       af->nprobe[!dir], sink);
        }
        if (!n)
            return;
    }
    void *s = gh_app_flow_state(a, af);
    if (s)
        gh_app_flow_ops(af)->parse(s, dir ^ af->reversed, b, n, sink);
}

void gh_app_gap(gh_app *a, gh_app_flow *af, int dir, uint64_t len, const gh_app_sink *sink)
{
    void *s = gh_app_flow_state(a, af);
    if (s)
        gh_app_flow_ops(af)->gap(s, dir ^ af->reversed, len, sink);
    else if (af->proto == GH_ALPROTO_UNKNOWN)
        af->said_no[dir] = 1; /* detection needs the first bytes */
}

void gh_app_close(gh_app *a, gh_app_flow *af, int dir, const gh_app_sink *sink)
{
    if (af->dead[dir])
        return;
    af->dead[dir] = true;
    void *s = gh_app_flow_state(a, af);
    if (s)
        gh_app_flow_ops(af)->close(s, dir ^ af->reversed, sink);
}

/* ---- records ---------------------------------------------------------------- */

static gh_eve_str copy_field(gh_app *a, const gh_app_ops *ops, void *s, gh_app_tx *tx,
                             gh_buffer_id id, int dir)
{
    const uint8_t *p;
    uint32_t n;
    if (!ops->get_buffer(s, tx, id, dir, &p, &n))
        return (gh_eve_str){NULL, 0};
    if (n > FIELD_MAX)
        n = FIELD_MAX;
    if (a->arena_used + n > ARENA_BYTES)
        n = (uint32_t)(ARENA_BYTES - a->arena_used);
    char *d = a->arena + a->arena_used;
    memcpy(d, p, n);
    a->arena_used += n;
    return (gh_eve_str){d, n};
}

int gh_app_record(gh_app *a, const gh_app_flow *af, gh_app_tx *tx, bool log)
{
    for (size_t i = 0; i < a->nrecs; i++) /* one record per transaction and packet */
        if (a->recs[i].http.tx_id == tx->id && a->recs[i].proto == af->proto) {
            a->recs[i].log |= log;
            return (int)i;
        }
    if (a->nrecs == REC_MAX) {
        a->st.records_dropped++;
        return -1;
    }
    const gh_app_ops *ops = gh_app_flow_ops(af);
    void *s = gh_app_flow_state(a, af);
    if (!ops || !s)
        return -1;
    gh_app_rec *r = &a->recs[a->nrecs];
    memset(r, 0, sizeof(*r));
    r->proto = af->proto;
    r->log = log;
    gh_eve_http *h = &r->http;
    h->tx_id = tx->id;
    h->hostname = copy_field(a, ops, s, tx, GH_BUF_HTTP_HOST, 0);
    h->url = copy_field(a, ops, s, tx, GH_BUF_HTTP_URI_RAW, 0);
    h->user_agent = copy_field(a, ops, s, tx, GH_BUF_HTTP_USER_AGENT, 0);
    h->content_type = copy_field(a, ops, s, tx, GH_BUF_HTTP_CONTENT_TYPE, 1);
    h->referer = copy_field(a, ops, s, tx, GH_BUF_HTTP_REFERER, 0);
    h->method = copy_field(a, ops, s, tx, GH_BUF_HTTP_METHOD, 0);
    h->protocol = copy_field(a, ops, s, tx, GH_BUF_HTTP_PROTOCOL, 0);
    h->redirect = copy_field(a, ops, s, tx, GH_BUF_HTTP_LOCATION, 1);
    const uint8_t *p;
    uint32_t n;
    if (ops->get_buffer(s, tx, GH_BUF_HTTP_STAT_CODE, 1, &p, &n)) {
        for (uint32_t i = 0; i < n && i < 4 && p[i] >= '0' && p[i] <= '9'; i++)
            h->status = h->status * 10 + (uint32_t)(p[i] - '0');
    }
    h->length = ops->body_length(s, tx, 1);
    if (log)
        a->st.txs++;
    return (int)a->nrecs++;
}

void gh_app_record_anomaly(gh_app *a, gh_app_tx *tx, int dir, const char *name)
{
    a->st.anomalies++;
    if (a->nanoms == ANOM_MAX)
        return;
    a->anoms[a->nanoms++] =
        (gh_app_anom){.name = name, .tx_id = tx ? tx->id : 0, .has_tx = tx != NULL, .dir = dir};
}

void gh_app_records_reset(gh_app *a)
{
    a->nrecs = 0;
    a->nanoms = 0;
    a->arena_used = 0;
}

size_t gh_app_record_count(const gh_app *a)
{
    return a->nrecs;
}

const gh_app_rec *gh_app_get_record(const gh_app *a, size_t i)
{
    return i < a->nrecs ? &a->recs[i] : NULL;
}

size_t gh_app_anomaly_count(const gh_app *a)
{
    return a->nanoms;
}

const gh_app_anom *gh_app_get_anomaly(const gh_app *a, size_t i)
{
    return i < a->nanoms ? &a->anoms[i] : NULL;
}

const gh_app_stats *gh_app_get_stats(const gh_app *a)
{
    return &a->st;
}
