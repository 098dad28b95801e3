"""Do the learners learn? IQL and MAPPO against the baselines, on three scenarios.

- ``default`` and ``boredom``: user agents learned, items do not promote (fixed level 0).
- ``marketplace``: both groups learned; learned items are compared with fixed level 0 and fixed
  maximal promotion under the same learned users.
- ``retention`` (only with ``--only retention``: 200-step episodes with returns, about 13 minutes
  per MAPPO seed): where planning pays.

Each learner trains with seeds 0 .. N-1 (``--seeds N``, default 1) on the training split, then every
policy is evaluated on the same held-out seeds (10,000 ...) of the test split (worlds whose items and
people share no text with the training split). The linear ranker's weights
are tuned on the training split's tuning seeds first. Prints a table, writes JSON and a PNG of
the learning curves. About 6 minutes on a 2-core CPU with one seed; 29 with ``--seeds 5``.

    python -m benchmarks.learning --seeds 5 --out benchmarks/results/learning.json   # the README table
    python -m benchmarks.learning --only retention --out benchmarks/results/learning_retention.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import recsim_marl
from agents import iql, mappo
from agents.args import LEARNERS
from agents.baselines import FixedLevelPolicy, tune_linear_ranker, tuning_budget, user_baselines
from agents.evaluation import evaluate
from agents.policy import LearnedPolicy
from benchmarks.common import hardware, write_json
from recsim_marl.protocol import EVAL_SEED, TASKS, held_out

RUNS = {  # (algorithm, scenario): Args overrides, sized to keep the whole script near 15 CPU minutes
    ("mappo", "boredom"): dict(total_steps=30_000),
    ("iql", "boredom"): dict(total_steps=30_000),
    ("mappo", "default"): dict(total_steps=30_000),
    ("iql", "default"): dict(total_steps=30_000),
    ("mappo", "marketplace"): dict(learn="both", total_steps=8_000, num_envs=8),
    ("iql", "marketplace"): dict(learn="both", total_steps=20_000),
    # 200-step episodes with returns: the protocol task's budget and discount (recsim_marl.protocol.TASKS,
    # where the reason is written), so this script and the protocol train the same way
    ("mappo", "retention"): dict(total_steps=TASKS["retention-v2"].total_steps, **TASKS["retention-v2"].learner_args),
}
DEFAULT_SCENARIOS = ("boredom", "default", "marketplace")  # --only retention for the long one
MODULES = {"mappo": mappo, "iql": iql}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=10, help="evaluation episodes (one held-out seed each)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every run's total_steps")
    p.add_argument("--only", nargs="*", default=None,
                   help=f"scenarios to run (default: {', '.join(DEFAULT_SCENARIOS)}; also: retention)")
    p.add_argument("--out", default="benchmarks/results/learning.json")
    p.add_argument("--device", default="cpu")
    p.add_argument("--seeds", type=int, default=1,
                   help="training seeds per learner; with more than one, the table shows mean ± std across seeds")
    args = p.parse_args(argv)
    out_dir = Path(args.out).parent
    known = {scenario for _, scenario in RUNS}
    if args.only and not set(args.only) <= known:
        p.error(f"--only takes scenarios among {sorted(known)}, got {args.only}")
    t_all = time.perf_counter()
    results: dict = {}
    curves: dict = {}
    for (algo, scenario), kw in RUNS.items():
        if scenario not in (args.only or DEFAULT_SCENARIOS):
            continue
        kw = {**kw, "total_steps": int(kw["total_steps"] * args.scale)}
        mod = MODULES[algo]
        c = held_out(recsim_marl.make_config(scenario))
        row = {"train_seconds": 0.0, "per_seed": []}
        for seed in range(args.seeds):
            t = time.perf_counter()
            res = mod.train(mod.Args(scenario=scenario, seed=seed, progress=False, eval_episodes=0, device=args.device,
                                     log_dir=str(out_dir / "runs" / f"{algo}_{scenario}_seed{seed}"), **kw))
            row["train_seconds"] += time.perf_counter() - t
            nets = res["actors"] if algo == "mappo" else res["qnets"]
            learned = {g: LearnedPolicy(nets[g]) for g in nets.groups}
            items = learned.get("items", FixedLevelPolicy(0))
            one = {"train_steps": res["global_step"], "curve": res["curve"],
                   algo: evaluate(c, {"users": learned["users"], "items": items}, episodes=args.episodes, seed=EVAL_SEED)}
            if "items" in learned:  # the same learned users facing scripted providers
                for name, level in (("items fixed 0", 0), (f"items fixed {c.num_levels - 1}", c.num_levels - 1)):
                    one[name] = evaluate(c, {"users": learned["users"], "items": FixedLevelPolicy(level)},
                                         episodes=args.episodes, seed=EVAL_SEED)
            row["per_seed"].append(one)
            ret = one[algo]["user_return"]
            print(f"{algo} on {scenario}, training seed {seed}: user return {ret[0]:.2f} ± {ret[1]:.2f} per person "
                  f"on the held-out seeds ({time.perf_counter() - t:.0f}s)", flush=True)
        for key in row["per_seed"][0]:
            if isinstance(row["per_seed"][0][key], dict):  # metrics: across seeds when there are several
                row[key] = across_seeds([one[key] for one in row["per_seed"]])
        row["curve"] = row["per_seed"][0]["curve"]
        results[f"{algo}/{scenario}"] = row
        curves[f"{algo}/{scenario}"] = row["curve"]
        print(f"trained {algo} on {scenario} in {row['train_seconds']:.0f}s", flush=True)

    baselines = {}
    for scenario in sorted({k.split("/")[1] for k in results}):
        c = recsim_marl.make_config(scenario)
        tuned = tune_linear_ranker(c, **tuning_budget(c))  # on the training split
        c = held_out(c)
        pols = user_baselines(c, ranker_weights=tuned["weights"])
        baselines[scenario] = {n: evaluate(c, {"users": u, "items": FixedLevelPolicy(0)}, episodes=args.episodes,
                                           seed=EVAL_SEED) for n, u in pols.items()}

    spread = "over held-out episodes" if args.seeds == 1 else f"across {args.seeds} training seeds"
    ms = lambda v, m: f"{v[m][0]:.2f} ± {v[m][1]:.2f}"  # noqa: E731
    print(f"\nmean user return per person (mean ± std {spread}; baselines over episodes); * = privileged;")
    print("every column with items at fixed level 0 (learned users of a both-learned run included)")
    first = next(iter(baselines.values()))
    print(f"| scenario | {' | '.join(first)} | MAPPO | IQL |")
    print("|---|" + "---|" * (len(first) + 2))
    for scenario, base in baselines.items():
        cells = [ms(base[n], "user_return") for n in base]
        for algo in LEARNERS:
            r = results.get(f"{algo}/{scenario}")
            cells.append(ms(r.get("items fixed 0", r[algo]), "user_return") if r else "-")
        print(f"| {scenario} | " + " | ".join(cells) + " |")
    market = [k for k in results if "items fixed 0" in results[k]]
    if market:
        print("\nboth groups learned: provider profit per item (user return per person), same learned users")
        print("| run | learned items | items fixed 0 | items fixed max |")
        print("|---|---|---|---|")
        for k in market:
            algo = k.split("/")[0]
            r = results[k]
            vals = [r[algo]] + [r[n] for n in r if n.startswith("items fixed")]
            print(f"| {k} | " + " | ".join(f"{ms(v, 'provider_profit')} ({v['user_return'][0]:.1f})" for v in vals) + " |")
    total = time.perf_counter() - t_all
    print(f"\ntotal {total / 60:.1f} minutes on {hardware()}")
    payload = {"hardware": hardware(), "episodes": args.episodes, "total_seconds": total,
               "learners": results, "baselines": baselines}
    print(f"wrote {write_json(args.out, payload)}")
    print(f"wrote {plot(curves, baselines, Path(args.out).with_suffix('.png'))}")
    return payload


def across_seeds(evals: list[dict]) -> dict:
    """One training seed: its (mean, std over episodes). Several: (mean, std) of the per-seed means."""
    if len(evals) == 1:
        return evals[0]
    import statistics

    return {m: (statistics.mean(e[m][0] for e in evals), statistics.pstdev(e[m][0] for e in evals)) for m in evals[0]}


def plot(curves: dict, baselines: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = sorted({k.split("/")[1] for k in curves})
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5 * len(scenarios), 3.8), squeeze=False)
    for ax, scenario in zip(axes[0], scenarios):
        for key, pts in curves.items():
            if key.endswith("/" + scenario) and pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], label=key.split("/")[0].upper())
        colors = {"random": "grey", "greedy": "black", "model-based": "blue", "myopic oracle*": "green"}
        for name, color in colors.items():
            ax.axhline(baselines[scenario][name]["user_return"][0], linestyle="--", linewidth=1, label=name,
                       color=color)
        ax.set_title(scenario)
        ax.set_xlabel("env steps")
        ax.set_ylabel("training episode user return")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
