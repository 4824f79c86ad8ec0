/* pcap output through libpcap's dumper, opened lazily so the file takes the
 * link type of the first packet written. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gatehouse/decode.h"
#include "gatehouse/pcap_writer.h"

struct gh_pcap_writer {
    char *path;
    pcap_t *dead;
    pcap_dumper_t *dump;
    uint32_t linktype;
    uint64_t written, skipped;
    bool warned;
};

gh_pcap_writer *gh_pcap_writer_open(const char *path, gh_error *err)
{
    gh_pcap_writer *w = calloc(1, sizeof(*w));
    if (!w || !(w->path = strdup(path))) {
        free(w);
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    /* fail early (before the run) when the path cannot be written */
    FILE *f = fopen(path, "wb");
    if (!f) {
        gh_error_set(err, GH_E_IO, "%s: cannot open for writing: %s", path, strerror(errno));
        free(w->path);
        free(w);
        return NULL;
    }
    fclose(f);
    return w;
}

static int start(gh_pcap_writer *w, uint32_t linktype, gh_error *err)
{
    w->dead = pcap_open_dead_with_tstamp_precision((int)linktype, 262144,
                                                   PCAP_TSTAMP_PRECISION_NANO);
    if (!w->dead) {
        gh_error_set(err, GH_E_NOMEM, "%s: cannot create pcap writer", w->path);
        return GH_E_NOMEM;
    }
    w->dump = pcap_dump_open(w->dead, w->path);
    if (!w->dump) {
        gh_error_set(err, GH_E_IO, "%s: %s", w->path, pcap_geterr(w->dead));
        pcap_close(w->dead);
        w->dead = NULL;
        return GH_E_IO;
    }
    w->linktype = linktype;
    return GH_OK;
}

int gh_pcap_writer_write(gh_pcap_writer *w, const gh_pkt_in *p, gh_error *err)
{
    if (!w->dump) {
        int rc = start(w, p->linktype, err);
        if (rc != GH_OK)
            return rc;
    }
    if (p->linktype != w->linktype) {
        w->skipped++;
        if (!w->warned) {
            fprintf(stderr,
                    "gatehouse: warning: %s has link type %u; packets of link type %u are "
                    "not written to it (counted as skipped)\n",
                    w->path, w->linktype, p->linktype);
            w->warned = true;
        }
        return GH_OK;
    }
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)p->ts_sec;
    h.ts.tv_usec = (suseconds_t)p->ts_nsec; /* nanoseconds in a NANO file */
    h.caplen = p->caplen;
    h.len = p->wirelen;
    pcap_dump((u_char *)w->dump, &h, p->data);
    w->written++;
    return GH_OK;
}

uint64_t gh_pcap_writer_written(const gh_pcap_writer *w)
{
    return w->written;
}

uint64_t gh_pcap_writer_skipped(const gh_pcap_writer *w)
{
    return w->skipped;
}

int gh_pcap_writer_close(gh_pcap_writer *w, gh_error *err)
{
    if (!w)
        return GH_OK;
    int rc = GH_OK;
    if (!w->dump)
        rc = start(w, GH_LINK_ETHERNET, err);
    if (w->dump) {
        if (pcap_dump_flush(w->dump) != 0) {
            gh_error_set(err, GH_E_IO, "%s: write failed", w->path);
            rc = GH_E_IO;
        }
        FILE *f = pcap_dump_file(w->dump);
        if (f && ferror(f)) {
            gh_error_set(err, GH_E_IO, "%s: write failed", w->path);
            rc = GH_E_IO;
        }
        pcap_dump_close(w->dump);
    }
    if (w->dead)
        pcap_close(w->dead);
    free(w->path);
    free(w);
    return rc;
}
