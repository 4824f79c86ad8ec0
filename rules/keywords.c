/* Rule keywords: what the engine knows of Suricata's keywords (supported,
 * valid but not implemented yet, payload or not, allowed in firewall
 * rules), the syntax of the values we check, and gh_rules_check, which
 * applies the tier rules, validates values and evaluates addresses/ports. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gatehouse/tag.h"
#include "gatehouse/threshold.h"
#include "rules_int.h"

/* ---- the keyword table ------------------------------------------------------ */

enum {
    KW_SUPPORTED = 1 << 0, /* DESIGN.md section 2, groups 1 and 2 */
    KW_PAYLOAD = 1 << 1,   /* inspects payload / app-layer data */
    KW_FW = 1 << 2,        /* allowed in firewall rules */
    KW_NEEDV = 1 << 3,     /* "name:value;" only */
    KW_NOV = 1 << 4,       /* "name;" only */
    KW_CMOD = 1 << 5,      /* modifies the previous content */
    KW_ONCE = 1 << 6,      /* at most once per rule */
    KW_STICKY = 1 << 7,    /* sticky buffer: later payload keywords inspect kw.buf */
    KW_XFORM = 1 << 8,     /* transform of the current sticky buffer */
    KW_FIELD = 1 << 9,     /* compares the transaction field of its name (gh_field_info) */
};

typedef struct kw {
    const char *name;
    unsigned flags;
    gh_kw_list list; /* the signature list Suricata puts it in (signature types) */
    gh_buffer_id buf; /* sticky buffer / content modifier: the buffer it selects (0: none) */
} kw;

#define G1 (KW_SUPPORTED | KW_NEEDV)              /* supported header/meta */
#define G1FW (KW_SUPPORTED | KW_NEEDV | KW_FW)    /* ... also in firewall rules */
#define G2 (KW_SUPPORTED | KW_PAYLOAD)            /* supported payload */
#define HDR 0                                     /* known, not payload, not yet */
#define PAY KW_PAYLOAD                            /* known payload/app-layer, not yet */
#define STK (KW_SUPPORTED | KW_PAYLOAD | KW_STICKY | KW_NOV) /* supported sticky buffer */
#define MOD (KW_SUPPORTED | KW_PAYLOAD | KW_CMOD | KW_NOV)   /* supported buffer modifier */
#define XF (KW_SUPPORTED | KW_PAYLOAD | KW_XFORM)             /* supported transform */
#define FLD (KW_SUPPORTED | KW_PAYLOAD | KW_NEEDV | KW_FIELD) /* supported field comparison */

