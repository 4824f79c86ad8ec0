#!/usr/bin/env python3
"""Traffic for the NFQUEUE end-to-end test (tests/nfq_netns.sh), run inside
the test's network namespace, to 127.0.0.1 only. Each check prints one line
"ok NAME" or "FAIL NAME: detail". Every socket has a timeout, so a phase
ends even when gatehouse stops answering.

Ports (rules in nfq_netns.sh): 7001 signatures (EVILTCP/EVILUDP dropped),
7002 TCP rejected by the firewall, 7003 UDP dropped, 7004 UDP rejected,
7005 TCP passed (marked), 7006 dropped only by the reloaded rules, 7007 the
flood during SIGTERM, 7008 TCP accepted (the load during reloads)."""
import os
import select
import signal
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
fails = 0


def check(name, cond, detail=""):
    global fails
    if cond:
        print(f"ok {name}", flush=True)
    else:
        fails += 1
        print(f"FAIL {name}: {detail}", flush=True)


class TcpServer:
    """Accepts connections and keeps what each one received."""

    def __init__(self, port):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((HOST, port))
        self.s.listen(16)
        self.s.settimeout(0.2)
        self.conns = []  # bytes received per accepted connection
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        socks = {}
        while not self.stop:
            try:
                c, _ = self.s.accept()
                c.setblocking(False)
                socks[c] = len(self.conns)
                self.conns.append(b"")
            except (socket.timeout, BlockingIOError):
                pass
            for c, i in list(socks.items()):
                try:
                    d = c.recv(65536)
                    if d:
                        self.conns[i] += d
                except (BlockingIOError, ConnectionError):
                    pass

    def close(self):
        self.stop = True
        self.t.join()
        self.s.close()


