#!/usr/bin/python3
"""Generate the crafted captures of the Suricata differential test.

    /usr/bin/python3 tests/data/diff/make_diff.py [OUTDIR]

tests/diff_suricata.py runs gatehouse and Suricata over these captures with
diff.rules (next to this script) and compares the alerts per signature. Each
capture exercises one rule-semantics question (see diff.rules and the
README); every TCP connection has a full handshake with consistent sequence
numbers, every data segment is ACKed by the receiver, and connections close
with FIN/ACK. Each capture has its own subnet of 10.0.0.0/8 or 192.168.0.0/16
(HOME_NET), so a header-only signature of diff.rules concerns one capture.

The output is deterministic (fixed addresses, ports, payloads, IP ids and
timestamps starting at 1278472580 = 2010-07-07T03:16:20Z); scapy builds the
packets and their checksums, the pcap files are written here.
"""

import os
import sys

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import MAC_C, MAC_S, Capture as _Capture, Tcp, udp  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1278472580


def Capture(name, start):
    return _Capture(name, start, OUT)



def split_ooo():
    """Content split in two TCP segments sent in reverse order; the same
    content whole in one segment; `alert ip` and `alert tcp` rules (1xx)."""
    c = Capture("split_ooo.pcap", T0)
    f = Tcp(c, "10.1.0.1", "10.1.0.2", 40001, 7001).handshake()
    f.send_segments(True, [b"hello EVILSP", b"LIT payload\n"], order=[1, 0])
    f.send(False, b"ok\n")
    f.send(True, b"here is WHOLEMARK in one piece\n")
    f.send(False, b"ok\n")
    f.close()
    c.write()


def split_offset():
    """offset/depth content split across segments at the start of the
    stream; and a second connection where the content sits at offset 2 of the
    second segment only (2xx)."""
    c = Capture("split_offset.pcap", T0 + 100)
    f = Tcp(c, "10.2.0.1", "10.2.0.2", 40002, 7002).handshake()
    f.send_segments(True, [b"XXHEA", b"DER rest of the line\n"], order=[0, 1])
    f.send(False, b"ok\n")
    f.close()
    g = Tcp(c, "10.2.0.1", "10.2.0.2", 40003, 7002).handshake()
    g.send(True, b"0123456789")
    g.send(True, b"ZZHEADERZZ tail\n")
    g.send(False, b"ok\n")
    g.close()
    c.write()


def stream_pkt():
    """tcp-stream and tcp-pkt signatures on a split content and on a whole
    one; a content repeated in three segments (3xx)."""
    c = Capture("stream_pkt.pcap", T0 + 200)
    f = Tcp(c, "192.168.3.10", "192.168.3.20", 40004, 7003).handshake()
    f.send_segments(True, [b"first STREAMS", b"PLIT second\n"], order=[0, 1])
    f.send(False, b"ok\n")
    f.send(True, b"one segment BOTHWAYS here\n")
    f.send(False, b"ok\n")
    for i in range(3):
        f.send(True, b"REPEATME %d\n" % i)
    f.send(False, b"done\n")
    f.close()
    c.write()


def udp_ip():
    """Content on UDP datagrams matched by `alert ip` and `alert udp` (4xx)."""
    c = Capture("udp_ip.pcap", T0 + 300)
    for i in range(3):
        udp(c, "192.168.4.10", "192.168.4.20", 40005, 9999, b"datagram UDPMARK %d" % i)
        udp(c, "192.168.4.20", "192.168.4.10", 9999, 40005, b"reply %d" % i)
    c.write()


def iponly():
    """Header-only rules (Suricata's ip_only, matched once per flow direction)
    and negated addresses (like_ip_only in Suricata) over two TCP connections
    and one UDP exchange (5xx)."""
    c = Capture("iponly.pcap", T0 + 400)
    f = Tcp(c, "10.5.0.1", "10.5.0.2", 40006, 7005).handshake()
    f.send(True, b"request one\n")
    f.send(False, b"answer one\n")
    f.close()
    g = Tcp(c, "10.5.0.3", "10.5.0.2", 40007, 7005).handshake()
    g.send(True, b"request two\n")
    g.send(False, b"answer two\n")
    g.close()
    for i in range(2):
        udp(c, "10.5.0.3", "10.5.0.2", 40008, 9998, b"query %d" % i)
        udp(c, "10.5.0.2", "10.5.0.3", 9998, 40008, b"reply %d" % i)
    c.write()


