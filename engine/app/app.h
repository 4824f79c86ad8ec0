/* Application layer: protocol detection and one parser per protocol behind
 * an ops table (DESIGN.md section 6). Parsers are fed the in-order bytes of
 * each TCP direction that stream inspection receives, keep their state in a
 * per-flow extension from a bounded pool (app.c), report transaction
 * progress through a sink, and hand out buffers by id (gatehouse/buffer.h).
 * They never include detection code: detection runs in the sink callback,
 * while the transaction's buffers are valid. Internal to libgatehouse. */
#ifndef GATEHOUSE_APP_H
#define GATEHOUSE_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gatehouse/buffer.h"
#include "gatehouse/common.h"
#include "gatehouse/eve.h"

/* Probe results. */
enum { GH_PROBE_NO = 0, GH_PROBE_YES = 1, GH_PROBE_MORE = 2 };

/* Transports a parser takes (gh_app_ops.transports). */
enum { GH_APP_TCP = 1, GH_APP_UDP = 2 };

/* What a probe knows besides the bytes: the transport and the ports of
 * the flow (server: the port of the side the flow's first packet went to). */
typedef struct gh_app_probe_ctx {
    uint8_t transport;       /* GH_APP_TCP or GH_APP_UDP */
    uint16_t server_port, client_port;
} gh_app_probe_ctx;

/* Limits of one parser instance (defaults: gh_app_limits_init). */
typedef struct gh_app_limits {
    uint32_t header_limit;        /* start line + header section per message (bytes) */
    uint32_t request_body_limit;  /* request body bytes kept for inspection per tx */
    uint32_t response_body_limit; /* response body bytes kept for inspection per tx */
    uint32_t decompress_limit;    /* decompressed bytes produced per body (bomb cap) */
    uint32_t max_tx;              /* live transactions per flow (pipelining) */
    bool tls_ja3;                 /* ja3/ja3s in tls events: Suricata turns JA3 on
                                     when a rule uses a ja3 keyword (off by default) */
} gh_app_limits;

void gh_app_limits_init(gh_app_limits *l);

/* A parser's growable byte buffer (lines, transaction fields, bodies): it
 * grows by doubling and keeps its capacity when emptied (len = 0), so a
 * reused parser state stops allocating. */
typedef struct gh_buf {
    uint8_t *p;
    uint32_t len, cap;
} gh_buf;

/* Room for @p need bytes in all: 0, GH_E_NOMEM, or GH_E_LIMIT past 2 GiB. */
int gh_buf_reserve(gh_buf *b, size_t need);
/* Append @p n bytes (@p d may point into @p b itself): 0 or as gh_buf_reserve. */
int gh_buf_put(gh_buf *b, const void *d, size_t n);
/* Release the bytes; the buffer is empty and may be used again. */
void gh_buf_free(gh_buf *b);
/* The bytes from offset @p off of @p b: a buffer nothing was put into has
 * no allocation, and NULL + 0 is undefined, so it gives "" instead. */
static inline const uint8_t *gh_buf_at(const gh_buf *b, uint32_t off)
{
    return b->p ? b->p + off : (const uint8_t *)"";
}

/* The part of every transaction that belongs to the engine, not the parser:
 * the parser embeds it first in its tx struct, calls gh_app_tx_start when a
 * tx starts, sets id and progress, and never reads the rest. A tx slot may
 * be reused once both directions reported GH_STAGE_DONE and the callback
 * returned; the transaction is logged (an event) then. A transaction that
 * has only one direction (a DNS message) reports GH_STAGE_DONE for both.
 * Detection keeps its per-transaction state here. */
