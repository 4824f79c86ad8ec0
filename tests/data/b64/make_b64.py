#!/usr/bin/python3
"""Generate the crafted base64_decode/base64_data captures (tests/data/b64/*.pcap):
the RFC 4648 decoder's quirks and the keywords' semantics on UDP datagrams,
base64 in a TCP stream, and in HTTP buffers (http.uri, http.request_body,
file_data).

    /usr/bin/python3 tests/data/b64/make_b64.py [OUTDIR]

b64.rules names, per signature, the captures it must (or must not) fire on,
and expected-suricata.tsv is Suricata 7's count per (pcap, sid).

Deterministic: fixed addresses (client 10.0.0.1, server 192.168.1.1), ports,
sequence numbers, payloads and timestamps (packets 10 ms apart from a fixed
start per capture).
"""

import base64
import os
import sys

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


def pad(data):
    """@data then filler to 3000 bytes: past Suricata's 2560-byte raw stream
    chunk, so each segment is inspected when it is acknowledged."""
    return data + b"." * (3000 - len(data))


def b64(data):
    return base64.b64encode(data)


# The decoder and the keywords on datagrams, one case each.
cap = Capture("b64_udp.pcap")
for i, data in enumerate([
        b"aaaaaaaaSGVsbG8gV29ybGQ=",         # "Hello World" after a marker
        b"PADQ Zg==Zm9v",                    # '=' pads its block only: "ffoo"
        b"INVQ Zm9vY$",                      # invalid byte: the partial block gives "`"
        b"RTRY$RTRYSGVsbG8g",                # the first marker decodes nothing
        b"TERM SGVsbG8gV29ybGQ= zzz",        # keywords after base64_decode are skipped
]):
    _udp(cap, CLI, SRV, 42000 + i, 7000, data, ipid=10 + i)

# base64 in a TCP stream, one segment per case.
cap = Capture("b64_tcp.pcap")
c = Tcp(cap, 42101, 9200)
c.send(True, pad(b"B64TCP:" + b64(b"tcp-secret-payload") + b"\n"))
tnef = b"\x78\x9f\x3e\x22" + b"\x00" * 12 + b"IPM.Task" + b"\x00" * 8
c.send(False, pad(b"MAILX headers\r\n\r\n" + b64(tnef) + b"\r\n"))
c.close()

# HTTP: base64 in the URI query, the request body and the response body.
cap = Capture("b64_http.pcap")
c = Tcp(cap, 42201, 80)
q = b64(b'<!DOCTYPE r SYSTEM "http://x/">').rstrip(b"=")
c.send(True, b"GET /b64?q=" + q + b" HTTP/1.1\r\nHost: example.com\r\n\r\n")
body = b"DATA:" + b64(b"var x = 'FooBar payload';")
c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
post = b"SAMLResponse=" + b64(b"<x>java.lang.Runtime:getRuntime():exec('id')</x>")
c.send(True, b"POST /saml HTTP/1.1\r\nHost: example.com\r\nContent-Length: %d\r\n\r\n"
       % len(post) + post)
c.send(False, b"HTTP/1.1 204 No Content\r\n\r\n")
c.close()

for cap in CAPTURES:
    cap.write()
