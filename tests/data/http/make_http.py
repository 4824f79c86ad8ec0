#!/usr/bin/python3
"""Generate the crafted HTTP/1.x captures (tests/data/http/*.pcap).

    /usr/bin/python3 tests/data/http/make_http.py [OUTDIR]

Each capture is one HTTP feature or evasion (see README next to this
script); http.rules names, per signature, the capture it must (or must not)
fire on, and expected-suricata.tsv is Suricata 7's count per (pcap, sid).

Deterministic: fixed addresses (client 10.0.0.x, server 192.168.x.y),
ports, initial sequence numbers, IP ids, payloads (gzip with mtime 0) and
timestamps (packets 10 ms apart from a fixed start per capture); re-running
reproduces the files byte for byte. Every TCP connection has a full
handshake, the receiver ACKs the data, and connections close with FIN/ACK,
FIN/ACK, ACK unless the case says otherwise.
"""

import gzip
import os
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import Capture as _Capture, Tcp as _Tcp  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T0 = 1600000000
CAPTURES = []


def Capture(name):
    """Capture k of this script starts at T0 + 1000 k seconds."""
    c = _Capture(name, T0 + 1000 * len(CAPTURES), OUT)
    CAPTURES.append(c)
    return c


def Tcp(cap, sport, dport=80, cli="10.0.0.1", srv="192.168.1.1", cisn=1000000, sisn=5000000):
    return _Tcp(cap, cli, srv, sport, dport, cisn, sisn)


def crlf(*lines):
    return ("\r\n".join(lines)).encode()


def req(method, uri, headers=(), body=b"", host="www.example.com", proto="HTTP/1.1"):
    h = ["%s %s %s" % (method, uri, proto)]
    if host is not None:
        h.append("Host: %s" % host)
    h += list(headers)
    return crlf(*h) + b"\r\n\r\n" + body


def resp(status, headers=(), body=b"", proto="HTTP/1.1", cl=True):
    h = ["%s %s" % (proto, status)] + list(headers)
    if cl:
        h.append("Content-Length: %d" % len(body))
    return crlf(*h) + b"\r\n\r\n" + body


def one_tx(name, request, response, dport=80, sport=40000):
    c = Capture(name)
    f = Tcp(c, sport, dport).handshake()
    f.send(True, request)
    f.send(False, response)
    f.close()
    return c


# ------------------------------------------------------------------ captures

def get_simple():
    one_tx("get_simple.pcap",
           req("GET", "/index.html?q=gatehouse&lang=en", [
               "User-Agent: Mozilla/5.0 (GatehouseTest)",
               "Accept: text/html,application/xhtml+xml",
               "Accept-Encoding: gzip, deflate",
               "Accept-Language: en-US,en;q=0.5",
               "Referer: http://ref.example.org/start.html",
               "Cookie: session=abc123; theme=dark",
               "Connection: keep-alive"]),
           resp("200 OK", [
               "Server: TestServer/1.0",
               "Content-Type: text/html; charset=utf-8",
               "Set-Cookie: srvcookie=xyz789"],
               b"<html><body>hello from gatehouse test server</body></html>"))


def get_transforms():
    """A second simple GET: the transform and pcre signatures (Suricata
    alerts at most 15 signatures per packet, so get_simple cannot carry
    them all)."""
    one_tx("get_transforms.pcap",
           req("GET", "/transform.html", [
               "User-Agent: Mozilla/5.0 (TransformTest)",
               "Accept-Encoding: br",
               "Accept-Language: de-DE,de;q=0.5",
               "Cookie: tcookie=1; flavour=mint",
               "Connection: close"], host="sub.example.net"),
           resp("200 OK", ["Content-Type: text/plain"], b"transform ok"))


def post_cl():
    body = b"user=admin&pass=secret123&note=LoginBody"
    one_tx("post_cl.pcap",
           req("POST", "/login.php", [
               "User-Agent: curl/7.88.1",
               "Content-Type: application/x-www-form-urlencoded",
               "Content-Length: %d" % len(body)], body),
           resp("302 Found", [
               "Server: nginx/1.22.1",
               "Location: http://www.example.com/welcome.html",
               "Content-Type: text/plain"], b"Redirecting"))


def chunked():
    rbody = b"5;ext=1\r\nCHUNK\r\n9\r\nEDREQBODY\r\n0\r\nX-Req-Trailer: tr1\r\n\r\n"
    sbody = (b"7;name=value\r\nRESPCHU\r\n7\r\nNKEDOUT\r\n0\r\n"
             b"X-Resp-Trailer: tr2\r\n\r\n")
    one_tx("chunked.pcap",
           req("POST", "/upload", ["Transfer-Encoding: chunked",
                                   "Content-Type: text/plain"], rbody),
           resp("200 OK", ["Transfer-Encoding: chunked", "Content-Type: text/plain",
                           "Trailer: X-Resp-Trailer"], sbody, cl=False))


GZ_TEXT = b"GZIPPED_SECRET_PAYLOAD inside a gzip body; " * 3


def gzip_body():
    return gzip.compress(GZ_TEXT, compresslevel=9, mtime=0)


