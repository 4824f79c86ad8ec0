/* SMTP and FTP parser tests. A session is a list of packets (direction,
 * bytes); each is fed in one parse call or byte by byte, and both must give
 * the same transcript: progress (repeated BODY collapsed), anomalies, and
 * for each transaction completed in both directions its event members and
 * its file.data instances. Expected members are Suricata 7.0.10's output
 * for the same exchanges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

typedef struct rec {
    const gh_app_ops *ops;
    void *state;
    gh_jbuf t;
    uint64_t last_id;
    int last_dir, last_stage;
} rec;

static void on_progress(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    static const char *const names[] = {"NONE", "LINE", "HEADERS", "BODY", "DONE"};
    rec *r = ctx;
    assert_int_equal(tx->progress[dir], stage);
    bool repeat = stage == GH_STAGE_BODY && r->last_stage == GH_STAGE_BODY &&
                  r->last_id == tx->id && r->last_dir == dir;
    r->last_id = tx->id;
    r->last_dir = dir;
    r->last_stage = stage;
    if (!repeat)
        gh_jbuf_printf(&r->t, "ev %llu %d %s\n", (unsigned long long)tx->id, dir, names[stage]);
    if (stage != GH_STAGE_DONE || tx->progress[0] != GH_STAGE_DONE ||
        tx->progress[1] != GH_STAGE_DONE)
        return;
    gh_jbuf_append(&r->t, "log ", 4);
    assert_true(r->ops->log(r->state, tx, false, 0, &r->t));
    gh_jbuf_append(&r->t, "\nalert ", 7);
    r->ops->log(r->state, tx, true, 0, &r->t);
    gh_jbuf_append(&r->t, "\n", 1);
    const uint8_t *b;
    uint32_t n;
    for (uint32_t i = 0; r->ops->get_buffer(r->state, tx, GH_BUF_FILE_DATA, 0, i, &b, &n); i++) {
        gh_jbuf_printf(&r->t, "file %u ", i);
        gh_jbuf_json_bytes(&r->t, b, n);
        gh_jbuf_append(&r->t, "\n", 1);
    }
}

static void on_anomaly(void *ctx, gh_app_tx *tx, int dir, const char *name)
{
    rec *r = ctx;
    gh_jbuf_printf(&r->t, "an %lld %d %s\n", tx ? (long long)tx->id : -1LL, dir, name);
}

typedef struct pkt {
    int dir;
    const char *b;
    size_t n; /* 0: strlen(b) */
} pkt;

/* The transcript of @p p (@p np packets) fed whole or byte by byte, then
 * both directions closed; the caller frees it. */
static char *run(const gh_app_ops *ops, const pkt *p, size_t np, bool bytes)
{
    gh_app_limits lim;
    gh_app_limits_init(&lim);
    rec r = {.ops = ops, .last_stage = -1};
    r.state = calloc(1, ops->state_size);
    assert_non_null(r.state);
    assert_int_equal(ops->init(r.state, &lim), 0);
    gh_jbuf_init(&r.t);
    gh_app_sink sink = {&r, on_progress, on_anomaly, NULL};
    for (size_t i = 0; i < np; i++) {
        const uint8_t *b = (const uint8_t *)p[i].b;
        size_t n = p[i].n ? p[i].n : strlen(p[i].b);
        for (size_t k = 0; k < n; k += bytes ? 1 : n)
            ops->parse(r.state, p[i].dir, b + k, bytes ? 1 : n, &sink);
    }
    ops->close(r.state, 0, &sink);
    ops->close(r.state, 1, &sink);
    assert_int_equal(ops->tx_count(r.state), 0);
    ops->free(r.state);
    free(r.state);
    gh_jbuf_append(&r.t, "", 1);
    return r.t.p;
}

/* Whole and byte by byte agree; the whole transcript is returned. */
static char *run_both(const gh_app_ops *ops, const pkt *p, size_t np)
{
    char *whole = run(ops, p, np, false);
    char *bytes = run(ops, p, np, true);
    if (strcmp(whole, bytes))
        fprintf(stderr, "whole:\n%s\nbytes:\n%s\n", whole, bytes);
    assert_string_equal(whole, bytes);
    free(bytes);
    return whole;
}

