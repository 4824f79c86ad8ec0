#!/usr/bin/python3
"""Run gatehouse over suricata-verify cases and compare the alert/drop counts.

For every case directory (one holding a test.yaml) under --cases:
  - read test.yaml: `args` (mapped to gatehouse options), `requires`, `pcap`,
    `checks`;
  - run `gatehouse pcap -r PCAP -S RULES... [-k none] [--midstream] --eve OUT`
    with a timeout;
  - evaluate every `filter:` check on event_type alert or drop over the EVE
    file exactly as suricata-verify's run.py does (dotted keys, `name[i]`
    indexes, has-key/not-has-key, Python equality, count must be equal),
    honouring per-check `requires` (min-version, lt-version, ...) for the
    Suricata version we emulate (--suricata-version, default 8.0.5);
  - other checks (shell, filter on flow/http/stats events, ...) are listed,
    not evaluated.

A case is "claimed" (gatehouse says it supports it) when its signatures load
with 0 skipped (gatehouse's `signatures: loaded N, skipped M (...)` line), no
rule uses an application-layer protocol gatehouse does not parse, every arg
maps to a gatehouse option and its suricata.yaml (if any) sets nothing
gatehouse does not emulate. Cases of the parsed protocols (HTTP, DNS, TLS,
SMTP, FTP: a rule with that protocol or one of its keywords, e.g. http.*,
uricontent, pcre with an HTTP modifier, dns.*, tls.*, ja3*, ssl_*) are claimed
on the same terms: gatehouse skips the signatures whose keywords it does not
have yet, so such a case is claimed once it loads all of them; their
alert/drop checks are evaluated as for the others (checks on http, dns, tls
or fileinfo events are listed, not evaluated), and a suricata.yaml that
configures the protocol's parser (app-layer.protocols.PROTO other than
`enabled`) is not claimed.
Result: PASS (claimed, every alert/drop check equal), FAIL (claimed, some check
differs or gatehouse failed), UNSUPPORTED (not claimed; the measured outcome is
still shown).

Exit status: 0; with --claimed FILE, 1 when a case listed there does not PASS
(or is missing); 77 when the cases folder does not exist; 2 on usage errors.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.stderr.write("suricata_verify.py: needs PyYAML (run it with /usr/bin/python3, "
                     "python3-yaml)\n")
    sys.exit(2)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Rule header protocols gatehouse inspects itself (everything else is an
# application-layer protocol, or a stream-only variant it does not have).
L3L4_PROTOS = {"tcp-stream", "ip", "ipv4", "ip4", "ipv6", "ip6", "tcp", "udp", "icmp", "icmpv4",
               "icmpv6", "tcp-pkt", "sctp", "pkthdr"}

# The application-layer protocols gatehouse parses, whose cases are claimed
# like the L3/L4 ones (the signatures still have to load with 0 skipped), by
# the name suricata.yaml's app-layer.protocols uses.
APP_PROTOS = {"http": "http", "http1": "http", "dns": "dns", "tls": "tls", "smtp": "smtp",
              "ftp": "ftp"}

# Keywords that make a signature one of those protocols whatever its header
# protocol: sticky buffers and modifiers named http.* / http_*, the old
# names, pcre with an HTTP buffer modifier (U I P Q H D M C S Y V W Z after
# the last /); dns.* / dns_*; tls.* / tls_*, ja3*, ssl_*.
APP_KEYWORDS = {
    "http": re.compile(
        r"(?:^|[(;]\s*)(?:http[._][a-z_.]+|uricontent|urilen|file_data|file\.data)\s*[;:]"
        r"|(?:^|[(;]\s*)pcre\s*:\s*\"[^\"]*/[a-zA-Z]*[UIPQHDMCSYVWZ][a-zA-Z]*\""),
    "dns": re.compile(r"(?:^|[(;]\s*)dns[._][a-z_.]+\s*[;:]"),
    "tls": re.compile(r"(?:^|[(;]\s*)(?:tls[._][a-z_.]+|ja3s?[._][a-z]+|ssl_[a-z]+)\s*[;:]"),
}

# Suricata's default action order, also gatehouse's; another one becomes
# gatehouse's --action-order.
DEFAULT_ACTION_ORDER = ["pass", "drop", "reject", "alert"]

# Fields gatehouse writes in alert/drop events. A check matching on another
# key (payload, packet, stream, app-layer metadata...) is reported as such.
EMITTED_KEYS = {
    "timestamp", "flow_id", "pcap_cnt", "event_type", "src_ip", "src_port",
    "dest_ip", "dest_port", "proto", "vlan", "alert", "drop", "verdict",
    "alert.action", "alert.gid", "alert.signature_id", "alert.rev",
    "alert.signature", "alert.category", "alert.severity", "alert.rule_action",
    "alert.file", "alert.line", "pkt_src", "payload", "payload_printable", "stream",
    "packet", "packet_info", "packet_info.linktype",
}

# suricata.yaml eve-log alert options and the gatehouse options writing the
# same fields.
EVE_ALERT_OPTIONS = {
    "payload": "--eve-payload",
    "payload-printable": "--eve-payload-printable",
    "packet": "--eve-packet",
}


def eve_alert_options(outputs):
    """gatehouse options for the eve-log alert settings in `outputs`."""
    opts = []
    for out in outputs or []:
        if not isinstance(out, dict) or not isinstance(out.get("eve-log"), dict):
            continue
        for t in out["eve-log"].get("types") or []:
            if not isinstance(t, dict) or not isinstance(t.get("alert"), dict):
                continue
            for key, opt in EVE_ALERT_OPTIONS.items():
                if t["alert"].get(key) in (True, "yes", "true", "on") and opt not in opts:
                    opts.append(opt)
    return opts

# --set options that change nothing gatehouse could emulate differently:
# they are Suricata's defaults or only touch output gatehouse does not write.
HARMLESS_SETS = {
    "stream.async-oneside=false": "Suricata's default",
    "stats.decoder-events=true": "stats counters only",
}


def parse_version(text):
    parts = re.findall(r"\d+", str(text))
    nums = [int(p) for p in parts[:3]]
    while len(nums) < 3:
        nums.append(0)
    return tuple(nums)


def version_requirement_ok(key, want, have):
    """run.py semantics for min-version / lt-version / version (+ gt-version)."""
    w = parse_version(want)
    if key == "min-version":
        return have >= w
    if key == "lt-version":
        return have < w
    if key == "gt-version":
        return have > w
    if key == "version":
        n = len(re.findall(r"\d+", str(want)))
        return have[:n] == w[:n]
    raise KeyError(key)


def check_requires(requires, have):
    """Return (satisfied, unknown): unknown lists requirement kinds we cannot judge."""
    ok = True
    unknown = []
    for key, want in (requires or {}).items():
        if key in ("min-version", "lt-version", "gt-version", "version"):
            if not version_requirement_ok(key, want, have):
                ok = False
        else:
            unknown.append("%s=%s" % (key, want))
    return ok, unknown


def find_value(name, obj):
    """suricata-verify run.py find_value: dotted names, name[index], __len."""
    for part in name.split("."):
        if part == "__len":
            try:
                return len(obj)
            except TypeError:
                return -1
        index = None
        m = re.match(r"^(.*)\[(\d+)\]$", part)
        if m:
            part, index = m.group(1), m.group(2)
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
        if index is not None:
            try:
                obj = obj[int(index)]
            except (IndexError, KeyError, TypeError):
                return None
    return obj


def filter_matches(match, event):
    for key, expected in match.items():
        if key == "has-key":
            if find_value(expected, event) is None:
                return False
        elif key == "not-has-key":
            if find_value(expected, event) is not None:
                return False
        else:
            if find_value(key, event) != expected:
                return False
    return True


def describe_filter(match):
    keys = dict(match)
    et = keys.pop("event_type", None)
    sid = keys.pop("alert.signature_id", None)
    label = str(et) if et is not None else "any"
    if sid is not None:
        label += " sid %s" % sid
    if keys:
        label += " [" + ",".join("%s=%s" % (k, v) for k, v in keys.items()) + "]"
    return label


def find_case_dirs(root):
    cases = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if "test.yaml" in filenames:
            cases.append(os.path.relpath(dirpath, root))
    return sorted(cases)


def map_args(args_list):
    """Return (gatehouse options, notes, unsupported reasons)."""
    opts, notes, bad = [], [], []
    tokens = []
    for item in args_list or []:
        tokens.extend(shlex.split(str(item)))
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t == "-k" and nxt in ("none", "all"):
            opts += ["-k", nxt]
            i += 2
            continue
        if t == "--simulate-ips":
            notes.append("--simulate-ips: gatehouse always reports blocked/allowed")
            opts.append("--stream-inspect=arrival")
            i += 1
            continue
        if t in ("--runmode=single", "--runmode=autofp") or (t == "--runmode" and nxt):
            notes.append("runmode ignored (gatehouse is single-threaded per capture)")
            i += 2 if t == "--runmode" else 1
            continue
        if t == "--set" and nxt is not None:
            val = nxt.replace(" ", "")
            if val in ("stream.midstream=true", "stream.midstream=yes"):
                opts.append("--midstream")
            elif val in ("stream.async-oneside=true", "stream.async-oneside=yes"):
                opts.append("--async-oneside")
            elif val in ("stream.inline=true", "stream.inline=yes"):
                opts.append("--stream-inspect=arrival")
            elif val in HARMLESS_SETS:
                notes.append("--set %s ignored (%s)" % (val, HARMLESS_SETS[val]))
            else:
                bad.append("unsupported arg --set %s" % nxt)
            i += 2
            continue
        bad.append("unsupported arg %s" % t)
        i += 1
    return opts, notes, bad


def check_suricata_yaml(path):
    """Return (gatehouse options, notes, settings gatehouse does not emulate)
    for the case's suricata.yaml."""
    opts, notes, bad = [], [], []
    try:
        with open(path) as f:
            text = f.read()
        # PyYAML rejects the %YAML 1.1 directive followed by Suricata's style;
        # drop it.
        text = re.sub(r"^%YAML.*\n", "", text)
        conf = yaml.safe_load(text) or {}
    except Exception as e:  # noqa: BLE001
        return opts, notes, ["suricata.yaml unreadable: %s" % e], {}
    for key, val in conf.items():
        if key == "outputs":
            eo = eve_alert_options(val)
            if eo:
                opts += eo
                notes.append("suricata.yaml eve-log alert fields: " + " ".join(eo))
            continue
        if key == "logging":
            continue
        if key == "action-order":
            order = [str(v) for v in (val or [])]
            if order != DEFAULT_ACTION_ORDER:
                opts += ["--action-order", ",".join(order)]
                notes.append("suricata.yaml action-order: --action-order %s" % ",".join(order))
            continue
        if key == "app-layer":
            # gatehouse parses no application layer: disabling a parser is
            # what it always does.
            notes.append("suricata.yaml app-layer settings (no app-layer in gatehouse)")
            continue
        bad.append("suricata.yaml sets %s" % key)
    return opts, notes, bad, conf


