/* SSL/TLS parser (gh_app_tls_ops), emulating Suricata 7.0's app-layer-ssl.c:
 * one transaction per flow, SSLv2 records and SSLv3..TLS 1.3 records with
 * its checks and event names, Client/ServerHello fields (SNI, versions,
 * session id, JA3/JA3S with GREASE removed), the certificate chain with the
 * first certificate's subject, issuer, serial, validity and SHA-1
 * fingerprint formatted as Suricata's Rust x509-parser does, and the EVE
 * "tls" object of its default (extended) configuration.
 *
 * Records other than application data are buffered whole (Suricata waits
 * for them too; at most 2^14 + 1024 bytes, 2^15 for SSLv2); handshake
 * messages spanning records are gathered up to HS_MAX (CERT_MAX for a
 * certificate chain). Buffers grow by doubling and keep their capacity
 * across flows.
 *
 * Known differences: certificates are decoded with OpenSSL, which accepts
 * and rejects slightly different DER than x509-parser (extensions are not
 * checked, every rejection is CERTIFICATE_INVALID_DER or _LENGTH); Suricata's
 * per-packet TOO_MANY_RECORDS_IN_PACKET is not raised; a handshake message
 * beyond HS_MAX stops the direction with HANDSHAKE_INVALID_LENGTH (Suricata
 * has no cap). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "app/app.h"
#include "gatehouse/common.h"

#define REC_MAX ((1u << 14) + 1024) /* SSLV3_RECORD_MAX_LEN: RFC 5246 6.2.2 */
#define HS_MAX (64u * 1024)         /* a handshake message gathered across records */
#define CERT_MAX (256u * 1024)      /* a Certificate message gathered across records */

/* record types */
enum { CT_CCS = 20, CT_ALERT = 21, CT_HANDSHAKE = 22, CT_APP = 23, CT_HEARTBEAT = 24 };

/* handshake types */
enum {
    HS_HELLO_REQUEST = 0,
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    HS_NEW_SESSION_TICKET = 4,
    HS_CERTIFICATE = 11,
    HS_SERVER_KEYX = 12,
    HS_CERT_REQUEST = 13,
    HS_SERVER_HELLO_DONE = 14,
    HS_CERT_VERIFY = 15,
    HS_CLIENT_KEYX = 16,
    HS_FINISHED = 20,
    HS_CERT_URL = 21,
    HS_CERT_STATUS = 22,
};

/* SSLv2 message types */
enum {
    V2_ERROR = 0,
    V2_CLIENT_HELLO = 1,
    V2_CLIENT_MASTER_KEY = 2,
    V2_CLIENT_FINISHED = 3,
    V2_SERVER_HELLO = 4,
    V2_SERVER_VERIFY = 5,
    V2_SERVER_FINISHED = 6,
    V2_REQUEST_CERT = 7,
    V2_CLIENT_CERT = 8,
};

/* Suricata's SSL_AL_FLAG_* (only those that change what we do) */
enum {
    F_SERVER_CCS = 1u << 0,
    F_CLIENT_CCS = 1u << 1,
    F_CCS = 1u << 2,
    F_V2_CLIENT_HS = 1u << 3,
    F_V2_SERVER_HS = 1u << 4,
    F_V2_MASTER_KEY = 1u << 5,
    F_V2_CLIENT_ENC = 1u << 6,
    F_V2_SERVER_ENC = 1u << 7,
    F_V2_NO_SID = 1u << 8,
    F_CLIENT_HELLO = 1u << 9,
    F_SERVER_HELLO = 1u << 10,
    F_CLIENT_KEYX = 1u << 11,
    F_SERVER_KEYX = 1u << 12,
    F_HB_INFLIGHT = 1u << 15,
    F_HB_CLIENT_INIT = 1u << 16,
    F_HB_SERVER_INIT = 1u << 17,
    F_HANDSHAKE_DONE = 1u << 18,
    F_RESUMED = 1u << 20,
    F_CH_VERSION_EXT = 1u << 21,
    F_LOG_WITHOUT_CERT = 1u << 22,
    F_EARLY_DATA = 1u << 23,
    F_NEED_CLIENT_CERT = 1u << 26,
};

enum {
    V_UNKNOWN = 0,
    V_SSL2 = 0x0200,
    V_SSL3 = 0x0300,
    V_TLS10 = 0x0301,
    V_TLS11 = 0x0302,
    V_TLS12 = 0x0303,
    V_TLS13 = 0x0304,
    V_TLS13_PRE_DRAFT16 = 0x7f01,
};

/* ---- state ------------------------------------------------------------------- */

typedef struct cert_span {
    uint32_t off, len; /* in tls_conn.chain */
} cert_span;

/* One direction: Suricata's SSLStateConnp. */
typedef struct tls_conn {
    /* record layer */
    uint8_t hdr[5];
    uint8_t nhdr, hdr_need; /* header bytes seen / needed (5; SSLv2: 3 or 4) */
    bool in_body;
    bool v2;                /* the current record is SSLv2 */
    uint8_t type;           /* content type (SSLv2: message type) */
    uint32_t rec_len, got;  /* body length and bytes of it seen */
    gh_buf rec;               /* body of a buffered record */
    /* a handshake message spanning records */
    gh_buf hs;
    uint32_t hs_size;
    uint8_t hs_type;
    bool hs_on;
    bool dead;
    /* what the direction said */
    uint16_t version;
    uint8_t sni[256];
    uint16_t sni_len;
    bool has_sni;
    uint8_t sid[255];
    uint8_t sid_len;
    bool has_sid;
    /* certificates: the chain as received, the certificates kept */
    gh_buf chain;
    bool has_chain;
    cert_span *certs;
    uint32_t n_certs, cap_certs;
    bool cert0;             /* subject..fingerprint below are set */
    gh_buf subject, issuer, serial; /* NUL-terminated */
    char fingerprint[60];
    int64_t not_before, not_after;
    /* JA3 (client) / JA3S (server) */
    gh_buf ja3;
    bool ja3_started, ja3_hashed;
    char ja3_hash[33];
} tls_conn;

typedef struct tls_state {
    gh_app_tx tx;           /* first: the flow's one transaction */
    bool log_ja3;
    uint32_t flags;
    uint32_t current_flags; /* the last handshake message's (ssl_state) */
    uint32_t hb_record_len;
    bool dead;              /* a fatal error: Suricata stops the flow's app layer */
    bool fatal_now;         /* ... during this parse call */
    bool done;              /* DONE reported for both directions */
    tls_conn c[2];
    gh_buf ext, curves, pf;   /* JA3 fields being built */
} tls_state;

/* ---- small helpers ------------------------------------------------------------ */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static void anomaly(tls_state *st, int dir, const gh_app_sink *sink, const char *name)
{
    if (sink->on_anomaly)
        sink->on_anomaly(sink->ctx, &st->tx, dir, name);
}

/* An error after which Suricata's parser returns APP_LAYER_ERROR: the
 * flow's application layer stops. */
static void fatal(tls_state *st, int dir, const gh_app_sink *sink, const char *name)
{
    if (name)
        anomaly(st, dir, sink, name);
    st->dead = true;
    st->fatal_now = true;
    gh_app_exception(sink, dir, GH_APP_EXC_ERROR);
}

static void report(tls_state *st, int dir, gh_app_stage stage, const gh_app_sink *sink)
{
    if (st->done || st->tx.progress[dir] >= stage)
        return;
    st->tx.progress[dir] = (uint8_t)stage;
    if (sink->on_progress)
        sink->on_progress(sink->ctx, &st->tx, dir, stage);
}

static bool version_valid(uint16_t v)
{
    switch (v) {
    case V_TLS13: case V_TLS12: case V_TLS11: case V_TLS10: case V_SSL3:
    case 0x7f1c: case 0x7f1b: case 0x7f1a: case 0x7f19: case 0x7f18: case 0x7f17:
    case 0x7f16: case 0x7f15: case 0x7f14: case 0x7f13: case 0x7f12: case 0x7f11:
    case 0x7f10: case 0x7f01:
    case 0xfb14: case 0xfb15: case 0xfb16: case 0xfb17: case 0xfb1a:
        return true;
    default:
        return false;
    }
}

