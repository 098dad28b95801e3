"""Learned creators against scripted ones, with and without the platform's quality gate (issue 19).

MAPPO learns the item agents (creators) of the ``creators`` scenario on training-split worlds (run r
on seeds ``r * num_envs ...``, below the tuning seeds) with greedy users (``--users model-based``: the
model-based policy); every policy is then evaluated on the same ``--episodes`` test-split worlds (seeds
10,000 ...) with those users: provider profit per
creator, people's return, and what was published (its quality, appeal and clickbait share). Rows: the
scripted creators (never publish, quality-first, clickbait-first, copy-trend, promote when shown),
MAPPO, and MAPPO with its promotion removed (the same publishing at level 0: what its promotion adds,
with its mean promotion level), each with and without ``quality_gate``. Statistics: the mean over runs x worlds and its 95% CI
by a stratified bootstrap over runs and worlds (a scripted policy is one run); the learned creators'
margin over every scripted one, and the gate's effect on the quality of what they publish
(differences of means, bootstrap CIs paired by world: every policy plays the same worlds).

MAPPO's budget (300,000 steps) was chosen on training worlds: runs on seeds below 1,000 evaluated on
tuning seeds 1,000-1,019 against never publishing (+0.60, +1.11, +2.07 per creator at 30k, 100k and
300k steps, one run each; docs/learners.md "Creators").

    python -m benchmarks.creators --runs 3 --out benchmarks/results/creators.json
    python -m benchmarks.creators --runs 3 --users model-based --no-gate-only \
        --out benchmarks/results/creators_model_based.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import recsim_marl
from agents.baselines import CreatorPolicy, GreedyPolicy, ModelBasedPolicy, PromoteWhenShownPolicy
from agents.evaluation import evaluate
from benchmarks.common import hardware, train_providers, write_json
from recsim_marl.protocol import EVAL_SEED

METRICS = ("provider_profit", "user_return", "published", "published_quality", "published_appeal",
           "clickbait_share", "live_quality", "exits")


class Levels:
    """A creator policy that records the mean promotion level it chooses (action ``p * L + l``)."""

    def __init__(self, inner, num_levels: int):
        self.inner, self.num_levels, self.total, self.count = inner, num_levels, 0.0, 0

    def act(self, obs, mask):
        a = self.inner.act(obs, mask)
        self.total += float((a % self.num_levels).sum())
        self.count += a.numel()
        return a

    def mean_level(self) -> float:
        return self.total / max(self.count, 1)


class NoPromotion:
    """The same creator policy with its promotion removed: what it publishes, at level 0."""

    def __init__(self, inner, num_levels: int):
        self.inner, self.num_levels = inner, num_levels

    def act(self, obs, mask):
        return self.inner.act(obs, mask) // self.num_levels * self.num_levels


def bootstrap(values: np.ndarray, reps: int, rng: np.random.Generator, worlds: np.ndarray | None = None) -> np.ndarray:
    """Means of ``reps`` stratified resamples of ``values [runs, worlds]`` (runs and worlds resampled);
    ``worlds [reps, W]`` fixes the worlds' resamples (to pair two policies on the same worlds)."""
    r, w = values.shape
    runs = rng.integers(0, r, (reps, r))
    if worlds is None:
        worlds = rng.integers(0, w, (reps, w))
    return np.stack([values[runs[k]][:, worlds[k]].mean() for k in range(reps)])


def summarise(values: list[list[float]], reps: int, rng) -> dict:
    v = np.asarray(values, dtype=np.float64)
    boot = bootstrap(v, reps, rng)
    return {"mean": float(v.mean()), "ci": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
            "per_run": v.mean(1).round(4).tolist()}