def parser_settings(conf, proto):
    """The settings of a suricata.yaml for the parser of @proto, other than
    turning it on: [key...]."""
    try:
        pc = conf["app-layer"]["protocols"][proto]
    except (KeyError, TypeError):
        return []
    if not isinstance(pc, dict):
        return []
    return sorted(k for k in pc if k != "enabled")


def rule_lines(rule_files):
    """Each rule of the files (continuation lines joined, comments and blank lines left out)."""
    for rf in rule_files:
        with open(rf, errors="replace") as f:
            text = f.read().replace("\\\n", "")
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def rule_protos(rule_files):
    protos = set()
    for line in rule_lines(rule_files):
        parts = line.split(None, 2)
        if len(parts) >= 2:
            protos.add(parts[1].lower())
    return protos


def rule_app_protos(rule_files):
    """The parsed protocols the rules use (header protocol or keywords)."""
    used = set()
    for line in rule_lines(rule_files):
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[1].lower() in APP_PROTOS:
            used.add(APP_PROTOS[parts[1].lower()])
        body = line.partition("(")[2]
        used |= {p for p, rx in APP_KEYWORDS.items() if rx.search(body)}
    return sorted(used)


SIG_LINE = re.compile(r"signatures: loaded (\d+), skipped (\d+)(?: \(([^)]*)\))?")


