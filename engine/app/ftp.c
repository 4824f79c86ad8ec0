/* FTP control channel parser (gh_app_ftp_ops), emulating Suricata 7.0's
 * app-layer-ftp.c: one transaction per recognised command line plus the
 * reply lines that answer it; a reply with no open command (the greeting,
 * or the continuation of a reply whose transaction is already complete and
 * gone) starts a transaction of its own.
 *
 * Suricata frees a complete transaction after the packet that completed
 * it, and reply lines of that same packet still join it: a transaction
 * completed here is reported GH_STAGE_DONE at the end of the parse call,
 * so lines later in the same call land in it as they do in Suricata.
 *
 * Lines are cut at Suricata's ftp max-line-length (4096): the first 4096
 * bytes are kept, flagged truncated, the rest up to the LF dropped. Each
 * transaction keeps its command line and reply lines in buffers that keep
 * their capacity across transactions and flows. Not emulated: ftp-data
 * flows (expectations), the TLS hand-over after AUTH TLS (parsing stops),
 * and the rest of a packet after a truncated line (Suricata drops it). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "gatehouse/common.h"

#define LINE_MAX_LEN 4096 /* Suricata's default ftp max-line-length */

/* Suricata's FtpCommands table; the index is the command's identity. */
enum {
    C_PORT, C_EPRT, C_AUTH_TLS, C_PASV, C_RETR, C_EPSV, C_STOR,
    C_ABOR, C_ACCT, C_ALLO, C_APPE, C_CDUP, C_CHMOD, C_CWD, C_DELE, C_HELP, C_IDLE,
    C_LIST, C_MAIL, C_MDTM, C_MKD, C_MLFL, C_MODE, C_MRCP, C_MRSQ, C_MSAM, C_MSND,
    C_MSOM, C_NLST, C_NOOP, C_PASS, C_PWD, C_QUIT, C_REIN, C_REST, C_RMD, C_RNFR,
    C_RNTO, C_SITE, C_SIZE, C_SMNT, C_STAT, C_STOU, C_STRU, C_SYST, C_TYPE, C_UMASK,
    C_USER, C_N
};
enum { C_UNKNOWN = -1 };

static const char *const cmd_names[C_N] = {
    "PORT", "EPRT", "AUTH TLS", "PASV", "RETR", "EPSV", "STOR",
    "ABOR", "ACCT", "ALLO", "APPE", "CDUP", "CHMOD", "CWD", "DELE", "HELP", "IDLE",
    "LIST", "MAIL", "MDTM", "MKD", "MLFL", "MODE", "MRCP", "MRSQ", "MSAM", "MSND",
    "MSOM", "NLST", "NOOP", "PASS", "PWD", "QUIT", "REIN", "REST", "RMD", "RNFR",
    "RNTO", "SITE", "SIZE", "SMNT", "STAT", "STOU", "STRU", "SYST", "TYPE", "UMASK",
    "USER"};

typedef struct ftp_tx {
    gh_app_tx base; /* first: the engine's part */
    int8_t cmd;     /* C_*, C_UNKNOWN: none (a reply alone) */
    bool done;      /* reply complete (Suricata's tx->done) */
    bool req_trunc, reply_trunc, active;
    uint16_t dyn_port;
    uint32_t req_len; /* command line without trailing white space */
    gh_buf req;
    gh_buf replies;     /* reply lines, trailing white space cut, each: u16 length, bytes */
} ftp_tx;

typedef struct ftp_dir {
    gh_buf line;
    bool discard;   /* a line was cut: drop bytes up to its LF */
    bool dead;      /* not parsed any more */
    bool closed;
} ftp_dir;

typedef struct ftp_state {
    ftp_tx *txs;    /* ring of cap_tx slots */
    uint32_t cap_tx, head, n;
    uint32_t ninit; /* slots zeroed so far (gh_app_ring_slot) */
    uint64_t next_id;
    int command;    /* last command line seen (Suricata's state->command) */
    bool active;
    uint16_t dyn_port;
    gh_buf port_line; /* the last PORT/EPRT line */
    ftp_dir d[2];
} ftp_state;

static void anomaly(const gh_app_sink *sink, ftp_tx *tx, int dir, const char *name)
{
    if (sink->on_anomaly)
        sink->on_anomaly(sink->ctx, tx ? &tx->base : NULL, dir, name);
}