static void expect(const char *t, const char *want)
{
    if (!strstr(t, want))
        fprintf(stderr, "missing: %s\nin:\n%s\n", want, t);
    assert_non_null(strstr(t, want));
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- FTP -------------------------------------------------------------------- */

static void test_ftp_session(void **st)
{
    (void)st;
    static const pkt p[] = {
        {1, "220 205.167.25.101 FTP server ready\r\n", 0},
        {0, "USER anonymous\r\n", 0},
        {1, "331 Anonymous login ok\r\n", 0},
        {0, "PASV\r\n", 0},
        {1, "227 Entering Passive Mode (205,167,25,101,243,251).\r\n", 0},
        {0, "RETR 720962-99999-2015.gz\r\n", 0},
        {1, "150 Opening BINARY mode data connection\r\n", 0},
        {1, "226 Transfer complete\r\n", 0},
        {0, "PORT 10,0,0,1,4,1\r\n", 0},
        {1, "200 PORT command successful\r\n", 0},
        {0, "xcwd /pub\r\n", 0},
        {1, "250 CWD command successful\r\n", 0},
    };
    char *t = run_both(&gh_app_ftp_ops, p, N(p));
    expect(t, "log ,\"tx_id\":0,\"ftp\":{\"completion_code\":[\"220\"],\"reply\":"
              "[\"205.167.25.101 FTP server ready\"],\"reply_received\":\"yes\","
              "\"reply_truncated\":false}\nalert \n");
    expect(t, "log ,\"tx_id\":1,\"ftp\":{\"command\":\"USER\",\"command_data\":\"anonymous\","
              "\"command_truncated\":false,\"completion_code\":[\"331\"],\"reply\":"
              "[\"Anonymous login ok\"],\"reply_received\":\"yes\",\"reply_truncated\":false}");
    expect(t, "{\"command\":\"PASV\",\"completion_code\":[\"227\"],\"reply\":[\"Entering Passive "
              "Mode (205,167,25,101,243,251).\"],\"dynamic_port\":62459,\"reply_received\":"
              "\"yes\",\"reply_truncated\":false}");
    /* a 1yz reply keeps the transaction open for the final one */
    expect(t, "{\"command\":\"RETR\",\"command_data\":\"720962-99999-2015.gz\",\"command_truncated"
              "\":false,\"completion_code\":[\"150\",\"226\"],\"reply\":[\"Opening BINARY mode "
              "data connection\",\"Transfer complete\"],\"reply_received\":\"yes\"");
    expect(t, "\"command\":\"PORT\",\"command_data\":\"10,0,0,1,4,1\",\"command_truncated\":false,"
              "\"completion_code\":[\"200\"],\"reply\":[\"PORT command successful\"],"
              "\"dynamic_port\":1025,\"mode\":\"active\",\"reply_received\":\"yes\"");
    /* the command is found anywhere in the line; its data follows the table's length */
    expect(t, "\"command\":\"CWD\",\"command_data\":\" /pub\"");
    free(t);
}

/* Reply lines of one packet after the transaction completed still join it;
 * those of a later packet open a transaction of their own (Suricata has
 * freed the complete one by then). */
static void test_ftp_continuation(void **st)
{
    (void)st;
    static const pkt p[] = {
        {1, "220 ready\r\n", 0},
        {0, "PASS x@\r\n", 0},
        {1, "230-Welcome\r\n ** line two\r\n", 0},
        {1, " ** line three\r\n230 done\r\n", 0},
        {0, "QUIT\r\n", 0},
    };
    char *t = run(&gh_app_ftp_ops, p, N(p), false);
    expect(t, "\"command\":\"PASS\",\"command_data\":\"x@\",\"command_truncated\":false,"
              "\"completion_code\":[\"230\"],\"reply\":[\"Welcome\",\" ** line two\"]");
    expect(t, "log ,\"tx_id\":2,\"ftp\":{\"completion_code\":[\"230\"],\"reply\":"
              "[\" ** line three\",\"done\"],\"reply_received\":\"yes\"");
    /* the flow ended before the reply */
    expect(t, "log ,\"tx_id\":3,\"ftp\":{\"command\":\"QUIT\",\"reply_received\":\"no\","
              "\"reply_truncated\":false}");
    free(t);
}

static void test_ftp_long_and_bad(void **st)
{
    (void)st;
    static char longline[6000];
    memcpy(longline, "NOOP ", 5);
    memset(longline + 5, 'a', sizeof(longline) - 8);
    memcpy(longline + sizeof(longline) - 3, "\r\n", 3);
    static const uint8_t junk[] = {0, 0xff, '\r', '2', '2', '7', ' ', '(', '\n'};
    pkt p[] = {
        {1, "220 x\r\n", 0},
        {0, longline, 0},
        {1, (const char *)junk, sizeof(junk)},
        {0, "USER \xc3\xa9t\xe9\r\n", 0},
        {1, "331 ok\r\n", 0},
    };
    char *t = run_both(&gh_app_ftp_ops, p, N(p));
    expect(t, "an 1 0 request_command_too_long\n");
    expect(t, "\"command\":\"NOOP\",\"command_data\":\"aaaa");
    expect(t, "\"command_truncated\":true");
    /* invalid UTF-8 is written as Suricata's JSON builder does */
    expect(t, "\"command_data\":\"\\\\xc3\\\\xa9t\\\\xe9\"");
    free(t);
    /* probes: the client's commands, vsftpd's greeting */
    gh_app_probe_ctx pc = {.transport = GH_APP_TCP};
    assert_int_equal(gh_app_ftp_ops.probe(0, (const uint8_t *)"user x", 6, &pc), GH_PROBE_YES);
    assert_int_equal(gh_app_ftp_ops.probe(0, (const uint8_t *)"US", 2, &pc), GH_PROBE_MORE);
    assert_int_equal(gh_app_ftp_ops.probe(0, (const uint8_t *)"EHLO", 4, &pc), GH_PROBE_NO);
    assert_int_equal(gh_app_ftp_ops.probe(1, (const uint8_t *)"220 (vsFTPd", 11, &pc),
                     GH_PROBE_YES);
    assert_int_equal(gh_app_ftp_ops.probe(1, (const uint8_t *)"220 mail", 8, &pc), GH_PROBE_NO);
}

/* ---- SMTP -------------------------------------------------------------------- */

static const char mime_msg[] =
    "From:  Alice <alice@example.com>\r\n"
    "To: bob@example.com, \"Carol, C\" <carol@example.com>\r\n"
    "Subject: files\r\n"
    "Content-Type: multipart/mixed;\r\n"
    " boundary=\"XYZ\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XYZ\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "hello text\r\n"
    "--XYZ\r\n"
    "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "aGVsbG8gYXR0YWNo\r\n"
    "bWVudA==\r\n"
    "--XYZ\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Disposition: attachment; filename=q.txt\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=C3=A9 =3D soft=\r\n"
    "break\r\n"
    "--XYZ\r\n"
    "Content-Disposition: attachment; filename=\"p.txt\"\r\n"
    "\r\n"
    "line1\r\n"
    "line2\r\n"
    "--XYZ--\r\n"
    ".\r\n";

static void test_smtp_session(void **st)
{
    (void)st;
    static const pkt p[] = {
        {1, "220-mx.example.com ESMTP\r\n220 hello\r\n", 0},
        {0, "EHLO client.example\r\n", 0},
        {1, "250-mx.example.com\r\n250-SIZE 1000\r\n250 HELP\r\n", 0},
        {0, "MAIL FROM:<alice@example.com> SIZE=100\r\n", 0},
        {1, "250 ok\r\n", 0},
        {0, "RCPT TO:<bob@example.com>\r\n", 0},
        {1, "250 ok\r\n", 0},
        {0, "RCPT TO: <carol@example.com>\r\n", 0},
        {1, "250 ok\r\n", 0},
        {0, "DATA\r\n", 0},
        {1, "354 go ahead\r\n", 0},
        {0, mime_msg, 0},
        {1, "250 queued\r\n", 0},
        {0, "QUIT\r\n", 0},
        {1, "221 bye\r\n", 0},
    };
    char *t = run_both(&gh_app_smtp_ops, p, N(p));
    expect(t, "log ,\"tx_id\":0,\"smtp\":{\"helo\":\"client.example\",\"mail_from\":"
              "\"<alice@example.com>\",\"rcpt_to\":[\"<bob@example.com>\","
              "\"<carol@example.com>\"]},\"email\":{\"status\":\"PARSE_DONE\",\"from\":"
              "\"Alice <alice@example.com>\",\"to\":[\"bob@example.com\",\"\\\"Carol, C\\\" "
              "<carol@example.com>\"],\"attachment\":[\"a.bin\",\"q.txt\",\"p.txt\"]}\n");
    /* the alert shows the same objects without the transaction id */
    expect(t, "alert ,\"smtp\":{\"helo\":\"client.example\"");
    expect(t, "file 0 \"hello attachment\"\n");
    expect(t, "file 1 \"caf\\u00c3\\u00a9 = softbreak\\r\\n\"\n");
    expect(t, "file 2 \"line1\\r\\nline2\"\n");
    /* QUIT after the completed (and freed) transaction opens another */
    expect(t, "log ,\"tx_id\":1,\"smtp\":{\"helo\":\"client.example\"}\n");
    expect(t, "ev 0 0 BODY\n");
    assert_null(strstr(t, "an "));
    free(t);
}

/* The server announced PIPELINING: the client sends MAIL, RCPT and DATA
 * at once; DATA mode starts without waiting for the 354. */
static void test_smtp_pipelining(void **st)
{
    (void)st;
    static const pkt p[] = {
        {1, "220 mx\r\n", 0},
        {0, "ehlo c\r\n", 0},
        {1, "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n", 0},
        {0, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", 0},
        {1, "250 ok\r\n250 ok\r\n354 go\r\n", 0},
        {0, "Subject: x\r\n\r\nbody\r\n.\r\n", 0},
        {1, "250 queued\r\n", 0},
        {0, "MAIL FROM:<e@f>\r\nRSET\r\n", 0},
        {1, "250 ok\r\n250 reset\r\n", 0},
    };
    char *t = run_both(&gh_app_smtp_ops, p, N(p));
    expect(t, "log ,\"tx_id\":0,\"smtp\":{\"helo\":\"c\",\"mail_from\":\"<a@b>\",\"rcpt_to\":"
              "[\"<c@d>\"]},\"email\":{\"status\":\"PARSE_DONE\"}\n");

    /* a 250 to RSET completes the transaction */
    expect(t, "log ,\"tx_id\":1,\"smtp\":{\"helo\":\"c\",\"mail_from\":\"<e@f>\"}\n");
    assert_null(strstr(t, "an "));
    free(t);
}

static void test_smtp_anomalies(void **st)
{
    (void)st;
    /* no greeting, an unknown reply code (Suricata's parser then fails) */
    static const pkt p1[] = {
        {0, "HELO a\r\n", 0},
        {1, "999 what\r\n", 0},
        {0, "MAIL FROM:<x@y>\r\n", 0},
    };
    char *t = run_both(&gh_app_smtp_ops, p1, N(p1));
    expect(t, "an 0 0 NO_SERVER_WELCOME_MESSAGE\n");
    expect(t, "an 0 0 INVALID_REPLY\n");
    assert_null(strstr(t, "mail_from"));
    free(t);
    /* a bad base64 character fails the MIME decoder; STARTTLS ends parsing */
    static const pkt p2[] = {
        {1, "220 mx\r\n", 0},
        {0, "HELO a\r\nHELO b\r\nDATA\r\n", 0},
        {1, "250 ok\r\n250 ok\r\n354 go\r\n", 0},
        {0, "Content-Type: application/x; name=z\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            "ab!d\r\n.\r\n", 0},
        {1, "250 ok\r\n", 0},
        {0, "STARTTLS\r\n", 0},
        {1, "220 go\r\n", 0},
        {0, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n", 0},
    };
    t = run_both(&gh_app_smtp_ops, p2, N(p2));
    expect(t, "an 0 0 DUPLICATE_FIELDS\n");
    /* on the line, then again at the end of DATA, as Suricata reports them */
    expect(t, "an 0 0 MIME_INVALID_BASE64\nan 0 0 MIME_PARSE_FAILED\n"
              "an 0 0 MIME_PARSE_FAILED\nan 0 0 MIME_INVALID_BASE64\n");
    /* the message itself is the attachment: no part lists it */
    expect(t, "\"email\":{\"status\":\"PARSE_ERROR\"}\n");
    expect(t, "file 0 \"\"\n");
    expect(t, "log ,\"tx_id\":1,\"smtp\":{\"helo\":\"a\"}\n");
    assert_null(strstr(t, "tx_id\":2"));
    free(t);
    /* an overlong command line */
    static char longcmd[5000];
    memset(longcmd, 'x', sizeof(longcmd) - 3);
    memcpy(longcmd + sizeof(longcmd) - 3, "\r\n", 3);
    static const pkt p3[] = {{1, "220 mx\r\n", 0}, {0, longcmd, 0}, {0, "QUIT\r\n", 0}};
    t = run_both(&gh_app_smtp_ops, p3, N(p3));
    expect(t, "an 0 0 TRUNCATED_LINE\n");
    free(t);
}

/* Random bytes in both directions: no crash, no read out of bounds (ASan). */
static void test_random_input(void **st)
{
    (void)st;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    static const char alphabet[] = "\r\n.-=: ;\"abcXYZ0123456789DATAdataMAILRCPT354250220";
    for (int round = 0; round < 200; round++) {
        static char buf[8][300];
        pkt p[8];
        for (int i = 0; i < 8; i++) {
            size_t n = 1 + (x >> 7) % 299;
            for (size_t k = 0; k < n; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i][k] = (x & 3) ? alphabet[x % (sizeof(alphabet) - 1)] : (char)(x >> 24);
            }
            p[i] = (pkt){i & 1, buf[i], n};
        }
        free(run(&gh_app_smtp_ops, p, 8, round & 1));
        free(run(&gh_app_ftp_ops, p, 8, round & 1));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ftp_session),
        cmocka_unit_test(test_ftp_continuation),
        cmocka_unit_test(test_ftp_long_and_bad),
        cmocka_unit_test(test_smtp_session),
        cmocka_unit_test(test_smtp_pipelining),
        cmocka_unit_test(test_smtp_anomalies),
        cmocka_unit_test(test_random_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