static const kw keywords[] = {
    /* group 1: header, flow and metadata */
    {"msg", G1FW | KW_ONCE, KL_NONE, 0},
    {"sid", G1FW | KW_ONCE, KL_NONE, 0},
    {"rev", G1FW | KW_ONCE, KL_NONE, 0},
    {"gid", G1FW | KW_ONCE, KL_NONE, 0},
    {"classtype", G1FW | KW_ONCE, KL_NONE, 0},
    {"priority", G1FW | KW_ONCE, KL_NONE, 0},
    {"reference", G1FW, KL_NONE, 0},
    {"metadata", G1FW, KL_NONE, 0},
    {"flow", G1FW | KW_ONCE, KL_FLOW, 0},
    {"flags", G1FW | KW_ONCE, KL_MATCH_PKT, 0},
    {"dsize", G1FW | KW_ONCE, KL_MATCH_PKT, 0},
    {"ttl", G1FW, KL_MATCH_PKT, 0},
    {"itype", G1FW, KL_MATCH_PKT, 0},
    {"icode", G1FW, KL_MATCH_PKT, 0},
    {"ip_proto", G1FW, KL_IPONLY, 0},
    /* group 2: payload */
    {"content", G2 | KW_NEEDV, KL_PMATCH, 0},
    {"nocase", G2 | KW_NOV | KW_CMOD, KL_NONE, 0},
    {"offset", G2 | KW_NEEDV | KW_CMOD, KL_NONE, 0},
    {"depth", G2 | KW_NEEDV | KW_CMOD, KL_NONE, 0},
    {"distance", G2 | KW_NEEDV | KW_CMOD, KL_NONE, 0},
    {"within", G2 | KW_NEEDV | KW_CMOD, KL_NONE, 0},
    {"fast_pattern", G2 | KW_CMOD, KL_NONE, 0},
    {"startswith", G2 | KW_NOV | KW_CMOD, KL_NONE, 0},
    {"endswith", G2 | KW_NOV | KW_CMOD, KL_NONE, 0},
    {"isdataat", G2 | KW_NEEDV, KL_PMATCH, 0},
    {"pcre", G2 | KW_NEEDV, KL_PMATCH, 0},
    {"rawbytes", G2 | KW_NOV | KW_CMOD, KL_NONE, 0},
    /* firewall-only so far (signatures: not implemented yet) */
    {"fragbits", KW_FW | KW_NEEDV, KL_MATCH_PKT, 0},
    /* known header, flow, state and control keywords, not implemented yet */
    {"fragoffset", HDR, KL_MATCH_PKT, 0}, {"id", HDR, KL_MATCH_PKT, 0},
    {"ipopts", HDR, KL_MATCH_PKT, 0},
    {"sameip", HDR, KL_MATCH_PKT, 0}, {"tos", HDR, KL_MATCH_PKT, 0},
    {"seq", HDR, KL_MATCH_PKT, 0}, {"ack", HDR, KL_MATCH_PKT, 0}, {"window", HDR, KL_MATCH_PKT, 0},
    {"tcp.mss", HDR, KL_MATCH_PKT, 0}, {"tcp.flags", HDR, KL_MATCH_PKT, 0},
    {"icmp_id", HDR, KL_MATCH_PKT, 0}, {"icmp_seq", HDR, KL_MATCH_PKT, 0},
    {"icmpv6.mtu", HDR, KL_MATCH_PKT, 0},
    {"stream_size", G1, KL_MATCH, 0},
    {"flowbits", G1, KL_FLOWBITS, 0}, {"flowint", G1, KL_MATCH, 0}, {"flowvar", HDR, KL_MATCH, 0},
    {"pktvar", HDR, KL_MATCH, 0}, {"xbits", G1, KL_IPONLY, 0},
    {"hostbits", HDR, KL_IPONLY, 0}, {"noalert", KW_SUPPORTED | KW_NOV, KL_NONE, 0},
    {"threshold", G1, KL_IPONLY, 0}, {"detection_filter", G1, KL_IPONLY, 0},
    {"target", G1, KL_NONE, 0}, {"tag", G1, KL_IPONLY, 0}, {"bypass", HDR, KL_MATCH, 0},
    {"config", HDR, KL_MATCH, 0},
    {"app-layer-protocol", G1, KL_PD, 0}, {"app-layer-event", G1, KL_APP, 0},
    {"app-layer-state", HDR, KL_APP, 0},
    {"decode-event", HDR, KL_DE, 0}, {"stream-event", HDR, KL_MATCH, 0},
    {"engine-event", HDR, KL_MATCH, 0},
    {"geoip", HDR, KL_IPONLY, 0},
    {"iprep", HDR, KL_IPONLY, 0}, {"flow.age", HDR, KL_MATCH, 0}, {"flow.pkts", HDR, KL_MATCH, 0},
    {"flow.bytes", HDR, KL_MATCH, 0},
    {"flow.pkts_toserver", HDR, KL_MATCH, 0}, {"flow.pkts_toclient", HDR, KL_MATCH, 0},
    {"flow.bytes_toserver", HDR, KL_MATCH, 0},
    {"flow.bytes_toclient", HDR, KL_MATCH, 0}, {"requires", HDR, KL_NONE, 0},
    {"vlan.id", HDR, KL_MATCH_PKT, 0},
    {"vlan.layers", HDR, KL_MATCH_PKT, 0},
    {"nfq_set_mark", HDR, KL_MATCH, 0},
    /* known payload and app-layer keywords, not implemented yet */
    {"byte_test", G2 | KW_NEEDV, KL_PMATCH, 0}, {"byte_jump", G2 | KW_NEEDV, KL_PMATCH, 0},
    {"byte_extract", G2 | KW_NEEDV, KL_PMATCH, 0},
    {"byte_math", G2 | KW_NEEDV, KL_PMATCH, 0},
    {"bsize", G2 | KW_NEEDV, KL_PMATCH, 0}, {"base64_decode", G2, KL_PMATCH, 0},
    {"base64_data", G2 | KW_NOV, KL_DERIVED, 0},
    {"pkt_data", G2 | KW_NOV | KW_STICKY, KL_PAYLOAD, GH_BUF_PAYLOAD},
    {"replace", PAY, KL_PMATCH, 0}, {"rpc", PAY, KL_PMATCH, 0},
    {"asn1", PAY, KL_PMATCH, 0}, {"dataset", PAY, KL_PMATCH, 0},
    {"datarep", PAY, KL_PMATCH, 0}, {"lua", PAY, KL_PMATCH, 0}, {"luajit", PAY, KL_PMATCH, 0},
    {"absent", PAY, KL_PMATCH, 0}, {"entropy", PAY, KL_PMATCH, 0},
    {"prefilter", PAY, KL_NONE, 0}, {"frame", PAY, KL_APP, 0},
    /* transforms (Suricata 7) */
    {"strip_whitespace", XF | KW_NOV, KL_NONE, 0}, {"compress_whitespace", XF | KW_NOV, KL_NONE, 0},
    {"to_lowercase", XF | KW_NOV, KL_NONE, 0}, {"to_uppercase", XF | KW_NOV, KL_NONE, 0},
    {"to_md5", XF | KW_NOV, KL_NONE, 0}, {"to_sha1", XF | KW_NOV, KL_NONE, 0},
    {"to_sha256", XF | KW_NOV, KL_NONE, 0}, {"pcrexform", XF | KW_NEEDV, KL_NONE, 0},
    {"url_decode", XF | KW_NOV, KL_NONE, 0}, {"xor", XF | KW_NEEDV, KL_NONE, 0},
    {"header_lowercase", XF | KW_NOV, KL_NONE, 0},
    {"strip_pseudo_headers", XF | KW_NOV, KL_NONE, 0},
    {"dotprefix", XF | KW_NOV, KL_NONE, 0},
    {"from_base64", PAY, KL_NONE, 0}, {"domain", PAY, KL_NONE, 0}, {"tld", PAY, KL_NONE, 0},
    {"luaxform", PAY, KL_NONE, 0},
    /* HTTP/1.x: sticky buffers, and the content modifiers of the legacy form */
    {"http.uri", STK, KL_APP, GH_BUF_HTTP_URI}, {"http_uri", MOD, KL_APP, GH_BUF_HTTP_URI},
    {"uricontent", G2 | KW_NEEDV, KL_APP, GH_BUF_HTTP_URI},
    {"urilen", G2 | KW_NEEDV, KL_APP, GH_BUF_HTTP_URI},
    {"http.uri.raw", STK, KL_APP, GH_BUF_HTTP_URI_RAW},
    {"http_raw_uri", MOD, KL_APP, GH_BUF_HTTP_URI_RAW},
    {"http.method", STK, KL_APP, GH_BUF_HTTP_METHOD},
    {"http_method", MOD, KL_APP, GH_BUF_HTTP_METHOD},
    {"http.request_line", STK, KL_APP, GH_BUF_HTTP_REQUEST_LINE},
    {"http_request_line", STK, KL_APP, GH_BUF_HTTP_REQUEST_LINE},
    {"http.request_body", STK, KL_APP, GH_BUF_HTTP_REQUEST_BODY},
    {"http_client_body", MOD, KL_APP, GH_BUF_HTTP_REQUEST_BODY},
    {"http.header", STK, KL_APP, GH_BUF_HTTP_HEADER},
    {"http_header", MOD, KL_APP, GH_BUF_HTTP_HEADER},
    {"http.header.raw", STK, KL_APP, GH_BUF_HTTP_HEADER_RAW},
    {"http_raw_header", MOD, KL_APP, GH_BUF_HTTP_HEADER_RAW},
    {"http.cookie", STK, KL_APP, GH_BUF_HTTP_COOKIE},
    {"http_cookie", MOD, KL_APP, GH_BUF_HTTP_COOKIE},
    {"http.user_agent", STK, KL_APP, GH_BUF_HTTP_USER_AGENT},
    {"http_user_agent", MOD, KL_APP, GH_BUF_HTTP_USER_AGENT},
    {"http.host", STK, KL_APP, GH_BUF_HTTP_HOST}, {"http_host", MOD, KL_APP, GH_BUF_HTTP_HOST},
    {"http.host.raw", STK, KL_APP, GH_BUF_HTTP_HOST_RAW},
    {"http_raw_host", MOD, KL_APP, GH_BUF_HTTP_HOST_RAW},
    {"http.accept", STK, KL_APP, GH_BUF_HTTP_ACCEPT},
    {"http_accept", STK, KL_APP, GH_BUF_HTTP_ACCEPT},
    {"http.accept_lang", STK, KL_APP, GH_BUF_HTTP_ACCEPT_LANG},
    {"http_accept_lang", STK, KL_APP, GH_BUF_HTTP_ACCEPT_LANG},
    {"http.accept_enc", STK, KL_APP, GH_BUF_HTTP_ACCEPT_ENC},
    {"http_accept_enc", STK, KL_APP, GH_BUF_HTTP_ACCEPT_ENC},
    {"http.referer", STK, KL_APP, GH_BUF_HTTP_REFERER},
    {"http_referer", STK, KL_APP, GH_BUF_HTTP_REFERER},
    {"http.connection", STK, KL_APP, GH_BUF_HTTP_CONNECTION},
    {"http_connection", STK, KL_APP, GH_BUF_HTTP_CONNECTION},
    {"http.content_type", STK, KL_APP, GH_BUF_HTTP_CONTENT_TYPE},
    {"http_content_type", STK, KL_APP, GH_BUF_HTTP_CONTENT_TYPE},
    {"http.content_len", STK, KL_APP, GH_BUF_HTTP_CONTENT_LEN},
    {"http_content_len", STK, KL_APP, GH_BUF_HTTP_CONTENT_LEN},
    {"http.start", STK, KL_APP, GH_BUF_HTTP_START}, {"http_start", STK, KL_APP, GH_BUF_HTTP_START},
    {"http.protocol", STK, KL_APP, GH_BUF_HTTP_PROTOCOL},
    {"http_protocol", STK, KL_APP, GH_BUF_HTTP_PROTOCOL},
    {"http.header_names", STK, KL_APP, GH_BUF_HTTP_HEADER_NAMES},
    {"http_header_names", STK, KL_APP, GH_BUF_HTTP_HEADER_NAMES},
    {"http.stat_msg", STK, KL_APP, GH_BUF_HTTP_STAT_MSG},
    {"http_stat_msg", MOD, KL_APP, GH_BUF_HTTP_STAT_MSG},
    {"http.stat_code", STK, KL_APP, GH_BUF_HTTP_STAT_CODE},
    {"http_stat_code", MOD, KL_APP, GH_BUF_HTTP_STAT_CODE},
    {"http.response_line", STK, KL_APP, GH_BUF_HTTP_RESPONSE_LINE},
    {"http_response_line", STK, KL_APP, GH_BUF_HTTP_RESPONSE_LINE},
    {"http.response_body", STK, KL_APP, GH_BUF_HTTP_RESPONSE_BODY},
    {"http_server_body", MOD, KL_APP, GH_BUF_HTTP_RESPONSE_BODY},
    {"http.server", STK, KL_APP, GH_BUF_HTTP_SERVER},
    {"http.location", STK, KL_APP, GH_BUF_HTTP_LOCATION},
    {"file.data", STK, KL_APP, GH_BUF_FILE_DATA}, {"file_data", STK, KL_APP, GH_BUF_FILE_DATA},
    {"http.request_header", PAY, KL_APP, 0}, {"http.response_header", PAY, KL_APP, 0},
    {"http2.frametype", PAY, KL_APP, 0}, {"http2.errorcode", PAY, KL_APP, 0},
    {"http2.priority", PAY, KL_APP, 0}, {"http2.window", PAY, KL_APP, 0},
    {"http2.size_update", PAY, KL_APP, 0},
    {"http2.settings", PAY, KL_APP, 0}, {"http2.header_name", PAY, KL_APP, 0},
    {"http2.header", PAY, KL_APP, 0},
    /* DNS */
    {"dns.query", STK, KL_APP, GH_BUF_DNS_QUERY}, {"dns_query", STK, KL_APP, GH_BUF_DNS_QUERY},
    {"dns.opcode", FLD, KL_APP, 0},
    {"dns.rrtype", FLD, KL_APP, 0},
    {"dns.rcode", PAY, KL_APP, 0}, {"dns.answer.name", PAY, KL_APP, 0},
    {"dns.query.name", PAY, KL_APP, 0},
    /* TLS */
    {"tls.sni", STK, KL_APP, GH_BUF_TLS_SNI}, {"tls_sni", STK, KL_APP, GH_BUF_TLS_SNI},
    {"tls.cert_subject", STK, KL_APP, GH_BUF_TLS_CERT_SUBJECT},
    {"tls_cert_subject", STK, KL_APP, GH_BUF_TLS_CERT_SUBJECT},
    {"tls.cert_issuer", STK, KL_APP, GH_BUF_TLS_CERT_ISSUER},
    {"tls_cert_issuer", STK, KL_APP, GH_BUF_TLS_CERT_ISSUER},
    {"tls.cert_serial", STK, KL_APP, GH_BUF_TLS_CERT_SERIAL},
    {"tls_cert_serial", STK, KL_APP, GH_BUF_TLS_CERT_SERIAL},
    {"tls.cert_fingerprint", STK, KL_APP, GH_BUF_TLS_CERT_FINGERPRINT},
    {"tls_cert_fingerprint", STK, KL_APP, GH_BUF_TLS_CERT_FINGERPRINT},
    {"tls.certs", STK, KL_APP, GH_BUF_TLS_CERTS},
    {"ja3.hash", STK, KL_APP, GH_BUF_JA3_HASH}, {"ja3_hash", STK, KL_APP, GH_BUF_JA3_HASH},
    {"ja3.string", STK, KL_APP, GH_BUF_JA3_STRING}, {"ja3_string", STK, KL_APP, GH_BUF_JA3_STRING},
    {"ja3s.hash", STK, KL_APP, GH_BUF_JA3S_HASH}, {"ja3s.string", STK, KL_APP, GH_BUF_JA3S_STRING},
    {"tls.version", FLD, KL_APP, 0},
    {"ssl_version", FLD, KL_APP, 0},
    {"ssl_state", FLD, KL_APP, 0},
    {"tls.subject", PAY, KL_APP, 0}, {"tls.issuerdn", PAY, KL_APP, 0},
    {"tls_cert_notbefore", PAY, KL_APP, 0},
    {"tls_cert_notafter", PAY, KL_APP, 0}, {"tls_cert_expired", PAY, KL_APP, 0},
    {"tls_cert_valid", PAY, KL_APP, 0},
    {"tls.cert_chain_len", PAY, KL_APP, 0},
    {"tls.store", PAY, KL_APP, 0},
    {"tls.fingerprint", PAY, KL_APP, 0}, {"tls.random", PAY, KL_APP, 0},
    {"tls.random_time", PAY, KL_APP, 0},
    {"tls.random_bytes", PAY, KL_APP, 0}, {"tls.alpn", PAY, KL_APP, 0},
    {"tls.subjectaltname", PAY, KL_APP, 0},
    {"ja4.hash", PAY, KL_APP, 0},
    {"ssh.proto", STK, KL_APP, GH_BUF_SSH_PROTO}, {"ssh_proto", STK, KL_APP, GH_BUF_SSH_PROTO},
    {"ssh.software", STK, KL_APP, GH_BUF_SSH_SOFTWARE},
    {"ssh_software", STK, KL_APP, GH_BUF_SSH_SOFTWARE},
    {"ssh.protoversion", PAY, KL_APP, 0}, {"ssh.softwareversion", PAY, KL_APP, 0},
    {"ssh.hassh", PAY, KL_APP, 0},
    {"ssh.hassh.string", PAY, KL_APP, 0}, {"ssh.hassh.server", PAY, KL_APP, 0},
    {"ssh.hassh.server.string", PAY, KL_APP, 0},
    {"ssh_state", PAY, KL_APP, 0}, {"filename", PAY, KL_APP, 0}, {"fileext", PAY, KL_APP, 0},
    {"filemagic", PAY, KL_APP, 0},
    {"filestore", PAY, KL_APP, 0}, {"filemd5", PAY, KL_APP, 0}, {"filesha1", PAY, KL_APP, 0},
    {"filesha256", PAY, KL_APP, 0},
    {"filesize", PAY, KL_APP, 0}, {"file.name", PAY, KL_APP, 0}, {"file.magic", PAY, KL_APP, 0},
    /* other application protocols */
    {"ftpbounce", KW_SUPPORTED | KW_PAYLOAD | KW_NOV | KW_FIELD, KL_APP, 0},
    {"ftpdata_command", PAY, KL_APP, 0},
    {"ftp.command", PAY, KL_APP, 0},
    {"ftp.command_data", PAY, KL_APP, 0}, {"ftp.reply", PAY, KL_APP, 0},
    {"ftp.completion_code", PAY, KL_APP, 0},
    {"ftp.dynamic_port", PAY, KL_APP, 0}, {"ftp.mode", PAY, KL_APP, 0},
    {"ftp.reply_received", PAY, KL_APP, 0},
    {"smb.named_pipe", PAY, KL_APP, 0}, {"smb.share", PAY, KL_APP, 0},
    {"smb.ntlmssp_user", PAY, KL_APP, 0},
    {"smb.ntlmssp_domain", PAY, KL_APP, 0}, {"smb.version", PAY, KL_APP, 0},
    {"dce_iface", PAY, KL_APP, 0},
    {"dce_opnum", PAY, KL_APP, 0}, {"dce_stub_data", PAY, KL_APP, 0},
    {"krb5_msg_type", PAY, KL_APP, 0},
    {"krb5_cname", PAY, KL_APP, 0}, {"krb5_sname", PAY, KL_APP, 0},
    {"krb5_err_code", PAY, KL_APP, 0},
    {"krb5.weak_encryption", PAY, KL_APP, 0}, {"krb5.ticket_encryption", PAY, KL_APP, 0},
    {"snmp.version", PAY, KL_APP, 0},
    {"snmp.community", PAY, KL_APP, 0}, {"snmp.pdu_type", PAY, KL_APP, 0},
    {"snmp.usm", PAY, KL_APP, 0},
    {"sip.method", PAY, KL_APP, 0}, {"sip.uri", PAY, KL_APP, 0},
    {"sip.request_line", PAY, KL_APP, 0},
    {"sip.stat_code", PAY, KL_APP, 0}, {"sip.stat_msg", PAY, KL_APP, 0},
    {"sip.response_line", PAY, KL_APP, 0},
    {"sip.protocol", PAY, KL_APP, 0}, {"smtp.helo", PAY, KL_APP, 0},
    {"smtp.mail_from", PAY, KL_APP, 0},
    {"smtp.rcpt_to", PAY, KL_APP, 0}, {"email.from", PAY, KL_APP, 0},
    {"email.subject", PAY, KL_APP, 0},
    {"email.to", PAY, KL_APP, 0},
    {"email.cc", PAY, KL_APP, 0}, {"mqtt.protocol_version", PAY, KL_APP, 0},
    {"mqtt.type", PAY, KL_APP, 0},
    {"mqtt.flags", PAY, KL_APP, 0}, {"mqtt.qos", PAY, KL_APP, 0},
    {"mqtt.reason_code", PAY, KL_APP, 0},
    {"mqtt.connack.session_present", PAY, KL_APP, 0}, {"mqtt.connect.clientid", PAY, KL_APP, 0},
    {"mqtt.connect.flags", PAY, KL_APP, 0}, {"mqtt.connect.password", PAY, KL_APP, 0},
    {"mqtt.connect.protocol_string", PAY, KL_APP, 0}, {"mqtt.connect.username", PAY, KL_APP, 0},
    {"mqtt.connect.willmessage", PAY, KL_APP, 0}, {"mqtt.connect.willtopic", PAY, KL_APP, 0},
    {"mqtt.publish.message", PAY, KL_APP, 0}, {"mqtt.publish.topic", PAY, KL_APP, 0},
    {"mqtt.subscribe.topic", PAY, KL_APP, 0}, {"mqtt.unsubscribe.topic", PAY, KL_APP, 0},
    {"modbus", PAY, KL_APP, 0},
    {"dnp3_func", PAY, KL_APP, 0}, {"dnp3.func", PAY, KL_APP, 0}, {"dnp3_ind", PAY, KL_APP, 0},
    {"dnp3.ind", PAY, KL_APP, 0},
    {"dnp3_obj", PAY, KL_APP, 0}, {"dnp3.obj", PAY, KL_APP, 0}, {"dnp3_data", PAY, KL_APP, 0},
    {"dnp3.data", PAY, KL_APP, 0},
    {"enip_command", PAY, KL_APP, 0}, {"cip_service", PAY, KL_APP, 0},
    {"nfs_procedure", PAY, KL_APP, 0},
    {"nfs.procedure", PAY, KL_APP, 0}, {"nfs.version", PAY, KL_APP, 0},
    {"rfb.name", PAY, KL_APP, 0},
    {"rfb.secresult", PAY, KL_APP, 0}, {"rfb.sectype", PAY, KL_APP, 0},
    {"ike.init_spi", PAY, KL_APP, 0},
    {"ike.resp_spi", PAY, KL_APP, 0}, {"ike.chosen_sa_attribute", PAY, KL_APP, 0},
    {"ike.exchtype", PAY, KL_APP, 0},
    {"ike.vendor", PAY, KL_APP, 0}, {"ike.key_exchange_payload", PAY, KL_APP, 0},
    {"ike.key_exchange_payload_length", PAY, KL_APP, 0}, {"ike.nonce_payload", PAY, KL_APP, 0},
    {"ike.nonce_payload_length", PAY, KL_APP, 0}, {"quic.version", PAY, KL_APP, 0},
    {"quic.sni", PAY, KL_APP, 0},
    {"quic.ua", PAY, KL_APP, 0}, {"quic.cyu.hash", PAY, KL_APP, 0},
    {"quic.cyu.string", PAY, KL_APP, 0},
    {"dhcp.leasetime", PAY, KL_APP, 0}, {"dhcp.rebinding_time", PAY, KL_APP, 0},
    {"dhcp.renewal_time", PAY, KL_APP, 0},
    {"pgsql.query", PAY, KL_APP, 0}, {"ipv4.hdr", PAY, KL_PKT_BUF, 0},
    {"ipv6.hdr", PAY, KL_PKT_BUF, 0},
    {"tcp.hdr", PAY, KL_PKT_BUF, 0},
    {"udp.hdr", PAY, KL_PKT_BUF, 0}, {"icmpv4.hdr", PAY, KL_PKT_BUF, 0},
    {"icmpv6.hdr", PAY, KL_PKT_BUF, 0},
    {"websocket.payload", PAY, KL_APP, 0},
    {"websocket.flags", PAY, KL_APP, 0}, {"websocket.mask", PAY, KL_APP, 0},
    {"websocket.opcode", PAY, KL_APP, 0},
};

