#!/usr/bin/python3
"""Differential test: gatehouse against Suricata, same pcaps, same rules.

For every pcap, both engines run with the same rule file and the same
variables; the alerts each engine raises are counted per signature id and the
counts compared.

  - Rules: the signatures gatehouse loads (`gatehouse check --explain-types`,
    one line per loaded signature), their original text written to
    OUT/<set>/rules.rules in sid order, which both engines read. Signatures
    Suricata refuses (its --engine-analysis run, which also gives each
    signature's Suricata type) are dropped from that file too, and listed.
    The corpus pcaps get ET Open (CORPUS/rules/et-open-*.rules, not the SUBSET
    files); the crafted captures of tests/data/diff get tests/data/diff/diff.rules,
    the crafted HTTP captures of tests/data/http get tests/data/http/http.rules,
    the crafted DNS/TLS/SMTP/FTP captures of tests/data/app get
    tests/data/app/app.rules, the crafted byte_* captures of tests/data/bytes
    get tests/data/bytes/bytes.rules (of a crafted set, only the signatures
    gatehouse loads take part: until it has a protocol's keywords the set
    compares few or none). --sets chooses among these five sets (default all);
    --rules FILE|DIR gives one set for every pcap instead.
  - Suricata: `suricata --runmode single -k none -c OUT/suricata-MODE.yaml
    -S RULES` with a generated minimal suricata.yaml: the variables of
    gatehouse's rules/vars.conf, ET's classification.config, EVE alert and
    drop events, deterministic stream chunks (randomize-chunk-size off),
    exception-policy ignore, stream.inline no (ids) or yes with
    --simulate-ips (ips), midstream off, app-layer defaults. A rule set of
    fewer than SOCKET_MIN_RULES signatures (the crafted sets) runs one
    `suricata ... -r PCAP -l DIR` per pcap; a larger one (ET Open) runs one
    Suricata per rule set in unix-socket mode that reads every pcap as a
    separate run (the rules load once; flows, streams and defragmentation are
    reset between files; each pcap's eve.json in its own directory).
    --suricata-runs socket|per-pcap forces one way. Unix-socket runs are not
    reliable under CPU load: flows of the current file were seen cut
    mid-capture (their alerts then come from the flow-end pseudo packet and
    later transactions are lost, or a flow's alerts are missing), so a pcap
    whose socket-run counts differ from gatehouse's runs again as its own
    Suricata process, whose counts stand. Directory mode (-r DIR) is not used: its
    pcap_filename names the file being read when an event is written, so
    flow-end alerts land on the wrong pcap, and flows run on across files.
  - gatehouse: `gatehouse pcap -r PCAP -S RULES -k none --classification ...
    --vars rules/vars.conf --stream-inspect acked (ids) | arrival (ips)`.
  - Compare: alerts (event_type "alert") per (pcap, sid); a table of the
    differences and totals; then the differences are checked against --expect
    (TSV: pcap, sid, gatehouse, suricata, reason).

Exit: 0 every difference is listed in --expect with the same counts and every
listed difference (of the pcaps run) is still there; 1 otherwise; 77 when
Suricata or the corpus is absent; 2 on usage errors.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(REPO, "tests", "data")
CRAFTED_DIR = os.path.join(DATA_DIR, "diff")


def crafted_sets():
    """Rule set name -> (pcap directory, rule file): "crafted" is
    tests/data/diff with diff.rules; every other tests/data/NAME holding
    NAME.rules is the set NAME (http, app, ...). The corpus set "et" is apart."""
    sets = {"crafted": (CRAFTED_DIR, os.path.join(CRAFTED_DIR, "diff.rules"))}
    for d in sorted(glob.glob(os.path.join(DATA_DIR, "*", ""))):
        d = d.rstrip(os.sep)
        name = os.path.basename(d)
        if d != CRAFTED_DIR and os.path.isfile(os.path.join(d, name + ".rules")):
            sets[name] = (d, os.path.join(d, name + ".rules"))
    return sets


CRAFTED_SETS = crafted_sets()
SKIP = 77
# Rule sets this large load once in unix-socket mode (see the docstring).
SOCKET_MIN_RULES = 1000

def log(msg):
    sys.stderr.write("diff_suricata: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------- rule files

def split_options(body):
    """Split a rule's option text at unquoted, unescaped ';' into (name, value)."""
    opts, cur, quoted, esc = [], [], False, False
    for ch in body:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            cur.append(ch)
            esc = True
        elif ch == '"':
            cur.append(ch)
            quoted = not quoted
        elif ch == ";" and not quoted:
            opts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        opts.append("".join(cur).strip())
    out = []
    for o in opts:
        name, sep, value = o.partition(":")
        out.append((name.strip().lower(), value.strip() if sep else None))
    return out


def parse_rule_text(text):
    """(action, proto, options) of one rule's text, or None."""
    m = re.match(r"\s*(\S+)\s+(\S+)\s+[^(]*\((.*)\)\s*$", text, re.S)
    if not m:
        return None
    return m.group(1).lower(), m.group(2).lower(), split_options(m.group(3))


