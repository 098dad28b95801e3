"""Choose a learner's settings without spending the test split: train one run of a protocol learner, with
options changed if you like, exactly as the protocol trains it (the same training worlds, budget and task
options), and score it on the validation split's worlds (new items and people drawn as the training
pool's, seeds 2,000 and up, which no learner trains and no tuner tunes on) beside the task's two strongest
simple policies, the memory policy and the linear ranker, tuned on the training split's tuning seeds as
the protocol tunes them. Each comparison is paired over the same worlds (mean difference and its 95% t
interval). One run is a probe, not a result: results come from ``benchmarks.protocol`` on the test split.

    python -m benchmarks.validate --task slates-retention-v1 --learner mappo-prior-nocontent
    python -m benchmarks.validate --task slates-retention-v1 --learner mappo-prior-nocontent \\
        --set critic_warmup=50 --set ent_coef=0

Writes ``benchmarks/results/validation/<task>__<learner>[__key-value...].json``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from agents.args import learner_module, validate
from agents.baselines import (
    LinearRankerPolicy,
    MemoryPolicy,
    episode_returns,
    scripted_policy,
    tune_linear_ranker,
    tune_memory,
    tuning_budget,
)
from benchmarks.common import hardware, paired_difference, write_json
from benchmarks.protocol import LEARNED, QUICK, commit, run_dir, train_learner
from recsim_marl.protocol import EVAL_SEED, TASKS, TUNING_SEED, VALIDATION_SEED

FIXED = ("scenario", "env", "learn", "items_policy", "users_policy", "total_steps", "seed", "eval_episodes", "progress",
         "tensorboard", "log_dir")
"""Options the protocol sets for every run of a task (its world, budget, training worlds and log): not ``--set``'s."""


