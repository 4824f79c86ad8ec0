/* SMTP parser (gh_app_smtp_ops), emulating Suricata 7.0's app-layer-smtp.c
 * and util-decode-mime.c with the default suricata.yaml (decode-mime,
 * base64 and quoted-printable decoding on, raw-extraction off).
 *
 * Transactions are Suricata's: the first client command line opens one
 * (EHLO usually), it holds MAIL FROM, RCPT TO and the DATA message, and it
 * completes at the "." that ends DATA, at a 250 to RSET, or at the 220 to
 * STARTTLS (after which nothing is parsed: TLS follows). Suricata frees a
 * complete transaction after the packet that completed it, so a later
 * command (even QUIT) opens a new one: here a transaction completed during
 * a parse call is reported GH_STAGE_DONE at the end of that call.
 *
 * Replies are matched to the commands they answer through a command queue
 * (pipelining); a server that announced PIPELINING has DATA mode entered
 * without waiting for the 354.
 *
 * file.data (GH_BUF_FILE_DATA, to_server): as in Suricata 7, the decoded
 * content of each MIME part that is an attachment (a filename in
 * Content-Disposition or a name in Content-Type), one buffer instance per
 * file, each kept up to request_body_limit bytes (Suricata's smtp
 * content-limit is 100000); message text that is no attachment is no file.
 *
 * Known differences: body lines are cut at LF (Suricata also ends them at
 * a bare CR and treats the end of each packet as a line end in DATA mode);
 * MIME nesting is capped at STACK_MAX levels and ENT_MAX parts per message,
 * files at FILES_MAX per transaction; no URL extraction ("url" in the
 * email object) and no BDAT content parsing (its chunk is skipped). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "base64.h"
#include "gatehouse/common.h"

#define LINE_LIMIT 4096       /* SMTP_LINE_BUFFER_LIMIT */
#define MAX_TX_TOTAL 256      /* Suricata's smtp max-tx: transactions per flow */
#define CMDS_MAX 256          /* commands awaiting replies */
#define BOUNDARY_BUF 256
#define TOKEN_MAX 255         /* RS_MIME_MAX_TOKEN_LEN */
#define HEADER_VALUE_DEPTH 2000
#define MAX_LINE_LEN 998
#define MAX_ENC_LINE_LEN 76
#define MAX_HEADER_NAME 75
#define STACK_MAX 16
#define ENT_MAX 64
#define FILES_MAX 16

/* ---- MIME decoder state (util-decode-mime.c) ------------------------------- */

enum { M_NONE, M_HEADER_READY, M_HEADER_STARTED, M_HEADER_DONE, M_BODY_STARTED, M_BODY_DONE,
       M_BODY_END_BOUND, M_PARSE_DONE, M_PARSE_ERROR };
static const char *const mime_status[] = {"NONE", "HEADER_READY", "HEADER_STARTED",
                                          "HEADER_DONE", "BODY_STARTED", "BODY_DONE",
                                          "BODY_END_BOUND", "PARSE_DONE", "PARSE_ERROR"};

/* entity content flags */
enum { CT_ATTACH = 1, CT_B64 = 2, CT_QP = 4, CT_ENCAP = 8, CT_BODYPART = 16 };

/* message anomaly flags, in SetMimeEvents' order, with their events */
enum { AN_B64 = 1, AN_QP = 2, AN_LINE = 4, AN_ENC_LINE = 8, AN_HNAME = 16, AN_HVALUE = 32,
       AN_MALFORMED = 64, AN_BOUNDARY = 128, AN_FILENAME = 256 };
static const char *const mime_events[] = {
    "MIME_INVALID_BASE64", "MIME_INVALID_QP", "MIME_LONG_LINE", "MIME_LONG_ENC_LINE",
    "MIME_LONG_HEADER_NAME", "MIME_LONG_HEADER_VALUE", "MIME_MALFORMED_MSG",
    "MIME_LONG_BOUNDARY", "MIME_LONG_FILENAME"};

typedef struct mime_ent {
    int16_t parent;
    uint8_t flags;
    uint32_t fname_off, fname_len; /* in the tx's names buffer */
} mime_ent;

typedef struct mime_node {
    int16_t ent;
    bool is_encap;
    uint16_t bdef_len; /* 0: none */
    uint8_t bdef[BOUNDARY_BUF];
} mime_node;

typedef struct mime {
    uint8_t flag;          /* M_* */
    bool found_child, body_begin, body_end;
    int16_t top;           /* stack top index, -1: empty */
    uint16_t nents;
    uint16_t anom;         /* AN_* of the message */
    mime_node stack[STACK_MAX];
    mime_ent ents[ENT_MAX];
    gh_buf hname, hval;      /* the header being read (its value may fold) */
    bool in_header;        /* hname holds a header */
    gh_buf fields;           /* the current entity's headers: u16 name len, lowercase name,
                              u32 value len, value */
    uint8_t b64[4];        /* base64 characters of an unfinished quantum */
    uint8_t nb64;
    uint8_t pend[2];       /* plain text: the last line's delimiter, owed to the next */
    uint8_t npend;
    uint8_t delim;         /* the current line's delimiter length */
} mime;

/* ---- transactions ---------------------------------------------------------- */

typedef struct smtp_file {
    uint32_t off, len;     /* kept content in the tx's fdata */
    uint64_t size;         /* as decoded */
    bool open;
} smtp_file;

typedef struct smtp_tx {
    gh_app_tx base;        /* first: the engine's part */
    bool done, is_data, has_mime, mail_from_set;
    gh_buf mail_from;
    gh_buf rcpt;             /* u16 length, bytes per RCPT TO */
    gh_buf root;             /* the message's From, To, Cc: u8 which, u32 len, value */
    gh_buf names;            /* attachment file names */
    gh_buf fdata;            /* kept file contents */
    smtp_file files[FILES_MAX];
    uint32_t nfiles;
    bool body_pending;     /* file content grew since the last BODY report */
    mime m;
} smtp_tx;

enum { CMD_OTHER, CMD_DATA, CMD_STARTTLS, CMD_BDAT, CMD_RSET, CMD_DATA_MODE };

enum { PS_FIRST_REPLY = 1, PS_MULTILINE = 2, PS_PIPELINING = 4, PS_DATA_MODE = 8 };

typedef struct smtp_dir {
    gh_buf line;
    bool discard;          /* a long line was cut: drop up to its LF */
    bool closed;
} smtp_dir;