typedef struct gh_app_tx {
    uint64_t id;              /* 0, 1, ... per flow: set by the parser */
    uint8_t progress[2];      /* gh_app_stage per direction: set by the parser */
    uint8_t inspected[2];     /* detection: stage last inspected per direction */
    uint32_t body_inspected[2]; /* detection: body bytes when last inspected */
    uint64_t ruleset;         /* detection: the ruleset (gh_dpi.serial, 0: none) whose
                                 signature indexes alerted, fp_wait and body_hits hold */
    uint16_t n_alerted;       /* detection: signatures that alerted on this tx */
    uint16_t cap_alerted;
    uint32_t *alerted;        /* detection-owned array (capacity kept across txs) */
    /* detection: the buffers complete before the body are scanned once; the
     * signatures their fast patterns found that are ready at a later stage
     * (or at the body, which comes back) wait here (engine/detect/prefilter.c) */
    uint64_t fp_scanned[2];   /* per direction: bit b when buffer b was scanned */
    uint16_t n_fp_wait, cap_fp_wait;
    struct gh_tx_fp_wait *fp_wait; /* detection-owned array (capacity kept across txs) */
    struct gh_tx_body_hits *body_hits; /* detection-owned: fast-pattern hits of the body
                                          windows (engine/detect/prefilter.c), NULL: none */
    bool logged;              /* events: transaction record written */
    uint64_t events;          /* detection: the app-layer events raised on it (bits:
                                 gh_app_event_id), for app-layer-event */
} gh_app_tx;

/* Event @p name of protocol @p proto in Suricata 7's tables (its bit in
 * gh_app_tx.events), -1 when Suricata has no such event; *@p raised (may be
 * NULL) tells whether one of our parsers raises it. Names compare as
 * Suricata's lookups do: HTTP, TLS and SMTP ignoring case, DNS and FTP
 * exactly. */
int gh_app_event_id(gh_alproto proto, const char *name, bool *raised);

/* Transaction rings (max_tx slots) are allocated with malloc and each slot
 * is zeroed when first used: slots fill in order from 0 (an empty ring
 * starts over at 0), so a connection with one transaction at a time maps
 * one slot, not max_tx. Slot @p idx of the ring at @p slots (@p size bytes
 * each), after zeroing those from *@p ninit up to it. */
static inline void *gh_app_ring_slot(void *slots, size_t size, uint32_t idx, uint32_t *ninit)
{
    for (; *ninit <= idx; (*ninit)++)
        memset((uint8_t *)slots + (size_t)*ninit * size, 0, size);
    return (uint8_t *)slots + (size_t)idx * size;
}

/* Parsers call these when a transaction starts (its slot may have served
 * an earlier one: detection's array is kept) and when the state is freed. */
void gh_app_tx_start(gh_app_tx *tx, uint64_t id);
void gh_app_tx_release(gh_app_tx *tx);

/* Where a parser reports progress. Called synchronously from parse/close;
 * the tx and its buffers stay valid during the call. */
/* Conditions the failure policies act on (gatehouse/policy.h): the parser
 * stopped on an error (Suricata's APP_LAYER_ERROR), no parser state was left
 * for the flow, a decoding limit cut a body (decompression bomb, SMTP file
 * content). */
typedef enum gh_app_exc {
    GH_APP_EXC_ERROR = 0,
    GH_APP_EXC_MEMCAP,
    GH_APP_EXC_DECODE_CAP,
} gh_app_exc;

typedef struct gh_app_sink {
    void *ctx;
    /* transaction @p tx advanced in direction @p dir to @p stage (GH_STAGE_BODY:
     * new body bytes appended; may repeat) */
    void (*on_progress)(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage);
    /* a named protocol anomaly (Suricata's event name, e.g. "REQUEST_FIELD_TOO_LONG");
     * @p tx may be NULL */
    void (*on_anomaly)(void *ctx, gh_app_tx *tx, int dir, const char *name);
    /* a failure policy's condition in direction @p dir (may be NULL) */
    void (*on_exception)(void *ctx, int dir, gh_app_exc kind);
} gh_app_sink;

static inline void gh_app_exception(const gh_app_sink *sink, int dir, gh_app_exc kind)
{
    if (sink->on_exception)
        sink->on_exception(sink->ctx, dir, kind);
}