static void report(const gh_app_sink *sink, ftp_tx *tx, int dir, gh_app_stage stage)
{
    tx->base.progress[dir] = (uint8_t)stage;
    if (sink->on_progress)
        sink->on_progress(sink->ctx, &tx->base, dir, stage);
}

static ftp_tx *tx_at(ftp_state *st, uint32_t i)
{
    return &st->txs[(st->head + i) % st->cap_tx];
}

static ftp_tx *tx_new(ftp_state *st)
{
    if (st->n == st->cap_tx)
        return NULL;
    ftp_tx *tx = gh_app_ring_slot(st->txs, sizeof(*st->txs), (st->head + st->n) % st->cap_tx,
                                  &st->ninit);
    st->n++;
    gh_app_tx_start(&tx->base, st->next_id++);
    tx->cmd = C_UNKNOWN;
    tx->done = tx->req_trunc = tx->reply_trunc = tx->active = false;
    tx->dyn_port = 0;
    tx->req_len = 0;
    tx->req.len = 0;
    tx->replies.len = 0;
    return tx;
}

/* Report every complete transaction (oldest first) and free its slot: in
 * Suricata it is logged and freed after the packet that completed it.
 * With @p all, the flow ended: every transaction goes. */
static void flush_done(ftp_state *st, const gh_app_sink *sink, bool all)
{
    while (st->n) {
        ftp_tx *tx = tx_at(st, 0);
        if (!tx->done && !all)
            break;
        report(sink, tx, 0, GH_STAGE_DONE);
        report(sink, tx, 1, GH_STAGE_DONE);
        st->head = (st->head + 1) % st->cap_tx;
        st->n--;
    }
    if (!st->n)
        st->head = 0; /* as HTTP's: the next transaction reuses slot 0's buffers */
}

/* ---- probing ---------------------------------------------------------------- */

static bool prefix_nocase(const uint8_t *b, size_t n, const char *p, size_t *need)
{
    size_t pn = strlen(p);
    for (size_t i = 0; i < pn && i < n; i++)
        if (toupper(b[i]) != toupper((unsigned char)p[i]))
            return false;
    *need = pn;
    return true;
}

/* Suricata's patterns, case-insensitive at offset 0: "220 (" from the
 * server (vsftpd's greeting), FEAT, "USER ", "PASS ", "PORT " from the
 * client. Other greetings ("220 host FTP ready") wait for the client. */
static int probe(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc)
{
    (void)pc;
    static const char *const ts[] = {"FEAT", "USER ", "PASS ", "PORT "};
    static const char *const tc[] = {"220 ("};
    const char *const *pats = dir ? tc : ts;
    size_t np = dir ? 1 : 4;
    bool more = false;
    for (size_t i = 0; i < np; i++) {
        size_t need;
        if (!prefix_nocase(b, n, pats[i], &need))
            continue;
        if (n >= need)
            return GH_PROBE_YES;
        more = true;
    }
    return more ? GH_PROBE_MORE : GH_PROBE_NO;
}

/* ---- lines ---------------------------------------------------------------- */

/* The command of a request line: Suricata searches the whole line with a
 * multi-pattern matcher and takes the first match reported, which is the
 * one that ends first ("XCWD dir" is CWD). */
static int find_command(const uint8_t *b, size_t n)
{
    for (size_t end = 1; end <= n; end++) {
        for (int c = 0; c < C_N; c++) {
            size_t cl = strlen(cmd_names[c]);
            if (cl > end)
                continue;
            size_t k = 0;
            while (k < cl && toupper(b[end - cl + k]) == (unsigned char)cmd_names[c][k])
                k++;
            if (k == cl)
                return c;
        }
    }
    return C_UNKNOWN;
}

static uint32_t rtrim(const uint8_t *b, uint32_t n)
{
    while (n && isspace(b[n - 1]))
        n--;
    return n;
}

static bool is_digits(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    const uint8_t *s = *p;
    uint32_t x = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        if (x < 100000)
            x = x * 10 + (uint32_t)(**p - '0');
        (*p)++;
    }
    *v = x;
    return *p > s;
}

static void skip_space(const uint8_t **p, const uint8_t *end)
{
    while (*p < end && isspace(**p))
        (*p)++;
}

