"""Building blocks of the crafted-capture generators (tests/data/*/make_*.py).

Deterministic by construction: a capture's packets are 10 ms apart from a
given start, IP ids count up per connection, and the pcap (microsecond,
Ethernet) is written byte for byte the same on every run. scapy builds the
packets and their checksums; run the generators with /usr/bin/python3.
"""

import os
import struct

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

MAC_C, MAC_S = "02:00:00:00:00:0c", "02:00:00:00:00:05"


class Capture:
    """Packets with timestamps 10 ms apart from @start (seconds), written as a
    microsecond pcap named @name in directory @out."""

    def __init__(self, name, start, out):
        self.name, self.out = name, out
        self.t = start * 1000000
        self.frames = []

    def add(self, pkt):
        self.frames.append((self.t, bytes(pkt)))
        self.t += 10000

    def write(self):
        with open(os.path.join(self.out, self.name), "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, data in self.frames:
                f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(data), len(data)))
                f.write(data)


class Tcp:
    """One TCP connection: handshake, data each way (ACKed), FIN close."""

    def __init__(self, cap, cli, srv, sport, dport, cisn=1000, sisn=5000, ttl=64):
        self.cap, self.cli, self.srv, self.sport, self.dport = cap, cli, srv, sport, dport
        self.cseq, self.sseq = cisn, sisn  # next sequence number of each side
        self.ttl = ttl
        self.ipid = 1

    def _pkt(self, from_client, flags, seq, ack, data=b""):
        self.ipid += 1
        if from_client:
            e = Ether(src=MAC_C, dst=MAC_S)
            ip = IP(src=self.cli, dst=self.srv, id=self.ipid, ttl=self.ttl)
            tcp = TCP(sport=self.sport, dport=self.dport, flags=flags, seq=seq, ack=ack,
                      window=65535)
        else:
            e = Ether(src=MAC_S, dst=MAC_C)
            ip = IP(src=self.srv, dst=self.cli, id=self.ipid, ttl=self.ttl)
            tcp = TCP(sport=self.dport, dport=self.sport, flags=flags, seq=seq, ack=ack,
                      window=65535)
        self.cap.add(e / ip / tcp / data if data else e / ip / tcp)

    def handshake(self):
        self._pkt(True, "S", self.cseq, 0)
        self.cseq += 1
        self._pkt(False, "SA", self.sseq, self.cseq)
        self.sseq += 1
        self._pkt(True, "A", self.cseq, self.sseq)
        return self

    def send(self, from_client, data, ack=True):
        """One data segment, then the receiver's ACK."""
        return self.send_segments(from_client, [data], ack=ack)

    def send_segments(self, from_client, parts, order=None, ack=True, ack_every=0):
        """Consecutive segments parts[0], parts[1]... sent in the given order
        (default in sequence); the receiver ACKs after every @ack_every
        segments (0: none in between) and, with @ack, after the last."""
        order = list(range(len(parts))) if order is None else order
        base = self.cseq if from_client else self.sseq
        offs, o = [], 0
        for p in parts:
            offs.append(o)
            o += len(p)
        hi = 0
        for n, i in enumerate(order, 1):
            if from_client:
                self._pkt(True, "PA", base + offs[i], self.sseq, parts[i])
            else:
                self._pkt(False, "PA", base + offs[i], self.cseq, parts[i])
            hi = max(hi, offs[i] + len(parts[i]))
            if ack_every and n % ack_every == 0 and n != len(order) and \
                    order[:n] == sorted(order[:n]):
                self._pkt(not from_client, "A", self.sseq if from_client else self.cseq,
                          base + hi)
        if from_client:
            self.cseq += o
            if ack:
                self._pkt(False, "A", self.sseq, self.cseq)
        else:
            self.sseq += o
            if ack:
                self._pkt(True, "A", self.cseq, self.sseq)
        return self

    def close(self, from_client=True):
        """FIN from one side, FIN/ACK from the other, last ACK."""
        if from_client:
            self._pkt(True, "FA", self.cseq, self.sseq)
            self.cseq += 1
            self._pkt(False, "FA", self.sseq, self.cseq)
            self.sseq += 1
            self._pkt(True, "A", self.cseq, self.sseq)
        else:
            self._pkt(False, "FA", self.sseq, self.cseq)
            self.sseq += 1
            self._pkt(True, "FA", self.cseq, self.sseq)
            self.cseq += 1
            self._pkt(False, "A", self.sseq, self.cseq)


def udp(cap, src, dst, sport, dport, data, ttl=64, ipid=7, from_client=True):
    """One UDP datagram (Ethernet addresses of the client's side when
    @from_client)."""
    e = Ether(src=MAC_C, dst=MAC_S) if from_client else Ether(src=MAC_S, dst=MAC_C)
    cap.add(e / IP(src=src, dst=dst, id=ipid, ttl=ttl) / UDP(sport=sport, dport=dport) / data)