typedef struct gh_app_ops {
    const char *name;   /* "http" as in alert app_proto */
    gh_alproto proto;
    uint8_t transports;  /* GH_APP_TCP | GH_APP_UDP */
    /* The server speaks first (SMTP, FTP): its greeting, which no probe
     * takes, waits for the client's bytes to decide and is then parsed
     * (the first GH_APP_PROBE_MAX bytes of it). */
    bool server_first;
    /* Do the first @p n bytes of direction @p dir (0 to_server, 1 to_client)
     * look like this protocol? GH_PROBE_YES / NO / MORE (need more bytes).
     * On UDP, @p b is the flow's first datagram of that direction. */
    int (*probe)(int dir, const uint8_t *b, size_t n, const gh_app_probe_ctx *pc);
    /* 0: the protocol is detected only (no parser; the members below are
     * NULL and the flow has no state). */
    size_t state_size;
    /* Set up a zeroed state of state_size bytes; may allocate (once per state,
     * capacity kept across flows). 0 or a negative GH_E_*. */
    int (*init)(void *state, const gh_app_limits *lim);
    /* Start a new flow on a state that served another: forget everything,
     * keep allocations. */
    void (*reset)(void *state);
    /* In-order bytes of direction @p dir (TCP). */
    void (*parse)(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink);
    /* One whole datagram of direction @p dir (UDP; NULL for TCP-only parsers). */
    void (*datagram)(void *state, int dir, const uint8_t *b, size_t n, const gh_app_sink *sink);
    /* @p len bytes of direction @p dir will never be seen (a hole). */
    void (*gap)(void *state, int dir, uint64_t len, const gh_app_sink *sink);
    /* Direction @p dir ended (FIN/RST or flow end): a body delimited by the
     * connection's close completes; unfinished transactions are reported
     * GH_STAGE_DONE. */
    void (*close)(void *state, int dir, const gh_app_sink *sink);
    /* Buffer @p id of @p tx as seen in direction @p dir (for buffers that
     * exist in both: the request's or the response's); instance @p idx of a
     * multi-buffer (gh_buffer_info.multi: 0, 1, ... until false), 0 for the
     * others. False when the tx has no such buffer (yet). *@p b stays valid
     * until the next parse/datagram/close/reset. */
    bool (*get_buffer)(void *state, gh_app_tx *tx, gh_buffer_id id, int dir, uint32_t idx,
                       const uint8_t **b, uint32_t *len);
    /* Message body bytes of @p tx in direction @p dir as transferred
     * (dechunked, before decompression); NULL for protocols without bodies. */
    uint64_t (*body_length)(void *state, gh_app_tx *tx, int dir);
    /* Integer field @p id of @p tx in direction @p dir, instance @p idx of a
     * multi-valued one (gh_field_info.multi); false when absent. NULL when the
     * parser has no fields. */
    bool (*get_field)(void *state, gh_app_tx *tx, gh_field_id id, int dir, uint32_t idx,
                      uint64_t *v);
    /* Events: append to @p b the members that follow an event's common
     * header (starting with ','): with @p alert, what an alert on @p tx
     * shows (i 0 only); else event @p i of the completed transaction (a
     * protocol may log several, e.g. one DNS "query" event per question).
     * False when there is no such event. */
    bool (*log)(void *state, gh_app_tx *tx, bool alert, uint32_t i, gh_jbuf *b);
    /* Events show addresses as the packet that completed the transaction
     * carried them (true), or client to server (false, e.g. HTTP). */
    bool log_packet_dir;
    /* Live transactions, oldest first (for flow end and logging). */
    size_t (*tx_count)(void *state);
    gh_app_tx *(*tx_get)(void *state, size_t i);
    void (*free)(void *state);
} gh_app_ops;

extern const gh_app_ops gh_app_http1_ops;
extern const gh_app_ops gh_app_dns_ops;
extern const gh_app_ops gh_app_tls_ops;
extern const gh_app_ops gh_app_smtp_ops;
extern const gh_app_ops gh_app_ftp_ops;
extern const gh_app_ops gh_app_smb_ops;
extern const gh_app_ops gh_app_ssh_ops;
extern const gh_app_ops gh_app_dcerpc_ops;

/* ---- the stage: detection, per-flow states, records for events ---------- */

/* Bytes of each direction kept for protocol detection until it decides
 * (a server's greeting beyond this is lost when the client's bytes decide):
 * the most nprobe holds, as multi-line SMTP greetings run long. */
#define GH_APP_PROBE_MAX 255

/* A flow's application layer, inside the stream stage's per-flow slot. */
typedef struct gh_app_flow {
    uint8_t proto;             /* gh_alproto */
    uint8_t said_no[2];        /* per direction: no parser takes its first bytes */
    uint8_t nprobe[2];
    uint8_t probe[2][GH_APP_PROBE_MAX];
    bool dead[2];              /* direction closed or unparseable */
    bool reversed;             /* the server spoke first in our to_server direction
                                  (a session picked up mid-stream): parser directions swap */
    gh_app_probe_ctx pc;       /* transport and ports: set by the caller at the flow's start */
    uint32_t state;            /* 1-based index of the parser state in the pool, 0: none */
} gh_app_flow;

