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
assert all(k in m[0] for k in ("test_loss","lr","epoch_seconds","images_per_second"))
assert all(0 <= r["test_acc"] <= r["test_top5"] <= 1 for r in m), "top-5 in each record, at least top-1"
assert not any(k.startswith("val_") for k in m[0]), "no val fields without --val-split"
assert c["augment"]=="none" and c["crop_pad"]==0 and c["val_split"]==0 and c["val_images"]==0' "$tmp/a"
check "final record: per class and confusion matrix" python3 -c '
import gzip,json,sys; d=sys.argv[1]
f=json.load(open(d+"/final.json")); m=[json.loads(l) for l in open(d+"/metrics.jsonl")]
assert f["final"] is True and f["epoch"]==2 and f["test_acc"]==m[-1]["test_acc"] and f["test_top5"]==m[-1]["test_top5"]
assert f["classes"][0]=="T-shirt/top" and len(f["classes"])==10
lab=gzip.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").read()[8:8+1000]
counts=[sum(1 for b in lab if b==k) for k in range(10)]
conf=f["confusion"]; assert len(conf)==10 and all(len(r)==10 for r in conf)
assert [sum(r) for r in conf]==counts==f["test_class_count"], ("row sums are the classes test counts", [sum(r) for r in conf], counts)
assert [conf[k][k] for k in range(10)]==f["test_class_correct"]
assert abs(sum(f["test_class_correct"])/1000 - f["test_acc"]) < 1e-12
assert all(abs(a - conf[k][k]/counts[k]) < 1e-12 for k,a in enumerate(f["test_class_acc"]))' "$tmp/a"
out=$($A test --checkpoint "$tmp/a/last.ckpt" --data fashion-mnist --test-subset 1000 --confusion)
want=$(python3 -c 'import json,sys; m=[json.loads(l) for l in open(sys.argv[1])]; print("%.2f%%, top-5 %.2f%%" % (100*m[-1]["test_acc"], 100*m[-1]["test_top5"]))' "$tmp/a/metrics.jsonl")
check "test reproduces the run's final accuracy ($want)" grep -q "accuracy $want" <<<"$out"
check "test prints per-class accuracy" grep -q '^ *9 Ankle boot .*%' <<<"$out"
check "test --confusion prints the matrix" test "$(grep -A11 '^confusion matrix' <<<"$out" | wc -l)" -eq 12
$A test --checkpoint "$tmp/a/last.ckpt" --data fashion-mnist --test-subset 1000 --json >"$tmp/a.json"
check "test --json matches the final record" python3 -c '
import json,sys; t=json.load(open(sys.argv[1])); f=json.load(open(sys.argv[2]))
assert all(t[k]==f[k] for k in ("test_acc","test_top5","classes","test_class_count","test_class_correct","test_class_acc","confusion")), t' "$tmp/a.json" "$tmp/a/final.json"

# measurements in every record: probe (dead units, mean, std, negative share), gradient norms, times
check "measurement records" python3 -c '
import json,sys; d=sys.argv[1]
m=[json.loads(l) for l in open(d+"/metrics.jsonl")]
for r in m:
    p=r["probe"]; assert p["images"]==1024 and [l["layer"] for l in p["layers"]]==[1,4,7,9], p
    for k,l in enumerate(p["layers"]):
        assert l["act_index"]==k and l["function"]=="erelu" and l["units"]>0 and "params" not in l, l
        assert all(0 <= l[f] <= 1 for f in ("dead","near_dead","negative")) and l["dead"] <= l["near_dead"], l
        assert l["std"] > 0 and abs(l["mean"]) < 10, l
    assert [l["units"] for l in p["layers"]]==[6,16,120,84]
    g=r["grad_norm"]; assert [x["layer"] for x in g]==[0,3,6,8,10] and g[0]["type"]=="conv", g
    assert all(x["weight"] > 0 and x["bias"] > 0 for x in g), g
    t=r["time"]; assert t["step_ms"] > 0 and 0 < t["act_share"] < 1 and len(t["layers"])==11, t
    assert all(x["fwd_ms"] >= 0 and x["bwd_ms"] >= 0 for x in t["layers"]) and t["layers"][1]["type"]=="activation"
    assert sum(x["fwd_ms"]+x["bwd_ms"] for x in t["layers"]) <= t["step_ms"]*1.01, "layers within the step"
