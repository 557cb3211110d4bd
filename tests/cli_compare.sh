#!/usr/bin/env bash
# CLI test of `actlab compare` on a few hundred Fashion-MNIST images: a 2 x 2 grid's
# records, pairing by seed (same initial weights for every function), skip on rerun,
# resume after --stop-after and after Ctrl-C, a diverging function recorded as failed
# while the others finish, and bad input refused with a clear message.
set -u
A=${1:?usage: cli_compare.sh path/to/actlab}
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "cli_compare: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"; echo "cli_compare: 0 passed, 1 failed"; exit 1
fi
R="--model lenet --data fashion-mnist --seeds 2 --epochs 2 --subset 300 --test-subset 200 --batch 32 --threads 1"
cells=fashion-mnist/lenet

# the grid: 2 functions x 2 seeds, records and status per cell
$A compare --acts relu,leaky_relu:a=0.1 $R --targets 0.5 --out "$tmp/g" >"$tmp/g.out" 2>"$tmp/g.err"; rc=$?
check "compare exits 0 when every cell is done (rc $rc: $(head -c 300 "$tmp/g.err"))" test $rc -eq 0
check "one start and one finish line per cell" test "$(grep -c '^cell [1-4]/4 ' "$tmp/g.out")" -eq 8
check "the summary" grep -q '^4 cells: 4 done, 0 failed' "$tmp/g.out"
check "prints where the report is" grep -qx "report: $tmp/g/report.html" "$tmp/g.out"
check "report files" test -s "$tmp/g/report.html" -a -s "$tmp/g/report.md"
check "epoch lines go to each cell's train.log, not the terminal" test "$(grep -c '^epoch' "$tmp/g.err")" -eq 0
check "cell records" python3 -c '
import json,os,sys; d=sys.argv[1]
g=json.load(open(d+"/compare.json"))
assert [a["spec"] for a in g["acts"]]==["relu","leaky_relu:a=0.1"] and [a["slug"] for a in g["acts"]]==["relu","leaky_relu-a=0.1"], g["acts"]
assert g["seeds"]==[1,2] and g["baseline"]=="relu" and g["targets"]==[0.5] and g["train"]["epochs"]==2 and g["train"]["init_gain"]=="relu"
assert g["models"][0]["slug"]=="lenet" and g["data"][0]["slug"]=="fashion-mnist" and g["actlab_version"]
for a in g["acts"]:
    for s in (1,2):
        c=d+"/cells/fashion-mnist/lenet/%s/seed-%d/"%(a["slug"],s)
        for f in ("config.json","metrics.jsonl","final.json","last.ckpt","train.log","status.json"): assert os.path.exists(c+f), c+f
        st=json.load(open(c+"status.json")); cf=json.load(open(c+"config.json"))
        assert st["state"]=="done" and st["error"]=="" and st["seconds"]>0, st
        assert cf["seed"]==s and cf["init_gain"]=="relu" and cf["act"]==a["full"] and cf["epochs"]==2 and cf["threads"]==1
        assert len(open(c+"metrics.jsonl").read().splitlines())==2
        assert open(c+"train.log").read().count("\nepoch ")==2' "$tmp/g"

# pairing: with lr 0 the checkpoint holds the initial weights; per seed they are the
# same for both functions, differ between seeds, and differ under the function's own gain
$A compare --acts relu,elu --model lenet --data fashion-mnist --seeds 2 --epochs 1 --subset 64 --test-subset 64 --batch 32 \
  --threads 1 --lr 0 --momentum 0 --out "$tmp/p" >/dev/null 2>&1
$A train --act elu --init-gain act --lr 0 --momentum 0 --seed 1 --epochs 1 --subset 64 --test-subset 64 --batch 32 --threads 1 \
  --out "$tmp/own" >/dev/null 2>&1
check "paired: one seed, the same initial weights for every function" python3 -c '
import struct,sys
def params(p):
    b=open(p,"rb").read(); o=16; s=[]
    while o < len(b):
        n=struct.unpack_from("<Q",b,o)[0]; o+=8; s.append(b[o:o+n]); o+=n
    return s[2]
d=sys.argv[1]+"/cells/fashion-mnist/lenet/"; w=lambda a,s: params(d+"%s/seed-%d/last.ckpt"%(a,s))
assert len(w("relu",1)) > 100000
assert w("relu",1)==w("elu",1) and w("relu",2)==w("elu",2), "same seed, same weights"
assert w("relu",1)!=w("relu",2), "another seed, other weights"
assert params(sys.argv[2]+"/last.ckpt")!=w("elu",1), "the check can tell: ELU with its own gain starts elsewhere"' "$tmp/p" "$tmp/own"