/* draft-davidben-tls-grease: 0x0a0a, 0x1a1a, ... 0xfafa */
static bool is_grease(uint32_t v)
{
    return v <= 0xffff && (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Well-formed UTF-8 (Rust's str::from_utf8). */
static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

static bool buf_puts(gh_buf *g, const char *s)
{
    return gh_buf_put(g, s, strlen(s)) == 0;
}

static bool put_utf8(gh_buf *g, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp, n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xc0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xe0 | cp >> 12), u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
    } else {
        u[0] = (uint8_t)(0xf0 | cp >> 18), u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return gh_buf_put(g, u, n) == 0;
}

/* ---- X.509: the first certificate as Suricata's x509-parser shows it ----------- */

/* x509-parser's names for attribute types: its abbreviations, then the
 * short names of its OID registry (oid-registry 0.6, x509 + pkcs9). */
static const struct {
    const char *oid, *name;
} attr_names[] = {
    {"2.5.4.3", "CN"}, {"2.5.4.6", "C"}, {"2.5.4.7", "L"}, {"2.5.4.8", "ST"},
    {"2.5.4.10", "O"}, {"2.5.4.11", "OU"}, {"0.9.2342.19200300.100.1.25", "DC"},
    {"1.2.840.113549.1.9.1", "Email"},
    {"0.9.2342.19200300.100.1.1", "uid"},
    {"1.2.840.113549.1.9.2", "unstructuredName"},
    {"1.2.840.113549.1.9.3", "contentType"},
    {"1.2.840.113549.1.9.4", "id-messageDigest"},
    {"1.2.840.113549.1.9.5", "signing-time"},
    {"1.2.840.113549.1.9.7", "challengePassword"},
    {"1.2.840.113549.1.9.14", "extensionRequest"},
    {"1.2.840.113549.1.9.15", "smimeCapabilities"},
    {"1.2.840.113549.1.9.20", "friendlyName"},
    {"1.3.6.1.4.1.311.60.2.1.1", "msJurisdictionLocality"},
    {"1.3.6.1.4.1.311.60.2.1.2", "msJurisdictionStateOrProvince"},
    {"1.3.6.1.4.1.311.60.2.1.3", "msJurisdictionCountry"},
    {"2.5", "x500"},
    {"2.5.4.0", "objectClass"}, {"2.5.4.1", "aliasedEntryName"},
    {"2.5.4.2", "knowledgeInformation"}, {"2.5.4.4", "surname"},
    {"2.5.4.5", "serialNumber"}, {"2.5.4.9", "streetAddress"}, {"2.5.4.12", "title"},
    {"2.5.4.13", "description"}, {"2.5.4.14", "searchGuide"},
    {"2.5.4.15", "businessCategory"}, {"2.5.4.16", "postalAddress"},
    {"2.5.4.17", "postalCode"}, {"2.5.4.41", "name"}, {"2.5.4.42", "givenName"},
    {"2.5.4.43", "initials"}, {"2.5.4.44", "generationQualifier"},
    {"2.5.4.45", "uniqueIdentifier"}, {"2.5.4.46", "dnQualifier"},
};

/* One attribute value: string types as their text (which must be UTF-8),
 * BMPString decoded, anything else as upper-case hex of its content. */
static bool attr_value(gh_buf *g, const ASN1_STRING *s)
{
    const uint8_t *d = ASN1_STRING_get0_data(s);
    size_t n = (size_t)ASN1_STRING_length(s);
    switch (ASN1_STRING_type(s)) {
    case V_ASN1_NUMERICSTRING: case V_ASN1_VISIBLESTRING: case V_ASN1_PRINTABLESTRING:
    case V_ASN1_GENERALSTRING: case V_ASN1_OBJECT_DESCRIPTOR: case V_ASN1_GRAPHICSTRING:
    case V_ASN1_T61STRING: case V_ASN1_VIDEOTEXSTRING: case V_ASN1_UTF8STRING:
    case V_ASN1_IA5STRING:
        return utf8_valid(d, n) && gh_buf_put(g, d, n) == 0;
    case V_ASN1_BMPSTRING:
        if (n % 2)
            return false;
        for (size_t i = 0; i < n; i += 2) {
            uint32_t cp = be16(d + i);
            if (cp >= 0xd800 && cp <= 0xdbff) { /* a surrogate pair */
                if (i + 4 > n)
                    return false;
                uint32_t lo = be16(d + i + 2);
                if (lo < 0xdc00 || lo > 0xdfff)
                    return false;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 2;
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return false;
            }
            if (!put_utf8(g, cp))
                return false;
        }
        return true;
    default: {
        static const char hx[] = "0123456789ABCDEF";
        for (size_t i = 0; i < n; i++) {
            char h[2] = {hx[d[i] >> 4], hx[d[i] & 15]};
            if (gh_buf_put(g, h, 2) != 0)
                return false;
        }
        return true;
    }
    }
}

/* x509-parser's Display of a name: "C=US, O=X + OU=Y" (RDNs joined by ", ",
 * attributes of one RDN by " + "); a value it cannot show spoils the whole
 * name. NUL-terminated in @p g. */
static bool format_name(gh_buf *g, const X509_NAME *nm)
{
    static const char bad[] = "<X509Error: Invalid X.509 name>";
    g->len = 0;
    int prev_set = -1;
    bool ok = true;
    for (int i = 0; ok && i < X509_NAME_entry_count(nm); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(nm, i);
        int set = X509_NAME_ENTRY_set(e);
        if (i)
            ok = buf_puts(g, set == prev_set ? " + " : ", ");
        prev_set = set;
        char oid[128];
        if (OBJ_obj2txt(oid, sizeof(oid), X509_NAME_ENTRY_get_object(e), 1) <= 0)
            oid[0] = 0;
        const char *name = NULL;
        for (size_t k = 0; k < sizeof(attr_names) / sizeof(attr_names[0]) && !name; k++)
            if (!strcmp(attr_names[k].oid, oid))
                name = attr_names[k].name;
        if (name) {
            ok = ok && buf_puts(g, name);
        } else { /* Rust's Debug of an Oid */
            ok = ok && buf_puts(g, "OID(") && buf_puts(g, oid) && buf_puts(g, ")");
        }
        ok = ok && buf_puts(g, "=") && attr_value(g, X509_NAME_ENTRY_get_data(e));
    }
    if (!ok) {
        g->len = 0;
        if (!buf_puts(g, bad))
            return false;
    }
    return gh_buf_put(g, "", 1) == 0;
}

/* A DER header at @p p (at most @p n bytes): tag, content offset and length.
 * False when it does not fit. */
static bool der_tlv(const uint8_t *p, size_t n, uint8_t *tag, size_t *hlen, size_t *len)
{
    if (n < 2 || (p[0] & 0x1f) == 0x1f)
        return false;
    *tag = p[0];
    if (!(p[1] & 0x80)) {
        *hlen = 2;
        *len = p[1];
    } else {
        size_t k = p[1] & 0x7f;
        if (!k || k > 4 || n < 2 + k)
            return false;
        *len = 0;
        for (size_t i = 0; i < k; i++)
            *len = *len << 8 | p[2 + i];
        *hlen = 2 + k;
    }
    return *len <= n - *hlen;
}

/* ---- certificate structure ---- */

/* The parts of a certificate that detection and events read, found by
 * walking its DER through RFC 5280's structure (as x509-parser, Suricata's,
 * checks it: each element's tag, minimal integers, object identifiers and
 * bit strings, every length within its parent, no bytes left over in a
 * sequence); the names and times are then decoded by OpenSSL alone. Not
 * d2i_X509: OpenSSL 3 decodes the public key through its provider
 * decoders, 100 to 500 us per certificate. */
typedef struct der_el {
    const uint8_t *tlv, *val; /* the whole element, its contents */
    size_t tlv_len, len;
} der_el;

typedef struct cert_parts {
    der_el serial, issuer, subject, not_before, not_after;
} cert_parts;

/* The element at *@p p (@p n bytes left) when its tag is @p tag; moves past it. */
static bool der_take(const uint8_t **p, size_t *n, uint8_t tag, der_el *e)
{
    uint8_t t;
    size_t h, l;
    if (!der_tlv(*p, *n, &t, &h, &l) || t != tag)
        return false;
    *e = (der_el){*p, *p + h, h + l, l};
    *p += h + l;
    *n -= h + l;
    return true;
}

static bool der_peek(const uint8_t *p, size_t n, uint8_t tag)
{
    return n > 0 && p[0] == tag;
}

static bool der_integer_ok(const der_el *e)
{
    const uint8_t *v = e->val;
    return e->len > 0 && !(e->len > 1 && ((v[0] == 0 && !(v[1] & 0x80)) ||
                                          (v[0] == 0xff && (v[1] & 0x80))));
}

static bool der_oid_ok(const der_el *e)
{
    if (!e->len || (e->val[e->len - 1] & 0x80))
        return false;
    for (size_t i = 0; i < e->len; i++) /* no subidentifier starts with 0x80 */
        if (e->val[i] == 0x80 && (i == 0 || !(e->val[i - 1] & 0x80)))
            return false;
    return true;
}

static bool der_bits_ok(const der_el *e)
{
    return e->len > 0 && e->val[0] <= 7 && (e->len > 1 || e->val[0] == 0);
}

/* AlgorithmIdentifier: SEQUENCE { OID, parameters ANY OPTIONAL } */
static bool der_alg(const uint8_t **p, size_t *n)
{
    der_el seq, oid, param;
    if (!der_take(p, n, 0x30, &seq))
        return false;
    const uint8_t *q = seq.val;
    size_t m = seq.len;
    if (!der_take(&q, &m, 0x06, &oid) || !der_oid_ok(&oid))
        return false;
    uint8_t t;
    size_t h, l;
    if (m && (!der_tlv(q, m, &t, &h, &l) || !der_take(&q, &m, t, &param)))
        return false;
    return m == 0;
}

/* Time: UTCTime or GeneralizedTime */
static bool der_time(const uint8_t **p, size_t *n, der_el *e)
{
    return der_take(p, n, 0x17, e) || der_take(p, n, 0x18, e);
}

/* extensions [3] EXPLICIT SEQUENCE OF SEQUENCE { OID, BOOLEAN DEFAULT FALSE, OCTET STRING } */
static bool der_extensions(const der_el *x)
{
    const uint8_t *q = x->val;
    size_t m = x->len;
    der_el seq;
    if (!der_take(&q, &m, 0x30, &seq) || m)
        return false;
    q = seq.val;
    m = seq.len;
    while (m) {
        der_el ext, oid, crit, val;
        if (!der_take(&q, &m, 0x30, &ext))
            return false;
        const uint8_t *r = ext.val;
        size_t k = ext.len;
        if (!der_take(&r, &k, 0x06, &oid) || !der_oid_ok(&oid))
            return false;
        if (der_peek(r, k, 0x01) && (!der_take(&r, &k, 0x01, &crit) || crit.len != 1))
            return false;
        if (!der_take(&r, &k, 0x04, &val) || k)
            return false;
    }
    return true;
}

static bool cert_walk(const uint8_t *der, size_t n, cert_parts *cp)
{
    der_el cert, tbs, sig, el;
    const uint8_t *p = der;
    if (!der_take(&p, &n, 0x30, &cert))
        return false;
    p = cert.val;
    n = cert.len;
    if (!der_take(&p, &n, 0x30, &tbs) || !der_alg(&p, &n) || !der_take(&p, &n, 0x03, &sig) ||
        !der_bits_ok(&sig) || n)
        return false;
    p = tbs.val;
    n = tbs.len;
    if (der_peek(p, n, 0xa0)) { /* version [0] EXPLICIT INTEGER */
        der_el ver, vi;
        if (!der_take(&p, &n, 0xa0, &ver))
            return false;
        const uint8_t *q = ver.val;
        size_t m = ver.len;
        if (!der_take(&q, &m, 0x02, &vi) || !der_integer_ok(&vi) || m)
            return false;
    }
    der_el validity, spki, key;
    if (!der_take(&p, &n, 0x02, &cp->serial) || !der_integer_ok(&cp->serial) ||
        !der_alg(&p, &n) || !der_take(&p, &n, 0x30, &cp->issuer) ||
        !der_take(&p, &n, 0x30, &validity) || !der_take(&p, &n, 0x30, &cp->subject) ||
        !der_take(&p, &n, 0x30, &spki))
        return false;
    const uint8_t *q = validity.val;
    size_t m = validity.len;
    if (!der_time(&q, &m, &cp->not_before) || !der_time(&q, &m, &cp->not_after) || m)
        return false;
    q = spki.val;
    m = spki.len;
    if (!der_alg(&q, &m) || !der_take(&q, &m, 0x03, &key) || !der_bits_ok(&key) || m)
        return false;
    /* issuerUniqueID [1], subjectUniqueID [2] (IMPLICIT BIT STRING), extensions [3] */
    if (der_peek(p, n, 0x81) && (!der_take(&p, &n, 0x81, &el) || !der_bits_ok(&el)))
        return false;
    if (der_peek(p, n, 0x82) && (!der_take(&p, &n, 0x82, &el) || !der_bits_ok(&el)))
        return false;
    if (der_peek(p, n, 0xa3) && (!der_take(&p, &n, 0xa3, &el) || !der_extensions(&el)))
        return false;
    return n == 0;
}

static X509_NAME *name_decode(const der_el *e)
{
    const unsigned char *q = e->tlv;
    return d2i_X509_NAME(NULL, &q, (long)e->tlv_len);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Seconds since the epoch of the time element @p e (UTCTime or GeneralizedTime). */
static bool asn1_time_unix(const der_el *e, int64_t *out)
{
    struct tm tm;
    const unsigned char *q = e->tlv;
    ASN1_TIME *t = d2i_ASN1_TIME(NULL, &q, (long)e->tlv_len);
    bool ok = t && ASN1_TIME_to_tm(t, &tm);
    ASN1_TIME_free(t);
    if (!ok)
        return false;
    *out = days_from_civil(tm.tm_year + 1900LL, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) *
               86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return true;
}

static void hex_sep(char *out, const uint8_t *d, size_t n, const char *digits)
{
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[d[i] >> 4];
        *out++ = digits[d[i] & 15];
        if (i + 1 < n)
            *out++ = ':';
    }
    *out = 0;
}

/* x509-parser's Incomplete: the outer element's length runs past the data. */
static bool der_incomplete(const uint8_t *d, size_t n)
{
    if (n < 2)
        return true;
    size_t k = d[1] & 0x80 ? d[1] & 0x7fu : 0, l = d[1] & 0x80 ? 0 : d[1];
    if (k > 4)
        return false;
    if (n < 2 + k)
        return true;
    for (size_t i = 0; i < k; i++)
        l = l << 8 | d[2 + i];
    return l > n - 2 - k;
}

/* The digests, fetched once: EVP_sha1() and EVP_md5() look the algorithm
 * up in OpenSSL's provider tables on every EVP_Digest call (1% of the
 * packet time of a capture with TLS). NULL where the provider lacks one. */
static EVP_MD *md_sha1, *md_md5;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
    md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
}

static const EVP_MD *md_get(EVP_MD **md)
{
    pthread_once(&md_once, md_fetch);
    return *md;
}

/* Decode the first certificate of a chain into @p c; else the event
 * Suricata raises for it, with *@p stop when it also ends the chain (a
 * name Suricata cannot hand to C: it holds a NUL). */
static const char *cert0_decode(tls_conn *c, const uint8_t *der, uint32_t len, bool *stop)
{
    if (der_incomplete(der, len))
        return "CERTIFICATE_INVALID_LENGTH";
    cert_parts cp;
    X509_NAME *sub = NULL, *iss = NULL;
    if (!cert_walk(der, len, &cp) || !(sub = name_decode(&cp.subject)) ||
        !(iss = name_decode(&cp.issuer))) {
        X509_NAME_free(sub);
        return "CERTIFICATE_INVALID_DER";
    }
    bool ok = format_name(&c->subject, sub) && format_name(&c->issuer, iss);
    X509_NAME_free(sub);
    X509_NAME_free(iss);
    if (ok && (memchr(c->subject.p, 0, c->subject.len - 1) ||
               memchr(c->issuer.p, 0, c->issuer.len - 1))) {
        *stop = true;
        return memchr(c->subject.p, 0, c->subject.len - 1) ? "CERTIFICATE_INVALID_SUBJECT"
                                                            : "CERTIFICATE_INVALID_ISSUER";
    }
    c->serial.len = 0;
    ok = ok && gh_buf_reserve(&c->serial, cp.serial.len * 3 + 1) == 0;
    if (ok) {
        hex_sep((char *)c->serial.p, cp.serial.val, cp.serial.len, "0123456789ABCDEF");
        c->serial.len = (uint32_t)strlen((char *)c->serial.p) + 1;
    }
    int64_t nb = 0, na = 0;
    ok = ok && asn1_time_unix(&cp.not_before, &nb) && asn1_time_unix(&cp.not_after, &na);
    if (!ok)
        return "CERTIFICATE_INVALID_VALIDITY";
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdl = 0;
    const EVP_MD *sha1 = md_get(&md_sha1);
    if (!sha1 || !EVP_Digest(der, len, md, &mdl, sha1, NULL) || mdl != 20)
        return "CERTIFICATE_INVALID_DER";
    hex_sep(c->fingerprint, md, mdl, "0123456789abcdef");
    c->not_before = nb;
    c->not_after = na;
    c->cert0 = true;
    return NULL;
}

static bool cert_add(tls_conn *c, uint32_t off, uint32_t len)
{
    if (c->n_certs == c->cap_certs) {
        uint32_t cap = c->cap_certs ? c->cap_certs * 2 : 8;
        cert_span *p = realloc(c->certs, cap * sizeof(*p));
        if (!p)
            return false;
        c->certs = p;
        c->cap_certs = cap;
    }
    c->certs[c->n_certs++] = (cert_span){off, len};
    return true;
}

/* A Certificate message (TlsDecodeHSCertificates): Suricata decodes
 * certificates until one decodes (its cert0), keeps the others in the
 * chain, and stops at the first malformed length. */
static void certificates(tls_state *st, int dir, const uint8_t *p, uint32_t n,
                         const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    if (n < 3)
        return;
    uint32_t chain = be24(p);
    if (n - 3 < chain || c->has_chain)
        return;
    c->has_chain = true;
    c->chain.len = 0;
    if (gh_buf_put(&c->chain, p + 3, chain) != 0)
        return;
    uint32_t off = 0;
    while (off < chain) {
        uint32_t rem = chain - off;
        if (rem < 3 || rem - 3 < be24(c->chain.p + off)) {
            anomaly(st, dir, sink, "INVALID_CERTIFICATE");
            return;
        }
        uint32_t cl = be24(c->chain.p + off);
        bool keep = true, stop = false;
        if (!c->cert0) {
            const char *ev = cert0_decode(c, c->chain.p + off + 3, cl, &stop);
            if (ev) {
                anomaly(st, dir, sink, ev);
                keep = false;
            }
        }
        if (stop)
            return;
        if (keep && !cert_add(c, off + 3, cl))
            return;
        off += 3 + cl;
    }
}

/* ---- hellos and JA3 ------------------------------------------------------------- */

/* Append @p v to a JA3 field ("a-b-c"). */
static void ja3_value(gh_buf *g, uint32_t v)
{
    char s[12];
    int k = snprintf(s, sizeof(s), g->len ? "-%u" : "%u", v);
    gh_buf_put(g, s, (size_t)k);
}

/* Append field @p f to the JA3 string: Suricata's Ja3BufferAppendBuffer. */
static void ja3_field(tls_conn *c, const gh_buf *f)
{
    gh_buf_put(&c->ja3, ",", 1);
    gh_buf_put(&c->ja3, f->p, f->len);
}

static void ja3_hash(tls_conn *c)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdl = 0;
    const EVP_MD *md5 = md_get(&md_md5);
    if (!md5 || !EVP_Digest(c->ja3.p ? c->ja3.p : (const uint8_t *)"", c->ja3.len, md, &mdl, md5,
                            NULL) || mdl != 16)
        return;
    static const char hx[] = "0123456789abcdef";
    for (unsigned i = 0; i < 16; i++) {
        c->ja3_hash[2 * i] = hx[md[i] >> 4];
        c->ja3_hash[2 * i + 1] = hx[md[i] & 15];
    }
    c->ja3_hash[32] = 0;
    c->ja3_hashed = true;
}

