#!/usr/bin/python3
"""Generate the crafted flow-state captures (tests/data/state/*.pcap):
flowbits chains over TCP streams, HTTP transactions and UDP; xbits of hosts
and host pairs across flows, with expiry; flowint counters.

    /usr/bin/python3 tests/data/state/make_state.py [OUTDIR]

Each capture exercises one flowbits behaviour (see README next to this
script); state.rules names, per signature, the captures it must (or must
not) fire on, and expected-suricata.tsv is Suricata 7's count per (pcap, sid).

Deterministic: fixed addresses (client 10.0.0.1, server 192.168.1.1), ports,
sequence numbers, payloads and timestamps (packets 10 ms apart from a fixed
start per capture). Every TCP connection has a full handshake, the receiver
ACKs each segment, and connections close with FIN/ACK, FIN/ACK, ACK.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import Capture as _Capture, Tcp as _Tcp, udp as _udp  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1620000000
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
    chunk, so each segment is inspected when it is acknowledged, not at the
    end of the connection."""
    return data + b"." * (3000 - len(data))


def http_pair(c, request, response):
    c.send(True, request)
    c.send(False, response)


# A login over HTTP sets a bit (noalert); the response body is checked with
# isset, isnotset and a later unset.
cap = Capture("fb_http.pcap")
c = Tcp(cap, 41001, 80)
http_pair(c, b"GET /login HTTP/1.1\r\nHost: example.com\r\nUser-Agent: gh-test\r\n\r\n",
          b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nwelcome-user")
http_pair(c, b"GET /logout HTTP/1.1\r\nHost: example.com\r\n\r\n",
          b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\ngoodbye-now")
http_pair(c, b"GET /after HTTP/1.1\r\nHost: example.com\r\n\r\n",
          b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nwelcome-user")
c.close()

# One segment matches a signature that tests a bit and one that sets it: the
# setter runs first (Suricata's signature order), whatever the sids.
cap = Capture("fb_same_packet.pcap")
c = Tcp(cap, 41002, 9000)
c.send(True, pad(b"HELLO WORLD\n"))
c.close()

# A chain across directions and packets: set by the client, tested by the
# server's answer, unset by the client, tested again.
cap = Capture("fb_chain.pcap")
c = Tcp(cap, 41003, 9001)
c.send(True, pad(b"STEP1 start\n"))
c.send(False, pad(b"STEP2 reply\n"))
c.send(True, pad(b"STEP3 stop\n"))
c.send(False, pad(b"STEP4 reply\n"))
c.close()

# toggle twice, checked after each.
cap = Capture("fb_toggle.pcap")
c = Tcp(cap, 41004, 9002)
c.send(True, pad(b"TOGGLE one\n"))
c.send(False, pad(b"CHECK-A\n"))
c.send(True, pad(b"TOGGLE two\n"))
c.send(False, pad(b"CHECK-B\n"))
c.close()

# '|' lists: isset of any name, isnotset of any name.
cap = Capture("fb_or.pcap")
c = Tcp(cap, 41005, 9003)
c.send(True, pad(b"BETA set\n"))
c.send(False, pad(b"ORCHECK\n"))
c.close()

# UDP: the bits live on the UDP flow.
cap = Capture("fb_udp.pcap")
_udp(cap, CLI, SRV, 41006, 5000, b"PING 1", ipid=11)
_udp(cap, SRV, CLI, 5000, 41006, b"PONG 1", ipid=12, from_client=False)
_udp(cap, CLI, SRV, 41006, 5000, b"PING 2", ipid=13)

# Action order first: a drop signature testing a bit runs before an alert
# signature that sets it, so it sees the bit only on the next packet.
cap = Capture("fb_action_order.pcap")
c = Tcp(cap, 41007, 9004)
c.send(True, pad(b"ORDER first\n"))
c.send(True, pad(b"ORDER second\n"))
c.close()

# Bits are per flow: a second connection starts without them.
cap = Capture("fb_two_flows.pcap")
c = Tcp(cap, 41008, 9005)
c.send(True, pad(b"MARK flow\n"))
c.send(True, pad(b"PROBE one\n"))
c.close()
c = Tcp(cap, 41009, 9005)
c.send(True, pad(b"PROBE two\n"))
c.close()

# xbits: a host's bit set on one flow is seen on another flow of that host
# (track ip_src), not of the other end (ip_dst); a pair's bit both ways.
cap = Capture("xb_hosts.pcap")
_udp(cap, CLI, SRV, 41100, 9100, b"XSET host and pair", ipid=21)
_udp(cap, CLI, SRV, 41101, 9101, b"XCHK from the client", ipid=22)
_udp(cap, SRV, CLI, 9102, 41102, b"XCHK from the server", ipid=23, from_client=False)
_udp(cap, CLI, "192.168.1.2", 41103, 9103, b"XCHK to another server", ipid=24)

# xbits expire: set with expire 2, checked 1 s and 5 s later.
cap = Capture("xb_expire.pcap")
_udp(cap, CLI, SRV, 41110, 9110, b"XSHORT", ipid=31)
cap.t += 1000000
_udp(cap, CLI, SRV, 41111, 9111, b"XLATE one", ipid=32)
cap.t += 4000000
_udp(cap, CLI, SRV, 41112, 9112, b"XLATE two", ipid=33)

# flowint: a counter per flow, compared after each add in the same packet.
cap = Capture("fi_count.pcap")
for i in range(4):
    _udp(cap, CLI, SRV, 41120, 9120, b"HIT %d" % i, ipid=41 + i)
_udp(cap, CLI, SRV, 41121, 9120, b"HIT other flow", ipid=50)

for cap in CAPTURES:
    cap.write()
