#!/usr/bin/env bash
# The GPU checks in three tiers, each inside one device call, for a lent GPU machine with 15 minutes in all.
#
#   bash benchmarks/gpu_check.sh 1    no RAPIDS (the project's pure-Python dependencies staged, ~2 transfers):
#                                     the torch/CuPy GPU tests, the loader benchmark on CUDA, the MLP trained
#                                     on CUDA from the CPU backend's frames (benchmarks.train_cuda), and 10M
#                                     synthetic rows through the stages on the CPU backend (the GPU's baseline)
#   bash benchmarks/gpu_check.sh 2    + cuDF (~9 transfers): the cuDF tests, the GPU peer (cuDF + XGBoost on
#                                     CUDA) beside `devicepipe run --backend gpu` timed with its fixed parts,
#                                     seconds per stage on both backends with XGBoost and the MLP (no cuML),
#                                     the handoff benchmark on cuDF,
#                                     the same 10M synthetic rows through the stages on the GPU backend
#   bash benchmarks/gpu_check.sh 3    + cuML (~6 more): the cuML tests, every baseline on both backends
#   bash benchmarks/gpu_check.sh 4    + dask-cuda: 100M synthetic rows through the features on a LocalCUDACluster
#                                     (one worker per GPU, cuDF spilling), seconds and peak memory per stage
#
# Run from the repository root. Results land in $OUT (default gpu-out/) as each step ends, so a machine lost
# half-way still leaves the numbers of the steps before: steps.jsonl (one JSON line per step: tier, name, exit
# code, seconds, the step's JSON file), and per step NAME.txt (its output) and NAME.json where it writes one.
# Each step has its own time limit and the tier goes on after a failure; DEVICEPIPE_CHECK_ONLY=a,b reruns some. The limits of a tier add up to at most
# DEVICEPIPE_CHECK_BUDGET_S (default 540 s, inside one 600 s device call); a step whose limit no longer fits in
# what is left of the budget is skipped and recorded as such, never started.
set -u
tier=${1:-}
case "$tier" in
    1 | 2 | 3 | 4) ;;
    *)
        echo "usage: bash benchmarks/gpu_check.sh 1|2|3|4   (1: no RAPIDS, 2: + cuDF, 3: + cuML, 4: 100M rows)" >&2
        exit 2
        ;;
esac
out=${OUT:-gpu-out}
mkdir -p "$out"
export PYTHONPATH=.
budget=${DEVICEPIPE_CHECK_BUDGET_S:-540}
scale=${DEVICEPIPE_CHECK_SCALE:-1}  # limits are multiplied by this (a smaller machine, or a quick dry run)
only=${DEVICEPIPE_CHECK_ONLY:-}  # comma-separated step names: run these, record the others as not selected
python=${PYTHON:-python3}
started_all=$SECONDS

step() {  # step NAME LIMIT_S COMMAND...: run it, keep its output, append its line to steps.jsonl
    local name=$1 limit
    limit=$(awk "BEGIN { v = $2 * $scale; print (v < 1) ? 1 : int(v) }")
    shift 2
    if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then
        printf '{"tier": %s, "step": "%s", "skipped": "not in DEVICEPIPE_CHECK_ONLY"}\n' "$tier" "$name" \
            >> "$out/steps.jsonl"
        return
    fi
    local left=$((budget - (SECONDS - started_all)))
    if [ "$limit" -gt "$left" ]; then
        printf '{"tier": %s, "step": "%s", "skipped": "its limit of %s s exceeds the %s s left"}\n' \
            "$tier" "$name" "$limit" "$left" >> "$out/steps.jsonl"
        echo "$name skipped (limit $limit s > $left s left)"
        return
    fi
    local began=$SECONDS
    timeout "$limit" "$@" > "$out/$name.txt" 2>&1
    local rc=$?
    local json=null
    [ -s "$out/$name.json" ] && json="\"$name.json\""
    printf '{"tier": %s, "step": "%s", "rc": %s, "seconds": %s, "limit_s": %s, "json": %s}\n' \
        "$tier" "$name" "$rc" "$((SECONDS - began))" "$limit" "$json" >> "$out/steps.jsonl"
    echo "$name rc=$rc seconds=$((SECONDS - began))"
}

