/* gatehouse: EVE JSON events, one object per line, in the shape Suricata
 * writes them (timestamp, pcap_cnt, event_type, src_ip, ...) so jq and EVE
 * tools work unchanged. Workers format events into their own gh_jbuf and hand
 * whole lines to the shared writer, which is the only locked step. */
#ifndef GATEHOUSE_EVE_H
#define GATEHOUSE_EVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gatehouse/counters.h"
#include "gatehouse/decode.h"
#include "gatehouse/source.h"

/** A growable text buffer for JSON lines, always NUL-terminated. */
typedef struct gh_jbuf {
    char *p;
    size_t len, cap;
    bool oom;   /* an append failed; the buffer holds what fitted */
    /* gh_jbuf_timestamp's cache: the date and time of second ts_sec */
    bool ts_valid;
    uint8_t ts_len;
    char ts_date[24];
    int64_t ts_sec;
} gh_jbuf;

GH_API void gh_jbuf_init(gh_jbuf *b);
GH_API void gh_jbuf_free(gh_jbuf *b);
/** Grow @p b to hold @p extra more bytes and the NUL; false (and oom set)
 *  when it cannot. Callers use gh_jbuf_reserve. */
GH_API bool gh_jbuf_grow(gh_jbuf *b, size_t extra);
/** Room for @p extra more bytes and the NUL; false (and oom set) when the
 *  buffer cannot grow. */
