#!/usr/bin/env bash
# One script for a machine with an NVIDIA GPU: the throughput benchmark on CUDA and a short MAPPO
# training on CUDA, in about 6 minutes. Writes JSON (and PNGs) under OUT_DIR.
#
#   bash benchmarks/gpu_check.sh OUT_DIR
set -euo pipefail
out=${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR}
mkdir -p "$out"
cd "$(dirname "$0")/.."
python -c "import torch, sys; ok = torch.cuda.is_available(); print('torch', torch.__version__, 'cuda', ok, torch.cuda.get_device_name(0) if ok else ''); sys.exit(0 if ok else 1)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.csv" || true

# 1. throughput on CUDA (sizes chosen to stay near 3 minutes)
timeout 240 python -m benchmarks.throughput --device cuda --num-envs 1 256 1024 4096 16384 \
    --users 64 1024 10000 --items 256 10000 100000 --skip training encoding \
    --out "$out/throughput_cuda.json" | tee "$out/throughput_cuda.txt"

# 2. a short MAPPO training on CUDA (boredom, users learned), with its evaluation
timeout 150 python - "$out" <<'PY'
import json, sys, time
from agents.mappo import Args, train
out = sys.argv[1]
t = time.perf_counter()
r = train(Args(scenario="boredom", device="cuda", num_envs=256, total_steps=256 * 25 * 12,
               log_dir=f"{out}/mappo_cuda", progress=False, eval_episodes=10))
dt = time.perf_counter() - t
res = {"seconds": dt, "env_steps": r["global_step"], "env_steps_per_s": r["global_step"] / dt,
       "user_steps_per_s": r["global_step"] * 64 / dt, "eval_user_return": r["eval"]["user_return"]}
json.dump(res, open(f"{out}/mappo_cuda.json", "w"), indent=2)
print(res)
PY
echo "wrote $out"