/* Extension parsers: bytes consumed (Suricata moves on by that, not by the
 * extension's length), -1 after an event. */
static int ext_sni(tls_state *st, int dir, const uint8_t *p, uint32_t n, const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    if (!n)
        return 0;
    if (n < 3)
        goto invalid;
    if (p[2] != 0) {
        anomaly(st, dir, sink, "INVALID_SNI_TYPE");
        return -1;
    }
    if (n < 5)
        goto invalid;
    uint16_t sl = be16(p + 3);
    if (n - 5 < sl || sl > 255 || !sl) {
        anomaly(st, dir, sink, "INVALID_SNI_LENGTH");
        return -1;
    }
    if (c->has_sni) {
        anomaly(st, dir, sink, "MULTIPLE_SNI_EXTENSIONS");
        return 5 + sl;
    }
    /* kept as a C string: a NUL ends it */
    const uint8_t *z = memchr(p + 5, 0, sl);
    c->sni_len = (uint16_t)(z ? (size_t)(z - (p + 5)) : sl);
    memcpy(c->sni, p + 5, c->sni_len);
    c->has_sni = true;
    return 5 + sl;
invalid:
    anomaly(st, dir, sink, "HANDSHAKE_INVALID_LENGTH");
    return -1;
}

/* supported_groups (JA3's curves) when @p out, else skipped */
static int ext_curves(const uint8_t *p, uint32_t n, gh_buf *out)
{
    if (!n)
        return 0;
    if (n < 2 || n - 2 < be16(p))
        return -1;
    uint32_t l = be16(p), i = 2;
    if (!out)
        return (int)(2 + l);
    for (uint32_t done = 0; done < l; done += 2) {
        if (n - i < 2) /* an odd list may read past itself, within the extension */
            return -1;
        uint16_t v = be16(p + i);
        i += 2;
        if (!is_grease(v))
            ja3_value(out, v);
    }
    return (int)i;
}

