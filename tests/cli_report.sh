#!/usr/bin/env bash
# cli_report.sh — `actlab report` on constructed compare directories: it writes
# report.md and report.html, merges two directories, refuses the same cell twice
# and bad flags; the HTML parses, fetches nothing, has an <svg> per plot and,
# when chromium is installed, renders headless to a non-blank screenshot (kept as
# the test artefact report-screenshot.png next to the binary's test folder).
set -u
BIN=${1:?usage: cli_report.sh PATH/TO/actlab}
T=$(mktemp -d /tmp/actlab-cli-report-XXXXXX)
ART=${ACTLAB_ARTEFACTS:-$(dirname "$BIN")/tests}
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }

# Two compare directories: A (compare.json, relu/elu/prelu x 4 seeds, probes and timing,
# one failed cell) and B (no compare.json, swish x 4 seeds, no probes).
python3 - "$T" <<'EOF'
import json, os, sys
root = sys.argv[1]
def cell(d, act, slug, seed, acc, probe=True, timing=True, state="done", error=None, prelu=False):
    p = f"{root}/{d}/cells/fashion-mnist/lenet/{slug}/seed-{seed}"
    os.makedirs(p, exist_ok=True)
    json.dump({"act": act, "model": "/x/models/lenet.cfg", "data": "fashion-mnist", "seed": seed, "epochs": 5,
               "batch": 128, "optimiser": "sgd:lr=0.01,momentum=0.9"}, open(f"{p}/config.json", "w"))
    n = 2 if error else 5
    with open(f"{p}/metrics.jsonl", "w") as f:
        for e in range(1, n + 1):
            a = acc - 0.04 * (5 - e) + 0.002 * seed
            m = {"epoch": e, "train_loss": 1.2 / e + 0.01 * seed, "train_acc": a - 0.02, "test_loss": 1.0 / e,
                 "test_acc": a, "lr": 0.01, "epoch_seconds": 3.0 + 0.1 * seed, "images_per_second": 600}
            if timing:
                m["time"] = {"step_ms": 12, "act_share": 0.06 + (0.03 if act == "elu" else 0),
                             "layers": [{"layer": 0, "type": "conv", "fwd_ms": 1, "bwd_ms": 2}]}
            if probe:
                layers = []
                for l in range(4):
                    L = {"layer": l, "act_index": l, "function": act, "units": 16, "dead": (0.05 * l if act == "relu" else 0.0) * e / 5,
                         "near_dead": 0.1, "mean": (0.4 - 0.05 * l) * (1 if act == "relu" else 0.3) + 0.01 * e, "std": 1, "negative": 0.2}
                    if prelu:
                        L["params"] = {"a": {"mean": 0.25 + 0.1 * (3 - l) * e / 5, "std": 0.01, "min": 0.2, "max": 0.6}}
                    layers.append(L)
                m["probe"] = {"images": 1024, "layers": layers}
            f.write(json.dumps(m) + "\n")
    if not error:
        json.dump({"final": True, "epoch": 5, "test_loss": 1 - acc, "test_acc": acc,
                   "targets": {"0.8": {"epoch": 4, "seconds": 12.0}, "0.85": {"epoch": 5, "seconds": 15.0} if acc > 0.85 else None}},
                  open(f"{p}/final.json", "w"))
    json.dump({"state": state, **({"error": error} if error else {})}, open(f"{p}/status.json", "w"))
os.makedirs(f"{root}/A", exist_ok=True)
json.dump({"acts": [{"spec": "relu", "slug": "relu"}, {"spec": "elu", "slug": "elu"}, {"spec": "prelu", "slug": "prelu"}],
           "models": [{"spec": "lenet", "slug": "lenet"}], "data": [{"spec": "fashion-mnist", "slug": "fashion-mnist"}],
           "seeds": [1, 2, 3, 4], "baseline": "relu", "epochs": 5}, open(f"{root}/A/compare.json", "w"))
for s, (r, e, p, w) in enumerate([(0.84, 0.85, 0.86, 0.845), (0.83, 0.86, 0.85, 0.835), (0.85, 0.85, 0.87, 0.86), (0.82, 0.84, 0.83, 0.83)], 1):
    cell("A", "relu", "relu", s, r)
    cell("A", "elu", "elu", s, e)
    cell("A", "prelu", "prelu", s, p, prelu=True)
    cell("B", "swish", "swish", s, w, probe=False, timing=False)
cell("A", "elu", "elu", 5, 0.5, state="failed", error="NaN loss in epoch 2 <batch 17>")
cell("C", "relu", "relu", 1, 0.5)
EOF

out=$("$BIN" report "$T/A" "$T/B" --out "$T/out" 2>&1); rc=$?
[ $rc -eq 0 ] && ok "report exits 0" || bad "report exit $rc: $out"
echo "$out" | grep -q "relu (baseline)" && echo "$out" | grep -q "swish" && ok "prints the merged table" || bad "table: $out"
echo "$out" | grep -q "wrote $T/out/report.md" && ok "says where the report is" || bad "no 'wrote': $out"
[ -s "$T/out/report.md" ] && [ -s "$T/out/report.html" ] && ok "report.md and report.html written" || bad "files missing"
grep -q "NaN loss in epoch 2" "$T/out/report.md" && ok "report.md lists the failed cell" || bad "failed cell not in report.md"
ls "$T/out" | grep -q tmp && bad "temporary files left" || ok "no temporary files left"

