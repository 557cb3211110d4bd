#!/usr/bin/env bash
# CLI test of `actlab profile`'s roofline columns: the machine's figures in the header and
# the JSON, each layer's bytes per step as the usage counts them, GB/s, shares of the peak
# and of STREAM triad and the bound consistent with the times and the machine; --no-machine
# (n/a, null); bad flags exit 2 naming the flag. No speed is asserted: the machine is shared.
# (cli_train.sh checks the table's rows, times and GFLOP/s.)
set -u
A=${1:?usage: cli_profile.sh path/to/actlab}
pass=0 fail=0
ok()   { pass=$((pass + 1)); }
bad()  { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "cli_profile: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"; echo "cli_profile: 0 passed, 1 failed"; exit 1
fi

$A profile --model lenet --data fashion-mnist --steps 2 --warmup 1 --json >"$tmp/p.json"; rc=$?
check "profile --json exits 0" test $rc -eq 0
check "profile --json: the machine and each layer's roofline, consistent" python3 - "$tmp/p.json" <<'PY'
import json, math, sys
p = json.load(open(sys.argv[1]))
close = lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
m = p["machine"]
for k in ("threads", "isa", "peak_gflops", "stream_copy_gbs", "stream_triad_gbs", "balance"): assert k in m, k
assert m["threads"] == p["threads"] == 2 and m["isa"] in ("avx512", "avx2", "scalar"), m
assert m["peak_gflops"] > 1 and m["stream_copy_gbs"] > 0.5 and m["stream_triad_gbs"] > 0.5, m
assert close(m["balance"], m["peak_gflops"] / m["stream_triad_gbs"]), m
B, L = p["batch"], p["layers"]
assert B == 128 and len(L) == 11, (B, len(L))
keys = ("step_flops", "fwd_bytes", "bwd_bytes", "bytes", "fwd_gbs", "bwd_gbs", "gbs", "gflops", "intensity",
        "peak_share", "triad_share", "roofline_share", "bound")
for l in L:
    for k in keys: assert k in l, (k, l)
    t = (l["fwd_ms"] + l["bwd_ms"]) / 1000
    assert l["bytes"] > 0 and close(l["bytes"], l["fwd_bytes"] + l["bwd_bytes"]), l
    assert close(l["gbs"], l["bytes"] / t / 1e9), ("GB/s = bytes / time", l)
    assert close(l["fwd_gbs"], l["fwd_bytes"] / (l["fwd_ms"] / 1000) / 1e9), l
    assert close(l["bwd_gbs"], l["bwd_bytes"] / (l["bwd_ms"] / 1000) / 1e9), l
    assert close(l["gflops"], l["step_flops"] / t / 1e9), ("GFLOP/s = FLOPs / time", l)
    assert close(l["intensity"], l["step_flops"] / l["bytes"]), l
    assert close(l["peak_share"], l["gflops"] / m["peak_gflops"]), l
    assert close(l["triad_share"], l["gbs"] / m["stream_triad_gbs"]), l
    roof = min(m["peak_gflops"], l["intensity"] * m["stream_triad_gbs"])
    assert close(l["roofline_share"], l["gflops"] / roof), l
    assert l["bound"] == ("compute" if l["intensity"] >= m["balance"] else "memory"), l
# the counts of the usage text, for lenet on 1x28x28 at batch 128 (4 B floats)
shape = lambda s: math.prod(int(x) for x in s.split("x"))
conv0, conv3, dense6 = L[0], L[3], L[6]
assert conv0["type"] == "conv" and conv3["type"] == "conv" and dense6["type"] == "dense"
# the first layer: no input gradient (nothing wants it), so no weights read for it either
assert conv0["fwd_bytes"] == 4 * (B * 784 + 156 + B * shape(conv0["output"])), conv0
assert conv0["bwd_bytes"] == 4 * (B * shape(conv0["output"]) + B * 784 + 156), conv0
assert conv0["step_flops"] == 2 * conv0["flops"] and conv3["step_flops"] == 3 * conv3["flops"], (conv0, conv3)
assert close(conv0["bwd_gflops"], conv0["flops"] / (conv0["bwd_ms"] / 1000) / 1e9), conv0
assert close(conv3["bwd_gflops"], 2 * conv3["flops"] / (conv3["bwd_ms"] / 1000) / 1e9), conv3
i3 = B * shape(L[2]["output"]); o3 = B * shape(conv3["output"]); w3 = 16 * 6 * 25 + 16
assert conv3["fwd_bytes"] == 4 * (i3 + w3 + o3) and conv3["bwd_bytes"] == 4 * (o3 + 2 * i3 + 2 * w3), conv3
assert dense6["fwd_bytes"] == 4 * (B * 400 + 400 * 120 + 120 + B * 120), dense6
for l in L:
    n = B * shape(l["output"])
    if l["type"] == "activation":  # relu: no parameters
        assert l["fwd_bytes"] == 8 * n and l["bwd_bytes"] == 12 * n, ("activation 8 and 12 B/element", l)
        assert l["bound"] == "memory", l
    if l["type"] == "maxpool":
        assert l["fwd_bytes"] == l["bwd_bytes"] == 4 * (4 * n + n), ("pool: in + out, dout + din", l)
        assert l["step_flops"] == l["flops"], ("pool backward FLOPs not counted", l)
PY

out=$($A profile --model lenet --data fashion-mnist --batch 32 --steps 2 --warmup 1); rc=$?
check "profile exits 0" test $rc -eq 0
check "profile's header has the machine" grep -qE '^machine \(2 threads, (avx512|avx2|scalar)\): peak [0-9.]+ GFLOP/s, STREAM copy [0-9.]+ GB/s, triad [0-9.]+ GB/s; balance [0-9.]+ FLOP/B' <<<"$out"
check "profile's columns" grep -qE '^# +layer .*MB/step +GB/s +%peak +%triad +bound$' <<<"$out"
check "each row has the roofline columns" test "$(grep -cE '^[0-9]+ +(conv|activation|maxpool|dense) .* [0-9.]+ +[0-9.]+ +[0-9.]+% +[0-9.]+% +(compute|memory)$' <<<"$out")" -eq 11
check "activation rows are memory-bound" test "$(grep -cE '^[0-9]+ +activation .* memory$' <<<"$out")" -eq 4

# --no-machine: no measurement; bytes and GB/s still, the machine's shares n/a (null)
out=$($A profile --model lenet --batch 32 --steps 2 --warmup 1 --no-machine); rc=$?
check "--no-machine exits 0" test $rc -eq 0
check "--no-machine says so" grep -q '^machine: not measured (--no-machine)' <<<"$out"
check "--no-machine rows: n/a" test "$(grep -cE '^[0-9]+ +(conv|activation|maxpool|dense) .* [0-9.]+ +[0-9.]+ +n/a +n/a +n/a$' <<<"$out")" -eq 11
$A profile --model lenet --batch 32 --steps 2 --warmup 1 --no-machine --json >"$tmp/n.json"
check "--no-machine --json: null machine and shares, bytes kept" python3 -c '
import json,sys; p=json.load(open(sys.argv[1])); assert p["machine"] is None, p["machine"]
for l in p["layers"]:
    assert l["bytes"] > 0 and l["gbs"] > 0 and l["intensity"] > 0, l
    assert all(l[k] is None for k in ("peak_share","triad_share","roofline_share","bound")), l' "$tmp/n.json"

# bad flags: one line naming the flag, status 2
err=$($A profile --no-such-flag 2>&1); rc=$?
check "profile --no-such-flag exits 2 naming it" test $rc -eq 2 -a -n "$(grep -- "'--no-such-flag'" <<<"$err")"
err=$($A profile --threads 0 --no-machine 2>&1); rc=$?
check "profile --threads 0 exits 2" test $rc -eq 2 -a -n "$(grep -- '--threads expects a whole number in \[1, 1024\]' <<<"$err")"
err=$($A profile --batch 2.5 --no-machine 2>&1); rc=$?
check "profile --batch 2.5 exits 2" test $rc -eq 2 -a -n "$(grep -- '--batch expects a whole number' <<<"$err")"
check "profile --help names --no-machine and the byte counts" grep -q -- '--no-machine' <<<"$($A profile --help)"

echo "cli_profile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
