/* Fuzz target: the pcap source. The input is a capture file (pcap or
 * pcapng) read through gh_source_pcap_open as `gatehouse pcap -r` reads it:
 * libpcap's parsing, our record offsets and corrupt-file errors; each
 * packet is decoded with its link type. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gatehouse/decode.h"
#include "gatehouse/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gh_error err = {0};
    gh_source *src = gh_source_pcap_open(fuzz_mem_path(data, size), &err);
    if (!src)
        return 0;
    gh_pkt_in pkts[64];
    size_t n;
    gh_decode_opts opts = {.verify_checksums = true};
    int rc;
    while ((rc = gh_source_read_batch(src, pkts, 64, &n, &err)) == GH_OK) {
        for (size_t i = 0; i < n; i++) {
            gh_packet pkt;
            gh_decode(&pkt, pkts[i].linktype, pkts[i].data, pkts[i].caplen, &opts);
        }
    }
    /* an error names the file, the packet and its offset */
    if (rc != GH_E_EOF && ((!strstr(err.msg, "packet") && !strstr(err.msg, "not a")) ||
                           strstr(err.msg, "offset -")))
        abort();
    gh_source_close(src);
    return 0;
}
