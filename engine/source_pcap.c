/* pcap source: pcap and pcapng files (through libpcap), or a directory of
 * them read in name order. A whole batch stays valid until the next read:
 * its packets are copied into a per-source arena. Classic pcap files of the
 * common link types are read here (libpcap checks their file header, we walk
 * the records as it would) through a buffer of our own, the rest by libpcap
 * through stdio. A corrupt or
 * truncated file ends the run with an error naming the file, the packet
 * number and the byte offset of the bad record, after the packets before it
 * were delivered. */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gatehouse/source.h"

#define ARENA_SIZE (4u << 20)
/* the buffer a file is read through: a read system call per 260 KiB
 * instead of per 4 KiB (stdio's default, st_blksize), the least that holds
 * a whole record of libpcap's largest (MAX_CAPLEN). Reading the records
 * into it and copying them out beats mapping the file and reading them in
 * place: every page of a mapping is new to the page tables, where this
 * buffer's pages are mapped once (the merged corpus capture with all of ET
 * Open: 34.5 ms of packet time instead of 41 mapped, 39 mapped with its
 * pages entered ahead, on a VM with shadow page tables). Smaller is
 * better as long as a record fits: the bytes the kernel copies in are
 * still cached when the records are copied out (same capture, medians of
 * 21 alternated runs: 32.9 ms with 512 KiB, 32.3 with 260, 40.3 with 2 MiB) */
#define IOBUF_SIZE (260u << 10)
/* libpcap's largest record (MAXIMUM_SNAPLEN) for every link type it does
 * not post-process, so for every file read here */
#define MAX_CAPLEN 262144u
/* a classic pcap record header: ts_sec, ts_usec (or nsec), incl_len, orig_len */
#define REC_HDR_SIZE 16u
_Static_assert(REC_HDR_SIZE + MAX_CAPLEN <= IOBUF_SIZE, "a whole record fits the read buffer");

typedef struct pcap_source {
    gh_source base;
    char **files;
    size_t nfiles, next_file;
    pcap_t *pc;
    uint32_t linktype;
    char *cur_name;
    uint64_t file_pkts;    /* packets read from the current file */
    long rec_off;          /* byte offset of the next record in the current file */
    uint32_t rec_hdr;      /* its record header size in a pcap file, 0 in pcapng */
    uint64_t pkt_count;    /* packets handed out over all files */
    gh_source_stats st;
    gh_error pending;      /* error to report on the next read */
    bool has_pending;
    uint32_t snapshot;     /* the current file's pcap_snapshot */
    int fd;                /* the current file when read here, not by libpcap; -1 if not */
    size_t rpos, rlen;     /* the unread bytes of it in iobuf: [rpos, rlen) */
    bool reof;             /* and nothing follows them */
    bool swapped;          /* its record headers are in the other byte order */
    bool nsec;             /* its timestamps are in nanoseconds */
    char rec_err[PCAP_ERRBUF_SIZE]; /* why its record is corrupt, in libpcap's words */
    uint8_t *arena;
    uint8_t *iobuf;        /* IOBUF_SIZE: the current file's read or stdio buffer */
    bool is_dir;
} pcap_source;

int gh_source_read_batch(gh_source *s, gh_pkt_in *pkts, size_t max, size_t *n, gh_error *err)
{
    return s->ops->read_batch(s, pkts, max, n, err);
}

int gh_source_verdicts(gh_source *s, const gh_pkt_in *pkts, const gh_verdict *v, size_t n)
{
    return s->ops->verdicts ? s->ops->verdicts(s, pkts, v, n) : GH_OK;
}

void gh_source_stats_get(const gh_source *s, gh_source_stats *st)
{
    memset(st, 0, sizeof(*st));
    s->ops->stats(s, st);
}