static bool lit(const uint8_t **p, const uint8_t *end, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(end - *p) < n || memcmp(*p, s, n))
        return false;
    *p += n;
    return true;
}

/* "h1,h2,h3,h4," then p1,p2 (Suricata's nom parsers); 0: no port. */
static uint16_t port_pair(const uint8_t *p, const uint8_t *end, bool spaces, const char *close)
{
    uint32_t v;
    for (int i = 0; i < 4; i++)
        if (!is_digits(&p, end, &v) || !lit(&p, end, ","))
            return 0;
    uint32_t hi, lo;
    if (spaces)
        skip_space(&p, end);
    if (!is_digits(&p, end, &hi) || hi > 255)
        return 0;
    if (spaces)
        skip_space(&p, end);
    if (!lit(&p, end, ","))
        return 0;
    if (spaces)
        skip_space(&p, end);
    if (!is_digits(&p, end, &lo) || lo > 255)
        return 0;
    if (spaces)
        skip_space(&p, end);
    if (close && !lit(&p, end, close))
        return 0;
    return (uint16_t)(hi * 256 + lo);
}

/* "PORT h1,h2,h3,h4,p1,p2" (rs_ftp_active_port) */
static uint16_t active_port(const uint8_t *b, size_t n)
{
    const uint8_t *p = b, *end = b + n;
    if (!lit(&p, end, "PORT"))
        return 0;
    skip_space(&p, end);
    return port_pair(p, end, false, NULL);
}

/* "EPRT |af|addr|port|" (rs_ftp_active_eprt) */
static uint16_t active_eprt(const uint8_t *b, size_t n)
{
    const uint8_t *p = b, *end = b + n;
    if (!lit(&p, end, "EPRT"))
        return 0;
    for (int i = 0; i < 3; i++) {
        const uint8_t *bar = memchr(p, '|', (size_t)(end - p));
        if (!bar)
            return 0;
        p = bar + 1;
    }
    uint32_t v;
    skip_space(&p, end);
    if (!is_digits(&p, end, &v) || v > 65535)
        return 0;
    skip_space(&p, end);
    return lit(&p, end, "|") ? (uint16_t)v : 0;
}

/* "227 ... (h1,h2,h3,h4,p1,p2)" (rs_ftp_pasv_response) */
static uint16_t pasv_port(const uint8_t *b, size_t n)
{
    const uint8_t *open = memchr(b, '(', n);
    if (!open)
        return 0;
    return port_pair(open + 1, b + n, true, ")");
}

/* "229 ... (|||port|)" (rs_ftp_epsv_response) */
static uint16_t epsv_port(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++) {
        if (memcmp(b + i, "|||", 3))
            continue;
        const uint8_t *p = b + i + 3, *end = b + n;
        uint32_t v;
        skip_space(&p, end);
        if (!is_digits(&p, end, &v) || v > 65535)
            return 0;
        skip_space(&p, end);
        return lit(&p, end, "|)") ? (uint16_t)v : 0;
    }
    return 0;
}

static void stop(ftp_state *st)
{
    st->d[0].dead = st->d[1].dead = true;
}

static void request_line(ftp_state *st, const uint8_t *b, uint32_t n, bool trunc,
                         const gh_app_sink *sink)
{
    int c = find_command(b, n);
    st->command = c;
    if (c == C_UNKNOWN)
        return;
    ftp_tx *tx = tx_new(st);
    if (!tx) { /* Suricata's max-tx: the parser fails */
        stop(st);
        return;
    }
    tx->cmd = (int8_t)c;
    tx->req_len = rtrim(b, n);
    gh_buf_put(&tx->req, b, tx->req_len);
    tx->req_trunc = trunc;
    if (trunc)
        anomaly(sink, tx, 0, "request_command_too_long");
    /* kept before detection sees the line: ftpbounce reads it */
    if (c == C_PORT || c == C_EPRT) {
        st->port_line.len = 0;
        gh_buf_put(&st->port_line, b, n);
    }
    report(sink, tx, 0, GH_STAGE_LINE);
    if (c == C_RETR || c == C_STOR) {
        /* without a negotiated data port Suricata's parser fails the flow */
        if (st->dyn_port == 0 || n < 6) {
            stop(st);
            return;
        }
        st->dyn_port = 0;
        st->active = false;
    }
}

