#!/usr/bin/python3
"""Suricata 7's alerts on a set of crafted captures, against the rules' intent.

    /usr/bin/python3 tests/data/oracle.py SETDIR [--write] [--corpus DIR] [--out DIR]

SETDIR is a crafted set's directory (tests/data/http, tests/data/app): its
captures SETDIR/*.pcap, its rules SETDIR/<name of SETDIR>.rules, its expected
counts SETDIR/expected-suricata.tsv. Runs Suricata over every pcap of the set
(tests/diff_suricata.py's suricata.yaml; `--runmode single -k none -r PCAP`,
one process per pcap: its unix-socket runs are not reliable under load) with
the set's rules (every rule, no gatehouse filtering) and counts the alerts per
(pcap, sid).

The intent is in each rule's msg: a trailing "(capture[ xN], capture...)"
names the captures (file stem) the signature must fire on, N times (default
1), and nowhere else; a msg starting "NOT:" must fire nowhere. Every
difference between Suricata and the intent is printed; exit 1 if any.
--write rewrites expected-suricata.tsv (pcap, sid, count; the non-zero counts)
from Suricata's run. Exit 77 without suricata or the corpus's
classification.config.
"""

import argparse
import glob
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests"))
import diff_suricata as ds  # noqa: E402


def intent(rules_path, stems):
    """{sid: {stem: count}} from the msg of every rule."""
    out = {}
    for _, (text, sid, _) in ds.read_rule_lines(rules_path).items():
        parsed = ds.parse_rule_text(text)
        msg = next((v for n, v in parsed[2] if n == "msg" and v), "").strip('"')
        want = {}
        m = re.search(r"\(([^()]*)\)\s*$", msg)
        if not msg.startswith("NOT:") and m:
            for item in m.group(1).split(","):
                words = item.split()
                if not words or words[0] not in stems:
                    continue
                n = 1
                for w in words[1:]:
                    if re.fullmatch(r"x\d+", w):
                        n = int(w[1:])
                want[words[0]] = n
            if not want:
                raise ValueError("sid %d: no capture named in msg %r" % (sid, msg))
        elif not msg.startswith("NOT:"):
            raise ValueError("sid %d: msg %r names no capture and is not NOT:" % (sid, msg))
        out[sid] = want
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("setdir", help="the crafted set's directory (e.g. tests/data/http)")
    ap.add_argument("--corpus", help="corpus directory (for ET's classification.config)")
    ap.add_argument("--suricata", default=shutil.which("suricata") or "/usr/bin/suricata")
    ap.add_argument("--rules", help="rule file (default SETDIR/<name of SETDIR>.rules)")
    ap.add_argument("--out", help="work directory (default: a temporary one)")
    ap.add_argument("--write", action="store_true", help="rewrite expected-suricata.tsv")
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()
    setdir = os.path.abspath(args.setdir)
    name = os.path.basename(setdir.rstrip(os.sep))
    if not args.rules:
        args.rules = os.path.join(setdir, name + ".rules")
    if not os.path.isfile(args.rules):
        print("no rule file %s" % args.rules)
        return 2
    if not os.access(args.suricata, os.X_OK):
        print("SKIP: no suricata")
        return 77
    corpus = os.path.abspath(args.corpus) if args.corpus else ds.default_corpus()
    args.classification = os.path.join(corpus, "rules", "et-open-classification.config")
    if not os.path.exists(args.classification):
        print("SKIP: no %s" % args.classification)
        return 77
    args.vars_conf = os.path.join(REPO, "rules", "vars.conf")
    args.vars_any = False
    args.suricata_set = None

    pcaps = sorted(glob.glob(os.path.join(setdir, "*.pcap")))
    stems = {os.path.basename(p)[:-5]: p for p in pcaps}
    want = intent(args.rules, stems)

    tmp = None
    if args.out:
        out = os.path.abspath(args.out)
        os.makedirs(out, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="%s_oracle." % name)
        out = tmp.name
    yaml_path = os.path.join(out, "suricata.yaml")
    ds.suricata_yaml(args, "ids", yaml_path)
    got = {}
    refused = {}
    for stem, p in sorted(stems.items()):
        d = os.path.join(out, "suricata", stem)
        eve, _ = ds.run_suricata(args, "ids", yaml_path, args.rules, p, d)
        got[stem] = ds.count_alerts(eve)
        refused.update(ds.suricata_refused(os.path.join(d, "suricata.log")))

    bad = 0
    for sid in sorted(want):
        if sid in refused:
            print("REFUSED sid %d: %s" % (sid, refused[sid]))
            bad += 1
            continue
        for stem in sorted(stems):
            g = got[stem].get(sid, 0)
            w = want[sid].get(stem, 0)
            if g != w:
                print("DIFF sid %d %s: suricata %d, intent %d" % (sid, stem, g, w))
                bad += 1
    extra = {sid for c in got.values() for sid in c} - set(want)
    for sid in sorted(extra):
        print("UNKNOWN sid %d alerted" % sid)
        bad += 1
    if args.write:
        rel = os.path.relpath(setdir, REPO)
        with open(os.path.join(setdir, "expected-suricata.tsv"), "w") as f:
            f.write("# Suricata 7.0 alerts on %s/*.pcap with %s (oracle.py %s "
                    "--write):\n# the non-zero counts; every other (pcap, sid) is 0.\n"
                    % (rel, os.path.basename(args.rules), rel))
            f.write("# pcap\tsid\tcount\n")
            for stem in sorted(stems):
                for sid in sorted(got[stem]):
                    f.write("%s.pcap\t%d\t%d\n" % (stem, sid, got[stem][sid]))
    print("%d signatures, %d pcaps: %s" % (len(want), len(pcaps),
                                            "%d differences from the intent" % bad if bad
                                            else "Suricata agrees with the intent"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