void gh_source_close(gh_source *s)
{
    if (s)
        s->ops->close(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_files(pcap_source *ps)
{
    for (size_t i = 0; i < ps->nfiles; i++)
        free(ps->files[i]);
    free(ps->files);
    ps->files = NULL;
    ps->nfiles = 0;
}

static int list_dir(pcap_source *ps, const char *dir, gh_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        gh_error_set(err, GH_E_IO, "%s: cannot open directory: %s", dir, strerror(errno));
        return GH_E_IO;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *path = malloc(len);
        if (!path)
            goto oom;
        snprintf(path, len, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(path);
            continue;
        }
        if (ps->nfiles == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nf = realloc(ps->files, ncap * sizeof(*nf));
            if (!nf) {
                free(path);
                goto oom;
            }
            ps->files = nf;
            cap = ncap;
        }
        ps->files[ps->nfiles++] = path;
    }
    closedir(d);
    if (ps->nfiles == 0) {
        gh_error_set(err, GH_E_IO, "%s: directory holds no files", dir);
        return GH_E_IO;
    }
    qsort(ps->files, ps->nfiles, sizeof(*ps->files), cmp_str);
    return GH_OK;
oom:
    closedir(d);
    gh_error_set(err, GH_E_NOMEM, "out of memory listing %s", dir);
    return GH_E_NOMEM;
}

/* What the capture at @p path is by its magic: the size of its record
 * headers (16, or 24 in Kuznetzov's modified pcap), 0 for pcapng (blocks of
 * any size), -1 for no capture; 0 when it cannot be read (libpcap will say
 * why) or is not a regular file. */
static int capture_kind(const char *path)
{
    /* a pipe or FIFO (-r /dev/stdin) is read once: its magic is libpcap's */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return 0;
    uint8_t m[4];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    if (n != 4)
        return -1;
    uint32_t be = ((uint32_t)m[0] << 24) | ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3];
    static const struct {
        uint32_t magic;
        int rec_hdr;
    } kinds[] = {
        {0xa1b2c3d4, 16}, {0xd4c3b2a1, 16}, /* pcap, microseconds */
        {0xa1b23c4d, 16}, {0x4d3cb2a1, 16}, /* pcap, nanoseconds */
        {0xa1b2cd34, 24}, {0x34cdb2a1, 24}, /* Kuznetzov's modified pcap */
        {0x0a0d0d0a, 0},                    /* pcapng section header */
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (be == kinds[i].magic)
            return kinds[i].rec_hdr;
    return -1;
}

/* Link types whose packets libpcap 1.10 hands out exactly as the file
 * holds them: pcap_post_process rewrites USB, NFLOG and pflog headers, and
 * SocketCAN ones in byte-swapped Linux cooked captures. */
static bool passes_through(uint32_t dlt, bool swapped)
{
    switch (dlt) {
    case DLT_NULL:
    case DLT_EN10MB:
    case DLT_RAW:
    case DLT_LOOP:
    case DLT_C_HDLC:
    case DLT_IPV4:
    case DLT_IPV6:
        return true;
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
        return !swapped;
    default:
        return false;
    }
}

/* Take the current file from libpcap, which has checked its header, and
 * read its records here when that gives what libpcap would: version 2.4
 * (older files may have caplen and len swapped) and a link type it passes
 * through. False (the file still with libpcap) if not. */
static bool take_current(pcap_source *ps)
{
    bool swapped = pcap_is_swapped(ps->pc) == 1;
    if (pcap_major_version(ps->pc) != 2 || pcap_minor_version(ps->pc) != 4 ||
        !passes_through(ps->linktype, swapped) || !ps->iobuf)
        return false;
    uint32_t magic;
    int fd = dup(fileno(pcap_file(ps->pc)));
    /* the records follow the file header, whatever stdio read ahead */
    if (fd < 0 || pread(fd, &magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
        lseek(fd, (off_t)sizeof(struct pcap_file_header), SEEK_SET) < 0) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    ps->fd = fd;
    ps->rpos = ps->rlen = 0;
    ps->reof = false;
    ps->nsec = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
    ps->swapped = swapped;
    ps->rec_off = (long)sizeof(struct pcap_file_header);
    pcap_close(ps->pc);
    ps->pc = NULL;
    return true;
}

static void end_direct(pcap_source *ps)
{
    close(ps->fd);
    ps->fd = -1;
}

/* At least @p want unread bytes in the buffer, or all the file has left;
 * false on a read error (rec_err says which). */
static bool fill(pcap_source *ps, size_t want)
{
    if (ps->rlen - ps->rpos >= want || ps->reof)
        return true;
    memmove(ps->iobuf, ps->iobuf + ps->rpos, ps->rlen - ps->rpos);
    ps->rlen -= ps->rpos;
    ps->rpos = 0;
    while (ps->rlen < want) {
        ssize_t r = read(ps->fd, ps->iobuf + ps->rlen, IOBUF_SIZE - ps->rlen);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(ps->rec_err, sizeof(ps->rec_err), "error reading dump file: %s",
                     strerror(errno));
            return false;
        }
        if (r == 0) {
            ps->reof = true;
            break;
        }
        ps->rlen += (size_t)r;
    }
    return true;
}

/* The next record of the file read here as libpcap's pcap_next_ex gives it
 * at nanosecond precision (sf-pcap.c's pcap_next_packet), its packet copied
 * to @p dst (room for MAX_CAPLEN bytes): 1, moving rec_off past it;
 * PCAP_ERROR_BREAK at the end of the file; PCAP_ERROR with libpcap's reason
 * in rec_err. */
static int direct_next(pcap_source *ps, struct pcap_pkthdr *h, uint8_t *dst)
{
    if (!fill(ps, REC_HDR_SIZE))
        return PCAP_ERROR;
    size_t left = ps->rlen - ps->rpos;
    if (left == 0)
        return PCAP_ERROR_BREAK;
    if (left < REC_HDR_SIZE) {
        snprintf(ps->rec_err, sizeof(ps->rec_err),
                 "truncated dump file; tried to read %u header bytes, only got %zu",
                 REC_HDR_SIZE, left);
        return PCAP_ERROR;
    }
    uint32_t f[4];
    memcpy(f, ps->iobuf + ps->rpos, sizeof(f));
    if (ps->swapped)
        for (int i = 0; i < 4; i++)
            f[i] = __builtin_bswap32(f[i]);
    /* the timestamp as libpcap 1.10 gives it: its fields sign-extended
     * (bpf_int32), except after a byte swap (SWAPLONG's result is
     * unsigned), and microseconds scaled in its long tv_usec */
    int64_t sec = ps->swapped ? (int64_t)f[0] : (int32_t)f[0];
    int64_t frac = ps->swapped ? (int64_t)f[1] : (int32_t)f[1];
    h->ts.tv_sec = sec;
    h->ts.tv_usec = ps->nsec ? frac : frac * 1000;
    uint32_t caplen = f[2];
    h->len = f[3];
    if (caplen > MAX_CAPLEN) {
        if (caplen > ps->snapshot)
            snprintf(ps->rec_err, sizeof(ps->rec_err),
                     "invalid packet capture length %u, bigger than snaplen of %u", caplen,
                     ps->snapshot);
        else
            snprintf(ps->rec_err, sizeof(ps->rec_err),
                     "invalid packet capture length %u, bigger than maximum of %u", caplen,
                     MAX_CAPLEN);
        return PCAP_ERROR;
    }
    if (!fill(ps, REC_HDR_SIZE + caplen))
        return PCAP_ERROR;
    /* beyond the snapshot length libpcap keeps the first snapshot bytes and
     * skips the rest, but still needs all of them in the file */
    uint32_t keep = caplen > ps->snapshot ? ps->snapshot : caplen;
    size_t avail = ps->rlen - ps->rpos - REC_HDR_SIZE;
    if (avail < caplen) {
        snprintf(ps->rec_err, sizeof(ps->rec_err),
                 "truncated dump file; tried to read %u captured bytes, only got %zu",
                 avail < keep ? keep : caplen, avail);
        return PCAP_ERROR;
    }
    h->caplen = keep;
    memcpy(dst, ps->iobuf + ps->rpos + REC_HDR_SIZE, keep);
    ps->rpos += REC_HDR_SIZE + caplen;
    ps->rec_off += (long)(REC_HDR_SIZE + caplen);
    return 1;
}

/* libpcap's capture of the current file, read through a stdio buffer of
 * IOBUF_SIZE (@p big) or stdio's default. */
static int open_pcap(pcap_source *ps, bool big, gh_error *err)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    /* opened here for its buffer; libpcap closes it with the capture */
    FILE *fp = fopen(ps->cur_name, "rb");
    if (!fp) {
        gh_error_set(err, GH_E_IO, "%s: %s", ps->cur_name, strerror(errno));
        return GH_E_IO;
    }
    if (big && ps->iobuf)
        setvbuf(fp, (char *)ps->iobuf, _IOFBF, IOBUF_SIZE);
    ps->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!ps->pc) {
        fclose(fp);
        gh_error_set(err, GH_E_FORMAT, "%s: not a readable pcap or pcapng file: %s", ps->cur_name,
                     ebuf);
        return GH_E_FORMAT;
    }
    return GH_OK;
}

