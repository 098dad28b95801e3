"""Is every scenario learnable? Baselines on each registered scenario over several seeds.

Prints a markdown table (mean ± std over episodes, one seed per episode) of mean user return for
random, popularity, greedy-by-relevance, the one-step model-based policy, the linear ranker (its
weights tuned here, per scenario, on the tuning seeds 1,000+ only: ``agents.baselines.tune_linear_ranker``)
and the privileged oracles (``--planner`` adds the privileged rollout planner), with greedy's margin
over random, and writes JSON. Evaluation runs on held-out worlds: the test split (``--split``; MovieLens's
holds the films of 1997-1998 and one person in five) and the held-out seeds
(``recsim_marl.protocol.EVAL_SEED`` and up unless ``--seed`` says otherwise); tuning uses the training
split only.

    python -m benchmarks.baselines --episodes 10 --out benchmarks/results/baselines.json
"""

from __future__ import annotations

import argparse
import sys
import time

import recsim_marl
from agents.baselines import FixedLevelPolicy, tune_linear_ranker, tuning_budget, user_baselines
from agents.evaluation import evaluate
from benchmarks.common import hardware, write_json
from recsim_marl.config import POOLED
from recsim_marl.protocol import EVAL_SEED


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=10, help="episodes (= seeds) per policy and scenario")
    p.add_argument("--seed", type=int, default=EVAL_SEED, help="first evaluation seed (default: the held-out seeds)")
    p.add_argument("--split", default="test", choices=("train", "validation", "test"), help="the split evaluated on (default: test)")
    p.add_argument("--no-ranker", action="store_true", help="skip tuning and reporting the linear ranker")
    p.add_argument("--scenarios", nargs="*", default=sorted(recsim_marl.SCENARIOS))
    p.add_argument("--planner", action="store_true", help="also the rollout planner (slow: K x samples copies)")
    p.add_argument("--out", default="benchmarks/results/baselines.json")
    args = p.parse_args(argv)

    results = {}
    tiny = recsim_marl.make_config("tiny")
    names = list(user_baselines(tiny, planner=args.planner, ranker_weights=None if args.no_ranker else {}))
    print(f"| scenario | {' | '.join(names)} | greedy / random |")
    print("|---|" + "---|" * (len(names) + 1))
    for scenario in args.scenarios:
        c = recsim_marl.make_config(scenario)  # the training split: what the ranker is tuned on
        t = time.perf_counter()
        tuned = None if args.no_ranker else tune_linear_ranker(c, **tuning_budget(c))
        if c.catalog in POOLED:
            c = c.replace(split=args.split)
        pols = user_baselines(c, seed=args.seed, planner=args.planner, ranker_weights=tuned and tuned["weights"])
        row = {
            name: evaluate(c, {"users": pol, "items": FixedLevelPolicy(0)}, episodes=args.episodes, seed=args.seed)
            for name, pol in pols.items()
        }
        results[scenario] = {"metrics": row, "split": c.split, "linear_ranker_tuning": tuned,
                             "seconds": time.perf_counter() - t}
        ret = {n: row[n]["user_return"] for n in pols}
        cells = " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in ret.values())
        print(f"| {scenario} | {cells} | {ret['greedy'][0] / ret['random'][0]:.2f}x |")
    payload = {"hardware": hardware(), "episodes": args.episodes, "seed": args.seed, "split": args.split,
               "command": "python -m benchmarks.baselines " + " ".join(argv if argv is not None else sys.argv[1:]),
               "results": results}
    print(f"\nwrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
