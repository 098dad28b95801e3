#!/usr/bin/env bash
# One script for a machine with an NVIDIA GPU, about 7 minutes: the CUDA code path's correctness
# (benchmarks/gpu_smoke.py), the throughput benchmark on CUDA (eager and torch.compile), and a short
# MAPPO training on CUDA. Writes JSON and logs under OUT_DIR.
#
#   bash benchmarks/gpu_check.sh OUT_DIR [KEY=VALUE ...]
#
# KEY=VALUE are config overrides for every part, e.g. encoder=hash where the MiniLM package is not
# installed (the step's cost and its code path do not depend on the encoder).
set -uo pipefail
out=${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR [KEY=VALUE ...]}
shift
mkdir -p "$out"
cd "$(dirname "$0")/.."
python -c "import torch, sys; ok = torch.cuda.is_available(); print('torch', torch.__version__, 'cuda', ok, torch.cuda.get_device_name(0) if ok else ''); sys.exit(0 if ok else 1)" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.csv" || true
env_args=()
[ $# -gt 0 ] && env_args=(--env "$@")
rc=0

# 1. correctness of the CUDA path: CUDA vs CPU, no host sync, torch.compile, learners with resume
timeout 150 python -m benchmarks.gpu_smoke "$out" "${env_args[@]}" 2>&1 | tee "$out/gpu_smoke.txt" || rc=1

# 2. throughput on CUDA, eager then compiled
timeout 200 python -m benchmarks.throughput --device cuda --num-envs 1 256 1024 4096 16384 65536 \
    --users 64 10000 --items 256 100000 --skip training encoding "${env_args[@]}" \
    --out "$out/throughput_cuda.json" 2>&1 | tee "$out/throughput_cuda.txt" || rc=1
timeout 150 python -m benchmarks.throughput --device cuda --compile --num-envs 4096 65536 \
    --skip scale parallel reference training encoding "${env_args[@]}" \
    --out "$out/throughput_cuda_compiled.json" 2>&1 | tee "$out/throughput_cuda_compiled.txt" || rc=1

# 3. a short MAPPO training on CUDA (boredom, users learned), with its evaluation
timeout 90 python - "$out" "$@" <<'PY' || rc=1
import json, sys, tempfile, time
from agents.cli import _parse_override
from agents.mappo import Args, train
out, env = sys.argv[1], dict(_parse_override(kv) for kv in sys.argv[2:])
t = time.perf_counter()
r = train(Args(scenario="boredom", env=env, device="cuda", num_envs=256, total_steps=256 * 25 * 12,
               log_dir=tempfile.mkdtemp(), progress=False, eval_episodes=10, tensorboard=False))
dt = time.perf_counter() - t
res = {"seconds": dt, "env_steps": r["global_step"], "env_steps_per_s": r["global_step"] / dt,
       "user_steps_per_s": r["global_step"] * 64 / dt, "eval_user_return": r["eval"]["user_return"]}
json.dump(res, open(f"{out}/mappo_cuda.json", "w"), indent=2)
print(res)
PY
echo "wrote $out (rc $rc)"
exit $rc