def parse_sets(p: argparse.ArgumentParser, learner: str, sets: list[str]) -> dict:
    """``["key=value", ...]`` -> options of the learner's ``Args`` (values read as JSON, else as text)."""
    algo, options = LEARNED[learner]
    args_class = learner_module(algo).Args
    fields = {f.name for f in dataclasses.fields(args_class)} - set(FIXED)
    out = {}
    for item in sets:
        key, eq, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or not key:
            p.error(f"--set {item!r}: write KEY=VALUE, e.g. --set ent_coef=0")
        if key in FIXED:
            p.error(f"--set {item!r}: the protocol sets {key} for every run of a task; choose another --task or --run")
        if key not in fields:
            p.error(f"--set {item!r}: {algo} has no option {key!r}; its options: {', '.join(sorted(fields))}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    try:  # each value in its option's range, named as its flag, before anything is trained
        validate(args_class(**{**options, **out}))
    except (TypeError, ValueError) as e:
        p.error(f"--set: {e}")
    return out


def training_summary(log_dir: Path, group: str) -> dict:
    """What the run's log says training did: its learning group's episodic return (sampled actions, on its
    training worlds) at the first and last logged points, and where logged the policy's entropy, means of
    the first and last ten updates."""
    series: dict[str, list[float]] = {}
    with open(log_dir / "scalars.csv", newline="") as f:
        for row in csv.DictReader(f):
            series.setdefault(row["tag"], []).append(float(row["value"]))
    out = {}
    returns = series.get(f"charts/{group}/episodic_return", [])
    if returns:
        out["episodic_return"] = {"first": returns[0], "last": returns[-1], "logged": len(returns)}
    entropy = series.get(f"losses/{group}/entropy", [])
    if entropy:
        out["entropy"] = {"first_ten": sum(entropy[:10]) / len(entropy[:10]),
                          "last_ten": sum(entropy[-10:]) / len(entropy[-10:]), "updates": len(entropy)}
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    users_tasks = [name for name, t in TASKS.items() if t.learn == "users"]
    p.add_argument("--task", required=True, choices=users_tasks, help="a task where the users learn")
    p.add_argument("--learner", required=True, choices=list(LEARNED), help="a protocol learner (its row's name)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the learner's Args changed for this run (repeatable), e.g. --set lr=3e-4")
    p.add_argument("--run", type=int, default=0, help="which protocol run's training worlds (default 0)")
    p.add_argument("--worlds", type=int, default=20, help="validation worlds played (seeds 2,000 and up)")
    p.add_argument("--quick", action="store_true", help="the task shrunk to seconds: a smoke run, not a result")
    p.add_argument("--out", help="default: benchmarks/results/validation/<task>__<learner>[__key-value...].json")
    args = p.parse_args(argv)
    if not 1 <= args.worlds <= EVAL_SEED - VALIDATION_SEED:
        p.error(f"--worlds must be in 1..{EVAL_SEED - VALIDATION_SEED} (seeds {VALIDATION_SEED} and up, below the "
                f"evaluation seeds {EVAL_SEED}+), got {args.worlds}")
    sets = parse_sets(p, args.learner, args.set)
    task = TASKS[args.task]
    if args.quick:
        task = dataclasses.replace(task, overrides={**task.overrides, **QUICK["overrides"]},
                                   total_steps=QUICK["total_steps"])
    algo, options = LEARNED[args.learner]
    num_envs = sets.get("num_envs", options.get("num_envs", learner_module(algo).Args.num_envs))
    if args.run < 0 or (args.run + 1) * num_envs > TUNING_SEED:
        p.error(f"--run must be in 0..{TUNING_SEED // num_envs - 1} (run r trains on worlds {num_envs} r and up, "
                f"below the tuning seeds {TUNING_SEED}+), got {args.run}")
    suffix = "".join(f"__{k}-{v}" for k, v in sorted(sets.items()))
    args.out = args.out or f"benchmarks/results/validation/{args.task}__{args.learner}{suffix}.json"
    t0 = time.perf_counter()
    train_c, val = task.config("train"), task.config("validation")
    items = scripted_policy(task.items_policy, val, "items")
    worlds = torch.arange(VALIDATION_SEED, VALIDATION_SEED + args.worlds)
    print(f"{args.task}: {args.learner} {sets or ''}, run {args.run}; validation worlds {worlds[0]}..{worlds[-1]}",
          flush=True)
    out_dir = Path(args.out).with_suffix("")  # its training run's log: <out without .json>/runs/...
    policy, info = train_learner(args.learner, task, args.run, out_dir, args.quick, sets)
    info["training"] = training_summary(run_dir(out_dir, task, args.learner, args.run), task.learn)
    budget = dict(episodes=2, population=4, elite=2, generations=1) if args.quick else tuning_budget(train_c)
    memory = tune_memory(train_c, episodes=budget["episodes"], items_policy=items)
    ranker = tune_linear_ranker(train_c, items_policy=items, progress=False, **budget)
    scores = {args.learner.upper(): episode_returns(val, policy, items, worlds),
              "memory": episode_returns(val, MemoryPolicy(val, *memory["settings"]), items, worlds),
              "linear ranker": episode_returns(val, LinearRankerPolicy(val, ranker["weights"]), items, worlds)}
    rows = {}
    for name, r in scores.items():
        rows[name] = {"mean": float(r.mean()), "se": float(r.std() / len(r) ** 0.5), "per_world": r.tolist()}
        if name != "memory":
            rows[name]["minus memory"] = paired_difference(r.tolist(), scores["memory"].tolist())
        print(f"  {name:24s} {rows[name]['mean']:7.2f} ± {rows[name]['se']:.2f}"
              + (f"   minus memory {rows[name]['minus memory']['mean']:+.2f} "
                 f"[{rows[name]['minus memory']['ci'][0]:+.2f}, {rows[name]['minus memory']['ci'][1]:+.2f}]"
                 if name != "memory" else ""), flush=True)
    payload = {"task": args.task, "learner": args.learner, "options": {**options, **sets}, "set": sets,
               "run": args.run, "split": "validation", "quick": args.quick,
               "worlds": [int(worlds[0]), int(worlds[-1])], "train": info,
               "tuned": {"memory": memory["settings"], "linear ranker": ranker["weights"]},
               "made_by": {"command": "python -m benchmarks.validate " + " ".join(sys.argv[1:] if argv is None else argv),
                           "commit": commit(), "hardware": hardware(), "seconds": round(time.perf_counter() - t0, 1)},
               "rows": rows}
    out = write_json(args.out, payload)
    print(f"wrote {out} ({time.perf_counter() - t0:.0f}s)")
    return payload


if __name__ == "__main__":
    main()