/* Open-addressing hash of the names (FNV-1a, linear probing), built once: a
 * lookup hashes the name while lowercasing it and compares one or two
 * entries. Loading calls it several times per option of every rule. */
#define KW_N (sizeof(keywords) / sizeof(keywords[0]))
#define KW_SLOTS 2048u /* a power of two, over 4x the table */
static uint16_t kw_slot[KW_SLOTS]; /* 1 + index into keywords; 0 empty */
static uint8_t kw_id[KW_N];        /* gh_kw_id of each entry */
static uint8_t kw_field[KW_N];     /* 1 + the gh_field_id of a KW_FIELD entry; 0 none */
static pthread_once_t kw_once = PTHREAD_ONCE_INIT;

static const struct {
    const char *name;
    gh_kw_id id;
} kw_ids[] = {
    {"msg", GH_KWID_MSG}, {"sid", GH_KWID_SID}, {"gid", GH_KWID_GID}, {"rev", GH_KWID_REV},
    {"classtype", GH_KWID_CLASSTYPE}, {"priority", GH_KWID_PRIORITY},
    {"reference", GH_KWID_REFERENCE}, {"metadata", GH_KWID_METADATA},
    {"target", GH_KWID_TARGET}, {"flow", GH_KWID_FLOW}, {"flags", GH_KWID_FLAGS},
    {"fragbits", GH_KWID_FRAGBITS}, {"ttl", GH_KWID_TTL}, {"dsize", GH_KWID_DSIZE},
    {"itype", GH_KWID_ITYPE}, {"icode", GH_KWID_ICODE}, {"ip_proto", GH_KWID_IP_PROTO},
    {"content", GH_KWID_CONTENT}, {"uricontent", GH_KWID_URICONTENT}, {"pcre", GH_KWID_PCRE},
    {"nocase", GH_KWID_NOCASE}, {"rawbytes", GH_KWID_RAWBYTES}, {"offset", GH_KWID_OFFSET},
    {"depth", GH_KWID_DEPTH}, {"distance", GH_KWID_DISTANCE}, {"within", GH_KWID_WITHIN},
    {"startswith", GH_KWID_STARTSWITH}, {"endswith", GH_KWID_ENDSWITH},
    {"fast_pattern", GH_KWID_FAST_PATTERN}, {"bsize", GH_KWID_BSIZE},
    {"urilen", GH_KWID_URILEN}, {"app-layer-protocol", GH_KWID_APP_LAYER_PROTOCOL},
    {"flowbits", GH_KWID_FLOWBITS}, {"flowint", GH_KWID_FLOWINT}, {"xbits", GH_KWID_XBITS},
    {"app-layer-event", GH_KWID_APP_LAYER_EVENT}, {"stream_size", GH_KWID_STREAM_SIZE},
    {"noalert", GH_KWID_NOALERT}, {"threshold", GH_KWID_THRESHOLD},
    {"detection_filter", GH_KWID_DETECTION_FILTER}, {"tag", GH_KWID_TAG},
    {"base64_decode", GH_KWID_BASE64_DECODE}, {"base64_data", GH_KWID_BASE64_DATA},
    {"isdataat", GH_KWID_ISDATAAT}, {"byte_test", GH_KWID_BYTE_TEST},
    {"byte_jump", GH_KWID_BYTE_JUMP}, {"byte_extract", GH_KWID_BYTE_EXTRACT},
    {"byte_math", GH_KWID_BYTE_MATH},
};

