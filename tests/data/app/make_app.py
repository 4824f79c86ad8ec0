#!/usr/bin/python3
"""Generate the crafted application-layer captures (tests/data/app/*.pcap):
DNS (UDP and TCP), TLS, SMTP and FTP.

    /usr/bin/python3 tests/data/app/make_app.py [OUTDIR]

Each capture is one protocol feature or evasion (see README next to this
script); app.rules names, per signature, the captures it must (or must not)
fire on, and expected-suricata.tsv is Suricata 7's count per (pcap, sid).

Deterministic: fixed addresses (client 10.0.0.1, server 192.168.1.1),
ports, initial sequence numbers, IP ids, payloads (the DNS messages and TLS
records are built here byte by byte; the X.509 certificates are constants
made once with the openssl CLI) and timestamps (packets 10 ms apart from a
fixed start per capture); re-running reproduces the files byte for byte.
Every TCP connection has a full handshake, the receiver ACKs the data, and
connections close with FIN/ACK, FIN/ACK, ACK.
"""

import base64
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import Capture as _Capture, Tcp as _Tcp, udp as _udp  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1610000000
CAPTURES = []
CLI, SRV = "10.0.0.1", "192.168.1.1"


def Capture(name):
    """Capture k of this script starts at T0 + 1000 k seconds."""
    c = _Capture(name, T0 + 1000 * len(CAPTURES), OUT)
    CAPTURES.append(c)
    return c


def Tcp(cap, sport, dport, cisn=1000000, sisn=5000000):
    return _Tcp(cap, CLI, SRV, sport, dport, cisn, sisn)


def udp_pair(cap, sport, dport, query, answer, ipid):
    """A DNS query from the client and the server's answer."""
    _udp(cap, CLI, SRV, sport, dport, query, ipid=ipid)
    if answer is not None:
        _udp(cap, SRV, CLI, dport, sport, answer, ipid=ipid + 1000, from_client=False)