static int ext_point_formats(const uint8_t *p, uint32_t n, gh_buf *out)
{
    if (!n)
        return 0;
    if (n - 1 < p[0])
        return -1;
    for (uint32_t i = 0; out && i < p[0]; i++)
        ja3_value(out, p[1 + i]);
    return 1 + p[0];
}

static int ext_sigalgs(const uint8_t *p, uint32_t n)
{
    if (!n)
        return 0;
    if (n < 2 || be16(p) % 2 || n - 2 < be16(p))
        return -1;
    return 2 + be16(p);
}

static int ext_alpn(const uint8_t *p, uint32_t n)
{
    if (!n)
        return 0;
    if (n < 2 || n - 2 < be16(p))
        return -1;
    return 2 + be16(p);
}

static int ext_versions(tls_state *st, int dir, const uint8_t *p, uint32_t n)
{
    tls_conn *c = &st->c[dir];
    if (!n)
        return 0;
    if (st->current_flags & F_CLIENT_HELLO) {
        uint8_t l = p[0];
        if (l < 2 || n - 1 < l)
            return -1;
        /* the first (preferred) valid version, past GREASE */
        for (uint32_t i = 0; i + 1 < l; i += 2) {
            uint16_t v = be16(p + 1 + i);
            if (version_valid(v)) {
                c->version = v;
                break;
            }
        }
        st->flags |= F_CH_VERSION_EXT;
        return 1 + l;
    }
    if (st->current_flags & F_SERVER_HELLO) {
        if (n < 2)
            return -1;
        uint16_t v = be16(p);
        if ((st->flags & F_CH_VERSION_EXT) && v > V_TLS12)
            st->flags |= F_LOG_WITHOUT_CERT;
        c->version = v;
        return 2;
    }
    return 0;
}

enum {
    EXT_SNI = 0x0000,
    EXT_CURVES = 0x000a,
    EXT_POINT_FORMATS = 0x000b,
    EXT_SIGALGS = 0x000d,
    EXT_ALPN = 0x0010,
    EXT_SESSION_TICKET = 0x0023,
    EXT_EARLY_DATA = 0x002a,
    EXT_SUPPORTED_VERSIONS = 0x002b,
};

/* The extensions of a hello (TLSDecodeHSHelloExtensions). False after a
 * length error in the list itself: no JA3 hash then. */