def gzip_resp():
    return resp("200 OK", ["Content-Type: text/plain", "Content-Encoding: gzip"], gzip_body())


def gzip_cap():
    one_tx("gzip.pcap", req("GET", "/gz.txt", ["Accept-Encoding: gzip"]), gzip_resp())


def deflate_cap():
    body = zlib.compress(b"DEFLATED_SECRET_PAYLOAD inside a zlib deflate body", 9)
    one_tx("deflate.pcap", req("GET", "/deflate.txt", ["Accept-Encoding: deflate"]),
           resp("200 OK", ["Content-Type: text/plain", "Content-Encoding: deflate"], body))


def chunked_gzip():
    g = gzip_body()
    a, b = g[:40], g[40:]
    body = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(a), a, len(b), b)
    one_tx("chunked_gzip.pcap", req("GET", "/chunked-gz.txt", ["Accept-Encoding: gzip"]),
           resp("200 OK", ["Content-Type: text/plain", "Content-Encoding: gzip",
                           "Transfer-Encoding: chunked"], body, cl=False))


def gzip_1byte():
    c = Capture("gzip_1byte.pcap")
    f = Tcp(c, 40000).handshake()
    f.send(True, req("GET", "/gz.txt", ["Accept-Encoding: gzip"]))
    r = gzip_resp()
    f.send_segments(False, [r[i:i + 1] for i in range(len(r))], ack_every=16)
    f.close()


def req_1byte():
    c = Capture("req_1byte.pcap")
    f = Tcp(c, 40000).handshake()
    r = req("GET", "/split/1byte.html", ["User-Agent: OneByteAgent"])
    f.send_segments(True, [r[i:i + 1] for i in range(len(r))], ack_every=16)
    f.send(False, resp("200 OK", ["Content-Type: text/plain"], b"split request ok"))
    f.close()


def ooo():
    c = Capture("ooo.pcap")
    f = Tcp(c, 40000).handshake()
    r = req("GET", "/out/of/order.html", ["User-Agent: OutOfOrderAgent"])
    f.send_segments(True, [r[:10], r[10:30], r[30:]], order=[2, 0, 1])
    s = resp("200 OK", ["Content-Type: text/plain"], b"REORDERED_RESPONSE_BODY")
    f.send_segments(False, [s[:30], s[30:]], order=[1, 0])
    f.close()


def pipeline():
    c = Capture("pipeline.pcap")
    f = Tcp(c, 40000).handshake()
    f.send(True, req("GET", "/pipe1") + req("GET", "/pipe2") + req("GET", "/pipe3"))
    f.send(False, resp("200 OK", [], b"PIPEBODY1") + resp("200 OK", [], b"PIPEBODY2") +
           resp("404 Not Found", [], b"PIPEBODY3"))
    f.close()


def keepalive():
    c = Capture("keepalive.pcap")
    f = Tcp(c, 40000).handshake()
    f.send(True, req("GET", "/ka/first", ["Connection: keep-alive"]))
    f.send(False, resp("200 OK", ["Connection: keep-alive"], b"KA_FIRST_BODY"))
    f.send(True, req("GET", "/ka/second", ["Connection: keep-alive"]))
    f.send(False, resp("200 OK", ["Connection: keep-alive"], b"KA_SECOND_BODY"))
    f.close()


def head():
    c = Capture("head.pcap")
    f = Tcp(c, 40000).handshake()
    f.send(True, req("HEAD", "/head/resource.bin"))
    f.send(False, crlf("HTTP/1.1 200 OK", "Content-Type: application/octet-stream",
                       "Content-Length: 1000") + b"\r\n\r\n")
    f.send(True, req("GET", "/head/after"))
    f.send(False, resp("200 OK", [], b"AFTER_HEAD_BODY"))
    f.close()


def status_204_304():
    c = Capture("status_204_304.pcap")
    f = Tcp(c, 40000).handshake()
    f.send(True, req("GET", "/nocontent"))
    f.send(False, crlf("HTTP/1.1 204 No Content", "Server: Status/1") + b"\r\n\r\n")
    f.send(True, req("GET", "/cached.css", ["If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT"]))
    f.send(False, crlf("HTTP/1.1 304 Not Modified", "Server: Status/1") + b"\r\n\r\n")
    f.send(True, req("GET", "/third"))
    f.send(False, resp("200 OK", ["Server: Status/1"], b"THIRD_TX_BODY"))
    f.close()


def continue100():
    c = Capture("continue100.pcap")
    f = Tcp(c, 40000).handshake()
    body = b"CONTINUED_UPLOAD_BODY"
    f.send(True, req("POST", "/expect", ["Expect: 100-continue",
                                         "Content-Length: %d" % len(body)]))
    f.send(False, b"HTTP/1.1 100 Continue\r\n\r\n")
    f.send(True, body)
    f.send(False, resp("200 OK", ["Content-Type: text/plain"], b"UPLOAD_ACCEPTED"))
    f.close()