static int open_next(pcap_source *ps, gh_error *err)
{
    if (ps->pc) {
        pcap_close(ps->pc);
        ps->pc = NULL;
    }
    if (ps->next_file >= ps->nfiles)
        return GH_E_EOF;
    ps->cur_name = ps->files[ps->next_file++];
    /* in a directory, files that are not captures at all (a README, a
     * checksum list) are skipped with a warning; a capture that fails to
     * open is still an error */
    int kind = capture_kind(ps->cur_name);
    if (ps->is_dir && kind < 0) {
        fprintf(stderr, "gatehouse: warning: skipping %s: not a pcap or pcapng file\n",
                ps->cur_name);
        ps->st.skipped_files++;
        return open_next(ps, err);
    }
    /* a classic pcap file is read here if it can be: libpcap reads its
     * header through a small buffer, not a large buffer's worth of records */
    bool direct = kind == REC_HDR_SIZE;
    int rc = open_pcap(ps, !direct, err);
    if (rc != GH_OK)
        return rc;
    ps->linktype = (uint32_t)pcap_datalink(ps->pc);
    ps->snapshot = (uint32_t)pcap_snapshot(ps->pc);
    if (direct && !take_current(ps)) {
        pcap_close(ps->pc);
        ps->pc = NULL;
        if ((rc = open_pcap(ps, true, err)) != GH_OK)
            return rc;
    }
    ps->file_pkts = 0;
    if (ps->pc) {
        FILE *f = pcap_file(ps->pc);
        ps->rec_off = f ? ftell(f) : -1;
    }
    ps->rec_hdr = kind > 0 ? (uint32_t)kind : 0;
    ps->st.files++;
    return GH_OK;
}

