"""What the world looks like under simple policies: the statistics docs/world.md quotes.

1. Per scenario, greedy users and items that never promote, ``--episodes`` worlds side by side:
   the share of clicks that disappoint, the click-through rate, the per-person activity CV (clicks per
   person over the episode), the cosine between the hidden boredom and the platform's click history
   (1.0 would mean the log reveals the hidden state), and the share of the catalogue shown at least once.
2. ``marketplace``'s tension table: provider profit and user return for every fixed promotion level,
   for the promote-when-shown rule, and for the least relevant recommendation with every item at the
   top level (advertising that costs people), all with greedy users unless said.

    python -m benchmarks.world --out benchmarks/results/world.json
"""

from __future__ import annotations

import argparse

import torch

import recsim_marl
from agents.baselines import FixedLevelPolicy, GreedyPolicy, LeastRelevantPolicy, PromoteWhenShownPolicy
from agents.evaluation import evaluate
from benchmarks.common import hardware, write_json


def world_stats(scenario: str, episodes: int, seed: int) -> dict:
    venv = recsim_marl.make_vec(episodes, scenario=scenario)  # every scenario at its full size
    c, lay = venv.config, venv.layouts["users"]
    obs = venv.reset(seed=seed)
    finished = torch.zeros(episodes, dtype=torch.bool)
    clicks = torch.zeros(episodes, c.num_users)
    disappointed = shown_n = 0.0
    shown = torch.zeros(episodes, c.num_items, dtype=torch.bool)
    cos_sum = cos_n = 0.0
    items = torch.zeros(episodes, c.num_items, dtype=torch.long)
    for _ in range(c.max_cycles):
        s = venv.current
        live = s.present & ~finished[:, None]
        cos = torch.nn.functional.cosine_similarity(s.boredom, s.history, dim=-1)
        ok = live & (s.history.norm(dim=-1) > 0)
        cos_sum += float(cos[ok].sum())
        cos_n += int(ok.sum())
        users = lay.read(obs["users"], "candidate_relevance").argmax(-1)
        obs, _, _, _, info = venv.step({"users": users, "items": items})
        click = info["clicked"].float() * live
        clicks += click
        m = info["metrics"]
        disappointed += float((m["disappointment"] * m["clicks"] * ~finished).sum())
        shown_n += float(live.sum())
        shown |= torch.zeros_like(shown).scatter_(1, info["recommended"], live)
        finished |= info["done"]
        if bool(finished.all()):
            break
    total = float(clicks.sum())
    cv = clicks.std(1, unbiased=False) / clicks.mean(1).clamp_min(1e-9)
    return {
        "disappointed_share": disappointed / max(total, 1.0),
        "ctr": total / max(shown_n, 1.0),
        "activity_cv": float(cv.mean()),
        "cos_boredom_history": cos_sum / max(cos_n, 1),
        "catalogue_shown": float(shown.float().mean()),
    }


def tension(episodes: int, seed: int) -> list[dict]:
    c = recsim_marl.make_config("marketplace")
    greedy = GreedyPolicy(c)
    rows = [(f"greedy, fixed level {lv}", greedy, FixedLevelPolicy(lv)) for lv in range(c.num_levels)]
    rows += [("greedy, promote when shown", greedy, PromoteWhenShownPolicy(c)),
             (f"least relevant, fixed level {c.num_levels - 1}", LeastRelevantPolicy(c), FixedLevelPolicy(c.num_levels - 1))]
    out = []
    for name, users, items in rows:
        r = evaluate(c, {"users": users, "items": items}, episodes=episodes, seed=seed)
        out.append({"policy": name, **{k: r[k] for k in ("provider_profit", "user_return", "ctr", "disappointment", "churn")}})
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=8)
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--scenarios", nargs="*", default=sorted(recsim_marl.SCENARIOS))
    p.add_argument("--out", default="benchmarks/results/world.json")
    args = p.parse_args(argv)
    print(f"hardware: {hardware()}\n\n1. greedy users, no promotion ({args.episodes} episodes, seeds {args.seed}..)")
    print(f"{'scenario':>15} {'disappointed':>13} {'ctr':>6} {'activity CV':>12} {'cos(h, log)':>12} {'shown':>6}")
    stats = {}
    for sc in args.scenarios:
        r = stats[sc] = world_stats(sc, args.episodes, args.seed)
        print(f"{sc:>15} {r['disappointed_share']:>13.2f} {r['ctr']:>6.2f} {r['activity_cv']:>12.2f} "
              f"{r['cos_boredom_history']:>12.2f} {r['catalogue_shown']:>6.2f}")
    print("\n2. marketplace: what promotion earns providers and costs people")
    print(f"{'policy':>34} {'profit/item':>12} {'user return':>12} {'ctr':>6} {'disappointed':>13}")
    rows = tension(args.episodes, args.seed)
    for r in rows:
        print(f"{r['policy']:>34} {r['provider_profit'][0]:>6.2f} ± {r['provider_profit'][1]:<4.2f}"
              f"{r['user_return'][0]:>7.2f} ± {r['user_return'][1]:<4.2f}{r['ctr'][0]:>5.2f} {r['disappointment'][0]:>13.2f}")
    result = {"hardware": hardware(), "episodes": args.episodes, "seed": args.seed, "stats": stats, "marketplace": rows}
    print(f"\nwrote {write_json(args.out, result)}")
    return result


if __name__ == "__main__":
    main()
