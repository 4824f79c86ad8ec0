/* SSH parser (gh_app_ops), emulating the banner part of Suricata 7.0's
 * rust/src/ssh: detection by the "SSH-" pattern at the start of either
 * direction (ignoring case, as its pattern does), one transaction per
 * flow, the banner line of each side split into its protocol and software
 * versions (ssh.proto, ssh.software). Each side's banner is GH_STAGE_LINE;
 * once both are there the transaction is complete (GH_STAGE_DONE both
 * ways, Suricata's log condition without hassh). Not emulated: the binary
 * packets after the banner (key exchange, hassh) and the end of inspection
 * Suricata applies once both sides sent NEWKEYS; the banner events. A
 * banner that is none (the pattern ignores case, the parser does not) is
 * Suricata's parser error: neither side is parsed any more. */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "app/app.h"

/* Suricata's SSH_MAX_BANNER_LEN: a line not ended by then is taken as it is. */
#define BANNER_MAX 256

typedef struct ssh_side {
    uint8_t line[BANNER_MAX];
    uint16_t len;
    bool cr;          /* the gathered line ended with a CR: its LF may follow */
    bool done;        /* the banner line is complete (parsed or not) */
    bool valid;       /* it was a banner: the versions below are set */
    uint16_t proto_off, proto_len, soft_off, soft_len;
} ssh_side;

typedef struct ssh_state {
    gh_app_tx tx; /* the flow's one transaction */
    bool started;
    bool failed;  /* a banner that is none: Suricata's parser error ends parsing */
    ssh_side d[2];
} ssh_state;

static int probe(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc)
{
    (void)dir;
    (void)pc;
    static const char pat[] = "SSH-";
    for (size_t i = 0; i < 4 && i < n; i++)
        if (toupper(b[i]) != pat[i])
            return GH_PROBE_NO;
    return n < 4 ? GH_PROBE_MORE : GH_PROBE_YES;
}

static void report(const gh_app_sink *sink, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    tx->progress[dir] = (uint8_t)stage;
    if (sink->on_progress)
        sink->on_progress(sink->ctx, tx, dir, stage);
}

/* Suricata's ssh_parse_banner: "SSH-", the protocol version up to the next
 * '-' (at least one byte), then the software version up to a space, CR or
 * LF (when that is empty: the rest of the line). */
static void parse_banner(ssh_side *s)
{
    const uint8_t *l = s->line;
    uint16_t n = s->len, p = 4;
    if (n < 4 || memcmp(l, "SSH-", 4))
        return;
    while (p < n && l[p] != '-')
        p++;
    if (p == 4 || p == n)
        return;
    s->proto_off = 4;
    s->proto_len = (uint16_t)(p - 4);
    uint16_t q = ++p;
    while (q < n && l[q] != ' ' && l[q] != '\r' && l[q] != '\n')
        q++;
    s->soft_off = p;
    s->soft_len = (uint16_t)((q > p ? q : n) - p);
    s->valid = true;
}

static void banner_done(ssh_state *st, int dir, const gh_app_sink *sink)
{
    ssh_side *s = &st->d[dir];
    s->done = true;
    parse_banner(s);
    if (!s->valid) {
        st->failed = true;
        return;
    }
    report(sink, &st->tx, dir, GH_STAGE_LINE);
    if (st->d[!dir].done) {
        report(sink, &st->tx, 0, GH_STAGE_DONE);
        report(sink, &st->tx, 1, GH_STAGE_DONE);
    }
}

/* The banner is the direction's first line: it ends at an LF, a CR LF, or
 * a CR followed by anything else; what follows it is not parsed. */
static void parse(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink)
{
    ssh_state *st = state;
    ssh_side *s = &st->d[dir];
    if (st->failed)
        return;
    if (!st->started) {
        st->started = true;
        gh_app_tx_start(&st->tx, 0);
    }
    for (size_t i = 0; i < n && !s->done; i++) {
        if (s->cr || b[i] == '\n') {
            banner_done(st, dir, sink);
            break;
        }
        if (b[i] == '\r') {
            s->cr = true;
            continue;
        }
        s->line[s->len++] = b[i];
        if (s->len == BANNER_MAX)
            banner_done(st, dir, sink);
    }
}