static int pcap_read_batch(gh_source *s, gh_pkt_in *pkts, size_t max, size_t *n, gh_error *err)
{
    pcap_source *ps = (pcap_source *)s;
    size_t used = 0, k = 0;
    *n = 0;
    if (ps->has_pending) {
        if (err)
            *err = ps->pending;
        return ps->pending.code;
    }
    while (k < max) {
        if (!ps->pc && ps->fd < 0) {
            int rc = open_next(ps, &ps->pending);
            if (rc == GH_E_EOF)
                break;
            if (rc != GH_OK) {
                ps->has_pending = true;
                break;
            }
        }
        /* the arena holds the batch: room for a maximal packet */
        uint32_t reserve = ps->snapshot < MAX_CAPLEN ? MAX_CAPLEN : ps->snapshot;
        if (k > 0 && used + reserve > ARENA_SIZE)
            break;
        struct pcap_pkthdr hdr, *h = &hdr;
        const u_char *data;
        uint8_t *pkt = ps->arena + used;
        int r = ps->fd >= 0 ? direct_next(ps, h, pkt) : pcap_next_ex(ps->pc, &h, &data);
        if (r == PCAP_ERROR_BREAK) { /* end of this file */
            if (ps->fd >= 0) {
                end_direct(ps);
            } else {
                pcap_close(ps->pc);
                ps->pc = NULL;
            }
            continue;
        }
        if (r != 1) {
            gh_error_set(&ps->pending, GH_E_FORMAT,
                         "%s: packet %" PRIu64 " (record at byte offset %ld) is corrupt: %s",
                         ps->cur_name, ps->file_pkts + 1, ps->rec_off,
                         ps->fd >= 0 ? ps->rec_err : pcap_geterr(ps->pc));
            ps->has_pending = true;
            break;
        }
        if (ps->fd < 0) {
            /* the arena holds the batch; room for a maximal packet was
             * checked before the read, so only a packet beyond every
             * snaplen lands here */
            if (used + h->caplen > ARENA_SIZE) {
                gh_error_set(&ps->pending, GH_E_FORMAT,
                             "%s: packet %" PRIu64 " (record at byte offset %ld) has %u "
                             "captured bytes, more than the snapshot length allows",
                             ps->cur_name, ps->file_pkts + 1, ps->rec_off, h->caplen);
                ps->has_pending = true;
                break;
            }
            memcpy(pkt, data, h->caplen);
            /* the next record's offset (direct_next keeps its own): counted in
             * a pcap file (ftell costs a system call per packet), asked in
             * pcapng and after a record libpcap cut to the snapshot length
             * (its caplen is then the snapshot's, not the file's) */
            if (ps->rec_hdr && ps->rec_off >= 0 && h->caplen < ps->snapshot) {
                ps->rec_off += (long)(ps->rec_hdr + h->caplen);
            } else {
                FILE *f = pcap_file(ps->pc);
                ps->rec_off = f ? ftell(f) : -1;
            }
        }
        used += h->caplen;
        ps->file_pkts++;
        ps->pkt_count++;
        gh_pkt_in *p = &pkts[k++];
        p->data = pkt;
        p->caplen = h->caplen;
        p->wirelen = h->len;
        p->ts_sec = h->ts.tv_sec;
        p->ts_nsec = (uint32_t)h->ts.tv_usec; /* nanoseconds at NANO precision */
        p->linktype = ps->linktype;
        p->id = ps->pkt_count;
        ps->st.packets++;
        ps->st.bytes += h->caplen;
    }
    *n = k;
    if (k == 0 && ps->has_pending) {
        if (err)
            *err = ps->pending;
        return ps->pending.code;
    }
    return k == 0 ? GH_E_EOF : GH_OK;
}