assert 0 < m[0]["elapsed_seconds"] < m[1]["elapsed_seconds"] and abs(m[1]["elapsed_seconds"]-m[0]["epoch_seconds"]-m[1]["epoch_seconds"]) < 1e-9
assert "targets" not in json.load(open(d+"/final.json"))' "$tmp/a"
$A train $run --act erelu --unfused --out "$tmp/uf" >/dev/null 2>&1
check "--unfused (no layer in place): the same weights" cmp -s "$tmp/a/last.ckpt" "$tmp/uf/last.ckpt"
$A train $run --act erelu --probe 0 --targets 0.5,0.99,0.5 --out "$tmp/np" >/dev/null 2>&1
check "--probe 0: no probe, the same weights" cmp -s "$tmp/a/last.ckpt" "$tmp/np/last.ckpt"
check "--probe 0 leaves the probe out; --targets in final.json" python3 -c '
import json,sys; d=sys.argv[1]
m=[json.loads(l) for l in open(d+"/metrics.jsonl")]; assert all("probe" not in r and "grad_norm" in r and "time" in r for r in m)
t=json.load(open(d+"/final.json"))["targets"]; assert set(t)=={"0.5","0.99"} and t["0.99"] is None, t
e=next(r for r in m if r["test_acc"] >= 0.5)
assert t["0.5"]=={"epoch": e["epoch"], "seconds": e["elapsed_seconds"]}, (t, e)' "$tmp/np"
$A train $run --act prelu --act-per-channel --probe 100 --epochs 1 --subset 640 --out "$tmp/pp" >/dev/null 2>&1
check "learnable parameters per channel in the probe" python3 -c '
import json,sys; r=json.loads(open(sys.argv[1]).readline()); p=r["probe"]; assert p["images"]==100
for l in p["layers"]:
    a=l["params"]["a"]; assert a["min"] <= a["mean"] <= a["max"] and a["std"] >= 0 and "value" not in a, a
assert all("act" in x for x in r["grad_norm"] if x["type"]=="activation")' "$tmp/pp/metrics.jsonl"
$A train $run --act prelu --probe 100 --epochs 1 --subset 640 --out "$tmp/pl" >/dev/null 2>&1
check "a learnable parameter per layer: its value" python3 -c '
import json,sys; r=json.loads(open(sys.argv[1]).readline())
for l in r["probe"]["layers"]:
    a=l["params"]["a"]; assert a["value"]==a["mean"]==a["min"]==a["max"] and a["std"]==0, a' "$tmp/pl/metrics.jsonl"
for bad in "--probe -1" "--probe x" "--targets 1.5" "--targets 0.8,,x" "--targets 0"; do
  err=$($A train $run $bad --out "$tmp/x" 2>&1); rc=$?
  check "bad value '$bad' exits 2 naming the flag" test $rc -eq 2 -a -n "$(grep -- "${bad%% *} expects" <<<"$err")"
done
err=$($A train --model autoencoder --subset 200 --test-subset 100 --epochs 1 --threads 1 --targets 0.5 --out "$tmp/x" 2>&1); rc=$?
check "--targets with an autoencoder is refused" test $rc -ne 0 -a -n "$(grep -- '--targets: an autoencoder' <<<"$err")"

# actlab profile: the per-layer table of a training step
out=$($A profile --model lenet --data fashion-mnist --act erelu --batch 32 --threads 1 --steps 3 --warmup 1); rc=$?
check "profile exits 0" test $rc -eq 0
check "profile prints a row per layer" test "$(grep -cE '^[0-9]+ +(conv|activation|maxpool|dense) ' <<<"$out")" -eq 11
check "profile prints the activation share" grep -qE '^activation layers: .* ms per step, [0-9.]+% of the step' <<<"$out"
$A profile --model lenet --batch 16 --threads 1 --steps 2 --json >"$tmp/prof.json"; rc=$?
check "profile --json" python3 -c '
import json,sys; p=json.load(open(sys.argv[1])); assert p["batch"]==16 and p["steps"]==2 and 0 < p["act_share"] < 1, p
l=p["layers"]; assert len(l)==11 and all(x["fwd_ms"] > 0 and x["share"] > 0 for x in l)
assert l[0]["type"]=="conv" and l[0]["fwd_gflops"] > 0 and l[0]["bwd_gflops"] > 0 and "bwd_gflops" not in l[1]' "$tmp/prof.json"
err=$($A profile --steps 0 2>&1); rc=$?
check "profile --steps 0 exits 2" test $rc -eq 2 -a -n "$(grep -- '--steps expects' <<<"$err")"
err=$($A profile --model nosuch 2>&1); rc=$?
check "profile with an unknown model fails clearly" test $rc -ne 0 -a -n "$(grep "no model 'nosuch'" <<<"$err")"

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