# ------------------------------------------------------------------ X.509
# Self-signed RSA-2048 certificates, made once with
#   openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
#     -subj "/C=US/ST=CA/O=Example Org/CN=www.example.com" -outform DER
# (and -subj "/C=US/ST=CA/O=Example Client Org/CN=client.example.com" for the
# client's), embedded so the generator stays deterministic.
# server: serial 48:DB:5F:CF:9E:08:8F:7E:5C:78:AE:9A:31:64:11:3B:38:CA:12:DE,
#   SHA-1 fingerprint 49:3b:9a:e5:0c:cd:5c:52:65:7a:7c:99:13:1c:0e:f1:86:79:88:6b
# client: serial 17:42:DC:E9:8F:27:5D:ED:38:BA:12:0F:34:5A:87:F1:17:D3:E5:C2,
#   SHA-1 fingerprint 3e:04:c7:bb:a7:f0:da:37:59:99:e0:63:c0:ca:5b:6d:01:a9:08:25
SERVER_CERT = bytes.fromhex(
    "308203753082025da003020102021448db5fcf9e088f7e5c78ae9a3164113b38ca12de300d06092a864886f7"
    "0d01010b0500304a310b3009060355040613025553310b300906035504080c02434131143012060355040a0c"
    "0b4578616d706c65204f72673118301606035504030c0f7777772e6578616d706c652e636f6d301e170d3236"
    "313230353036303835335a170d3336313230323036303835335a304a310b3009060355040613025553310b30"
    "0906035504080c02434131143012060355040a0c0b4578616d706c65204f72673118301606035504030c0f77"
    "77772e6578616d706c652e636f6d30820122300d06092a864886f70d01010105000382010f003082010a0282"
    "010100eb7f29912614153ef325c5314f91a8bcbfbcaf9818209d629cce2181378cc2476c0098277d5a98a553"
    "4c12a2f60c21f9361769837b24848842454c88c4f6ee4b8da83874342a267c0d5f615d0a8886d7324ac8d6d7"
    "218148af817fcce005689f25fc0d66d38603a8447b1db75bdec63aad372be4b796b288f23edeaa59a89b4b34"
    "27a2ea89cfe14aa8c1af75a50a624751096419dc97dc59653723c1263e34ecc881a9ca7cef5d8004dd7cf43a"
    "c9e359b012fb51f9bd33c9045e9c29fa7180a74dda8d72c21a0a5b12363609f3fe80ff1edf2bed132e0c02a3"
    "0ff6138f941319b83e74e6c24ef2c35180137513d258fa743b7762a03c811ddd2ff2f896941f1b0203010001"
    "a3533051301d0603551d0e041604141481696c2fd53d37717166b237d0487d7a73aa43301f0603551d230418"
    "301680141481696c2fd53d37717166b237d0487d7a73aa43300f0603551d130101ff040530030101ff300d06"
    "092a864886f70d01010b05000382010100b5041eaed959372732d8c2bef5104819e453917a5e0c19ca68e6e6"
    "c6e3d6c72a1841c02c8d048c3a0a622abeee6146afd79297dcafbb36530ce6260f5de7be6dfcab2cbca5c503"
    "2b03cfbadaea00a2a8d2989d11c318d1f06fb8e706c88e77fcdcc203ca11c0b0ac2e3728899251ad9a3272eb"
    "ab863e3f37c192a3b4579b7f4a7b264fcbd49e626850e3a1ba98ab7aef495ccd4e0c7d408eddaa2db7a76295"
    "3ddd9d5515ce80337225175ddbd45ab7375902d8746e16015e5186be49e71ea4a505bbbe8c1bfb1e48462cbb"
    "56a70188976ba4670e6e73036ccc52eac4c5924813c6b5bc4382588e82494c21ccdaae01314ca166bcf60f60"
    "3fd0fa041966d6cf7a"
)
CLIENT_CERT = bytes.fromhex(
    "3082038930820271a00302010202141742dce98f275ded38ba120f345a87f117d3e5c2300d06092a864886f7"
    "0d01010b05003054310b3009060355040613025553310b300906035504080c024341311b3019060355040a0c"
    "124578616d706c6520436c69656e74204f7267311b301906035504030c12636c69656e742e6578616d706c65"
    "2e636f6d301e170d3236313230353036303835335a170d3336313230323036303835335a3054310b30090603"
    "55040613025553310b300906035504080c024341311b3019060355040a0c124578616d706c6520436c69656e"
    "74204f7267311b301906035504030c12636c69656e742e6578616d706c652e636f6d30820122300d06092a86"
    "4886f70d01010105000382010f003082010a0282010100bda0bf37510aea8913546dc9ec9a2a7b603b4135c4"
    "3dc4805954b62470a4dd68cd1225ed383cc14893dbebd72dd4d8bae8f19fbad7f5eb15c213a66a2ffc565dcf"
    "17dfb3084576926039974d66ecc20b536b8465404db768b6152dcb746f79356423773ba30cf3bba130f1ee80"
    "77f4f3aa40a14a8f1c57efa1c6743ba0464a4a8e2f8925f23e665f0b74840eb8d6fb7d77a3879b2f4a6e1773"
    "7f0402d0741d5b56f9e4b4b1cf162919bf4829004e8e0f9764d94574ee9634b234444b61ef382d1751bf754d"
    "7f634ac6b52715bbf65b2e7c4df5c2f8d8d0a32344c0f1cb250cd2abc5d4b7b634f351076ace6e999de548cc"
    "411ca14b2fe300bf6040a0e63d1cb10203010001a3533051301d0603551d0e041604146bcebce909e8ece49c"
    "95c75506277b5e774429dc301f0603551d230418301680146bcebce909e8ece49c95c75506277b5e774429dc"
    "300f0603551d130101ff040530030101ff300d06092a864886f70d01010b05000382010100067c8549bb5694"
    "5da362e913a00dbd5afa714342fca5e90372bf0a17eaca3a0f25427445039f6c84714582d4c59ba5ecc0b774"
    "99c53130b2f46b1b26cb88835c12747e80958f79e40dee3b0e2f25fb34124d0f043cf193b66222871a38f467"
    "806b8135671d38232c9ca51c3e0693a42d866f9cbae20aaa5da498574776d60c8fb46deb5e70e066d51bcf4c"
    "1c8dd30573640c213c4a2a817e9edf5dec2696b551efca9bbc993e9ff94831c7cd3fac58fb0fe703f56f2fa3"
    "a48632b9cd69e7792cf7efdde117796c0146b7be70a885ce05aa8bc53da64be0231ecc72d5a4dbcbeb956387"
    "a09e8611b98c117ed325a02ad7230f76be1db8cb8d878b59a750f488ce"
)