static bool hello_extensions(tls_state *st, int dir, const uint8_t *p, uint32_t n, bool ja3,
                             const gh_app_sink *sink)
{
    bool ch = st->current_flags & F_CLIENT_HELLO;
    st->ext.len = st->curves.len = st->pf.len = 0;
    if (n >= 2) {
        uint32_t el = be16(p);
        p += 2, n -= 2;
        if (n < el)
            goto invalid;
        for (uint32_t done = 0; done < el;) {
            if (n < 4)
                goto invalid;
            uint16_t type = be16(p), xl = be16(p + 2);
            p += 4, n -= 4;
            if (n < xl)
                goto invalid;
            int r = 0;
            uint32_t skip = xl; /* bytes Suricata moves on by */
            switch (type) {
            case EXT_SNI:
                r = ext_sni(st, dir, p, xl, sink);
                skip = (uint32_t)r;
                break;
            case EXT_CURVES:
                r = ext_curves(p, xl, ch && ja3 ? &st->curves : NULL);
                skip = (uint32_t)r;
                break;
            case EXT_POINT_FORMATS:
                r = ext_point_formats(p, xl, ch && ja3 ? &st->pf : NULL);
                skip = (uint32_t)r;
                break;
            case EXT_SIGALGS:
                r = ext_sigalgs(p, xl);
                skip = (uint32_t)r;
                break;
            case EXT_ALPN:
                r = ext_alpn(p, xl);
                break;
            case EXT_SUPPORTED_VERSIONS:
                r = ext_versions(st, dir, p, xl);
                skip = (uint32_t)r;
                break;
            case EXT_EARLY_DATA: /* 0-RTT: encrypted data follows the ClientHello */
                if (ch)
                    st->flags |= F_EARLY_DATA;
                break;
            case EXT_SESSION_TICKET: /* resumption, unless a certificate follows */
                if (ch)
                    st->flags |= F_RESUMED;
                break;
            default:
                break;
            }
            if (r < 0) {
                /* SNI raised its own event; the others a length one */
                if (type != EXT_SNI)
                    anomaly(st, dir, sink, "HANDSHAKE_INVALID_LENGTH");
                break;
            }
            p += skip, n -= skip;
            if (ja3 && !is_grease(type))
                ja3_value(&st->ext, type);
            done += xl + 4u;
        }
    }
    if (ja3) {
        tls_conn *c = &st->c[dir];
        ja3_field(c, &st->ext);
        if (ch) {
            ja3_field(c, &st->curves);
            ja3_field(c, &st->pf);
        }
    }
    return true;
invalid:
    anomaly(st, dir, sink, "HANDSHAKE_INVALID_LENGTH");
    return false;
}

/* A Client or Server Hello (TLSDecodeHandshakeHello): every error raises
 * an event and ends the hello, never the parser. */
static void hello(tls_state *st, int dir, const uint8_t *p, uint32_t n, const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    bool sh = st->current_flags & F_SERVER_HELLO;
    bool ja3 = !c->ja3_hashed; /* only the first hello makes the fingerprint */
    if (n < 2)
        goto invalid;
    uint16_t v = be16(p);
    c->version = v;
    /* TLS 1.3 drafts 1-21 put their version here and drop fields below */
    if (sh && (v == V_TLS13 || (v >> 8) == 0x7f))
        st->flags |= F_LOG_WITHOUT_CERT;
    if ((v >= 0x7f01 && v < 0x7f10) || v == V_TLS13)
        c->version = V_TLS13_PRE_DRAFT16;
    if (!c->ja3_started) {
        c->ja3_started = true;
        c->ja3.len = 0;
        ja3_value(&c->ja3, v);
    }
    p += 2, n -= 2;
    if (n < 32)
        goto invalid;
    p += 32, n -= 32;
    if (!sh || !(st->flags & F_LOG_WITHOUT_CERT)) {
        if (n < 1 || n - 1 < p[0])
            goto invalid;
        uint8_t l = p[0];
        if (l && !c->has_sid) {
            memcpy(c->sid, p + 1, l);
            c->sid_len = l;
            c->has_sid = true;
            const tls_conn *cl = &st->c[0], *sv = &st->c[1];
            if (sh && cl->has_sid && sv->has_sid && cl->sid_len == sv->sid_len &&
                !memcmp(cl->sid, sv->sid, l))
                st->flags |= F_RESUMED;
        }
        p += 1 + l, n -= 1u + l;
    }
    if (n < 2)
        goto invalid;
    uint32_t cl = 2; /* a ServerHello has one suite, without a length */
    if (!sh) {
        cl = be16(p);
        p += 2, n -= 2;
    }
    if (n < cl || cl % 2)
        goto invalid;
    if (ja3) {
        st->ext.len = 0;
        for (uint32_t i = 0; i < cl; i += 2)
            if (!is_grease(be16(p + i)))
                ja3_value(&st->ext, be16(p + i));
        ja3_field(c, &st->ext);
    }
    p += cl, n -= cl;
    if (!sh || !(st->flags & F_LOG_WITHOUT_CERT)) {
        if (n < 1)
            goto invalid;
        uint32_t ml = sh ? 0 : p[0];
        if (n - 1 < ml)
            goto invalid;
        p += 1 + ml, n -= 1 + ml;
    }
    if (hello_extensions(st, dir, p, n, ja3, sink) && ja3)
        ja3_hash(c);
    return;
invalid:
    anomaly(st, dir, sink, "HANDSHAKE_INVALID_LENGTH");
}

/* ---- handshake and records --------------------------------------------------------- */

static bool hs_supported(uint8_t t)
{
    switch (t) {
    case HS_CLIENT_HELLO: case HS_SERVER_HELLO: case HS_SERVER_KEYX: case HS_CLIENT_KEYX:
    case HS_CERTIFICATE: case HS_HELLO_REQUEST: case HS_CERT_REQUEST: case HS_CERT_VERIFY:
    case HS_FINISHED: case HS_CERT_URL: case HS_CERT_STATUS: case HS_NEW_SESSION_TICKET:
    case HS_SERVER_HELLO_DONE:
        return true;
    default:
        return false;
    }
}

/* One whole handshake message (SSLv3ParseHandshakeType). */
static void hs_message(tls_state *st, int dir, uint8_t type, const uint8_t *p, uint32_t n,
                       const gh_app_sink *sink)
{
    if (!n)
        return;
    switch (type) {
    case HS_CLIENT_HELLO:
        st->current_flags = F_CLIENT_HELLO;
        hello(st, dir, p, n, sink);
        break;
    case HS_SERVER_HELLO:
        st->current_flags = F_SERVER_HELLO;
        hello(st, dir, p, n, sink);
        break;
    case HS_SERVER_KEYX:
        st->current_flags = F_SERVER_KEYX;
        break;
    case HS_CLIENT_KEYX:
        st->current_flags = F_CLIENT_KEYX;
        break;
    case HS_CERTIFICATE:
        certificates(st, dir, p, n, sink);
        break;
    case HS_CERT_REQUEST:
        if (dir)
            st->current_flags = F_NEED_CLIENT_CERT;
        break;
    default:
        break;
    }
    st->flags |= st->current_flags;
    if (type == HS_CLIENT_HELLO && !dir)
        report(st, 0, GH_STAGE_LINE, sink);
    else if (type == HS_SERVER_HELLO && dir)
        report(st, 1, GH_STAGE_LINE, sink);
    else if (type == HS_CERTIFICATE && dir)
        report(st, 1, GH_STAGE_HEADERS, sink);
}

/* The messages of a handshake record (SSLv3ParseHandshakeProtocol); false
 * on a fatal error. A message longer than the rest of the record is
 * gathered from the next handshake records. */
static bool hs_record(tls_state *st, int dir, const uint8_t *p, uint32_t n,
                      const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    while (n) {
        if (c->hs_on) {
            uint32_t add = c->hs_size - c->hs.len;
            if (add > n)
                add = n;
            if (gh_buf_put(&c->hs, p, add) != 0) {
                c->dead = true;
                return true;
            }
            p += add, n -= add;
            if (c->hs.len == c->hs_size) {
                c->hs_on = false;
                hs_message(st, dir, c->hs_type, c->hs.p, c->hs.len, sink);
                c->hs.len = 0;
            }
            continue;
        }
        if (n < 4) { /* a message header never spans records here */
            anomaly(st, dir, sink, "INVALID_SSL_RECORD");
            return false;
        }
        uint8_t type = p[0];
        uint32_t ml = be24(p + 1);
        p += 4, n -= 4;
        if (!hs_supported(type)) {
            uint32_t k = ml < n ? ml : n;
            p += k, n -= k;
            /* after ChangeCipherSpec the handshake is encrypted */
            if (!(st->flags & (dir ? F_SERVER_CCS : F_CLIENT_CCS)))
                anomaly(st, dir, sink, "INVALID_HANDSHAKE_MESSAGE");
            continue;
        }
        if (ml > n) {
            if (ml > (type == HS_CERTIFICATE ? CERT_MAX : HS_MAX)) {
                anomaly(st, dir, sink, "HANDSHAKE_INVALID_LENGTH");
                c->dead = true;
                return true;
            }
            c->hs_on = true;
            c->hs_type = type;
            c->hs_size = ml;
            c->hs.len = 0;
            if (gh_buf_put(&c->hs, p, n) != 0)
                c->dead = true;
            return true;
        }
        hs_message(st, dir, type, p, ml, sink);
        p += ml, n -= ml;
    }
    return true;
}

