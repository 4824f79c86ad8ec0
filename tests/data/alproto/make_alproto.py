#!/usr/bin/python3
"""Generate the crafted captures of application protocol detection for SMB
and SSH (tests/data/alproto/*.pcap).

    /usr/bin/python3 tests/data/alproto/make_alproto.py [OUTDIR]

Each capture holds flows that Suricata 7 detects as SMB or SSH, or must
not; alproto.rules names, per signature, the captures it must (or must
not) fire on, and expected-suricata.tsv is Suricata 7's count per (pcap, sid).

Deterministic: fixed addresses (client 10.0.0.1, server 192.168.1.1), ports,
sequence numbers (client ISN 1000000, server ISN 5000000), payloads and
timestamps (packets 10 ms apart from a fixed start per capture).
"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import Capture as _Capture, Tcp as _Tcp, udp as _udp  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1640000000
CAPTURES = []
CLI, SRV = "10.0.0.1", "192.168.1.1"


def Capture(name):
    """Capture k of this script starts at T0 + 1000 k seconds."""
    c = _Capture(name, T0 + 1000 * len(CAPTURES), OUT)
    CAPTURES.append(c)
    return c


def Tcp(cap, sport, dport):
    return _Tcp(cap, CLI, SRV, sport, dport, 1000000, 5000000).handshake()


def nbss(body, mtype=0):
    """An NBSS record: type, 24-bit length, body."""
    return struct.pack(">I", mtype << 24 | len(body)) + body


def smb1(cmd, response, data):
    """An SMB1 header (flags 0x80: a response) and its words/bytes."""
    hdr = b"\xffSMB" + struct.pack("<BIBHH8sHHHHH", cmd, 0, 0x98 if response else 0x18,
                                   0xc807, 0, b"\0" * 8, 0, 0xffff, 0xfeff, 0, 1)
    return hdr + data


def smb2(cmd, response, data):
    """An SMB2 header (flags bit 0: a response) and its body."""
    hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, cmd, 1, 1 if response else 0,
                                   0, 1, 0xfeff, 0, 0, b"\0" * 16)
    return hdr + data


NEG1 = smb1(0x72, False, b"\x00\x0c\x00\x02NT LM 0.12\x00")
NEG1_R = smb1(0x72, True, b"\x11\x05\x00" + b"\0" * 32 + b"\x00\x00")
NEG2 = smb2(0, False, struct.pack("<HHHHI16sQ", 36, 1, 1, 0, 0, b"gatehouse-smb2!!", 0) +
            b"\x02\x02")
NEG2_R = smb2(0, True, struct.pack("<HHHH16sI", 65, 1, 0x0202, 0, b"gatehouse-server", 0) +
              b"\0" * 40)
# a create request naming a file, the bytes the rules look for
CREATE2 = smb2(5, False, b"\x39\x00" + b"\0" * 54 + "temp\\run.exe".encode("utf-16-le"))
# a NetBIOS session request (called and calling names, 34 bytes each)
SESS_REQ = nbss(b" " + b"CKFDENECFDEFFCFGEFFCCACACACACACA" + b"\0" +
                b" " + b"EMEPEDEBEMEIEPFDFECACACACACACAAA" + b"\0", 0x81)
SESS_OK = nbss(b"", 0x82)


def smb_flow(cap, sport, dport, first=None):
    c = Tcp(cap, sport, dport)
    if first:
        c.send(True, first[0])
        c.send(False, first[1])
    c.send(True, nbss(NEG2))
    c.send(False, nbss(NEG2_R))
    c.send(True, nbss(CREATE2))
    c.close()


# SMB1 and SMB2 on port 445, each direction starting with an SMB record
cap = Capture("smb_445.pcap")
c = Tcp(cap, 43001, 445)
c.send(True, nbss(NEG1))
c.send(False, nbss(NEG1_R))
c.close()
smb_flow(cap, 43002, 445)

# SMB2 on port 139: the pattern decides on any port
cap = Capture("smb_139.pcap")
smb_flow(cap, 43011, 139)

# SMB2 on another port
cap = Capture("smb_port_other.pcap")
smb_flow(cap, 43021, 8445)

# a NetBIOS session request first, on 445 and on 139
cap = Capture("smb_sess_req.pcap")
smb_flow(cap, 43031, 445, (SESS_REQ, SESS_OK))
smb_flow(cap, 43032, 139, (SESS_REQ, SESS_OK))

# not SMB on 445: text, a binary record without the magic, HTTP; SMB's
# magic at offset 4 under an invalid NBSS type
cap = Capture("not_smb_445.pcap")
c = Tcp(cap, 43041, 445)
c.send(True, b"HELLO there, this is no SMB at all: SMB\xfeSMB temp\\run.exe\r\n")
c.send(False, b"BYE\r\n")
c.close()
c = Tcp(cap, 43042, 445)
c.send(True, nbss(b"\x01\x02\x03\x04" + b"SMB" + b"\0" * 40))
c.send(False, nbss(b"\0" * 40))
c.close()
c = Tcp(cap, 43043, 445)
c.send(True, b"GET /SMB HTTP/1.1\r\nHost: example.com\r\n\r\n")
c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nSMB")
c.close()
c = Tcp(cap, 43044, 8445)
c.send(True, b"\x42\x00\x00\x44" + NEG2)
c.send(False, b"\x42\x00\x00\x44" + NEG2_R)
c.close()

# SSH: the server's banner first on 22, the client's first on 2222; a
# binary packet after each banner (a KEXINIT-like record, not parsed)
KEX = struct.pack(">IBB", 28, 4, 20) + b"resume@appgate.com" + b"\0" * 8
cap = Capture("ssh.pcap")
c = Tcp(cap, 43101, 22)
c.send(False, b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n")
c.send(True, b"SSH-2.0-PuTTY_Release_0.78\r\n")
c.send(False, KEX)
c.send(True, KEX)
c.close()
c = Tcp(cap, 43102, 2222)
c.send(True, b"SSH-2.0-libssh_0.9.6\r\n")
c.send(False, b"SSH-2.0-OpenSSH_8.9p1\r\n")
c.close()
# the pattern ignores case, the banner parser does not: SSH without versions
c = Tcp(cap, 43103, 22)
c.send(True, b"ssh-2.0-lowercase\r\n")
c.send(False, b"SSH-1.99-OpenSSH_3.9\r\n")
c.close()
# not SSH: another protocol's greeting on 22
c = Tcp(cap, 43104, 22)
c.send(True, b"SSH!2.0-no-dash\r\n")
c.send(False, b"nope\r\n")
c.close()



def dce(ptype, body, drep=b"\x10\x00\x00\x00"):
    """A connection-oriented DCERPC PDU: version 5.0, little endian."""
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, 3, drep, 16 + len(body), 0, 1) + body


def dce_udp(body):
    """A connectionless DCERPC request: version 4, type 0, 80-byte header."""
    return struct.pack("<BBBB3sB16s16s16sIIIHHHHHBB", 4, 0, 0x08, 0, b"\x10\x00\x00", 0,
                       b"\0" * 16, b"\x11" * 16, b"\x22" * 16, 0, 1, 1, 3, 0xffff, 0xffff,
                       len(body), 0, 0, 0) + body


# DCERPC: a bind, its ack and a request on 135; a request datagram; a PDU
# with an unknown data representation
cap = Capture("dcerpc.pcap")
c = Tcp(cap, 43201, 135)
c.send(True, dce(11, b"\xb8\x10\xb8\x10\0\0\0\0\x01\0\0\0" + b"\0" * 44))
c.send(False, dce(12, b"\xb8\x10\xb8\x10\x01\x02\x03\x04" + b"\0" * 32))
c.send(True, dce(0, b"\x20\0\0\0\0\0\x03\0" + b"gatehouse-dce over tcp"))
c.send(False, dce(2, b"\x08\0\0\0\0\0\0\0" + b"\0" * 8))
c.close()
_udp(cap, CLI, SRV, 43202, 135, dce_udp(b"gatehouse-dce over udp"), ipid=41)
c = Tcp(cap, 43203, 135)
c.send(True, dce(0, b"\x20\0\0\0\0\0\x03\0" + b"bad-drep request", b"\x20\x00\x00\x00"))
c.send(False, b"\0" * 20)
c.close()

for cap in CAPTURES:
    cap.write()
