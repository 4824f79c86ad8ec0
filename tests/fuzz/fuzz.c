/* Helpers the fuzz targets share: a memory file with a path, and the
 * application-layer session driver (see fuzz.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

const char *fuzz_mem_path(const void *d, size_t n)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("gh-fuzz", 0);
        if (fd < 0)
            return "";
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, d, n, 0) != (ssize_t)n)
        return "";
    return path;
}

typedef struct session {
    const gh_app_ops *ops; /* NULL: through the app stage (app, flow) */
    void *state;
    gh_app *app;
    gh_app_flow *flow;
    gh_jbuf log;
    uint8_t sum;           /* every byte handed out is read */
} session;

static void touch(session *s, const uint8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        s->sum ^= b[i];
}

static const gh_app_ops *session_ops(session *s, void **state)
{
    if (s->ops) {
        *state = s->state;
        return s->ops;
    }
    *state = gh_app_flow_state(s->app, s->flow);
    return gh_app_flow_ops(s->flow);
}

/* What detection and events ask of a transaction: each buffer and field of
 * its protocol (every instance of a multi one), and its events once both
 * directions are done. */
static void on_progress(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    session *s = ctx;
    void *st;
    const gh_app_ops *ops = session_ops(s, &st);
    (void)stage;
    if (!ops || !st)
        return;
    for (int id = 1; id < GH_BUF_N; id++) {
        const gh_buffer_info *bi = gh_buffer_get_info((gh_buffer_id)id);
        if (bi->proto && bi->proto != ops->proto)
            continue;
        const uint8_t *b;
        uint32_t n;
        for (uint32_t i = 0; i < 256 && ops->get_buffer(st, tx, (gh_buffer_id)id, dir, i, &b, &n);
             i++) {
            touch(s, b, n);
            if (!bi->multi)
                break;
        }
    }
    uint64_t v;
    for (int id = 0; ops->get_field && id < GH_FIELD_N; id++)
        for (uint32_t i = 0; i < 256 && ops->get_field(st, tx, (gh_field_id)id, dir, i, &v); i++)
            s->sum ^= (uint8_t)v;
    if (ops->body_length)
        s->sum ^= (uint8_t)ops->body_length(st, tx, dir);
    s->log.len = 0;
    ops->log(st, tx, true, 0, &s->log);
    if (tx->progress[0] == GH_STAGE_DONE && tx->progress[1] == GH_STAGE_DONE)
        for (uint32_t i = 0; i < 1024 && ops->log(st, tx, false, i, &s->log); i++)
            ;
}

static void on_anomaly(void *ctx, gh_app_tx *tx, int dir, const char *name)
{
    session *s = ctx;
    (void)tx, (void)dir;
    touch(s, (const uint8_t *)name, (uint32_t)strlen(name));
}

static void feed(session *s, const gh_app_sink *sink, bool udp, int dir, const uint8_t *b,
                 size_t n)
{
    if (!s->ops) {
        if (udp)
            gh_app_datagram(s->app, s->flow, dir, b, n, sink);
        else
            gh_app_data(s->app, s->flow, dir, b, n, sink);
    } else if (udp) {
        s->ops->datagram(s->state, dir, b, n, sink);
    } else if (n) { /* the stream stage never hands over 0 bytes */
        s->ops->parse(s->state, dir, b, n, sink);
    }
}

/* One pass over the records; @p whole ignores their chunk sizes. */
static void run(session *s, bool udp, bool whole, const uint8_t *data, size_t size)
{
    gh_app_sink sink = {s, on_progress, on_anomaly, NULL};
    bool closed[2] = {false, false};
    size_t i = 1;
    while (i + 3 <= size) {
        uint8_t h = data[i];
        int dir = h & 1, op = (h >> 1) & 3;
        size_t chunk = whole ? 0 : h >> 3;
        size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
        i += 3;
        if (closed[dir] && !udp)
            continue; /* nothing follows a direction's end */
        if (op == 1) {
            if (udp)
                continue;
            if (s->ops)
                s->ops->gap(s->state, dir, len, &sink);
            else
                gh_app_gap(s->app, s->flow, dir, len, &sink);
            continue;
        }
        if (op == 2) {
            closed[dir] = true;
            if (s->ops && !udp)
                s->ops->close(s->state, dir, &sink);
            else if (!udp)
                gh_app_close(s->app, s->flow, dir, &sink);
            continue;
        }
        if (len > size - i)
            len = size - i;
        for (size_t off = 0; off < len;) {
            size_t n = chunk && !udp && chunk < len - off ? chunk : len - off;
            feed(s, &sink, udp, dir, data + i + off, n);
            off += n;
        }
        i += len;
    }
    for (int dir = 0; dir < 2 && !udp; dir++) {
        if (closed[dir])
            continue;
        if (s->ops)
            s->ops->close(s->state, dir, &sink);
        else
            gh_app_close(s->app, s->flow, dir, &sink);
    }
    /* flow end: every live transaction is logged */
    void *st;
    const gh_app_ops *ops = session_ops(s, &st);
    for (size_t k = 0; ops && st && k < ops->tx_count(st); k++) {
        gh_app_tx *tx = ops->tx_get(st, k);
        s->log.len = 0;
        for (uint32_t e = 0; e < 1024 && ops->log(st, tx, false, e, &s->log); e++)
            ;
    }
}

/* The first bytes of each direction, as detection sees them. */
static void probe(const gh_app_ops *ops, const gh_app_probe_ctx *pc, const uint8_t *data,
                  size_t size)
{
    bool seen[2] = {false, false};
    for (size_t i = 1; i + 3 <= size;) {
        uint8_t h = data[i];
        size_t len = (size_t)data[i + 1] << 8 | data[i + 2];
        i += 3;
        if (((h >> 1) & 3) == 1 || ((h >> 1) & 3) == 2)
            continue;
        if (len > size - i)
            len = size - i;
        if (!seen[h & 1] && len) {
            seen[h & 1] = true;
            ops->probe(h & 1, data + i, len < GH_APP_PROBE_MAX ? len : GH_APP_PROBE_MAX, pc);
        }
        i += len;
    }
}

void fuzz_app_session(const gh_app_ops *ops, uint16_t server_port, const uint8_t *data,
                      size_t size)
{
    if (!size)
        return;
    bool udp = (data[0] & 1) && (ops->datagram || !ops->state_size) &&
               (ops->transports & GH_APP_UDP);
    gh_app_probe_ctx pc = {udp ? GH_APP_UDP : GH_APP_TCP, server_port, 40000};
    session s = {.ops = ops};
    gh_jbuf_init(&s.log);
    probe(ops, &pc, data, size);
    if (!ops->state_size) {
        gh_app_flow flow = {.pc = pc};
        s.ops = NULL;
        s.flow = &flow;
        if (!(s.app = gh_app_new(1, NULL, NULL)))
            abort();
        run(&s, udp, false, data, size);
        gh_app_flow_release(s.app, &flow);
        gh_app_free(s.app);
        gh_jbuf_free(&s.log);
        return;
    }
    gh_app_limits lim;
    gh_app_limits_init(&lim);
    lim.tls_ja3 = true;
    if (!(s.state = calloc(1, ops->state_size)) || ops->init(s.state, &lim) != 0)
        abort();
    run(&s, udp, false, data, size);
    if (data[0] & 2) {
        ops->reset(s.state);
        run(&s, udp, true, data, size);
    }
    ops->free(s.state);
    free(s.state);
    gh_jbuf_free(&s.log);
}