/* A heartbeat record (SSLv3ParseHeartbeatProtocol); false on an error. */
static bool heartbeat(tls_state *st, int dir, const uint8_t *p, uint32_t n,
                      const gh_app_sink *sink)
{
    if (n < 3)
        return true;
    uint8_t type = p[0];
    uint32_t rl = st->c[dir].rec_len;
    if (!(st->flags & F_CCS) && type != 1 && type != 2)
        goto invalid;
    if (!(st->flags & F_HB_INFLIGHT)) {
        st->flags |= F_HB_INFLIGHT | (dir ? F_HB_SERVER_INIT : F_HB_CLIENT_INIT);
        if (st->flags & F_CCS) { /* encrypted: compare the response's length later */
            st->hb_record_len = rl;
            return true;
        }
        uint32_t pl = be16(p + 1);
        if (pl + 3 > rl) { /* CVE-2014-0160 */
            anomaly(st, dir, sink, "OVERFLOW_HEARTBEAT_MESSAGE");
            return false;
        }
        if (rl - pl - 3 < 16) /* RFC 6520 section 4: 16 bytes of padding at least */
            goto invalid;
        return true;
    }
    if ((dir && (st->flags & F_HB_SERVER_INIT)) || (!dir && (st->flags & F_HB_CLIENT_INIT)))
        goto invalid;
    st->flags &= ~(uint32_t)(F_HB_INFLIGHT | F_HB_SERVER_INIT | F_HB_CLIENT_INIT);
    if ((st->flags & F_CCS) && st->hb_record_len > 0 && st->hb_record_len < rl) {
        anomaly(st, dir, sink, "DATALEAK_HEARTBEAT_MISMATCH");
        st->hb_record_len = 0;
        return false;
    }
    st->hb_record_len = 0;
    return true;
invalid:
    anomaly(st, dir, sink, "INVALID_HEARTBEAT_MESSAGE");
    return false;
}

/* A whole SSLv3/TLS record other than application data. */
static void v3_record(tls_state *st, int dir, const uint8_t *p, uint32_t n,
                      const gh_app_sink *sink)
{
    switch (st->c[dir].type) {
    case CT_CCS:
        st->flags |= F_CCS | (dir ? F_SERVER_CCS : F_CLIENT_CCS);
        break;
    case CT_HANDSHAKE:
        /* after ChangeCipherSpec only TLS 1.3's middlebox-compatibility
         * CCS (sent before the ServerHello) leaves the handshake readable */
        if ((st->flags & F_CCS) &&
            !((st->flags & F_CLIENT_HELLO) && st->c[0].version > V_TLS12 &&
              !(st->flags & F_SERVER_HELLO)))
            break;
        if (n < 4) {
            fatal(st, dir, sink, "INVALID_SSL_RECORD");
            break;
        }
        if (!hs_record(st, dir, p, n, sink))
            fatal(st, dir, sink, "INVALID_HANDSHAKE_MESSAGE");
        break;
    case CT_HEARTBEAT:
        if (!heartbeat(st, dir, p, n, sink))
            fatal(st, dir, sink, NULL);
        break;
    default: /* alerts */
        break;
    }
}

/* A whole SSLv2 record (SSLv2Decode): @p p is what follows the message type. */
static void v2_record(tls_state *st, int dir, const uint8_t *p, uint32_t n,
                      const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    switch (c->type) {
    case V2_ERROR:
        anomaly(st, dir, sink, "ERROR_MESSAGE_ENCOUNTERED");
        break;
    case V2_CLIENT_HELLO:
        if (n < 6) {
            anomaly(st, dir, sink, "INVALID_SSL_RECORD");
            fatal(st, dir, sink, "INVALID_SSL_RECORD");
            return;
        }
        st->current_flags = F_CLIENT_HELLO | F_V2_CLIENT_HS;
        c->version = be16(p);
        if (!be16(p + 4))
            st->current_flags |= F_V2_NO_SID;
        break;
    case V2_CLIENT_MASTER_KEY:
        st->current_flags = F_V2_MASTER_KEY;
        break;
    case V2_CLIENT_CERT:
    case V2_SERVER_VERIFY:
    case V2_SERVER_FINISHED:
    case V2_CLIENT_FINISHED:
    case V2_REQUEST_CERT:
        if (c->type == V2_CLIENT_CERT && !dir)
            st->current_flags = F_CLIENT_KEYX;
        if ((st->flags & F_V2_CLIENT_HS) && (st->flags & F_V2_SERVER_HS)) {
            if (dir)
                st->current_flags = F_V2_SERVER_ENC;
            else if (st->flags & F_V2_NO_SID)
                st->current_flags |= F_V2_CLIENT_ENC;
            else if (st->flags & F_V2_MASTER_KEY)
                st->current_flags = F_V2_CLIENT_ENC;
        }
        break;
    case V2_SERVER_HELLO:
        st->current_flags = F_SERVER_HELLO | F_V2_SERVER_HS;
        break;
    default:
        break;
    }
    st->flags |= st->current_flags;
    if (c->type == V2_CLIENT_HELLO && !dir)
        report(st, 0, GH_STAGE_LINE, sink);
    else if (c->type == V2_SERVER_HELLO && dir)
        report(st, 1, GH_STAGE_LINE, sink);
}

/* A complete record header: its checks (SSLv3Decode); false when the
 * record is not parsed (fatal, or skipped with the rest of this call). */
static bool v3_header(tls_state *st, int dir, uint16_t prev_version, bool *skip_call,
                      const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    c->type = c->hdr[0];
    /* the hellos' version stands once they are seen */
    bool keep = dir ? (st->flags & F_SERVER_HELLO) && c->version != V_UNKNOWN
                    : (st->flags & F_CLIENT_HELLO) && c->version != V_UNKNOWN;
    if (!keep)
        c->version = be16(c->hdr + 1);
    c->rec_len = be16(c->hdr + 3);
    if (c->type < CT_CCS || c->type > CT_HEARTBEAT) {
        anomaly(st, dir, sink, "INVALID_RECORD_TYPE");
        if (prev_version == V_TLS10 || prev_version == V_TLS11) {
            /* tolerated as Wireshark does: the rest of this data is dropped */
            c->version = prev_version;
            *skip_call = true;
        } else {
            fatal(st, dir, sink, NULL);
        }
        return false;
    }
    if (!c->rec_len) {
        fatal(st, dir, sink, "INVALID_RECORD_LENGTH");
        return false;
    }
    if (!version_valid(c->version)) {
        fatal(st, dir, sink, "INVALID_RECORD_VERSION");
        return false;
    }
    if (c->rec_len > REC_MAX) {
        fatal(st, dir, sink, "INVALID_RECORD_LENGTH");
        return false;
    }
    return true;
}

/* Application data: the handshake is over, unless it is TLS 1.3 early
 * data sent before the ServerHello. */
static void app_data(tls_state *st)
{
    if ((st->flags & F_EARLY_DATA) && !(st->flags & F_SERVER_HELLO))
        return;
    st->flags |= F_HANDSHAKE_DONE;
}

/* The record is complete: parse it, expect a header next. */
static void record_end(tls_state *st, int dir, const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    c->in_body = false;
    c->nhdr = 0;
    if (c->v2)
        v2_record(st, dir, c->rec.p, c->rec.len, sink);
    else if (c->type != CT_APP)
        v3_record(st, dir, c->rec.p, c->rec.len, sink);
}