def run_case(name, case_dir, gatehouse, have_version, timeout, outdir):
    r = {"case": name, "claimed_reasons": [], "notes": [], "checks": [],
         "other_checks": [], "error": None, "measured": None, "app": []}
    try:
        with open(os.path.join(case_dir, "test.yaml")) as f:
            test = yaml.safe_load(f) or {}
    except Exception as e:  # noqa: BLE001
        r["error"] = "test.yaml: %s" % e
        return finish(r)

    ok, unknown = check_requires(test.get("requires"), have_version)
    if not ok:
        r["claimed_reasons"].append("requires %s (not Suricata %s)" % (
            test.get("requires"), ".".join(map(str, have_version))))
    for u in unknown:
        r["claimed_reasons"].append("requires %s" % u)
    if test.get("skip"):
        r["notes"].append("test.yaml has skip: entries (not evaluated)")

    # pcap: test.yaml `pcap:` (copied next to test.yaml in the corpus), else
    # the one capture in the directory.
    pcap = None
    if "pcap" in test and test["pcap"]:
        cand = os.path.join(case_dir, os.path.basename(str(test["pcap"])))
        if not os.path.exists(cand):
            cand = os.path.normpath(os.path.join(case_dir, str(test["pcap"])))
        pcap = cand if os.path.exists(cand) else None
    elif "pcap" not in test:
        found = sorted(glob.glob(os.path.join(case_dir, "*.pcap")) +
                       glob.glob(os.path.join(case_dir, "*.pcapng")))
        if len(found) == 1:
            pcap = found[0]
    if pcap is None:
        r["error"] = "no single pcap"
        return finish(r)

    rule_files = sorted(glob.glob(os.path.join(case_dir, "*.rules")))
    if not rule_files:
        r["error"] = "no rules file"
        return finish(r)

    opts, notes, bad = map_args(test.get("args"))
    # Suricata inspects the stream on arrival only inline (IPS); else, as its
    # default IDS mode does, once the receiver acknowledged the bytes
    if "--stream-inspect=arrival" not in opts:
        opts.append("--stream-inspect=acked")
    r["notes"] += notes
    r["claimed_reasons"] += bad
    if "ips" in os.path.basename(case_dir):
        r["notes"].append("ips case: gatehouse always reports blocked/allowed")
    r["app"] = rule_app_protos(rule_files)
    syaml = os.path.join(case_dir, "suricata.yaml")
    if os.path.exists(syaml):
        o, n, b, conf = check_suricata_yaml(syaml)
        opts += o
        r["notes"] += n
        r["claimed_reasons"] += b
        for proto in r["app"]:
            ps = parser_settings(conf, proto)
            if ps:
                r["claimed_reasons"].append("suricata.yaml %s parser settings: %s"
                                            % (proto, ",".join(ps)))

    app = sorted(p for p in rule_protos(rule_files)
                 if p not in L3L4_PROTOS and p not in APP_PROTOS)
    if app:
        r["claimed_reasons"].append("app-layer/stream protocol: " + ",".join(app))
    if r["app"]:
        r["notes"].append("%s case" % "/".join(p.upper() for p in r["app"]))

    eve = os.path.join(outdir, name.replace("/", "__") + ".eve.json")
    if os.path.exists(eve):
        os.unlink(eve)
    # Not -q: the `signatures: loaded N, skipped M` line is part of the summary.
    cmd = [gatehouse, "pcap", "-r", pcap]
    for rf in rule_files:
        cmd += ["-S", rf]
    cmd += opts + ["--eve", eve]
    r["cmd"] = " ".join(shlex.quote(c) for c in cmd)
    try:
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=case_dir)
        stderr = p.stderr.decode(errors="replace")
        if p.returncode != 0:
            lines = stderr.strip().splitlines()
            r["error"] = "gatehouse exit %d: %s" % (
                p.returncode, " | ".join(l.replace(case_dir + "/", "") for l in lines[-3:]))
            errs = [l.replace(case_dir + "/", "") for l in lines
                    if re.match(r"^\S+\.rules:\d+:\d+: ", l.replace(case_dir + "/", ""))]
            if errs:
                r["claimed_reasons"].append("rules rejected: " + "; ".join(errs))
    except subprocess.TimeoutExpired:
        r["error"] = "gatehouse timed out after %ds" % timeout
        return finish(r)

    m = SIG_LINE.search(stderr)
    if m:
        r["loaded"], r["skipped"] = int(m.group(1)), int(m.group(2))
        if r["skipped"]:
            r["claimed_reasons"].append("skipped: %s" % (m.group(3) or m.group(2)))
    elif not r["error"]:
        r["error"] = "no 'signatures: loaded' line on stderr"

    events = []
    if os.path.exists(eve):
        with open(eve) as f:
            for line in f:
                line = line.strip()
                if line:
                    events.append(json.loads(line))

    for entry in test.get("checks") or []:
        if not isinstance(entry, dict) or not entry:
            continue
        kind = next(iter(entry))
        body = entry[kind]
        if kind != "filter" or not isinstance(body, dict):
            r["other_checks"].append(kind)
            continue
        match = body.get("match") or {}
        et = match.get("event_type")
        label = describe_filter(match)
        # A filter without event_type that only alert/drop events can match
        # (alert.signature_id...) counts as an alert/drop filter.
        if et is None and any(k.split(".")[0] in ("alert", "drop") for k in match):
            et = "alert" if any(k.startswith("alert.") for k in match) else "drop"
        if et not in ("alert", "drop") or "count" not in body or \
                body.get("filename", "eve.json") != "eve.json":
            r["other_checks"].append("filter:%s" % (et or "?"))
            continue
        req = dict(body.get("requires") or {})
        for k in ("min-version", "version", "lt-version"):
            if k in body:
                req[k] = body[k]
        if "feature" in body:
            req["features"] = [body["feature"]]
        ok, unknown = check_requires(req, have_version)
        if not ok or unknown:
            r["checks"].append({"label": label, "skipped": True,
                                "why": "requires " + ",".join(
                                    "%s=%s" % kv for kv in req.items())})
            continue
        got = sum(1 for ev in events if filter_matches(match, ev))
        foreign = sorted(k for k in match
                         if k not in ("has-key", "not-has-key")
                         and re.sub(r"\[\d+\]", "", k) not in EMITTED_KEYS
                         and k.split(".")[0] not in ("drop", "verdict"))
        r["checks"].append({"label": label, "expected": body["count"], "got": got,
                            "ok": got == body["count"], "foreign": foreign})
    return finish(r)


