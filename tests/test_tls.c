/* TLS parser tests: the ops driven directly. Corpus captures give golden
 * buffers, fields and events (Suricata 7.0.10's EVE on the same captures);
 * every case is fed whole, per segment or record, byte by byte and at random
 * split points, and must give the same transcript. Crafted records cover
 * SNI split across records, GREASE in JA3, malformed records and
 * certificates, gaps and the probe. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "app/app.h"
#include "pktbuild.h"
#include "gatehouse/decode.h"
#include "gatehouse/source.h"

/* ---- transcript ---------------------------------------------------------------- */

typedef struct rec {
    void *state;
    pb_text t;
} rec;

static const gh_app_ops *const ops = &gh_app_tls_ops;
static const char *const stage_names[] = {"NONE", "LINE", "HEADERS", "BODY", "DONE"};

/* Buffers and fields of direction @p dir (certificates by length). */
static void dump(rec *r, gh_app_tx *tx, int dir)
{
    for (int id = GH_BUF_TLS_SNI; id <= GH_BUF_JA3S_STRING; id++) {
        const gh_buffer_info *info = gh_buffer_get_info((gh_buffer_id)id);
        if (!(info->dirs & (dir ? GH_BUFDIR_TC : GH_BUFDIR_TS)))
            continue;
        const uint8_t *b;
        uint32_t n;
        for (uint32_t i = 0; ops->get_buffer(r->state, tx, (gh_buffer_id)id, dir, i, &b, &n);
             i++) {
            if (id == GH_BUF_TLS_CERTS)
                pb_tput(&r->t, "buf %d %s[%u]=<%u bytes>\n", dir, info->name, i, n);
            else
                pb_tput(&r->t, "buf %d %s=%.*s\n", dir, info->name, (int)n, (const char *)b);
        }
    }
    for (int id = GH_FIELD_TLS_VERSION; id <= GH_FIELD_SSL_STATE; id++) {
        uint64_t v;
        if (id == GH_FIELD_SSL_STATE) /* the last message's: depends on segmentation */
            continue;
        if (ops->get_field(r->state, tx, (gh_field_id)id, dir, 0, &v))
            pb_tput(&r->t, "field %d %s=%llu\n", dir, gh_field_get_info((gh_field_id)id)->name,
                 (unsigned long long)v);
    }
}

static void on_progress(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    rec *r = ctx;
    assert_int_equal(tx->progress[dir], stage);
    pb_tput(&r->t, "ev %d %s\n", dir, stage_names[stage]);
    uint64_t v;
    if (stage == GH_STAGE_LINE &&
        ops->get_field(r->state, tx, GH_FIELD_SSL_STATE, dir, 0, &v))
        pb_tput(&r->t, "ssl_state %llu\n", (unsigned long long)v);
    if (stage == GH_STAGE_DONE)
        dump(r, tx, dir);
}

static void on_anomaly(void *ctx, gh_app_tx *tx, int dir, const char *name)
{
    (void)tx;
    pb_tput(&((rec *)ctx)->t, "an %d %s\n", dir, name);
}

/* ---- feeding --------------------------------------------------------------------- */

/* A conversation: pieces of either direction in the order they were sent. */
typedef struct piece {
    int dir;
    uint8_t *p;
    size_t n;
} piece;

typedef struct conv {
    piece *pc;
    size_t n, cap;
    bool gap_after_first_server; /* a hole after the server's first piece */
} conv;

static void conv_add(conv *c, int dir, const void *p, size_t n)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->pc = realloc(c->pc, c->cap * sizeof(*c->pc));
        assert_non_null(c->pc);
    }
    piece *x = &c->pc[c->n++];
    x->dir = dir;
    x->p = malloc(n ? n : 1);
    assert_non_null(x->p);
    memcpy(x->p, p, n);
    x->n = n;
}

static void conv_free(conv *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->pc[i].p);
    free(c->pc);
}