# ------------------------------------------------------------------ DNS

A, NS, CNAME, SOA, TXT, AAAA = 1, 2, 5, 6, 16, 28


class Dns:
    """A DNS message built byte by byte: names are written as labels unless
    a compression pointer is asked for (ptr(offset) / name(..., tail=offset));
    .off is the offset the next byte lands at."""

    def __init__(self, qid, flags, qd=0, an=0, ns=0, ar=0):
        self.b = bytearray(struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar))

    @property
    def off(self):
        return len(self.b)

    def name(self, dotted, tail=None):
        """Labels of @dotted, then a pointer to @tail (offset) or the root."""
        start = self.off
        for label in dotted.split(".") if dotted else []:
            self.b += bytes([len(label)]) + label.encode()
        self.b += struct.pack(">H", 0xC000 | tail) if tail is not None else b"\x00"
        return start

    def q(self, dotted, qtype=A, tail=None):
        start = self.name(dotted, tail)
        self.b += struct.pack(">HH", qtype, 1)
        return start

    def rr(self, name_ptr, rtype, rdata, ttl=300):
        """An answer whose owner name is a pointer to @name_ptr; @rdata bytes
        or a function writing the rdata (called with the rdata's offset)."""
        self.b += struct.pack(">HHHI", 0xC000 | name_ptr, rtype, 1, ttl)
        lenpos = self.off
        self.b += b"\x00\x00"
        start = self.off
        if callable(rdata):
            rdata(start)
        else:
            self.b += rdata
        struct.pack_into(">H", self.b, lenpos, self.off - start)
        return start

    def bytes(self):
        return bytes(self.b)


Q_FLAGS = 0x0100          # standard query, RD
R_FLAGS = 0x8180          # response, RD, RA, NOERROR


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def simple_query(qid, name, qtype=A, flags=Q_FLAGS):
    m = Dns(qid, flags, qd=1)
    m.q(name, qtype)
    return m.bytes()


def simple_answer(qid, name, qtype, rdatas, flags=R_FLAGS):
    m = Dns(qid, flags, qd=1, an=len(rdatas))
    q = m.q(name, qtype)
    for rd in rdatas:
        m.rr(q, qtype, rd)
    return m.bytes()


def txt(*strings):
    return b"".join(bytes([len(s)]) + s for s in strings)


def dns_udp():
    """Port 53: A, AAAA, a CNAME chain with compression pointers, TXT, two
    questions in one query (the second compressed), a NOTIFY (opcode 4)."""
    c = Capture("dns_udp.pcap")
    udp_pair(c, 40001, 53, simple_query(0x1001, "www.example.com"),
             simple_answer(0x1001, "www.example.com", A, [ip4("192.0.2.10")]), 10)
    udp_pair(c, 40002, 53, simple_query(0x1002, "ipv6.example.com", AAAA),
             simple_answer(0x1002, "ipv6.example.com", AAAA,
                           [bytes.fromhex("20010db8000000000000000000000001")]), 20)
    # alias.example.org CNAME mid.example.net CNAME final.example.net A 192.0.2.20;
    # every owner name is a pointer, "final" points into "mid.example.net"
    ans = Dns(0x1003, R_FLAGS, qd=1, an=3)
    q = ans.q("alias.example.org")
    mid = ans.rr(q, CNAME, lambda at: ans.name("mid.example.net"))
    fin = ans.rr(mid, CNAME, lambda at: ans.name("final", tail=mid + 4))
    ans.rr(fin, A, ip4("192.0.2.20"))
    udp_pair(c, 40003, 53, simple_query(0x1003, "alias.example.org"), ans.bytes(), 30)
    udp_pair(c, 40004, 53, simple_query(0x1004, "txt.example.com", TXT),
             simple_answer(0x1004, "txt.example.com", TXT,
                           [txt(b"v=spf1 -all", b"TXT_RECORD_MARKER=1")]), 40)
    two = Dns(0x1005, Q_FLAGS, qd=2)
    first = two.q("www2.example.com")
    two.q("mail", tail=first + 5)           # mail + pointer to example.com
    ans2 = Dns(0x1005, R_FLAGS, qd=2, an=1)
    q1 = ans2.q("www2.example.com")
    ans2.q("mail", tail=q1 + 5)
    ans2.rr(q1, A, ip4("192.0.2.21"))
    udp_pair(c, 40005, 53, two.bytes(), ans2.bytes(), 50)
    # NOTIFY (opcode 4, AA) for example.com SOA and its answer
    udp_pair(c, 40006, 53, simple_query(0x1006, "notify.example.com", SOA, flags=0x2400),
             simple_query(0x1006, "notify.example.com", SOA, flags=0xA400), 60)