def finish(r):
    evaluated = [c for c in r["checks"] if not c.get("skipped")]
    if r["error"]:
        r["measured"] = "ERROR"
    elif not evaluated:
        r["measured"] = "NO-CHECKS"
    else:
        r["measured"] = "PASS" if all(c["ok"] for c in evaluated) else "FAIL"
    for c in evaluated:
        if c.get("foreign"):
            r["claimed_reasons"].append("check matches on fields gatehouse does not emit: "
                                        + ",".join(c["foreign"]))
            break
    if r["claimed_reasons"]:
        r["result"] = "UNSUPPORTED"
    elif r["measured"] == "PASS":
        r["result"] = "PASS"
    else:
        r["result"] = "FAIL"
    return r


def details(r, with_notes=False):
    parts = []
    if r["result"] == "UNSUPPORTED":
        parts.append("; ".join(dict.fromkeys(r["claimed_reasons"])))
        parts.append("measured: %s" % r["measured"])
    if r["error"]:
        parts.append(r["error"])
    bad = [c for c in r["checks"] if not c.get("skipped") and not c["ok"]]
    good = [c for c in r["checks"] if not c.get("skipped") and c["ok"]]
    if bad:
        parts.append("; ".join("%s: expected %s, got %s" % (c["label"], c["expected"], c["got"])
                               for c in bad))
    if r["result"] == "PASS" or (with_notes and good):
        parts.append("%d/%d checks equal" % (len(good), len(good) + len(bad)))
    if with_notes:
        skipped = [c for c in r["checks"] if c.get("skipped")]
        if skipped:
            parts.append("not applicable to Suricata 8: " +
                         "; ".join("%s (%s)" % (c["label"], c["why"]) for c in skipped))
        if r["other_checks"]:
            counts = {}
            for k in r["other_checks"]:
                counts[k] = counts.get(k, 0) + 1
            parts.append("ignored checks: " + ", ".join(
                "%s x%d" % (k, n) if n > 1 else k for k, n in counts.items()))
        if r["notes"]:
            parts.append("; ".join(dict.fromkeys(r["notes"])))
    return " | ".join(p for p in parts if p)


