/* Application layer stage: protocol detection by content (never by port),
 * a bounded pool of parser states, and the records events show of this
 * packet's transactions. */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

/* Parsers, tried in order by detection. */
static const gh_app_ops *const parsers[] = {&gh_app_http1_ops, &gh_app_tls_ops,
                                            &gh_app_dns_ops, &gh_app_smtp_ops,
                                            &gh_app_ftp_ops, &gh_app_smb_ops,
                                            &gh_app_ssh_ops, &gh_app_dcerpc_ops};
#define N_PARSERS (sizeof(parsers) / sizeof(parsers[0]))

/* Records per packet, and the bytes their events may take. */
#define REC_MAX 32
#define ANOM_MAX 32
#define LOG_BYTES (1024u * 1024u)

struct gh_app {
    gh_app_limits lim;
    uint32_t max_flows;
    void **states;         /* max_flows slots, each allocated on first use */
    const gh_app_ops **state_ops;
    /* free slots (1-based), a LIFO list per parser (the last: empty slots),
     * linked through free_next */
    uint32_t *free_next;
    uint32_t free_head[N_PARSERS + 1];
    uint32_t nused;        /* slots ever allocated */
    gh_app_stats st;
    gh_app_rec recs[REC_MAX];
    size_t nrecs;
    gh_app_anom anoms[ANOM_MAX];
    size_t nanoms;
    gh_jbuf log;           /* the records' members (pointers resolved per packet) */
    uint32_t alert_off[REC_MAX], ev_off[REC_MAX];
    bool log_alert;        /* write what alerts show (gh_app_set_log) */
    uint32_t log_protos;   /* protocols (1u << gh_alproto) whose events are written */
};

int gh_buf_reserve(gh_buf *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    if (need > UINT32_MAX / 2)
        return GH_E_LIMIT;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return GH_E_NOMEM;
    b->p = p;
    b->cap = (uint32_t)cap;
    return 0;
}

int gh_buf_put(gh_buf *b, const void *d, size_t n)
{
    const uint8_t *src = d;
    bool self = b->p && src >= b->p && src < b->p + b->cap;
    size_t off = self ? (size_t)(src - b->p) : 0;
    int rc = gh_buf_reserve(b, (size_t)b->len + n);
    if (rc)
        return rc;
    if (self) /* the bytes moved with the buffer */
        src = b->p + off;
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += (uint32_t)n;
    return 0;
}

void gh_buf_free(gh_buf *b)
{
    free(b->p);
    *b = (gh_buf){0};
}

void gh_app_limits_init(gh_app_limits *l)
{
    /* libhtp's field limit and Suricata 7's default body limits */
    l->header_limit = 18000;
    l->request_body_limit = 100 * 1024;
    l->response_body_limit = 100 * 1024;
    l->decompress_limit = 1024 * 1024;
    l->max_tx = 16;
    l->tls_ja3 = false;
}

void gh_app_tx_start(gh_app_tx *tx, uint64_t id)
{
    uint32_t *keep = tx->alerted;
    uint16_t cap = tx->cap_alerted;
    struct gh_tx_fp_wait *wait = tx->fp_wait;
    uint16_t wcap = tx->cap_fp_wait;
    free(tx->body_hits);
    *tx = (gh_app_tx){.id = id, .alerted = keep, .cap_alerted = cap, .fp_wait = wait,
                      .cap_fp_wait = wcap};
}

void gh_app_tx_release(gh_app_tx *tx)
{
    free(tx->body_hits);
    tx->body_hits = NULL;
    free(tx->alerted);
    tx->alerted = NULL;
    tx->cap_alerted = 0;
    tx->n_alerted = 0;
    free(tx->fp_wait);
    tx->fp_wait = NULL;
    tx->cap_fp_wait = 0;
    tx->n_fp_wait = 0;
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
    a->log_alert = true;
    a->log_protos = UINT32_MAX;
    a->states = calloc(max_flows ? max_flows : 1, sizeof(*a->states));
    a->state_ops = calloc(max_flows ? max_flows : 1, sizeof(*a->state_ops));
    a->free_next = calloc(max_flows ? max_flows : 1, sizeof(*a->free_next));
    gh_jbuf_init(&a->log);
    if (!a->states || !a->state_ops || !a->free_next)
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
    free(a->free_next);
    gh_jbuf_free(&a->log);
    free(a);
}

/* The free list of slot @p i's parser (its state's ops; none: empty). */
static uint32_t *free_list_of(gh_app *a, const gh_app_ops *ops)
{
    size_t p = 0;
    while (p < N_PARSERS && parsers[p] != ops)
        p++;
    return &a->free_head[p];
}