enum { FEED_PIECES, FEED_BYTES, FEED_RANDOM };

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

/* Transcript of @p c fed under @p mode, ending with the log (caller frees). */
static char *run_mode(const conv *c, int mode, bool ja3)
{
    rec r = {0};
    r.state = calloc(1, ops->state_size);
    assert_non_null(r.state);
    gh_app_limits lim;
    gh_app_limits_init(&lim);
    lim.tls_ja3 = ja3;
    assert_int_equal(ops->init(r.state, &lim), 0);
    gh_app_sink sink = {&r, on_progress, on_anomaly, NULL};
    for (size_t i = 0; i < c->n; i++) {
        const piece *x = &c->pc[i];
        for (size_t pos = 0; pos < x->n;) {
            size_t k = x->n - pos;
            if (mode == FEED_BYTES)
                k = 1;
            else if (mode == FEED_RANDOM)
                k = 1 + rng() % (k < 97 ? k : 97);
            ops->parse(r.state, x->dir, x->p + pos, k, &sink);
            pos += k;
        }
        if (c->gap_after_first_server && x->dir == 1)
            ops->gap(r.state, 1, 100, &sink);
    }
    ops->close(r.state, 0, &sink);
    ops->close(r.state, 1, &sink);
    gh_app_tx *tx = ops->tx_get(r.state, 0);
    assert_null(tx); /* DONE both ways: retired */
    gh_jbuf b;
    gh_jbuf_init(&b);
    gh_app_tx dummy = {0};
    if (ops->log(r.state, &dummy, false, 0, &b))
        pb_tput(&r.t, "log %.*s\n", (int)b.len, b.p);
    b.len = 0;
    assert_true(ops->log(r.state, &dummy, true, 0, &b));
    pb_tput(&r.t, "alert %.*s\n", (int)b.len, b.p);
    assert_false(ops->log(r.state, &dummy, false, 1, &b));
    gh_jbuf_free(&b);
    ops->free(r.state);
    free(r.state);
    pb_tput(&r.t, "%s", ""); /* NUL-terminated, allocated */
    return r.t.p;
}

/* The whole-piece transcript, after checking other segmentations agree. */
static char *run(const conv *c, bool ja3)
{
    char *whole = run_mode(c, FEED_PIECES, ja3);
    for (int i = 0; i < 5; i++) {
        char *other = run_mode(c, i ? FEED_RANDOM : FEED_BYTES, ja3);
        if (strcmp(whole, other))
            fprintf(stderr, "--- pieces\n%s--- mode %d\n%s", whole, i, other);
        assert_string_equal(whole, other);
        free(other);
    }
    return whole;
}

static void expect(const char *t, const char *want)
{
    if (!strstr(t, want))
        fprintf(stderr, "missing:\n%s\nin transcript:\n%s", want, t);
    assert_non_null(strstr(t, want));
}

static void expect_not(const char *t, const char *bad)
{
    if (strstr(t, bad))
        fprintf(stderr, "unexpected:\n%s\nin transcript:\n%s", bad, t);
    assert_null(strstr(t, bad));
}

/* ---- corpus captures ------------------------------------------------------------- */

/* The TCP payloads of the flow whose client uses port @p cport, in order,
 * without retransmissions. False when the capture is absent. */