/* The oldest open transaction from slot @p from on, else the newest. */
static ftp_tx *reply_tx(ftp_state *st, uint32_t from)
{
    for (uint32_t i = from; i < st->n; i++)
        if (!tx_at(st, i)->done)
            return tx_at(st, i);
    return st->n ? tx_at(st, st->n - 1) : NULL;
}

static void reply_line(ftp_state *st, uint32_t *last, const uint8_t *b, uint32_t n, bool trunc,
                       const gh_app_sink *sink)
{
    ftp_tx *tx = reply_tx(st, *last);
    if (!tx && !(tx = tx_new(st))) {
        stop(st);
        return;
    }
    *last = (uint32_t)(((tx - st->txs) + st->cap_tx - st->head) % st->cap_tx);
    if (st->command == C_UNKNOWN)
        tx->cmd = C_UNKNOWN;
    uint16_t port;
    switch (st->command) {
    case C_AUTH_TLS:
        if (n >= 4 && !memcmp(b, "234 ", 4))
            st->d[0].dead = st->d[1].dead = true; /* TLS follows: not ours */
        break;
    case C_EPRT:
    case C_PORT:
        port = st->command == C_PORT ? active_port(st->port_line.p, st->port_line.len)
                                     : active_eprt(st->port_line.p, st->port_line.len);
        if (!port) {
            tx->done = true; /* Suricata completes it without keeping the line */
            return;
        }
        st->dyn_port = tx->dyn_port = port;
        st->active = tx->active = true;
        break;
    case C_PASV:
    case C_EPSV:
        if (n >= 4 && !memcmp(b, st->command == C_PASV ? "227 " : "229 ", 4)) {
            port = st->command == C_PASV ? pasv_port(b, n) : epsv_port(b, n);
            if (port) {
                st->dyn_port = tx->dyn_port = port;
                st->active = tx->active = false;
            }
        }
        break;
    default:
        break;
    }
    if (n) {
        uint16_t k = (uint16_t)rtrim(b, n);
        gh_buf_put(&tx->replies, &k, sizeof(k));
        gh_buf_put(&tx->replies, b, k);
        if (trunc) {
            tx->reply_trunc = true;
            anomaly(sink, tx, 1, "response_command_too_long");
        }
    }
    /* a positive preliminary reply (1yz) keeps the transaction open */
    if (n >= 4 && b[0] == '1' && isdigit(b[1]) && isdigit(b[2]) && isspace(b[3]))
        return;
    tx->done = true;
}

static void line_done(ftp_state *st, int dir, uint32_t *last, const uint8_t *b, uint32_t n,
                      bool trunc, const gh_app_sink *sink)
{
    if (dir == 0)
        request_line(st, b, n, trunc, sink);
    else
        reply_line(st, last, b, n, trunc, sink);
}

static void parse(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink)
{
    ftp_state *st = state;
    ftp_dir *d = &st->d[dir];
    uint32_t last = 0; /* Suricata's lasttx: replies search from the oldest live one */
    size_t pos = 0;
    while (pos < n && !d->dead) {
        const uint8_t *lf = memchr(b + pos, '\n', n - pos);
        size_t take = lf ? (size_t)(lf - (b + pos)) + 1 : n - pos;
        if (d->discard) {
            d->discard = !lf;
            pos += take;
            continue;
        }
        size_t room = LINE_MAX_LEN - d->line.len;
        gh_buf_put(&d->line, b + pos, take < room ? take : room);
        pos += take;
        uint8_t *p = d->line.p;
        uint32_t len = d->line.len;
        if (len >= LINE_MAX_LEN) { /* cut: keep 4096 bytes, drop the rest of the line */
            d->discard = !lf; /* the rest up to the LF, when not taken yet */
            d->line.len = 0;
            line_done(st, dir, &last, p, LINE_MAX_LEN, true, sink);
            continue;
        }
        if (!lf)
            break;
        len -= (len >= 2 && p[len - 2] == '\r') ? 2 : 1;
        d->line.len = 0;
        line_done(st, dir, &last, p, len, false, sink);
    }
    if (dir == 1)
        flush_done(st, sink, false);
}

static void gap(void *state, int dir, uint64_t len, const gh_app_sink *sink)
{
    (void)dir;
    (void)len;
    (void)sink;
    stop(state); /* FTP does not take gaps: Suricata stops parsing the flow */
}

