#!/usr/bin/env bash
# CLI test of --precision (the bf16 speed mode): a bad value fails with the flag's name and
# status 2 (train, profile); a bf16 run trains, says so, records it in config.json, keeps
# f32 weights in its checkpoint (actlab test reads it), resumes bit-identically and refuses
# to resume as f32; without AVX512-BF16 (imitated with ONEDNN_MAX_CPU_ISA) it fails clearly.
# The bf16 runs are skipped on a CPU without avx512_bf16.
set -u
A=${1:?usage: cli_precision.sh path/to/actlab}
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for cmd in train profile; do
  $A $cmd --precision f16 >"$tmp/o" 2>&1; rc=$?
  check "$cmd --precision f16 exits 2 (got $rc)" test $rc -eq 2
  check "$cmd: the message names the flag and the values ($(head -c 200 "$tmp/o"))" \
    grep -q -- "--precision expects f32 or bf16, got 'f16'" "$tmp/o"
done
$A train --help | grep -q -- '--precision f32|bf16'; check "train --help lists --precision" test $? -eq 0

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "cli_precision: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
  echo "cli_precision: $pass passed, 1 failed"; exit 1
fi
run="--model lenet --data fashion-mnist --subset 2000 --test-subset 500 --epochs 2 --batch 64 --lr 0.02 --seed 3 --threads 2"

# without AVX512-BF16: a clear message before anything trains, status 1
ONEDNN_MAX_CPU_ISA=AVX512_CORE $A train $run --precision bf16 --out "$tmp/x" >"$tmp/x.out" 2>"$tmp/x.err"; rc=$?
check "no AVX512-BF16: exit 1 (got $rc)" test $rc -eq 1
check "no AVX512-BF16: says so ($(head -c 200 "$tmp/x.err"))" grep -q -- "--precision bf16: this CPU has no AVX512-BF16" "$tmp/x.err"
check "no AVX512-BF16: nothing trained" test ! -e "$tmp/x/metrics.jsonl"

if ! grep -qw avx512_bf16 /proc/cpuinfo; then
  echo "cli_precision: this CPU has no avx512_bf16: the bf16 runs are skipped"
  echo "cli_precision: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit
fi

$A train $run --out "$tmp/f" >"$tmp/f.out" 2>"$tmp/f.err"; rc=$?
check "f32 run exits 0" test $rc -eq 0
$A train $run --precision bf16 --out "$tmp/b" >"$tmp/b.out" 2>"$tmp/b.err"; rc=$?
check "bf16 run exits 0 ($(tail -1 "$tmp/b.err"))" test $rc -eq 0
check "bf16 run says so in its header" grep -q '^precision bf16: ' "$tmp/b.err"
check "... and in its summary" grep -q 'on fashion-mnist (bf16): 2 epochs' "$tmp/b.out"
check "f32 run prints no precision line" test -z "$(grep -i 'bf16' "$tmp/f.err" "$tmp/f.out")"
check "config.json records the precision; bf16 learns about as well as f32" python3 -c '
import json,sys
cf=json.load(open(sys.argv[1]+"/config.json")); cb=json.load(open(sys.argv[2]+"/config.json"))
assert cf["precision"]=="f32" and cb["precision"]=="bf16", (cf["precision"], cb["precision"])
mf=[json.loads(l) for l in open(sys.argv[1]+"/metrics.jsonl")]; mb=[json.loads(l) for l in open(sys.argv[2]+"/metrics.jsonl")]
assert mb[1]["train_loss"] < mb[0]["train_loss"], "bf16 loss falls"
assert mb[1]["test_acc"] > 0.6, mb[1]["test_acc"]
assert abs(mb[1]["test_acc"]-mf[1]["test_acc"]) < 0.05, (mb[1]["test_acc"], mf[1]["test_acc"])
assert mb[1]["train_loss"] != mf[1]["train_loss"], "bf16 changes the arithmetic"' "$tmp/f" "$tmp/b"
out=$($A test --checkpoint "$tmp/b/last.ckpt" --data fashion-mnist --test-subset 500 2>&1); rc=$?
check "actlab test reads the bf16 run's checkpoint (f32 weights) ($out)" test $rc -eq 0
# killed in epoch 2 and resumed: the same bits as the run that was never stopped
$A train $run --precision bf16 --out "$tmp/k" --stop-after 40 >/dev/null 2>&1; rc=$?
check "--stop-after stops the bf16 run" test $rc -ne 0
$A train $run --precision bf16 --out "$tmp/k" --resume >/dev/null 2>&1; rc=$?
check "bf16 resume exits 0" test $rc -eq 0
check "bf16 resumed run ends bit-identical" cmp -s "$tmp/b/last.ckpt" "$tmp/k/last.ckpt"
err=$($A train $run --epochs 3 --out "$tmp/k" --resume 2>&1 >/dev/null); rc=$?
check "resuming a bf16 run as f32 is refused ($err)" test $rc -ne 0 -a -n "$(grep 'precision is "f32" now but was "bf16"' <<<"$err")"
$A profile --model lenet --data fashion-mnist --batch 64 --steps 2 --warmup 1 --threads 2 --precision bf16 >"$tmp/p" 2>&1; rc=$?
check "profile --precision bf16 exits 0 ($(tail -1 "$tmp/p"))" test $rc -eq 0

echo "cli_precision: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
