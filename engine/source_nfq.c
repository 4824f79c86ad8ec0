/* NFQUEUE source: packets the kernel queues to one netfilter queue, read
 * over netlink (libmnl, with libnetfilter_queue's message helpers), and the
 * verdicts sent back. One source per queue, used by one thread.
 *
 * Batching: recvmmsg() takes every packet waiting (up to the batch size) in
 * one call, and the verdicts of a batch go out in one sendto() as
 * NFQNL_MSG_VERDICT_BATCH messages, one per run of equal verdicts: a batch
 * verdict applies to every queued packet with an id up to its own, and
 * every earlier packet already has its verdict, so runs in order are exact.
 * The kernel numbers packets in the order it queues them (under the queue
 * lock), so ids read in order are increasing. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "gatehouse/decode.h"
#include "gatehouse/source.h"

/* one datagram: the nfnetlink header, attributes and up to 64 KiB of packet */
#define SLOT_SIZE (65536u + 4096u)
#define COPY_RANGE 0xffff
#define VBUF_SIZE (GH_NFQ_MAX_BATCH * 128u)

typedef struct nfq_source {
    gh_source base;
    struct mnl_socket *nl;
    int fd;
    uint32_t portid;
    uint32_t seq;
    gh_nfq_config cfg;
    bool fail_open_ok;
    bool gso_ok;
    uint64_t held;           /* packets handed out without a verdict yet */
    uint64_t acks_err;       /* error messages the kernel sent back */
    int last_err;            /* errno of the last one */
    gh_source_stats st;
    uint8_t *slots;          /* GH_NFQ_MAX_BATCH datagram buffers */
    struct mmsghdr msgs[GH_NFQ_MAX_BATCH];
    struct iovec iov[GH_NFQ_MAX_BATCH];
    char vbuf[VBUF_SIZE];    /* verdict messages of one batch */
} nfq_source;

static void nfqsrc_close(gh_source *s);
static int nfqsrc_read_batch(gh_source *s, gh_pkt_in *pkts, size_t max, size_t *n, gh_error *err);
static int nfqsrc_verdicts(gh_source *s, const gh_pkt_in *pkts, const gh_verdict *v, size_t n);
static void nfqsrc_stats(const gh_source *s, gh_source_stats *st);

static const gh_source_ops nfq_ops = {
    .name = "nfq",
    .read_batch = nfqsrc_read_batch,
    .verdicts = nfqsrc_verdicts,
    .stats = nfqsrc_stats,
    .close = nfqsrc_close,
};

void gh_nfq_config_init(gh_nfq_config *cfg, uint16_t queue)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->queue = queue;
    cfg->gso = true;
    cfg->batch = true;
    cfg->rcvbuf = 8u << 20;
    cfg->timeout_ms = 200;
}

static int send_all(nfq_source *q, const void *buf, size_t len)
{
    for (;;) {
        ssize_t r = mnl_socket_sendto(q->nl, buf, len);
        if (r >= 0)
            return GH_OK;
        if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS)
            return GH_E_IO;
    }
}

/* A single verdict for packet @p id (no batching). */
static int put_verdict(char *buf, uint16_t queue, uint32_t id, int verdict, bool batch,
                       bool has_mark, uint32_t mark)
{
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT,
                                         queue);
    nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
    if (has_mark)
        nfq_nlmsg_verdict_put_mark(nlh, mark);
    return (int)NLMSG_ALIGN(nlh->nlmsg_len);
}

/* A packet that arrives while we wait for a configuration answer goes
 * through the hook again (NF_REPEAT) and is queued anew once we run. */
static void repeat_packet(nfq_source *q, const struct nlmsghdr *nlh)
{
    struct nlattr *attr[NFQA_MAX + 1];
    memset(attr, 0, sizeof(attr));
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
        return;
    const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    char buf[256];
    int len = put_verdict(buf, q->cfg.queue, ntohl(ph->packet_id), NF_REPEAT, false, false, 0);
    send_all(q, buf, (size_t)len);
}

/* Send one configuration message with NLM_F_ACK and wait for its answer:
 * 0, or the kernel's negative errno. */
