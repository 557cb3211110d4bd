#!/usr/bin/env bash
# CLI test of `actlab list`, `actlab eval` and `actlab analyse`: output content,
# JSON validity, and clear errors with a non-zero exit for bad input.
set -u
A=${1:?usage: cli_catalogue.sh path/to/actlab}
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# list: every function of ACTIVATIONS.md and torch.nn, with parameters and kinds
$A list >"$tmp/list.txt"; check "list exits 0" test $? -eq 0
for f in sigmoid tanh softsign softplus hardtanh relu relu6 leaky_relu prelu rrelu noisy_relu srelu elu selu celu \
         trelu relu_softplus relu_softsign erelu erelu_f1 erelu_f2 swish silu xwish mish gelu gelu_tanh hardswish \
         hardsigmoid logsigmoid hardshrink softshrink tanhshrink threshold; do
  check "list has $f" grep -q "^$f " "$tmp/list.txt"
done
check "list shows prelu's learnable a" grep -q 'a=0.25 (learnable' "$tmp/list.txt"
check "list shows rrelu's random bounds" grep -q 'lower=0.125 (random' "$tmp/list.txt"
$A list --json >"$tmp/list.json"
check "list --json is JSON with every entry" python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
names={e["name"] for e in d}; assert len(d)>=35 and "erelu" in names
e=[e for e in d if e["name"]=="erelu"][0]; assert e["backward_from_y"] is True and "f4" in e["aliases"]
p=[e for e in d if e["name"]=="leaky_relu"][0]["params"][0]; assert p["default"]==0.01 and p["kind"]=="fixed"' "$tmp/list.json"

# eval: the kernels' values, PyTorch's kink conventions
out=$($A eval leaky_relu:a=0.1 -2 0 3)
check "eval leaky_relu" test "$(echo "$out" | grep -v '^#')" = "$(printf -- '-2 -0.2 0.1\n0 0 0.1\n3 3 1')"
out=$($A eval erelu -1e30 -1 0 1 | grep -v '^#')
check "eval erelu at -1e30 is finite" grep -q -- '-1e+30 -69.07755' <<<"$out"
check "eval erelu f'(-1) = 0.5" grep -q -- '^-1 -0.6931472 0.5$' <<<"$out"
out=$($A eval prelu:a=0.2 -2 | grep -v '^#')
check "eval prelu prints df/da" test "$out" = "-2 -0.4 0.2 -2"
out=$($A eval elu -1 --both | grep -v '^#')
check "eval --both shows the relative difference" grep -Eq -- '-0.6321205[0-9]* -0.6321205[0-9]* [0-9.]+e-0[7-9]' <<<"$out"
out=$($A eval gelu 1 --reference | grep -v '^#')
check "eval --reference prints doubles" grep -q '^1 0.84134474606854' <<<"$out"

# errors: message naming what was wrong, exit status 2
err=$($A eval relux 1 2>&1 >/dev/null); rc=$?
check "unknown name exits 2" test $rc -eq 2
check "unknown name suggests" grep -q "did you mean relu" <<<"$err"
err=$($A eval elu:alpha=-1 1 2>&1 >/dev/null); rc=$?
check "bad parameter exits 2 and names the range" test $rc -eq 2 -a -n "$(grep -F '[0, inf]' <<<"$err")"
err=$($A eval elu 1 abc 2>&1 >/dev/null); rc=$?
check "bad X exits 2" test $rc -eq 2
err=$($A eval elu 2>&1 >/dev/null); rc=$?
check "missing X exits 2" test $rc -eq 2
err=$($A frobnicate 2>&1 >/dev/null); rc=$?
check "unknown command exits 2" test $rc -eq 2

# analyse: the survey's properties, known values for relu and erelu
$A analyse relu erelu tanh --json --n 100000 --repeats 1 >"$tmp/an.json"; check "analyse exits 0" test $? -eq 0
check "analyse --json values" python3 -c '
import json,sys,math; d={r["function"]:r for r in json.load(open(sys.argv[1]))}
r=d["relu"]; assert abs(r["p_zero_grad"]-0.5)<1e-3 and abs(r["mean"]-1/math.sqrt(2*math.pi))<1e-6, r
assert r["kinks"][0]["df_jump"]==1 and r["f_continuous"] and not r["df_continuous"]
e=d["erelu"]; assert e["p_zero_grad"]==0 and e["df_continuous"] and e["monotonic"]=="increasing"
t=d["tanh"]; assert abs(t["mean"])<1e-9 and t["df_max"]==1 and t["forward_vs_relu"]>0' "$tmp/an.json"
out=$($A analyse hardshrink --no-time)
check "analyse table row" grep -q '^hardshrink' <<<"$out"
err=$($A analyse --n 0 2>&1 >/dev/null); rc=$?
check "analyse --n 0 refused" test $rc -eq 2

# user formulas: inline, with parameters, from a definitions file, and their errors
out=$($A eval 'expr:x >= 0 ? x : -log(1-x)' -1 0 2 | grep -v '^#')
check "formula erelu equals the built-in" test "$out" = "$($A eval erelu -1 0 2 | grep -v '^#')"
out=$($A eval 'expr:x*sigmoid(b*x);learnable b=1' 2 | grep -v '^#')
check "formula with a learnable parameter prints df/db" test "$(wc -w <<<"$out")" -eq 4
err=$($A eval 'expr:x >= 0 ? x : -log(1-x' 1 2>&1 >/dev/null); rc=$?
check "formula syntax error exits 2 and names the column" test $rc -eq 2 -a -n "$(grep 'column' <<<"$err")"
cat >"$tmp/my.act" <<'DEFS'
# two functions sharing a parameter
param a = 0.5 in [0, 10]
my_elu = x >= 0 ? x : a*(exp(x) - 1)
my_abs = abs(x)
DEFS
out=$($A eval --defs "$tmp/my.act" my_elu:a=0.2 -1 | grep -v '^#')
check "--defs function with a parameter" grep -q -- '^-1 -0.12642' <<<"$out"
$A list --defs "$tmp/my.act" | grep -q '^my_abs '; check "--defs functions are listed" test $? -eq 0
printf 'param a = 1
broken = x +* 2
' >"$tmp/bad.act"
err=$($A eval --defs "$tmp/bad.act" relu 1 2>&1 >/dev/null); rc=$?
check "bad definitions file names file:line" test $rc -eq 2 -a -n "$(grep -F "bad.act:2:" <<<"$err")"
err=$($A eval --defs "$tmp/missing.act" relu 1 2>&1 >/dev/null); rc=$?
check "missing definitions file exits 2" test $rc -eq 2 -a -n "$(grep -F "missing.act" <<<"$err")"

echo "cli_catalogue: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