typedef struct gh_app_stats {
    uint64_t flows[GH_ALPROTO_N]; /* flows per decided protocol (FAILED: none took it) */
    uint64_t no_state;         /* flows detected but not parsed: the state pool was full */
    uint64_t anomalies;        /* parser anomalies */
    uint64_t txs;              /* transactions logged */
    uint64_t records_dropped;  /* transaction records not kept for events (per-packet cap) */
} gh_app_stats;

/* What events show of a transaction (copied: valid until gh_app_records_reset):
 * the members gh_app_ops.log wrote, for an alert and, once the transaction
 * completed, for its events (each event's members end with a '\n'). */
typedef struct gh_app_rec {
    uint8_t proto;
    bool log;                  /* complete: its events are due */
    bool packet_dir;           /* events in the packet's direction (gh_app_ops.log_packet_dir) */
    uint64_t tx_id;
    const char *alert;         /* an alert's members, NULL: none */
    uint32_t alert_len;
    const char *events;        /* with log: the events' members, '\n' after each (NULL:
                                  none) */
    uint32_t events_len;
} gh_app_rec;

typedef struct gh_app_anom {
    const char *name;
    uint64_t tx_id;
    bool has_tx;
    int dir;
} gh_app_anom;

typedef struct gh_app gh_app;

/* Parser states for at most @p max_flows flows at once (allocated on first
 * use, then reused). NULL and @p err on failure. */
gh_app *gh_app_new(uint32_t max_flows, const gh_app_limits *lim, gh_error *err);
void gh_app_free(gh_app *a);

/* In-order bytes of direction @p dir of the flow: protocol detection until
 * it decides, then the parser, which reports to @p sink. */
void gh_app_data(gh_app *a, gh_app_flow *af, int dir, const uint8_t *b, size_t n,
                 const gh_app_sink *sink);
/* One datagram of direction @p dir of a UDP flow: detection on the first
 * datagram of each direction, then the parser. */
void gh_app_datagram(gh_app *a, gh_app_flow *af, int dir, const uint8_t *b, size_t n,
                     const gh_app_sink *sink);
/* Could a UDP flow's datagram of direction @p dir be some parser's (before
 * spending flow state on it)? */
bool gh_app_udp_candidate(const gh_app_probe_ctx *pc, int dir, const uint8_t *b, size_t n);
/* A hole of @p len bytes in direction @p dir. */
void gh_app_gap(gh_app *a, gh_app_flow *af, int dir, uint64_t len, const gh_app_sink *sink);
/* Direction @p dir ended (FIN, RST or flow end). */
void gh_app_close(gh_app *a, gh_app_flow *af, int dir, const gh_app_sink *sink);
/* The flow ends: its parser state goes back to the pool. */
void gh_app_flow_release(gh_app *a, gh_app_flow *af);

/* The parser of a detected flow and its state; NULL when none. */
const gh_app_ops *gh_app_flow_ops(const gh_app_flow *af);
void *gh_app_flow_state(gh_app *a, const gh_app_flow *af);

/* Records of this packet's transactions, for events: gh_app_record writes
 * what an alert on @p tx shows and, with @p log (the transaction is
 * complete), its events; returns its index or -1 (cap reached). */
int gh_app_record(gh_app *a, const gh_app_flow *af, gh_app_tx *tx, bool log);
/* What records hold (default everything): with @p alert false no alert's
 * members, and events only for protocols in @p protos (1u << gh_alproto);
 * a record whose events are not written is still complete and counted
 * (gh_app_stats.txs), with no events. */
void gh_app_set_log(gh_app *a, bool alert, uint32_t protos);
void gh_app_record_anomaly(gh_app *a, gh_app_tx *tx, int dir, const char *name);
void gh_app_records_reset(gh_app *a);
size_t gh_app_record_count(const gh_app *a);
const gh_app_rec *gh_app_get_record(gh_app *a, size_t i);
size_t gh_app_anomaly_count(const gh_app *a);
const gh_app_anom *gh_app_get_anomaly(const gh_app *a, size_t i);
const gh_app_stats *gh_app_get_stats(const gh_app *a);

#endif