static bool load_flow(const char *name, uint16_t cport, conv *c)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/pcaps/%s", GH_CORPUS_DIR, name);
    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(path, &err);
    if (!s) {
        print_message("%s: not found, skipping\n", path);
        return false;
    }
    uint32_t next[2] = {0};
    bool started[2] = {false, false};
    gh_pkt_in in[64];
    size_t n;
    gh_decode_opts dopts = {.verify_checksums = false};
    while (gh_source_read_batch(s, in, 64, &n, &err) == 0 && n) {
        for (size_t i = 0; i < n; i++) {
            gh_packet p;
            gh_decode(&p, in[i].linktype, in[i].data, in[i].caplen, &dopts);
            if (p.ip_proto != 6 || (p.sport != cport && p.dport != cport))
                continue;
            int dir = p.sport == cport ? 0 : 1;
            uint32_t seq = p.tcp_seq + ((p.tcp_flags & 0x02) ? 1u : 0u);
            if (!started[dir]) {
                started[dir] = true;
                next[dir] = seq;
            }
            if (!p.payload_len || seq != next[dir])
                continue; /* retransmission (the flows used here have no holes) */
            conv_add(c, dir, p.payload, p.payload_len);
            next[dir] += p.payload_len;
        }
    }
    gh_source_close(s);
    assert_true(c->n > 0);
    return true;
}

static void test_capture_tls10_certificate(void **st)
{
    (void)st;
    conv c = {0};
    if (!load_flow("zeek__tls_ssl.v3.pcap", 58868, &c))
        skip();
    char *t = run(&c, false);
    expect(t, "ev 0 LINE\nssl_state 1\nev 1 LINE\nssl_state 2\nev 1 HEADERS\nev 0 DONE\n");
    expect(t, "buf 1 tls.cert_subject=C=DE, ST=Bayern, L=Muenchen, O=AGIS Allianz Dresdner "
              "Informationssysteme GmbH, OU=Terms of use at www.verisign.com/rpa (c)00, "
              "CN=www.dresdner-privat.de\n");
    expect(t, "buf 1 tls.cert_serial=04:A7:81:16:F0:03:28:3B:DA:2B:84:62:04:9F:9E:CB\n");
    expect(t, "buf 1 tls.cert_fingerprint=2c:32:2a:e2:b7:fe:91:39:13:45:e0:70:b6:36:68:97:8b:"
              "b1:c9:da\n");
    expect(t, "field 1 tls.version=769\n");
    /* Suricata 7.0.10's event on this flow */
    expect(t, "log ,\"tls\":{\"subject\":\"C=DE, ST=Bayern, L=Muenchen, O=AGIS Allianz Dresdner "
              "Informationssysteme GmbH, OU=Terms of use at www.verisign.com/rpa (c)00, "
              "CN=www.dresdner-privat.de\",\"issuerdn\":\"O=VeriSign Trust Network, "
              "OU=VeriSign, Inc., OU=VeriSign International Server CA - Class 3, "
              "OU=www.verisign.com/CPS Incorp.by Ref. LIABILITY LTD.(c)97 VeriSign\","
              "\"serial\":\"04:A7:81:16:F0:03:28:3B:DA:2B:84:62:04:9F:9E:CB\",\"fingerprint\":"
              "\"2c:32:2a:e2:b7:fe:91:39:13:45:e0:70:b6:36:68:97:8b:b1:c9:da\",\"version\":"
              "\"TLSv1\",\"notbefore\":\"2006-11-14T00:00:00\",\"notafter\":"
              "\"2007-11-14T23:59:59\"}\n");
    expect_not(t, "an ");
    free(t);
    conv_free(&c);
}

static void test_capture_tls12_ja3(void **st)
{
    (void)st;
    conv c = {0};
    if (!load_flow("sv__ethernet-eve_test.pcap", 49365, &c))
        skip();
    char *t = run(&c, true);
    expect(t, "buf 0 ja3.hash=308b0bd904abbef5e0034a1ff7a78920\n");
    expect(t, "buf 1 ja3s.string=771,49199,65281-11-35\n");
    expect(t, "buf 1 tls.cert_subject=C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS\n");
    expect(t, "log ,\"tls\":{\"subject\":\"C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS\","
              "\"issuerdn\":\"C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS\",\"serial\":"
              "\"00:97:E6:47:09:8E:EA:C9:B4\",\"fingerprint\":\"3a:0b:3b:23:15:2c:44:5c:27:ac:"
              "6a:0c:41:d6:fa:74:af:b4:09:5b\",\"version\":\"TLS 1.2\",\"notbefore\":"
              "\"2015-02-12T18:07:27\",\"notafter\":\"2025-02-09T18:07:27\",\"ja3\":{\"hash\":"
              "\"308b0bd904abbef5e0034a1ff7a78920\",\"string\":\"771,49195-49199-158-49162-"
              "49161-49171-49172-49159-49169-51-50-57-156-47-53-10-5-4,65281-10-11-35-13172-16-"
              "30032-5-18-13,23-24-25,0\"},\"ja3s\":{\"hash\":\"ccc514751b175866924439bdbb5bba34"
              "\",\"string\":\"771,49199,65281-11-35\"}}\n");
    free(t);
    conv_free(&c);
}

