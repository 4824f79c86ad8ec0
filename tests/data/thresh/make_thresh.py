#!/usr/bin/python3
"""Generate the crafted threshold captures (tests/data/thresh/*.pcap).

    /usr/bin/python3 tests/data/thresh/make_thresh.py [OUTDIR]

Each capture is a run of UDP datagrams (one signature match each) whose
timestamps are set to exercise the windows of the threshold and
detection_filter keywords and of threshold.config (next to this script):
counts, the window's inclusive end (a match exactly `seconds` after the
window start is still in it), resets, address tracking (by_src, by_dst,
by_both in either direction, by_rule; IPv4 and IPv6) and rate_filter
timeouts. thresh.rules names, per signature, the captures it must fire on
and how often. Deterministic: re-running reproduces the files byte for byte.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import Capture as _Capture, MAC_C, MAC_S  # noqa: E402
from scapy.all import Ether, IP, IPv6, UDP  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1620000000
CAPTURES = []


def Capture(name):
    """Capture k of this script starts at T0 + 1000 k seconds."""
    c = _Capture(name, T0 + 1000 * len(CAPTURES), OUT)
    c.start = c.t
    CAPTURES.append(c)
    return c


def dgram(cap, at, src, dst, data, dport=5000):
    """One UDP datagram @at seconds (float) after the capture's start."""
    cap.t = cap.start + int(round(at * 1000000))
    ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst, id=1)
    cap.add(Ether(src=MAC_C, dst=MAC_S) / ip / UDP(sport=40000, dport=dport) / data)


A, B, C = "10.0.0.1", "192.168.1.1", "192.168.1.2"

# limit by_src count 2 seconds 60: t=0,1 alert; 2 and 60 (the window's last
# instant) silent; 60.5 starts a new window: 60.5, 61 alert, 62 silent; a
# second source alerts on its own
c = Capture("limit.pcap")
for t in (0, 1, 2, 3, 60, 60.5, 61, 62):
    dgram(c, t, A if t != 3 else "10.0.0.2", B, b"THR-LIMIT")

# threshold by_dst count 3 seconds 10: every 3rd match of a window alerts
# (t=2 and t=5); t=7 is the 2nd after that; a 20 s gap resets: 2 more, none
c = Capture("threshold.pcap")
for t in (0, 1, 2, 3, 4, 5, 6, 30, 31):
    dgram(c, t, A, B, b"THR-THRESH")
# both by_both count 2 seconds 30: the pair in either direction counts
# (alert at the 2nd, B->A), the 3rd is silent; A->C is another pair; the
# same over IPv6
c = Capture("both.pcap")
dgram(c, 0, A, B, b"THR-BOTH")
dgram(c, 1, B, A, b"THR-BOTH")
dgram(c, 2, A, B, b"THR-BOTH")
dgram(c, 3, A, C, b"THR-BOTH")
dgram(c, 4, "2001:db8::1", "2001:db8::2", b"THR-BOTH")
dgram(c, 5, "2001:db8::2", "2001:db8::1", b"THR-BOTH")

# limit by_rule count 1 seconds 5: one alert per 5 s window, any address
c = Capture("by_rule.pcap")
for i, t in enumerate((0, 1, 5, 5.5, 8)):
    dgram(c, t, "10.0.1.%d" % (i + 1), "192.168.2.%d" % (i + 1), b"THR-RULE")

# detection_filter by_src count 2 seconds 10: alerts from the 3rd match of a
# window on (t=2, 3, 4); after a 20 s gap the window restarts: none
c = Capture("detection.pcap")
for t in (0, 1, 2, 3, 4, 24):
    dgram(c, t, A, B, b"THR-DETECT")

# threshold.config: suppress by address, suppress of a whole signature, an
# event_filter replacing a keyword threshold, a rate_filter whose
# new_action pass silences the signature for its timeout
c = Capture("conf.pcap")
dgram(c, 0, "10.0.0.5", B, b"THR-SUPP")
dgram(c, 1, "10.0.0.6", B, b"THR-SUPP")
dgram(c, 2, B, "10.0.0.5", b"THR-SUPP")
dgram(c, 3, A, B, b"THR-SILENT")
for t in (4, 5, 6):
    dgram(c, t, A, B, b"THR-OVERRIDE")
for t in (10, 11, 12, 13, 80):
    dgram(c, t, A, B, b"THR-RATE")

for cap in CAPTURES:
    cap.write()