static uint32_t kw_hash_step(uint32_t h, unsigned char c)
{
    return (h ^ c) * 16777619u;
}

static void kw_index(void)
{
    _Static_assert(KW_N * 4 < KW_SLOTS && KW_SLOTS <= 65536, "keyword hash size");
    for (size_t i = 0; i < KW_N; i++) {
        uint32_t h = 2166136261u;
        for (const char *p = keywords[i].name; *p; p++)
            h = kw_hash_step(h, (unsigned char)*p);
        size_t s = h & (KW_SLOTS - 1);
        while (kw_slot[s])
            s = (s + 1) & (KW_SLOTS - 1);
        kw_slot[s] = (uint16_t)(i + 1);
        if (keywords[i].flags & KW_FIELD)
            for (unsigned f = 0; f < GH_FIELD_N; f++)
                if (!strcmp(gh_field_get_info((gh_field_id)f)->name, keywords[i].name))
                    kw_field[i] = (uint8_t)(f + 1);
    }
    for (size_t j = 0; j < sizeof(kw_ids) / sizeof(kw_ids[0]); j++)
        for (size_t i = 0; i < KW_N; i++)
            if (!strcmp(keywords[i].name, kw_ids[j].name))
                kw_id[i] = (uint8_t)kw_ids[j].id;
}