static void test_capture_tls13(void **st)
{
    (void)st;
    conv c = {0};
    if (!load_flow("sv__tls_tls-bypass-missing-event_tor_bl.pcap", 37608, &c))
        skip();
    char *t = run(&c, true);
    /* TLS 1.3: the certificate is encrypted; done at the first application data */
    expect(t, "ev 0 LINE\nssl_state 1\nev 1 LINE\nssl_state 2\nev 0 DONE\n");
    expect(t, "buf 0 tls.sni=www.4gk67zpn3brh7qxg.com\n");
    expect(t, "field 0 tls.version=772\n");
    expect(t, "field 1 tls.version=772\n");
    expect(t, "log ,\"tls\":{\"sni\":\"www.4gk67zpn3brh7qxg.com\",\"version\":\"TLS 1.3\","
              "\"ja3\":{\"hash\":\"140e0f0cad708278ade0984528fe8493\",\"string\":\"771,4866-"
              "4867-4865-49195-49199-52393-52392-49196-49200-49162-49161-49171-49172-51-57-47-"
              "53-255,0-11-10-35-22-23-13-43-45-51-21,23-21,0-1-2\"},\"ja3s\":{\"hash\":"
              "\"15af977ce25de452b96affa2addb1036\",\"string\":\"771,4866,43-51\"}}\n");
    free(t);
    conv_free(&c);
}

/* ---- crafted records ----------------------------------------------------------------- */

typedef struct bytes {
    uint8_t p[4096];
    size_t n;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->p));
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put8(bytes *b, unsigned v) { uint8_t x = (uint8_t)v; put(b, &x, 1); }
static void put16(bytes *b, unsigned v) { put8(b, v >> 8); put8(b, v); }
static void put24(bytes *b, unsigned v) { put8(b, v >> 16); put16(b, v & 0xffff); }

/* A ClientHello handshake message with GREASE values and SNI @p sni. */
static void client_hello(bytes *m, const char *sni)
{
    bytes body = {0}, ext = {0};
    put16(&body, 0x0303);
    for (int i = 0; i < 32; i++)
        put8(&body, i);
    put8(&body, 0);                   /* session id */
    put16(&body, 6);                  /* suites: GREASE, 0x1301, 0xc02f */
    put16(&body, 0x2a2a), put16(&body, 0x1301), put16(&body, 0xc02f);
    put8(&body, 1), put8(&body, 0);   /* compression: null */
    put16(&ext, 0x0a0a), put16(&ext, 0);               /* GREASE extension */
    size_t sl = strlen(sni);
    put16(&ext, 0), put16(&ext, (unsigned)sl + 5);     /* server_name */
    put16(&ext, (unsigned)sl + 3), put8(&ext, 0), put16(&ext, (unsigned)sl);
    put(&ext, sni, sl);
    put16(&ext, 0x000a), put16(&ext, 6), put16(&ext, 4); /* groups: GREASE, x25519 */
    put16(&ext, 0x5a5a), put16(&ext, 0x001d);
    put16(&ext, 0x000b), put16(&ext, 2), put8(&ext, 1), put8(&ext, 0); /* point formats */
    put16(&ext, 0x002b), put16(&ext, 5), put8(&ext, 4);  /* versions: GREASE, 1.3 */
    put16(&ext, 0xfafa), put16(&ext, 0x0304);
    put16(&body, (unsigned)ext.n);
    put(&body, ext.p, ext.n);
    put8(m, 1);
    put24(m, (unsigned)body.n);
    put(m, body.p, body.n);
}

