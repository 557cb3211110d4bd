#!/usr/bin/env bash
# cli_plot.sh — tests of `actlab plot`: the SVG it writes (valid XML, legend,
# kink markers, no nan/inf, ticks following --range) and its handling of bad
# usage (exit status, message, no file left behind).
# Usage: bash tests/cli_plot.sh path/to/actlab
set -u

ACTLAB=${1:?usage: cli_plot.sh path/to/actlab}
# Absolute, so it still runs after a cd.
case $ACTLAB in /*) ;; *) ACTLAB=$PWD/$ACTLAB ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok; else bad "$what"; fi
}

valid_xml() {
    python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$1" 2>"$T/xml.err" ||
        { cat "$T/xml.err" >&2; return 1; }
}

# Run actlab; stdout, stderr and status go to $T/out, $T/err, $rc.
run() {
    "$ACTLAB" "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

# ---- a normal plot ----
run plot relu elu:alpha=0.5 erelu -o "$T/act.svg"
check "plot exits 0 (got $rc; $(cat "$T/err"))" test "$rc" -eq 0
check "reports the file written" grep -qF "wrote $T/act.svg (3 functions)" "$T/out"
check "file exists" test -s "$T/act.svg"
if command -v python3 >/dev/null; then
    check "valid XML" valid_xml "$T/act.svg"
else
    bad "python3 is needed to check the XML"
fi
check "starts as an SVG document" grep -q '<svg xmlns="http://www.w3.org/2000/svg"' "$T/act.svg"
for label in relu 'elu:alpha=0.5' erelu; do
    check "legend holds '$label'" grep -qF ">$label</text>" "$T/act.svg"
done
check "no nan/inf in the SVG" bash -c "! grep -Eiqw 'nan|inf' '$T/act.svg'"
# relu' and elu' jump at 0: open rings at the one-sided limits, dots at the values.
rings=$(grep -c 'fill="white" stroke=' "$T/act.svg")
check "kink rings drawn (found $rings)" test "$rings" -ge 3
dots=$(grep -Ec '<circle [^>]*r="[0-9.]+" fill="#' "$T/act.svg")
check "kink dots drawn (found $dots)" test "$dots" -ge 5
check "legend explains the rings" grep -qF '>one-sided limit at a kink</text>' "$T/act.svg"
check "two panels (two clip paths)" test "$(grep -c '<clipPath' "$T/act.svg")" -eq 2
check "f' panel labelled" grep -qF "f&apos;(x)" "$T/act.svg"
check "default range has tick -4" grep -qF '>-4</text>' "$T/act.svg"
check "default range has tick 4" grep -qF '>4</text>' "$T/act.svg"
check "no temporary file left" bash -c "! ls '$T' | grep -q '\\.tmp\\.'"

# ---- --range changes the ticks ----
run plot relu --range 0,100 -o "$T/wide.svg"
check "--range 0,100 exits 0" test "$rc" -eq 0
check "--range 0,100 has tick 100" grep -qF '>100</text>' "$T/wide.svg"
check "--range 0,100 has no tick -4" bash -c "! grep -qF '>-4</text>' '$T/wide.svg'"
run plot relu --range=-0.001,0.002 -o "$T/tiny.svg"
check "--range=-0.001,0.002 exits 0" test "$rc" -eq 0
check "tiny range has tick 0.001" grep -qF '>0.001</text>' "$T/tiny.svg"
check "tiny range svg is valid XML" valid_xml "$T/tiny.svg"

# ---- other flags ----
run plot relu --no-derivative --samples 3 --title 'a<b & "c"' -o "$T/one.svg"
check "--no-derivative exits 0" test "$rc" -eq 0
check "--no-derivative: one panel" test "$(grep -c '<clipPath' "$T/one.svg")" -eq 1
check "title escaped" grep -qF 'a&lt;b &amp; &quot;c&quot;' "$T/one.svg"
check "escaped title still valid XML" valid_xml "$T/one.svg"
check "singular 'function'" grep -qF '(1 function)' "$T/out"
run plot 'expr:x >= 0 ? x : -log(1-x)' --ylim -2,2 -o "$T/expr.svg"
check "expr: spec plots (rc $rc; $(cat "$T/err"))" test "$rc" -eq 0
check "expr label escaped in the legend" grep -qF 'expr:x &gt;= 0 ? x : -log(1-x)' "$T/expr.svg"
check "--ylim -2,2 sets the f ticks" grep -qF '>-2</text>' "$T/expr.svg"
check "expr svg valid XML" valid_xml "$T/expr.svg"
(cd "$T" && "$ACTLAB" plot relu >/dev/null 2>&1)
check "default output activations.svg" test -s "$T/activations.svg"

# ---- bad usage: status 2, a clear message, no file ----
expect_fail() { # expect_fail DESCRIPTION MESSAGE-FRAGMENT ARGS...
    local what=$1 msg=$2
    shift 2
    rm -f "$T/fail.svg"
    run "$@"
    check "$what: exit status 2 (got $rc)" test "$rc" -eq 2
    check "$what: message contains '$msg' (got: $(cat "$T/err"))" grep -qF -- "$msg" "$T/err"
    check "$what: no output file" test ! -e "$T/fail.svg"
}
expect_fail "reversed range" "--range expects LO,HI with LO < HI, got '5,1'" plot relu --range 5,1 -o "$T/fail.svg"
expect_fail "range junk" "got '1,x'" plot relu --range 1,x -o "$T/fail.svg"
expect_fail "range without value" "--range expects LO,HI" plot relu -o "$T/fail.svg" --range
expect_fail "unknown flag" "unknown flag '--bogus'" plot relu --bogus -o "$T/fail.svg"
expect_fail "no function" "no activation function given" plot -o "$T/fail.svg"
expect_fail "unknown function" "unknown activation 'relux'" plot relux -o "$T/fail.svg"
expect_fail "bad parameter" "alpha" plot elu:alpha=-1 -o "$T/fail.svg"
expect_fail "bad samples" "--samples expects a whole number" plot relu --samples 1 -o "$T/fail.svg"
expect_fail "bad ylim" "--ylim expects LO,HI" plot relu --ylim 2,2 -o "$T/fail.svg"

run plot relu -o "$T/no/such/dir/x.svg"
check "missing directory: exit status 2 (got $rc)" test "$rc" -eq 2
check "missing directory: message names the path" grep -qF "$T/no/such/dir/x.svg" "$T/err"
check "missing directory: nothing created" test ! -e "$T/no"

# Output path that is a directory: the write fails and no temporary file stays.
mkdir "$T/adir"
run plot relu -o "$T/adir"
check "directory as output: fails (got $rc)" test "$rc" -ne 0
check "directory as output: no temporary file left" bash -c "! ls '$T' | grep -q '\\.tmp\\.'"

# A failing run leaves an existing file alone.
echo old >"$T/keep.svg"
run plot relux -o "$T/keep.svg"
check "existing file untouched after an error" grep -qx old "$T/keep.svg"

echo "cli_plot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