def default_cases_dir():
    cand = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "corpus", "suricata-verify"))
    if os.path.isdir(cand):
        return cand
    return "/work/shared/corpus/suricata-verify"


def read_claimed(path):
    names = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def md_escape(s):
    return s.replace("|", "\\|")


def write_markdown(path, results, summary, args):
    with open(path, "w") as f:
        f.write("# suricata-verify results\n\n")
        f.write("Produced by `/usr/bin/python3 tests/suricata_verify.py --write-md` "
                "(cases: `%s`, emulating Suricata %s). Regenerate rather than edit.\n\n"
                % (os.path.basename(os.path.normpath(args.cases)), args.suricata_version))
        f.write("- **PASS**: gatehouse claims the case (every rule loads, L3/L4 protocols "
                "only, every arg and suricata.yaml setting emulated) and every alert/drop "
                "`filter` check of test.yaml gives the expected count.\n"
                "- **FAIL**: claimed, but some alert/drop count differs (or gatehouse "
                "failed).\n"
                "- **UNSUPPORTED**: not claimed; the reason comes first, then what the run "
                "measured anyway.\n"
                "- Other checks (shell, filters on flow/http/stats events) are listed, not "
                "evaluated.\n\n")
        f.write("%s\n\n" % summary)
        f.write("| case | result | reason / details |\n|---|---|---|\n")
        for r in results:
            f.write("| %s | %s | %s |\n" % (r["case"], r["result"],
                                            md_escape(details(r, with_notes=True))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gatehouse", default=None,
                    help="gatehouse binary (default: build/gatehouse in the repo)")
    ap.add_argument("--cases", default=None, help="suricata-verify folder")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these cases")
    ap.add_argument("--claimed", metavar="FILE",
                    help="cases expected to PASS: exit 1 if any does not")
    ap.add_argument("--write-md", nargs="?", const=os.path.join(
        REPO_ROOT, "tests", "suricata-verify-results.md"), metavar="FILE",
        help="write the Markdown report (default tests/suricata-verify-results.md)")
    ap.add_argument("--suricata-version", default="8.0.5",
                    help="Suricata version the checks' requires are judged against")
    ap.add_argument("--timeout", type=int, default=120, help="seconds per case")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", help="keep the EVE files in DIR")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print notes and ignored checks too")
    args = ap.parse_args()
    # the CLI's Hyperscan database cache: this run's own directory, never the user's
    cache = None
    if not os.environ.get("GATEHOUSE_CACHE_DIR"):
        cache = tempfile.TemporaryDirectory(prefix="gh-hs-cache.")
        os.environ["GATEHOUSE_CACHE_DIR"] = cache.name

    if args.cases is None:
        args.cases = default_cases_dir()
    if not os.path.isdir(args.cases):
        print("suricata_verify: no cases folder %s: skipped" % args.cases)
        return 77
    # gatehouse runs in each case's folder: paths must not be relative
    args.cases = os.path.abspath(args.cases)
    gatehouse = args.gatehouse or os.path.join(REPO_ROOT, "build", "gatehouse")
    if not os.access(gatehouse, os.X_OK):
        sys.stderr.write("suricata_verify: gatehouse binary %s not found\n" % gatehouse)
        return 2
    gatehouse = os.path.abspath(gatehouse)
    have = parse_version(args.suricata_version)

    names = find_case_dirs(args.cases)
    if args.only:
        wanted = {o.rstrip("/") for o in args.only}
        wanted |= {o.replace("/", "__") for o in wanted}
        names = [n for n in names if n in wanted or n.replace("__", "/") in wanted]
        if not names:
            sys.stderr.write("suricata_verify: no case matches %s\n" % " ".join(args.only))
            return 2

    outdir = args.keep or tempfile.mkdtemp(prefix="gh-sv-")
    os.makedirs(outdir, exist_ok=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = [ex.submit(run_case, n, os.path.join(args.cases, n), gatehouse, have,
                          args.timeout, outdir) for n in names]
        results = [f.result() for f in futs]
    if not args.keep:
        for fn in glob.glob(os.path.join(outdir, "*.eve.json")):
            os.unlink(fn)
        os.rmdir(outdir)

    w = max([len(r["case"]) for r in results] + [4])
    print("%-*s  %-11s  %s" % (w, "case", "result", "reason / details"))
    for r in results:
        print("%-*s  %-11s  %s" % (w, r["case"], r["result"], details(r, args.verbose)))
    counts = {k: sum(1 for r in results if r["result"] == k)
              for k in ("PASS", "FAIL", "UNSUPPORTED")}
    would = sum(1 for r in results if r["result"] == "UNSUPPORTED" and r["measured"] == "PASS")
    summary = ("%d cases: %d PASS, %d FAIL, %d UNSUPPORTED (of which %d give the expected "
               "counts anyway)" % (len(results), counts["PASS"], counts["FAIL"],
                                   counts["UNSUPPORTED"], would))
    # the cases whose rules use only what gatehouse implements of the rule
    # language (header, flow and payload keywords): every rule loads, no
    # app-layer protocol
    g12 = [r for r in results
           if not r["app"] and
           not any(x.startswith(("skipped:", "app-layer/stream protocol", "rules rejected"))
                   for x in r["claimed_reasons"])]
    g12_pass = sum(1 for r in g12 if r["result"] == "PASS")
    summary += ("\nrules with header, flow and payload keywords only: %d cases, %d PASS (%.1f%%)"
                % (len(g12), g12_pass, 100.0 * g12_pass / len(g12) if g12 else 0.0))
    # the cases of each parsed protocol (claimed once gatehouse loads every signature)
    for proto in sorted(set(APP_PROTOS.values())):
        hc = [r for r in results if proto in r["app"]]
        if hc:
            summary += ("\n%s cases: %d, %d claimed (every signature loads), %d PASS"
                        % (proto.upper(), len(hc),
                           sum(1 for r in hc if r["result"] != "UNSUPPORTED"),
                           sum(1 for r in hc if r["result"] == "PASS")))
    print(summary)
    if args.write_md:
        write_markdown(args.write_md, results, summary, args)
        print("wrote %s" % args.write_md)

    rc = 0
    if args.claimed:
        claimed = read_claimed(args.claimed)
        by_name = {r["case"]: r for r in results}
        all_names = set(find_case_dirs(args.cases))
        for c in claimed:
            if c in by_name:
                if by_name[c]["result"] != "PASS":
                    print("claimed case %s: %s" % (c, by_name[c]["result"]))
                    rc = 1
            elif not args.only and c not in all_names:
                print("claimed case %s: missing from %s" % (c, args.cases))
                rc = 1
        if rc == 0:
            print("all %d claimed cases pass" % len([c for c in claimed if c in by_name]))
    return rc


if __name__ == "__main__":
    sys.exit(main())
