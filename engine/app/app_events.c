/* Suricata 7's application-layer event names per protocol (the tables
 * app-layer-event accepts: app-layer-htp.c http_decoder_event_table,
 * app-layer-ssl.c tls_decoder_event_table, app-layer-smtp.c
 * smtp_decoder_event_table, rust dns DNSEvent, ftp FtpEvent, smb SMBEvent
 * and ssh SSHEvent), and which of them our parsers raise. An event's index
 * in its table is its bit in gh_app_tx.events. */
#include <string.h>
#include <strings.h>

#include "app/app.h"

typedef struct ev {
    const char *name;
    bool raised; /* one of our parsers raises it (engine/app/<proto>.c) */
} ev;

static const ev http_events[] = {
    {"UNKNOWN_ERROR", true}, {"GZIP_DECOMPRESSION_FAILED", true},
    {"REQUEST_FIELD_MISSING_COLON", true}, {"RESPONSE_FIELD_MISSING_COLON", true},
    {"INVALID_REQUEST_CHUNK_LEN", true}, {"INVALID_RESPONSE_CHUNK_LEN", true},
    {"INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST", true},
    {"INVALID_TRANSFER_ENCODING_VALUE_IN_RESPONSE", false},
    {"INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST", true},
    {"INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE", true},
    {"DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST", true},
    {"DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE", true}, {"100_CONTINUE_ALREADY_SEEN", true},
    {"UNABLE_TO_MATCH_RESPONSE_TO_REQUEST", true}, {"INVALID_SERVER_PORT_IN_REQUEST", false},
    {"INVALID_AUTHORITY_PORT", false}, {"REQUEST_HEADER_INVALID", false},
    {"RESPONSE_HEADER_INVALID", false}, {"MISSING_HOST_HEADER", true},
    {"HOST_HEADER_AMBIGUOUS", true}, {"INVALID_REQUEST_FIELD_FOLDING", true},
    {"INVALID_RESPONSE_FIELD_FOLDING", true}, {"REQUEST_FIELD_TOO_LONG", true},
    {"RESPONSE_FIELD_TOO_LONG", true}, {"FILE_NAME_TOO_LONG", false},
    {"REQUEST_LINE_INVALID", false}, {"REQUEST_BODY_UNEXPECTED", false},
    {"REQUEST_SERVER_PORT_TCP_PORT_MISMATCH", false}, {"REQUEST_URI_HOST_INVALID", false},
    {"REQUEST_HEADER_HOST_INVALID", true}, {"REQUEST_AUTH_UNRECOGNIZED", false},
    {"REQUEST_HEADER_REPETITION", true}, {"RESPONSE_HEADER_REPETITION", true},
    {"DOUBLE_ENCODED_URI", false}, {"URI_DELIM_NON_COMPLIANT", true},
    {"METHOD_DELIM_NON_COMPLIANT", true}, {"REQUEST_LINE_LEADING_WHITESPACE", true},
    {"TOO_MANY_ENCODING_LAYERS", false}, {"ABNORMAL_CE_HEADER", false},
    {"RESPONSE_MULTIPART_BYTERANGES", false}, {"RESPONSE_ABNORMAL_TRANSFER_ENCODING", true},
    {"RESPONSE_CHUNKED_OLD_PROTO", true}, {"RESPONSE_INVALID_PROTOCOL", false},
    {"RESPONSE_INVALID_STATUS", true}, {"REQUEST_LINE_INCOMPLETE", true},
    {"LZMA_MEMLIMIT_REACHED", false}, {"COMPRESSION_BOMB", true}, {"RANGE_INVALID", false},
    {"REQUEST_CHUNK_EXTENSION", false}, {"REQUEST_TOO_MANY_HEADERS", false},
    {"RESPONSE_TOO_MANY_HEADERS", false}, {"MULTIPART_GENERIC_ERROR", false},
    {"MULTIPART_NO_FILEDATA", false}, {"MULTIPART_INVALID_HEADER", false},
    {"TOO_MANY_WARNINGS", false}, {"FAILED_PROTOCOL_CHANGE", false},
};

static const ev tls_events[] = {
    {"INVALID_SSLV2_HEADER", true}, {"INVALID_TLS_HEADER", false},
    {"INVALID_RECORD_VERSION", true}, {"INVALID_RECORD_TYPE", true},
    {"INVALID_RECORD_LENGTH", true}, {"INVALID_HANDSHAKE_MESSAGE", true},
    {"HEARTBEAT_MESSAGE", false}, {"INVALID_HEARTBEAT_MESSAGE", true},
    {"OVERFLOW_HEARTBEAT_MESSAGE", true}, {"DATALEAK_HEARTBEAT_MISMATCH", true},
    {"HANDSHAKE_INVALID_LENGTH", true}, {"MULTIPLE_SNI_EXTENSIONS", true},
    {"INVALID_SNI_TYPE", true}, {"INVALID_SNI_LENGTH", true},
    {"TOO_MANY_RECORDS_IN_PACKET", false}, {"INVALID_CERTIFICATE", true},
    {"CERTIFICATE_INVALID_LENGTH", true}, {"CERTIFICATE_INVALID_VERSION", false},
    {"CERTIFICATE_INVALID_SERIAL", false}, {"CERTIFICATE_INVALID_ALGORITHMIDENTIFIER", false},
    {"CERTIFICATE_INVALID_X509NAME", false}, {"CERTIFICATE_INVALID_DATE", false},
    {"CERTIFICATE_INVALID_EXTENSIONS", false}, {"CERTIFICATE_INVALID_DER", true},
    {"CERTIFICATE_INVALID_SUBJECT", true}, {"CERTIFICATE_INVALID_ISSUER", true},
    {"CERTIFICATE_INVALID_VALIDITY", true}, {"ERROR_MESSAGE_ENCOUNTERED", true},
    {"INVALID_SSL_RECORD", true},
};