static int config_request(nfq_source *q, struct nlmsghdr *nlh)
{
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++q->seq;
    if (send_all(q, nlh, nlh->nlmsg_len) != GH_OK)
        return -errno;
    uint8_t *buf = q->slots;
    for (int tries = 0; tries < 10000; tries++) {
        ssize_t r = mnl_socket_recvfrom(q->nl, buf, SLOT_SIZE);
        if (r < 0) {
            if (errno == EINTR || errno == ENOBUFS)
                continue;
            return -errno;
        }
        const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
        int left = (int)r;
        while (mnl_nlmsg_ok(m, left)) {
            if (m->nlmsg_type == NLMSG_ERROR && m->nlmsg_seq == q->seq) {
                const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
                return e->error;
            }
            if ((m->nlmsg_type & 0xff) == NFQNL_MSG_PACKET)
                repeat_packet(q, m);
            m = mnl_nlmsg_next(m, &left);
        }
    }
    return -ETIMEDOUT;
}

static int config_flags(nfq_source *q, uint32_t flags)
{
    char buf[256];
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->cfg.queue);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
    return config_request(q, nlh);
}

gh_source *gh_source_nfq_open(const gh_nfq_config *cfg, gh_error *err)
{
    nfq_source *q = calloc(1, sizeof(*q));
    if (!q || !(q->slots = malloc((size_t)GH_NFQ_MAX_BATCH * SLOT_SIZE))) {
        free(q);
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    q->base.ops = &nfq_ops;
    q->cfg = *cfg;
    q->fd = -1;
    if (!(q->nl = mnl_socket_open(NETLINK_NETFILTER))) {
        gh_error_set(err, GH_E_IO, "queue %u: netlink socket: %s", cfg->queue, strerror(errno));
        goto fail;
    }
    if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        gh_error_set(err, GH_E_IO, "queue %u: netlink bind: %s", cfg->queue, strerror(errno));
        goto fail;
    }
    q->portid = mnl_socket_get_portid(q->nl);
    q->fd = mnl_socket_get_fd(q->nl);
    int one = 1;
    /* a full socket buffer must not turn into ENOBUFS on our reads: the
     * kernel counts what it could not queue (queue_user_dropped) */
    setsockopt(q->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
    if (cfg->rcvbuf) {
        int sz = (int)cfg->rcvbuf;
        if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
            setsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    }

    char buf[256];
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, cfg->queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
    int rc = config_request(q, nlh);
    if (rc < 0) {
        gh_error_set(err, GH_E_IO, "queue %u: bind: %s%s", cfg->queue, strerror(-rc),
                     rc == -EPERM || rc == -EBUSY
                         ? " (another program holds this queue, or no CAP_NET_ADMIN)"
                         : "");
        goto fail;
    }
    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, cfg->queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, COPY_RANGE);
    if ((rc = config_request(q, nlh)) < 0) {
        gh_error_set(err, GH_E_IO, "queue %u: copy mode: %s", cfg->queue, strerror(-rc));
        goto fail;
    }
    if (cfg->queue_maxlen) {
        nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, cfg->queue);
        nfq_nlmsg_cfg_put_qmaxlen(nlh, cfg->queue_maxlen);
        if ((rc = config_request(q, nlh)) < 0) {
            gh_error_set(err, GH_E_IO, "queue %u: queue length: %s", cfg->queue, strerror(-rc));
            goto fail;
        }
    }
    /* GSO and fail-open one at a time, so each answer says which one the
     * kernel refused */
    if (cfg->gso)
        q->gso_ok = config_flags(q, NFQA_CFG_F_GSO) == 0;
    if (cfg->fail_open)
        q->fail_open_ok = config_flags(q, NFQA_CFG_F_FAIL_OPEN) == 0;

    for (size_t i = 0; i < GH_NFQ_MAX_BATCH; i++) {
        q->iov[i].iov_base = q->slots + i * SLOT_SIZE;
        q->iov[i].iov_len = SLOT_SIZE;
        q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
        q->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    return &q->base;
fail:
    nfqsrc_close(&q->base);
    return NULL;
}

bool gh_source_nfq_fail_open(const gh_source *s)
{
    return ((const nfq_source *)s)->fail_open_ok;
}

