"""What the world looks like under simple policies: the statistics docs/world.md quotes.

1. Per scenario, greedy users and items that never promote, ``--episodes`` worlds side by side:
   the share of clicks that disappoint, the click-through rate, the per-person activity CV (clicks per
   person over the episode), the cosine between the hidden boredom and the platform's click history
   (1.0 would mean the log reveals the hidden state), and the share of the catalogue shown at least once.
2. The tension tables of the scenarios where providers act (``marketplace``, ``creators``), on test-split worlds and
   evaluation seeds, under greedy and model-based users: provider profit and people's return for every
   fixed promotion level and the promote-when-shown rule (and, in ``creators``, the scripted creators),
   each paired with "no promotion" (95% CI), what promoting earns one provider in 16 who does it while
   the others do not, and MAPPO's providers (``--learned-runs`` runs, trained against the table's users).

    python -m benchmarks.world --out benchmarks/results/world.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import recsim_marl
from agents.baselines import CreatorPolicy, FixedLevelPolicy, GreedyPolicy, ModelBasedPolicy, PromoteWhenShownPolicy
from agents.evaluation import evaluate
from benchmarks.common import hardware, paired_difference, train_providers, write_json
from recsim_marl.protocol import EVAL_SEED


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


def promoters_and_others(config, users, seeds: list[int], share: float = 1 / 16) -> dict:
    """A unilateral deviation: the first ``share`` of providers promote at the top level, the others never;
    per episode, the promoters' and the others' profit per item and the people's return, with and without
    that promotion (the same seeds). Whether promoting pays the one who does it."""
    venv = recsim_marl.VecEnv(config, len(seeds), validate=False)
    n = max(1, int(config.num_items * share))
    out = {}
    for name, level in (("none", 0), ("promoters", config.num_levels - 1)):
        obs = venv.reset(seed=seeds)
        if hasattr(users, "bind"):
            users.bind(venv)
        items = torch.zeros(len(seeds), config.num_items, dtype=torch.long)
        items[:, :n] = level
        profit, people = torch.zeros(len(seeds), config.num_items), torch.zeros(len(seeds))
        for _ in range(config.max_cycles):
            obs, rew, _, _, info = venv.step({"users": users.act(obs["users"], obs["action_mask"]["users"]),
                                              "items": items})
            profit += rew["items"]
            people += rew["users"].mean(-1)
        out[name] = {"promoters": profit[:, :n].mean(-1).tolist(), "others": profit[:, n:].mean(-1).tolist(),
                     "user_return": people.tolist()}
    return out


def tension(episodes: int, learned_runs: int = 0, learned_steps: int = 30_000, out_dir: Path | None = None) -> dict:
    """Per scenario where providers act (``marketplace``'s ad market, ``creators``; test split, evaluation
    seeds) and users (greedy, model-based): provider profit per item and people's return under each
    scripted provider policy, and each one's paired difference from "no promotion" (fixed level 0) with a
    95% CI; then the unilateral deviation of :func:`promoters_and_others`. ``learned_runs > 0`` adds
    MAPPO's providers to every table (trained on the training split against that table's users,
    ``learned_runs`` runs; each world's value the mean over the runs)."""
    seeds = list(range(EVAL_SEED, EVAL_SEED + episodes))
    out = {}
    for scenario in ("marketplace", "creators"):
        c = recsim_marl.make_config(scenario, split="test")
        for who, users in (("greedy", GreedyPolicy(c)), ("model-based", ModelBasedPolicy(c))):
            learned = [train_providers(scenario, {}, run, learned_steps, (out_dir or Path(".")) / "runs" /
                                       f"tension_{scenario}_{who}_run{run}", users=who) for run in range(learned_runs)]
            pols = [(f"fixed level {lv}", FixedLevelPolicy(lv)) for lv in range(c.num_levels)]
            pols.append(("promote when shown", PromoteWhenShownPolicy(c)))
            if c.num_drafts:  # the scripted creators (never-publish is fixed level 0)
                pols += [(rule, CreatorPolicy(c, rule)) for rule in CreatorPolicy.RULES if rule != "never-publish"]
            runs = {name: evaluate(c, {"users": users, "items": items}, episodes=episodes, seed=EVAL_SEED,
                                   ranking_metrics=False, per_episode=True) for name, items in pols}
            if learned:  # providers trained against these users
                each = [evaluate(c, {"users": users, "items": pol}, episodes=episodes, seed=EVAL_SEED,
                                 ranking_metrics=False, per_episode=True) for pol, _ in learned]
                runs[f"MAPPO ({len(learned)} runs)"] = {
                    m: [sum(e[m][w] for e in each) / len(each) for w in range(episodes)]
                    for m in ("provider_profit", "user_return")}
            base = runs["fixed level 0"]
            rows = []
            for name, r in runs.items():
                rows.append({"policy": name, **{m: {"mean": sum(r[m]) / len(r[m]),
                                                    "vs_no_promotion": paired_difference(r[m], base[m])}
                                                for m in ("provider_profit", "user_return")}})
            dev = promoters_and_others(c, users, seeds)
            unilateral = {part: paired_difference(dev["promoters"][part], dev["none"][part])
                          for part in ("promoters", "others", "user_return")}
            out[f"{scenario}, {who} users"] = {"rows": rows, "one sixteenth promote at the top level": unilateral,
                                               **({"mappo_runs": [i for _, i in learned]} if learned else {})}
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=8)
    p.add_argument("--tension-episodes", type=int, default=20, help="worlds per row of the tension tables")
    p.add_argument("--learned-runs", type=int, default=3,
                   help="MAPPO provider runs per scenario in the tension tables (0: scripted rows only)")
    p.add_argument("--learned-steps", type=int, default=30_000, help="each MAPPO provider run's training steps")
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
    print(f"\n2. what promotion earns providers and costs people (test split, seeds {EVAL_SEED}.., "
          f"{args.tension_episodes} episodes; differences from no promotion, paired, 95% CI)")
    tables = tension(args.tension_episodes, args.learned_runs, args.learned_steps, Path(args.out).parent)

    def ci(d):
        return f"{d['mean']:+6.2f} [{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}]"

    for where, t in tables.items():
        print(f"\n{where}\n{'policy':>20} {'profit/item':>12} {'vs none':>22} {'user return':>12} {'vs none':>22}")
        for r in t["rows"]:
            p, u = r["provider_profit"], r["user_return"]
            print(f"{r['policy']:>20} {p['mean']:>12.2f} {ci(p['vs_no_promotion']):>22} {u['mean']:>12.2f} "
                  f"{ci(u['vs_no_promotion']):>22}")
        d = t["one sixteenth promote at the top level"]
        print(f"  one provider in 16 promotes at the top level: its profit {ci(d['promoters'])}, the others' "
              f"{ci(d['others'])}, people's return {ci(d['user_return'])}")
    result = {"hardware": hardware(), "episodes": args.episodes, "seed": args.seed, "stats": stats,
              "tension_episodes": args.tension_episodes, "tension_seed": EVAL_SEED, "tension": tables}
    print(f"\nwrote {write_json(args.out, result)}")
    return result


if __name__ == "__main__":
    main()