typedef struct smtp_state {
    gh_app_limits lim;
    smtp_tx *txs;          /* ring of cap_tx slots */
    uint32_t cap_tx, head, n;
    uint32_t ninit;        /* slots zeroed so far (gh_app_ring_slot) */
    uint64_t next_id;
    smtp_tx *cur;          /* Suricata's curr_tx, NULL once freed */
    gh_buf helo;
    bool helo_set;
    bool dead;             /* parser error, STARTTLS: nothing more is parsed */
    bool failed, capped;   /* a parser error, a file cut at its limit: told to the
                              sink when the bytes are parsed */
    uint8_t ps;            /* PS_* */
    uint8_t cur_cmd;
    uint32_t bdat_len, bdat_idx;
    uint8_t cmds[CMDS_MAX];
    uint32_t ncmds, cmd_idx;
    smtp_dir d[2];
} smtp_state;

static bool lower_eq(const uint8_t *b, size_t n, const char *s)
{
    size_t k = strlen(s);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (tolower(b[i]) != s[i])
            return false;
    return true;
}

static void anomaly(const gh_app_sink *sink, smtp_tx *tx, const char *name)
{
    if (sink->on_anomaly)
        sink->on_anomaly(sink->ctx, tx ? &tx->base : NULL, 0, name);
}

/* SMTPSetEvent: an event of the current transaction, none without one. */
static void event(smtp_state *st, const gh_app_sink *sink, const char *name)
{
    if (st->cur)
        anomaly(sink, st->cur, name);
}

static void report(const gh_app_sink *sink, smtp_tx *tx, int dir, gh_app_stage stage)
{
    tx->base.progress[dir] = (uint8_t)stage;
    if (sink->on_progress)
        sink->on_progress(sink->ctx, &tx->base, dir, stage);
}

static smtp_tx *tx_at(smtp_state *st, uint32_t i)
{
    return &st->txs[(st->head + i) % st->cap_tx];
}

static void mime_reset(mime *m)
{
    m->flag = M_NONE;
    m->found_child = m->body_begin = m->body_end = false;
    m->top = -1;
    m->nents = 0;
    m->anom = 0;
    m->hname.len = m->hval.len = m->fields.len = 0;
    m->in_header = false;
    m->nb64 = m->npend = 0;
}

static smtp_tx *tx_new(smtp_state *st)
{
    if (st->n == st->cap_tx || st->next_id > MAX_TX_TOTAL)
        return NULL;
    smtp_tx *tx = gh_app_ring_slot(st->txs, sizeof(*st->txs), (st->head + st->n) % st->cap_tx,
                                   &st->ninit);
    st->n++;
    gh_app_tx_start(&tx->base, st->next_id++);
    tx->done = tx->is_data = tx->has_mime = tx->mail_from_set = false;
    tx->mail_from.len = tx->rcpt.len = tx->root.len = tx->names.len = tx->fdata.len = 0;
    tx->nfiles = 0;
    tx->body_pending = false;
    mime_reset(&tx->m);
    return tx;
}

/* A transaction completed during this parse call is logged and freed now,
 * as Suricata does after the packet; @p all: the flow ended. */
static void flush_done(smtp_state *st, const gh_app_sink *sink, bool all)
{
    for (uint32_t i = 0; i < st->n; i++) {
        smtp_tx *tx = tx_at(st, i);
        if (tx->body_pending) {
            tx->body_pending = false;
            report(sink, tx, 0, GH_STAGE_BODY);
        }
    }
    while (st->n) {
        smtp_tx *tx = tx_at(st, 0);
        if (!tx->done && !all)
            break;
        report(sink, tx, 0, GH_STAGE_DONE);
        report(sink, tx, 1, GH_STAGE_DONE);
        if (st->cur == tx)
            st->cur = NULL;
        st->head = (st->head + 1) % st->cap_tx;
        st->n--;
    }
    if (!st->n)
        st->head = 0; /* as HTTP's: the next transaction reuses slot 0's buffers */
}

/* ---- files (SMTPProcessDataChunk) ---------------------------------------------- */

static uint64_t fdata_cap(const smtp_state *st)
{
    return 4ull * st->lim.request_body_limit; /* all files of a tx together */
}

/* A decoded chunk of the current entity: attachments are files. */
static void data_chunk(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n)
{
    mime *m = &tx->m;
    if (m->top < 0)
        return;
    const mime_ent *e = &m->ents[m->stack[m->top].ent];
    if (!(e->flags & CT_ATTACH))
        return;
    smtp_file *f = tx->nfiles ? &tx->files[tx->nfiles - 1] : NULL;
    if (m->body_begin) {
        if (tx->nfiles == FILES_MAX) {
            f = NULL;
        } else {
            f = &tx->files[tx->nfiles++];
            *f = (smtp_file){.off = tx->fdata.len, .open = true};
        }
    }
    if (f && f->open) {
        size_t room = f->len < st->lim.request_body_limit ? st->lim.request_body_limit - f->len
                                                           : 0;
        if (tx->fdata.len + (uint64_t)room > fdata_cap(st))
            room = tx->fdata.len < fdata_cap(st) ? (size_t)(fdata_cap(st) - tx->fdata.len) : 0;
        size_t k = n < room ? n : room;
        st->capped |= k < n && f->size == f->len; /* the first bytes left out */
        if (k && gh_buf_put(&tx->fdata, b, k) == 0) {
            f->len += (uint32_t)k;
            tx->body_pending = true;
        }
        f->size += n;
        if (m->body_end)
            f->open = false;
    }
}

/* ProcessDecodedDataChunk: hand the chunk on; the body is no longer at its start. */
static void chunk_out(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n)
{
    data_chunk(st, tx, b, n);
    tx->m.body_begin = false;
}

/* ---- MIME body decoding ----------------------------------------------------------- */

/* Decode the quantum in m->b64 (2 to 4 characters, '=' padding) into @p out. */
static size_t b64_quantum(mime *m, uint8_t out[3])
{
    uint32_t v = 0;
    size_t nch = 0;
    for (size_t i = 0; i < m->nb64 && m->b64[i] != '='; i++, nch++)
        v |= (uint32_t)gh_b64_value(m->b64[i]) << (18 - 6 * i);
    m->nb64 = 0;
    size_t nout = nch >= 4 ? 3 : nch == 3 ? 2 : nch == 2 ? 1 : 0;
    for (size_t i = 0; i < nout; i++)
        out[i] = (uint8_t)(v >> (16 - 8 * i));
    return nout;
}

/* A base64 line: white space skipped, quanta may span lines; a character
 * outside the alphabet fails the message (Suricata's RFC 2045 mode). */