static void src_pcap_stats(const gh_source *s, gh_source_stats *st)
{
    *st = ((const pcap_source *)s)->st;
}

static void pcap_src_close(gh_source *s)
{
    pcap_source *ps = (pcap_source *)s;
    if (ps->pc)
        pcap_close(ps->pc);
    if (ps->fd >= 0)
        end_direct(ps);
    free_files(ps);
    free(ps->arena);
    free(ps->iobuf);
    free(ps);
}

static const gh_source_ops pcap_ops = {
    .name = "pcap",
    .read_batch = pcap_read_batch,
    .verdicts = NULL,
    .stats = src_pcap_stats,
    .close = pcap_src_close,
};

const char *gh_source_pcap_current_file(const gh_source *s)
{
    if (!s || s->ops != &pcap_ops)
        return NULL;
    return ((const pcap_source *)s)->cur_name;
}

gh_source *gh_source_pcap_open(const char *path, gh_error *err)
{
    pcap_source *ps = calloc(1, sizeof(*ps));
    if (!ps || !(ps->arena = malloc(ARENA_SIZE))) {
        free(ps);
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    ps->base.ops = &pcap_ops;
    ps->fd = -1;
    ps->iobuf = malloc(IOBUF_SIZE); /* without it, stdio's own buffer */
    struct stat sb;
    if (stat(path, &sb) != 0) {
        gh_error_set(err, GH_E_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        ps->is_dir = true;
        if (list_dir(ps, path, err) != GH_OK)
            goto fail;
    } else {
        ps->files = malloc(sizeof(*ps->files));
        if (!ps->files || !(ps->files[0] = strdup(path))) {
            gh_error_set(err, GH_E_NOMEM, "out of memory");
            goto fail;
        }
        ps->nfiles = 1;
    }
    /* open the first file now so a non-capture fails before any work */
    int rc = open_next(ps, err);
    if (rc == GH_E_EOF)
        gh_error_set(err, GH_E_FORMAT, "%s: holds no pcap or pcapng file", path);
    if (rc != GH_OK)
        goto fail;
    return &ps->base;
fail:
    pcap_src_close(&ps->base);
    return NULL;
}
