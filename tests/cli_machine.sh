#!/usr/bin/env bash
# CLI test of `actlab machine`: the text and the JSON (the keys a benchmark script reads:
# threads, isa, peak_gflops, stream_copy_gbs, stream_triad_gbs), and clear errors with exit
# status 2 for bad flags. Figures are checked for sanity, never for speed (the machine is shared).
set -u
A=${1:?usage: cli_machine.sh path/to/actlab}
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

$A machine --json >"$tmp/m.json"; rc=$?
check "machine --json exits 0" test $rc -eq 0
check "machine --json has the keys, sane and consistent" python3 -c '
import json,math,sys; m=json.load(open(sys.argv[1]))
for k in ("threads","isa","peak_gflops","stream_copy_gbs","stream_triad_gbs","balance"): assert k in m, k
assert m["threads"]==2, m  # ctest runs with OMP_NUM_THREADS=2: the default is all of them
assert m["isa"] in ("avx512","avx2","scalar"), m
assert 1 < m["peak_gflops"] < 10000 and m["stream_copy_gbs"] > 0.5 and m["stream_triad_gbs"] > 0.5, m
assert math.isclose(m["balance"], m["peak_gflops"]/m["stream_triad_gbs"], rel_tol=1e-9), m' "$tmp/m.json"
$A machine --threads 1 --json >"$tmp/m1.json"
check "machine --threads 1" python3 -c '
import json,sys; m=json.load(open(sys.argv[1])); assert m["threads"]==1 and m["peak_gflops"] > 1, m' "$tmp/m1.json"
out=$($A machine --threads 1); rc=$?
check "machine prints its figures" test $rc -eq 0 -a -n "$(grep -E '^peak FP32: +[0-9.]+ GFLOP/s' <<<"$out")" \
  -a -n "$(grep -E '^STREAM copy: +[0-9.]+ GB/s' <<<"$out")" -a -n "$(grep -E '^STREAM triad: +[0-9.]+ GB/s' <<<"$out")"
check "machine names its threads and ISA" grep -qE '^machine: 1 thread, (avx512|avx2|scalar) FMA loop' <<<"$out"
check "machine --help" $A machine --help
check "actlab --help lists machine" grep -q '^  machine ' <<<"$($A --help)"

# bad flags: one line naming the flag and what it expects, status 2
for bad_args in "--threads 0" "--threads 1.5" "--threads abc" "--threads 1025" "--threads"; do
  err=$($A machine $bad_args 2>&1); rc=$?
  check "machine $bad_args exits 2" test $rc -eq 2
  check "machine $bad_args names --threads and the range" grep -q -- "--threads expects a whole number in \[1, 1024\]" <<<"$err"
done
err=$($A machine --bogus 2>&1); rc=$?
check "machine --bogus exits 2 naming the flag" test $rc -eq 2 -a -n "$(grep -- "unknown flag '--bogus'" <<<"$err")"

echo "cli_machine: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
