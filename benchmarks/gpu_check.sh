#!/usr/bin/env bash
# Every GPU check in one go, for a GPU machine with RAPIDS installed (staged as in docs/gpu-runs.md).
# Run from the repository root; everything lands in $OUT (default: gpu-out/), to be written into docs/gpu-runs.md:
#   gpu.csv            card, driver, memory
#   freeze.txt         the Python packages
#   tests.txt/.xml     pytest -m "gpu or rapids_api": the GPU suite and the RAPIDS API checks
#   stages.txt/.json   seconds per stage, CPU and GPU backends, same machine, full default job, residency ledger
#   stages-no-ledger.* the GPU stages without the ledger: its cost
#   handoff.*, loader.*  the handoff and loader benchmarks on the GPU
# Each step has its own time limit and the script goes on after a failure, so that one slow or failing step
# leaves the others' results. The limits add up to 535 s, inside one 600 s device call: DEVICEPIPE_CHECK_TESTS_S
# (200), DEVICEPIPE_CHECK_STAGES_S (150, both backends with the ledger; half of it for the GPU alone without the
# ledger, which shows what the ledger's profiling costs), DEVICEPIPE_CHECK_BENCH_S (55 each: handoff, loader).
set -u
out=${OUT:-gpu-out}
mkdir -p "$out"
export PYTHONPATH=.
tests_s=${DEVICEPIPE_CHECK_TESTS_S:-200}
stages_s=${DEVICEPIPE_CHECK_STAGES_S:-150}
bench_s=${DEVICEPIPE_CHECK_BENCH_S:-55}

step() {  # step NAME LIMIT_S COMMAND...: run, keep its output, note its exit code and seconds
    local name=$1 limit=$2
    shift 2
    local started=$SECONDS
    timeout "$limit" "$@" > "$out/$name.txt" 2>&1
    local rc=$?
    echo "$name rc=$rc seconds=$((SECONDS - started))" | tee -a "$out/steps.txt"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.csv" 2>&1
python3 -m pip list --format=freeze > "$out/freeze.txt" 2>&1
step tests "$tests_s" python3 -m pytest -m "gpu or rapids_api" -q -rs -p no:cacheprovider --junitxml "$out/tests.xml"
step stages "$stages_s" python3 -m benchmarks.stages --backends cpu gpu --warmup --json "$out/stages.json"
step stages-no-ledger "$((stages_s / 2))" python3 -m benchmarks.stages --backends gpu --warmup --no-ledger \
    --json "$out/stages-no-ledger.json"
step handoff "$bench_s" python3 -m benchmarks.handoff --backend gpu --json "$out/handoff.json"
step loader "$bench_s" python3 -m benchmarks.loader --device cuda --json "$out/loader.json"
tail -n 3 "$out/tests.txt"
cat "$out/stages.txt"
