/**
 * @file buffer.h
 * @brief Inspection buffers: what a payload keyword of a signature reads.
 *
 * Every payload keyword (content, pcre, isdataat, bsize, ...) carries one
 * buffer id. GH_BUF_PAYLOAD is the packet or the reassembled stream, as the
 * signature type says; the others are application-layer buffers a parser
 * fills per transaction (engine/app/). The rules side maps keywords to ids
 * (rules/keywords.c), the parsers fill them, detection asks for them by id.
 */
#ifndef GATEHOUSE_BUFFER_H
#define GATEHOUSE_BUFFER_H

#include <stdint.h>

/** Application protocols (a flow's, a rule's, a buffer's). */
typedef enum gh_alproto {
    GH_ALPROTO_UNKNOWN = 0, /* not decided yet */
    GH_ALPROTO_HTTP1,
    GH_ALPROTO_DNS,
    GH_ALPROTO_TLS,
    GH_ALPROTO_SMTP,
    GH_ALPROTO_FTP,
    GH_ALPROTO_SMB,
    GH_ALPROTO_SSH,
    GH_ALPROTO_DCERPC,
    GH_ALPROTO_FAILED,      /* decided: no parser takes it */
    GH_ALPROTO_N
} gh_alproto;

/** Protocol name as rules and events say it ("http", "dns", "failed"). */
const char *gh_alproto_name(uint8_t proto);

typedef enum gh_buffer_id {
    GH_BUF_PAYLOAD = 0,       /**< packet payload or stream (signature type decides) */
    /* HTTP/1.x request line and request-only headers */
    GH_BUF_HTTP_METHOD,
    GH_BUF_HTTP_URI,          /**< normalized as libhtp does by default */
    GH_BUF_HTTP_URI_RAW,
    GH_BUF_HTTP_REQUEST_LINE,
    GH_BUF_HTTP_HOST,         /**< lowercased, port stripped */
    GH_BUF_HTTP_HOST_RAW,
    GH_BUF_HTTP_USER_AGENT,
    GH_BUF_HTTP_REFERER,
    GH_BUF_HTTP_ACCEPT,
    GH_BUF_HTTP_ACCEPT_ENC,
    GH_BUF_HTTP_ACCEPT_LANG,
    GH_BUF_HTTP_REQUEST_BODY, /**< dechunked, decompressed (http.request_body) */
    /* HTTP/1.x status line and response-only headers */
    GH_BUF_HTTP_RESPONSE_LINE,
    GH_BUF_HTTP_STAT_CODE,
    GH_BUF_HTTP_STAT_MSG,
    GH_BUF_HTTP_LOCATION,
    GH_BUF_HTTP_SERVER,
    GH_BUF_HTTP_RESPONSE_BODY, /**< dechunked, decompressed (http.response_body) */
    /* HTTP/1.x, the direction's own (request or response) */
    GH_BUF_HTTP_PROTOCOL,     /**< "HTTP/1.1" of the request or status line */
    GH_BUF_HTTP_HEADER,       /**< "Name: value\r\n" per header, folded, without Cookie/Set-Cookie */
    GH_BUF_HTTP_HEADER_RAW,   /**< the header block as received */
    GH_BUF_HTTP_HEADER_NAMES, /**< "\r\nName1\r\nName2\r\n\r\n" */
    GH_BUF_HTTP_COOKIE,       /**< Cookie (request) / Set-Cookie (response) value */
    GH_BUF_HTTP_CONTENT_TYPE,
    GH_BUF_HTTP_CONTENT_LEN,
    GH_BUF_HTTP_CONNECTION,
    GH_BUF_HTTP_START,        /**< start line + raw headers + "\r\n" */
    GH_BUF_FILE_DATA,         /**< multi: HTTP: the direction's body; SMTP: each attachment, decoded */
    /* DNS (both transports) */
    GH_BUF_DNS_QUERY,         /**< multi: each question's name, dotted (dns.query) */
    /* TLS */
    GH_BUF_TLS_SNI,           /**< ClientHello server_name */
    GH_BUF_TLS_CERT_SUBJECT,  /**< the first certificate the direction's side sent (to_server:
                                   the client's), as Suricata prints its subject */
    GH_BUF_TLS_CERT_ISSUER,
    GH_BUF_TLS_CERT_SERIAL,   /**< "00:1A:..." */
    GH_BUF_TLS_CERT_FINGERPRINT, /**< SHA-1 of the DER, "aa:bb:..." */
    GH_BUF_TLS_CERTS,         /**< multi: each certificate of the direction's chain, DER */
    GH_BUF_JA3_HASH,          /**< MD5 of ja3.string, 32 lowercase hex digits */
    GH_BUF_JA3_STRING,
    GH_BUF_JA3S_HASH,
    GH_BUF_JA3S_STRING,
    /* SSH: the direction's banner (client's to_server, server's to_client) */
    GH_BUF_SSH_PROTO,         /**< protocol version ("2.0") */
    GH_BUF_SSH_SOFTWARE,      /**< software version ("OpenSSH_8.9p1") */
    GH_BUF_N
} gh_buffer_id;

