#!/usr/bin/python3
"""Generate the crafted captures of the byte_* keywords (tests/data/bytes/*.pcap).

    /usr/bin/python3 tests/data/bytes/make_bytes.py [OUTDIR]

A small type-length-value message, "TLV" + a 2-byte big-endian length (5) +
5 bytes + "END", over UDP, over TCP in one segment and over TCP split in
three segments; and an ASCII length ("Length: 0012") over TCP. bytes.rules
names, per signature, the captures it must (or must not) fire on;
expected-suricata.tsv is Suricata 7's count per (pcap, sid). Deterministic
as the other generators (see ../pcapgen.py).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import Capture as _Capture, Tcp as _Tcp, udp as _udp  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1620000000
CAPTURES = []
CLI, SRV = "10.0.0.1", "192.168.1.1"
TLV = b"TLV\x00\x05abcdeEND"


def Capture(name):
    c = _Capture(name, T0 + 1000 * len(CAPTURES), OUT)
    CAPTURES.append(c)
    return c


c = Capture("tlv_udp.pcap")
_udp(c, CLI, SRV, 40000, 7000, TLV, ipid=100)

c = Capture("tlv_tcp.pcap")
t = _Tcp(c, CLI, SRV, 40001, 7000, 1000000, 5000000)
t.handshake()
t.send(True, TLV)
t.close()

c = Capture("tlv_split.pcap")
t = _Tcp(c, CLI, SRV, 40002, 7000, 1000000, 5000000)
t.handshake()
t.send_segments(True, [TLV[:2], TLV[2:7], TLV[7:]])
t.close()

c = Capture("ascii_len.pcap")
t = _Tcp(c, CLI, SRV, 40003, 7000, 1000000, 5000000)
t.handshake()
t.send(True, b"POST x\r\nLength: 0012\r\n\r\nhello world!")
t.close()

for c in CAPTURES:
    c.write()