def dns_case():
    """A query with a mixed-case name (and the answer, same case)."""
    c = Capture("dns_case.pcap")
    udp_pair(c, 40011, 53, simple_query(0x2001, "MiXeD.ExAmPlE.CoM"),
             simple_answer(0x2001, "MiXeD.ExAmPlE.CoM", A, [ip4("192.0.2.30")]), 10)


def dns_nxdomain():
    """An A query answered NXDOMAIN (rcode 3) with an SOA in authority."""
    c = Capture("dns_nxdomain.pcap")
    ans = Dns(0x3001, 0x8183, qd=1, ns=1)
    q = ans.q("nx.example.com")
    ans.b += struct.pack(">HHHI", 0xC000 | (q + 3), SOA, 1, 300)
    lenpos = ans.off
    ans.b += b"\x00\x00"
    start = ans.off
    ans.name("ns1", tail=q + 3)
    ans.name("hostmaster", tail=q + 3)
    ans.b += struct.pack(">IIIII", 2020010101, 7200, 3600, 1209600, 300)
    struct.pack_into(">H", ans.b, lenpos, ans.off - start)
    udp_pair(c, 40021, 53, simple_query(0x3001, "nx.example.com"), ans.bytes(), 10)


def dns_port1053():
    """DNS over UDP port 1053: Suricata 7 probes DNS on port 53 only."""
    c = Capture("dns_port1053.pcap")
    udp_pair(c, 40031, 1053, simple_query(0x4001, "port1053.example.com"),
             simple_answer(0x4001, "port1053.example.com", A, [ip4("192.0.2.40")]), 10)


def tcp_msg(m):
    return struct.pack(">H", len(m)) + m


def dns_tcp():
    """DNS over TCP port 53 (2-byte length prefix): a query in 7-byte
    segments and its answer; then two queries in one segment and their two
    answers in one segment."""
    c = Capture("dns_tcp.pcap")
    f = Tcp(c, 40041, 53).handshake()
    q = tcp_msg(simple_query(0x5001, "tcp-split.example.com"))
    f.send_segments(True, [q[i:i + 7] for i in range(0, len(q), 7)])
    f.send(False, tcp_msg(simple_answer(0x5001, "tcp-split.example.com", A,
                                        [ip4("192.0.2.50")])))
    f.send(True, tcp_msg(simple_query(0x5002, "tcp-one.example.com")) +
           tcp_msg(simple_query(0x5003, "tcp-two.example.com", AAAA)))
    f.send(False, tcp_msg(simple_answer(0x5002, "tcp-one.example.com", A,
                                        [ip4("192.0.2.51")])) +
           tcp_msg(simple_answer(0x5003, "tcp-two.example.com", AAAA,
                                 [bytes.fromhex("20010db8000000000000000000000052")])))
    f.close()