static const ev smtp_events[] = {
    {"INVALID_REPLY", true}, {"UNABLE_TO_MATCH_REPLY_WITH_REQUEST", false},
    {"MAX_COMMAND_LINE_LEN_EXCEEDED", false}, {"MAX_REPLY_LINE_LEN_EXCEEDED", false},
    {"INVALID_PIPELINED_SEQUENCE", true}, {"BDAT_CHUNK_LEN_EXCEEDED", true},
    {"NO_SERVER_WELCOME_MESSAGE", true}, {"TLS_REJECTED", true},
    {"DATA_COMMAND_REJECTED", true}, {"FAILED_PROTOCOL_CHANGE", false},
    {"MIME_PARSE_FAILED", true}, {"MIME_MALFORMED_MSG", true}, {"MIME_INVALID_BASE64", true},
    {"MIME_INVALID_QP", true}, {"MIME_LONG_LINE", true}, {"MIME_LONG_ENC_LINE", true},
    {"MIME_LONG_HEADER_NAME", true}, {"MIME_LONG_HEADER_VALUE", true},
    {"MIME_LONG_BOUNDARY", true}, {"MIME_LONG_FILENAME", true}, {"DUPLICATE_FIELDS", true},
    {"UNPARSABLE_CONTENT", true}, {"TRUNCATED_LINE", true},
};

static const ev dns_events[] = {
    {"malformed_data", true}, {"not_request", true},     {"not_response", true},
    {"z_flag_set", true},     {"invalid_opcode", true},  {"name_too_long", true},
    {"infinite_loop", true},  {"too_many_labels", true},
};

static const ev ftp_events[] = {
    {"request_command_too_long", true},
    {"response_command_too_long", true},
};

/* rust smb SMBEvent: none raised (SMB is detected, not parsed) */
static const ev smb_events[] = {
    {"internal_error", false}, {"malformed_data", false}, {"record_overflow", false},
    {"malformed_ntlmssp_request", false}, {"malformed_ntlmssp_response", false},
    {"duplicate_negotiate", false}, {"negotiate_malformed_dialects", false},
    {"file_overlap", false}, {"request_to_client", false}, {"response_to_server", false},
    {"negotiate_max_read_size_too_large", false}, {"negotiate_max_write_size_too_large", false},
    {"read_request_too_large", false}, {"read_response_too_large", false},
    {"read_queue_size_exceeded", false}, {"read_queue_cnt_exceeded", false},
    {"write_request_too_large", false}, {"write_queue_size_exceeded", false},
    {"write_queue_cnt_exceeded", false}, {"unusual_ntlmssp_order", false},
    {"too_many_transactions", false},
};

/* rust ssh SSHEvent: none raised (the banner's events are not emulated) */
static const ev ssh_events[] = {
    {"invalid_banner", false},
    {"long_banner", false},
    {"invalid_record", false},
    {"long_kex_record", false},
};

typedef struct ev_table {
    const ev *e;
    unsigned n;
    bool nocase; /* C tables are looked up ignoring case, the rust ones exactly */
} ev_table;

static ev_table table_of(gh_alproto proto)
{
#define T(a, c) (ev_table){a, sizeof(a) / sizeof(a[0]), c}
    switch (proto) {
    case GH_ALPROTO_HTTP1: return T(http_events, true);
    case GH_ALPROTO_TLS: return T(tls_events, true);
    case GH_ALPROTO_SMTP: return T(smtp_events, true);
    case GH_ALPROTO_DNS: return T(dns_events, false);
    case GH_ALPROTO_FTP: return T(ftp_events, false);
    case GH_ALPROTO_SMB: return T(smb_events, false);
    case GH_ALPROTO_SSH: return T(ssh_events, false);
    default: return (ev_table){NULL, 0, false};
    }
#undef T
}

int gh_app_event_id(gh_alproto proto, const char *name, bool *raised)
{
    ev_table t = table_of(proto);
    for (unsigned i = 0; i < t.n; i++)
        if (t.nocase ? !strcasecmp(name, t.e[i].name) : !strcmp(name, t.e[i].name)) {
            if (raised)
                *raised = t.e[i].raised;
            return (int)i;
        }
    return -1;
}