# a rerun skips every done cell: nothing trains, no record changes
sums() { (cd "$1" && find compare.json cells -type f | sort | xargs md5sum); }
sums "$tmp/g" >"$tmp/before"
start=$(date +%s%N)
$A compare --acts relu,leaky_relu:a=0.1 $R --targets 0.5 --out "$tmp/g" >"$tmp/g2.out" 2>&1; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
sums "$tmp/g" >"$tmp/after"
check "rerun exits 0" test $rc -eq 0
check "rerun trains nothing" grep -q '^4 cells: 4 done, 0 failed (this run trained 0' "$tmp/g2.out"
check "rerun reports each cell as done earlier" test "$(grep -c 'done earlier, test acc' "$tmp/g2.out")" -eq 4
check "rerun leaves every record byte for byte" cmp -s "$tmp/before" "$tmp/after"
check "rerun is fast (${ms} ms)" test $ms -lt 3000

# the grid may grow by functions and seeds; other changes are refused
$A compare --acts relu $R --targets 0.5 --out "$tmp/g" >/dev/null 2>"$tmp/e1"; rc=$?
check "a grid without one of OUT's functions is refused ($rc)" test $rc -eq 2
check "... naming it" grep -q 'leaky_relu:a=0.1 is not in this one' "$tmp/e1"
$A compare --acts relu,leaky_relu:a=0.1 $R --lr 0.5 --out "$tmp/g" >/dev/null 2>"$tmp/e2"; rc=$?
check "a grid with another shared setting is refused ($rc)" test $rc -eq 2
check "... naming it" grep -q 'holds another grid: the shared setting lr is 0.5 now' "$tmp/e2"
check "a refused grid leaves compare.json" cmp -s <(sums "$tmp/g") "$tmp/before"
$A compare --acts relu,leaky_relu:a=0.1 $R --targets 0.6 --out "$tmp/g" >/dev/null 2>"$tmp/e3"; rc=$?
check "other targets are refused (done cells keep theirs) ($rc)" test $rc -eq 2
p2="--model lenet --data fashion-mnist --epochs 1 --subset 64 --test-subset 64 --batch 32 --threads 1 --lr 0 --momentum 0"
$A compare --acts relu,elu,selu $p2 --seeds 3 --out "$tmp/p" >"$tmp/grow.out" 2>&1; rc=$?
check "a grid may grow by functions and seeds (rc $rc)" grep -q '^9 cells: 9 done, 0 failed (this run trained 5, of them 0 resumed; 4 finished earlier)' "$tmp/grow.out"
check "... and compare.json says so" python3 -c '
import json,sys; g=json.load(open(sys.argv[1]+"/compare.json")); assert [a["spec"] for a in g["acts"]]==["relu","elu","selu"] and g["seeds"]==[1,2,3]' "$tmp/p"

# resume: a grid stopped inside its first cell (--stop-after, as if killed) completes on a
# rerun, and the cell ends with the checkpoint of the uninterrupted run
$A compare --acts relu,leaky_relu:a=0.1 $R --targets 0.5 --out "$tmp/r" --stop-after 14 >"$tmp/r1.out" 2>&1; rc=$?
check "--stop-after stops the grid (rc 3, got $rc)" test $rc -eq 3
check "the stopped cell stays running" grep -q '"state":[[:space:]]*"running"' "$tmp/r/cells/$cells/relu/seed-1/status.json"
check "no later cell started" test ! -e "$tmp/r/cells/$cells/relu/seed-2"
$A compare --acts relu,leaky_relu:a=0.1 $R --targets 0.5 --out "$tmp/r" >"$tmp/r2.out" 2>&1; rc=$?
check "the rerun completes (rc $rc)" test $rc -eq 0
check "the rerun resumes the stopped cell" grep -q 'cell 1/4 .*relu seed 1: resuming from its checkpoint' "$tmp/r2.out"
check "the resumed cell ends bit-identical" cmp -s "$tmp/g/cells/$cells/relu/seed-1/last.ckpt" "$tmp/r/cells/$cells/relu/seed-1/last.ckpt"
check "and so do the others" cmp -s "$tmp/g/cells/$cells/leaky_relu-a=0.1/seed-2/last.ckpt" "$tmp/r/cells/$cells/leaky_relu-a=0.1/seed-2/last.ckpt"

# Ctrl-C in the middle of a cell: it stays resumable (job control on, so that the
# background job does not ignore SIGINT as a script's background jobs do)
set -m
$A compare --acts relu --model lenet --data fashion-mnist --seeds 1 --epochs 12 --subset 1500 --test-subset 100 --batch 64 \
  --threads 1 --out "$tmp/i" >"$tmp/i1.out" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -e "$tmp/i/cells/$cells/relu/seed-1/last.ckpt" ] && break; sleep 0.05; done