/* Suricata logs what is left once both directions ended. */
static void close_dir(void *state, int dir, const gh_app_sink *sink)
{
    ftp_state *st = state;
    st->d[dir].closed = true;
    if (st->d[!dir].closed)
        flush_done(st, sink, true);
}

/* Suricata 7 has no FTP buffers (ftp.command and friends came with 8):
 * content rules on FTP flows inspect the packets and the stream. */
static bool get_buffer(void *state, gh_app_tx *tx, gh_buffer_id id, int dir, uint32_t idx,
                       const uint8_t **b, uint32_t *len)
{
    (void)state, (void)tx, (void)id, (void)dir, (void)idx, (void)b, (void)len;
    return false;
}

/* The address of a PORT line as Suricata 7's DetectFtpbounceMatchArgs reads
 * it: from the first digit, numbers of at most 3 digits (a fourth ends the
 * scan) each up to 256, separated by commas with optional spaces before
 * them, folded into 32 bits (first number highest). False before the fourth
 * comma, or on anything else. */
static bool port_line_ip(const uint8_t *c, uint32_t n, uint32_t *out)
{
    if (n <= 7) /* Suricata: offset + 7 >= length, its argument offset always 0 */
        return false;
    uint32_t i = 0, ip = 0, octet = 0, digits = 0, noctet = 0;
    while (i < n && !isdigit(c[i]))
        i++;
    for (; i < n && digits < 4; i++) {
        if (isdigit(c[i])) {
            octet = octet * 10 + (uint32_t)(c[i] - '0');
            digits++;
            continue;
        }
        if (octet > 256)
            return false;
        while (i < n && isspace(c[i]))
            i++;
        if (i >= n || c[i] != ',')
            return false;
        noctet++;
        digits = 0;
        ip = (ip << 8) + octet;
        octet = 0;
        if (noctet == 4) {
            *out = ip;
            return true;
        }
    }
    return false;
}

/* ftpbounce reads the flow's state, not the transaction: the last command
 * and the last PORT line (Suricata's DetectFtpbounceALMatch). */
static bool get_field(void *state, gh_app_tx *tx, gh_field_id id, int dir, uint32_t idx,
                      uint64_t *v)
{
    (void)tx;
    const ftp_state *st = state;
    uint32_t ip;
    if (id != GH_FIELD_FTP_PORT_IP || dir != 0 || idx || st->command != C_PORT ||
        !port_line_ip(st->port_line.p, (uint32_t)st->port_line.len, &ip))
        return false;
    *v = ip;
    return true;
}

/* ---- events ------------------------------------------------------------------ */

