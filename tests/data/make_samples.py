#!/usr/bin/python3
"""Generate the small capture files in tests/data.

Run with the system Python, which has scapy (python3-scapy):

    /usr/bin/python3 tests/data/make_samples.py [OUTDIR]

OUTDIR defaults to the directory of this script. The output is
deterministic (fixed addresses, payloads and timestamps), so re-running it
reproduces the committed files byte for byte. scapy only builds the packets
(and their checksums); the capture files are written here by hand so the
link type, the magic number and the deliberately broken files are exactly
what the tests expect. sample.pcap is not generated: it is a copy of
cs__http_dvwa_sqlinjection.pcap (see README.md).
"""

import os
import struct
import sys

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting, PadN)
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D

# 2010-07-07T03:16:20Z, the second the EVE timestamp test also uses
T0 = 1278472580

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
V4_A, V4_B = "192.0.2.10", "198.51.100.20"
V6_A, V6_B = "2001:db8::a", "2001:db8::b"


def b(pkt):
    """Wire bytes of a scapy packet (lengths and checksums filled in)."""
    return bytes(pkt)


def pcap_header(linktype, snaplen=65535, magic=MAGIC_USEC):
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(data, sec, frac, wirelen=None):
    """One record; frac is microseconds or nanoseconds depending on the magic."""
    if wirelen is None:
        wirelen = len(data)
    return struct.pack("<IIII", sec, frac, len(data), wirelen) + data


def write(name, blob):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(blob)
    assert len(blob) < 20 * 1024, name
    print("%-20s %6d bytes" % (name, len(blob)))


def write_pcap(name, linktype, packets, magic=MAGIC_USEC, snaplen=65535):
    """packets: list of bytes, or of (bytes, sec, frac[, wirelen])."""
    out = [pcap_header(linktype, snaplen, magic)]
    for i, p in enumerate(packets):
        if isinstance(p, tuple):
            out.append(pcap_record(*p))
        else:
            out.append(pcap_record(p, T0 + i, 1000 * i))
    write(name, b"".join(out))


# ---- packets shared by several files --------------------------------------

def l3_mix():
    """IPv4 TCP/UDP/ICMP and IPv6 TCP/UDP/ICMPv6, as L3 bytes with their ethertype."""
    return [
        (0x0800, b(IP(src=V4_A, dst=V4_B, id=1) /
                   TCP(sport=40000, dport=80, flags="S", seq=1000, options=[("MSS", 1460)]))),
        (0x0800, b(IP(src=V4_B, dst=V4_A, id=2) /
                   TCP(sport=80, dport=40000, flags="SA", seq=5000, ack=1001))),
        (0x0800, b(IP(src=V4_A, dst=V4_B, id=3) / UDP(sport=40100, dport=7000) / (b"\x12\x34" + b"q" * 30))),
        (0x86DD, b(IPv6(src=V6_A, dst=V6_B) / TCP(sport=40001, dport=443, flags="S", seq=7))),
        (0x86DD, b(IPv6(src=V6_A, dst=V6_B) / UDP(sport=40101, dport=7001) / b"udp-over-ipv6")),
        (0x0800, b(IP(src=V4_A, dst=V4_B, id=4) / ICMP(type=8, id=77, seq=1) / b"ping")),
    ]


def sll_header(ethertype, pkttype=0):
    # packet type, ARPHRD_ETHER, address length, address (8 bytes), protocol
    return struct.pack("!HHH8sH", pkttype, 1, 6, bytes.fromhex("02000000000a") + b"\0\0",
                       ethertype)


def sll2_header(ethertype, pkttype=0):
    # protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address
    return struct.pack("!HHIHBB8s", ethertype, 0, 2, 1, pkttype, 6,
                       bytes.fromhex("02000000000a") + b"\0\0")


def make_sll2():
    pkts = [sll2_header(et, 4 if i % 2 else 0) + l3 for i, (et, l3) in enumerate(l3_mix()[:5])]
    write_pcap("sll2.pcap", LINKTYPE_LINUX_SLL2, pkts)