/* Case-insensitive lookup of @p name[0..len) (len SIZE_MAX: up to its
 * NUL); NULL when unknown. */
static const kw *kw_find_n(const char *name, size_t len)
{
    char low[64];
    uint32_t h = 2166136261u;
    size_t n = 0;
    for (; n < len && name[n]; n++) {
        if (n + 1 >= sizeof(low))
            return NULL;
        low[n] = (char)tolower((unsigned char)name[n]);
        h = kw_hash_step(h, (unsigned char)low[n]);
    }
    low[n] = '\0';
    pthread_once(&kw_once, kw_index);
    for (size_t s = h & (KW_SLOTS - 1); kw_slot[s]; s = (s + 1) & (KW_SLOTS - 1)) {
        const kw *k = &keywords[kw_slot[s] - 1];
        if (strcmp(k->name, low) == 0)
            return k;
    }
    return NULL;
}

static const kw *kw_find(const char *name)
{
    return kw_find_n(name, SIZE_MAX);
}

uint16_t gh_kw_index(const char *name)
{
    const kw *k = kw_find(name);
    return k ? (uint16_t)(k - keywords + 1) : 0;
}

uint16_t gh_kw_index_n(const char *name, size_t n, const char **canon)
{
    const kw *k = kw_find_n(name, n);
    *canon = k && strlen(k->name) == n && !memcmp(k->name, name, n) ? k->name : NULL;
    return k ? (uint16_t)(k - keywords + 1) : 0;
}

/* @p o's table entry, NULL when unknown. */
static const kw *opt_kw(const gh_rule_option *o)
{
    return o->kw_ ? &keywords[o->kw_ - 1] : kw_find(o->name.text);
}

gh_kw_list gh_kw_list_of(const gh_rule_option *o)
{
    const kw *k = opt_kw(o);
    return k ? k->list : KL_UNKNOWN;
}

void gh_kw_describe(const gh_rule_option *o, gh_kw_desc *d)
{
    const kw *k = opt_kw(o);
    memset(d, 0, sizeof(*d));
    if (!k)
        return;
    size_t i = (size_t)(k - keywords);
    d->id = (gh_kw_id)kw_id[i];
    if (!(k->flags & KW_SUPPORTED))
        return;
    if (kw_field[i]) {
        d->is_field = true;
        d->field = (gh_field_id)(kw_field[i] - 1);
    }
    d->buf = k->buf;
    if (k->flags & KW_STICKY)
        d->role = GH_KWR_STICKY;
    else if (k->flags & KW_XFORM)
        d->role = GH_KWR_TRANSFORM;
    else if ((k->flags & KW_CMOD) && k->buf)
        d->role = GH_KWR_MODIFIER;
    else if (k->list == KL_APP && k->buf && d->id != GH_KWID_URILEN)
        d->role = GH_KWR_CONTENT;
}

uint8_t gh_app_proto_of(const char *name)
{
    static const struct {
        const char *name;
        uint8_t proto;
    } protos[] = {{"http", GH_ALPROTO_HTTP1}, {"http1", GH_ALPROTO_HTTP1},
                  {"dns", GH_ALPROTO_DNS},    {"tls", GH_ALPROTO_TLS},
                  {"smtp", GH_ALPROTO_SMTP},  {"ftp", GH_ALPROTO_FTP},
                  {"smb", GH_ALPROTO_SMB},    {"ssh", GH_ALPROTO_SSH},
                  {"dcerpc", GH_ALPROTO_DCERPC}};
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        if (!strcasecmp(name, protos[i].name))
            return protos[i].proto;
    return GH_ALPROTO_UNKNOWN;
}

gh_rule_kw_status gh_rule_keyword_status(const char *name, bool *is_payload)
{
    const kw *k = kw_find(name);
    if (is_payload)
        *is_payload = k && (k->flags & KW_PAYLOAD);
    if (!k)
        return GH_KW_UNKNOWN;
    return (k->flags & KW_SUPPORTED) ? GH_KW_SUPPORTED : GH_KW_UNSUPPORTED;
}

/* ---- value syntax ----------------------------------------------------------- */

/* Copy of @s without any whitespace (values like "> 10" or "S, 12"). */
static void squeeze(char *out, size_t n, const char *s)
{
    size_t o = 0;
    for (; *s && o + 1 < n; s++)
        if (!gh_is_ws(*s))
            out[o++] = *s;
    out[o] = '\0';
}

/* Decimal or 0x hexadecimal, whole string, at most @max. */
static bool parse_num(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i = 0;
    int base = 10;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i >= n)
        return false;
    for (; i < n; i++) {
        int d;
        char c = s[i];
        if (isdigit((unsigned char)c))
            d = c - '0';
        else if (base == 16 && isxdigit((unsigned char)c))
            d = tolower((unsigned char)c) - 'a' + 10;
        else
            return false;
        v = v * (unsigned)base + (unsigned)d;
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

static bool parse_dec(const char *s, unsigned long long max, unsigned long long *out)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0 && n <= 20 && parse_num(s, n, max, out);
}

/* Suricata's integer keywords: N, =N, !N, !=N, <N, >N, <=N, >=N, N-M, !N-M,
 * N<>M (ranges exclusive, so N < M). */
static bool valid_uint(const char *value, unsigned long long max)
{
    char s[64];
    squeeze(s, sizeof(s), value);
    size_t n = strlen(s);
    unsigned long long a, b;
    const char *sep = strstr(s, "<>");
    if (sep) {
        return parse_num(s, (size_t)(sep - s), max, &a) &&
               parse_num(sep + 2, strlen(sep + 2), max, &b) && a < b;
    }
    const char *p = s;
    if (*p == '!')
        p++;
    const char *dash = strchr(p, '-');
    if (dash) {
        return parse_num(p, (size_t)(dash - p), max, &a) &&
               parse_num(dash + 1, strlen(dash + 1), max, &b) && a < b;
    }
    p = s;
    if (strncmp(p, "<=", 2) == 0 || strncmp(p, ">=", 2) == 0 || strncmp(p, "!=", 2) == 0)
        p += 2;
    else if (*p == '<' || *p == '>' || *p == '=' || *p == '!')
        p++;
    return parse_num(p, n - (size_t)(p - s), max, &a);
}

static bool valid_flow(const char *value, char *msg, size_t msz)
{
    static const struct {
        const char *name;
        int group, val;
    } vals[] = {
        {"established", 0, 1}, {"not_established", 0, 2}, {"stateless", 0, 3},
        {"to_server", 1, 1},   {"from_client", 1, 1},     {"to_client", 1, 2},
        {"from_server", 1, 2}, {"only_stream", 2, 1},     {"no_stream", 2, 2},
        {"only_frag", 3, 1},   {"no_frag", 3, 2},
    };
    const char *seen[4] = {0};
    int seen_val[4] = {0};
    char s[256];
    squeeze(s, sizeof(s), value);
    char *save = NULL;
    size_t items = 0;
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        items++;
        size_t i = 0;
        while (i < sizeof(vals) / sizeof(vals[0]) && strcasecmp(t, vals[i].name) != 0)
            i++;
        if (i == sizeof(vals) / sizeof(vals[0])) {
            char tk[64];
            snprintf(msg, msz, "bad flow value '%s'", gh_tok(tk, sizeof(tk), t, strlen(t)));
            return false;
        }
        int g = vals[i].group;
        if (seen[g] && seen_val[g] != vals[i].val) {
            snprintf(msg, msz, "conflicting flow options '%s' and '%s'", seen[g], vals[i].name);
            return false;
        }
        seen[g] = vals[i].name;
        seen_val[g] = vals[i].val;
    }
    if (items == 0 || value[strlen(value) - 1] == ',' || value[0] == ',') {
        snprintf(msg, msz, "bad flow value '%s'", value);
        return false;
    }
    return true;
}