/* Suricata's EveFTPLogCommand. */
static bool log_tx(void *state, gh_app_tx *gtx, bool alert, uint32_t i, gh_jbuf *b)
{
    (void)state;
    if (alert || i) /* Suricata's alerts carry no ftp object */
        return false;
    ftp_tx *tx = (ftp_tx *)gtx;
    GH_JBUF_LIT(b, ",\"tx_id\":");
    gh_jbuf_u64(b, gtx->id);
    GH_JBUF_LIT(b, ",\"ftp\":{");
    bool first = true;
    if (tx->cmd != C_UNKNOWN) {
        GH_JBUF_LIT(b, "\"command\":");
        gh_jbuf_quoted(b, cmd_names[tx->cmd]);
        first = false;
    }
    /* the argument: after the table's command length and a space */
    uint32_t skip = (tx->cmd != C_UNKNOWN ? (uint32_t)strlen(cmd_names[tx->cmd]) : 0) + 1;
    if (tx->req_len >= skip) {
        gh_jbuf_key(b, !first, "command_data");
        gh_jbuf_json_jb(b, tx->req.p + skip, tx->req_len - skip);
        if (tx->req_trunc)
            GH_JBUF_LIT(b, ",\"command_truncated\":true");
        else
            GH_JBUF_LIT(b, ",\"command_truncated\":false");
        first = false;
    }
    /* each kept line: its 3-digit completion code, and the text after the code's
     * separator; a line starting with NUL shows nothing (Suricata's C strings) */
    int ncc = 0, nrep = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t off = 0; off + 2 <= tx->replies.len;) {
            uint16_t k;
            memcpy(&k, tx->replies.p + off, sizeof(k));
            const uint8_t *l = tx->replies.p + off + 2;
            off += 2u + k;
            if (!k || !l[0])
                continue;
            uint32_t o = 0;
            bool cc = k >= 3 && isdigit(l[0]) && isdigit(l[1]) && isdigit(l[2]);
            if (cc)
                o = 4;
            if (pass == 0 && cc) {
                if (ncc) {
                    GH_JBUF_LIT(b, ",\"");
                } else {
                    gh_jbuf_key(b, !first, "completion_code");
                    GH_JBUF_LIT(b, "[\"");
                }
                gh_jbuf_append(b, (const char *)l, 3);
                GH_JBUF_LIT(b, "\"");
                ncc++;
            } else if (pass == 1 && k >= o) {
                if (nrep) {
                    GH_JBUF_LIT(b, ",");
                } else {
                    gh_jbuf_key(b, !first, "reply");
                    GH_JBUF_LIT(b, "[");
                }
                gh_jbuf_json_jb(b, l + o, k - o);
                nrep++;
            }
        }
        if (pass == 0 && ncc) {
            gh_jbuf_append(b, "]", 1);
            first = false;
        }
        if (pass == 1 && nrep) {
            gh_jbuf_append(b, "]", 1);
            first = false;
        }
    }
    if (tx->dyn_port) {
        gh_jbuf_key(b, !first, "dynamic_port");
        gh_jbuf_u64(b, tx->dyn_port);
        first = false;
    }
    if (tx->cmd == C_PORT || tx->cmd == C_EPRT) {
        gh_jbuf_key(b, !first, "mode");
        gh_jbuf_quoted(b, tx->active ? "active" : "passive");
        first = false;
    }
    gh_jbuf_key(b, !first, "reply_received");
    gh_jbuf_quoted(b, tx->done ? "yes" : "no");
    if (tx->reply_trunc)
        GH_JBUF_LIT(b, ",\"reply_truncated\":true}");
    else
        GH_JBUF_LIT(b, ",\"reply_truncated\":false}");
    return true;
}

static size_t tx_count(void *state)
{
    return ((ftp_state *)state)->n;
}

static gh_app_tx *tx_get(void *state, size_t i)
{
    ftp_state *st = state;
    return i < st->n ? &tx_at(st, (uint32_t)i)->base : NULL;
}

/* ---- lifecycle ------------------------------------------------------------------ */

static void reset(void *state)
{
    ftp_state *st = state;
    st->head = st->n = 0;
    st->next_id = 0;
    st->command = C_UNKNOWN;
    st->active = false;
    st->dyn_port = 0;
    st->port_line.len = 0;
    for (int i = 0; i < 2; i++) {
        st->d[i].line.len = 0;
        st->d[i].discard = st->d[i].dead = st->d[i].closed = false;
    }
}

static void state_free(void *state)
{
    ftp_state *st = state;
    for (uint32_t i = 0; st->txs && i < st->ninit; i++) {
        gh_app_tx_release(&st->txs[i].base);
        free(st->txs[i].req.p);
        free(st->txs[i].replies.p);
    }
    free(st->txs);
    st->txs = NULL;
    free(st->port_line.p);
    st->port_line = (gh_buf){0};
    for (int i = 0; i < 2; i++) {
        free(st->d[i].line.p);
        st->d[i].line = (gh_buf){0};
    }
}

static int init(void *state, const gh_app_limits *lim)
{
    ftp_state *st = state;
    if (!lim->max_tx)
        return GH_E_INVAL;
    st->cap_tx = lim->max_tx;
    st->ninit = 0;
    st->txs = malloc((size_t)st->cap_tx * sizeof(*st->txs));
    if (!st->txs)
        return GH_E_NOMEM;
    reset(st);
    return 0;
}

const gh_app_ops gh_app_ftp_ops = {
    .name = "ftp",
    .proto = GH_ALPROTO_FTP,
    .transports = GH_APP_TCP,
    .server_first = true,
    .probe = probe,
    .state_size = sizeof(ftp_state),
    .init = init,
    .reset = reset,
    .parse = parse,
    .gap = gap,
    .close = close_dir,
    .get_buffer = get_buffer,
    .get_field = get_field,
    .log = log_tx,
    .tx_count = tx_count,
    .tx_get = tx_get,
    .free = state_free,
};