static void free_push(gh_app *a, uint32_t i)
{
    uint32_t *head = free_list_of(a, a->state_ops[i - 1]);
    a->free_next[i - 1] = *head;
    *head = i;
}

static uint32_t free_pop(uint32_t *head, gh_app *a)
{
    uint32_t i = *head;
    *head = a->free_next[i - 1];
    return i;
}

/* A parser state for @p ops: a free slot of that parser (reset: its buffers
 * keep their capacity, so a steady mix of flows allocates nothing), else a
 * new one while the pool has room, else another parser's free slot made
 * over; 0 when full. */
static uint32_t state_get(gh_app *a, const gh_app_ops *ops)
{
    uint32_t *own = free_list_of(a, ops);
    if (*own) {
        uint32_t i = free_pop(own, a);
        ops->reset(a->states[i - 1]);
        return i;
    }
    if (a->nused < a->max_flows) {
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
    for (size_t p = 0; p <= N_PARSERS; p++) {
        if (!a->free_head[p])
            continue;
        uint32_t i = free_pop(&a->free_head[p], a);
        /* another protocol's state (or an empty slot): give it back to the heap */
        if (a->state_ops[i - 1])
            a->state_ops[i - 1]->free(a->states[i - 1]);
        free(a->states[i - 1]);
        a->states[i - 1] = NULL;
        a->state_ops[i - 1] = NULL;
        void *s = calloc(1, ops->state_size);
        if (!s || ops->init(s, &a->lim) != 0) {
            if (s)
                ops->free(s);
            free(s);
            free_push(a, i); /* an empty slot for later */
            return 0;
        }
        a->states[i - 1] = s;
        a->state_ops[i - 1] = ops;
        return i;
    }
    return 0;
}

void gh_app_flow_release(gh_app *a, gh_app_flow *af)
{
    if (a && af->state)
        free_push(a, af->state);
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

/* Take parser @p ops for the flow: its state from the pool. False when the
 * protocol is detected only or the pool is full (the flow keeps its
 * protocol, unparsed). */
static bool take(gh_app *a, gh_app_flow *af, const gh_app_ops *ops, int dir,
                 const gh_app_sink *sink)
{
    af->proto = (uint8_t)ops->proto;
    a->st.flows[af->proto]++;
    if (!ops->state_size)
        return false;
    if (!(af->state = state_get(a, ops))) {
        a->st.no_state++;
        gh_app_exception(sink, dir, GH_APP_EXC_MEMCAP);
        return false;
    }
    return true;
}

/* Direction @p dir's first bytes: which parser takes them (Suricata's
 * probing: by content, on the ports each parser asks for). The flow is
 * decided by the first YES of either direction; when no parser takes the
 * bytes but one would take them from the other side, the session was
 * picked up with the server taken for the client (Suricata reverses the
 * flow). It fails when the client's first bytes are no protocol's, or both
 * directions said no. */
static void detect(gh_app *a, gh_app_flow *af, int dir, const gh_app_sink *sink)
{
    bool more = false;
    const gh_app_ops *found = NULL;
    for (int pass = 0; pass < 2 && !found && !more; pass++) {
        for (size_t i = 0; i < N_PARSERS && !found; i++) {
            if (!(parsers[i]->transports & af->pc.transport))
                continue;
            int r = parsers[i]->probe(dir ^ pass, af->probe[dir], af->nprobe[dir], &af->pc);
            if (r == GH_PROBE_MORE && af->nprobe[dir] < GH_APP_PROBE_MAX && !pass)
                more = true;
            else if (r == GH_PROBE_YES)
                found = parsers[i];
        }
        if (found && pass)
            af->reversed = true;
    }
    if (found) {
        /* what waited for the decision, in order: a server's greeting came
         * before the client's first bytes */
        if (take(a, af, found, dir, sink)) {
            void *s = a->states[af->state - 1];
            if (found->server_first && dir == 0 && !af->reversed && af->nprobe[1]) {
                found->parse(s, 1, af->probe[1], af->nprobe[1], sink);
                af->nprobe[1] = 0;
            }
            found->parse(s, dir ^ af->reversed, af->probe[dir], af->nprobe[dir], sink);
        }
        return;
    }
    if (more)
        return;
    af->said_no[dir] = 1;
    if (dir == 0 || af->said_no[0]) {
        af->proto = GH_ALPROTO_FAILED;
        a->st.flows[GH_ALPROTO_FAILED]++;
    }
}

/* The UDP parser that takes datagram @p b of direction @p dir, NULL: none. */
static const gh_app_ops *udp_probe(const gh_app_probe_ctx *pc, int dir, const uint8_t *b,
                                   size_t n)
{
    for (size_t i = 0; i < N_PARSERS; i++)
        if ((parsers[i]->transports & GH_APP_UDP) &&
            (parsers[i]->datagram || !parsers[i]->state_size) &&
            parsers[i]->probe(dir, b, n, pc) == GH_PROBE_YES)
            return parsers[i];
    return NULL;
}

bool gh_app_udp_candidate(const gh_app_probe_ctx *pc, int dir, const uint8_t *b, size_t n)
{
    return udp_probe(pc, dir, b, n) != NULL;
}

void gh_app_datagram(gh_app *a, gh_app_flow *af, int dir, const uint8_t *b, size_t n,
                     const gh_app_sink *sink)
{
    if (!n || af->proto == GH_ALPROTO_FAILED)
        return;
    if (af->proto == GH_ALPROTO_UNKNOWN) {
        if (af->said_no[dir])
            return;
        const gh_app_ops *ops = udp_probe(&af->pc, dir, b, n);
        if (!ops) {
            af->said_no[dir] = 1;
            if (dir == 0 || af->said_no[0]) {
                af->proto = GH_ALPROTO_FAILED;
                a->st.flows[GH_ALPROTO_FAILED]++;
            }
            return;
        }
        if (!take(a, af, ops, dir, sink))
            return;
    }
    void *s = gh_app_flow_state(a, af);
    const gh_app_ops *ops = gh_app_flow_ops(af);
    if (s && ops->datagram)
        ops->datagram(s, dir, b, n, sink);
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
        /* the other direction's bytes that waited (a server's greeting,
         * which no probe takes, for protocols where the server speaks first) */
        const gh_app_ops *dops = gh_app_flow_ops(af);
        if (af->state && af->nprobe[!dir] &&
            (!af->said_no[!dir] || (dops->server_first && dir == 0 && !af->reversed))) {
            dops->parse(a->states[af->state - 1], !dir ^ af->reversed, af->probe[!dir],
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

/* Append the members @p ops writes for @p tx (an alert's, or every event's
 * with a '\n' after each); false when the log is full. */
static bool write_members(gh_app *a, const gh_app_ops *ops, void *s, gh_app_tx *tx, bool alert)
{
    for (uint32_t i = 0;; i++) {
        size_t before = a->log.len;
        if (!ops->log(s, tx, alert, i, &a->log))
            return true;
        if (a->log.oom || a->log.len > LOG_BYTES) {
            a->log.len = before;
            a->log.oom = false;
            return false;
        }
        if (alert)
            return true;
        gh_jbuf_append(&a->log, "\n", 1);
    }
}

int gh_app_record(gh_app *a, const gh_app_flow *af, gh_app_tx *tx, bool log)
{
    const gh_app_ops *ops = gh_app_flow_ops(af);
    void *s = gh_app_flow_state(a, af);
    if (!ops || !s)
        return -1;
    size_t i = 0;
    while (i < a->nrecs && !(a->recs[i].tx_id == tx->id && a->recs[i].proto == af->proto))
        i++; /* one record per transaction and packet */
    if (i == a->nrecs) {
        if (a->nrecs == REC_MAX) {
            a->st.records_dropped++;
            return -1;
        }
        gh_app_rec *r = &a->recs[a->nrecs++];
        *r = (gh_app_rec){.proto = af->proto, .tx_id = tx->id, .packet_dir = ops->log_packet_dir};
        a->alert_off[i] = (uint32_t)a->log.len;
        if (a->log_alert && write_members(a, ops, s, tx, true))
            r->alert_len = (uint32_t)(a->log.len - a->alert_off[i]);
    }
    gh_app_rec *r = &a->recs[i];
    if (log && !r->log) {
        /* complete: counted as a transaction even when its events are not written */
        a->ev_off[i] = (uint32_t)a->log.len;
        if (!(a->log_protos & (1u << af->proto)) || write_members(a, ops, s, tx, false)) {
            r->log = true;
            r->events_len = (uint32_t)(a->log.len - a->ev_off[i]);
            a->st.txs++;
        } else {
            a->st.records_dropped++;
        }
    }
    return (int)i;
}

void gh_app_set_log(gh_app *a, bool alert, uint32_t protos)
{
    a->log_alert = alert;
    a->log_protos = protos;
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
    a->log.len = 0;
}

size_t gh_app_record_count(const gh_app *a)
{
    return a->nrecs;
}

const gh_app_rec *gh_app_get_record(gh_app *a, size_t i)
{
    if (i >= a->nrecs)
        return NULL;
    /* the log may have moved while it grew: pointers are made on the way out */
    gh_app_rec *r = &a->recs[i];
    r->alert = r->alert_len ? a->log.p + a->alert_off[i] : NULL;
    r->events = r->events_len ? a->log.p + a->ev_off[i] : NULL;
    return r;
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