static int body_b64(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n)
{
    mime *m = &tx->m;
    uint8_t out[3 * 64];
    size_t k = 0;
    if (n > MAX_ENC_LINE_LEN)
        m->anom |= AN_ENC_LINE;
    for (size_t i = 0; i < n; i++) {
        /* whole quanta of four alphabet characters: decoded at once */
        while (m->nb64 == 0 && n - i >= 4 && k + 3 <= sizeof(out)) {
            int v0 = gh_b64_value(b[i]), v1 = gh_b64_value(b[i + 1]);
            int v2 = gh_b64_value(b[i + 2]), v3 = gh_b64_value(b[i + 3]);
            if ((v0 | v1 | v2 | v3) < 0)
                break;
            uint32_t v = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 | (uint32_t)v2 << 6 |
                         (uint32_t)v3;
            out[k++] = (uint8_t)(v >> 16);
            out[k++] = (uint8_t)(v >> 8);
            out[k++] = (uint8_t)v;
            i += 4;
        }
        if (k + 3 > sizeof(out)) {
            chunk_out(st, tx, out, k);
            k = 0;
        }
        if (i == n)
            break;
        uint8_t c = b[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (gh_b64_value(c) < 0 && c != '=') {
            m->anom |= AN_B64;
            chunk_out(st, tx, out, k);
            return -1;
        }
        m->b64[m->nb64++] = c;
        if (m->nb64 == 4) {
            k += b64_quantum(m, out + k);
            if (k + 3 > sizeof(out)) {
                chunk_out(st, tx, out, k);
                k = 0;
            }
        }
    }
    if (k)
        chunk_out(st, tx, out, k);
    return 0;
}

static int qp_hex(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* Suricata takes upper case only */
}

/* A quoted-printable line: "=XX" decoded, a final "=" joins the next line,
 * otherwise the line ends with CRLF; a bad escape drops the '='. */
static void body_qp(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n)
{
    mime *m = &tx->m;
    uint8_t out[512];
    size_t k = 0;
    if (n > MAX_ENC_LINE_LEN)
        m->anom |= AN_ENC_LINE;
    if (n == 0) {
        chunk_out(st, tx, (const uint8_t *)"\r\n", m->delim);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t left = n - i;
        if (b[i] != '=') {
            out[k++] = b[i];
            if (left == 1 && m->delim) {
                out[k++] = '\r';
                out[k++] = '\n';
            }
        } else if (left > 1) {
            int h1 = left >= 3 ? qp_hex(b[i + 1]) : -1;
            int h2 = left >= 3 ? qp_hex(b[i + 2]) : -1;
            if (h1 < 0 || h2 < 0) {
                m->anom |= AN_QP;
            } else {
                out[k++] = (uint8_t)(h1 << 4 | h2);
                if (left == 3 && m->delim) {
                    out[k++] = '\r';
                    out[k++] = '\n';
                }
                i += 2;
            }
        }
        if (k + 3 > sizeof(out)) {
            chunk_out(st, tx, out, k);
            k = 0;
        }
    }
    chunk_out(st, tx, out, k);
}

/* A plain line: the previous line's delimiter, then this line; the last
 * delimiter before a boundary belongs to the boundary. */
static void body_plain(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n)
{
    mime *m = &tx->m;
    if (m->npend) {
        uint8_t p[2];
        memcpy(p, m->pend, m->npend);
        size_t np = m->npend;
        m->npend = 0;
        if (n) {
            data_chunk(st, tx, p, np); /* one chunk with the line in Suricata */
        } else {
            chunk_out(st, tx, p, np);
        }
    }
    chunk_out(st, tx, b, n);
    m->npend = m->delim;
    memcpy(m->pend, &"\r\n"[m->delim == 1], m->delim);
}

static int body_line(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n)
{
    mime *m = &tx->m;
    uint8_t fl = m->ents[m->stack[m->top].ent].flags;
    if (fl & CT_B64)
        return body_b64(st, tx, b, n);
    if (fl & CT_QP)
        body_qp(st, tx, b, n);
    else
        body_plain(st, tx, b, n);
    return 0;
}

/* ProcessBodyComplete: flush what is pending and close the part. */
static void body_complete(smtp_state *st, smtp_tx *tx)
{
    mime *m = &tx->m;
    m->body_end = true;
    uint8_t out[3];
    size_t k = m->nb64 ? b64_quantum(m, out) : 0;
    m->npend = 0; /* a plain part's last line end is the boundary's */
    chunk_out(st, tx, out, k);
    m->body_begin = m->body_end = false;
}

/* ---- MIME headers ------------------------------------------------------------------ */

static const uint8_t *find_buf(const uint8_t *b, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(b + i, s, k))
            return b + i;
    return NULL;
}

/* The current entity's header @p name (lowercase), first occurrence. */
static bool field_get(const mime *m, const char *name, const uint8_t **v, uint32_t *vn)
{
    size_t nl = strlen(name);
    for (uint32_t o = 0; o + 6 <= m->fields.len;) {
        uint16_t k;
        uint32_t len;
        memcpy(&k, m->fields.p + o, 2);
        memcpy(&len, m->fields.p + o + 2 + k, 4);
        const uint8_t *nm = m->fields.p + o + 2;
        if (k == nl && !memcmp(nm, name, nl)) {
            *v = nm + k + 4;
            *vn = len;
            return true;
        }
        o += 6u + k + len;
    }
    return false;
}

/* rs_mime_find_header_token: after the first ';', "name=value" pairs
 * (quoted or up to ';'); the last pair of that exact name wins; RFC 2231
 * sections ("name*0", "name*1", ...) are joined. */
static bool header_token(const uint8_t *v, size_t n, const char *tok, uint8_t *out,
                         size_t *olen)
{
    const uint8_t *semi = memchr(v, ';', n);
    if (!semi)
        return false;
    size_t tl = strlen(tok);
    const uint8_t *p = semi + 1, *end = v + n;
    const uint8_t *found = NULL;
    size_t flen = 0;
    size_t sec_len = 0;
    int next_sec = 0;
    bool sect = false;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        const uint8_t *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq)
            break;
        const uint8_t *name = p;
        size_t nl = (size_t)(eq - p);
        const uint8_t *val = eq + 1, *vend;
        if (val < end && *val == '"') {
            const uint8_t *q = memchr(val + 1, '"', (size_t)(end - val - 1));
            if (q) {
                vend = q;
                val++;
                p = q + 1;
            } else { /* an unclosed quote: the rest up to ';' or the end */
                const uint8_t *s = memchr(val, ';', (size_t)(end - val));
                vend = s ? s : end;
                p = vend;
            }
        } else {
            const uint8_t *s = memchr(val, ';', (size_t)(end - val));
            vend = s ? s : end;
            p = vend;
        }
        if (p < end && *p == ';')
            p++;
        if (nl == tl && !memcmp(name, tok, tl)) {
            found = val;
            flen = (size_t)(vend - val);
        } else if (nl > tl + 1 && !memcmp(name, tok, tl) && name[tl] == '*') {
            /* a section: only in order, as Suricata's lookups by number find them */
            int num = 0;
            size_t i = tl + 1;
            for (; i < nl && isdigit(name[i]); i++)
                num = num * 10 + (name[i] - '0');
            if (i == nl && num == next_sec) {
                size_t k = (size_t)(vend - val);
                if (sec_len + k > TOKEN_MAX * 4)
                    k = TOKEN_MAX * 4 - sec_len;
                memcpy(out + sec_len, val, k);
                sec_len += k;
                next_sec++;
                sect = true;
            }
        }
    }
    if (found) {
        size_t k = flen < TOKEN_MAX * 4 ? flen : TOKEN_MAX * 4;
        memmove(out, found, k);
        *olen = flen;
        return true;
    }
    if (sect)
        *olen = sec_len;
    return sect;
}