/* flags:[!+*]FLAGS[!+*][,IGNORE] with FLAGS from FSRPAUCE12 or 0 alone. */
static bool valid_flags(const char *value)
{
    char s[64];
    squeeze(s, sizeof(s), value);
    char *comma = strchr(s, ',');
    if (comma)
        *comma = '\0';
    size_t n = strlen(s), nflags = 0, nmods = 0;
    bool zero = false;
    for (size_t i = 0; i < n; i++) {
        char c = (char)toupper((unsigned char)s[i]);
        if (c == '!' || c == '+' || c == '*') {
            if (i != 0 && i != n - 1)
                return false;
            nmods++;
        } else if (strchr("FSRPAUCE12", c)) {
            nflags++;
        } else if (c == '0') {
            zero = true;
        } else {
            return false;
        }
    }
    if (nmods > 1 || (nflags == 0 && !zero) || (zero && nflags))
        return false;
    if (comma) {
        const char *ig = comma + 1;
        if (!*ig)
            return false;
        for (; *ig; ig++)
            if (!strchr("FSRPAUCE12", toupper((unsigned char)*ig)))
                return false;
    }
    return true;
}

/* fragbits:[+*!]<MDR...> */
static bool valid_fragbits(const char *value)
{
    char s[32];
    squeeze(s, sizeof(s), value);
    const char *p = s;
    if (*p == '+' || *p == '*' || *p == '!')
        p++;
    if (!*p)
        return false;
    for (; *p; p++)
        if (!strchr("MDR", toupper((unsigned char)*p)))
            return false;
    return true;
}

static bool valid_ip_proto(const char *value)
{
    static const char *const names[] = {
        "hopopt", "icmp", "igmp", "ggp", "ipv4", "ipip", "st", "tcp", "egp", "igp", "pup",
        "udp", "hmp", "xns-idp", "rdp", "iso-tp4", "dccp", "xtp", "ddp", "idpr-cmtp",
        "ipv6", "ipv6-route", "ipv6-frag", "idrp", "rsvp", "gre", "esp", "ah", "skip",
        "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "eigrp", "ospf", "ospfigp",
        "ax.25", "ipip", "etherip", "encap", "pim", "ipcomp", "vrrp", "l2tp", "isis",
        "sctp", "fc", "mobility-header", "udplite", "mpls-in-ip", "manet", "hip", "shim6",
        "wesp", "rohc", "ethernet",
    };
    char s[64];
    squeeze(s, sizeof(s), value);
    const char *p = s;
    if (*p == '!' || *p == '<' || *p == '>')
        p++;
    unsigned long long v;
    if (parse_dec(p, 255, &v))
        return true;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(p, names[i]) == 0)
            return true;
    return false;
}

/* A double-quoted string: one string from the first to the last byte.
 * Unescaped '"' inside are taken literally, as Suricata does for pcre and
 * msg; @strict rejects them (content, where escapes are well defined). */
static bool is_quoted(const char *s, bool strict)
{
    size_t n = strlen(s);
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return false;
    for (size_t i = 1; i < n - 1; i++) {
        if (s[i] == '\\') {
            i++;
            if (i >= n - 1)
                return false; /* the closing quote is escaped */
        } else if (s[i] == '"' && (strict || gh_quote_closes(s, i, n - 1))) {
            return false;
        }
    }
    return true;
}

/* content:[!]"text|41 42|text" with escapes \" \; \: \\ only. */
static bool valid_content(const char *value, char *msg, size_t msz)
{
    const char *s = value;
    if (*s == '!') {
        s++;
        while (gh_is_ws(*s))
            s++;
    }
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '"') {
        if (!is_quoted(s, true)) {
            snprintf(msg, msz, "content must be one quoted string");
            return false;
        }
        s++;
        n -= 2;
    }
    if (n == 0) {
        snprintf(msg, msz, "empty content");
        return false;
    }
    bool hex = false;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '|') {
            if (hex && digits % 2) {
                snprintf(msg, msz, "odd number of hex digits in content");
                return false;
            }
            hex = !hex;
            digits = 0;
        } else if (hex) {
            if (isxdigit((unsigned char)c)) {
                digits++;
            } else if (!gh_is_ws(c)) {
                snprintf(msg, msz, "bad hex character '%c' in content", c);
                return false;
            } else if (digits % 2) {
                snprintf(msg, msz, "odd number of hex digits in content");
                return false;
            }
        } else if (c == '\\') {
            char e = i + 1 < n ? s[i + 1] : '\0';
            if (e != '"' && e != ';' && e != ':' && e != '\\') {
                snprintf(msg, msz, "bad escape '\\%c' in content (only \\\" \\; \\: \\\\)",
                         e ? e : ' ');
                return false;
            }
            i++;
        }
    }
    if (hex) {
        snprintf(msg, msz, "unterminated '|' in content");
        return false;
    }
    return true;
}

