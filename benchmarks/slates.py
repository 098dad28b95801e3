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

from benchmarks.common import hardware, write_json
from benchmarks.versus import ROOT, rate
from recsim_marl.config import CHOICE_MODELS


def time_case(num_envs: int, steps: int, scenario: str, slate: int, model: str) -> float:
    """User-steps/s of this tree's core with slates of ``slate`` under ``model`` (``benchmarks.versus.rate``)."""
    return rate(ROOT, num_envs, steps, scenario, {"slate_size": slate, "choice_model": model})


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
    for name, r in best.items():
        print(f"{name:>22}: {r:12,.0f} user-steps/s  {r / base:5.2f}x")
    payload = {"hardware": hardware(), "scenario": args.scenario, "num_envs": args.num_envs, "rounds": args.rounds,
               "user_steps_per_s": best, "ratio_to_one_item": {n: r / base for n, r in best.items()}}
    print(f"wrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