def dns_malformed():
    """UDP port 53: a query cut in the middle of its name; a valid query
    whose answer's owner name is a compression pointer to itself (a loop);
    a query whose name ends in a pointer back to its own start (a loop in
    the question)."""
    c = Capture("dns_malformed.pcap")
    cut = simple_query(0x6001, "truncated-query.example.com")[:12 + 10]
    udp_pair(c, 40051, 53, cut, None, 10)
    ans = Dns(0x6002, R_FLAGS, qd=1, an=1)
    ans.q("loop-answer.example.com")
    here = ans.off
    ans.b += struct.pack(">HHHHIH", 0xC000 | here, A, 1, 0, 300, 4) + ip4("192.0.2.60")
    udp_pair(c, 40052, 53, simple_query(0x6002, "loop-answer.example.com"), ans.bytes(), 20)
    loop = Dns(0x6003, Q_FLAGS, qd=1)
    loop.q("loop-question", tail=12)
    udp_pair(c, 40053, 53, loop.bytes(), None, 30)


# ------------------------------------------------------------------ TLS

HANDSHAKE, CCS, ALERT, APPDATA = 22, 20, 21, 23
GREASE_CIPHER, GREASE_EXT, GREASE_GROUP = 0x0A0A, 0x1A1A, 0x2A2A
GREASE_EXT2, GREASE_VER = 0x3A3A, 0x4A4A
CIPHERS = [GREASE_CIPHER, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014,
           0x009C, 0x009D, 0x002F, 0x0035]
SIG_ALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]


def u8(n):
    return struct.pack(">B", n)


def u16(n):
    return struct.pack(">H", n)


def u24(n):
    return struct.pack(">I", n)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def vec24(b):
    return u24(len(b)) + b


def record(ctype, body, version=0x0303):
    return u8(ctype) + u16(version) + vec16(body)


def hs(htype, body):
    return u8(htype) + vec24(body)


def ext(etype, body=b""):
    return u16(etype) + vec16(body)


def ext_sni(host):
    return ext(0, vec16(u8(0) + vec16(host.encode())))


def ext_groups(groups):
    return ext(10, vec16(b"".join(u16(g) for g in groups)))


def ext_ecpf():
    return ext(11, vec8(b"\x00"))


def ext_sigalgs():
    return ext(13, vec16(b"".join(u16(a) for a in SIG_ALGS)))


def rnd(tag, n=32):
    """Fixed 'random' bytes: @tag repeated."""
    return (tag * n)[:n]


def client_hello(sni, ciphers=CIPHERS, exts=None, session=True, tag=b"C"):
    """A TLS 1.2 ClientHello (handshake message) with GREASE in the ciphers,
    the extensions and the groups (Chrome's layout)."""
    if exts is None:
        exts = [ext(GREASE_EXT), ext_sni(sni), ext(23), ext(0xFF01, b"\x00"),
                ext_groups([GREASE_GROUP, 29, 23, 24]), ext_ecpf(), ext(35),
                ext(16, vec16(vec8(b"h2") + vec8(b"http/1.1"))),
                ext(5, b"\x01\x00\x00\x00\x00"), ext_sigalgs(), ext(GREASE_EXT2, b"\x00")]
    body = (u16(0x0303) + rnd(tag) + (vec8(rnd(tag + b"s")) if session else b"\x00") +
            vec16(b"".join(u16(c) for c in ciphers)) + vec8(b"\x00") + vec16(b"".join(exts)))
    return hs(1, body)


def server_hello(cipher=0xC02F, exts=None, tag=b"S", version=0x0303):
    if exts is None:
        exts = [ext(0xFF01, b"\x00"), ext_ecpf(), ext(23)]
    return hs(2, u16(version) + rnd(tag) + vec8(b"") + u16(cipher) + b"\x00" +
              vec16(b"".join(exts)))


def certificate(*ders):
    return hs(11, vec24(b"".join(vec24(d) for d in ders)))


def server_key_exchange():
    # named curve x25519, a 32-byte key, then an opaque 'signature'
    return hs(12, b"\x03" + u16(29) + vec8(rnd(b"K")) + u16(0x0401) + vec16(rnd(b"G", 256)))


SERVER_HELLO_DONE = hs(14, b"")
CLIENT_KEY_EXCHANGE = hs(16, vec8(rnd(b"X")))
CCS_REC = record(CCS, b"\x01")


def finished_rec(tag):
    """The encrypted Finished: an opaque handshake record."""
    return record(HANDSHAKE, rnd(tag, 40))


