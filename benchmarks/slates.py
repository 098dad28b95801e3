"""What slates cost the core: user-steps/s of ``VecEnv.step`` with one item (S = 1) against slates of
``--slate-size`` items under each choice model, side by side in one run (issue 20: S = 5 at >= 0.5x
S = 1 at 256 worlds).

Each case is timed in its own fresh process, the cases alternating ``--rounds`` times so that all see
the same machine load; the best rate of each is reported with its ratio to S = 1. Users show their
first S candidates, items never promote (the step's cost does not depend on which candidates).

    python -m benchmarks.slates --out benchmarks/results/slates_speed.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import hardware, write_json
from recsim_marl.config import CHOICE_MODELS

ROOT = Path(__file__).resolve().parent.parent

_CASE = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
import recsim_marl
b, steps, scenario, s, model = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6]
venv = recsim_marl.make_vec(b, scenario=scenario, validate=False, slate_size=s, choice_model=model)
venv.reset(seed=0)
c = venv.config
users = torch.arange(s).expand(b, c.num_users, s).clone() if s > 1 else torch.zeros(b, c.num_users, dtype=torch.long)
acts = {"users": users, "items": torch.zeros(b, c.num_items, dtype=torch.long)}
for _ in range(5):
    venv.step(acts)
best = 0.0
for _ in range(3):
    t = time.perf_counter()
    for _ in range(steps):
        venv.step(acts)
    best = max(best, b * c.num_users * steps / (time.perf_counter() - t))
print(json.dumps({"user_steps_per_s": best}))
"""


def time_case(num_envs: int, steps: int, scenario: str, slate: int, model: str) -> float:
    out = subprocess.run([sys.executable, "-c", _CASE, str(ROOT), str(num_envs), str(steps), scenario, str(slate), model],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["user_steps_per_s"]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="default")
    p.add_argument("--num-envs", type=int, default=256)
    p.add_argument("--slate-size", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--out", default="benchmarks/results/slates_speed.json")
    args = p.parse_args(argv)
    cases = [("S = 1", 1, "cascade")] + [(f"S = {args.slate_size}, {m}", args.slate_size, m) for m in CHOICE_MODELS]
    best = {name: 0.0 for name, _, _ in cases}
    for _ in range(args.rounds):
        for name, s, m in cases:
            best[name] = max(best[name], time_case(args.num_envs, args.steps, args.scenario, s, m))
    base = best["S = 1"]
    print(f"hardware: {hardware()}\n{args.scenario}, {args.num_envs} worlds, best of {args.rounds} rounds")
    for name, rate in best.items():
        print(f"{name:>22}: {rate:12,.0f} user-steps/s  {rate / base:5.2f}x")
    payload = {"hardware": hardware(), "scenario": args.scenario, "num_envs": args.num_envs, "rounds": args.rounds,
               "user_steps_per_s": best, "ratio_to_one_item": {n: r / base for n, r in best.items()}}
    print(f"wrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