def difference(a: list[list[float]], b: list[list[float]], reps: int, rng) -> dict:
    """Mean of ``a`` minus mean of ``b`` (each [runs, worlds], the same worlds) with a 95% bootstrap CI,
    paired by world: each resample draws one set of worlds for both (runs are resampled apart)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    worlds = rng.integers(0, a.shape[1], (reps, a.shape[1]))
    da = bootstrap(a, reps, rng, worlds)
    db = bootstrap(b, reps, rng, worlds)
    d = da - db
    return {"mean": float(np.mean(a) - np.mean(b)), "ci": [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))]}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="MAPPO training runs per gate setting")
    p.add_argument("--episodes", type=int, default=20, help="test-split worlds every policy is evaluated on")
    p.add_argument("--total-steps", type=int, default=300_000, help="MAPPO's training budget per run")
    p.add_argument("--gate", type=float, default=0.0, help="the quality gate compared with none")
    p.add_argument("--reps", type=int, default=5000, help="bootstrap resamples")
    p.add_argument("--quick", action="store_true", help="a smoke test: tiny budgets")
    p.add_argument("--reuse", action="store_true",
                   help="load MAPPO runs already trained with the same options in the runs folder instead of training")
    p.add_argument("--users", default="greedy", choices=["greedy", "model-based"],
                   help="the scripted recommenders MAPPO trains against and every policy is evaluated with")
    p.add_argument("--no-gate-only", action="store_true", help="only the setting without the quality gate")
    p.add_argument("--out", default="benchmarks/results/creators.json")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    out_dir = Path(args.out).parent
    episodes = 2 if args.quick else args.episodes
    steps = 400 if args.quick else args.total_steps
    settings = {"no gate": {}, **({} if args.no_gate_only else {f"gate {args.gate:g}": {"quality_gate": args.gate}})}
    users_of = {"greedy": GreedyPolicy, "model-based": ModelBasedPolicy}[args.users]
    runs_tag = "" if args.users == "greedy" else "_model-based"
    print(f"hardware: {hardware()}\ncreators, {args.users} users, test split, seeds {EVAL_SEED}.. ({episodes} worlds); "
          f"MAPPO {args.runs} runs x {steps} steps per setting", flush=True)
    results: dict = {}
    for setting, overrides in settings.items():
        test = recsim_marl.make_config("creators", split="test", **overrides)
        users = users_of(test)
        pols = {rule: [CreatorPolicy(test, rule)] for rule in CreatorPolicy.RULES}
        pols["promote when shown"] = [PromoteWhenShownPolicy(test)]
        infos, raw = [], []
        pols["MAPPO"] = []
        for run in range(args.runs):
            gate = overrides.get("quality_gate")
            policy, info = train_providers("creators", overrides, run, steps,
                                           out_dir / "runs" / f"creators{runs_tag}_gate{gate}_run{run}", args.quick,
                                           users=args.users, reuse=args.reuse)
            pols["MAPPO"].append(Levels(policy, test.num_levels))
            raw.append(policy)
            infos.append(info)
            print(f"  {setting}: MAPPO run {run} trained in {info['train_seconds']}s", flush=True)
        # the same learned creators with their promotion removed: what their promotion adds
        pols["MAPPO, no promotion"] = [NoPromotion(pol, test.num_levels) for pol in raw]
        rows = {}
        for name, policies in pols.items():
            per = [evaluate(test, {"users": users, "items": pol}, episodes=episodes, seed=EVAL_SEED,
                            ranking_metrics=False, per_episode=True) for pol in policies]
            rows[name] = {m: [r[m] for r in per] for m in METRICS}
        results[setting] = {"raw": rows, "mappo_runs": infos,
                            "summary": {name: {m: summarise(v, args.reps, rng) for m, v in row.items()}
                                        for name, row in rows.items()}}
        scripted = [n for n in rows if not n.startswith("MAPPO")]
        results[setting]["mappo_mean_level"] = [pol.mean_level() for pol in pols["MAPPO"]]
        results[setting]["mappo_promotion_adds"] = {
            m: difference(rows["MAPPO"][m], rows["MAPPO, no promotion"][m], args.reps, rng)
            for m in ("provider_profit", "user_return")}
        best = max(scripted, key=lambda n: float(np.mean(rows[n]["provider_profit"])))
        results[setting]["best_scripted"] = best
        results[setting]["mappo_vs_scripted"] = {
            n: {m: difference(rows["MAPPO"][m], rows[n][m], args.reps, rng) for m in ("provider_profit", "user_return")}
            for n in scripted}
        results[setting]["mappo_vs_best_scripted"] = results[setting]["mappo_vs_scripted"][best]
        print(f"\n{setting}\n{'policy':>20} {'profit/creator':>24} {'user return':>24} {'published':>10} "
              f"{'quality':>8} {'appeal':>8} {'clickbait':>9}")
        for name, sm in results[setting]["summary"].items():
            pp, ur = sm["provider_profit"], sm["user_return"]
            print(f"{name:>20} {pp['mean']:>7.2f} [{pp['ci'][0]:6.2f}, {pp['ci'][1]:6.2f}] "
                  f"{ur['mean']:>7.2f} [{ur['ci'][0]:6.2f}, {ur['ci'][1]:6.2f}] {sm['published']['mean']:>10.2f} "
                  f"{sm['published_quality']['mean']:>8.2f} {sm['published_appeal']['mean']:>8.2f} "
                  f"{sm['clickbait_share']['mean']:>9.2f}")
        for n, dd in results[setting]["mappo_vs_scripted"].items():
            d, u = dd["provider_profit"], dd["user_return"]
            print(f"  MAPPO - {n}: profit {d['mean']:+.2f} [{d['ci'][0]:+.2f}, {d['ci'][1]:+.2f}], people's return "
                  f"{u['mean']:+.2f} [{u['ci'][0]:+.2f}, {u['ci'][1]:+.2f}]")
        d = results[setting]["mappo_promotion_adds"]
        print(f"  MAPPO's mean promotion level {np.mean(results[setting]['mappo_mean_level']):.3f}; what its promotion "
              f"adds: profit {d['provider_profit']['mean']:+.2f}, people's return {d['user_return']['mean']:+.2f}")
    names = list(settings)
    gate_effect = None
    if len(names) == 2:
        gate_effect = {m: difference(results[names[1]]["raw"]["MAPPO"][m], results[names[0]]["raw"]["MAPPO"][m],
                                     args.reps, rng) for m in ("published_quality", "live_quality", "provider_profit",
                                                               "user_return")}
        g = gate_effect["published_quality"]
        print(f"\nthe gate's effect on what learned creators publish: quality {g['mean']:+.2f} "
              f"[{g['ci'][0]:+.2f}, {g['ci'][1]:+.2f}]")
    payload = {"hardware": hardware(), "users": args.users, "runs": args.runs, "episodes": episodes, "total_steps": steps,
               "eval_seed": EVAL_SEED, "settings": settings, "results": results, "gate_effect_on_mappo": gate_effect}
    print(f"wrote {write_json(args.out, payload)}")
    return payload


if __name__ == "__main__":
    main()