def make_sll():
    pkts = [sll_header(et, 4 if i % 2 else 0) + l3 for i, (et, l3) in enumerate(l3_mix()[:5])]
    write_pcap("sll.pcap", LINKTYPE_LINUX_SLL, pkts)


def make_null():
    # DLT_NULL: the address family in the writer's byte order (little endian
    # here). IPv6 appears with the values of the BSDs and macOS (24, 28, 30).
    mix = l3_mix()
    afs = [(2, mix[0][1]), (24, mix[3][1]), (2, mix[2][1]), (28, mix[4][1]), (30, mix[3][1])]
    pkts = [struct.pack("<I", af) + l3 for af, l3 in afs]
    write_pcap("null.pcap", LINKTYPE_NULL, pkts)


def make_raw():
    mix = l3_mix()
    pkts = [l3 for _, l3 in mix]
    pkts.append(b(IPv6(src=V6_B, dst=V6_A) / ICMPv6EchoRequest(id=9, seq=2, data=b"hello")))
    # a packet cut by a 60-byte snap length: caplen 60, wire length 220
    big = b(IP(src=V4_A, dst=V4_B, id=9) / TCP(sport=40000, dport=80, flags="PA", seq=1001,
                                             ack=5001) / (b"G" * 180))
    pkts.append((big[:60], T0 + len(pkts), 1000 * len(pkts), len(big)))
    write_pcap("raw.pcap", LINKTYPE_RAW, pkts)


def mpls(label, bos, ttl=64):
    return struct.pack("!I", (label << 12) | (int(bos) << 8) | ttl)


def make_vlan_mpls():
    eth_hdr = lambda et: (bytes.fromhex("02000000000b") + bytes.fromhex("02000000000a") +
                          struct.pack("!H", et))
    v4udp = b(IP(src=V4_A, dst=V4_B, id=10) / UDP(sport=1234, dport=7002) / b"vlan")
    v4tcp = b(IP(src=V4_A, dst=V4_B, id=11) / TCP(sport=40002, dport=80, flags="S"))
    v4icmp = b(IP(src=V4_A, dst=V4_B, id=12) / ICMP(type=8, id=1, seq=1))
    v6udp = b(IPv6(src=V6_A, dst=V6_B) / UDP(sport=1000, dport=2000) / b"mpls6")
    inner_eth = b(Ether(src=MAC_A, dst=MAC_B) /
                  IP(src="10.1.1.1", dst="10.1.1.2", id=13) / TCP(sport=1111, dport=22, flags="S"))
    pkts = [
        # 802.1Q, VLAN 100
        b(Ether(src=MAC_A, dst=MAC_B) / Dot1Q(vlan=100) / IP(src=V4_A, dst=V4_B, id=10) /
          UDP(sport=1234, dport=7002) / b"vlan"),
        # QinQ: 802.1ad outer tag 200, 802.1Q inner tag 300
        b(Ether(src=MAC_A, dst=MAC_B) / Dot1AD(vlan=200) / Dot1Q(vlan=300) /
          IP(src=V4_A, dst=V4_B, id=11) / TCP(sport=40002, dport=80, flags="S")),
        # old-style QinQ outer ethertype 0x9100
        eth_hdr(0x9100) + struct.pack("!HH", 400, 0x8100) + struct.pack("!HH", 401, 0x0800) + v4tcp,
        # MPLS, one label
        eth_hdr(0x8847) + mpls(1000, True) + v4icmp,
        # MPLS, two labels, IPv6 payload
        eth_hdr(0x8847) + mpls(2000, False) + mpls(2001, True) + v6udp,
        # MPLS explicit-null IPv4 label
        eth_hdr(0x8847) + mpls(0, True) + v4udp,
        # MPLS Ethernet pseudowire with a control word
        eth_hdr(0x8847) + mpls(3000, False) + mpls(3001, True) + b"\0\0\0\0" + inner_eth,
        # 802.1Q carrying MPLS
        eth_hdr(0x8100) + struct.pack("!HH", 500, 0x8847) + mpls(4000, True) + v4udp,
    ]
    write_pcap("vlan_mpls.pcap", LINKTYPE_ETHERNET, pkts)