kill -INT $pid; { wait $pid; } 2>/dev/null; rc=$?
set +m
check "Ctrl-C stops compare ($rc)" test $rc -ne 0
check "the interrupted cell stays running" grep -q '"state":[[:space:]]*"running"' "$tmp/i/cells/$cells/relu/seed-1/status.json"
$A compare --acts relu --model lenet --data fashion-mnist --seeds 1 --epochs 12 --subset 1500 --test-subset 100 --batch 64 \
  --threads 1 --out "$tmp/i" >"$tmp/i2.out" 2>&1; rc=$?
check "after Ctrl-C the rerun resumes and finishes (rc $rc)" grep -q 'resuming from its checkpoint' "$tmp/i2.out"
check "... with 12 epochs of records" test "$(wc -l <"$tmp/i/cells/$cells/relu/seed-1/metrics.jsonl")" -eq 12

# a diverging function (exp(50x) overflows to a NaN loss) fails; the other cells finish
printf '# functions for compare\nrelu\n\nexpr:x >= 0 ? exp(x*50) : x\n' >"$tmp/acts.txt"
$A compare --acts-file "$tmp/acts.txt" --acts elu $R --out "$tmp/f" >"$tmp/f.out" 2>&1; rc=$?
check "some cell failed: exit 1 (got $rc)" test $rc -eq 1
check "the summary says so" grep -q '^6 cells: 4 done, 2 failed' "$tmp/f.out"
check "failed cells recorded with the error, the others done" python3 -c '
import json,sys; d=sys.argv[1]; g=json.load(open(d+"/compare.json"))
assert [a["spec"] for a in g["acts"]]==["relu","expr:x >= 0 ? exp(x*50) : x","elu"], g["acts"]
for a in g["acts"]:
    for s in (1,2):
        st=json.load(open(d+"/cells/fashion-mnist/lenet/%s/seed-%d/status.json"%(a["slug"],s)))
        if a["spec"].startswith("expr:"): assert st["state"]=="failed" and "NaN" in st["error"], st
        else: assert st["state"]=="done", st' "$tmp/f"
$A compare --acts-file "$tmp/acts.txt" --acts elu $R --out "$tmp/f" >"$tmp/f2.out" 2>&1; rc=$?
check "a rerun leaves failed cells failed (rc 1, got $rc)" test $rc -eq 1
check "... without training" grep -q 'this run trained 0' "$tmp/f2.out"
check "... and --retry-failed runs them again" sh -c "'$A' compare --acts-file '$tmp/acts.txt' --acts elu $R --out '$tmp/f' --retry-failed | grep -q 'this run trained 2'"

# --acts splitting: key=value pieces continue the previous function's parameters
$A compare --acts 'softplus:beta=2,threshold=10,elu' --model lenet --seeds 1 --epochs 1 --subset 64 --test-subset 64 --threads 1 \
  --out "$tmp/s" >/dev/null 2>&1
check "softplus:beta=2,threshold=10,elu is two functions" test -d "$tmp/s/cells/$cells/softplus-beta=2-threshold=10" -a -d "$tmp/s/cells/$cells/elu"

# bad input: one clear line, status 2, nothing trained
bad_input() { # what expected-message args...
  local what=$1 msg=$2; shift 2
  "$A" compare "$@" >"$tmp/b.out" 2>"$tmp/b.err"; local rc=$?
  check "$what: status 2 (got $rc)" test $rc -eq 2
  check "$what: message" grep -q "$msg" "$tmp/b.err"
}
bad_input "unknown function" "unknown activation 'eluu'; did you mean elu" --acts relu,eluu $R --out "$tmp/b1"
bad_input "--seeds 0" "seeds expects a whole number" --acts relu --seeds 0 --out "$tmp/b2"
bad_input "no functions" "which functions" $R --out "$tmp/b3"
bad_input "the same function twice" "are the same function" --acts elu,elu:alpha=1 $R --out "$tmp/b4"
bad_input "a baseline not in the list" "not one of --acts" --acts relu,elu --baseline selu $R --out "$tmp/b5"
bad_input "--act instead of --acts" "not a compare flag" --act relu $R --out "$tmp/b6"
bad_input "unknown model" "no model 'lenett'" --acts relu --model lenett --out "$tmp/b7"
bad_input "bad targets" "targets expects" --acts relu --targets 80 --out "$tmp/b8"
bad_input "missing acts file" "cannot read" --acts-file "$tmp/none.txt" --out "$tmp/b9"
check "bad input trains nothing" test ! -e "$tmp/b1/cells" -a ! -e "$tmp/b2" -a ! -e "$tmp/b4/cells"

echo "cli_compare: $pass passed, $fail failed"
[ $fail -eq 0 ]