# The machine, once per $OUT: the card, the driver and the packages of this tier.
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu-tier$tier.csv" 2>&1
$python -m pip list --format=freeze > "$out/freeze-tier$tier.txt" 2>&1

tests() {  # tests NAME LIMIT MARKERS [PYTEST ARGUMENTS...]
    local name=$1 limit=$2 markers=$3
    shift 3
    step "$name" "$limit" $python -m pytest -m "$markers" -q -rs -p no:cacheprovider --junitxml "$out/$name.xml" "$@"
}

case "$tier" in
    1)
        tests tests-tier1 120 "gpu and not rapids"
        step loader 60 $python -m benchmarks.loader --device cuda --json "$out/loader.json"
        step train-cuda 120 $python -m benchmarks.train_cuda --compare-cpu --json "$out/train-cuda.json"
        step synth-10m 40 $python -m flows.cli data synth --rows 10000000 --out "$out/s10m" --no-progress
        step stages-10m-cpu 150 $python -m benchmarks.stages --backends cpu --dataset flights --data "$out/s10m" \
            --models xgboost --epochs 1 --json "$out/stages-10m-cpu.json"
        ;;
    2)
        # First what only a device confirms of the fixes found by reading the code; the audit of the pandas calls
        # runs the CPU pipeline, so it stays with the no-device checks.
        tests device-fixes 60 "rapids and not cuml" tests/gpu/test_device_fixes.py
        tests tests-tier2 150 "(rapids or rapids_api) and not cuml" --ignore tests/gpu/test_pandas_audit.py \
            --deselect tests/gpu/test_device_fixes.py
        # The ratio first: the GPU peer (cuDF + XGBoost on CUDA) and `devicepipe run --backend gpu` end to end,
        # its fixed parts apart in the marks (docs/benchmarks.md: the fixed cost)
        step peer-gpu 45 $python -m benchmarks.peer_gpu --library cudf --json "$out/peer-gpu.json"
        step run-gpu 75 env DEVICEPIPE_FIXED_COST_LOG="$out/run-gpu-marks.jsonl" $python -m flows.cli run \
            --backend gpu --model xgboost --epochs 3 --no-cache --no-progress --output "$out/run-gpu"
        step stages 120 $python -m benchmarks.stages --backends cpu gpu --warmup --models xgboost \
            --json "$out/stages.json"
        step handoff 60 $python -m benchmarks.handoff --backend gpu --json "$out/handoff.json"
        # A 20-trial XGBoost study on the device (its report, trials and best settings under $out/tune-gpu)
        step tune-gpu 75 $python -m flows.cli tune --backend gpu --model xgboost --trials 20 --no-progress \
            --output "$out/tune-gpu"
        step synth-10m 40 $python -m flows.cli data synth --rows 10000000 --out "$out/s10m" --no-progress
        step stages-10m-gpu 90 $python -m benchmarks.stages --backends gpu --dataset flights --data "$out/s10m" \
            --models xgboost --epochs 1 --json "$out/stages-10m-gpu.json"
        ;;
    3)
        tests tests-tier3 240 "cuml"
        step stages-all 240 $python -m benchmarks.stages --backends cpu gpu --warmup --json "$out/stages-all.json"
        ;;
    4)
        # Trials on a LocalCUDACluster's worker: the features handed off there, one trial at a time per GPU
        step tune-local-cuda 90 $python -m flows.cli tune --backend gpu --cluster local-cuda --model xgboost \
            --model mlp --trials 10 --no-cache --no-progress --output "$out/tune-local-cuda"
        step synth-100m 150 $python -m flows.cli data synth --rows 100000000 --out "$out/s100m" --no-progress
        step stages-100m-gpu 360 $python -m benchmarks.stages --backends gpu --dataset flights --data "$out/s100m" \
            --cluster local-cuda --spill --through features --json "$out/stages-100m-gpu.json"
        ;;
esac
rm -rf "$out/s10m" "$out/s100m"  # the synthetic inputs (0.2 and 1.7 GB) are not results
echo "tier $tier: $(grep -c "\"tier\": $tier" "$out/steps.jsonl") steps in $out/steps.jsonl"