/* Header bytes of direction @p dir; returns how many were used. */
static size_t header(tls_state *st, int dir, const uint8_t *b, size_t n, bool *skip_call,
                     const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    if (!c->nhdr) {
        /* a record starting with one of the top two bits set is SSLv2 */
        c->v2 = (b[0] & 0x80) || (b[0] & 0x40);
        if (c->v2)
            c->version = V_SSL2;
        else if (c->version == V_SSL2)
            c->version = V_UNKNOWN;
        c->hdr_need = c->v2 ? ((b[0] & 0x80) ? 3 : 4) : 5;
    }
    size_t k = c->hdr_need - c->nhdr;
    if (k > n)
        k = n;
    memcpy(c->hdr + c->nhdr, b, k);
    c->nhdr = (uint8_t)(c->nhdr + k);
    if (c->nhdr < c->hdr_need)
        return k;
    c->got = 0;
    c->rec.len = 0;
    if (c->v2) {
        uint32_t mask = c->hdr_need == 3 ? 0x7f : 0x3f;
        c->rec_len = (c->hdr[0] & mask) << 8 | c->hdr[1];
        c->type = c->hdr[c->hdr_need - 1];
        if (!c->rec_len) {
            anomaly(st, dir, sink, "INVALID_SSLV2_HEADER");
            fatal(st, dir, sink, "INVALID_SSL_RECORD");
            return k;
        }
        c->rec_len -= 1; /* the message type byte belongs to the record */
    } else if (!v3_header(st, dir, c->version, skip_call, sink)) {
        c->nhdr = 0;
        return k;
    }
    c->in_body = true;
    if (!c->rec_len)
        record_end(st, dir, sink);
    return k;
}

/* Consume bytes of direction @p dir; returns how many. */
static size_t step(tls_state *st, int dir, const uint8_t *b, size_t n, bool *skip_call,
                   const gh_app_sink *sink)
{
    tls_conn *c = &st->c[dir];
    if (!c->in_body)
        return header(st, dir, b, n, skip_call, sink);
    size_t k = c->rec_len - c->got;
    if (k > n)
        k = n;
    if (!c->v2 && c->type == CT_APP) {
        app_data(st); /* never buffered: encrypted */
    } else if (gh_buf_put(&c->rec, b, k) != 0) {
        c->dead = true;
        return n;
    }
    c->got += (uint32_t)k;
    if (c->got == c->rec_len)
        record_end(st, dir, sink);
    return k;
}

/* Both directions reach DONE: the handshake is over (Suricata's
 * HANDSHAKE_DONE or FINISHED), the transaction is logged. */
static void finish(tls_state *st, const gh_app_sink *sink)
{
    if (st->done)
        return;
    for (int d = 0; d < 2; d++) {
        st->tx.progress[d] = GH_STAGE_DONE;
        if (sink->on_progress)
            sink->on_progress(sink->ctx, &st->tx, d, GH_STAGE_DONE);
    }
    st->done = true;
}

static void parse(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink)
{
    tls_state *st = state;
    tls_conn *c = &st->c[dir];
    if (st->dead || c->dead || !n)
        return;
    if (!c->nhdr && !c->in_body) /* entering on a new record */
        st->current_flags = 0;
    st->fatal_now = false;
    bool skip_call = false;
    while (n && !st->dead && !c->dead && !skip_call) {
        size_t k = step(st, dir, b, n, &skip_call, sink);
        b += k, n -= k;
    }
    if (st->fatal_now)
        return;
    /* done once the certificate that authenticates the session is decoded */
    const tls_conn *auth = &st->c[(st->flags & F_NEED_CLIENT_CERT) ? 0 : 1];
    if (auth->cert0)
        st->flags |= F_HANDSHAKE_DONE;
    if (st->flags & F_HANDSHAKE_DONE)
        finish(st, sink);
}

/* A hole: this direction is no longer parsed. */
static void gap(void *state, int dir, uint64_t len, const gh_app_sink *sink)
{
    (void)len, (void)sink;
    ((tls_state *)state)->c[dir].dead = true;
}

/* Suricata marks the session finished at the first direction's end. */
static void close_dir(void *state, int dir, const gh_app_sink *sink)
{
    tls_state *st = state;
    st->c[dir].dead = true;
    finish(st, sink);
}

/* ---- buffers, fields, events -------------------------------------------------------- */

static bool get_buffer(void *state, gh_app_tx *tx, gh_buffer_id id, int dir, uint32_t idx,
                       const uint8_t **b, uint32_t *len)
{
    (void)tx;
    tls_state *st = state;
    const tls_conn *c = &st->c[dir ? 1 : 0];
    if (idx && id != GH_BUF_TLS_CERTS)
        return false;
    switch (id) {
    case GH_BUF_TLS_SNI:
        if (!st->c[0].has_sni)
            return false;
        *b = st->c[0].sni;
        *len = st->c[0].sni_len;
        return true;
    case GH_BUF_TLS_CERT_SUBJECT:
    case GH_BUF_TLS_CERT_ISSUER:
    case GH_BUF_TLS_CERT_SERIAL: {
        if (!c->cert0)
            return false;
        const gh_buf *g = id == GH_BUF_TLS_CERT_SUBJECT  ? &c->subject
                        : id == GH_BUF_TLS_CERT_ISSUER ? &c->issuer
                                                       : &c->serial;
        *b = g->p;
        *len = g->len - 1; /* without the NUL */
        return true;
    }
    case GH_BUF_TLS_CERT_FINGERPRINT:
        if (!c->cert0)
            return false;
        *b = (const uint8_t *)c->fingerprint;
        *len = (uint32_t)strlen(c->fingerprint);
        return true;
    case GH_BUF_TLS_CERTS:
        if (idx >= c->n_certs)
            return false;
        *b = c->chain.p + c->certs[idx].off;
        *len = c->certs[idx].len;
        return true;
    case GH_BUF_JA3_HASH:
    case GH_BUF_JA3S_HASH: {
        const tls_conn *h = &st->c[id == GH_BUF_JA3S_HASH];
        if (!h->ja3_hashed)
            return false;
        *b = (const uint8_t *)h->ja3_hash;
        *len = 32;
        return true;
    }
    case GH_BUF_JA3_STRING:
    case GH_BUF_JA3S_STRING: {
        const tls_conn *h = &st->c[id == GH_BUF_JA3S_STRING];
        if (!h->ja3_started)
            return false;
        *b = h->ja3.p;
        *len = h->ja3.len;
        return true;
    }
    default:
        return false;
    }
}

static bool get_field(void *state, gh_app_tx *tx, gh_field_id id, int dir, uint32_t idx,
                      uint64_t *v)
{
    (void)tx;
    tls_state *st = state;
    const tls_conn *c = &st->c[dir ? 1 : 0];
    if (idx)
        return false;
    switch (id) {
    case GH_FIELD_TLS_VERSION:
    case GH_FIELD_SSL_VERSION: /* the direction's record, hello or supported_versions */
        *v = c->version;
        return true;
    case GH_FIELD_SSL_STATE: { /* the last handshake message's, as Suricata's current_flags */
        uint32_t f = st->current_flags;
        *v = ((f & F_CLIENT_HELLO) ? GH_SSL_STATE_CLIENT_HELLO : 0) |
             ((f & F_SERVER_HELLO) ? GH_SSL_STATE_SERVER_HELLO : 0) |
             ((f & F_CLIENT_KEYX) ? GH_SSL_STATE_CLIENT_KEYX : 0) |
             ((f & F_SERVER_KEYX) ? GH_SSL_STATE_SERVER_KEYX : 0);
        return true;
    }
    default:
        return false;
    }
}

/* SSLVersionToString */
static void version_name(char out[24], uint16_t v)
{
    switch (v) {
    case V_UNKNOWN: strcpy(out, "UNDETERMINED"); return;
    case V_SSL2: strcpy(out, "SSLv2"); return;
    case V_SSL3: strcpy(out, "SSLv3"); return;
    case V_TLS10: strcpy(out, "TLSv1"); return;
    case V_TLS11: strcpy(out, "TLS 1.1"); return;
    case V_TLS12: strcpy(out, "TLS 1.2"); return;
    case V_TLS13: strcpy(out, "TLS 1.3"); return;
    case V_TLS13_PRE_DRAFT16: strcpy(out, "TLS 1.3 draft-<16"); return;
    case 0xfb14: case 0xfb15: case 0xfb16: case 0xfb17: case 0xfb1a:
        snprintf(out, 24, "TLS 1.3 draft-%u-fb", v & 0xff);
        return;
    default:
        if (v >= 0x7f10 && v <= 0x7f1c)
            snprintf(out, 24, "TLS 1.3 draft-%u", v & 0xff);
        else
            snprintf(out, 24, "0x%04x", v);
        return;
    }
}