def make_ipv6_ext():
    e = Ether(src=MAC_A, dst=MAC_B)
    ip6 = IPv6(src=V6_A, dst=V6_B)
    payload = UDP(sport=4000, dport=5000) / (b"F" * 64)
    frags = [b(p) for p in _fragments(e, payload)]
    pkts = [
        b(e / ip6 / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0\0\0\0")]) /
          UDP(sport=4000, dport=5000) / b"hbh"),
        # routing header type 0 with no segments left (as the final node sees it)
        b(e / ip6 / IPv6ExtHdrRouting(addresses=["2001:db8::1"], segleft=0) /
          TCP(sport=4001, dport=80, flags="S")),
        b(e / ip6 / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0\0\0\0")]) /
          ICMPv6EchoRequest(id=5, seq=1)),
        # all four, in the RFC 8200 order
        b(e / ip6 / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
          IPv6ExtHdrRouting(addresses=[], segleft=0) / IPv6ExtHdrFragment(m=0, offset=0, id=99) /
          UDP(sport=4002, dport=5002) / b"atomic"),
    ] + frags
    write_pcap("ipv6_ext.pcap", LINKTYPE_ETHERNET, pkts)


def _fragments(e, payload):
    """Two fragments of one UDP datagram: first (M=1) and last."""
    whole = b(IPv6(src=V6_A, dst=V6_B, nh=17) / payload)[40:]
    first, rest = whole[:48], whole[48:]
    return [
        e / IPv6(src=V6_A, dst=V6_B) / IPv6ExtHdrHopByHop() /
        IPv6ExtHdrFragment(nh=17, m=1, offset=0, id=0x1234) / first,
        e / IPv6(src=V6_A, dst=V6_B) / IPv6ExtHdrFragment(nh=17, m=0, offset=48 // 8, id=0x1234) / rest,
    ]


def pcapng_block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def pcapng_opt(code, val):
    return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)


def make_pcapng():
    # SHB, one Ethernet interface with nanosecond resolution, three EPBs
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) +
                       pcapng_opt(4, b"gatehouse make_samples.py") + pcapng_opt(0, b""))
    idb = pcapng_block(0x00000001, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, 65535) +
                       pcapng_opt(9, b"\x09") + pcapng_opt(0, b""))
    e = Ether(src=MAC_A, dst=MAC_B)
    pkts = [
        b(e / IP(src=V4_A, dst=V4_B, id=20) / TCP(sport=40010, dport=80, flags="S")),
        b(e / IP(src=V4_A, dst=V4_B, id=21) / UDP(sport=40011, dport=7003) / b"pcapng"),
        b(e / IPv6(src=V6_A, dst=V6_B) / ICMPv6EchoRequest(id=3, seq=3)),
    ]
    # timestamps: T0 + i seconds + 123456789 ns + i
    epbs = []
    for i, p in enumerate(pkts):
        ts = (T0 + i) * 10**9 + 123456789 + i
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(p), len(p)) + p
        epbs.append(pcapng_block(0x00000006, body))
    write("sample.pcapng", shb + idb + b"".join(epbs))


def make_nsec():
    e = Ether(src=MAC_A, dst=MAC_B)
    p = b(e / IP(src=V4_A, dst=V4_B, id=30) / UDP(sport=123, dport=123) / (b"\0" * 48))
    pkts = [(p, T0, 566743123), (p, T0, 566743124), (p, T0 + 1, 1), (p, T0 + 2, 999999999)]
    write_pcap("nsec.pcap", LINKTYPE_ETHERNET, pkts, magic=MAGIC_NSEC)


def ten_packets():
    e = Ether(src=MAC_A, dst=MAC_B)
    return [b(e / IP(src=V4_A, dst=V4_B, id=100 + i) /
              TCP(sport=41000, dport=80, flags="PA", seq=1 + 100 * i, ack=1) / (b"%02d" % i * 20))
            for i in range(10)]


