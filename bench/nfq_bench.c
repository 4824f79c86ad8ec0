/* gatehouse-bench nfq-loop and udp-flood: the two ends of bench/nfq.sh.
 *
 * nfq-loop is the ceiling: the least a program must do per packet to run
 * inline (read it, accept it), written straight on libmnl without any of
 * gatehouse, so `gatehouse nfq` can be compared with it on the same
 * traffic. udp-flood sends that traffic: datagrams to 127.0.0.1 from a set
 * of source ports (one flow each) for a fixed time, with sendmmsg. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "scenarios.h"

#define LOOP_BATCH 64
#define LOOP_SLOT (65536u + 4096u)

static volatile sig_atomic_t loop_stop;

static void on_term(int sig)
{
    (void)sig;
    loop_stop = 1;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int loop_config(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
    nlh->nlmsg_flags |= NLM_F_ACK;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        return -1;
    char buf[8192];
    ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof(buf));
    if (r < 0)
        return -1;
    return mnl_cb_run(buf, (size_t)r, 0, mnl_socket_get_portid(nl), NULL, NULL) < 0 ? -1 : 0;
}

/* The id of the packet message @p nlh, or -1. */
static int64_t packet_id(const struct nlmsghdr *nlh)
{
    if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET)
        return -1;
    struct nlattr *attr[NFQA_MAX + 1];
    memset(attr, 0, sizeof(attr));
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
        return -1;
    const struct nfqnl_msg_packet_hdr *ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    return ntohl(ph->packet_id);
}

static void send_verdict(struct mnl_socket *nl, uint16_t queue, uint32_t id, bool batch)
{
    char buf[256];
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT,
                                         queue);
    nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
    while (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 && (errno == EINTR || errno == ENOBUFS))
        ;
}

/* nfq-loop --queue N [--no-batch] [--queue-maxlen N] [--rcvbuf BYTES]: accept everything until
 * SIGTERM; prints packets and the time from the first to the last. */
int bench_nfq_loop(int argc, char **argv)
{
    uint16_t queue = 0;
    bool batch = true;
    uint32_t maxlen = 0;
    int sz = 8 << 20;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc) {
            queue = (uint16_t)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--no-batch") == 0) {
            batch = false;
        } else if (strcmp(argv[i], "--queue-maxlen") == 0 && i + 1 < argc) {
            maxlen = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--rcvbuf") == 0 && i + 1 < argc) {
            sz = atoi(argv[++i]);
        } else {
            fprintf(stderr, "nfq-loop: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        perror("nfq-loop: netlink");
        return 1;
    }
    int fd = mnl_socket_get_fd(nl);
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
    char cbuf[256];
    struct nlmsghdr *nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
    if (loop_config(nl, nlh) < 0) {
        perror("nfq-loop: bind queue");
        return 1;
    }
    nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
    loop_config(nl, nlh);
    nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, queue);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
    loop_config(nl, nlh);
    if (maxlen) {
        nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, queue);
        nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
        loop_config(nl, nlh);
    }
    uint8_t *slots = malloc((size_t)LOOP_BATCH * LOOP_SLOT);
    struct mmsghdr msgs[LOOP_BATCH];
    struct iovec iov[LOOP_BATCH];
    for (int i = 0; i < LOOP_BATCH; i++) {
        iov[i] = (struct iovec){slots + (size_t)i * LOOP_SLOT, LOOP_SLOT};
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    fprintf(stderr, "nfq-loop: ready on queue %u (%s)\n", queue, batch ? "batch" : "no batch");
    uint64_t packets = 0;
    double first = 0, last = 0;
    while (!loop_stop) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int got = recvmmsg(fd, msgs, batch ? LOOP_BATCH : 1, MSG_DONTWAIT, NULL);
        if (got <= 0)
            continue;
        /* timed as gatehouse nfq times itself: from the first batch read */
        if (!first)
            first = mono();
        int64_t last_id = -1;
        for (int i = 0; i < got; i++) {
            const struct nlmsghdr *m = (const struct nlmsghdr *)iov[i].iov_base;
            int left = (int)msgs[i].msg_len;
            while (mnl_nlmsg_ok(m, left)) {
                int64_t id = packet_id(m);
                if (id >= 0) {
                    packets++;
                    if (batch)
                        last_id = id;
                    else
                        send_verdict(nl, queue, (uint32_t)id, false);
                }
                m = mnl_nlmsg_next(m, &left);
            }
        }
        if (last_id >= 0)
            send_verdict(nl, queue, (uint32_t)last_id, true);
        last = mono();
    }
    nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
    mnl_socket_close(nl);
    free(slots);
    double secs = last > first ? last - first : 0;
    printf("{\"bench\":\"nfq-loop\",\"batch\":%s,\"packets\":%" PRIu64
           ",\"active_seconds\":%.6f,\"packets_per_sec\":%.0f}\n",
           batch ? "true" : "false", packets, secs, secs > 0 ? (double)packets / secs : 0.0);
    return 0;
}

/* udp-flood --port P [--seconds S | --count N] [--flows N] [--size B]:
 * datagrams to 127.0.0.1:P from N sockets in turn, for S seconds or until
 * N are sent. */
int bench_udp_flood(int argc, char **argv)
{
    int port = 9000, flows = 64, size = 256;
    double seconds = 3;
    uint64_t count = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--flows") == 0 && i + 1 < argc)
            flows = atoi(argv[++i]);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = atoi(argv[++i]);
        else {
            fprintf(stderr, "udp-flood: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (flows < 1 || flows > 1024 || size < 1 || size > 1400 || seconds <= 0 || seconds > 600) {
        fprintf(stderr, "udp-flood: --flows 1..1024, --size 1..1400, --seconds 0..600\n");
        return 2;
    }
    int *fds = calloc((size_t)flows, sizeof(int));
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    for (int i = 0; i < flows; i++) {
        if ((fds[i] = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
            connect(fds[i], (struct sockaddr *)&dst, sizeof(dst)) < 0) {
            perror("udp-flood: socket");
            return 1;
        }
        /* queued packets stay charged to the sending socket: room for many */
        int sb = 64 << 20;
        if (setsockopt(fds[i], SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof(sb)) < 0)
            setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
    }
    /* ordinary-looking text payloads: DPI has to scan them, nothing matches */
    enum { BURST = 32 };
    uint8_t payload[1400];
    for (int i = 0; i < size; i++)
        payload[i] = (uint8_t)("the quick brown fox jumps over the lazy dog 0123456789 "[i % 55]);
    struct mmsghdr mm[BURST];
    struct iovec iv[BURST];
    for (int i = 0; i < BURST; i++) {
        iv[i] = (struct iovec){payload, (size_t)size};
        memset(&mm[i], 0, sizeof(mm[i]));
        mm[i].msg_hdr.msg_iov = &iv[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t sent = 0;
    double t0 = mono(), end = t0 + seconds;
    for (int k = 0; count ? sent < count : mono() < end; k++) {
        unsigned want = count && count - sent < BURST ? (unsigned)(count - sent) : BURST;
        int r = sendmmsg(fds[k % flows], mm, want, 0);
        if (r > 0)
            sent += (uint64_t)r;
    }
    double el = mono() - t0;
    for (int i = 0; i < flows; i++)
        close(fds[i]);
    free(fds);
    printf("{\"bench\":\"udp-flood\",\"sent\":%" PRIu64 ",\"seconds\":%.3f,\"packets_per_sec\":%.0f,"
           "\"flows\":%d,\"size\":%d}\n",
           sent, el, (double)sent / el, flows, size);
    return 0;
}