def read_rule_lines(path):
    """Enabled rules of a file: {first line: (text, sid, last line)}; continuation
    lines joined."""
    rules = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        start = i
        text = lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + lines[i]
        i += 1
        s = text.strip()
        if not s or s.startswith("#"):
            continue
        m = re.search(r"(?:^|[;(\s])sid\s*:\s*(\d+)", s)
        rules[start + 1] = (s, int(m.group(1)) if m else None, i)
    return rules


class RuleSet:
    """The signatures of one rule source that gatehouse loads."""

    def __init__(self, name, sources):
        self.name = name
        self.sources = sources      # rule files
        self.rules = {}             # sid -> dict(text, file, line, type, msg)
        self.dup = 0
        self.suricata_failed = {}   # sid -> Suricata's error
        self.path = None            # the written rules file


def gh_check_args(args):
    a = ["--vars", args.vars_conf, "--classification", args.classification]
    if args.vars_any:
        a += ["--var", "HOME_NET=any", "--var", "EXTERNAL_NET=any"]
    return a


def loaded_explain(args, path, workdir):
    """[(file, line, sid, type)]: the signatures of @path gatehouse loads, from
    `gatehouse check --explain-types` (FILE:LINE<TAB>SID<TAB>TYPE<TAB>REASON).

    check lists nothing when a rule of the file has an error (it compiles the
    signatures only when all parse), while `gatehouse pcap` loads the others:
    those rules are then commented out in a copy (same line numbers) and the
    copy explained."""
    def explain(f):
        p = subprocess.run([args.gatehouse, "check", "-q", "-S", f, "--explain-types"] +
                           gh_check_args(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        if p.returncode == 2:
            raise RuntimeError("gatehouse check --explain-types: usage error (a gatehouse "
                               "without --explain-types?): %s" % p.stderr.strip()[:300])
        if p.returncode not in (0, 1):
            raise RuntimeError("gatehouse check %s: exit %d: %s" % (f, p.returncode, p.stderr))
        out = []
        for ln in p.stdout.splitlines():
            parts = ln.split("\t")
            if len(parts) < 3:
                continue
            fl, _, lno = parts[0].rpartition(":")
            try:
                out.append((fl, int(lno), int(parts[1]), parts[2]))
            except ValueError:
                continue
        return p, out

    p, out = explain(path)
    if p.returncode == 0 or out:
        return out
    bad = {int(m.group(1)) for m in re.finditer(r"^%s:(\d+):\d+: " % re.escape(path),
                                               p.stderr, re.M)}
    if not bad:
        raise RuntimeError("gatehouse check %s: exit 1: %s" % (path, p.stderr.strip()[:500]))
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    skipped = 0
    for first, (_, _, last) in read_rule_lines(path).items():
        if any(first <= b <= last for b in bad):
            skipped += 1
            for k in range(first - 1, last):
                lines[k] = "# " + lines[k]
    os.makedirs(workdir, exist_ok=True)
    copy = os.path.join(workdir, os.path.basename(path))
    with open(copy, "w") as f:
        f.write("\n".join(lines))
    log("%s: %d rules with errors in gatehouse check (left out: %s)"
        % (path, skipped, p.stderr.strip().split("\n")[0]))
    p, out = explain(copy)
    if p.returncode != 0:
        raise RuntimeError("gatehouse check %s: exit %d: %s" % (copy, p.returncode, p.stderr))
    return [(path if fl == copy else fl, line, sid, typ) for fl, line, sid, typ in out]


def build_ruleset(args, name, sources, outdir):
    rs = RuleSet(name, sources)
    cache = {}
    for src in sources:
        for fl, line, sid, typ in loaded_explain(args, src, os.path.join(outdir, "checked")):
            if fl not in cache:
                cache[fl] = read_rule_lines(fl)
            text = cache[fl].get(line, (None,))[0]
            if text is None:
                log("warning: %s:%d: no rule at that line" % (fl, line))
                continue
            if sid in rs.rules:
                rs.dup += 1
                continue
            parsed = parse_rule_text(text)
            msg = ""
            if parsed:
                msg = next((v for n, v in parsed[2] if n == "msg" and v), "").strip('"')
            rs.rules[sid] = {"text": text, "file": fl, "line": line, "type": typ, "msg": msg,
                             "proto": parsed[1] if parsed else "?"}
    os.makedirs(outdir, exist_ok=True)
    rs.path = os.path.join(outdir, "rules.rules")
    write_rules(rs)
    return rs


def write_rules(rs):
    with open(rs.path, "w") as f:
        for sid in sorted(rs.rules):
            f.write(rs.rules[sid]["text"] + "\n")


# ---------------------------------------------------------------- Suricata

def read_vars(path):
    """(address groups, port groups) from gatehouse's vars.conf, in file order."""
    addr, port, section = [], [], None
    with open(path) as f:
        for ln in f:
            s = ln.strip()
            if s.startswith("#"):
                low = s.lower()
                if "address group" in low:
                    section = "addr"
                elif "port group" in low:
                    section = "port"
                continue
            if "=" not in s:
                continue
            k, _, v = s.partition("=")
            k, v = k.strip(), v.strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                v = v[1:-1]
            kind = section
            if kind is None:
                kind = "port" if k.endswith("_PORTS") else "addr"
            (addr if kind == "addr" else port).append((k, v))
    return addr, port


def yaml_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def suricata_yaml(args, mode, path):
    addr, port = read_vars(args.vars_conf)
    if args.vars_any:
        addr = [(k, "any" if k in ("HOME_NET", "EXTERNAL_NET") else v) for k, v in addr]
    y = ["%YAML 1.1", "---", "# generated by tests/diff_suricata.py (mode %s)" % mode, "vars:",
         "  address-groups:"]
    y += ["    %s: %s" % (k, yaml_str(v)) for k, v in addr]
    y += ["  port-groups:"]
    y += ["    %s: %s" % (k, yaml_str(v)) for k, v in port]
    # an empty threshold file (the host's could suppress alerts); the host's
    # reference.config, else an empty one (a missing file is fatal, unknown
    # reference keys are only warnings)
    threshold = os.path.join(os.path.dirname(path), "threshold.config")
    open(threshold, "w").close()
    ref = "/etc/suricata/reference.config"
    if not os.path.exists(ref):
        ref = os.path.join(os.path.dirname(path), "reference.config")
        open(ref, "w").close()
    y += [
        "classification-file: %s" % yaml_str(args.classification),
        "reference-config-file: %s" % yaml_str(ref),
        "threshold-file: %s" % yaml_str(threshold),
        "stats:",
        "  enabled: no",
    ]
    y += [
        "default-rule-path: %s" % yaml_str(os.path.dirname(path)),
        "rule-files: []",
        "outputs:",
        "  - eve-log:",
        "      enabled: yes",
        "      filetype: regular",
        "      filename: eve.json",
        "      append: no",
        "      pcap-file: true",
        "      types:",
        "        - alert:",
        "            payload: yes",
        "            payload-printable: yes",
        "            packet: no",
        "            metadata: no",
        "        - drop:",
        "            alerts: yes",
        "logging:",
        "  default-log-level: notice",
        "  outputs:",
        "    - console:",
        "        enabled: no",
        "    - file:",
        "        enabled: yes",
        "        level: info",
        "        filename: suricata.log",
        "pcap-file:",
        "  checksum-checks: no",
        "stream:",
        "  checksum-validation: no",
        "  midstream: false",
        "  inline: %s" % ("yes" if mode == "ips" else "no"),
        "  reassembly:",
        # Suricata randomizes the raw stream chunk sizes unless told not to:
        # the alert counts of stream signatures would change from run to run.
        "    randomize-chunk-size: no",
        # gatehouse has no exception policies; "auto" would drop midstream flows
        # and flows with app-layer errors in IPS mode
        "exception-policy: ignore",
        # HTTP bodies: the limits and inspection sizes of Suricata's shipped
        # suricata.yaml, which gatehouse uses (without this section Suricata
        # keeps 4 KiB of a body), not randomized from run to run
        "app-layer:",
        "  protocols:",
        "    http:",
        "      libhtp:",
        "        default-config:",
        "          request-body-limit: 100kb",
        "          response-body-limit: 100kb",
        "          request-body-minimal-inspect-size: 32kb",
        "          request-body-inspect-window: 4kb",
        "          response-body-minimal-inspect-size: 40kb",
        "          response-body-inspect-window: 16kb",
        "          randomize-inspection-sizes: no",
        "unix-command:",
        "  enabled: no",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(y))


def set_threshold_file(pcap):
    """A crafted set's threshold.config (next to its pcaps), else None: both
    engines read it for that set's captures."""
    t = os.path.join(os.path.dirname(pcap), "threshold.config") if pcap else ""
    return t if os.path.isfile(t) else None


def suricata_cmd(args, mode, yaml_path, rules, pcap, outdir):
    cmd = [args.suricata, "--runmode", "single", "-k", "none", "-c", yaml_path, "-S", rules]
    if pcap:
        cmd += ["-r", pcap]
    if set_threshold_file(pcap):
        cmd += ["--set", "threshold-file=%s" % set_threshold_file(pcap)]
    cmd += ["-l", outdir]
    if mode == "ips":
        cmd.insert(1, "--simulate-ips")
    for s in args.suricata_set or []:
        cmd += ["--set", s]
    return cmd


SURI_SIG_ERR = re.compile(r'error parsing signature "(.*)" from file (.*) at line (\d+)')


def suricata_refused(logf):
    """{sid: error} of the signatures a suricata.log says it failed to load."""
    failed = {}
    if os.path.exists(logf):
        with open(logf, errors="replace") as f:
            prev = ""
            for ln in f:
                m = SURI_SIG_ERR.search(ln)
                if m:
                    sm = re.search(r"sid\s*:\s*(\d+)", m.group(1))
                    if sm:
                        failed[int(sm.group(1))] = re.sub(r"^.*?(Error: )", r"\1", prev.strip())
                prev = ln
    return failed


def suricata_analyse(args, mode, yaml_path, rs, outdir):
    """suricata --engine-analysis over the rule set: every signature gets
    Suricata's type (ip_only, like_ip_only, pkt, stream, pkt_stream, ...).
    Suricata 7.0 stops (crashes) analysing at the first signature it refuses:
    then `suricata -T` lists every refused one, they are dropped from the rule
    file (both engines read it) and the analysis runs again."""
    ea_yaml = os.path.join(outdir + ".yaml")
    with open(yaml_path) as f:
        text = f.read()
    with open(ea_yaml, "w") as f:
        f.write(text + "engine-analysis:\n  rules-fast-pattern: no\n  rules: yes\n")
    sim = ["--simulate-ips"] if mode == "ips" else []
    for attempt in range(2):
        shutil.rmtree(outdir, ignore_errors=True)
        os.makedirs(outdir)
        cmd = [args.suricata] + sim + ["--engine-analysis", "-c", ea_yaml, "-S", rs.path,
                                       "-l", outdir]
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=args.timeout)
        failed = suricata_refused(os.path.join(outdir, "suricata.log"))
        if failed and attempt == 0:
            tdir = outdir + "-T"
            shutil.rmtree(tdir, ignore_errors=True)
            os.makedirs(tdir)
            subprocess.run([args.suricata] + sim + ["-T", "-c", yaml_path, "-S", rs.path,
                                                    "-l", tdir],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=args.timeout)
            failed.update(suricata_refused(os.path.join(tdir, "suricata.log")))
            for sid, err in failed.items():
                if sid in rs.rules:
                    rs.suricata_failed[sid] = rs.rules.pop(sid)
                    rs.suricata_failed[sid]["error"] = err
            write_rules(rs)
            continue
        if failed or p.returncode != 0:
            raise RuntimeError("suricata --engine-analysis (%s): exit %d: %s"
                               % (" ".join(cmd), p.returncode, p.stderr[-3000:]))
        analysis = os.path.join(outdir, "rules.json")
        if os.path.exists(analysis):
            with open(analysis) as f:
                for ln in f:
                    try:
                        e = json.loads(ln)
                    except ValueError:
                        continue
                    if e.get("id") in rs.rules:
                        rs.rules[e["id"]]["suricata_type"] = e.get("type", "?")
        return


def run_suricata(args, mode, yaml_path, rules, pcap, outdir):
    shutil.rmtree(outdir, ignore_errors=True)  # Suricata appends to an existing eve.json
    os.makedirs(outdir)
    t = time.time()
    p = subprocess.run(suricata_cmd(args, mode, yaml_path, rules, pcap, outdir),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=args.timeout)
    if p.returncode != 0:
        raise RuntimeError("suricata on %s: exit %d: %s" % (pcap, p.returncode, p.stderr[-2000:]))
    return os.path.join(outdir, "eve.json"), time.time() - t


class SuricataSocket:
    """One Suricata in unix-socket mode: the rules load once, then each pcap
    runs as its own capture (flows, streams and defragmentation reset between
    files) into its own output directory, as `suricata -r PCAP -l DIR` does."""

    def __init__(self, args, mode, yaml_path, rules, logdir):
        self.sockdir = tempfile.mkdtemp(prefix="dsur.")  # short: sun_path holds 108 bytes
        self.sock_path = os.path.join(self.sockdir, "sock")
        shutil.rmtree(logdir, ignore_errors=True)
        os.makedirs(logdir)
        cmd = suricata_cmd(args, mode, yaml_path, rules, None, logdir)
        cmd.insert(1, "--unix-socket=%s" % self.sock_path)
        self.errf = open(os.path.join(logdir, "stderr"), "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=subprocess.STDOUT)
        self.logdir = logdir
        self.conn = None
        deadline = time.time() + args.timeout
        while self.conn is None:
            if self.proc.poll() is not None:
                raise RuntimeError("suricata --unix-socket exited with %d (see %s)"
                                   % (self.proc.returncode, logdir))
            if time.time() > deadline:
                self.close()
                raise RuntimeError("suricata --unix-socket: no socket after %d s" % args.timeout)
            if os.path.exists(self.sock_path):
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    c.connect(self.sock_path)
                    self.conn = c
                except OSError:
                    c.close()
            if self.conn is None:
                time.sleep(0.1)
        if self.command({"version": "0.2"}).get("return") != "OK":
            raise RuntimeError("suricata unix socket: version refused")

    def command(self, obj):
        self.conn.sendall(json.dumps(obj).encode() + b"\n")
        buf = b""
        while True:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise RuntimeError("suricata unix socket closed (see %s)" % self.logdir)
            buf += chunk
            try:
                return json.loads(buf.decode())
            except ValueError:
                continue

    def run(self, pcaps, timeout):
        """pcaps: [(pcap, outdir)]; returns when Suricata has processed all."""
        for pcap, outdir in pcaps:
            shutil.rmtree(outdir, ignore_errors=True)
            os.makedirs(outdir)
            r = self.command({"command": "pcap-file",
                              "arguments": {"filename": pcap, "output-dir": outdir}})
            if r.get("return") != "OK":
                raise RuntimeError("suricata unix socket: %s: %s" % (pcap, r.get("message")))
        deadline = time.time() + timeout
        while True:
            left = self.command({"command": "pcap-file-number"}).get("message")
            cur = self.command({"command": "pcap-current"}).get("message")
            if left == 0 and cur == "None":
                break
            if time.time() > deadline:
                raise RuntimeError("suricata unix socket: pcaps not done after %d s" % timeout)
            time.sleep(0.05)

    def close(self):
        if self.conn is not None:
            try:
                self.command({"command": "shutdown"})
            except (OSError, RuntimeError):
                pass
            self.conn.close()
            self.conn = None
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.errf.close()
        shutil.rmtree(self.sockdir, ignore_errors=True)


def run_suricata_socket(args, mode, yaml_path, rules, items, logdir):
    """items: [(name, pcap, outdir)] -> {name: (eve, seconds)} through one Suricata."""
    t = time.time()
    s = SuricataSocket(args, mode, yaml_path, rules, logdir)
    try:
        s.run([(p, d) for _, p, d in items], args.timeout * max(1, len(items)))
    finally:
        s.close()
    secs = time.time() - t
    out = {}
    for n, _, d in items:
        eve = os.path.join(d, "eve.json")
        if not os.path.exists(eve):
            raise RuntimeError("suricata wrote no %s (see %s)" % (eve, logdir))
        out[n] = (eve, secs)
    return out


def run_gatehouse(args, mode, rules, pcap, eve):
    cmd = [args.gatehouse, "pcap", "-q", "-r", pcap, "-S", rules, "-k", "none",
           "--classification", args.classification, "--vars", args.vars_conf,
           "--stream-inspect", "acked" if mode == "ids" else "arrival",
           "--no-flow-events", "--no-anomaly-events", "--eve-payload-printable", "--eve", eve]
    if args.vars_any:
        cmd += ["--var", "HOME_NET=any", "--var", "EXTERNAL_NET=any"]
    if set_threshold_file(pcap):
        cmd += ["--threshold-file", set_threshold_file(pcap)]
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=args.timeout)
    if p.returncode != 0:
        raise RuntimeError("gatehouse on %s: exit %d: %s" % (pcap, p.returncode, p.stderr[-2000:]))
    return eve, time.time() - t


def count_alerts(eve):
    counts = {}
    with open(eve, errors="replace") as f:
        for ln in f:
            if '"alert"' not in ln:
                continue
            try:
                e = json.loads(ln)
            except ValueError:
                continue
            if e.get("event_type") != "alert":
                continue
            sid = e.get("alert", {}).get("signature_id")
            counts[sid] = counts.get(sid, 0) + 1
    return counts


# ---------------------------------------------------------------- expectations

def read_expect(path):
    exp = {}
    if not path or not os.path.exists(path):
        return exp
    with open(path) as f:
        for n, ln in enumerate(f, 1):
            ln = ln.rstrip("\n")
            if not ln.strip() or ln.startswith("#"):
                continue
            parts = ln.split("\t")
            if len(parts) < 4:
                raise ValueError("%s:%d: expected pcap, sid, gatehouse, suricata, reason" % (path, n))
            exp[(parts[0], int(parts[1]))] = (int(parts[2]), int(parts[3]),
                                              parts[4] if len(parts) > 4 else "")
    return exp


def write_expect(path, diffs, old, mode, run_names):
    """The differences found, with the reasons @old gives them; rows of pcaps
    not run this time are kept as they were."""
    diffs = dict(diffs)
    for (pcap, sid), (g, s, _) in old.items():
        if pcap not in run_names:
            diffs[(pcap, sid)] = (g, s)
    with open(path, "w") as f:
        f.write("# Known differences of tests/diff_suricata.py --mode %s (gatehouse vs Suricata\n"
                "# alert counts per pcap and sid); regenerate with --write-expect.\n" % mode)
        f.write("# pcap\tsid\tgatehouse\tsuricata\treason\n")
        for (pcap, sid), (g, s) in sorted(diffs.items()):
            reason = old.get((pcap, sid), (0, 0, ""))[2] or "unexplained"
            f.write("%s\t%d\t%d\t%d\t%s\n" % (pcap, sid, g, s, reason))
    return len(diffs)


# ---------------------------------------------------------------- main

def default_corpus():
    for c in (os.path.join(os.path.dirname(REPO), "shared", "corpus"),
              os.path.join(REPO, "..", "shared", "corpus"), "/work/shared/corpus"):
        if os.path.isdir(c):
            return os.path.abspath(c)
    return os.path.join(os.path.dirname(REPO), "shared", "corpus")


def et_files(corpus):
    return sorted(f for f in glob.glob(os.path.join(corpus, "rules", "et-open-*.rules"))
                  if "SUBSET" not in os.path.basename(f))


def expand_rules(spec):
    if os.path.isdir(spec):
        return sorted(glob.glob(os.path.join(spec, "*.rules")))
    return [spec]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gatehouse", required=True, help="the gatehouse binary")
    ap.add_argument("--corpus", help="corpus directory (default ../shared/corpus, "
                    "else /work/shared/corpus)")
    ap.add_argument("--rules", action="append",
                    help="rule file or directory for every pcap (repeatable; default ET Open "
                    "for the corpus pcaps, tests/data/diff/diff.rules for the crafted ones, "
                    "tests/data/http/http.rules for the crafted HTTP ones, "
                    "tests/data/app/app.rules for the crafted DNS/TLS/SMTP/FTP ones, "
                    "tests/data/bytes/bytes.rules for the crafted byte_* ones)")
    ap.add_argument("--pcaps", nargs="+", help="pcap files or directories (default the pcaps "
                    "of --sets: CORPUS/pcaps/*.pcap, tests/data/diff/*.pcap and each crafted "
                    "set's tests/data/NAME/*.pcap)")
    ap.add_argument("--sets", default="all",
                    help="comma-separated rule sets whose pcaps run when --pcaps is not given: "
                    "et (the corpus pcaps with ET Open), crafted (tests/data/diff), or a "
                    "crafted set's name (%s); local: every crafted set; all (default): et "
                    "and every crafted set" % ", ".join(sorted(set(CRAFTED_SETS) - {"crafted"})))
    ap.add_argument("--mode", choices=("ids", "ips"), default="ids")
    ap.add_argument("--out", help="work directory (default: a temporary one, removed at exit)")
    ap.add_argument("--expect", help="known differences (default tests/diff_suricata_expected.tsv"
                    " for ids, tests/diff_suricata_expected-ips.tsv for ips)")
    ap.add_argument("--write-expect", action="store_true",
                    help="write the differences found to --expect (reasons kept) and exit 0")
    ap.add_argument("--vars-any", action="store_true", help="HOME_NET and EXTERNAL_NET = any")
    ap.add_argument("--suricata", default=shutil.which("suricata") or "/usr/bin/suricata")
    ap.add_argument("--suricata-set", action="append", metavar="KEY=VALUE",
                    help="extra --set option for Suricata (debugging; repeatable)")
    ap.add_argument("--vars-conf", help="variables (default the repo's rules/vars.conf)")
    ap.add_argument("--suricata-runs", choices=("auto", "socket", "per-pcap"), default="auto",
                    help="auto (default): per-pcap for rule sets under %d signatures, socket "
                    "otherwise; socket: one Suricata per rule set in unix-socket mode, each "
                    "pcap a separate run; per-pcap: one `suricata -r PCAP` per pcap"
                    % SOCKET_MIN_RULES)
    ap.add_argument("-j", "--jobs", type=int, default=min(os.cpu_count() or 2, 4))
    ap.add_argument("--timeout", type=int, default=300, help="seconds per engine run")
    ap.add_argument("--show", type=int, default=400, help="at most this many table rows")
    args = ap.parse_args()
    # the CLI's Hyperscan database cache: this run's own directory, never the user's
    cache = None
    if not os.environ.get("GATEHOUSE_CACHE_DIR"):
        cache = tempfile.TemporaryDirectory(prefix="gh-hs-cache.")
        os.environ["GATEHOUSE_CACHE_DIR"] = cache.name

    if not os.access(args.gatehouse, os.X_OK):
        log("gatehouse binary %s is not executable" % args.gatehouse)
        return 2
    if not (args.suricata and os.access(args.suricata, os.X_OK)):
        log("SKIP: suricata is not installed (bash .ci/deps installs it on Debian 12)")
        return SKIP
    args.corpus = os.path.abspath(args.corpus) if args.corpus else default_corpus()
    if not os.path.isdir(os.path.join(args.corpus, "pcaps")) or not et_files(args.corpus):
        log("SKIP: corpus not found at %s (pcaps/ and rules/et-open-*.rules)" % args.corpus)
        return SKIP
    args.classification = os.path.join(args.corpus, "rules", "et-open-classification.config")
    args.vars_conf = os.path.abspath(args.vars_conf or os.path.join(REPO, "rules", "vars.conf"))
    if not args.expect:
        args.expect = os.path.join(REPO, "tests", "diff_suricata_expected%s.tsv"
                                   % ("" if args.mode == "ids" else "-ips"))

    # pcaps, each with its rule set
    chosen = []
    for s in (s.strip() for s in args.sets.split(",")):
        if s in ("all", "local"):
            chosen += (["et"] if s == "all" else []) + sorted(CRAFTED_SETS)
        elif s:
            chosen.append(s)
    unknown = [s for s in chosen if s != "et" and s not in CRAFTED_SETS]
    if unknown or not chosen:
        log("--sets: unknown set %s (et, local, all, %s)" % (", ".join(unknown or ["(none)"]),
                                                            ", ".join(sorted(CRAFTED_SETS))))
        return 2
    if args.pcaps:
        pcaps = []
        for p in args.pcaps:
            pcaps += sorted(glob.glob(os.path.join(p, "*.pcap"))) if os.path.isdir(p) else [p]
    else:
        pcaps = []
        if "et" in chosen:
            pcaps += sorted(glob.glob(os.path.join(args.corpus, "pcaps", "*.pcap")))
        for name, (d, _) in sorted(CRAFTED_SETS.items()):
            if name in chosen:
                pcaps += sorted(glob.glob(os.path.join(d, "*.pcap")))
    pcaps = [os.path.abspath(p) for p in pcaps]
    names = [os.path.basename(p) for p in pcaps]
    if len(set(names)) != len(names):
        log("two pcaps have the same file name; results are keyed by name")
        return 2

    tmp = None
    if args.out:
        out = os.path.abspath(args.out)
        os.makedirs(out, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="diff_suricata.")
        out = tmp.name
    t0 = time.time()

    def set_of(p):
        if args.rules:
            return "rules"
        d = os.path.dirname(p)
        return next((name for name, (sd, _) in CRAFTED_SETS.items() if sd == d), "et")

    sources = {"rules": [f for r in args.rules or [] for f in expand_rules(os.path.abspath(r))],
               "et": et_files(args.corpus)}
    sources.update({name: [rf] for name, (_, rf) in CRAFTED_SETS.items()})
    yaml_path = os.path.join(out, "suricata-%s.yaml" % args.mode)
    suricata_yaml(args, args.mode, yaml_path)
    sets = {}
    for name in sorted({set_of(p) for p in pcaps}):
        try:
            rs = build_ruleset(args, name, sources[name], os.path.join(out, name))
            suricata_analyse(args, args.mode, yaml_path, rs,
                             os.path.join(out, name, "suricata-analysis"))
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            log(str(e))
            return 1
        sets[name] = rs
        log("rule set %s: %d signatures gatehouse loads (%s)%s%s" % (
            name, len(rs.rules) + len(rs.suricata_failed), rs.path,
            "; %d Suricata refuses: %s" % (len(rs.suricata_failed),
                                           ", ".join(map(str, sorted(rs.suricata_failed))))
            if rs.suricata_failed else "",
            "; %d duplicate sids ignored" % rs.dup if rs.dup else ""))

    # both engines, every pcap
    jobs = {}
    results = {}

    def socket_runs(rs):
        if args.suricata_runs == "auto":
            return len(rs.rules) >= SOCKET_MIN_RULES
        return args.suricata_runs == "socket"

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for name, rs in sorted(sets.items()):
            if socket_runs(rs):
                items = [(n, p, os.path.join(out, args.mode, n, "suricata"))
                         for p, n in zip(pcaps, names) if set_of(p) == name]
                jobs[ex.submit(run_suricata_socket, args, args.mode, yaml_path, rs.path, items,
                               os.path.join(out, args.mode, "suricata-" + name))] = \
                    (None, "suricata")
        for p, n in zip(pcaps, names):
            rs = sets[set_of(p)]
            d = os.path.join(out, args.mode, n)
            os.makedirs(d, exist_ok=True)
            if not socket_runs(rs):
                jobs[ex.submit(run_suricata, args, args.mode, yaml_path, rs.path, p,
                               os.path.join(d, "suricata"))] = (n, "suricata")
            jobs[ex.submit(run_gatehouse, args, args.mode, rs.path, p,
                           os.path.join(d, "gatehouse.json"))] = (n, "gatehouse")
        failed = False
        for fut in concurrent.futures.as_completed(jobs):
            n, eng = jobs[fut]
            try:
                res = fut.result()
                for k, (eve, secs) in (res.items() if n is None else [(n, res)]):
                    results[(k, eng)] = (count_alerts(eve), secs)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                log(str(e))
                failed = True
    if failed:
        return 1

    # A unix-socket run can lose a flow's alerts under CPU load (see above):
    # a pcap whose counts differ there runs again as its own Suricata, and
    # that run's counts stand.
    recheck = [(p, n) for p, n in zip(pcaps, names) if socket_runs(sets[set_of(p)]) and
               results[(n, "gatehouse")][0] != results[(n, "suricata")][0]]
    if recheck:
        changed = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
            futs = {ex.submit(run_suricata, args, args.mode, yaml_path, sets[set_of(p)].path, p,
                              os.path.join(out, args.mode, n, "suricata-alone")): n
                    for p, n in recheck}
            for fut in concurrent.futures.as_completed(futs):
                n = futs[fut]
                try:
                    eve, secs = fut.result()
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                    log(str(e))
                    return 1
                counts = count_alerts(eve)
                changed += counts != results[(n, "suricata")][0]
                results[(n, "suricata")] = (counts, secs)
        log("%d pcaps whose socket-run counts differ ran again alone: %d changed"
            % (len(recheck), changed))

    # compare
    diffs, equal, total_g, total_s = {}, 0, 0, 0
    per_pcap = []
    for p, n in zip(pcaps, names):
        g, _ = results[(n, "gatehouse")]
        s, _ = results[(n, "suricata")]
        total_g += sum(g.values())
        total_s += sum(s.values())
        nd = 0
        for sid in sorted(set(g) | set(s)):
            if g.get(sid, 0) == s.get(sid, 0):
                equal += 1
            else:
                diffs[(n, sid)] = (g.get(sid, 0), s.get(sid, 0))
                nd += 1
        per_pcap.append((n, sum(g.values()), sum(s.values()), nd))

    def rule_of(pcap, sid):
        rs = sets[set_of(pcaps[names.index(pcap)])]
        return rs.rules.get(sid) or rs.suricata_failed.get(sid) or {}

    def msg_of(pcap, sid):
        return rule_of(pcap, sid).get("msg", "?")

    print("mode %s: %d pcaps; rule sets: %s" % (args.mode, len(pcaps), ", ".join(
        "%s %d" % (k, len(v.rules)) for k, v in sorted(sets.items()))))
    print("%-50s %9s %9s %6s" % ("pcap", "gatehouse", "suricata", "diffs"))
    for n, g, s, nd in per_pcap:
        print("%-50s %9d %9d %6d" % (n, g, s, nd))
    print()
    if diffs:
        print("differences: pcap, sid, alerts (gatehouse, suricata), signature type "
              "(gatehouse, suricata), proto, msg")
        for i, ((n, sid), (g, s)) in enumerate(sorted(diffs.items())):
            if i == args.show:
                print("  ... %d more" % (len(diffs) - i))
                break
            r = rule_of(n, sid)
            print("  %-46s %9d %5d %5d  %-12s %-12s %-10s %s" % (
                n, sid, g, s, r.get("type", "?"), r.get("suricata_type", "?"),
                r.get("proto", "?"), r.get("msg", "?")[:70]))
        print()
    for name, rs in sorted(sets.items()):
        typed = [(sid, r) for sid, r in sorted(rs.rules.items()) if "suricata_type" in r]
        other = [(sid, r) for sid, r in typed if r["type"] != r["suricata_type"]]
        print("rule set %s: signature types, gatehouse against Suricata's engine analysis: "
              "%d of %d agree%s" % (name, len(typed) - len(other), len(typed), "".join(
                  "; sid %d %s/%s" % (sid, r["type"], r["suricata_type"]) for sid, r in other[:20])))
        for sid, r in sorted(rs.suricata_failed.items()):
            print("rule set %s: Suricata refuses sid %d (%s:%d): %s" % (
                name, sid, r["file"], r["line"], r.get("error", "")))
    print("totals: alerts gatehouse %d, suricata %d; (pcap, sid) pairs with alerts: %d equal, "
          "%d different (%d distinct sids)" % (total_g, total_s, equal, len(diffs),
                                              len({sid for _, sid in diffs})))
    print("time: %.1f s" % (time.time() - t0))

    try:
        exp = read_expect(args.expect)
    except ValueError as e:
        log(str(e))
        return 2
    run_names = set(names)
    if args.write_expect:
        n = write_expect(args.expect, diffs, exp, args.mode, run_names)
        print("wrote %d differences to %s (%d of the pcaps run)" % (n, args.expect, len(diffs)))
        return 0
    unexpected = [(k, v) for k, v in sorted(diffs.items())
                  if k not in exp or exp[k][:2] != v]
    gone = [(k, v) for k, v in sorted(exp.items()) if k[0] in run_names and k not in diffs]
    if not os.path.exists(args.expect):
        print("no expectations file %s: every difference is unexpected" % args.expect)
    for (n, sid), (g, s) in unexpected:
        was = exp.get((n, sid))
        print("UNEXPECTED %s sid %d: gatehouse %d, suricata %d%s  %s" % (
            n, sid, g, s, " (listed as %d/%d)" % was[:2] if was else "", msg_of(n, sid)[:70]))
    for (n, sid), (g, s, reason) in gone:
        print("GONE %s sid %d: listed as gatehouse %d, suricata %d (%s); now equal" % (
            n, sid, g, s, reason))
    if unexpected or gone:
        print("FAIL: %d unexpected, %d no longer present (expectations: %s)"
              % (len(unexpected), len(gone), args.expect))
        return 1
    print("PASS: all %d differences are known ones (listed in %s)" % (len(diffs), args.expect))
    return 0


if __name__ == "__main__":
    sys.exit(main())
