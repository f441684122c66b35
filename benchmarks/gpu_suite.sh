#!/usr/bin/env bash
# The GPU measurements that benchmarks/NOTES.md still lacks (all but the peer comparisons with sheeprl and SAC,
# which need their own venvs), in one run of at most 9 minutes:
#
#   1. the CUDA tests (bf16 train step, distributions and returns on the GPU, CUDA-graph updates against
#      ordinary ones);
#   2. updates/s at Config() and Config.quick(): fp32, bf16 autocast (Config.amp) and CUDA graphs
#      (Config.cuda_graphs, fp32 and bf16), then torch.compile at Config(), with the per-phase breakdown and
#      torch.cuda.max_memory_allocated (train_speed.py);
#   3. 50 evaluation games one after the other vs side by side (eval_speed.py);
#   4. training games side by side, 1 vs 16, with the update replayed as a CUDA graph (train_envs_speed.py);
#   5. a time-boxed training run of the full game against the weak bot (the guide's Config(), bf16), whose
#      eval.csv gives win rate against wall-clock minutes.  Continue it later with
#      `python -m dreamer_edu train --run-dir RUN --resume --minutes M`.
#
# Each step has its own time limit (STEP_LIMIT seconds, 1.5 times that for the two update-speed runs, TRAIN_MINUTES
# + 1 min for the training run: 9 minutes in all at the defaults), so one slow step (a cold torch.compile, say) cannot eat
# the others' time.
# Logs and CSVs go to OUTDIR; the training run's directory (checkpoint, replay buffer) to RUN.
#
# Usage: bash benchmarks/gpu_suite.sh OUTDIR [RUN] [TRAIN_MINUTES]
#        DEVICE=cpu STEP_LIMIT=60 bash benchmarks/gpu_suite.sh OUTDIR   (a dry run of the script on a CPU)
set -uo pipefail
out=$(realpath -m "${1:?usage: bash benchmarks/gpu_suite.sh OUTDIR [RUN] [TRAIN_MINUTES]}")  # before the cd
run=$(realpath -m "${2:-runs/gpu-suite}")
cd "$(dirname "$0")/.."
minutes=${3:-2}
device=${DEVICE:-cuda}
limit=${STEP_LIMIT:-60}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 SDL_VIDEODRIVER=dummy MPLBACKEND=Agg

step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to OUTDIR/NAME.log, say how it ended
    local name=$1 seconds=$2
    shift 2
    echo "== $name (limit ${seconds} s): $*"
    local start=$SECONDS
    timeout "$seconds" "$@" > "$out/$name.log" 2>&1
    local rc=$?
    tail -n 25 "$out/$name.log"
    echo "== $name: exit $rc after $((SECONDS - start)) s$([ $rc -eq 124 ] && echo ' (time limit)')"
}

$py -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
if [ "$device" = cuda ]; then
    step cuda_tests "$limit" $py -m pytest -q -m cuda tests/test_agent.py tests/test_distributions.py tests/test_returns.py \
        tests/test_cuda_graphs.py
fi
graphs=$([ "$device" = cuda ] && echo --cuda-graphs)
step train_speed "$((3 * limit / 2))" $py benchmarks/train_speed.py --device "$device" --amp $graphs \
    --csv "$out/train_speed.csv"
step train_speed_compile "$((3 * limit / 2))" $py benchmarks/train_speed.py --device "$device" --compile \
    --configs default \
    --csv "$out/train_speed_compile.csv"
step eval_speed "$limit" $py benchmarks/eval_speed.py --device "$device" --games 50 --parallel 1 50 --repeats 1 \
    --csv "$out/eval_speed.csv"
step train_envs_speed "$limit" $py benchmarks/train_envs_speed.py --device "$device" --train-envs 1 16 \
    --configs default --seconds 20 $graphs --csv "$out/train_envs_speed.csv"
step train "$((60 * minutes + 60))" $py -m dreamer_edu train --device "$device" --opponent weak --seed 0 \
    --use_dreamsmooth --minutes "$minutes" --run-dir "$run" --no-progress \
    --config-override amp=true eval_every_steps=10000 eval_games=50
cp "$run/eval.csv" "$out/train_eval.csv" 2>/dev/null && cat "$out/train_eval.csv"