/* Records of type @p type carrying @p msg, cut every @p frag bytes. */
static void records(conv *c, int dir, uint8_t type, const bytes *msg, size_t frag)
{
    for (size_t off = 0; off < msg->n; off += frag) {
        size_t k = msg->n - off < frag ? msg->n - off : frag;
        bytes r = {0};
        put8(&r, type), put16(&r, 0x0301), put16(&r, (unsigned)k);
        put(&r, msg->p + off, k);
        conv_add(c, dir, r.p, r.n);
    }
}

static void test_sni_across_records_and_grease(void **st)
{
    (void)st;
    bytes ch = {0};
    client_hello(&ch, "example.org");
    /* split (Suricata refuses handshake records under 4 bytes), then whole */
    size_t frag = 7;
    while (ch.n % frag && ch.n % frag < 4)
        frag++;
    for (; frag <= ch.n; frag = frag < ch.n ? ch.n : frag + 1) {
        conv c = {0};
        records(&c, 0, 22, &ch, frag);
        char *t = run(&c, true);
        expect(t, "ev 0 LINE\nssl_state 1\n");
        expect(t, "buf 0 tls.sni=example.org\n");
        /* GREASE suites, extensions and groups are not in the fingerprint */
        expect(t, "buf 0 ja3.string=771,4865-49199,0-10-11-43,29,0\n");
        expect(t, "field 0 tls.version=772\n");
        /* no certificate, no resumption, not TLS 1.3 on the server side: no event */
        expect_not(t, "log ");
        expect(t, "alert ,\"tls\":{\"sni\":\"example.org\",\"version\":\"UNDETERMINED\","
                  "\"ja3\":{");
        expect_not(t, "an ");
        free(t);
        conv_free(&c);
    }
}

static void test_sni_split_across_segments(void **st)
{
    (void)st;
    bytes ch = {0};
    client_hello(&ch, "split.example.net");
    conv c = {0};
    bytes r = {0};
    put8(&r, 22), put16(&r, 0x0301), put16(&r, (unsigned)ch.n);
    put(&r, ch.p, ch.n);
    /* the segment boundary falls inside the server name */
    const uint8_t *at = memmem(r.p, r.n, "example", 7);
    assert_non_null(at);
    size_t cut = (size_t)(at - r.p);
    conv_add(&c, 0, r.p, cut);
    conv_add(&c, 0, r.p + cut, r.n - cut);
    char *t = run(&c, false);
    expect(t, "buf 0 tls.sni=split.example.net\n");
    expect_not(t, "an ");
    free(t);
    conv_free(&c);
}

/* Server flight of a certificate message holding @p cert (@p n bytes). */
static void server_cert(conv *c, const uint8_t *cert, size_t n)
{
    bytes m = {0};
    put8(&m, 11), put24(&m, (unsigned)n + 6), put24(&m, (unsigned)n + 3), put24(&m, (unsigned)n);
    put(&m, cert, n);
    records(c, 1, 22, &m, m.n);
}