static int16_t ent_add(mime *m, int16_t parent, uint8_t flags)
{
    if (m->nents == ENT_MAX)
        return -1;
    m->ents[m->nents] = (mime_ent){.parent = parent, .flags = flags};
    return (int16_t)m->nents++;
}

static bool push(mime *m, int16_t ent)
{
    if (ent < 0 || m->top + 1 == STACK_MAX)
        return false;
    mime_node *nd = &m->stack[++m->top];
    nd->ent = ent;
    nd->is_encap = false;
    nd->bdef_len = 0;
    m->fields.len = 0; /* a new entity: its own headers */
    return true;
}

/* StoreMimeHeader: the header read so far becomes a field of the current
 * entity (the message's From/To/Cc are kept for events). */
static void store_header(smtp_tx *tx)
{
    mime *m = &tx->m;
    if (!m->in_header)
        return;
    m->in_header = false;
    if (!m->hval.len || m->top < 0)
        return;
    for (uint32_t i = 0; i < m->hname.len; i++)
        m->hname.p[i] = (uint8_t)tolower(m->hname.p[i]);
    uint16_t k = (uint16_t)m->hname.len;
    uint32_t len = m->hval.len;
    gh_buf_put(&m->fields, &k, 2);
    gh_buf_put(&m->fields, m->hname.p, k);
    gh_buf_put(&m->fields, &len, 4);
    gh_buf_put(&m->fields, m->hval.p, len);
    static const char *const keep[] = {"from", "to", "cc"};
    if (m->stack[m->top].ent != 0)
        return;
    for (uint8_t w = 0; w < 3; w++) {
        if (k != strlen(keep[w]) || memcmp(m->hname.p, keep[w], k))
            continue;
        for (uint32_t o = 0; o < tx->root.len;) { /* the first one counts */
            uint32_t l;
            memcpy(&l, tx->root.p + o + 1, 4);
            if (tx->root.p[o] == w)
                return;
            o += 5 + l;
        }
        gh_buf_put(&tx->root, &w, 1);
        gh_buf_put(&tx->root, &len, 4);
        gh_buf_put(&tx->root, m->hval.p, len);
    }
}

static void hval_add(mime *m, const uint8_t *b, size_t n)
{
    uint32_t room = HEADER_VALUE_DEPTH - m->hval.len;
    if (n > room) {
        n = room;
        m->anom |= AN_HVALUE;
    }
    gh_buf_put(&m->hval, b, n);
}

/* Headers of an entity are complete: encoding, attachment, boundary, type. */
static int headers_done(smtp_tx *tx)
{
    mime *m = &tx->m;
    mime_node *nd = &m->stack[m->top];
    mime_ent *e = &m->ents[nd->ent];
    const uint8_t *v;
    uint32_t vn;
    uint8_t tok[TOKEN_MAX * 4];
    size_t tl;
    if (field_get(m, "content-transfer-encoding", &v, &vn)) {
        if (find_buf(v, vn, "base64"))
            e->flags |= CT_B64;
        else if (find_buf(v, vn, "quoted-printable"))
            e->flags |= CT_QP;
    }
    bool named = false;
    if (field_get(m, "content-disposition", &v, &vn) &&
        header_token(v, vn, "filename", tok, &tl)) {
        e->flags |= CT_ATTACH;
        named = true;
        if (tl > TOKEN_MAX) {
            tl = TOKEN_MAX;
            m->anom |= AN_FILENAME;
        }
        e->fname_off = tx->names.len;
        e->fname_len = (uint32_t)tl;
        gh_buf_put(&tx->names, tok, tl);
    }
    if (field_get(m, "content-type", &v, &vn)) {
        if (header_token(v, vn, "boundary", tok, &tl)) {
            m->found_child = true;
            if (tl > BOUNDARY_BUF - 2) {
                m->anom |= AN_BOUNDARY;
                return -1;
            }
            memcpy(nd->bdef, tok, tl);
            nd->bdef_len = (uint16_t)tl;
        }
        if (!named && header_token(v, vn, "name", tok, &tl)) {
            e->flags |= CT_ATTACH;
            if (tl > TOKEN_MAX) {
                tl = TOKEN_MAX;
                m->anom |= AN_FILENAME;
            }
            e->fname_off = tx->names.len;
            e->fname_len = (uint32_t)tl;
            gh_buf_put(&tx->names, tok, tl);
        }
        /* the short type: up to ' ', CR, LF or ';' */
        size_t tn = 0;
        while (tn < vn && v[tn] != ' ' && v[tn] != '\r' && v[tn] != '\n' && v[tn] != ';')
            tn++;
        if (tn && find_buf(v, tn, "message/")) {
            /* an encapsulated message: its headers follow */
            e->flags |= CT_ENCAP;
            if (!push(m, ent_add(m, nd->ent, CT_ENCAP)))
                return -1;
            m->stack[m->top].is_encap = true;
            m->flag = M_HEADER_READY;
        }
    }
    m->body_begin = true;
    m->body_end = false;
    return 0;
}