def tls12_session(f, ch_parts):
    """TLS 1.2 handshake on connection @f: the client's ClientHello record
    (already split into TCP segments @ch_parts), the server's flight, the
    client's key exchange + CCS + Finished, the server's CCS + Finished, one
    application data record each way."""
    f.send_segments(True, ch_parts)
    f.send(False, record(HANDSHAKE, server_hello() + certificate(SERVER_CERT) +
                         server_key_exchange() + SERVER_HELLO_DONE))
    f.send(True, record(HANDSHAKE, CLIENT_KEY_EXCHANGE) + CCS_REC + finished_rec(b"F"))
    f.send(False, CCS_REC + finished_rec(b"f"))
    f.send(True, record(APPDATA, rnd(b"A", 64)))
    f.send(False, record(APPDATA, rnd(b"a", 96)))
    f.close()


def tls_full():
    """Port 443: a full TLS 1.2 handshake, ClientHello with SNI
    www.example.com and GREASE, server Certificate (SERVER_CERT)."""
    c = Capture("tls_full.pcap")
    f = Tcp(c, 40101, 443).handshake()
    tls12_session(f, [record(HANDSHAKE, client_hello("www.example.com"), version=0x0301)])


def tls_sni_split():
    """The ClientHello record in two TCP segments, split inside the SNI."""
    c = Capture("tls_sni_split.pcap")
    f = Tcp(c, 40111, 443).handshake()
    rec = record(HANDSHAKE, client_hello("split-sni.example.com"), version=0x0301)
    cut = rec.index(b"split-sni") + 6          # "split-" | "sni.example.com"
    tls12_session(f, [rec[:cut], rec[cut:]])


def tls_record_split():
    """One ClientHello handshake message in two TLS records (the first
    record ends inside the extensions), both in one TCP segment."""
    c = Capture("tls_record_split.pcap")
    f = Tcp(c, 40121, 443).handshake()
    ch = client_hello("record-split.example.com")
    cut = ch.index(b"record-split") + 7       # "record-" | "split.example.com"
    tls12_session(f, [record(HANDSHAKE, ch[:cut], version=0x0301) +
                      record(HANDSHAKE, ch[cut:], version=0x0301)])


def tls_1byte():
    """A short ClientHello (no session id, 4 ciphers) and the ServerHello in
    1-byte segments; the rest of the server's flight in one segment."""
    c = Capture("tls_1byte.pcap")
    f = Tcp(c, 40131, 443).handshake()
    hello = client_hello("onebyte.example.com", ciphers=[0xC02F, 0xC030, 0x009C, 0x002F],
                         exts=[ext_sni("onebyte.example.com"), ext_groups([29, 23]),
                               ext_ecpf()],
                         session=False, tag=b"1")
    ch = record(HANDSHAKE, hello, version=0x0301)
    f.send_segments(True, [ch[i:i + 1] for i in range(len(ch))], ack_every=16)
    sh = record(HANDSHAKE, server_hello(exts=[ext_ecpf()], tag=b"2"))
    f.send_segments(False, [sh[i:i + 1] for i in range(len(sh))], ack_every=16)
    f.send(False, record(HANDSHAKE, certificate(SERVER_CERT) + server_key_exchange() +
                         SERVER_HELLO_DONE))
    f.send(True, record(HANDSHAKE, CLIENT_KEY_EXCHANGE) + CCS_REC + finished_rec(b"F"))
    f.send(False, CCS_REC + finished_rec(b"f"))
    f.close()


def tls_port4433():
    """The TLS 1.2 session of tls_full on port 4433 (SNI nonstd.example.com)."""
    c = Capture("tls_port4433.pcap")
    f = Tcp(c, 40141, 4433).handshake()
    tls12_session(f, [record(HANDSHAKE, client_hello("nonstd.example.com", tag=b"N"),
                             version=0x0301)])