static void test_malformed(void **st)
{
    (void)st;
    bytes ch = {0};
    client_hello(&ch, "a.b");
    /* a certificate that is not DER */
    conv c = {0};
    records(&c, 0, 22, &ch, ch.n);
    static const uint8_t junk[] = {0x04, 0x03, 1, 2, 3};
    server_cert(&c, junk, sizeof(junk));
    char *t = run(&c, false);
    expect(t, "an 1 CERTIFICATE_INVALID_DER\n");
    expect(t, "ev 1 HEADERS\n");
    expect_not(t, "tls.cert_subject");
    free(t);
    conv_free(&c);
    /* a truncated certificate */
    conv c2 = {0};
    static const uint8_t cut[] = {0x30, 0x82, 0x05, 0x00, 0x30};
    server_cert(&c2, cut, sizeof(cut));
    t = run(&c2, false);
    expect(t, "an 1 CERTIFICATE_INVALID_LENGTH\n");
    free(t);
    conv_free(&c2);
    /* a bad record version stops the parser */
    conv c3 = {0};
    static const uint8_t badver[] = {22, 0x03, 0x09, 0, 4, 1, 0, 0, 0};
    conv_add(&c3, 0, badver, sizeof(badver));
    records(&c3, 0, 22, &ch, ch.n);
    t = run(&c3, false);
    expect(t, "an 0 INVALID_RECORD_VERSION\n");
    expect_not(t, "tls.sni");
    free(t);
    conv_free(&c3);
    /* a handshake header cut by the end of its record */
    conv c4 = {0};
    static const uint8_t hdrcut[] = {22, 0x03, 0x01, 0, 6, 14, 0, 0, 0, 1, 0};
    conv_add(&c4, 1, hdrcut, sizeof(hdrcut));
    t = run(&c4, false);
    expect(t, "an 1 INVALID_SSL_RECORD\nan 1 INVALID_HANDSHAKE_MESSAGE\n");
    free(t);
    conv_free(&c4);
    /* an unknown record type after TLS 1.0 is tolerated */
    conv c5 = {0};
    static const uint8_t unk[] = {21, 0x03, 0x01, 0, 2, 1, 0, 9, 0x03, 0x01, 0, 1, 0};
    conv_add(&c5, 1, unk, sizeof(unk));
    t = run_mode(&c5, FEED_PIECES, false);
    expect(t, "an 1 INVALID_RECORD_TYPE\n");
    free(t);
    conv_free(&c5);
}

/* Certificates made here with every kind of key OpenSSL has (RSA, EC,
 * Ed25519, X25519, and an algorithm identifier it does not know), v1 and
 * v3 (extensions, unique ids), multi-valued names, long and negative
 * serials, UTCTime and GeneralizedTime: the parser reads the names, serial,
 * fingerprint and validity without decoding the key, and reads them as
 * OpenSSL's own X509 does. */
static X509 *make_cert(EVP_PKEY *key, long version, const uint8_t *serial, size_t sl,
                       bool ext, int64_t nb, int64_t na)
{
    X509 *x = X509_new();
    assert_non_null(x);
    assert_true(X509_set_version(x, version));
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    BIGNUM *bn = BN_bin2bn(serial, (int)sl, NULL);
    assert_true(sn && bn && BN_to_ASN1_INTEGER(bn, sn));
    if (serial[0] & 0x80) /* the top bit set: a negative serial */
        ASN1_STRING_set(sn, serial, (int)sl), sn->type = V_ASN1_NEG_INTEGER;
    assert_true(X509_set_serialNumber(x, sn));
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    X509_NAME *nm = X509_NAME_new();
    X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_ASC, (const uint8_t *)"US", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const uint8_t *)"Ex\xc3\xa4mple", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_ASC, (const uint8_t *)"a", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_ASC, (const uint8_t *)"b", -1, -1, -1);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const uint8_t *)"host.test", -1, -1, 0);
    assert_true(X509_set_subject_name(x, nm) && X509_set_issuer_name(x, nm));
    X509_NAME_free(nm);
    ASN1_TIME *t0 = ASN1_TIME_set(NULL, (time_t)nb), *t1 = ASN1_TIME_set(NULL, (time_t)na);
    assert_true(t0 && t1 && X509_set1_notBefore(x, t0) && X509_set1_notAfter(x, t1));
    ASN1_TIME_free(t0);
    ASN1_TIME_free(t1);
    assert_true(X509_set_pubkey(x, key));
    if (ext) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *e =
            X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:host.test,DNS:alt.test");
        X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                                 "critical,CA:FALSE");
        assert_true(e && bc && X509_add_ext(x, e, -1) && X509_add_ext(x, bc, -1));
        X509_EXTENSION_free(e);
        X509_EXTENSION_free(bc);
    }
    return x;
}