/* FindMimeHeader / ProcessMimeHeaders for one line. */
static int header_line(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n)
{
    mime *m = &tx->m;
    size_t valid = 0, i;
    bool hname = false;
    for (i = 0; i < n && b[i]; i++) {
        if (b[i] != ':' && b[i] >= 33 && b[i] <= 126) {
            valid++;
        } else if (valid && b[i] == ':') {
            hname = true;
            break;
        } else {
            break;
        }
    }
    if (hname) {
        if (valid > MAX_HEADER_NAME)
            m->anom |= AN_HNAME;
        size_t hv = i + 1;
        bool has_val = hv < n;
        while (has_val && b[hv] == ' ') {
            if (hv >= n - 1) {
                has_val = false;
                break;
            }
            hv++;
        }
        store_header(tx);
        m->flag = M_HEADER_STARTED;
        m->hname.len = 0;
        m->hval.len = 0;
        gh_buf_put(&m->hname, b + i - valid, valid);
        m->in_header = true;
        if (has_val)
            hval_add(m, b + hv, n - hv);
    } else if (n == 0) {
        m->flag = M_HEADER_DONE;
        store_header(tx);
    } else if (m->flag == M_HEADER_STARTED) {
        hval_add(m, b, n); /* a folded line, joined as it is */
    } else {
        /* a body without headers */
        m->flag = M_BODY_STARTED;
        m->body_begin = true;
        m->body_end = false;
        return body_line(st, tx, b, n);
    }
    if (m->flag == M_HEADER_DONE)
        return headers_done(tx);
    return 0;
}

/* ProcessMimeBoundary. */
static int boundary(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n, size_t blen)
{
    mime *m = &tx->m;
    if (m->flag != M_BODY_END_BOUND)
        body_complete(st, tx);
    else
        m->flag = M_HEADER_READY;
    const uint8_t *r = b + blen + 2;
    size_t rest = n - (blen + 2);
    if (m->stack[m->top].is_encap && m->stack[m->top].bdef_len == 0) {
        if (m->top == 0)
            return -1;
        if (m->stack[m->top - 1].bdef_len == 0)
            m->top--;
    }
    if (rest > 1 && r[0] == '-' && r[1] == '-') {
        if (--m->top < 0)
            return -1;
        if (m->stack[m->top].is_encap && m->stack[m->top].bdef_len) {
            if (--m->top < 0)
                return -1;
        }
        m->flag = M_BODY_END_BOUND;
    } else if (m->found_child) {
        if (!push(m, ent_add(m, m->stack[m->top].ent, CT_BODYPART)))
            return -1;
        m->found_child = false;
    } else {
        if (m->top == 0)
            return -1;
        m->top--;
        if (!push(m, ent_add(m, m->stack[m->top].ent, CT_BODYPART)))
            return -1;
    }
    if (m->flag != M_BODY_END_BOUND)
        m->flag = M_HEADER_READY;
    return 0;
}

/* ProcessMimeBody. */
static int mime_body(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n)
{
    mime *m = &tx->m;
    if (n == 0) {
        if (m->flag == M_BODY_END_BOUND)
            return 0;
        if (m->flag == M_HEADER_DONE && (m->ents[m->stack[m->top].ent].flags & CT_B64))
            return 0;
    }
    int16_t nd = m->top;
    if (m->flag == M_BODY_END_BOUND || !m->stack[nd].bdef_len) {
        nd--;
        while (nd >= 0 && !m->stack[nd].bdef_len)
            nd--;
    }
    if (nd >= 0 && n > 1 && b[0] == '-' && b[1] == '-') {
        const mime_node *bn = &m->stack[nd];
        if (bn->bdef_len + 2 > BOUNDARY_BUF) {
            m->anom |= AN_BOUNDARY;
            return -1;
        }
        /* "--boundary" anywhere on the line */
        for (size_t i = 0; i + bn->bdef_len + 2 <= n; i++) {
            if (b[i] == '-' && b[i + 1] == '-' && !memcmp(b + i + 2, bn->bdef, bn->bdef_len))
                return boundary(st, tx, b, n, bn->bdef_len);
        }
    }
    m->flag = M_BODY_STARTED;
    return body_line(st, tx, b, n);
}

/* MimeDecParseLine: false when the decoder failed (it then takes nothing more). */
static bool mime_line(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n, uint8_t delim)
{
    mime *m = &tx->m;
    if (m->flag == M_PARSE_ERROR)
        return true; /* MIME_DEC_ERR_STATE: no event */
    m->delim = delim;
    if (n > MAX_LINE_LEN)
        m->anom |= AN_LINE;
    int rc = (m->flag == M_HEADER_READY || m->flag == M_HEADER_STARTED)
                 ? header_line(st, tx, b, n)
                 : mime_body(st, tx, b, n);
    if (rc) {
        m->flag = M_PARSE_ERROR;
        return false;
    }
    return true;
}

/* MimeDecParseComplete. */
static bool mime_complete(smtp_state *st, smtp_tx *tx)
{
    mime *m = &tx->m;
    if (m->flag == M_PARSE_ERROR)
        return false;
    store_header(tx);
    body_complete(st, tx);
    if (m->top < 0) {
        m->anom |= AN_MALFORMED;
        return false;
    }
    if (m->stack[m->top].is_encap && --m->top < 0) {
        m->anom |= AN_MALFORMED;
        return false;
    }
    if (m->top > 0)
        m->anom |= AN_MALFORMED;
    m->flag = M_PARSE_DONE;
    return true;
}

static void mime_events_out(smtp_state *st, const gh_app_sink *sink, const mime *m)
{
    for (size_t i = 0; i < sizeof(mime_events) / sizeof(mime_events[0]); i++)
        if (m->anom & (1u << i))
            event(st, sink, mime_events[i]);
}

/* ---- client commands (SMTPProcessRequest) ---------------------------------------- */

static void fail(smtp_state *st)
{
    st->dead = true; /* Suricata's parser error: the flow is not parsed further */
    st->failed = true;
}

static void insert_cmd(smtp_state *st, uint8_t cmd, const gh_app_sink *sink)
{
    if (st->ncmds && (st->cmds[st->ncmds - 1] == CMD_STARTTLS ||
                      st->cmds[st->ncmds - 1] == CMD_DATA))
        event(st, sink, "INVALID_PIPELINED_SEQUENCE");
    if (st->ncmds == CMDS_MAX) {
        fail(st);
        return;
    }
    st->cmds[st->ncmds++] = cmd;
}

/* "CMD  param[ option]": the parameter up to the next space. */
static void param(const uint8_t *b, size_t n, size_t prefix, const uint8_t **p, size_t *len)
{
    size_t i = prefix + 1;
    while (i < n && b[i] == ' ')
        i++;
    size_t j = i;
    while (j < n && b[j] != ' ')
        j++;
    *p = b + (i < n ? i : n);
    *len = j > i ? j - i : 0;
}