static inline bool gh_jbuf_reserve(gh_jbuf *b, size_t extra)
{
    return b->len + extra + 1 <= b->cap || gh_jbuf_grow(b, extra);
}
/** Append @p n bytes. Inline, so a short literal's copy is a few moves. */
static inline void gh_jbuf_append(gh_jbuf *b, const char *s, size_t n)
{
    if (!gh_jbuf_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
/** Append string literal @p s (its length known when compiling). */
#define GH_JBUF_LIT(b, s) gh_jbuf_append((b), "" s, sizeof(s) - 1)
/** printf into the buffer: for rare events only (stats); events written per
 *  packet or per flow use the writers below, which cost a fraction of it. */
GH_API void gh_jbuf_printf(gh_jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Printf-free writers. Each writes exactly what the printf conversion named
 * in its comment would. */
/** @p v in decimal ("%" PRIu64). */
GH_API void gh_jbuf_u64(gh_jbuf *b, uint64_t v);
/** @p v in decimal with at least @p width digits, zero-padded ("%0*" PRIu64;
 *  @p width at most 40). */
GH_API void gh_jbuf_u64_pad(gh_jbuf *b, uint64_t v, unsigned width);
/** @p v in decimal ("%" PRId64). */
GH_API void gh_jbuf_i64(gh_jbuf *b, int64_t v);
/** @p v in lowercase hex with at least @p width digits ("%0*" PRIx64; @p
 *  width at most 16). */
GH_API void gh_jbuf_hex(gh_jbuf *b, uint64_t v, unsigned width);
/** An object member's name: ,"key": (without the comma when @p comma is
 *  false). @p key is written as it is: a name gatehouse chose, no escapes. */
GH_API void gh_jbuf_key(gh_jbuf *b, bool comma, const char *key);
/** @p s between quotes as it is ("\"%s\""): for names gatehouse chose
 *  (protocols, actions, states), which need no escapes. */
GH_API void gh_jbuf_quoted(gh_jbuf *b, const char *s);
/** The quoted address at @p addr (4 bytes for @p ver 4, 16 for 6) as
 *  inet_ntop writes it; "" for another @p ver (as gh_addr_str). */
GH_API void gh_jbuf_ip(gh_jbuf *b, const uint8_t *addr, int ver);
/** The quoted date and time of @p sec, "2015-05-12T00:00:00" (UTC; a year
 *  outside 0..9999 as "%04lld" prints it). */
GH_API void gh_jbuf_datetime(gh_jbuf *b, int64_t sec);
/** The quoted gh_eve_timestamp of (@p sec, @p nsec). The date and time of
 *  the last second written are kept in @p b, so events of the same second
 *  only format their microseconds. */
GH_API void gh_jbuf_timestamp(gh_jbuf *b, int64_t sec, uint32_t nsec);
/** Append @p s as a quoted JSON string with escapes. */
GH_API void gh_jbuf_json_str(gh_jbuf *b, const char *s);
/** Append @p n bytes that may hold anything as a quoted JSON string (bytes
 *  outside printable ASCII as \u00XX, as Suricata's writer does). */
GH_API void gh_jbuf_json_bytes(gh_jbuf *b, const void *p, size_t n);
/** Append @p n bytes as a quoted JSON string the way Suricata's Rust
 *  JsonBuilder writes one from bytes (SMTP, FTP events): valid UTF-8 kept,
 *  control characters escaped; otherwise each byte above 0x7f becomes the
 *  text \xHH (so "\\xHH" in the JSON). */
GH_API void gh_jbuf_json_jb(gh_jbuf *b, const void *p, size_t n);

/** The event types gatehouse writes (the "event_type" of each line); a set
 *  of them is a mask of bits 1u << gh_eve_type (Suricata's eve-log types). */
typedef enum gh_eve_type {
    GH_EVE_T_ALERT,
    GH_EVE_T_ANOMALY,  /**< decode, exception_policy and applayer anomalies */
    GH_EVE_T_DROP,
    GH_EVE_T_FLOW,
    GH_EVE_T_PACKET,   /**< tagged packets (GH_EVE_ALERT_TAGGED_PACKETS) */
    GH_EVE_T_STATS,
    GH_EVE_T_HTTP,     /**< application-layer events: the protocol's name */
    GH_EVE_T_DNS,
    GH_EVE_T_TLS,
    GH_EVE_T_SMTP,
    GH_EVE_T_FTP,
    GH_EVE_T_SSH,
    GH_EVE_T_COUNT
} gh_eve_type;

#define GH_EVE_TYPES_ALL ((1u << GH_EVE_T_COUNT) - 1)

/** The event_type of @p t ("alert", "dns", ...); NULL when out of range. */
GH_API const char *gh_eve_type_name(gh_eve_type t);
/** The type named @p name (the @p len bytes at it); false when none is. */
GH_API bool gh_eve_type_find(const char *name, size_t len, gh_eve_type *out);
/**
 * Parse a comma-separated list of event type names ("alert,dns"; blanks
 * around names are ignored) into a mask. GH_E_INVAL with @p err naming the
 * first unknown or empty name and listing the known ones; *@p mask is then
 * unchanged.
 */
GH_API int gh_eve_types_parse(const char *list, uint32_t *mask, gh_error *err);

/** Suricata's timestamp: "2026-11-27T17:36:37.123456+0000" (UTC). */
GH_API void gh_eve_timestamp(char out[40], int64_t sec, uint32_t nsec);
/** Protocol name as Suricata prints it ("TCP", "IPv6-ICMP", else "%03u"). */
GH_API const char *gh_proto_name(uint8_t proto, char buf[8]);

/**
 * Open the first fields of an event: {"timestamp":..,"flow_id"?,"pcap_cnt":..,
 * "event_type":..,"src_ip":..,...,"proto":..; the caller appends its object
 * and then gh_eve_fmt_end(). @p pkt may be NULL for non-packet events.
 */
GH_API void gh_eve_fmt_begin(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                             const char *event_type);
/** gh_eve_fmt_begin with a "flow_id" (after the timestamp, as Suricata
 *  writes it); @p flow_id 0 writes none. */
GH_API void gh_eve_fmt_begin_flow(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                                  uint64_t flow_id, const char *event_type);

/** The rule behind a verdict, for events. */
typedef struct gh_eve_rule {
    const char *action;   /* "drop", "reject", ... */
    uint32_t sid, gid, rev;
    const char *msg;
    const char *file;
    uint32_t line;
    gh_target target;     /* alerts: "source" and "target" (the target keyword) */
} gh_eve_rule;

/**
 * A "drop" event (Suricata's fields: len, tos, ttl, ipid, tcp fields,
 * reason) with the verdict and, when @p rule is not NULL, the rule.
 */
GH_API void gh_eve_fmt_drop(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                            uint64_t flow_id, gh_drop_reason reason, bool reject,
                            const gh_eve_rule *rule);

/**
 * An "alert" event: alert.action "blocked" when the packet was dropped (as
 * Suricata's --simulate-ips reports it), else "allowed"; the rule's gid,
 * signature_id, rev, signature (msg), @p category and @p severity.
 */
GH_API void gh_eve_fmt_alert(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                             uint64_t flow_id, const gh_eve_rule *rule, bool blocked,
                             const char *category, uint32_t severity);

/** Optional alert fields (Suricata's eve-log alert options payload,
 *  payload-printable and packet). */
enum {
    GH_EVE_ALERT_PAYLOAD = 1u << 0,           /**< "payload": base64 */
    GH_EVE_ALERT_PAYLOAD_PRINTABLE = 1u << 1, /**< "payload_printable": printable bytes,
                                                   others as '.' */
    GH_EVE_ALERT_PACKET = 1u << 2,            /**< "packet": base64 of the captured frame,
                                                   and "packet_info" {"linktype"} */
    GH_EVE_ALERT_TAGGED_PACKETS = 1u << 3,    /**< a "packet" event (gh_eve_fmt_packet) per
                                                   packet a tag keyword tagged (Suricata's
                                                   alert option tagged-packets) */
};

/**
 * A "packet" event, as Suricata writes a tagged packet: the header fields,
 * "packet" (base64 of the captured frame of @p in) and "packet_info" {"linktype"}.
 */
GH_API void gh_eve_fmt_packet(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                              uint64_t flow_id);

/** What an alert says about the data that matched. */
typedef struct gh_eve_alert_data {
    const char *pkt_src;     /**< "wire/pcap", "defrag", ...; NULL writes none */
    unsigned fields;         /**< GH_EVE_ALERT_* to write */
    const uint8_t *payload;  /**< the packet payload, or for a stream match the stream bytes */
    size_t payload_len;
    bool stream;             /**< matched on the reassembled stream ("stream": 1) */
    const char *app_proto;   /**< the flow's application protocol, NULL: none */
    const char *app_json;    /**< the transaction it matched: members written as they
                                  are (',"http":{...}'), NULL: none */
    size_t app_json_len;
    uint64_t tx_id;          /**< that transaction's id ("tx_id", with app_json) */
} gh_eve_alert_data;

/**
 * gh_eve_fmt_alert plus "pkt_src" after the header fields and, as @p x's
 * fields ask, "payload", "payload_printable", "stream" (0/1, written with
 * either payload field) and "packet"/"packet_info" (the frame of @p in).
 * @p x NULL is gh_eve_fmt_alert.
 */
GH_API void gh_eve_fmt_alert_ex(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                                uint64_t flow_id, const gh_eve_rule *rule, bool blocked,
                                const char *category, uint32_t severity,
                                const gh_eve_alert_data *x);

/** A string of an application-layer record (not NUL-terminated). */
typedef struct gh_eve_str {
    const char *p;  /**< NULL: absent (not written) */
    uint32_t n;
} gh_eve_str;

/** An HTTP transaction as events show it (Suricata's "http" object). */
struct gh_eve_http;
typedef struct gh_eve_http {
    uint64_t tx_id;
    gh_eve_str hostname, url, user_agent, content_type, referer, method, protocol, redirect;
    uint32_t status;        /**< 0: no response yet */
    uint64_t length;        /**< response body bytes */
} gh_eve_http;

/** Append ,"http":{...} for @p h (Suricata's field names). */
GH_API void gh_eve_fmt_http(gh_jbuf *b, const gh_eve_http *h);
/** An application-layer event of type @p event_type ("http", "dns", ...) of
 *  the flow @p pkt belongs to: the common header, then @p members as they
 *  are (',"tx_id":0,"http":{...}'). */
GH_API void gh_eve_fmt_app_event(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                                 uint64_t flow_id, const char *event_type, const char *members,
                                 size_t len);
/** An application-layer "anomaly" event: parser event @p name of @p app_proto. */
GH_API void gh_eve_fmt_app_anomaly(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                                   uint64_t flow_id, const char *app_proto, uint64_t tx_id,
                                   bool has_tx, const char *name);

/** Append @p n bytes as a quoted base64 JSON string. */
GH_API void gh_jbuf_base64(gh_jbuf *b, const uint8_t *p, size_t n);

/** Close the event object and the line. */
GH_API void gh_eve_fmt_end(gh_jbuf *b);
/** An "anomaly" event of a failure policy applied to @p pkt (flow_id 0:
 *  none): {"type":"exception_policy","event":TARGET,"policy":POLICY}. */
GH_API void gh_eve_fmt_exc_anomaly(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                                   uint64_t flow_id, gh_exc_cond cond, gh_exc_policy policy);
/** An "anomaly" event of type decode for anomaly @p a of @p pkt. */
GH_API void gh_eve_fmt_anomaly(gh_jbuf *b, const gh_pkt_in *in, const gh_packet *pkt,
                               gh_anomaly a);
/** A "stats" event with every counter. */
GH_API void gh_eve_fmt_stats(gh_jbuf *b, int64_t ts_sec, uint32_t ts_nsec, const gh_counters *c,
                             double uptime_s);
/** gh_eve_fmt_stats with @p extra (NULL: none), JSON members such as
 *  "\"nfq\":{...}", appended inside the "stats" object. */
GH_API void gh_eve_fmt_stats_extra(gh_jbuf *b, int64_t ts_sec, uint32_t ts_nsec,
                                   const gh_counters *c, double uptime_s, const char *extra);

typedef struct gh_eve gh_eve;

/** Open @p path for writing ("-" is stdout). NULL and @p err on failure. */
GH_API gh_eve *gh_eve_open(const char *path, gh_error *err);
/** Append whole lines; safe to call from several workers. */
GH_API int gh_eve_write(gh_eve *e, const char *lines, size_t len);
/** Push buffered lines to the file (long runs: readers see events). */
GH_API int gh_eve_flush(gh_eve *e);
/** Flush and close; returns GH_E_IO (with @p err) if any write failed. NULL is fine. */
GH_API int gh_eve_close(gh_eve *e, gh_error *err);

#endif