def pass_drop():
    """pass and drop signatures on the same connection (6xx): a payload pass
    before a payload drop, a header-only pass before a payload drop, and a
    drop before a pass."""
    c = Capture("pass_drop.pcap", T0 + 500)
    f = Tcp(c, "10.6.0.1", "10.6.0.2", 40010, 7010).handshake()
    f.send(True, b"HELLO there\n")
    f.send(False, b"ok\n")
    f.send(True, b"now BADTHING\n")
    f.send(False, b"ok\n")
    f.close()
    g = Tcp(c, "10.6.0.5", "10.6.0.2", 40011, 7010).handshake()
    g.send(True, b"now BADTHING\n")
    g.send(False, b"ok\n")
    g.close()
    h = Tcp(c, "10.6.0.6", "10.6.0.2", 40012, 7011).handshake()
    h.send(True, b"now BADTHING\n")
    h.send(False, b"ok\n")
    h.send(True, b"HELLO again\n")
    h.send(False, b"ok\n")
    h.close()
    c.write()


def flow_stream():
    """flow:no_stream and flow:only_stream on a content split in two segments
    and on one whole in a segment (7xx)."""
    c = Capture("flow_stream.pcap", T0 + 600)
    f = Tcp(c, "192.168.7.1", "192.168.7.2", 40013, 7013).handshake()
    f.send_segments(True, [b"a SPLITF", b"LOW b\n"], order=[0, 1])
    f.send(False, b"ok\n")
    f.send(True, b"c WHOLEFLOW d\n")
    f.send(False, b"ok\n")
    f.close()
    c.write()


def pseudo():
    """Flow-end pseudo packets (8xx): TCP connections left in each end state
    (closed without data, SYN only, open with data, closed with data both
    ways, reset after data, open without data, HTTP closed, closed with
    client data only) under a like-IP-only and an IP-only signature."""
    c = Capture("pseudo.pcap", T0 + 700)
    Tcp(c, "10.8.0.1", "10.8.0.2", 41001, 7100).handshake().close()
    c.add(Ether(src=MAC_C, dst=MAC_S) / IP(src="10.8.0.3", dst="10.8.0.2", id=1) /
          TCP(sport=41002, dport=7100, flags="S", seq=1, window=65535))
    Tcp(c, "10.8.0.4", "10.8.0.2", 41003, 7100).handshake().send(True, b"data, no FIN\n")
    d = Tcp(c, "10.8.0.5", "10.8.0.2", 41004, 7100).handshake()
    d.send(True, b"request\n")
    d.send(False, b"response\n")
    d.close()
    e = Tcp(c, "10.8.0.6", "10.8.0.2", 41005, 7100).handshake()
    e.send(True, b"request\n")
    e._pkt(False, "RA", e.sseq, e.cseq)
    Tcp(c, "10.8.0.7", "10.8.0.2", 41006, 7100).handshake()
    g = Tcp(c, "10.8.0.8", "10.8.0.2", 41007, 80).handshake()
    g.send(True, b"GET / HTTP/1.1\r\nHost: gatehouse.test\r\n\r\n")
    g.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    g.close()
    h = Tcp(c, "10.8.0.9", "10.8.0.2", 41008, 7100).handshake()
    h.send(True, b"only the client speaks\n")
    h.close()
    c.write()


def trunc():
    """An ICMP echo whose IPv4 total length (200) exceeds the captured bytes
    (a snap length cut: decoder event ipv4.trunc_pkt), then the same echo
    whole (9xx)."""
    c = Capture("trunc.pcap", T0 + 800)
    for n, iplen in ((1, 200), (2, None)):
        ip = IP(src="192.168.9.1", dst="192.168.9.2", id=n, ttl=64)
        if iplen:
            ip.len = iplen
        c.add(Ether(src=MAC_C, dst=MAC_S) / ip / ICMP(type=8, id=7, seq=n) / b"ping TRUNCMARK")
    c.write()


def main():
    os.makedirs(OUT, exist_ok=True)
    for make in (split_ooo, split_offset, stream_pkt, udp_ip, iponly, pass_drop, flow_stream,
                 pseudo, trunc):
        make()


if __name__ == "__main__":
    main()