static void data_line(smtp_state *st, smtp_tx *tx, const uint8_t *b, size_t n, uint8_t delim,
                      const gh_app_sink *sink)
{
    if (!(st->ps & PS_DATA_MODE))
        return;
    if (n == 1 && b[0] == '.') {
        st->ps &= (uint8_t)~PS_DATA_MODE;
        insert_cmd(st, CMD_DATA_MODE, sink);
        if (tx->has_mime) {
            if (!mime_complete(st, tx))
                event(st, sink, "MIME_PARSE_FAILED");
            mime_events_out(st, sink, &tx->m);
        }
        tx->done = true;
        return;
    }
    if (st->cur_cmd == CMD_DATA && tx->has_mime && !mime_line(st, tx, b, n, delim)) {
        mime_events_out(st, sink, &tx->m);
        event(st, sink, "MIME_PARSE_FAILED");
    }
}

static void request(smtp_state *st, const uint8_t *b, size_t n, uint8_t delim,
                    const gh_app_sink *sink)
{
    smtp_tx *tx = st->cur;
    bool data_mode = st->ps & PS_DATA_MODE;
    /* RSET and QUIT belong to the transaction they follow */
    bool no_new = !data_mode && (lower_eq(b, n, "rset") || lower_eq(b, n, "quit"));
    if (!tx || (tx->done && !no_new)) {
        if (!(tx = tx_new(st))) {
            fail(st);
            return;
        }
        st->cur = tx;
        report(sink, tx, 0, GH_STAGE_LINE);
    }
    if (!(st->ps & PS_FIRST_REPLY))
        event(st, sink, "NO_SERVER_WELCOME_MESSAGE");
    if (data_mode) {
        if (st->cur_cmd == CMD_DATA) {
            data_line(st, tx, b, n, delim, sink);
        } else if (st->cur_cmd == CMD_BDAT) {
            st->bdat_idx += (uint32_t)(n + delim);
            if (st->bdat_idx > st->bdat_len) {
                st->ps &= (uint8_t)~PS_DATA_MODE;
                event(st, sink, "BDAT_CHUNK_LEN_EXCEEDED");
                fail(st);
            } else if (st->bdat_idx == st->bdat_len) {
                st->ps &= (uint8_t)~PS_DATA_MODE;
            }
        }
        return;
    }
    const uint8_t *p;
    size_t pl;
    if (lower_eq(b, n, "starttls")) {
        st->cur_cmd = CMD_STARTTLS;
    } else if (lower_eq(b, n, "data")) {
        st->cur_cmd = CMD_DATA;
        if (tx->is_data) { /* a second DATA with no reply to the first */
            event(st, sink, "UNPARSABLE_CONTENT");
            return;
        }
        tx->has_mime = true;
        mime_reset(&tx->m);
        tx->m.flag = M_HEADER_READY;
        push(&tx->m, ent_add(&tx->m, -1, 0));
        tx->is_data = true;
        if (st->ps & PS_PIPELINING) /* no wait for the 354 */
            st->ps |= PS_DATA_MODE;
    } else if (lower_eq(b, n, "bdat")) {
        size_t i = 4;
        while (i < n && b[i] == ' ')
            i++;
        if (i == 4 || i == n || !isdigit(b[i])) {
            fail(st);
            return;
        }
        uint64_t v = 0;
        for (; i < n && isdigit(b[i]) && v < UINT32_MAX; i++)
            v = v * 10 + (uint64_t)(b[i] - '0');
        st->bdat_len = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
        st->cur_cmd = CMD_BDAT;
        st->ps |= PS_DATA_MODE;
    } else if (lower_eq(b, n, "helo") || lower_eq(b, n, "ehlo")) {
        if (st->helo_set) {
            event(st, sink, "DUPLICATE_FIELDS");
        } else {
            param(b, n, 4, &p, &pl);
            gh_buf_put(&st->helo, p, pl);
            st->helo_set = true;
        }
        st->cur_cmd = CMD_OTHER;
    } else if (lower_eq(b, n, "mail from")) {
        if (tx->mail_from_set) {
            event(st, sink, "DUPLICATE_FIELDS");
        } else {
            param(b, n, 9, &p, &pl);
            gh_buf_put(&tx->mail_from, p, pl);
            tx->mail_from_set = true;
        }
        st->cur_cmd = CMD_OTHER;
    } else if (lower_eq(b, n, "rcpt to")) {
        param(b, n, 7, &p, &pl);
        uint16_t k = (uint16_t)(pl > UINT16_MAX ? UINT16_MAX : pl);
        gh_buf_put(&tx->rcpt, &k, 2);
        gh_buf_put(&tx->rcpt, p, k);
        st->cur_cmd = CMD_OTHER;
    } else if (lower_eq(b, n, "rset")) {
        st->bdat_idx = 0;
        st->cur_cmd = CMD_RSET;
    } else {
        st->cur_cmd = CMD_OTHER;
    }
    insert_cmd(st, st->cur_cmd, sink);
}

/* ---- server replies (SMTPProcessReply) ------------------------------------------------ */

static const char *const reply_codes[] = {
    "211", "214", "220", "221", "235", "250", "251", "252", "334", "354", "421", "450", "451",
    "452", "455", "500", "501", "502", "503", "504", "550", "551", "552", "553", "554", "555"};

static void reply(smtp_state *st, const uint8_t *b, size_t n, const gh_app_sink *sink)
{
    if (n < 3) {
        event(st, sink, "INVALID_REPLY");
        fail(st);
        return;
    }
    if (n >= 4) {
        if (st->ps & PS_MULTILINE) {
            if (b[3] != '-')
                st->ps &= (uint8_t)~PS_MULTILINE;
        } else if (b[3] == '-') {
            st->ps |= PS_MULTILINE;
        }
    } else {
        st->ps &= (uint8_t)~PS_MULTILINE;
    }
    bool known = false;
    for (size_t i = 0; i < sizeof(reply_codes) / sizeof(reply_codes[0]) && !known; i++)
        known = !memcmp(b, reply_codes[i], 3);
    if (!known) {
        event(st, sink, "INVALID_REPLY");
        fail(st);
        return;
    }
    bool multi = st->ps & PS_MULTILINE;
    if (st->cmd_idx == st->ncmds) {
        if (!(st->ps & PS_FIRST_REPLY)) {
            /* the greeting, which may span lines */
            if (!multi)
                st->ps |= PS_FIRST_REPLY;
            if (memcmp(b, "220", 3))
                event(st, sink, "INVALID_REPLY");
        }
        return;
    }
    uint8_t cmd = st->cmds[st->cmd_idx];
    if (cmd == CMD_STARTTLS) {
        if (!memcmp(b, "220", 3)) {
            st->ps |= PS_DATA_MODE;
            if (st->cur)
                st->cur->done = true;
            st->dead = true; /* TLS follows: Suricata hands the flow over */
        } else {
            event(st, sink, "TLS_REJECTED");
        }
    } else if (cmd == CMD_DATA) {
        if (!memcmp(b, "354", 3)) {
            st->ps |= PS_DATA_MODE;
        } else {
            if (st->ps & PS_PIPELINING) /* entered too early */
                st->ps &= (uint8_t)~PS_DATA_MODE;
            event(st, sink, "DATA_COMMAND_REJECTED");
        }
    } else if (cmd == CMD_RSET) {
        if (!memcmp(b, "250", 3) && st->cur && !multi)
            st->cur->done = true;
    }
    if (!multi) {
        st->cmd_idx++;
    } else if ((st->ps & PS_FIRST_REPLY) && !memcmp(b, "250", 3) && n == 14 &&
               lower_eq(b + 4, 10, "pipelining")) {
        st->ps |= PS_PIPELINING;
    }
    if (st->cmd_idx == st->ncmds)
        st->ncmds = st->cmd_idx = 0;
}