bool gh_source_nfq_gso(const gh_source *s)
{
    return ((const nfq_source *)s)->gso_ok;
}

void gh_source_nfq_set_timeout(gh_source *s, int timeout_ms)
{
    ((nfq_source *)s)->cfg.timeout_ms = timeout_ms;
}

uint64_t gh_source_nfq_held(const gh_source *s)
{
    return ((const nfq_source *)s)->held;
}

/* Turn one packet message into a gh_pkt_in; false when it is not one. */
static bool parse_packet(const struct nlmsghdr *nlh, gh_pkt_in *out, const struct timespec *now)
{
    if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET ||
        (nlh->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE)
        return false;
    struct nlattr *attr[NFQA_MAX + 1];
    memset(attr, 0, sizeof(attr));
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
        return false;
    const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    out->id = ntohl(ph->packet_id);
    if (attr[NFQA_PAYLOAD]) {
        out->data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
        out->caplen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
    } else {
        /* no payload (copy mode changed under us): decoded as empty, and
         * still answered */
        out->data = (const uint8_t *)"";
        out->caplen = 0;
    }
    out->wirelen = attr[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) : out->caplen;
    /* NFQUEUE hands over the IP packet; the decoder reads the version */
    out->linktype = GH_LINK_RAW;
    if (attr[NFQA_TIMESTAMP]) {
        const struct nfqnl_msg_packet_timestamp *ts = mnl_attr_get_payload(attr[NFQA_TIMESTAMP]);
        out->ts_sec = (int64_t)be64toh(ts->sec);
        out->ts_nsec = (uint32_t)be64toh(ts->usec) * 1000u;
    } else {
        out->ts_sec = now->tv_sec;
        out->ts_nsec = (uint32_t)now->tv_nsec;
    }
    return true;
}

/* Error answers to our verdicts arrive as NLMSG_ERROR in the read stream. */
static void note_error(nfq_source *q, const struct nlmsghdr *m)
{
    if (m->nlmsg_type != NLMSG_ERROR)
        return;
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(m);
    if (e->error) {
        q->acks_err++;
        q->last_err = -e->error;
    }
}

static int nfqsrc_read_batch(gh_source *s, gh_pkt_in *pkts, size_t max, size_t *n, gh_error *err)
{
    nfq_source *q = (nfq_source *)s;
    *n = 0;
    if (max > GH_NFQ_MAX_BATCH)
        max = GH_NFQ_MAX_BATCH;
    if (!q->cfg.batch)
        max = 1;
    struct pollfd pfd = {.fd = q->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, q->cfg.timeout_ms);
    if (pr <= 0) {
        if (pr < 0 && errno != EINTR) {
            gh_error_set(err, GH_E_IO, "queue %u: poll: %s", q->cfg.queue, strerror(errno));
            return GH_E_IO;
        }
        return GH_OK;
    }
    int got;
    if (q->cfg.batch) {
        got = recvmmsg(q->fd, q->msgs, (unsigned)max, MSG_DONTWAIT, NULL);
    } else {
        ssize_t r = recv(q->fd, q->slots, SLOT_SIZE, MSG_DONTWAIT);
        got = r < 0 ? -1 : 1;
        q->msgs[0].msg_len = r < 0 ? 0 : (unsigned)r;
    }
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)
            return GH_OK;
        gh_error_set(err, GH_E_IO, "queue %u: receive: %s", q->cfg.queue, strerror(errno));
        return GH_E_IO;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    for (int i = 0; i < got; i++) {
        const struct nlmsghdr *m = (const struct nlmsghdr *)(q->slots + (size_t)i * SLOT_SIZE);
        int left = (int)q->msgs[i].msg_len;
        while (mnl_nlmsg_ok(m, left)) {
            if (*n < max && parse_packet(m, &pkts[*n], &now)) {
                q->st.bytes += pkts[*n].caplen;
                (*n)++;
            } else if ((m->nlmsg_type & 0xff) == NFQNL_MSG_PACKET &&
                       m->nlmsg_type >> 8 == NFNL_SUBSYS_QUEUE) {
                /* more packets in one datagram than the batch holds (the
                 * kernel sends one per datagram): back through the hook */
                repeat_packet(q, m);
            } else {
                note_error(q, m);
            }
            m = mnl_nlmsg_next(m, &left);
        }
    }
    q->held += *n;
    q->st.packets += *n;
    return GH_OK;
}