static EVP_PKEY *make_key(int kind)
{
    switch (kind) {
    case 0: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    case 1: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    case 2: return EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    default: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    }
}

static void test_generated_certificates(void **st)
{
    (void)st;
    static const uint8_t serials[][20] = {{0x01}, {0x00, 0x80}, {0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                          10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, {0x85, 0x11}};
    static const size_t serial_len[] = {1, 2, 20, 2};
    static const char *const serial_text[] = {
        "01", "00:80", "7F:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13", "FF:7A:EF"};
    const char *want_name = "C=US, O=Ex\xc3\xa4mple, OU=a + OU=b, CN=host.test";
    EVP_PKEY *signer = make_key(0); /* X25519 keys cannot sign their own */
    assert_non_null(signer);
    int n = 0;
    for (int kind = 0; kind < 4; kind++) {
        EVP_PKEY *key = make_key(kind);
        assert_non_null(key);
        for (int v = 0; v < 4; v++, n++) {
            bool v1 = v == 1;
            /* 1999-12-31T23:59:59 .. 2051-01-02T03:04:05 (GeneralizedTime) */
            X509 *x = make_cert(key, v1 ? 0 : 2, serials[v], serial_len[v], !v1, 946684799,
                                2556241445);
            assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
            uint8_t *der = NULL;
            int dl = i2d_X509(x, &der);
            assert_true(dl > 0);
            if (v == 3) { /* an algorithm OpenSSL does not know in the key info */
                static const uint8_t ec_oid[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
                static const uint8_t ed_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
                static const uint8_t x_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x6e};
                for (int i = 0; i + 9 <= dl; i++)
                    if (!memcmp(der + i, ec_oid, 9))
                        der[i + 8] = 0x7f; /* 1.2.840.10045.2.127 */
                for (int i = 0; i + 5 <= dl; i++)
                    if (!memcmp(der + i, ed_oid, 5) || !memcmp(der + i, x_oid, 5))
                        der[i + 4] = 0x7f;
            }
            bytes ch = {0};
            client_hello(&ch, "host.test");
            conv c = {0};
            records(&c, 0, 22, &ch, ch.n);
            server_cert(&c, der, (size_t)dl);
            char *t = run(&c, false);
            char want[512];
            snprintf(want, sizeof(want), "buf 1 tls.cert_subject=%s\n", want_name);
            expect(t, want);
            snprintf(want, sizeof(want), "buf 1 tls.cert_issuer=%s\n", want_name);
            expect(t, want);
            snprintf(want, sizeof(want), "buf 1 tls.cert_serial=%s\n", serial_text[v]);
            expect(t, want);
            uint8_t md[20];
            unsigned ml = 0;
            assert_true(EVP_Digest(der, (size_t)dl, md, &ml, EVP_sha1(), NULL) && ml == 20);
            char fp[64], *w = fp;
            for (unsigned i = 0; i < ml; i++)
                w += sprintf(w, "%02x%s", md[i], i + 1 < ml ? ":" : "");
            snprintf(want, sizeof(want), "buf 1 tls.cert_fingerprint=%s\n", fp);
            expect(t, want);
            expect(t, "\"notbefore\":\"1999-12-31T23:59:59\",\"notafter\":\"2051-01-02T03:04:05\"");
            expect_not(t, "an ");
            free(t);
            conv_free(&c);
            OPENSSL_free(der);
            X509_free(x);
        }
        EVP_PKEY_free(key);
    }
    EVP_PKEY_free(signer);
    assert_int_equal(n, 16);
}

/* Random bytes and mutated hellos: events, never a crash (ASan build). */
static void test_fuzz(void **st)
{
    (void)st;
    bytes ch = {0};
    client_hello(&ch, "fuzz.example");
    for (int round = 0; round < 300; round++) {
        conv c = {0};
        bytes m = ch;
        for (int k = 0; k < 1 + round % 8; k++)
            m.p[rng() % m.n] = (uint8_t)rng();
        records(&c, round % 2, (uint8_t)(round % 3 ? 22 : rng()), &m, 1 + rng() % m.n);
        uint8_t junk[300];
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)rng();
        if (round % 5 == 0) {
            junk[0] = 22, junk[1] = 3, junk[2] = 3, junk[3] = 1, junk[4] = 0x20;
            junk[5] = 11; /* a certificate message of random certificates */
        }
        conv_add(&c, 1, junk, sizeof(junk));
        char *t = run_mode(&c, FEED_RANDOM, true);
        free(t);
        conv_free(&c);
    }
}