def make_truncated():
    pkts = ten_packets()
    blob = pcap_header(LINKTYPE_ETHERNET) + b"".join(
        pcap_record(p, T0 + i, i) for i, p in enumerate(pkts))
    # end of the 6th record, then the 7th record's header, then half its data
    off = 24 + sum(16 + len(p) for p in pkts[:6])
    write("truncated.pcap", blob[:off + 16 + len(pkts[6]) // 2])


def make_corrupt_header():
    pkts = ten_packets()[:6]
    recs = [pcap_record(p, T0 + i, i) for i, p in enumerate(pkts)]
    # the 4th record header claims 0x7fffffff captured bytes
    recs[3] = struct.pack("<IIII", T0 + 3, 3, 0x7FFFFFFF, 0x7FFFFFFF) + pkts[3]
    write("corrupt_header.pcap", pcap_header(LINKTYPE_ETHERNET) + b"".join(recs))


def make_notapcap():
    write("notapcap.pcap", b"This is a text file, not a packet capture.\n"
          b"gatehouse must reject it with an error naming the file.\n")


def make_anomalies():
    """Ethernet packets with known decode anomalies (one each, two in the last), and
    clean packets between them. test_eve checks the EVE lines against this."""
    e = Ether(src=MAC_A, dst=MAC_B)
    ip = lambda i: IP(src=V4_A, dst=V4_B, id=200 + i)
    pkts = []
    # 1: clean TCP
    pkts.append(b(e / ip(1) / TCP(sport=42000, dport=80, flags="S")))
    # 2: TCP checksum wrong
    pkts.append(b(e / ip(2) / TCP(sport=42000, dport=80, flags="A", chksum=0xbad1) / b"data"))
    # 3: UDP checksum wrong
    pkts.append(b(e / ip(3) / UDP(sport=42001, dport=7003, chksum=0xbad2) / b"dns?"))
    # 4: IPv4 header checksum wrong (TCP fine)
    pkts.append(b(e / IP(src=V4_A, dst=V4_B, id=204, chksum=0xbad3) / TCP(sport=42002, dport=80)))
    # 5: ICMP checksum wrong
    pkts.append(b(e / ip(5) / ICMP(type=8, id=1, seq=1, chksum=0xbad4) / b"ping"))
    # 6: clean UDP
    pkts.append(b(e / ip(6) / UDP(sport=42003, dport=7003) / b"fine"))
    # 7: IPv4 total length beyond the frame (ipv4.trunc_pkt)
    p = bytearray(b(e / ip(7) / UDP(sport=42004, dport=7003) / b"short"))
    p[16:18] = struct.pack("!H", 200)
    p[24:26] = b"\0\0"
    p[24:26] = struct.pack("!H", _ipsum(bytes(p[14:34])))
    pkts.append(bytes(p))
    # 8: TCP data offset 4 words (tcp.hlen_too_small)
    p = bytearray(b(e / ip(8) / TCP(sport=42005, dport=80)))
    p[34 + 12] = 0x40
    pkts.append(bytes(p))
    # 9: a 10-byte runt (ethernet.pkt_too_small)
    pkts.append(b(e)[:10])
    # 10: UDP length field disagreeing with the IP length (udp.len_invalid)
    pkts.append(b(e / ip(10) / UDP(sport=42006, dport=7003, len=100) / b"len"))
    # 11: two anomalies in one packet: IPv4 header and TCP checksums wrong
    pkts.append(b(e / IP(src=V4_A, dst=V4_B, id=211, chksum=0xbad5) /
                  TCP(sport=42007, dport=80, flags="A", chksum=0xbad6) / b"two"))
    write_pcap("anomalies.pcap", LINKTYPE_ETHERNET, pkts)


def _ipsum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def make_fw_mix():
    """Traffic for the firewall end-to-end test (tests/cli_firewall.sh):
    a web flow, two SYNs to ssh, DNS, ping, a SYN to 8080, ARP, IPv6 web."""
    from scapy.layers.l2 import ARP
    from scapy.layers.inet6 import IPv6
    c, s, ext = "192.168.1.10", "192.168.1.20", "203.0.113.5"
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    pk = [
        # web: handshake, request, response, close (accepted by rule 1)
        e / IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="S", seq=100),
        e / IP(src=s, dst=c) / TCP(sport=80, dport=40000, flags="SA", seq=500, ack=101),
        e / IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="A", seq=101, ack=501),
        e / IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="PA", seq=101, ack=501) / b"GET / HTTP/1.0\r\n\r\n",
        e / IP(src=s, dst=c) / TCP(sport=80, dport=40000, flags="PA", seq=501, ack=119) / b"HTTP/1.0 200 OK\r\n\r\n",
        e / IP(src=c, dst=s) / TCP(sport=40000, dport=80, flags="FA", seq=119, ack=520),
        # ssh: a SYN and its retransmission (rejected by rule 2)
        e / IP(src=c, dst=s) / TCP(sport=40001, dport=22, flags="S", seq=700),
        e / IP(src=c, dst=s) / TCP(sport=40001, dport=22, flags="S", seq=700),
        # DNS query and answer (accepted by rule 4, the answer on the fast path)
        e / IP(src=c, dst=ext) / UDP(sport=5353, dport=53) / b"\x12\x34query",
        e / IP(src=ext, dst=c) / UDP(sport=53, dport=5353) / b"\x12\x34answer",
        # ping and reply (accepted by rule 5: itype 8)
        e / IP(src=c, dst=ext) / ICMP(type=8, id=7, seq=1) / b"ping",
        e / IP(src=ext, dst=c) / ICMP(type=0, id=7, seq=1) / b"ping",
        # SYN to 8080 (dropped by rule 3)
        e / IP(src=c, dst=s) / TCP(sport=40002, dport=8080, flags="S", seq=900),
        # ARP: outside the rule language, always accepted
        e / ARP(psrc=c, pdst=s),
        # IPv6 web: no rule names IPv6 addresses but rule 3 (any): dropped
        e / IPv6(src="2001:db8::10", dst="2001:db8::20") / TCP(sport=40003, dport=80, flags="S"),
        # UDP to 123 from outside: no rule, the policy (drop in the test)
        e / IP(src=ext, dst=c) / UDP(sport=123, dport=123) / b"ntp",
    ]
    write_pcap("fw_mix.pcap", LINKTYPE_ETHERNET, [b(p) for p in pk])