static int kernel_verdict(gh_verdict v)
{
    return v == GH_VERDICT_ACCEPT ? NF_ACCEPT : NF_DROP;
}

int gh_source_nfq_verdicts(gh_source *s, const gh_pkt_in *pkts, const gh_verdict *v,
                           const uint32_t *marks, size_t n)
{
    nfq_source *q = (nfq_source *)s;
    uint16_t queue = q->cfg.queue;
    if (n > GH_NFQ_MAX_BATCH)
        n = GH_NFQ_MAX_BATCH;
    int rc = GH_OK;
    if (!q->cfg.batch) {
        for (size_t i = 0; i < n; i++) {
            int len = put_verdict(q->vbuf, queue, (uint32_t)pkts[i].id, kernel_verdict(v[i]),
                                  false, marks && marks[i], marks ? marks[i] : 0);
            if (send_all(q, q->vbuf, (size_t)len) != GH_OK)
                rc = GH_E_IO;
        }
    } else {
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            int kv = kernel_verdict(v[i]);
            uint32_t mark = marks ? marks[i] : 0;
            /* extend the run while the next packet gets the same answer */
            if (i + 1 < n && kernel_verdict(v[i + 1]) == kv &&
                (marks ? marks[i + 1] : 0) == mark)
                continue;
            off += (size_t)put_verdict(q->vbuf + off, queue, (uint32_t)pkts[i].id, kv, true,
                                       mark != 0, mark);
        }
        if (off && send_all(q, q->vbuf, off) != GH_OK)
            rc = GH_E_IO;
    }
    q->held -= n <= q->held ? n : q->held;
    return rc;
}

static int nfqsrc_verdicts(gh_source *s, const gh_pkt_in *pkts, const gh_verdict *v, size_t n)
{
    return gh_source_nfq_verdicts(s, pkts, v, NULL, n);
}

int gh_nfq_kernel_stats(uint16_t queue, gh_nfq_kstats *ks)
{
    memset(ks, 0, sizeof(*ks));
    FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
    if (!f)
        return GH_E_IO;
    unsigned qn, mode, range;
    uint32_t portid;
    unsigned long long total, dropped, udropped, seq;
    int found = GH_E_INVAL;
    /* queue_number peer_portid queue_total copy_mode copy_range
     * queue_dropped queue_user_dropped id_sequence 1 */
    while (fscanf(f, "%u %" SCNu32 " %llu %u %u %llu %llu %llu %*u", &qn, &portid, &total, &mode,
                  &range, &dropped, &udropped, &seq) == 8) {
        if (qn != queue)
            continue;
        ks->queue_total = total;
        ks->queue_dropped = dropped;
        ks->user_dropped = udropped;
        ks->id_sequence = seq;
        found = GH_OK;
        break;
    }
    fclose(f);
    return found;
}

static void nfqsrc_stats(const gh_source *s, gh_source_stats *st)
{
    const nfq_source *q = (const nfq_source *)s;
    *st = q->st;
    gh_nfq_kstats ks;
    if (gh_nfq_kernel_stats(q->cfg.queue, &ks) == GH_OK)
        st->kernel_drops = ks.queue_dropped + ks.user_dropped;
}

uint64_t gh_source_nfq_verdict_errors(const gh_source *s, int *last_errno)
{
    const nfq_source *q = (const nfq_source *)s;
    if (last_errno)
        *last_errno = q->last_err;
    return q->acks_err;
}

static void nfqsrc_close(gh_source *s)
{
    nfq_source *q = (nfq_source *)s;
    if (q->nl) {
        if (q->fd >= 0) {
            char buf[256];
            struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->cfg.queue);
            nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
            send_all(q, nlh, nlh->nlmsg_len);
        }
        mnl_socket_close(q->nl);
    }
    free(q->slots);
    free(q);
}