def tls13():
    """TLS 1.3: ClientHello (legacy version 1.2) with supported_versions
    (GREASE, 1.3, 1.2), key_share, psk_key_exchange_modes; ServerHello with
    supported_versions 1.3 and key_share; then CCS (middlebox compatibility)
    and opaque application data records."""
    c = Capture("tls13.pcap")
    f = Tcp(c, 40151, 443).handshake()
    ciphers = [GREASE_CIPHER, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F]
    exts = [ext(GREASE_EXT), ext_sni("tls13.example.com"),
            ext_groups([GREASE_GROUP, 29, 23]), ext_ecpf(), ext_sigalgs(),
            ext(51, vec16(u16(GREASE_GROUP) + vec16(b"\x00") + u16(29) + vec16(rnd(b"k")))),
            ext(45, vec8(b"\x01")),
            ext(43, vec8(u16(GREASE_VER) + u16(0x0304) + u16(0x0303))),
            ext(GREASE_EXT2, b"\x00")]
    f.send(True, record(HANDSHAKE, client_hello("tls13.example.com", ciphers=ciphers, exts=exts,
                                                tag=b"3"), version=0x0301))
    sh = server_hello(cipher=0x1301, tag=b"4",
                      exts=[ext(51, u16(29) + vec16(rnd(b"j"))), ext(43, u16(0x0304))])
    f.send(False, record(HANDSHAKE, sh) + CCS_REC + record(APPDATA, rnd(b"e", 120)) +
           record(APPDATA, rnd(b"g", 80)))
    f.send(True, CCS_REC + record(APPDATA, rnd(b"h", 53)))
    f.send(True, record(APPDATA, rnd(b"A", 64)))
    f.send(False, record(APPDATA, rnd(b"a", 96)))
    f.close()


def tls_client_cert():
    """TLS 1.2 with a client certificate: the server asks (CertificateRequest),
    the client sends Certificate (CLIENT_CERT), ClientKeyExchange and
    CertificateVerify in one record."""
    c = Capture("tls_client_cert.pcap")
    f = Tcp(c, 40161, 443).handshake()
    f.send(True, record(HANDSHAKE, client_hello("mtls.example.com", tag=b"M"), version=0x0301))
    cert_req = hs(13, vec8(b"\x01\x40") + vec16(b"".join(u16(a) for a in SIG_ALGS)) + vec16(b""))
    f.send(False, record(HANDSHAKE, server_hello(tag=b"m") + certificate(SERVER_CERT) +
                         server_key_exchange() + cert_req + SERVER_HELLO_DONE))
    f.send(True, record(HANDSHAKE, certificate(CLIENT_CERT) + CLIENT_KEY_EXCHANGE +
                        hs(15, u16(0x0401) + vec16(rnd(b"V", 256)))) +
           CCS_REC + finished_rec(b"F"))
    f.send(False, CCS_REC + finished_rec(b"f"))
    f.close()


# ------------------------------------------------------------------ SMTP

def crlf(*lines):
    return ("\r\n".join(lines) + "\r\n").encode()


def b64_lines(data):
    e = base64.b64encode(data).decode()
    return [e[i:i + 76] for i in range(0, len(e), 76)]


ATTACH1 = (b"GATEHOUSE_ATTACH ATTACHMENT_SECRET_MARKER in the first mail's base64 "
           b"attachment report.bin\n" * 2)
ATTACH2 = b"GATEHOUSE_ATTACH SECOND_MAIL_MARKER in the second mail's attachment\n"


def mail1():
    """multipart/mixed: an inline text/plain part, a quoted-printable
    attachment (notes.txt: QP_MARKER_DECODED only after decoding, across a
    soft line break too) and a base64 attachment (report.bin)."""
    return crlf(
        "From: Alice <alice@example.com>",
        "To: Bob <bob@example.net>",
        "Subject: Quarterly report",
        "Date: Thu, 7 Jan 2021 08:00:00 +0000",
        "Message-ID: <mail1@example.com>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="==GH_BOUNDARY_1=="',
        "",
        "This is a multi-part message in MIME format.",
        "--==GH_BOUNDARY_1==",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit",
        "",
        "Hello Bob, INLINE_BODY_MARKER in the plain text part.",
        "--==GH_BOUNDARY_1==",
        "Content-Type: text/plain; charset=utf-8; name=\"notes.txt\"",
        "Content-Transfer-Encoding: quoted-printable",
        'Content-Disposition: attachment; filename="notes.txt"',
        "",
        "Notes: QP=5FMARKER=5FDECODED and caf=C3=A9 and QP_SOFT=",
        "BREAK_MARKER end.",
        "--==GH_BOUNDARY_1==",
        'Content-Type: application/octet-stream; name="report.bin"',
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="report.bin"',
        "",
        *b64_lines(ATTACH1),
        "--==GH_BOUNDARY_1==--",
        ".")