/* ---- the byte stream ----------------------------------------------------------------- */

static void line(smtp_state *st, int dir, const uint8_t *b, size_t n, uint8_t delim,
                 bool first, const gh_app_sink *sink)
{
    if (dir == 0) {
        request(st, b, n, delim, sink);
    } else if (!(n == 0 && delim == 1 && first)) { /* a lone LF opening the data */
        reply(st, b, n, sink);
    }
}

static void parse(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink)
{
    smtp_state *st = state;
    smtp_dir *d = &st->d[dir];
    size_t pos = 0;
    bool first = true;
    while (pos < n && !st->dead) {
        const uint8_t *lf = memchr(b + pos, '\n', n - pos);
        size_t take = lf ? (size_t)(lf - (b + pos)) + 1 : n - pos;
        if (d->discard) {
            d->discard = !lf;
            pos += take;
            continue;
        }
        size_t room = LINE_LIMIT - d->line.len;
        gh_buf_put(&d->line, b + pos, take < room ? take : room);
        pos += take;
        uint8_t *p = d->line.p;
        uint32_t len = d->line.len;
        bool body = dir == 0 && (st->ps & PS_DATA_MODE) && st->cur_cmd == CMD_DATA;
        if (len >= LINE_LIMIT) {
            d->line.len = 0;
            if (body) {
                /* a long body line goes on in pieces, as Suricata's DATA mode
                 * takes any length; the rest of it follows */
                line(st, dir, p, LINE_LIMIT, 0, first, sink);
                if (take > room) {
                    pos -= take - room;
                }
            } else {
                d->discard = !lf; /* the rest up to the LF, when not taken yet */
                line(st, dir, p, LINE_LIMIT, 0, first, sink);
                if (st->cur)
                    event(st, sink, "TRUNCATED_LINE");
            }
            first = false;
            continue;
        }
        if (!lf)
            break;
        uint8_t delim = (len >= 2 && p[len - 2] == '\r') ? 2 : 1;
        d->line.len = 0;
        line(st, dir, p, len - delim, delim, first, sink);
        first = false;
    }
    flush_done(st, sink, false);
    if (st->failed)
        gh_app_exception(sink, dir, GH_APP_EXC_ERROR);
    if (st->capped)
        gh_app_exception(sink, dir, GH_APP_EXC_DECODE_CAP);
    st->failed = st->capped = false;
}

static void gap(void *state, int dir, uint64_t len, const gh_app_sink *sink)
{
    (void)dir;
    (void)len;
    (void)sink;
    ((smtp_state *)state)->dead = true; /* SMTP takes no gaps (not a parse error) */
}

static void close_dir(void *state, int dir, const gh_app_sink *sink)
{
    smtp_state *st = state;
    st->d[dir].closed = true;
    if (st->d[!dir].closed)
        flush_done(st, sink, true); /* Suricata logs what is left at the end */
}

/* ---- buffers and events --------------------------------------------------------------- */

static bool get_buffer(void *state, gh_app_tx *gtx, gh_buffer_id id, int dir, uint32_t idx,
                       const uint8_t **b, uint32_t *len)
{
    (void)state;
    smtp_tx *tx = (smtp_tx *)gtx;
    if (id != GH_BUF_FILE_DATA || dir != 0 || idx >= tx->nfiles)
        return false;
    *b = gh_buf_at(&tx->fdata, tx->files[idx].off);
    *len = tx->files[idx].len;
    return true;
}

static uint64_t body_length(void *state, gh_app_tx *gtx, int dir)
{
    (void)state;
    smtp_tx *tx = (smtp_tx *)gtx;
    uint64_t s = 0;
    for (uint32_t i = 0; dir == 0 && i < tx->nfiles; i++)
        s += tx->files[i].size;
    return s;
}

/* Suricata's C strings: a value ends at its first NUL. */
static size_t cstr_len(const uint8_t *p, size_t n)
{
    const uint8_t *z = n ? memchr(p, 0, n) : NULL; /* p may be NULL when n is 0 */
    return z ? (size_t)(z - p) : n;
}

/* Before item @p i of list @p name: the member's name and '[', or a ','. */
static void list_sep(gh_jbuf *b, const char *name, int i)
{
    if (i) {
        GH_JBUF_LIT(b, ",");
    } else {
        gh_jbuf_key(b, true, name);
        GH_JBUF_LIT(b, "[");
    }
}

/* EveEmailJsonArrayFromCommaList: commas outside quotes split, leading
 * blanks skipped; false when nothing was written. */
static bool comma_list(gh_jbuf *b, const char *name, const uint8_t *v, size_t n)
{
    size_t start = 0;
    int stt = 0, cnt = 0;
    for (size_t i = 0; i < n; i++) {
        if (stt == 0) {
            if (v[i] == ' ' || v[i] == '\t')
                start++;
            else
                stt = v[i] == '"' ? 2 : 1;
        } else if (stt == 1) {
            if (v[i] == ',') {
                if (i > start) {
                    list_sep(b, name, cnt++);
                    gh_jbuf_json_jb(b, v + start, i - start);
                }
                start = i + 1;
                stt = 0;
            } else if (v[i] == '"') {
                stt = 2;
            }
        } else if (v[i] == '"') {
            stt = 1;
        }
    }
    if (n > start) {
        list_sep(b, name, cnt++);
        gh_jbuf_json_jb(b, v + start, n - start);
    }
    if (cnt)
        gh_jbuf_append(b, "]", 1);
    return cnt > 0;
}

static bool root_field(const smtp_tx *tx, uint8_t which, const uint8_t **v, uint32_t *n)
{
    for (uint32_t o = 0; o < tx->root.len;) {
        uint32_t l;
        memcpy(&l, tx->root.p + o + 1, 4);
        if (tx->root.p[o] == which) {
            *v = tx->root.p + o + 5;
            *n = l;
            return true;
        }
        o += 5 + l;
    }
    return false;
}

