#!/usr/bin/env bash
# CLI test of `actlab train` and `actlab test` on a slice of Fashion-MNIST: a short run
# learns, records are written, a killed run resumes to bit-identical weights, and every
# bad input (flag, model file, data file, checkpoint, NaN loss) fails clearly.
set -u
A=${1:?usage: cli_train.sh path/to/actlab}
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "cli_train: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"; echo "cli_train: 0 passed, 1 failed"; exit 1
fi
run="--model lenet --data fashion-mnist --subset 3000 --test-subset 1000 --epochs 2 --batch 64 --lr 0.02 --seed 7 --threads 1"

# a short real run: loss falls, accuracy well above chance (10 %)
$A train $run --act erelu --out "$tmp/a" >"$tmp/a.out" 2>"$tmp/a.err"; rc=$?
check "train exits 0" test $rc -eq 0
check "train prints a summary" grep -q 'test accuracy' "$tmp/a.out"
check "one progress line per epoch when not a terminal" test "$(grep -c '^epoch' "$tmp/a.err")" -eq 2
check "records" python3 -c '
import json,sys; d=sys.argv[1]
c=json.load(open(d+"/config.json")); assert c["act"]=="erelu" and c["seed"]==7 and c["threads"]==1 and c["batch"]==64
m=[json.loads(l) for l in open(d+"/metrics.jsonl")]; assert len(m)==2, m
assert m[1]["train_loss"] < m[0]["train_loss"], "loss falls"
assert m[1]["test_acc"] > 0.65, "test accuracy %.3f should exceed 0.65 after 2 short epochs" % m[1]["test_acc"]
assert all(k in m[0] for k in ("test_loss","lr","epoch_seconds","images_per_second"))' "$tmp/a"
out=$($A test --checkpoint "$tmp/a/last.ckpt" --data fashion-mnist --test-subset 1000)
want=$(python3 -c 'import json,sys; m=[json.loads(l) for l in open(sys.argv[1])]; print("%.2f%%" % (100*m[-1]["test_acc"]))' "$tmp/a/metrics.jsonl")
check "test reproduces the run's final accuracy ($want)" grep -q "accuracy $want" <<<"$out"

# same seed and threads: bit-identical; a killed run resumed: bit-identical too
$A train $run --act erelu --out "$tmp/b" >/dev/null 2>&1
check "same seed, same weights" cmp -s "$tmp/a/last.ckpt" "$tmp/b/last.ckpt"
$A train $run --act erelu --out "$tmp/c" --stop-after 60 >/dev/null 2>&1; rc=$?
check "--stop-after stops with an error status" test $rc -ne 0
$A train $run --act erelu --out "$tmp/c" --resume >/dev/null 2>&1
check "resumed run ends bit-identical" cmp -s "$tmp/a/last.ckpt" "$tmp/c/last.ckpt"
check "resumed run has both epochs' records" test "$(wc -l <"$tmp/c/metrics.jsonl")" -eq 2
err=$($A train $run --act relu --out "$tmp/c" --resume 2>&1 >/dev/null); rc=$?
check "resuming with another activation is refused" test $rc -ne 0 -a -n "$(grep 'act is' <<<"$err")"

# learnable activation parameters train, per channel
$A train $run --act prelu --act-per-channel --epochs 1 --out "$tmp/p" >/dev/null 2>&1
check "prelu per channel trains" test -f "$tmp/p/last.ckpt"

# the autoencoder trains on reconstruction error (MSE), without accuracy
$A train --model autoencoder --subset 2000 --test-subset 500 --epochs 2 --lr 0.01 --threads 1 --out "$tmp/ae" >/dev/null 2>&1
check "autoencoder: reconstruction error falls" python3 -c '
import json,sys; m=[json.loads(l) for l in open(sys.argv[1])]
assert len(m)==2 and m[1]["test_loss"] < m[0]["test_loss"] and "test_acc" not in m[0], m' "$tmp/ae/metrics.jsonl"

err=$($A train --subset 200 --test-subset 100 --epochs 1 --threads 1 --verbose --out "$tmp/v" 2>&1 >/dev/null)
check "--verbose names keys left at their defaults" grep -q 'lenet.cfg:9: \[conv\] stride left at its default' <<<"$err"

# training settings from the model file's [net], and flags over them
printf '[net]\nbatch=32\nlr=0.05\nmomentum=0.5\nschedule=step:size=1,gamma=0.5\nepochs=1\n[dense]\noutputs=32\n[dense]\n' >"$tmp/hints.cfg"
$A train --model "$tmp/hints.cfg" --subset 300 --test-subset 100 --threads 1 --lr 0.2 --out "$tmp/h" >/dev/null 2>&1
check "model-file settings used, flags win" python3 -c '
import json,sys; c=json.load(open(sys.argv[1]))
assert c["batch"]==32 and c["momentum"]==0.5 and c["epochs"]==1 and c["lr"]==0.2 and c["schedule"].startswith("step:size=1"), c' "$tmp/h/config.json"

# errors: clear message, non-zero exit, nothing half-written
err=$($A train $run --lr abc --out "$tmp/x" 2>&1); rc=$?
check "bad --lr exits 2" test $rc -eq 2 -a -n "$(grep -- '--lr expects' <<<"$err")"
err=$($A train $run --act relux --out "$tmp/x" 2>&1); rc=$?
check "unknown activation named" test $rc -ne 0 -a -n "$(grep 'did you mean relu' <<<"$err")"
printf '[net]\n[conv]\nfilters=4\n[pool]\n' >"$tmp/bad.cfg"
err=$($A train $run --model "$tmp/bad.cfg" --out "$tmp/x" 2>&1); rc=$?
check "unknown layer in a model file names file:line" test $rc -ne 0 -a -n "$(grep -F "bad.cfg:4: unknown section [pool]" <<<"$err")"
mkdir -p "$tmp/idx"
cp /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz "$tmp/idx/"
cp /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz "$tmp/idx/"
zcat /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz | head -c 100000 >"$tmp/idx/train-images-idx3-ubyte"
err=$($A train $run --data "mnist:$tmp/idx" --out "$tmp/x" 2>&1); rc=$?
check "truncated IDX file refused" test $rc -ne 0 -a -n "$(grep 'truncated' <<<"$err")"
err=$($A train $run --lr 80 --out "$tmp/nan" 2>&1); rc=$?
check "NaN loss stops the run" test $rc -ne 0 -a -n "$(grep 'the loss is' <<<"$err")"
head -c 3000 "$tmp/a/last.ckpt" >"$tmp/trunc.ckpt"
err=$($A test --checkpoint "$tmp/trunc.ckpt" 2>&1); rc=$?
check "truncated checkpoint refused" test $rc -ne 0 -a -n "$(grep 'truncated' <<<"$err")"
check "no temporary files left" test -z "$(find "$tmp" -name '*.tmp.*')"

echo "cli_train: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