static void test_gap_and_close(void **st)
{
    (void)st;
    bytes ch = {0};
    client_hello(&ch, "gap.example");
    conv c = {0};
    records(&c, 0, 22, &ch, ch.n);
    static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 40};
    conv_add(&c, 1, alert, sizeof(alert));
    static const uint8_t app[] = {23, 3, 3, 0, 1, 0};
    conv_add(&c, 1, app, sizeof(app));
    c.gap_after_first_server = true;
    /* after the hole the server's application data is not parsed: done at close */
    char *t = run_mode(&c, FEED_PIECES, false);
    expect(t, "ev 0 LINE\nssl_state 1\nev 0 DONE\n");
    expect(t, "field 1 tls.version=771\n"); /* from the alert's record */
    free(t);
    conv_free(&c);
}

static void test_probe(void **st)
{
    (void)st;
    gh_app_probe_ctx pc = {.transport = GH_APP_TCP, .server_port = 8443, .client_port = 5000};
    static const uint8_t ch[] = {0x16, 0x03, 0x01, 0x02, 0x00};
    assert_int_equal(ops->probe(0, ch, 1, &pc), GH_PROBE_MORE);
    assert_int_equal(ops->probe(0, ch, 3, &pc), GH_PROBE_YES);
    assert_int_equal(ops->probe(1, ch, 3, &pc), GH_PROBE_YES);
    static const uint8_t app[] = {0x17, 0x03, 0x03};
    assert_int_equal(ops->probe(0, app, 3, &pc), GH_PROBE_NO); /* server-only pattern */
    assert_int_equal(ops->probe(1, app, 3, &pc), GH_PROBE_YES);
    static const uint8_t get[] = "GET / HTTP/1.1\r\n";
    assert_int_equal(ops->probe(0, get, 16, &pc), GH_PROBE_NO);
    /* SSLv2 ClientHello: version 2 on any port, other versions on 443 */
    static const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x00, 0x02};
    static const uint8_t v23[] = {0x80, 0x2e, 0x01, 0x03, 0x01};
    assert_int_equal(ops->probe(0, v2, 4, &pc), GH_PROBE_MORE);
    assert_int_equal(ops->probe(0, v2, 5, &pc), GH_PROBE_YES);
    assert_int_equal(ops->probe(0, v23, 5, &pc), GH_PROBE_NO);
    pc.server_port = 443;
    assert_int_equal(ops->probe(0, v23, 5, &pc), GH_PROBE_YES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_tls10_certificate),
        cmocka_unit_test(test_capture_tls12_ja3),
        cmocka_unit_test(test_capture_tls13),
        cmocka_unit_test(test_sni_across_records_and_grease),
        cmocka_unit_test(test_sni_split_across_segments),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_generated_certificates),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_gap_and_close),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
