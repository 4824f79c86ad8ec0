#!/usr/bin/python3
"""Generate the crafted tag captures (tests/data/tag/*.pcap): packets after
a signature with the tag keyword alerted, on its session or its hosts,
counted in packets, bytes or seconds.

    /usr/bin/python3 tests/data/tag/make_tag.py [OUTDIR]

Each capture exercises one tag behaviour (see README next to this script);
tag.rules names, per signature, the captures it must (or must not) fire on,
expected-suricata.tsv is Suricata 7's alert count per (pcap, sid), and
expected-tagged.tsv its count of tagged packets ("packet" events with the
eve-log alert option tagged-packets) per pcap.

Deterministic: fixed addresses, ports, sequence numbers, payloads and
timestamps (packets 10 ms apart from a fixed start per capture, or a chosen
gap where seconds count).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import Capture as _Capture, Tcp as _Tcp, udp  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1630000000
CAPTURES = []
A, B, C, D = "10.0.0.1", "192.168.1.1", "192.168.1.2", "10.0.0.9"


def Capture(name):
    """Capture k of this script starts at T0 + 1000 k seconds."""
    c = _Capture(name, T0 + 1000 * len(CAPTURES), OUT)
    CAPTURES.append(c)
    return c


def pad(data):
    """Past Suricata's 2560-byte raw stream chunk: each segment is inspected
    when it is acknowledged, not at the end of the connection."""
    return data + b"." * (3000 - len(data))


def chat(cap, sport, words):
    """A UDP flow A:sport <-> B:5000, one datagram per word, alternating."""
    for i, w in enumerate(words):
        if i % 2 == 0:
            udp(cap, A, B, sport, 5000, w, ipid=100 + i)
        else:
            udp(cap, B, A, 5000, sport, w, ipid=100 + i, from_client=False)


# session,3,packets on UDP: the trigger, then 9 more datagrams of the flow
# and 3 of another flow between the same hosts.
cap = Capture("tag_session_udp.pcap")
chat(cap, 42001, [b"TAG-SESSION"] + [b"more %d" % i for i in range(9)])
chat(cap, 42002, [b"other 1", b"other 2", b"other 3"])

# session tags in packets, bytes, seconds on one flow each
cap = Capture("tag_metrics.pcap")
chat(cap, 42011, [b"TAG-BYTES"] + [b"x" * 50] * 8)
chat(cap, 42012, [b"TAG-SECONDS"])
for i in range(6):
    cap.t += 900000  # ~0.9 s apart: the tag lasts while fewer than 3 s passed
    udp(cap, A, B, 42012, 5000, b"tick %d" % i, ipid=200 + i)

# host,4,packets,src: A is tagged; its packets to other hosts and from them
# are tagged, packets between B and C are not.
cap = Capture("tag_host.pcap")
udp(cap, A, B, 42021, 5000, b"TAG-HOST", ipid=1)
udp(cap, B, C, 42022, 5000, b"b to c", ipid=2)
udp(cap, A, C, 42023, 5000, b"a to c", ipid=3)
udp(cap, D, A, 42024, 5000, b"d to a", ipid=4)
udp(cap, C, B, 42022, 5000, b"c to b", ipid=5)
for i in range(4):
    udp(cap, A, D, 42025, 5000, b"a to d %d" % i, ipid=6 + i)

# a second match of the tagging signature restarts its count
cap = Capture("tag_restart.pcap")
chat(cap, 42031, [b"TAG-AGAIN", b"r1", b"r2", b"TAG-AGAIN", b"r3", b"r4", b"r5", b"r6"])

# ET's form, tag:session,5,packets, on a TCP stream (matched when acknowledged)
cap = Capture("tag_tcp.pcap")
c = _Tcp(cap, A, B, 42041, 445, 1000000, 5000000).handshake()
c.send(True, pad(b"TAG-TCP\n"))
for i in range(4):
    c.send(False, pad(b"reply %d\n" % i))
    c.send(True, pad(b"next %d\n" % i))
c.close()

for cap in CAPTURES:
    cap.write()