/* EveEmailLogJsonData: the "email" object, or nothing. */
static void log_email(const smtp_tx *tx, gh_jbuf *b)
{
    const mime *m = &tx->m;
    if (!tx->has_mime || m->top < 0)
        return; /* Suricata drops the whole object without a stack */
    GH_JBUF_LIT(b, ",\"email\":{\"status\":");
    gh_jbuf_quoted(b, mime_status[m->flag]);
    const uint8_t *v;
    uint32_t vn;
    if (root_field(tx, 0, &v, &vn)) {
        size_t k = cstr_len(v, vn), s = 0;
        while (s < k && (v[s] == ' ' || v[s] == '\t'))
            s++;
        gh_jbuf_append(b, ",\"from\":", 8);
        gh_jbuf_json_jb(b, v + s, k - s);
    }
    if (root_field(tx, 1, &v, &vn))
        comma_list(b, "to", v, vn);
    if (root_field(tx, 2, &v, &vn))
        comma_list(b, "cc", v, vn);
    int16_t top = m->stack[m->top].ent, cnt = 0;
    for (uint16_t i = 0; i < m->nents; i++) {
        const mime_ent *e = &m->ents[i];
        if (e->parent != top || !(e->flags & CT_ATTACH))
            continue;
        if (cnt++)
            gh_jbuf_append(b, ",", 1);
        else
            gh_jbuf_append(b, ",\"attachment\":[", 15);
        gh_jbuf_json_jb(b, gh_buf_at(&tx->names, e->fname_off), e->fname_len);
    }
    if (cnt)
        gh_jbuf_append(b, "]", 1);
    gh_jbuf_append(b, "}", 1);
}

/* Suricata's "smtp" and "email" objects: the same for an alert and the
 * event (with the transaction id first). */
static bool log_tx(void *state, gh_app_tx *gtx, bool alert, uint32_t i, gh_jbuf *b)
{
    smtp_state *st = state;
    smtp_tx *tx = (smtp_tx *)gtx;
    if (i)
        return false;
    if (!alert) {
        GH_JBUF_LIT(b, ",\"tx_id\":");
        gh_jbuf_u64(b, gtx->id);
    }
    gh_jbuf_append(b, ",\"smtp\":{", 9);
    bool first = true;
    if (st->helo_set && st->helo.len) {
        gh_jbuf_append(b, "\"helo\":", 7);
        gh_jbuf_json_jb(b, st->helo.p, cstr_len(st->helo.p, st->helo.len));
        first = false;
    }
    if (tx->mail_from_set) {
        gh_jbuf_key(b, !first, "mail_from");
        gh_jbuf_json_jb(b, tx->mail_from.p, cstr_len(tx->mail_from.p, tx->mail_from.len));
        first = false;
    }
    for (uint32_t o = 0, k = 0; o + 2 <= tx->rcpt.len; k++) {
        uint16_t l;
        memcpy(&l, tx->rcpt.p + o, 2);
        if (k) {
            GH_JBUF_LIT(b, ",");
        } else {
            gh_jbuf_key(b, !first, "rcpt_to");
            GH_JBUF_LIT(b, "[");
        }
        gh_jbuf_json_jb(b, tx->rcpt.p + o + 2, cstr_len(tx->rcpt.p + o + 2, l));
        o += 2u + l;
        if (o + 2 > tx->rcpt.len)
            gh_jbuf_append(b, "]", 1);
    }
    gh_jbuf_append(b, "}", 1);
    log_email(tx, b);
    return true;
}

static size_t tx_count(void *state)
{
    return ((smtp_state *)state)->n;
}

static gh_app_tx *tx_get(void *state, size_t i)
{
    smtp_state *st = state;
    return i < st->n ? &tx_at(st, (uint32_t)i)->base : NULL;
}

/* ---- probing and lifecycle --------------------------------------------------------- */

/* Suricata's patterns: EHLO, HELO or QUIT (any case) opening the client's
 * bytes; the server's "220" greeting waits for them (it is FTP's too). */
static int probe(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc)
{
    (void)pc;
    if (dir)
        return GH_PROBE_NO;
    static const char *const pats[] = {"ehlo", "helo", "quit"};
    bool more = false;
    for (size_t i = 0; i < 3; i++) {
        size_t k = 0;
        while (k < 4 && k < n && tolower(b[k]) == pats[i][k])
            k++;
        if (k == 4)
            return GH_PROBE_YES;
        if (k == n)
            more = true;
    }
    return more ? GH_PROBE_MORE : GH_PROBE_NO;
}

static void reset(void *state)
{
    smtp_state *st = state;
    st->head = st->n = 0;
    st->next_id = 0;
    st->cur = NULL;
    st->helo.len = 0;
    st->helo_set = st->dead = false;
    st->ps = 0;
    st->cur_cmd = CMD_OTHER;
    st->bdat_len = st->bdat_idx = 0;
    st->ncmds = st->cmd_idx = 0;
    for (int i = 0; i < 2; i++) {
        st->d[i].line.len = 0;
        st->d[i].discard = st->d[i].closed = false;
    }
}

static void state_free(void *state)
{
    smtp_state *st = state;
    for (uint32_t i = 0; st->txs && i < st->ninit; i++) {
        smtp_tx *tx = &st->txs[i];
        gh_app_tx_release(&tx->base);
        gh_buf_free(&tx->mail_from);
        gh_buf_free(&tx->rcpt);
        gh_buf_free(&tx->root);
        gh_buf_free(&tx->names);
        gh_buf_free(&tx->fdata);
        gh_buf_free(&tx->m.hname);
        gh_buf_free(&tx->m.hval);
        gh_buf_free(&tx->m.fields);
    }
    free(st->txs);
    st->txs = NULL;
    gh_buf_free(&st->helo);
    for (int i = 0; i < 2; i++)
        gh_buf_free(&st->d[i].line);
}

static int init(void *state, const gh_app_limits *lim)
{
    smtp_state *st = state;
    st->lim = *lim;
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

const gh_app_ops gh_app_smtp_ops = {
    .name = "smtp",
    .proto = GH_ALPROTO_SMTP,
    .transports = GH_APP_TCP,
    .server_first = true,
    .probe = probe,
    .state_size = sizeof(smtp_state),
    .init = init,
    .reset = reset,
    .parse = parse,
    .gap = gap,
    .close = close_dir,
    .get_buffer = get_buffer,
    .body_length = body_length,
    .log = log_tx,
    .tx_count = tx_count,
    .tx_get = tx_get,
    .free = state_free,
};