def udp_server(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((HOST, port))
    return s


def udp_drain(s, wait=0.5):
    got = []
    end = time.time() + wait
    while True:
        left = end - time.time()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return got
        got.append(s.recv(65536))


def tcp_send(port, chunks, gap=0.1):
    """Connect, send chunks; returns the exception of connect (or None)."""
    try:
        c = socket.create_connection((HOST, port), timeout=2)
    except OSError as e:
        return e
    try:
        for ch in chunks:
            c.sendall(ch)
            time.sleep(gap)
    except OSError:
        pass
    time.sleep(0.3)
    c.close()
    return None


def udp_send(port, data):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(data, (HOST, port))
    u.close()


def phase_basic(tag):
    srv = TcpServer(7001)
    u1 = udp_server(7001)
    err = tcp_send(7001, [b"hello, benign tcp"])
    err2 = tcp_send(7001, [b"first part ", b"then EVILTCP payload"])
    udp_send(7001, b"benign udp")
    udp_send(7001, b"an EVILUDP datagram")
    time.sleep(0.5)
    srv.close()
    got_udp = udp_drain(u1)
    check(f"{tag}: benign TCP data arrives", err is None and b"hello, benign tcp" in srv.conns,
          f"connect error {err}, received {srv.conns}")
    check(f"{tag}: TCP before the signature arrives, the malicious segment does not",
          err2 is None and any(c.startswith(b"first part") for c in srv.conns)
          and not any(b"EVILTCP" in c for c in srv.conns), f"received {srv.conns}")
    check(f"{tag}: benign UDP arrives", b"benign udp" in got_udp, f"received {got_udp}")
    check(f"{tag}: malicious UDP does not", not any(b"EVILUDP" in d for d in got_udp),
          f"received {got_udp}")
    u1.close()

    # firewall reject of TCP: a listener exists, so a refusal is our RST
    srv2 = TcpServer(7002)
    err = tcp_send(7002, [b"x"])
    time.sleep(0.2)
    srv2.close()
    check(f"{tag}: TCP reject answers with a RST", isinstance(err, ConnectionRefusedError)
          and not srv2.conns, f"connect result {err!r}, accepted {len(srv2.conns)}")

    # UDP drop and reject (a listener exists: ICMP unreachable is ours)
    u3, u4 = udp_server(7003), udp_server(7004)
    udp_send(7003, b"dropped udp")
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.connect((HOST, 7004))
    c.settimeout(2)
    c.send(b"rejected udp")
    refused = None
    try:
        c.recv(100)
    except ConnectionRefusedError as e:
        refused = e
    except OSError as e:
        refused = e
    c.close()
    got3, got4 = udp_drain(u3), udp_drain(u4, 0.1)
    check(f"{tag}: UDP drop", got3 == [], f"received {got3}")
    check(f"{tag}: UDP reject answers with ICMP port unreachable",
          isinstance(refused, ConnectionRefusedError) and got4 == [],
          f"recv result {refused!r}, delivered {got4}")
    u3.close()
    u4.close()


def phase_pass():
    srv = TcpServer(7005)
    chunks = [b"pass-%02d;" % i for i in range(20)]
    err = tcp_send(7005, chunks, gap=0.02)
    time.sleep(0.3)
    srv.close()
    check("passed flow: all data arrives", err is None and srv.conns == [b"".join(chunks)],
          f"connect {err}, received {srv.conns}")


def phase_reloaded(expect_7006_dropped):
    u = udp_server(7006)
    udp_send(7006, b"port 7006")
    got = udp_drain(u)
    u.close()
    if expect_7006_dropped:
        check("new rules after a good reload: 7006 dropped", got == [], f"received {got}")
    else:
        check("7006 open before the reload", got == [b"port 7006"], f"received {got}")


def phase_mixed(count):
    """Benign and malicious datagrams interleaved as fast as possible, each
    kind from its own socket (flow): batches hold both verdicts, so a batch
    verdict that covered the wrong packets would show here."""
    r = udp_server(7001)
    good = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bad = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(count):
        good.sendto(b"fine %05d" % i, (HOST, 7001))
        bad.sendto(b"EVILUDP %05d" % i, (HOST, 7001))
    got = udp_drain(r, 2.0)
    fine = sorted(d for d in got if d.startswith(b"fine"))
    check("interleaved verdicts: every benign datagram arrives, in order",
          fine == [b"fine %05d" % i for i in range(count)] and
          [d for d in got if d.startswith(b"fine")] == fine,
          f"{len(fine)} of {count} benign arrived")
    check("interleaved verdicts: no malicious datagram arrives",
          not any(b"EVILUDP" in d for d in got), f"{sum(b'EVILUDP' in d for d in got)} arrived")
    r.close()


def phase_balance(nsrc, each):
    """Datagrams to 127.0.0.1:7010 from @p nsrc loopback source addresses
    (127.0.0.2...), which --queue-balance spreads over two queues."""
    r = udp_server(7010)
    sent = 0
    for x in range(nsrc):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.%d" % (2 + x), 0))
        for i in range(each):
            s.sendto(b"balanced %d %d" % (x, i), (HOST, 7010))
            sent += 1
        s.close()
    got = udp_drain(r, 2.0)
    check("two queues: every datagram arrives", len(got) == sent,
          f"sent {sent}, received {len(got)}")
    r.close()


def phase_reload_load(seconds, rate):
    """@p seconds of load while the test sends SIGHUP every second: benign and
    EVILUDP datagrams to 7001 (@p rate a second, read as they arrive) and a
    TCP connection to 7008 every 0.2 s. Every benign datagram and TCP byte
    must arrive, no malicious one, whatever generation judged it."""
    r = udp_server(7001)
    got = []
    stop = threading.Event()

    def reader():
        while not stop.is_set() or select.select([r], [], [], 0.5)[0]:
            if select.select([r], [], [], 0.1)[0]:
                got.append(r.recv(100))

    rt = threading.Thread(target=reader, daemon=True)
    rt.start()
    srv = TcpServer(7008)
    conns = []

    def connector():
        while not stop.is_set():
            i = len(conns)
            conns.append(b"".join(b"load %d part %d;" % (i, k) for k in range(3)))
            tcp_send(7008, [b"load %d part %d;" % (i, k) for k in range(3)], gap=0.02)

    ct = threading.Thread(target=connector, daemon=True)
    ct.start()
    good = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bad = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    end = time.time() + seconds
    while time.time() < end:
        for _ in range(rate // 100):
            good.sendto(b"fine %06d" % sent, (HOST, 7001))
            sent += 1
        bad.sendto(b"EVILUDP %06d" % sent, (HOST, 7001))
        time.sleep(0.01)
    stop.set()
    ct.join()
    rt.join()
    time.sleep(0.5)
    fine = [d for d in got if d.startswith(b"fine")]
    print(f"reload load: {sent} benign datagrams, {len(conns)} TCP connections", flush=True)
    check("load during reloads: every benign datagram arrives, in order",
          fine == [b"fine %06d" % i for i in range(sent)], f"{len(fine)} of {sent} arrived")
    check("load during reloads: no malicious datagram arrives",
          not any(b"EVILUDP" in d for d in got), f"{sum(b'EVILUDP' in d for d in got)} arrived")
    srv.close()
    check("load during reloads: every TCP connection delivered its bytes",
          sorted(srv.conns) == sorted(conns),
          f"{sum(a == b for a, b in zip(sorted(srv.conns), sorted(conns)))} of {len(conns)}")
    r.close()


def phase_flood(pid, count):
    """A burst of datagrams with SIGTERM sent to gatehouse in its middle:
    every one must arrive (those gatehouse held are answered, later ones
    bypass the queue once it is gone)."""
    r = udp_server(7007)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    for i in range(count):
        if i == count // 2:
            os.kill(pid, signal.SIGTERM)
        while True:
            try:
                s.sendto(b"flood %06d" % i, (HOST, 7007))
                sent += 1
                break
            except BlockingIOError:
                time.sleep(0.001)
    got = set()
    end = time.time() + 5
    while len(got) < sent and time.time() < end:
        if select.select([r], [], [], 0.2)[0]:
            got.add(r.recv(100))
    check("SIGTERM during a burst: every datagram delivered", len(got) == sent,
          f"sent {sent}, received {len(got)}")


def main():
    phase = sys.argv[1]
    if phase == "basic":
        phase_basic(sys.argv[2])
    elif phase == "pass":
        phase_pass()
    elif phase == "before-reload":
        phase_reloaded(False)
    elif phase == "after-reload":
        phase_reloaded(True)
    elif phase == "balance":
        phase_balance(int(sys.argv[2]), int(sys.argv[3]))
    elif phase == "mixed":
        phase_mixed(int(sys.argv[2]))
    elif phase == "reload-load":
        phase_reload_load(int(sys.argv[2]), int(sys.argv[3]))
    elif phase == "flood":
        phase_flood(int(sys.argv[2]), int(sys.argv[3]))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