/* Suricata's x509 timestamp: "2015-05-12T00:00:00" (UTC). */
static void put_time(gh_jbuf *b, const char *key, int64_t t)
{
    gh_jbuf_key(b, true, key);
    gh_jbuf_datetime(b, t);
}

static void put_str(gh_jbuf *b, const char *key, const char *s)
{
    gh_jbuf_key(b, true, key);
    gh_jbuf_json_str(b, s);
}

static void put_ja3(gh_jbuf *b, const char *key, tls_conn *c)
{
    if (!c->ja3_hashed && !c->ja3_started)
        return;
    gh_jbuf_key(b, true, key);
    GH_JBUF_LIT(b, "{");
    if (c->ja3_hashed) {
        GH_JBUF_LIT(b, "\"hash\":");
        gh_jbuf_quoted(b, c->ja3_hash);
    }
    if (c->ja3_started) {
        gh_buf_put(&c->ja3, "", 1);
        c->ja3.len--; /* NUL-terminated for printing, not in the buffer */
        gh_jbuf_key(b, c->ja3_hashed, "string");
        gh_jbuf_json_str(b, (const char *)c->ja3.p);
    }
    gh_jbuf_append(b, "}", 1);
}

/* Members were written each with a leading ','; the first of an object has none. */
static void drop_comma(gh_jbuf *b, size_t at)
{
    if (b->oom || b->len <= at || b->p[at] != ',')
        return;
    memmove(b->p + at, b->p + at + 1, b->len - at - 1);
    b->len--;
}

/* The members of one certificate (JsonTlsLogClientCert / the server's). */
static void put_cert(gh_jbuf *b, const tls_conn *c, bool server)
{
    put_str(b, "subject", (const char *)c->subject.p);
    put_str(b, "issuerdn", (const char *)c->issuer.p);
    if (!server) {
        put_str(b, "fingerprint", c->fingerprint);
        put_str(b, "serial", (const char *)c->serial.p);
    }
}

/* Suricata's "tls" object in its default extended form (JsonTlsLogJSONExtended),
 * for the event and for alerts; the event only once there is something to
 * show (a certificate, a resumed session, or TLS 1.3). The flow's state is
 * its one transaction: @p tx is not read, so an alert outside a transaction
 * (Suricata adds the object to every alert on a TLS flow) may pass NULL. */
static bool log_tx(void *state, gh_app_tx *tx, bool alert, uint32_t i, gh_jbuf *b)
{
    (void)tx;
    tls_state *st = state;
    tls_conn *cl = &st->c[0], *sv = &st->c[1];
    if (i)
        return false;
    if (!alert && !sv->cert0 && !(st->flags & (F_RESUMED | F_LOG_WITHOUT_CERT)))
        return false;
    gh_jbuf_append(b, ",\"tls\":{", 8);
    size_t start = b->len;
    if (sv->cert0)
        put_cert(b, sv, true);
    if ((st->flags & F_RESUMED) && !sv->cert0 && (st->flags & F_SERVER_HELLO) &&
        !(st->flags & F_LOG_WITHOUT_CERT))
        gh_jbuf_append(b, ",\"session_resumed\":true", 23);
    if (sv->cert0) {
        put_str(b, "serial", (const char *)sv->serial.p);
        put_str(b, "fingerprint", sv->fingerprint);
    }
    /* a C string that must be UTF-8 for Suricata's JSON writer */
    if (cl->has_sni && utf8_valid(cl->sni, cl->sni_len)) {
        gh_jbuf_append(b, ",\"sni\":", 7);
        char s[257];
        memcpy(s, cl->sni, cl->sni_len);
        s[cl->sni_len] = 0;
        gh_jbuf_json_str(b, s);
    }
    char v[24];
    version_name(v, sv->version);
    put_str(b, "version", v);
    if (sv->cert0 && sv->not_before)
        put_time(b, "notbefore", sv->not_before);
    if (sv->cert0 && sv->not_after)
        put_time(b, "notafter", sv->not_after);
    if (st->log_ja3) {
        put_ja3(b, "ja3", cl);
        put_ja3(b, "ja3s", sv);
    }
    if (cl->cert0) {
        gh_jbuf_append(b, ",\"client\":{", 11);
        size_t cs = b->len;
        put_cert(b, cl, false);
        if (cl->not_before)
            put_time(b, "notbefore", cl->not_before);
        if (cl->not_after)
            put_time(b, "notafter", cl->not_after);
        drop_comma(b, cs);
        gh_jbuf_append(b, "}", 1);
    }
    drop_comma(b, start);
    gh_jbuf_append(b, "}", 1);
    return true;
}

static size_t tx_count(void *state)
{
    return ((tls_state *)state)->done ? 0 : 1;
}

static gh_app_tx *tx_get(void *state, size_t i)
{
    tls_state *st = state;
    return i || st->done ? NULL : &st->tx;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

static void conn_reset(tls_conn *c)
{
    gh_buf rec = c->rec, hs = c->hs, chain = c->chain, subject = c->subject, issuer = c->issuer;
    gh_buf serial = c->serial, ja3 = c->ja3;
    cert_span *certs = c->certs;
    uint32_t cap_certs = c->cap_certs;
    *c = (tls_conn){0};
    c->rec = rec, c->hs = hs, c->chain = chain, c->subject = subject, c->issuer = issuer;
    c->serial = serial, c->ja3 = ja3;
    c->rec.len = c->hs.len = c->chain.len = c->subject.len = c->issuer.len = 0;
    c->serial.len = c->ja3.len = 0;
    c->certs = certs;
    c->cap_certs = cap_certs;
}

static void reset(void *state)
{
    tls_state *st = state;
    gh_app_tx_start(&st->tx, 0);
    st->flags = st->current_flags = st->hb_record_len = 0;
    st->dead = st->fatal_now = st->done = false;
    conn_reset(&st->c[0]);
    conn_reset(&st->c[1]);
}

static void state_free(void *state)
{
    tls_state *st = state;
    gh_app_tx_release(&st->tx);
    for (int d = 0; d < 2; d++) {
        tls_conn *c = &st->c[d];
        gh_buf_free(&c->rec);
        gh_buf_free(&c->hs);
        gh_buf_free(&c->chain);
        gh_buf_free(&c->subject);
        gh_buf_free(&c->issuer);
        gh_buf_free(&c->serial);
        gh_buf_free(&c->ja3);
        free(c->certs);
        c->certs = NULL;
        c->cap_certs = 0;
    }
    gh_buf_free(&st->ext);
    gh_buf_free(&st->curves);
    gh_buf_free(&st->pf);
}

static int init(void *state, const gh_app_limits *lim)
{
    tls_state *st = state;
    st->log_ja3 = lim->tls_ja3;
    reset(st);
    return 0;
}

/* ---- detection ------------------------------------------------------------------------ */

/* Suricata's patterns (SSLRegisterPatternsForProtocolDetection): record
 * headers of SSLv3..TLS 1.2 at the start of either direction, an SSLv2
 * ClientHello by its "01 00 02" on any port, and on port 443 its probing
 * parser for SSLv2-style hellos of any version. */
static int probe(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc)
{
    if (n && b[0] != 0x01 && b[0] != 0x15 && b[0] != 0x16 && b[0] != 0x17 && !(b[0] & 0x80))
        return GH_PROBE_NO;
    if (n < 3)
        return GH_PROBE_MORE;
    bool v3 = b[1] == 0x03 && b[2] <= 0x03;
    if (dir) /* alert, handshake, application data */
        return v3 && b[0] >= 0x15 && b[0] <= 0x17 ? GH_PROBE_YES : GH_PROBE_NO;
    if (v3 && (b[0] == 0x01 || b[0] == 0x16))
        return GH_PROBE_YES;
    if ((b[0] & 0x80) && b[2] == 0x01) {
        if (pc && pc->server_port == 443)
            return GH_PROBE_YES;
        if (n < 5)
            return GH_PROBE_MORE;
        if (b[3] == 0x00 && b[4] == 0x02)
            return GH_PROBE_YES;
    }
    return GH_PROBE_NO;
}

const gh_app_ops gh_app_tls_ops = {
    .name = "tls",
    .proto = GH_ALPROTO_TLS,
    .transports = GH_APP_TCP,
    .probe = probe,
    .state_size = sizeof(tls_state),
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
