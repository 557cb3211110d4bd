#!/usr/bin/env bash
# CLI test of the papers' conv nets: the model files (resnet18, vgg16, elu-cifar-11)
# adapt to the data's shape or refuse clearly; recipe files; and short real runs of
# ResNet-18 at a quarter of the width (tests/models/resnet18-quarter.cfg) on the
# CIFAR-10 subset and on a FER2013 subset from ../shared/data: the loss falls and the
# test accuracy ends well above chance.
set -u
A=${1:?usage: cli_cnn.sh path/to/actlab}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=$src/../shared/data
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export ACTLAB_CACHE=$tmp/cache

# models: shapes and totals (kuangliu/pytorch-cifar's counts without conv biases)
$A model show resnet18 >"$tmp/r18" 2>&1
check "resnet18: 11,173,962 trained parameters" grep -q 'total: 11173962 trained parameters' "$tmp/r18"
check "resnet18: three 1x1 stride-2 projections" test "$(grep -c 'conv .*1x1 stride 2 pad 0 no bias' "$tmp/r18")" -eq 3
$A model show vgg16 >"$tmp/vgg" 2>&1
check "vgg16: 13 conv layers" test "$(grep -c '^[0-9]* *conv ' "$tmp/vgg")" -eq 13
check "vgg16: 14,724,042 trained parameters" grep -q 'total: 14724042 trained parameters' "$tmp/vgg"
$A model show vgg16 --input 1x48x48 --classes 7 >"$tmp/vggfer" 2>&1
check "vgg16 adapts to FER2013 (1x48x48, 7 classes)" grep -q 'dense *512->7 ' "$tmp/vggfer"
$A model show vgg16 --input 1x28x28 >"$tmp/vggmn" 2>&1; rc=$?
check "vgg16 refuses 28x28 images" test $rc -ne 0
check "... saying why" grep -q "the data's 1x28x28 images do not fit this model (written for 3x32x32)" "$tmp/vggmn"
$A model show elu-cifar-11 >"$tmp/elu" 2>&1
check "elu-cifar-11: 11 conv layers, 100 classes from filters=classes" test "$(grep -c '^[0-9]* *conv ' "$tmp/elu")" -eq 11
check "elu-cifar-11: dropout 0.5 in stack 6" grep -q 'dropout *p=0.5' "$tmp/elu"

# recipes: flags after the recipe override it; bad keys name the file and line
$A train --recipe "$src/experiments/erelu-resnet18.cfg" --help >/dev/null 2>&1
check "recipe + --help" test $? -eq 0
printf '[train]\nlr = 0.001\nlearning_rate = 3\n' >"$tmp/bad.cfg"
$A train --recipe "$tmp/bad.cfg" >"$tmp/o" 2>&1; rc=$?
check "unknown recipe key fails" test $rc -eq 2
check "... naming file and line" grep -q "bad.cfg:3: unknown key 'learning_rate'" "$tmp/o"
printf '[train]\nnesterov = maybe\n' >"$tmp/bad2.cfg"
$A train --recipe "$tmp/bad2.cfg" >"$tmp/o" 2>&1
check "bad switch value" grep -q "bad2.cfg:2: nesterov: expected 1/0" "$tmp/o"

q="$src/tests/models/resnet18-quarter.cfg"
if [ -f "$data/cifar10/data_batch_1_first4000.bin" ]; then
  # 4,000 CIFAR-10 images, 2 epochs: chance is 10 %
  printf '[train]\nmodel = %s\nepochs = 2\nbatch = 128\nlr = 0.05\nmomentum = 0.9\n' "$q" >"$tmp/q.cfg"
  $A train --recipe "$tmp/q.cfg" --data "cifar10:$data/cifar10" --epochs 2 --seed 3 --threads 2 --out "$tmp/c10" \
    >"$tmp/c10.out" 2>"$tmp/c10.err"; rc=$?
  check "resnet18-quarter on CIFAR-10 exits 0 ($(tail -1 "$tmp/c10.err"))" test $rc -eq 0
  check "CIFAR-10: loss falls, test accuracy >= 25 % (chance 10 %)" python3 -c '
import json,sys; m=[json.loads(l) for l in open(sys.argv[1]+"/metrics.jsonl")]
assert m[1]["train_loss"] < m[0]["train_loss"], m
assert m[1]["test_acc"] >= 0.25, m[1]["test_acc"]
c=json.load(open(sys.argv[1]+"/config.json")); assert c["model"].endswith("resnet18-quarter.cfg") and c["lr"]==0.05' "$tmp/c10"
else
  bad "no CIFAR-10 subset in $data/cifar10"
fi

if [ -f "$data/fer2013/fer2013-jpeg.tar.gz" ]; then
  # a ninth of FER2013's training faces (Training_1*) and its 3,589 test faces
  mkdir -p "$tmp/fer"
  tar -xzf "$data/fer2013/fer2013-jpeg.tar.gz" -C "$tmp/fer" --wildcards 'fer2013-jpeg/train/*/Training_1*' \
    'fer2013-jpeg/test/*'
  # resized to 32x32 (the option of image folders) to keep the test short
  $A train --model "$q" --data "fer2013:$tmp/fer/fer2013-jpeg,size=32" --epochs 3 --lr 0.02 --seed 3 \
    --threads 2 --out "$tmp/fer1" >"$tmp/fer.out" 2>"$tmp/fer.err"; rc=$?
  check "resnet18-quarter on FER2013 exits 0 ($(tail -1 "$tmp/fer.err"))" test $rc -eq 0
  # chance: 1/7 by guessing, 24.5 % by always answering the largest class (happy)
  check "FER2013: losses fall, accuracy above the largest class's share" python3 -c '
import json,sys; m=[json.loads(l) for l in open(sys.argv[1]+"/metrics.jsonl")]
f=json.load(open(sys.argv[1]+"/final.json")); share=max(f["test_class_count"])/sum(f["test_class_count"])
assert share < 0.25, share
assert m[-1]["train_loss"] < m[0]["train_loss"] - 0.1, m
assert m[-1]["test_loss"] < m[0]["test_loss"], m
assert m[-1]["train_acc"] > share + 0.05, (m[-1]["train_acc"], share)
assert m[-1]["test_acc"] > share + 0.02, (m[-1]["test_acc"], share)' "$tmp/fer1"
  check "FER2013: the decoded images were cached" test -n "$(ls "$tmp/cache" 2>/dev/null)"
else
  bad "no FER2013 archive in $data/fer2013"
fi

echo "cli_cnn: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