def mail2():
    return crlf(
        "From: Carol <carol@example.org>",
        "To: Bob <bob@example.net>",
        "Subject: Second mail",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="==GH_BOUNDARY_2=="',
        "",
        "--==GH_BOUNDARY_2==",
        "Content-Type: text/plain",
        "",
        "Second mail body.",
        "--==GH_BOUNDARY_2==",
        'Content-Type: application/octet-stream; name="second.bin"',
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="second.bin"',
        "",
        *b64_lines(ATTACH2),
        "--==GH_BOUNDARY_2==--",
        ".")


def smtp():
    """Port 25: greeting, EHLO, two mails (MAIL FROM, RCPT TO, DATA, the
    message, 250) on one session, QUIT."""
    c = Capture("smtp.pcap")
    f = Tcp(c, 40201, 25).handshake()
    f.send(False, crlf("220 mail.example.net ESMTP GatehouseTestMTA"))
    f.send(True, crlf("EHLO client.example.com"))
    f.send(False, crlf("250-mail.example.net Hello client.example.com", "250-SIZE 10240000",
                       "250-8BITMIME", "250 HELP"))
    for frm, to, msg in (("alice@example.com", "bob@example.net", mail1()),
                         ("carol@example.org", "bob@example.net", mail2())):
        f.send(True, crlf("MAIL FROM:<%s>" % frm))
        f.send(False, crlf("250 2.1.0 Ok"))
        f.send(True, crlf("RCPT TO:<%s>" % to))
        f.send(False, crlf("250 2.1.5 Ok"))
        f.send(True, crlf("DATA"))
        f.send(False, crlf("354 End data with <CR><LF>.<CR><LF>"))
        half = msg.index(b"\r\n", len(msg) // 2) + 2
        f.send_segments(True, [msg[:half], msg[half:]])
        f.send(False, crlf("250 2.0.0 Ok: queued"))
    f.send(True, crlf("QUIT"))
    f.send(False, crlf("221 2.0.0 Bye"))
    f.close()


# ------------------------------------------------------------------ FTP

FTP_FILE = b"FTP_FILE_CONTENT_MARKER: the contents of report.txt\n" * 3


def ftp():
    """Port 21: greeting, USER, PASS, CWD, PASV/227 (port 50000), the data
    connection from the client to 192.168.1.1:50000, RETR, 150, the file on
    the data connection (server closes it), 226, QUIT."""
    c = Capture("ftp.pcap")
    f = Tcp(c, 40301, 21).handshake()
    f.send(False, crlf("220 (GatehouseTestFTPd 3.0.3)"))
    for cmd, reply in (("USER anonymous", "331 Please specify the password."),
                       ("PASS guest@example.com", "230 Login successful."),
                       ("CWD /pub/reports", "250 Directory successfully changed."),
                       ("TYPE I", "200 Switching to Binary mode."),
                       ("PASV", "227 Entering Passive Mode (192,168,1,1,195,80).")):
        f.send(True, crlf(cmd))
        f.send(False, crlf(reply))
    d = Tcp(c, 40302, 50000, cisn=2000000, sisn=6000000).handshake()
    f.send(True, crlf("RETR report.txt"))
    f.send(False, crlf("150 Opening BINARY mode data connection for report.txt (%d bytes)."
                       % len(FTP_FILE)))
    d.send(False, FTP_FILE)
    d.close(from_client=False)
    f.send(False, crlf("226 Transfer complete."))
    f.send(True, crlf("QUIT"))
    f.send(False, crlf("221 Goodbye."))
    f.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in (dns_udp, dns_case, dns_nxdomain, dns_port1053, dns_tcp, dns_malformed,
               tls_full, tls_sni_split, tls_record_split, tls_1byte, tls_port4433, tls13,
               tls_client_cert, smtp, ftp):
        fn()
    for c in CAPTURES:
        c.write()


if __name__ == "__main__":
    main()