def make_evasion():
    """Fragmentation evasion captures for tests/cli_evasion.sh: a UDP payload
    whose signature (tests/data/evasion.rules) straddles 8-byte fragments,
    sent in order, reversed, interleaved with a conflicting overlap, and over
    IPv6; each file also holds one clean datagram that must not alert."""
    from scapy.layers.inet import fragment
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    evil = b"xxxxxxxEVIL-SIGNATURE-SPLIT-ACROSS-FRAGMENTSxxxxxxx"
    clean = b"x" * len(evil)
    def v4(payload, ident):
        dg = IP(src="192.0.2.1", dst="192.0.2.2", id=ident) / UDP(sport=4000, dport=9999) / payload
        return fragment(dg, fragsize=8)
    frags = v4(evil, 1) + v4(clean, 2)
    write_pcap("evasion_frag4_inorder.pcap", LINKTYPE_ETHERNET, [b(e / f) for f in frags])
    rev = list(reversed(v4(evil, 1))) + list(reversed(v4(clean, 2)))
    write_pcap("evasion_frag4_reversed.pcap", LINKTYPE_ETHERNET, [b(e / f) for f in rev])
    # overlap: the first copy of fragment 3 carries the signature bytes, a
    # later overlapping copy tries to overwrite them; first data wins
    fs = v4(evil, 1)
    fake = fs[3].copy()
    raw_bytes = bytes(fake[IP].payload)
    fake[IP].remove_payload()
    fake = fake / (b"Z" * len(raw_bytes))
    fake[IP].len = None
    fake[IP].chksum = None
    fake[IP].proto = 17
    ov = [fs[0], fs[1], fs[3], fake] + fs[2:3] + fs[4:]
    write_pcap("evasion_frag4_overlap.pcap", LINKTYPE_ETHERNET, [b(e / f) for f in ov])
    def v6(payload, ident):
        dg = IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=ident) / UDP(sport=4000, dport=9999) / payload
        return fragment6(dg, 64)
    f6 = v6(evil + evil, 7) + v6(clean + clean, 8)
    write_pcap("evasion_frag6.pcap", LINKTYPE_ETHERNET, [b(e / f) for f in list(reversed(f6))])


