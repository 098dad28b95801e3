"""Is every scenario learnable? Baselines on each registered scenario over several seeds.

Prints a markdown table (mean ± std over episodes, one seed per episode) of mean user return for
random, popularity, greedy-by-relevance, the one-step model-based policy and the privileged myopic
oracle (``--planner`` adds the privileged rollout planner), with greedy's margin over random, and
writes JSON.

    python benchmarks/baselines.py --episodes 10 --out benchmarks/results/baselines.json
"""

from __future__ import annotations

import argparse
import time

import recsim_marl
from agents.baselines import FixedLevelPolicy, user_baselines
from agents.policy import evaluate
from benchmarks.common import hardware, write_json


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=10, help="episodes (= seeds) per policy and scenario")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scenarios", nargs="*", default=sorted(recsim_marl.SCENARIOS))
    p.add_argument("--planner", action="store_true", help="also the rollout planner (slow: K x samples copies)")
    p.add_argument("--out", default="benchmarks/results/baselines.json")
    args = p.parse_args(argv)

    results = {}
    names = list(user_baselines(recsim_marl.make_config("tiny"), planner=args.planner))
    print(f"| scenario | {' | '.join(names)} | greedy / random |")
    print("|---|" + "---|" * (len(names) + 1))
    for scenario in args.scenarios:
        c = recsim_marl.make_config(scenario)
        t = time.perf_counter()
        pols = user_baselines(c, seed=args.seed, planner=args.planner)
        row = {
            name: evaluate(c, {"users": pol, "items": FixedLevelPolicy(0)}, episodes=args.episodes, seed=args.seed)
            for name, pol in pols.items()
        }
        results[scenario] = {"metrics": row, "seconds": time.perf_counter() - t}
        ret = {n: row[n]["user_return"] for n in pols}
        cells = " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in ret.values())
        print(f"| {scenario} | {cells} | {ret['greedy'][0] / ret['random'][0]:.2f}x |")
    payload = {"hardware": hardware(), "episodes": args.episodes, "seed": args.seed, "results": results}
    print(f"\nwrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
