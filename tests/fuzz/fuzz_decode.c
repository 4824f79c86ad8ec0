/* Fuzz target: the decoder. The first byte picks the link type (and whether
 * checksums are verified), the rest is the captured frame; the flow hash's
 * walk of the link layers runs on the same bytes. */
#include "fuzz.h"
#include "gatehouse/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t links[] = {
        GH_LINK_ETHERNET, GH_LINK_RAW, GH_LINK_SLL, GH_LINK_SLL2, GH_LINK_NULL,
        GH_LINK_LOOP, GH_LINK_IPV4, GH_LINK_IPV6, GH_LINK_CHDLC, GH_LINK_RAW_DLT,
        GH_LINK_RAW_DLT14, 147 /* a link type we do not decode */,
    };
    if (size < 1 || size > UINT32_MAX)
        return 0;
    uint32_t link = links[(data[0] & 0x7f) % (sizeof(links) / sizeof(links[0]))];
    gh_decode_opts opts = {.verify_checksums = data[0] & 0x80};
    gh_packet pkt;
    gh_decode(&pkt, link, data + 1, (uint32_t)(size - 1), &opts);
    gh_addr src, dst;
    gh_decode_flow_addrs(link, data + 1, (uint32_t)(size - 1), &src, &dst);
    return 0;
}