python3 - "$T/out/report.html" <<'EOF' && ok "HTML parses, is self-contained, has its plots" || bad "HTML checks"
import sys, re
from html.parser import HTMLParser
text = open(sys.argv[1], encoding="utf-8").read()
class P(HTMLParser):
    void = {"meta", "br", "img", "hr", "input", "link", "path", "rect", "circle", "line", "polyline", "stop"}
    def __init__(self):
        super().__init__(); self.stack = []; self.svgs = 0; self.tables = 0; self.refs = []; self.errors = []
    def handle_starttag(self, tag, attrs):
        if tag == "svg": self.svgs += 1
        if tag == "table": self.tables += 1
        for k, v in attrs:
            if k in ("src", "href", "xlink:href") and v and not v.startswith("#"): self.refs.append((tag, v))
        if tag in ("script", "link", "img", "iframe"): self.refs.append((tag, ""))
        if tag not in self.void: self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.void: self.stack.pop()
    def handle_endtag(self, tag):
        if tag in self.void: return
        if not self.stack or self.stack[-1] != tag: self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else: self.stack.pop()
p = P(); p.feed(text); p.close()
problems = []
if p.errors: problems.append(f"nesting: {p.errors[:3]}")
if p.stack: problems.append(f"unclosed: {p.stack}")
if p.refs: problems.append(f"external references: {p.refs[:3]}")
if re.search(r"https?://", text): problems.append("http(s) URL in the page")
# accuracy, loss, dead, mean activation, parameters, time, functions
if p.svgs != 7: problems.append(f"{p.svgs} <svg> (want 7)")
if p.tables < 2: problems.append(f"{p.tables} tables")
for want in ("swish", "prelu", "NaN loss in epoch 2 &lt;batch 17&gt;", "Wilcoxon"):
    if want not in text: problems.append(f"missing {want!r}")
for svg in re.findall(r"<svg.*?</svg>", text, re.S):
    if "<path d=\"M" not in svg: problems.append("a plot without lines")
if problems: print("\n".join(problems)); sys.exit(1)
EOF

# The same cell in two directories, bad flags, nothing to read.
out=$("$BIN" report "$T/A" "$T/C" --out "$T/dup" 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "two places" && ok "duplicate cell refused" || bad "duplicate: rc $rc: $out"
out=$("$BIN" report "$T/A" --conf 2 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q -- "--conf" && ok "--conf 2 refused" || bad "--conf 2: rc $rc: $out"
out=$("$BIN" report "$T/A" --baseline swish 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "swish" && ok "unknown baseline refused" || bad "baseline: rc $rc: $out"
out=$("$BIN" report "$T/nowhere" 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "nowhere" && ok "missing directory named" || bad "missing dir: rc $rc: $out"
out=$("$BIN" report "$T/A" --baseline elu 2>&1); rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -q "elu (baseline)" && [ -s "$T/A/report.html" ] && ok "--baseline elu, default out = first DIR" || bad "baseline elu: $out"

# Headless Chromium: the page renders (table in the DOM, a non-blank screenshot).
CHROME=""
for c in /usr/bin/chromium /usr/bin/chromium-browser; do [ -x "$c" ] && CHROME=$c && break; done
if [ -z "$CHROME" ]; then
    echo "skip: chromium not installed (scripts/install-deps installs it): HTML not rendered"
else
    flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-extensions --hide-scrollbars)
    dom=$(timeout 45 "$CHROME" "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$T/out/report.html" 2>"$T/chrome.log")
    echo "$dom" | grep -q "<table" && echo "$dom" | grep -q "<svg" && ok "chromium: tables and plots in the DOM" || bad "chromium DOM"
    grep -q "CONSOLE" "$T/chrome.log" && bad "chromium console messages: $(grep CONSOLE "$T/chrome.log" | head -3)" || ok "chromium: no console messages"
    timeout 45 "$CHROME" "${flags[@]}" --screenshot="$T/shot.png" --window-size=1200,3000 "file://$T/out/report.html" >/dev/null 2>&1
    python3 - "$T/shot.png" <<'EOF' && ok "chromium: screenshot rendered, not blank" || bad "chromium screenshot"
import sys, struct, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert w >= 1000 and h >= 2000, (w, h)
# Decompress the image data and count distinct byte values in a sample: a blank page has ~1.
idat, pos = b"", 8
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8]); idat += data[pos + 8:pos + 8 + n] if kind == b"IDAT" else b""; pos += 12 + n
raw = zlib.decompress(idat)
assert len(set(raw[::97])) > 20, "blank screenshot"
EOF
    mkdir -p "$ART" 2>/dev/null && cp "$T/shot.png" "$ART/report-screenshot.png" 2>/dev/null && echo "screenshot kept: $ART/report-screenshot.png"
fi

rm -rf "$T"
[ $fails -eq 0 ] && echo "cli_report: all passed" || { echo "cli_report: $fails failed"; exit 1; }
