#!/usr/bin/env python3
"""Captures for tests/cli_policy.sh (failure policies), written into DIR:

flows.pcap       4 TCP connections to port 80 open at once (handshake, a
                 request with EVIL, the reply), then closed in turn
midstream.pcap   a connection without its handshake (port 81), then a whole one (port 82)
bomb.pcap        HTTP: a gzip response inflating to 64 KiB
apperr.pcap      HTTP: a request with an invalid Content-Length, then a second request
ooo.pcap         a connection whose client sends 6 segments of 400 bytes, the first last
"""
import gzip
import sys

from scapy.all import IP, TCP, Ether, Raw, wrpcap

T0 = 1700000000.0


class Conv:
    """One TCP connection: packets with sequence numbers kept."""

    def __init__(self, out, cport, sport=80, cli="10.0.0.1", srv="10.0.0.2"):
        self.out, self.cport, self.sport, self.cli, self.srv = out, cport, sport, cli, srv
        self.cseq, self.sseq = 1000, 5000

    def pkt(self, to_server, flags, data=b""):
        if to_server:
            ip = IP(src=self.cli, dst=self.srv)
            tcp = TCP(sport=self.cport, dport=self.sport, flags=flags, seq=self.cseq,
                      ack=self.sseq if "A" in flags else 0)
        else:
            ip = IP(src=self.srv, dst=self.cli)
            tcp = TCP(sport=self.sport, dport=self.cport, flags=flags, seq=self.sseq,
                      ack=self.cseq)
        p = Ether() / ip / tcp
        if data:
            p = p / Raw(data)
        p.time = T0 + len(self.out) * 0.001
        self.out.append(p)
        step = len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        if to_server:
            self.cseq += step
        else:
            self.sseq += step

    def handshake(self):
        self.pkt(True, "S")
        self.pkt(False, "SA")
        self.pkt(True, "A")

    def close(self):
        self.pkt(True, "FA")
        self.pkt(False, "FA")
        self.pkt(True, "A")


def http_reply(body, extra=b""):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + extra +
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def flows(d):
    out = []
    cs = [Conv(out, 40000 + i) for i in range(4)]
    for c in cs:
        c.handshake()
    for c in cs:
        c.pkt(True, "PA", b"GET /EVIL HTTP/1.1\r\nHost: a\r\n\r\n")
        c.pkt(False, "PA", http_reply(b"hello"))
    for c in cs:
        c.close()
    wrpcap(f"{d}/flows.pcap", out)


def midstream(d):
    out = []
    m = Conv(out, 41000, 81)
    m.pkt(True, "PA", b"EVIL one")
    m.pkt(False, "A")
    m.pkt(True, "PA", b"EVIL two")
    w = Conv(out, 41001, 82)
    w.handshake()
    w.pkt(True, "PA", b"EVIL three")
    w.close()
    wrpcap(f"{d}/midstream.pcap", out)


def bomb(d):
    out = []
    c = Conv(out, 42000)
    c.handshake()
    c.pkt(True, "PA", b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
    body = gzip.compress(b"A" * 65536)
    c.pkt(False, "PA", http_reply(body, b"Content-Encoding: gzip\r\n"))
    c.pkt(True, "A")
    c.pkt(True, "PA", b"GET /EVIL HTTP/1.1\r\nHost: a\r\n\r\n")
    c.close()
    wrpcap(f"{d}/bomb.pcap", out)


def apperr(d):
    out = []
    c = Conv(out, 43000)
    c.handshake()
    c.pkt(True, "PA", b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n")
    c.pkt(False, "A")
    c.pkt(True, "PA", b"GET /EVIL HTTP/1.1\r\nHost: a\r\n\r\n")
    c.close()
    wrpcap(f"{d}/apperr.pcap", out)


def ooo(d):
    out = []
    c = Conv(out, 44000)
    c.handshake()
    segs = [bytes([0x61 + i]) * 400 for i in range(6)]
    base = c.cseq
    for i in list(range(1, 6)) + [0]:
        c.cseq = base + 400 * i
        c.pkt(True, "PA", segs[i])
    c.cseq = base + 2400
    c.pkt(False, "A")
    c.pkt(True, "PA", b"EVIL")
    c.close()
    wrpcap(f"{d}/ooo.pcap", out)


if __name__ == "__main__":
    for make in (flows, midstream, bomb, apperr, ooo):
        make(sys.argv[1])