/** Directions a buffer exists in (bit 0: to_server, bit 1: to_client). */
#define GH_BUFDIR_TS 1u
#define GH_BUFDIR_TC 2u

/** The direction (0 to_server, 1 to_client) whose message holds a buffer or
 *  field existing in @p dirs when direction @p dir inspects it: its only
 *  one, or @p dir for a two-way one. */
static inline int gh_bufdir_source(unsigned dirs, int dir)
{
    return dirs == GH_BUFDIR_TS ? 0 : dirs == GH_BUFDIR_TC ? 1 : dir;
}

/** Transaction progress of one direction, in order: a buffer is complete
 *  once its direction's progress reaches its stage. */
typedef enum gh_app_stage {
    GH_STAGE_NONE = 0,
    GH_STAGE_LINE,     /**< request / status line parsed */
    GH_STAGE_HEADERS,  /**< header section complete */
    GH_STAGE_BODY,     /**< body bytes (repeats as the body grows) */
    GH_STAGE_DONE      /**< direction of the transaction complete */
} gh_app_stage;

typedef struct gh_buffer_info {
    const char *name;   /**< Suricata's sticky-buffer name ("http.uri") */
    uint8_t dirs;       /**< GH_BUFDIR_* */
    uint8_t stage;      /**< gh_app_stage at which it is complete */
    uint8_t body;       /**< grows with GH_STAGE_BODY events */
    uint8_t multi;      /**< several instances per transaction: a keyword list
                             matches when it matches one of them */
    uint8_t proto;      /**< gh_alproto it belongs to, 0: several (file.data) */
} gh_buffer_info;

/** Static facts about buffer @p id (< GH_BUF_N). */
const gh_buffer_info *gh_buffer_get_info(gh_buffer_id id);

/**
 * Integer fields of a transaction that keywords compare (dns.opcode,
 * tls.version, ...): a parser hands them out by id as it does buffers.
 * Stages: DNS reports a message complete at once (GH_STAGE_DONE, buffers
 * ready at GH_STAGE_LINE); TLS reports GH_STAGE_LINE at the Client/Server
 * Hello, GH_STAGE_HEADERS at the direction's Certificate message, GH_STAGE_DONE
 * when the handshake is over (or the direction closed).
 */
typedef enum gh_field_id {
    GH_FIELD_DNS_OPCODE,   /**< the message's opcode (0-15) */
    GH_FIELD_DNS_RRTYPE,   /**< multi: each question's type (Suricata 8's dns.rrtype) */
    GH_FIELD_TLS_VERSION,  /**< the version tls.version compares (Suricata's choice) */
    GH_FIELD_SSL_VERSION,  /**< the version ssl_version compares (Suricata's choice) */
    GH_FIELD_SSL_STATE,    /**< GH_SSL_STATE_* of the last handshake message (Suricata's
                                current_flags: reset when a parse call starts a record) */
    GH_FIELD_FTP_PORT_IP,  /**< the address the flow's last PORT line names, its first
                                four numbers as Suricata's ftpbounce reads them; absent
                                unless the last command was PORT */
    GH_FIELD_N
} gh_field_id;

/** ssl_state flags (GH_FIELD_SSL_STATE). */
enum {
    GH_SSL_STATE_CLIENT_HELLO = 1,
    GH_SSL_STATE_SERVER_HELLO = 2,
    GH_SSL_STATE_CLIENT_KEYX = 4,
    GH_SSL_STATE_SERVER_KEYX = 8,
    GH_SSL_STATE_UNKNOWN = 16,
};

typedef struct gh_field_info {
    const char *name;   /**< the keyword ("dns.opcode") */
    uint8_t dirs;       /**< GH_BUFDIR_* */
    uint8_t stage;      /**< gh_app_stage at which it is known */
    uint8_t multi;
    uint8_t proto;      /**< gh_alproto */
} gh_field_info;

const gh_field_info *gh_field_get_info(gh_field_id id);

#endif
