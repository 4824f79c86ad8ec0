/* Inspection buffers and integer fields: names as Suricata's keywords, the
 * directions they exist in, the transaction stage at which each is
 * complete, and the protocol they belong to. */
#include "gatehouse/buffer.h"

#define TS GH_BUFDIR_TS
#define TC GH_BUFDIR_TC
#define H GH_ALPROTO_HTTP1
#define T GH_ALPROTO_TLS

static const gh_buffer_info infos[GH_BUF_N] = {
    [GH_BUF_PAYLOAD] = {"payload", TS | TC, GH_STAGE_NONE, 0, 0, 0},
    [GH_BUF_HTTP_METHOD] = {"http.method", TS, GH_STAGE_LINE, 0, 0, H},
    [GH_BUF_HTTP_URI] = {"http.uri", TS, GH_STAGE_LINE, 0, 0, H},
    [GH_BUF_HTTP_URI_RAW] = {"http.uri.raw", TS, GH_STAGE_LINE, 0, 0, H},
    [GH_BUF_HTTP_REQUEST_LINE] = {"http.request_line", TS, GH_STAGE_LINE, 0, 0, H},
    [GH_BUF_HTTP_HOST] = {"http.host", TS, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_HOST_RAW] = {"http.host.raw", TS, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_USER_AGENT] = {"http.user_agent", TS, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_REFERER] = {"http.referer", TS, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_ACCEPT] = {"http.accept", TS, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_ACCEPT_ENC] = {"http.accept_enc", TS, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_ACCEPT_LANG] = {"http.accept_lang", TS, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_REQUEST_BODY] = {"http.request_body", TS, GH_STAGE_BODY, 1, 0, H},
    [GH_BUF_HTTP_RESPONSE_LINE] = {"http.response_line", TC, GH_STAGE_LINE, 0, 0, H},
    [GH_BUF_HTTP_STAT_CODE] = {"http.stat_code", TC, GH_STAGE_LINE, 0, 0, H},
    [GH_BUF_HTTP_STAT_MSG] = {"http.stat_msg", TC, GH_STAGE_LINE, 0, 0, H},
    [GH_BUF_HTTP_LOCATION] = {"http.location", TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_SERVER] = {"http.server", TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_RESPONSE_BODY] = {"http.response_body", TC, GH_STAGE_BODY, 1, 0, H},
    [GH_BUF_HTTP_PROTOCOL] = {"http.protocol", TS | TC, GH_STAGE_LINE, 0, 0, H},
    [GH_BUF_HTTP_HEADER] = {"http.header", TS | TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_HEADER_RAW] = {"http.header.raw", TS | TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_HEADER_NAMES] = {"http.header_names", TS | TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_COOKIE] = {"http.cookie", TS | TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_CONTENT_TYPE] = {"http.content_type", TS | TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_CONTENT_LEN] = {"http.content_len", TS | TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_CONNECTION] = {"http.connection", TS | TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_HTTP_START] = {"http.start", TS | TC, GH_STAGE_HEADERS, 0, 0, H},
    [GH_BUF_FILE_DATA] = {"file.data", TS | TC, GH_STAGE_BODY, 1, 1, 0},
    [GH_BUF_DNS_QUERY] = {"dns.query", TS, GH_STAGE_LINE, 0, 1, GH_ALPROTO_DNS},
    [GH_BUF_TLS_SNI] = {"tls.sni", TS, GH_STAGE_LINE, 0, 0, T},
    [GH_BUF_TLS_CERT_SUBJECT] = {"tls.cert_subject", TS | TC, GH_STAGE_HEADERS, 0, 0, T},
    [GH_BUF_TLS_CERT_ISSUER] = {"tls.cert_issuer", TS | TC, GH_STAGE_HEADERS, 0, 0, T},
    [GH_BUF_TLS_CERT_SERIAL] = {"tls.cert_serial", TS | TC, GH_STAGE_HEADERS, 0, 0, T},
    [GH_BUF_TLS_CERT_FINGERPRINT] = {"tls.cert_fingerprint", TS | TC, GH_STAGE_HEADERS, 0, 0, T},
    [GH_BUF_TLS_CERTS] = {"tls.certs", TS | TC, GH_STAGE_HEADERS, 0, 1, T},
    [GH_BUF_JA3_HASH] = {"ja3.hash", TS, GH_STAGE_LINE, 0, 0, T},
    [GH_BUF_JA3_STRING] = {"ja3.string", TS, GH_STAGE_LINE, 0, 0, T},
    [GH_BUF_JA3S_HASH] = {"ja3s.hash", TC, GH_STAGE_LINE, 0, 0, T},
    [GH_BUF_JA3S_STRING] = {"ja3s.string", TC, GH_STAGE_LINE, 0, 0, T},
    [GH_BUF_SSH_PROTO] = {"ssh.proto", TS | TC, GH_STAGE_LINE, 0, 0, GH_ALPROTO_SSH},
    [GH_BUF_SSH_SOFTWARE] = {"ssh.software", TS | TC, GH_STAGE_LINE, 0, 0, GH_ALPROTO_SSH},
};

static const gh_field_info fields[GH_FIELD_N] = {
    [GH_FIELD_DNS_OPCODE] = {"dns.opcode", TS | TC, GH_STAGE_LINE, 0, GH_ALPROTO_DNS},
    [GH_FIELD_DNS_RRTYPE] = {"dns.rrtype", TS | TC, GH_STAGE_LINE, 1, GH_ALPROTO_DNS},
    [GH_FIELD_TLS_VERSION] = {"tls.version", TS | TC, GH_STAGE_LINE, 0, T},
    [GH_FIELD_SSL_VERSION] = {"ssl_version", TS | TC, GH_STAGE_LINE, 0, T},
    [GH_FIELD_SSL_STATE] = {"ssl_state", TS | TC, GH_STAGE_LINE, 0, T},
    [GH_FIELD_FTP_PORT_IP] = {"ftpbounce", TS, GH_STAGE_LINE, 0, GH_ALPROTO_FTP},
};

const gh_buffer_info *gh_buffer_get_info(gh_buffer_id id)
{
    return (unsigned)id < GH_BUF_N ? &infos[id] : &infos[GH_BUF_PAYLOAD];
}

const gh_field_info *gh_field_get_info(gh_field_id id)
{
    return (unsigned)id < GH_FIELD_N ? &fields[id] : &fields[0];
}

const char *gh_alproto_name(uint8_t proto)
{
    switch (proto) {
    case GH_ALPROTO_HTTP1: return "http";
    case GH_ALPROTO_DNS: return "dns";
    case GH_ALPROTO_TLS: return "tls";
    case GH_ALPROTO_SMTP: return "smtp";
    case GH_ALPROTO_FTP: return "ftp";
    case GH_ALPROTO_SMB: return "smb";
    case GH_ALPROTO_SSH: return "ssh";
    case GH_ALPROTO_DCERPC: return "dcerpc";
    case GH_ALPROTO_FAILED: return "failed";
    default: return "unknown";
    }
}