def make_evasion_tcp():
    """TCP segmentation evasion captures for tests/cli_evasion.sh: the
    request carries EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS (tests/data/evasion.rules)
    split over segments in several ways; each must alert exactly once."""
    e = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    c, srv = "198.51.100.1", "198.51.100.2"
    req = b"GET /x?q=EVIL-TCP-SIGNATURE-ACROSS-SEGMENTS HTTP/1.0\r\n\r\n"
    isn, sisn = 1000, 5000

    def hs(sport):
        return [e / IP(src=c, dst=srv) / TCP(sport=sport, dport=80, flags="S", seq=isn),
                e / IP(src=srv, dst=c) / TCP(sport=80, dport=sport, flags="SA", seq=sisn, ack=isn + 1),
                e / IP(src=c, dst=srv) / TCP(sport=sport, dport=80, flags="A", seq=isn + 1, ack=sisn + 1)]

    def seg(sport, off, data):
        return e / IP(src=c, dst=srv) / TCP(sport=sport, dport=80, flags="PA", seq=isn + 1 + off,
                                            ack=sisn + 1) / data

    def cut(data, sizes):
        out, off = [], 0
        for n in sizes:
            out.append((off, data[off:off + n]))
            off += n
        if off < len(data):
            out.append((off, data[off:]))
        return out

    # three segments, the signature across both boundaries
    parts = cut(req, [16, 14])
    write_pcap("evasion_tcp_split.pcap", LINKTYPE_ETHERNET,
               [b(p) for p in hs(41000) + [seg(41000, o, d) for o, d in parts]])
    # one byte per segment
    parts = cut(req, [1] * len(req))
    write_pcap("evasion_tcp_tiny.pcap", LINKTYPE_ETHERNET,
               [b(p) for p in hs(41001) + [seg(41001, o, d) for o, d in parts]])
    # segments in reverse order, then a retransmission of all of them
    parts = cut(req, [10, 10, 10, 10])
    segs = [seg(41002, o, d) for o, d in reversed(parts)]
    write_pcap("evasion_tcp_reorder.pcap", LINKTYPE_ETHERNET,
               [b(p) for p in hs(41002) + segs + [seg(41002, o, d) for o, d in parts]])
    # conflicting overlap: the first copy of bytes 16..29 is benign, a later
    # copy carries the signature bytes; first data wins, so no alert here,
    # while a second flow gets the signature first and the benign copy later
    good = req[:16] + b"X" * 14 + req[30:]
    f1 = [seg(41003, 16, good[16:30]), seg(41003, 16, req[16:30]), seg(41003, 0, req[:16]),
          seg(41003, 30, req[30:])]
    f2 = [seg(41004, 16, req[16:30]), seg(41004, 16, good[16:30]), seg(41004, 0, req[:16]),
          seg(41004, 30, req[30:])]
    write_pcap("evasion_tcp_overlap.pcap", LINKTYPE_ETHERNET,
               [b(p) for p in hs(41003) + f1 + hs(41004) + f2])


def main():
    os.makedirs(OUT, exist_ok=True)
    make_sll2()
    make_sll()
    make_null()
    make_raw()
    make_vlan_mpls()
    make_ipv6_ext()
    make_pcapng()
    make_nsec()
    make_truncated()
    make_corrupt_header()
    make_notapcap()
    make_anomalies()
    make_fw_mix()
    make_evasion()
    make_evasion_tcp()


if __name__ == "__main__":
    main()