/* pcre:[!]"/regex/flags", or unquoted [!]/regex/flags as Suricata also takes */
static bool valid_pcre(const char *value)
{
    const char *s = value;
    if (*s == '!')
        s++;
    size_t n;
    if (*s == '/') {
        n = strlen(s);
    } else {
        if (!is_quoted(s, false))
            return false;
        n = strlen(s) - 2;
        s++;
    }
    if (n < 2 || s[0] != '/')
        return false;
    size_t last = n;
    while (last > 1 && s[last - 1] != '/')
        last--;
    if (last <= 1)
        return false;
    for (size_t i = last; i < n; i++)
        if (!isalpha((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_ident(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

/* offset/depth: N or a byte_extract variable; distance/within may be negative. */
static bool valid_modifier_num(const char *value, bool sign)
{
    char s[64];
    squeeze(s, sizeof(s), value);
    const char *p = s;
    if (sign && *p == '-')
        p++;
    unsigned long long v;
    return parse_dec(p, 0xffffffffu, &v) || is_ident(s);
}

/* Validate the value of a keyword whose syntax we check (@name lower-case);
 * false with a message (no position) in @msg. Other keywords pass. */
/* @value as shown in a message (shortened when long). */
static const char *shown(char tk[96], const char *value)
{
    return gh_tok(tk, 96, value, strlen(value));
}

static bool kw_validate(gh_kw_id id, const char *name, const char *value, char *msg, size_t msz)
{
    char tk[96];
    unsigned long long v;
    if (id == GH_KWID_MSG) {
        if (!is_quoted(value, false)) {
            snprintf(msg, msz, "msg must be a quoted string, got '%s'", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_SID) {
        if (!parse_dec(value, 0xffffffffu, &v) || v == 0) {
            snprintf(msg, msz, "bad sid '%s' (expected an integer 1-4294967295)", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_REV || id == GH_KWID_GID) {
        if (!parse_dec(value, 0xffffffffu, &v)) {
            snprintf(msg, msz, "bad %s '%s' (expected an integer)", name, shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_PRIORITY) {
        if (!parse_dec(value, 255, &v) || v == 0) {
            snprintf(msg, msz, "bad priority '%s' (expected 1-255)", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_CLASSTYPE) {
        for (const char *p = value; *p; p++) {
            if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-')) {
                snprintf(msg, msz, "bad classtype '%s'", shown(tk, value));
                return false;
            }
        }
    } else if (id == GH_KWID_REFERENCE) {
        const char *c = strchr(value, ',');
        if (!c || c == value || !c[1]) {
            snprintf(msg, msz, "bad reference '%s' (expected TYPE,ID)", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_FLOW) {
        return valid_flow(value, msg, msz);
    } else if (id == GH_KWID_FLAGS) {
        if (!valid_flags(value)) {
            snprintf(msg, msz,
                     "bad flags value '%s' (expected [!+*]FSRPAUCE or 0, then ,IGNORED)", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_TTL || id == GH_KWID_ITYPE || id == GH_KWID_ICODE ||
               id == GH_KWID_DSIZE) {
        unsigned long long max = id == GH_KWID_DSIZE ? 65535 : 255;
        if (!valid_uint(value, max)) {
            snprintf(msg, msz, "bad %s value '%s' (expected N, <N, >N, N-M or N<>M, max %llu)",
                     name, shown(tk, value), max);
            return false;
        }
    } else if (id == GH_KWID_IP_PROTO) {
        if (!valid_ip_proto(value)) {
            snprintf(msg, msz, "bad ip_proto value '%s' (expected [!<>] 0-255 or a name)", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_FRAGBITS) {
        if (!valid_fragbits(value)) {
            snprintf(msg, msz, "bad fragbits value '%s' (expected [+*!] and M, D, R)", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_CONTENT) {
        return valid_content(value, msg, msz);
    } else if (id == GH_KWID_PCRE) {
        if (!valid_pcre(value)) {
            snprintf(msg, msz,
                     "bad pcre '%s' (expected [!]\"/regex/flags\" or [!]/regex/flags)", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_OFFSET || id == GH_KWID_DEPTH || id == GH_KWID_DISTANCE ||
               id == GH_KWID_WITHIN) {
        if (!valid_modifier_num(value, id == GH_KWID_DISTANCE)) {
            snprintf(msg, msz, "bad %s value '%s'", name, shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_FAST_PATTERN) {
        char s[64];
        squeeze(s, sizeof(s), value);
        const char *c = strchr(s, ',');
        unsigned long long a;
        if (strcmp(s, "only") != 0 &&
            !(c && parse_num(s, (size_t)(c - s), 65535, &a) && parse_dec(c + 1, 65535, &a))) {
            snprintf(msg, msz, "bad fast_pattern value '%s' (expected only or N,M)", shown(tk, value));
            return false;
        }
    } else if (id == GH_KWID_THRESHOLD || id == GH_KWID_DETECTION_FILTER) {
        gh_threshold_spec th;
        return gh_threshold_parse_keyword(name, value, &th, msg, msz);
    } else if (id == GH_KWID_TAG) {
        gh_tag_spec t;
        return gh_tag_parse_keyword(value, &t, msg, msz);
    } else if (id == GH_KWID_ISDATAAT) {
        char s[64];
        squeeze(s, sizeof(s), value);
        char *save = NULL, *t = strtok_r(s, ",", &save);
        const char *p = t && *t == '!' ? t + 1 : t;
        bool ok = p && (parse_dec(p, 0xffffffffu, &v) || is_ident(p));
        while (ok && (t = strtok_r(NULL, ",", &save)))
            ok = strcmp(t, "relative") == 0 || strcmp(t, "rawbytes") == 0;
        if (!ok) {
            snprintf(msg, msz, "bad isdataat value '%s' (expected [!]N[,relative])", shown(tk, value));
            return false;
        }
    }
    return true;
}

/* ---- gh_rules_check ------------------------------------------------------- */

typedef struct checker {
    gh_rule_file *f;
    const gh_rule_vars *vars;
    gh_arena *a;
    size_t errors_cap;
    bool oom;
    bool rule_err;
    /* unsupported tallies: keyword pointers are canonical (table or interned) */
    gh_rule_kwcount *kw;
    size_t n_kw, kw_cap;
} checker;

__attribute__((format(printf, 3, 4))) static void cerr(checker *C, gh_rule_loc loc,
                                                       const char *fmt, ...)
{
    gh_rule_file *f = C->f;
    C->rule_err = true;
    if (f->n_errors == C->errors_cap) {
        size_t cap = C->errors_cap ? C->errors_cap * 2 : 16;
        gh_rule_error *e = realloc(f->errors, cap * sizeof(*e));
        if (!e) {
            C->oom = true;
            return;
        }
        f->errors = e;
        C->errors_cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    gh_rerr_vset(&f->errors[f->n_errors++], loc, fmt, ap);
    va_end(ap);
}

static void tally(checker *C, const char *name)
{
    for (size_t i = 0; i < C->n_kw; i++) {
        if (C->kw[i].keyword == name) {
            C->kw[i].rules++;
            return;
        }
    }
    if (C->n_kw == C->kw_cap) {
        size_t cap = C->kw_cap ? C->kw_cap * 2 : 32;
        gh_rule_kwcount *p = realloc(C->kw, cap * sizeof(*p));
        if (!p) {
            C->oom = true;
            return;
        }
        C->kw = p;
        C->kw_cap = cap;
    }
    C->kw[C->n_kw].keyword = name;
    C->kw[C->n_kw].rules = 1;
    C->n_kw++;
}

/* "proto:NAME", one string per distinct protocol. */
static const char *proto_tag(checker *C, const char *proto)
{
    for (size_t i = 0; i < C->n_kw; i++)
        if (strncmp(C->kw[i].keyword, "proto:", 6) == 0 &&
            strcasecmp(C->kw[i].keyword + 6, proto) == 0)
            return C->kw[i].keyword;
    size_t n = strlen(proto);
    char *s = gh_arena_stralloc(C->a, n + 7);
    if (!s) {
        C->oom = true;
        return NULL;
    }
    memcpy(s, "proto:", 6);
    for (size_t i = 0; i <= n; i++)
        s[6 + i] = (char)tolower((unsigned char)proto[i]);
    return s;
}

static void check_addr_port(checker *C, gh_rule *r)
{
    const gh_rule_expr *fields[4] = {r->src_addr, r->src_port, r->dst_addr, r->dst_port};
    for (int i = 0; i < 4; i++) {
        gh_rule_error e;
        int rc;
        if (i % 2 == 0) {
            gh_addr_set s;
            rc = gh_rule_eval_addr(fields[i], C->vars, &s, &e);
            gh_addr_set_free(&s);
        } else {
            gh_port_set s;
            rc = gh_rule_eval_port(fields[i], C->vars, &s, &e);
            gh_port_set_free(&s);
        }
        if (rc == GH_E_NOMEM)
            C->oom = true;
        else if (rc != GH_OK)
            cerr(C, e.loc, "%s", e.message);
    }
}

/* Suricata takes ip_proto only in signatures for protocol ip (any IP). */
static bool ip_proto_ok(const char *proto)
{
    static const char *const ok[] = {"ip", "ipv4", "ip4", "ipv6", "ip6"};
    return GH_NAME_IN(proto, ok);
}

static void check_rule(checker *C, gh_rule *r)
{
    bool fw = C->f->tier == GH_RULE_TIER_FIREWALL;
    C->rule_err = false;
    r->gid = 1;
    const char *act = r->action_tok.text;
    if (fw && r->action != GH_ACTION_ACCEPT && r->action != GH_ACTION_PASS &&
        r->action != GH_ACTION_DROP && r->action != GH_ACTION_REJECT)
        cerr(C, r->action_tok.loc,
             "action '%s' is not allowed in a firewall rule (use accept, pass, drop or reject)",
             act);
    if (!fw && r->action == GH_ACTION_ACCEPT)
        cerr(C, r->action_tok.loc, "action 'accept' is only allowed in firewall rules (-F)");

    const char *unsupported[64];
    size_t n_uns = 0;
    gh_proto_class_t pc = gh_proto_class(r->proto.text);
    if (fw && pc != GH_PROTO_NET)
        cerr(C, r->proto.loc, "protocol '%s' is not allowed in a firewall rule", r->proto.text);
    if (!fw && pc != GH_PROTO_NET && !gh_app_proto_of(r->proto.text)) {
        const char *tag = proto_tag(C, r->proto.text);
        if (tag)
            unsupported[n_uns++] = tag;
    }

    check_addr_port(C, r);

    bool seen_content = false, has_sid = false;
    const char *th_seen = NULL; /* threshold or detection_filter: one per rule */
    const char *once_seen[16];
    size_t n_once = 0;
    for (size_t i = 0; i < r->n_options; i++) {
        const gh_rule_option *o = &r->options[i];
        const char *nm = o->name.text;
        const kw *k = opt_kw(o);
        if (!k) {
            cerr(C, o->name.loc, "unknown keyword '%s'", nm);
            continue;
        }
        gh_kw_id id = (gh_kw_id)kw_id[k - keywords];
        if (fw && !(k->flags & KW_FW)) {
            if (k->flags & KW_PAYLOAD)
                cerr(C, o->name.loc, "payload keyword '%s' is not allowed in a firewall rule", nm);
            else
                cerr(C, o->name.loc, "option '%s' is not allowed in a firewall rule", nm);
            continue;
        }
        if (k->flags & KW_ONCE) {
            bool dup = false;
            for (size_t j = 0; j < n_once && !dup; j++)
                dup = once_seen[j] == k->name;
            if (dup) {
                cerr(C, o->name.loc, "duplicate option '%s'", nm);
                continue;
            }
            if (n_once < sizeof(once_seen) / sizeof(once_seen[0]))
                once_seen[n_once++] = k->name;
        }
        if ((k->flags & KW_NEEDV) && !o->value.text) {
            cerr(C, o->name.loc, "option '%s' needs a value", nm);
            continue;
        }
        if ((k->flags & KW_NOV) && o->value.text) {
            cerr(C, o->value.loc, "option '%s' takes no value", nm);
            continue;
        }
        if (id == GH_KWID_THRESHOLD || id == GH_KWID_DETECTION_FILTER) {
            /* Suricata's DetectThresholdSetup / DetectDetectionFilterSetup */
            if (th_seen) {
                if (th_seen != k->name)
                    cerr(C, o->name.loc, "\"detection_filter\" and \"threshold\" are not "
                                         "allowed in the same rule");
                else if (k->name[0] == 't')
                    cerr(C, o->name.loc, "multiple \"threshold\" options are not allowed in "
                                         "the same rule");
                else
                    cerr(C, o->name.loc, "at most one \"detection_filter\" is allowed per rule");
                continue;
            }
            th_seen = k->name;
        }
        if (id == GH_KWID_CONTENT || id == GH_KWID_URICONTENT)
            seen_content = true;
        if ((k->flags & KW_CMOD) && !seen_content) {
            cerr(C, o->name.loc, "'%s' needs a preceding content", nm);
            continue;
        }
        char msg[GH_RULE_MSG_MAX];
        if (o->value.text && !kw_validate(id, k->name, o->value.text, msg, sizeof(msg))) {
            cerr(C, o->value.loc, "%s", msg);
            continue;
        }
        unsigned long long v = 0;
        if (o->value.text && (id == GH_KWID_SID || id == GH_KWID_GID || id == GH_KWID_REV)) {
            v = strtoull(o->value.text, NULL, 10);
            if (id == GH_KWID_SID) {
                r->sid = (uint32_t)v;
                has_sid = true;
            } else if (id == GH_KWID_GID) {
                r->gid = (uint32_t)v;
            } else {
                r->rev = (uint32_t)v;
            }
        }
        if (!fw && id == GH_KWID_IP_PROTO && !ip_proto_ok(r->proto.text)) {
            cerr(C, o->name.loc, "ip_proto needs protocol ip, ipv4 or ipv6, not '%s'",
                 r->proto.text);
            continue;
        }
        if (!fw && !(k->flags & KW_SUPPORTED)) {
            bool dup = false;
            for (size_t j = 0; j < n_uns && !dup; j++)
                dup = unsupported[j] == k->name;
            if (!dup && n_uns < sizeof(unsupported) / sizeof(unsupported[0]))
                unsupported[n_uns++] = k->name;
        }
    }
    if (!fw && !has_sid)
        cerr(C, r->loc, "rule has no sid");
    gh_rule_loc cl;
    char cmsg[GH_RULE_MSG_MAX];
    if (!fw && gh_sig_require_conflict(r, &cl, cmsg, sizeof(cmsg)))
        cerr(C, cl, "%s", cmsg);
    r->has_error = C->rule_err;
    r->unsupported = n_uns ? unsupported[0] : NULL;
    if (n_uns && !r->has_error) {
        C->f->n_unsupported++;
        for (size_t j = 0; j < n_uns; j++)
            tally(C, unsupported[j]);
    }
}

/* A rule by gid and sid, then file order: the keys sorted, not the rules
 * (whose fields would be a cache miss each compare). */
typedef struct sid_key {
    uint64_t id; /* gid << 32 | sid */
    uint32_t i;  /* index in the file */
} sid_key;

static int cmp_sid(const void *a, const void *b)
{
    const sid_key *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static void check_duplicate_sids(checker *C)
{
    gh_rule_file *f = C->f;
    sid_key *k = malloc(f->n_rules * sizeof(*k) + 1);
    if (!k) {
        C->oom = true;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < f->n_rules; i++)
        if (f->rules[i].sid)
            k[n++] = (sid_key){(uint64_t)f->rules[i].gid << 32 | f->rules[i].sid, (uint32_t)i};
    if (n)
        qsort(k, n, sizeof(*k), cmp_sid);
    for (size_t i = 1; i < n; i++) {
        const gh_rule *first = &f->rules[k[i - 1].i];
        size_t j = i;
        while (j < n && k[j].id == k[i - 1].id) {
            gh_rule *r = &f->rules[k[j].i];
            const gh_rule_option *o = gh_rule_find_option(r, "sid");
            cerr(C, o ? o->value.loc : r->loc, "duplicate sid %u (first at line %u)", r->sid,
                 first->loc.line);
            r->has_error = true;
            j++;
        }
        i = j;
    }
    free(k);
}

static int cmp_kw(const void *a, const void *b)
{
    const gh_rule_kwcount *x = a, *y = b;
    if (x->rules != y->rules)
        return x->rules > y->rules ? -1 : 1;
    return strcmp(x->keyword, y->keyword);
}

static bool loc_before(const gh_rule_loc *a, const gh_rule_loc *b)
{
    return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* Stable merge sort of the errors by position. */
static bool sort_errors(gh_rule_file *f)
{
    size_t n = f->n_errors;
    if (n < 2)
        return true;
    gh_rule_error *tmp = malloc(n * sizeof(*tmp));
    if (!tmp)
        return false;
    gh_rule_error *src = f->errors, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = loc_before(&src[j].loc, &src[i].loc) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        gh_rule_error *t = src;
        src = dst;
        dst = t;
    }
    if (src != f->errors)
        memcpy(f->errors, src, n * sizeof(*src));
    free(tmp);
    return true;
}

int gh_rules_check_rules(gh_rule_file *f, const gh_rule_vars *vars)
{
    checker C = {.f = f, .vars = vars, .a = f->internal_, .errors_cap = f->n_errors};
    f->n_unsupported = 0;
    for (size_t i = 0; i < f->n_rules && !C.oom; i++)
        check_rule(&C, &f->rules[i]);
    free(f->unsupported_kw);
    f->unsupported_kw = C.kw;
    f->n_unsupported_kw = C.n_kw;
    return C.oom ? GH_E_NOMEM : GH_OK;
}

int gh_rules_check_finish(gh_rule_file *f)
{
    checker C = {.f = f, .a = f->internal_, .errors_cap = f->n_errors};
    check_duplicate_sids(&C);
    if (f->n_unsupported_kw)
        qsort(f->unsupported_kw, f->n_unsupported_kw, sizeof(*f->unsupported_kw), cmp_kw);
    if (C.oom || !sort_errors(f))
        return GH_E_NOMEM;
    return GH_OK;
}

int gh_rules_check(gh_rule_file *f, const gh_rule_vars *vars)
{
    int rc = gh_rules_check_rules(f, vars);
    return rc == GH_OK ? gh_rules_check_finish(f) : rc;
}
