#!/usr/bin/python3
"""Generate the crafted captures of stream_size, app-layer-event and
ftpbounce (tests/data/misc/*.pcap).

    /usr/bin/python3 tests/data/misc/make_misc.py [OUTDIR]

Each capture exercises one keyword (see README next to this script);
misc.rules names, per signature, the captures it must (or must not) fire
on, and expected-suricata.tsv is Suricata 7's count per (pcap, sid).

Deterministic: fixed addresses (client 10.0.0.1, server 192.168.1.1), ports,
sequence numbers (client ISN 1000000, server ISN 5000000), payloads and
timestamps (packets 10 ms apart from a fixed start per capture).
"""

import os
import sys

from scapy.layers.dns import DNS, DNSQR

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import Capture as _Capture, Tcp as _Tcp, udp as _udp  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1630000000
CAPTURES = []
CLI, SRV = "10.0.0.1", "192.168.1.1"


def Capture(name):
    """Capture k of this script starts at T0 + 1000 k seconds."""
    c = _Capture(name, T0 + 1000 * len(CAPTURES), OUT)
    CAPTURES.append(c)
    return c


def Tcp(cap, sport, dport):
    return _Tcp(cap, CLI, SRV, sport, dport, 1000000, 5000000).handshake()


# stream_size: 10 bytes from the client, 20 from the server, 10 more from
# the client; each side's size counts its SYN (ISN + 1 is size 1).
cap = Capture("ss_sizes.pcap")
c = Tcp(cap, 42001, 9100)
c.send(True, b"REQ1 hello")
c.send(False, b"RESP1 twenty bytes!!")
c.send(True, b"REQ2 again")
c.close()
# a stream signature: the first request is past Suricata's 2560-byte raw
# chunk, so it is inspected when acknowledged
c = Tcp(cap, 42002, 9101)
c.send(True, b"BIGREQ " + b"." * 2993)
c.send(False, b"OK, and more")
c.close()
# no TCP session: a datagram never matches stream_size
_udp(cap, CLI, SRV, 42003, 9102, b"DGRAM stream_size", ipid=21)

# app-layer-event on HTTP: an invalid Transfer-Encoding value, a missing
# Host header, a clean request
cap = Capture("ev_http.pcap")
c = Tcp(cap, 42011, 80)
c.send(True, b"GET /a HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: foo\r\n\r\n")
c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
c.send(True, b"GET /b HTTP/1.1\r\nUser-Agent: gh-test\r\n\r\n")
c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
c.send(True, b"GET /c HTTP/1.1\r\nHost: example.com\r\n\r\n")
c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
c.close()

# app-layer-event on DNS over UDP: a query with the Z flag set, a clean one
cap = Capture("ev_dns.pcap")
_udp(cap, CLI, SRV, 42021, 53,
     bytes(DNS(id=0x1234, rd=1, z=1, qd=DNSQR(qname="zflag.example.com"))), ipid=31)
_udp(cap, CLI, SRV, 42022, 53,
     bytes(DNS(id=0x1235, rd=1, qd=DNSQR(qname="clean.example.com"))), ipid=32)

# ftpbounce: a PORT naming the client itself, then one naming another host
cap = Capture("ftp_bounce.pcap")
c = Tcp(cap, 42031, 21)
c.send(False, b"220 gatehouse ftp\r\n")
c.send(True, b"USER anonymous\r\n")
c.send(False, b"331 password please\r\n")
c.send(True, b"PASS guest\r\n")
c.send(False, b"230 logged in\r\n")
c.send(True, b"PORT 10,0,0,1,4,1\r\n")
c.send(False, b"200 PORT ok\r\n")
c.send(True, b"PORT 10,0,0,99,4,2\r\n")
c.send(False, b"200 PORT ok\r\n")
c.send(True, b"QUIT\r\n")
c.send(False, b"221 bye\r\n")
c.close()

for cap in CAPTURES:
    cap.write()
