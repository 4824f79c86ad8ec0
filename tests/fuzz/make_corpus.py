#!/usr/bin/env python3
"""Write the fuzz targets' seed corpora (tests/fuzz/corpus/TARGET/) from the
captures and rule files of tests/data, tests/rules and rules/. Run it from
anywhere; it replaces what the corpus directories hold (the regression
inputs in tests/fuzz/crashes are kept apart and never touched).
Input formats: see the comment at the top of each fuzz_TARGET.c and
fuzz.h (application sessions)."""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, 'tests', 'data')
OUT = os.path.join(HERE, 'corpus')

# fuzz_decode.c's table: index of each link type
LINKS = {1: 0, 101: 1, 113: 2, 276: 3, 0: 4, 108: 5, 228: 6, 229: 7, 104: 8, 12: 9, 14: 10}


def read_pcap(path):
    """(linktype, [frame bytes]) of a pcap file; None for pcapng."""
    with open(path, 'rb') as f:
        b = f.read()
    magic = b[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        return None
    link = struct.unpack(e + 'I', b[20:24])[0] & 0xffff
    frames, off = [], 24
    while off + 16 <= len(b):
        caplen = struct.unpack(e + 'I', b[off + 8:off + 12])[0]
        frames.append(b[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return link, frames


def l3(link, fr):
    """The IP packet in a frame (Ethernet with VLANs, raw IP), or None."""
    if link == 1:
        et, off = struct.unpack('>H', fr[12:14])[0], 14
        while et in (0x8100, 0x88a8) and len(fr) >= off + 4:
            et, off = struct.unpack('>H', fr[off + 2:off + 4])[0], off + 4
        return fr[off:] if et in (0x0800, 0x86dd) else None
    if link in (101, 12, 14, 228, 229):
        return fr
    return None


def l4(ip):
    """(proto, src, dst, sport, dport, seq, flags, payload) or None."""
    if not ip:
        return None
    if ip[0] >> 4 == 4:
        hl, proto = (ip[0] & 15) * 4, ip[9]
        tot = struct.unpack('>H', ip[2:4])[0]
        src, dst, seg = ip[12:16], ip[16:20], ip[hl:tot]
        if struct.unpack('>H', ip[6:8])[0] & 0x3fff:
            return None  # fragments: the pipeline's corpus has them whole
    elif ip[0] >> 4 == 6:
        proto, src, dst = ip[6], ip[8:24], ip[24:40]
        seg = ip[40:40 + struct.unpack('>H', ip[4:6])[0]]
    else:
        return None
    if proto == 6 and len(seg) >= 20:
        sp, dp, seq = struct.unpack('>HHI', seg[:8])
        return 6, src, dst, sp, dp, seq, seg[13], seg[(seg[12] >> 4) * 4:]
    if proto == 17 and len(seg) >= 8:
        sp, dp = struct.unpack('>HH', seg[:4])
        return 17, src, dst, sp, dp, 0, 0, seg[8:]
    return None


def sessions(path):
    """Each flow of a capture as fuzz_app_session input: its records."""
    r = read_pcap(path)
    if not r:
        return []
    link, frames = r
    flows, order = {}, []
    for fr in frames:
        t = l4(l3(link, fr))
        if not t:
            continue
        proto, src, dst, sp, dp, seq, flags, pay = t
        key = (proto,) + tuple(sorted([(src, sp), (dst, dp)]))
        if key not in flows:
            flows[key] = {'client': (src, sp), 'udp': proto == 17, 'recs': [], 'next': {}}
            order.append(key)
        fl = flows[key]
        d = 0 if (src, sp) == fl['client'] else 1
        if proto == 6:
            if flags & 0x02:  # SYN: data starts after it
                fl['next'][d] = (seq + 1) & 0xffffffff
                # the client is who sent the first SYN without ACK
                if not flags & 0x10 and not fl['recs']:
                    fl['client'] = (src, sp)
                continue
            exp = fl['next'].get(d)
            if pay and exp is not None and seq != exp:
                continue  # retransmitted or out of order: the stream stage orders those
            if pay:
                fl['next'][d] = (seq + len(pay)) & 0xffffffff
                fl['recs'].append((d, 0, pay))
            if flags & 0x05:  # FIN or RST
                fl['recs'].append((d, 2, b''))
        elif pay:
            fl['recs'].append((d, 0, pay))
    out = []
    for key in order:
        fl = flows[key]
        if any(op == 0 for _, op, _ in fl['recs']):
            out.append((fl['udp'], fl['recs']))
    return out


def encode(udp, recs, chunk=0, again=False):
    b = bytes([(1 if udp else 0) | (2 if again else 0)])
    for d, op, pay in recs:
        b += bytes([d | op << 1 | chunk << 3]) + struct.pack('>H', len(pay)) + pay
    return b


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def copy(target, name, path, prefix=b''):
    with open(path, 'rb') as f:
        put(target, name, prefix + f.read())


def data(*p):
    return os.path.join(DATA, *p)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    # application sessions: the crafted captures of each protocol
    apps = {
        'http1': [data('http', f) for f in sorted(os.listdir(data('http')))
                  if f.endswith('.pcap') and f != 'not_http80.pcap'
                  and os.path.getsize(data('http', f)) <= 4096],
        'dns': [data('app', f) for f in ('dns_udp.pcap', 'dns_tcp.pcap', 'dns_malformed.pcap',
                                          'dns_case.pcap', 'dns_nxdomain.pcap')],
        'tls': [data('app', f) for f in ('tls_full.pcap', 'tls13.pcap', 'tls_client_cert.pcap',
                                          'tls_record_split.pcap', 'tls_sni_split.pcap')],
        'smtp': [data('app', 'smtp.pcap')],
        'ftp': [data('app', 'ftp.pcap'), data('misc', 'ftp_bounce.pcap')],
        'ssh': [data('alproto', 'ssh.pcap')],
        'smb': [data('alproto', f) for f in ('smb_445.pcap', 'smb_139.pcap',
                                              'smb_sess_req.pcap', 'not_smb_445.pcap')],
        'dcerpc': [data('alproto', 'dcerpc.pcap')],
    }
    for target, pcaps in apps.items():
        for p in pcaps:
            base = os.path.splitext(os.path.basename(p))[0]
            for i, (udp, recs) in enumerate(sessions(p)):
                put(target, '%s-%d' % (base, i), encode(udp, recs))
                if i == 0:  # the first flow again: in small pieces, then reset and whole
                    put(target, '%s-%d-split' % (base, i), encode(udp, recs, 3, True))
    # decoder: each distinct frame of the link-layer and anomaly captures
    seen = set()
    for f in ('fw_mix.pcap', 'vlan_mpls.pcap', 'ipv6_ext.pcap', 'anomalies.pcap', 'sll.pcap',
              'sll2.pcap', 'null.pcap', 'raw.pcap', 'evasion_frag6.pcap',
              'evasion_frag4_inorder.pcap'):
        link, frames = read_pcap(data(f))
        for i, fr in enumerate(frames):
            if fr[:96] in seen:
                continue
            seen.add(fr[:96])
            put('decode', '%s-%d' % (os.path.splitext(f)[0], i),
                bytes([LINKS[link] | 0x80]) + fr)
    # pcap source: the small captures of every link type, good and broken
    for f in ('anomalies.pcap', 'corrupt_header.pcap', 'fw_mix.pcap', 'ipv6_ext.pcap',
              'notapcap.pcap', 'nsec.pcap', 'null.pcap', 'raw.pcap', 'sample.pcapng', 'sll.pcap',
              'sll2.pcap', 'truncated.pcap', 'vlan_mpls.pcap'):
        copy('pcap', f, data(f))
    # pipeline: the crafted captures of the application and keyword sets (small ones)
    for sub in ('http', 'app', 'alproto', 'b64', 'bytes', 'state', 'misc', 'tag', 'thresh',
                'diff'):
        for f in sorted(os.listdir(data(sub))):
            p = data(sub, f)
            if f.endswith('.pcap') and os.path.getsize(p) <= 4096:
                copy('pipeline', '%s-%s' % (sub, f), p)
    # rule language: kind byte (fuzz_rules.c) + file
    def rules(kind, name, path):
        copy('rules', name, path, bytes([kind]))
    rules(0, 'fw-sample', data('sample-firewall.rules'))
    rules(2, 'sig-compile-sample', data('sample-signatures.rules'))
    rules(2, 'sig-compile-pipeline', os.path.join(HERE, 'pipeline.rules'))
    for sub in sorted(os.listdir(DATA)):
        p = data(sub, sub + '.rules')
        if os.path.isfile(p):
            rules(1, 'sig-' + sub, p)
    rules_dir = os.path.join(ROOT, 'tests', 'rules')
    for f in sorted(os.listdir(rules_dir)):
        if f.endswith('.rules'):
            rules(0 if 'fw' in f else 1, 'golden-' + f[:-6], os.path.join(rules_dir, f))
    rules(3, 'vars-default', os.path.join(ROOT, 'rules', 'vars.conf'))
    rules(4, 'classification-default', os.path.join(ROOT, 'rules', 'classification.config'))
    rules(5, 'threshold-thresh', data('thresh', 'threshold.config'))
    total = sum(os.path.getsize(os.path.join(dp, f))
                for dp, _, fs in os.walk(OUT) for f in fs)
    print('corpus: %d bytes' % total, file=sys.stderr)


if __name__ == '__main__':
    main()