def body_close():
    c = Capture("body_close.pcap")
    f = Tcp(c, 40000).handshake()
    f.send(True, req("GET", "/until-close", [], proto="HTTP/1.0"))
    f.send(False, crlf("HTTP/1.0 200 OK", "Content-Type: text/plain") + b"\r\n\r\n")
    f.send(False, b"BODY_UNTIL_CLOSE part one; ")
    f.send(False, b"part two CLOSE_END")
    f.close(from_client=False)


def folding():
    one_tx("folding.pcap",
           req("GET", "/folded", ["X-Folded: first-part",
                                  " second-part", "User-Agent: FoldAgent/1.0"]),
           resp("200 OK", ["X-Resp-Fold: alpha", "\tbeta"], b"folded ok"))


def dup_headers():
    one_tx("dup_headers.pcap",
           req("GET", "/dup", ["X-Dup: one", "User-Agent: DupAgentA", "X-Dup: two",
                               "User-Agent: DupAgentB"]),
           resp("200 OK", ["X-Srv-Dup: s1", "X-Srv-Dup: s2"], b"dup ok"))


def uri_encoding():
    c = Capture("uri_encoding.pcap")
    f = Tcp(c, 40000).handshake()
    for uri in ("/a/b/%2e%2e/secret.txt", "/c/./d//e.html", "/%41BC%2fdef.html?x=%41%20y",
                "/UPPER/Path.HTML"):
        f.send(True, req("GET", uri))
        f.send(False, resp("200 OK", [], b"ok"))
    f.close()


def host_upper():
    one_tx("host_upper.pcap",
           req("GET", "/host", host="WWW.Example.COM:8080"),
           resp("200 OK", [], b"host ok"))


def nonstd_ports():
    c = Capture("nonstd_ports.pcap")
    f = Tcp(c, 40001, 8081).handshake()
    f.send(True, req("GET", "/port8081", ["User-Agent: PortAgent"]))
    f.send(False, resp("200 OK", [], b"NONSTD_PORT_BODY"))
    f.close()
    f = Tcp(c, 40002, 12345, cisn=2000000, sisn=6000000).handshake()
    f.send(True, req("GET", "/port12345", ["User-Agent: PortAgent"]))
    f.send(False, resp("200 OK", [], b"NONSTD_PORT_BODY"))
    f.close()


def not_http80():
    c = Capture("not_http80.pcap")
    f = Tcp(c, 40001).handshake()
    f.send(True, b"SSH-2.0-OpenSSH_9.2p1 GET /index.html HTTP/1.1\r\n")
    f.send(False, b"SSH-2.0-OpenSSH_8.4p1 Debian-5\r\n")
    f.close()
    f = Tcp(c, 40002, cisn=2000000, sisn=6000000).handshake()
    f.send(True, bytes([0x16, 0x03, 0x01, 0x00, 0x10, 0xde, 0xad, 0xbe, 0xef]) +
           b"BINARYPROTO GET /x HTTP/1.1" + bytes(range(8)))
    f.send(False, bytes([0x00, 0x01, 0x02, 0x03]) + b"BINARYREPLY")
    f.close()


def file_download():
    body = (b"%PDF-1.4\n% gatehouse test file\n1 0 obj << /Type /Catalog >> endobj\n"
            b"FILE_DOWNLOAD_MARKER\n%%EOF\n")
    one_tx("file_download.pcap",
           req("GET", "/files/report.pdf", ["User-Agent: Wget/1.21"]),
           resp("200 OK", ["Content-Type: application/pdf",
                           "Content-Disposition: attachment; filename=\"report.pdf\""], body))


def body_windows():
    """A 60 KB request body and a 90 KB response body in 1400-byte segments,
    ACKed every second one: detection sees them in Suricata's inspection
    windows, not whole each time."""
    def filler(n, seed):
        return bytes(97 + (i * 7 + seed) % 26 for i in range(n))

    def with_marks(size, marks, seed):
        b = bytearray(filler(size, seed))
        for off, m in marks:
            b[off:off + len(m)] = m
        return bytes(b)

    def parts(data, n=1400):
        return [data[i:i + n] for i in range(0, len(data), n)]

    reqbody = with_marks(60000, [(0, b"REQSTART"), (50000, b"REQLATE")], 3)
    respbody = with_marks(90000, [(0, b"RESPSTART"), (45000, b"RESPMID"),
                                  (80000, b"RESPLATE")], 5)
    c = Capture("body_windows.pcap")
    f = Tcp(c, 40000).handshake()
    f.send_segments(True, parts(req("POST", "/upload", ["Content-Type: application/octet-stream",
                                                       "Content-Length: %d" % len(reqbody)],
                                    reqbody)), ack_every=2)
    f.send_segments(False, parts(resp("200 OK", ["Content-Type: application/octet-stream"],
                                      respbody)), ack_every=2)
    f.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in (get_simple, get_transforms, post_cl, chunked, gzip_cap, deflate_cap, chunked_gzip, gzip_1byte,
               req_1byte, ooo, pipeline, keepalive, head, status_204_304, continue100,
               body_close, folding, dup_headers, uri_encoding, host_upper, nonstd_ports,
               not_http80, file_download, body_windows):
        fn()
    for c in CAPTURES:
        c.write()


if __name__ == "__main__":
    main()
