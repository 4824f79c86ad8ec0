/* Inspection buffers: names as Suricata's sticky buffers, the directions
 * they exist in, and the transaction stage at which each is complete. */
#include "gatehouse/buffer.h"

#define TS GH_BUFDIR_TS
#define TC GH_BUFDIR_TC

static const gh_buffer_info infos[GH_BUF_N] = {
    [GH_BUF_PAYLOAD] = {"payload", TS | TC, GH_STAGE_NONE, 0},
    [GH_BUF_HTTP_METHOD] = {"http.method", TS, GH_STAGE_LINE, 0},
    [GH_BUF_HTTP_URI] = {"http.uri", TS, GH_STAGE_LINE, 0},
    [GH_BUF_HTTP_URI_RAW] = {"http.uri.raw", TS, GH_STAGE_LINE, 0},
    [GH_BUF_HTTP_REQUEST_LINE] = {"http.request_line", TS, GH_STAGE_LINE, 0},
    [GH_BUF_HTTP_HOST] = {"http.host", TS, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_HOST_RAW] = {"http.host.raw", TS, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_USER_AGENT] = {"http.user_agent", TS, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_REFERER] = {"http.referer", TS, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_ACCEPT] = {"http.accept", TS, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_ACCEPT_ENC] = {"http.accept_enc", TS, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_ACCEPT_LANG] = {"http.accept_lang", TS, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_REQUEST_BODY] = {"http.request_body", TS, GH_STAGE_BODY, 1},
    [GH_BUF_HTTP_RESPONSE_LINE] = {"http.response_line", TC, GH_STAGE_LINE, 0},
    [GH_BUF_HTTP_STAT_CODE] = {"http.stat_code", TC, GH_STAGE_LINE, 0},
    [GH_BUF_HTTP_STAT_MSG] = {"http.stat_msg", TC, GH_STAGE_LINE, 0},
    [GH_BUF_HTTP_LOCATION] = {"http.location", TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_SERVER] = {"http.server", TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_RESPONSE_BODY] = {"http.response_body", TC, GH_STAGE_BODY, 1},
    [GH_BUF_HTTP_PROTOCOL] = {"http.protocol", TS | TC, GH_STAGE_LINE, 0},
    [GH_BUF_HTTP_HEADER] = {"http.header", TS | TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_HEADER_RAW] = {"http.header.raw", TS | TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_HEADER_NAMES] = {"http.header_names", TS | TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_COOKIE] = {"http.cookie", TS | TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_CONTENT_TYPE] = {"http.content_type", TS | TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_CONTENT_LEN] = {"http.content_len", TS | TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_CONNECTION] = {"http.connection", TS | TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_HTTP_START] = {"http.start", TS | TC, GH_STAGE_HEADERS, 0},
    [GH_BUF_FILE_DATA] = {"file.data", TS | TC, GH_STAGE_BODY, 1},
};

const gh_buffer_info *gh_buffer_get_info(gh_buffer_id id)
{
    return (unsigned)id < GH_BUF_N ? &infos[id] : &infos[GH_BUF_PAYLOAD];
}