static void gap(void *state, int dir, uint64_t len, const gh_app_sink *sink)
{
    (void)len;
    ssh_state *st = state;
    if (st->started && !st->failed && !st->d[dir].done)
        banner_done(st, dir, sink); /* what was gathered is all the banner there is */
}

static void close_dir(void *state, int dir, const gh_app_sink *sink)
{
    ssh_state *st = state;
    if (st->started && st->tx.progress[dir] != GH_STAGE_DONE)
        report(sink, &st->tx, dir, GH_STAGE_DONE);
}

static bool get_buffer(void *state, gh_app_tx *tx, gh_buffer_id id, int dir, uint32_t idx,
                       const uint8_t **b, uint32_t *len)
{
    (void)tx;
    const ssh_side *s = &((ssh_state *)state)->d[dir];
    if (idx || !s->valid)
        return false;
    if (id == GH_BUF_SSH_PROTO) {
        *b = s->line + s->proto_off;
        *len = s->proto_len;
        return true;
    }
    if (id == GH_BUF_SSH_SOFTWARE && s->soft_len) {
        *b = s->line + s->soft_off;
        *len = s->soft_len;
        return true;
    }
    return false;
}

/* Suricata's "ssh" object, the same for an alert and the event: each side
 * that sent a banner, with its versions. The event only once both did
 * (its log condition), not for a flow that ended before. */
static bool log_tx(void *state, gh_app_tx *tx, bool alert, uint32_t i, gh_jbuf *b)
{
    const ssh_state *st = state;
    if (i || !(st->d[0].valid || st->d[1].valid) ||
        (!alert && !(st->d[0].valid && st->d[1].valid)))
        return false;
    if (!alert) {
        GH_JBUF_LIT(b, ",\"tx_id\":");
        gh_jbuf_u64(b, tx->id);
    }
    gh_jbuf_append(b, ",\"ssh\":{", 8);
    static const char *const side[2] = {"client", "server"};
    bool first = true;
    for (int d = 0; d < 2; d++) {
        const ssh_side *s = &st->d[d];
        if (!s->valid)
            continue;
        gh_jbuf_key(b, !first, side[d]);
        GH_JBUF_LIT(b, "{\"proto_version\":");
        gh_jbuf_json_jb(b, s->line + s->proto_off, s->proto_len);
        if (s->soft_len) {
            gh_jbuf_append(b, ",\"software_version\":", 20);
            gh_jbuf_json_jb(b, s->line + s->soft_off, s->soft_len);
        }
        gh_jbuf_append(b, "}", 1);
        first = false;
    }
    gh_jbuf_append(b, "}", 1);
    return true;
}

static size_t tx_count(void *state)
{
    return ((ssh_state *)state)->started ? 1 : 0;
}

static gh_app_tx *tx_get(void *state, size_t i)
{
    ssh_state *st = state;
    return st->started && !i ? &st->tx : NULL;
}

static void reset(void *state)
{
    ssh_state *st = state;
    gh_app_tx keep = st->tx;
    memset(st, 0, sizeof(*st));
    st->tx.alerted = keep.alerted;
    st->tx.cap_alerted = keep.cap_alerted;
}

static int init(void *state, const gh_app_limits *lim)
{
    (void)state;
    (void)lim;
    return 0;
}

static void state_free(void *state)
{
    gh_app_tx_release(&((ssh_state *)state)->tx);
}

const gh_app_ops gh_app_ssh_ops = {
    .name = "ssh",
    .proto = GH_ALPROTO_SSH,
    .transports = GH_APP_TCP,
    .probe = probe,
    .state_size = sizeof(ssh_state),
    .init = init,
    .reset = reset,
    .parse = parse,
    .gap = gap,
    .close = close_dir,
    .get_buffer = get_buffer,
    .log = log_tx,
    .tx_count = tx_count,
    .tx_get = tx_get,
    .free = state_free,
};