# augmentation and a validation split: recorded, and a killed run still resumes bit-identically
aug="--model lenet --data fashion-mnist --subset 700 --test-subset 300 --epochs 2 --batch 50 --lr 0.02 --seed 3 --threads 1 --augment crop,flip --val-split 0.1"
$A train $aug --out "$tmp/g" >"$tmp/g.out" 2>"$tmp/g.err"; rc=$?
check "augmented run with a validation split exits 0" test $rc -eq 0
check "summary shows val and test" grep -q 'val accuracy .*test accuracy' "$tmp/g.out"
check "epoch lines show val and test" test "$(grep -c '| val loss .* | test loss' "$tmp/g.err")" -eq 2
check "augmented records" python3 -c '
import json,sys; d=sys.argv[1]
c=json.load(open(d+"/config.json"))
assert c["augment"]=="crop,flip" and c["crop_pad"]==4 and c["val_split"]==0.1 and c["val_seed"]==0, c
assert c["val_images"]==70 and c["train_images"]==630, "the subset first, then 10 % of it held out"
assert len(c["crop_fill"])==1 and abs(c["crop_fill"][0] + c["normalise_mean"][0]/c["normalise_std"][0]) < 1e-6, "pads with black"
m=[json.loads(l) for l in open(d+"/metrics.jsonl")]; assert len(m)==2
assert all(k in r for r in m for k in ("val_loss","val_acc","val_top5","test_top5")), m
f=json.load(open(d+"/final.json")); assert f["val_acc"]==m[-1]["val_acc"] and sum(map(sum, f["confusion"]))==300' "$tmp/g"
$A train $aug --out "$tmp/h2" --stop-after 17 >/dev/null 2>&1; rc=$?
check "augmented: --stop-after stops" test $rc -ne 0 -a ! -f "$tmp/h2/final.json"
$A train $aug --out "$tmp/h2" --resume >/dev/null 2>&1
check "augmented run with val split resumed: bit-identical checkpoint" cmp -s "$tmp/g/last.ckpt" "$tmp/h2/last.ckpt"
check "augmented run resumed: identical final record" cmp -s "$tmp/g/final.json" "$tmp/h2/final.json"
err=$($A train ${aug/crop,flip/flip} --out "$tmp/h2" --resume 2>&1 >/dev/null); rc=$?
check "resuming with another augmentation is refused" test $rc -ne 0 -a -n "$(grep 'augment is' <<<"$err")"
err=$($A train ${aug/0.1/0.2} --out "$tmp/h2" --resume 2>&1 >/dev/null); rc=$?
check "resuming with another validation split is refused" test $rc -ne 0 -a -n "$(grep 'val_split is' <<<"$err")"
$A train ${aug/crop,flip/none} --epochs 1 --out "$tmp/n" >/dev/null 2>&1
check "augmentation changes what is trained on, not the held-out images" python3 -c '
import json,sys; a=json.loads(open(sys.argv[1]).readline()); b=json.loads(open(sys.argv[2]).readline())
ca=json.load(open(sys.argv[3])); cb=json.load(open(sys.argv[4]))
assert a["train_loss"] != b["train_loss"] and ca["val_images"]==cb["val_images"]==70 and ca["augment"]=="none"' \
  "$tmp/n/metrics.jsonl" "$tmp/g/metrics.jsonl" "$tmp/n/config.json" "$tmp/g/config.json"

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
err=$($A train $run --val-split 1.5 --out "$tmp/x" 2>&1); rc=$?
check "--val-split 1.5 exits 2" test $rc -eq 2 -a -n "$(grep -- '--val-split expects a fraction above 0 and below 1' <<<"$err")"
err=$($A train $run --val-split 0 --out "$tmp/x" 2>&1); rc=$?
check "--val-split 0 exits 2" test $rc -eq 2
err=$($A train $run --augment bogus --out "$tmp/x" 2>&1); rc=$?
check "--augment bogus exits 2" test $rc -eq 2 -a -n "$(grep -- "--augment: expected none or a comma list of crop and flip, got 'bogus'" <<<"$err")"
err=$($A train $run --augment flip --crop-pad 2 --out "$tmp/x" 2>&1); rc=$?
check "--crop-pad without crop exits 2" test $rc -eq 2 -a -n "$(grep -- '--crop-pad needs --augment crop' <<<"$err")"
err=$($A train $run --augment crop --crop-pad 0 --out "$tmp/x" 2>&1); rc=$?
check "--crop-pad 0 exits 2" test $rc -eq 2 -a -n "$(grep -- '--crop-pad expects' <<<"$err")"
err=$($A train $run --subset 5 --val-split 0.05 --out "$tmp/x" 2>&1); rc=$?
check "a split leaving no validation image is refused" test $rc -ne 0 -a -n "$(grep 'no validation image' <<<"$err")"
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
