"""The benchmark protocol: every task x every policy x several seeds, evaluated on held-out worlds.

For each task of ``recsim_marl.protocol.TASKS`` (or ``--tasks``):

- scripted policies: random, popularity, greedy, model-based, the open-loop floor (one candidate
  position, seeing only time: SMACv2's floor), the memory policy (model-based on its own interest
  estimate learned online from each person's clicks) and the linear ranker, the last three tuned on the
  training split's tuning seeds, and the privileged myopic and farsighted oracles (marked *);
- learners: MAPPO and IQL (``--learners``; ``mappo-memory`` adds MAPPO with a recurrent user actor,
  ``mappo-nocontent`` and ``iql-nocontent`` users' networks that read no candidate content), trained on the
  training split with the task's budget.

Run r (``--seeds``, at least 5 for a claim) is: training seed r for a learner, CEM seed r for the linear
ranker, the random seed r for random; fixed policies repeat themselves. Every run is evaluated on the
task's test-split worlds (seeds 10,000 ... : items and people that share no text with the training
split). Scores are each world's mean user return per person; per task and policy the script reports
every per-seed value (mean over the worlds), the interquartile mean of the [runs x worlds] scores and
its 95% stratified-bootstrap confidence interval (rliable, resampling runs and worlds), and how each row
compares with the task's strongest simple policy (the scripted, non-privileged row of highest IQM: paired
over the test worlds, and each run as a ratio to it); writes JSON, a markdown table and a plot.

The JSON file collects results across invocations, per task, policy and run index: an invocation replaces
the runs it ran and keeps the others, so a long task can be run in pieces (``--runs 0 1`` today,
``--runs 2 3 4`` on another day or machine) and its statistics are recomputed over every run kept. Each
row says which command, code commit and hardware made it last and how long that took, each run its
commit; rows of tasks that are no longer in ``TASKS`` (an older version) are dropped. ``--fresh``
starts the file anew.

    python -m benchmarks.protocol --seeds 5                  # every task, every policy
    python -m benchmarks.protocol --tasks retention-v2 --learners mappo --seeds 5
    python -m benchmarks.protocol --tasks retention-v2 --learners iql --runs 0 1   # two of the five runs
    python -m benchmarks.protocol --tasks boredom-v2 --learners --scripted memory   # one scripted row
    python -m benchmarks.protocol --quick --out /tmp/protocol.json      # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from agents.args import LEARNERS as learner_names
from agents.args import learner_module
from agents.baselines import (
    CreatorPolicy,
    FarsightedOraclePolicy,
    FixedLevelPolicy,
    GreedyPolicy,
    LinearRankerPolicy,
    MemoryPolicy,
    ModelBasedPolicy,
    MyopicOraclePolicy,
    OpenLoopPolicy,
    PopularityPolicy,
    PromoteWhenShownPolicy,
    RandomPolicy,
    episode_returns,
    scripted_policy,
    tune_linear_ranker,
    tune_memory,
    tune_open_loop,
    tuning_budget,
)
from agents.policy import LearnedPolicy
from benchmarks.common import hardware, paired_difference, write_json
from recsim_marl.protocol import TASKS, TUNING_SEED, Task

LEARNERS = tuple(learner_names)  # every registered learner: the default --learners
LEARNED = {**{name: (name, {}) for name in LEARNERS}, "mappo-memory": ("mappo", {"memory": True}),
           **{f"{name}-nocontent": (name, {"content": False}) for name in LEARNERS},
           "mappo-online": ("mappo", {"online_estimate": True}),
           "mappo-online-nocontent": ("mappo", {"online_estimate": True, "content": False}),
           # chosen on slates-retention-v1's validation split (benchmarks.validate: run 0's training worlds, one run
           # each; the memory policy 98.91 there): online_prior 40 98.07, 80 99.62 (lr 1e-3), 40 with lr 3e-4 99.69
           "mappo-prior-nocontent": ("mappo", {"online_estimate": True, "online_prior": 40.0, "lr": 3e-4,
                                               "content": False})}
"""The learned policies the protocol can train, by name (its row is the name in capitals): a registered
learner and its options beyond the task's (``mappo-memory``: MAPPO with a recurrent user actor;
``mappo-nocontent``, ``iql-nocontent``: users' networks that read no candidate content, ``--no-content``;
``mappo-online``: MAPPO whose users' network keeps the memory policy's online interest estimate,
``--online-estimate``, and ``mappo-online-nocontent`` both; ``mappo-prior-nocontent``: that network without
content learning a residual on the memory policy tuned on the run's tuning seeds, ``--online-prior``)."""
QUICK = dict(overrides=dict(num_users=6, num_items=24, num_candidates=4, embed_dim=8, max_cycles=12, encoder="hash"),
             eval_episodes=3, total_steps=600)
"""What ``--quick`` shrinks every task to (a smoke run of the whole pipeline, not a result)."""


def iqm_ci(scores: np.ndarray, reps: int) -> tuple[float, float, float]:
    """IQM of ``scores [runs, worlds]`` and its 95% CI by rliable's stratified bootstrap over runs and
    worlds (``task_bootstrap``: the worlds are a sample too). Reproducible: the same scores give the same
    interval. rliable 1.2 draws its resamples from numpy's global generator whatever ``random_state`` it is
    given, so that generator is seeded for the call and put back as it was after it."""
    from rliable import library as rly
    from rliable import metrics

    state = np.random.get_state()
    np.random.seed(0)
    try:
        point, ci = rly.get_interval_estimates({"p": scores}, lambda x: np.array([metrics.aggregate_iqm(x)]),
                                               task_bootstrap=True, reps=reps,
                                               random_state=np.random.RandomState(0))
    finally:
        np.random.set_state(state)
    return float(point["p"][0]), float(ci["p"][0, 0]), float(ci["p"][1, 0])


def run_dir(out_dir: Path, task: Task, name: str, run: int) -> Path:
    """Where protocol run ``run`` of learner ``name`` on ``task`` logs (its scalars.csv and checkpoint)."""
    return out_dir / "runs" / f"{task.name}_{name}_run{run}"


def train_learner(name: str, task: Task, run: int, out_dir: Path, quick: bool, changed: dict | None = None):
    """Protocol run ``run`` of learner ``name`` on ``task`` (its training worlds, budget and options; ``changed``:
    options set on top, as ``benchmarks.validate --set`` does): ``(LearnedPolicy, info)``."""
    algo, options = LEARNED[name]
    mod = learner_module(algo)
    fields = {f.name for f in dataclasses.fields(mod.Args)}
    options = {**options, **(changed or {})}
    extra = {**{k: v for k, v in task.learner_args.items() if k in fields}, **options}
    if quick:
        extra.update(num_envs=4, **({"learning_starts": 50} if algo == "iql" else {"num_steps": 10}))
    num_envs = extra.get("num_envs", mod.Args.num_envs)
    # run r trains on its own worlds: seeds r * num_envs ... (below the tuning seeds)
    seed = run * num_envs
    assert seed + num_envs <= TUNING_SEED, "training worlds must stay below the tuning seeds"
    args = mod.Args(scenario=task.scenario, env=dict(task.overrides), learn=task.learn, items_policy=task.items_policy,
                    users_policy=task.users_policy, total_steps=task.total_steps, seed=seed, eval_episodes=0,
                    progress=False, tensorboard=False, log_dir=str(run_dir(out_dir, task, name, run)),
                    **extra)
    t = time.perf_counter()
    res = mod.train(args)
    net = res["nets"][task.learn]  # the network that acts (MAPPO's actor, IQL's Q-network)
    info = {"train_seconds": time.perf_counter() - t, "train_seed": seed, "total_steps": res["global_step"],
            "learner": algo, "options": options}
    if res.get("memory_prior"):  # the memory policy it started from, tuned on training worlds (not in total_steps)
        info["memory_prior"] = {k: res["memory_prior"][k] for k in ("settings", "episodes", "seeds")}
    return LearnedPolicy(net), info


def recorder(rows: dict, score):
    """``record(name, run, policy, info=None)``: adds one run of a policy to ``rows``, its per-world scores
    ``score(policy)`` (a ``[worlds]`` tensor) and its info."""
    def record(name, run, policy, info=None):
        row = rows.setdefault(name, {"runs": [], "per_world": [], "info": []})
        row["runs"].append(run)
        row["per_world"].append(score(policy).tolist())
        row["info"].append(info or {})
    return record


USER_ROWS = ("random", "popularity", "greedy", "model-based", "myopic oracle*", "farsighted oracle*", "open loop",
             "memory", "linear ranker")
"""The scripted rows of a task where the users learn (``--scripted`` picks some)."""
ITEM_ROWS = ("random", "no promotion", "promote when shown", *CreatorPolicy.RULES[1:])
"""The scripted rows of a task where the items learn (the creator rules where creators have drafts;
never-publish is "no promotion")."""


def run_task(task: Task, runs: list[int], learners: tuple[str, ...], out_dir: Path, quick: bool,
             scripted: tuple[str, ...] | None = None) -> dict:
    """Rows ``{policy: {"runs": [r, ...], "per_world": [[return per test world] per run], "info": [...]}}``
    for the given run indices (summarised by :func:`summarise` once merged with earlier runs): the scripted
    rows named in ``scripted`` (default: all of :data:`USER_ROWS`) and the ``learners``."""
    if task.learn == "items":
        return run_item_task(task, runs, learners, out_dir, quick, scripted)
    scripted = USER_ROWS if scripted is None else scripted
    train_c, test_c = task.config("train"), task.config("test")
    items = scripted_policy(task.items_policy, test_c, "items")
    worlds = torch.tensor(list(task.eval_seeds))
    budget = dict(episodes=2, population=4, elite=2, generations=1) if quick else tuning_budget(train_c)
    # the fixed policies tuned once on the training split's tuning seeds (they repeat themselves across runs)
    open_loop = tune_open_loop(train_c, episodes=budget["episodes"], items_policy=items) if "open loop" in scripted else None
    memory = tune_memory(train_c, episodes=budget["episodes"], items_policy=items) if "memory" in scripted else None
    fixed = {"popularity": PopularityPolicy, "greedy": GreedyPolicy, "model-based": ModelBasedPolicy,
             "myopic oracle*": MyopicOraclePolicy, "farsighted oracle*": FarsightedOraclePolicy}
    rows: dict = {}
    record = recorder(rows, lambda policy: episode_returns(test_c, policy, items, worlds))

    for j, run in enumerate(runs):
        t = time.perf_counter()
        for name in (n for n in USER_ROWS if n in scripted):
            if name == "random":
                record(name, run, RandomPolicy(test_c.num_candidates, seed=run, slate_size=test_c.slate_size))
            elif name == "open loop":
                record(name, run, OpenLoopPolicy(open_loop["position"], test_c.slate_size, test_c.num_candidates),
                       open_loop)
            elif name == "memory":
                record(name, run, MemoryPolicy(test_c, *memory["settings"]), memory)
            elif name == "linear ranker":
                tuned = tune_linear_ranker(train_c, seed=TUNING_SEED + 100 * run, items_policy=items, progress=False,
                                           **budget)
                record(name, run, LinearRankerPolicy(test_c, tuned["weights"]),
                       {k: tuned[k] for k in ("weights", "tuning_return", "seeds")})
            else:
                record(name, run, fixed[name](test_c))
        for name in learners:
            policy, info = train_learner(name, task, run, out_dir, quick)
            record(name.upper(), run, policy, info)
        print(f"  {task.name}: run {run} ({j + 1}/{len(runs)}) in {time.perf_counter() - t:.0f}s", flush=True)
    return rows


def run_item_task(task: Task, runs: list[int], learners: tuple[str, ...], out_dir: Path, quick: bool,
                  scripted: tuple[str, ...] | None = None) -> dict:
    """:func:`run_task` for a task where the items learn (creators): each world's score is its mean profit
    per creator, with the task's scripted users; the scripted rows (:data:`ITEM_ROWS`) are random (masked),
    never promoting nor publishing, promote when shown, and the creator rules (where creators have drafts)."""
    scripted = ITEM_ROWS if scripted is None else scripted
    test_c = task.config("test")
    users = scripted_policy(task.users_policy, test_c, "users")
    worlds = torch.tensor(list(task.eval_seeds))
    rows: dict = {}
    record = recorder(rows, lambda policy: episode_returns(test_c, users, policy, worlds, group="items"))
    build = {"random": lambda run: RandomPolicy(test_c.num_item_actions, seed=run),
             "no promotion": lambda run: FixedLevelPolicy(0),
             "promote when shown": lambda run: PromoteWhenShownPolicy(test_c),
             **{rule: (lambda run, rule=rule: CreatorPolicy(test_c, rule)) for rule in CreatorPolicy.RULES[1:]}}

    for j, run in enumerate(runs):
        t = time.perf_counter()
        for name in (n for n in ITEM_ROWS if n in scripted):
            if name in CreatorPolicy.RULES and not test_c.num_drafts:
                continue  # no drafts: nothing to publish
            record(name, run, build[name](run))
        for name in learners:
            policy, info = train_learner(name, task, run, out_dir, quick)
            record(name.upper(), run, policy, info)
        print(f"  {task.name}: run {run} ({j + 1}/{len(runs)}) in {time.perf_counter() - t:.0f}s", flush=True)
    return rows


def summarise(row: dict, reps: int) -> dict:
    """``row`` with its runs in order and its statistics over them: each run's mean over the test worlds
    (``per_seed``), the IQM of the [runs x worlds] scores with its 95% CI, and the mean."""
    order = sorted(range(len(row["runs"])), key=lambda j: row["runs"][j])
    row = {**row, **{k: [row[k][j] for j in order] for k in ("runs", "per_world", "info")}}
    scores = np.asarray(row["per_world"], dtype=np.float64)  # [runs, worlds]
    row["per_seed"] = scores.mean(1).round(4).tolist()
    row["iqm"], row["ci_low"], row["ci_high"] = iqm_ci(scores, reps)
    row["mean"] = float(scores.mean())
    return row


def combine(old: dict | None, new: dict) -> dict:
    """One policy's rows of two invocations as one: the new runs, and the old runs the new ones do not
    repeat (a run index names its training seed, CEM seed and random seed, so a repeated index replaces
    the old result). Rows from before runs were recorded (no ``runs``) are replaced whole."""
    if not old or "runs" not in old or "runs" not in new:
        return new
    keep = [j for j, r in enumerate(old["runs"]) if r not in new["runs"]]
    return {**new, **{k: [old[k][j] for j in keep] + new[k] for k in ("runs", "per_world", "info")}}


def commit() -> str:
    """The code's git commit (with ``+changes`` when the working tree's code differs from it; the results
    folder does not count), or ``unknown``."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)benchmarks/results"], capture_output=True, text=True,
                               cwd=Path(__file__).parents[1]).stdout.strip()  # results are outputs, not code
        return head + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def merged(out: Path, results: dict, fresh: bool, reps: int | None = None) -> dict:
    """The file's rows with ``results`` put in (per task, policy and run: :func:`combine`); tasks no longer in
    TASKS dropped. With ``reps``, every row that gained runs is summarised anew (:func:`summarise`)."""
    old = {}
    if out.exists() and not fresh:
        try:
            old = json.loads(out.read_text()).get("results", {})
        except (json.JSONDecodeError, AttributeError) as exc:
            raise SystemExit(f"{out} is not a protocol result ({exc}); pass --fresh to start it anew") from exc
    rows = {}
    for task in TASKS:
        if task in old or task in results:
            rows[task] = dict(old.get(task, {}))
            for name, new in results.get(task, {}).items():
                row = combine(rows[task].get(name), new)
                rows[task][name] = summarise(row, reps) if reps is not None and "runs" in row else row
    for task_rows in rows.values():
        versus_best_simple(task_rows)
    return {"tasks": {n: dataclasses.asdict(TASKS[n]) for n in rows}, "results": rows}


def versus_best_simple(rows: dict) -> None:
    """Adds to every row of one task ``versus``: how it compares with the task's strongest simple policy (the
    scripted, non-privileged row of highest IQM: the bar a learning claim must clear): that row's name, the
    paired difference over the test worlds (each world's mean over this row's runs minus the same world's
    mean over that row's runs) with its 95% Student-t interval, and each run's mean over the worlds as a
    ratio to that row's mean (a claim "by 10% with every seed" needs every ratio >= 1.1)."""
    learned = {name.upper() for name in LEARNED}
    simple = {n: r for n, r in rows.items() if "runs" in r and not n.endswith("*") and n not in learned}
    if not simple:
        return
    best = max(simple, key=lambda n: simple[n]["iqm"])
    ref = np.asarray(rows[best]["per_world"], dtype=np.float64)
    for row in rows.values():
        scores = np.asarray(row.get("per_world", []), dtype=np.float64)
        if "runs" not in row or scores.shape[-1:] != ref.shape[-1:]:
            continue
        diff = paired_difference(scores.mean(0), ref.mean(0))
        row["versus"] = {"policy": best, "paired_difference": diff["mean"], "ci": diff["ci"],
                         "per_seed_ratio": (scores.mean(1) / ref.mean()).round(4).tolist()}


def table(results: dict) -> str:
    lines = ["| task (score) | policy | IQM [95% CI] | per seed (mean over test worlds) | minus the best simple "
             "policy, paired over worlds [95% CI] |", "|---|---|---|---|---|"]
    for task, rows in results.items():
        for name, row in sorted(rows.items(), key=lambda kv: -kv[1]["iqm"]):
            seeds = ", ".join(f"{v:.1f}" for v in row["per_seed"])
            vs = row.get("versus")
            versus = ("(the best simple policy)" if vs["policy"] == name else
                      f"{vs['paired_difference']:+.2f} [{vs['ci'][0]:+.2f}, {vs['ci'][1]:+.2f}] vs {vs['policy']}") if vs else ""
            lines.append(f"| {task} ({TASKS[task].score}) | {name} | {row['iqm']:.2f} [{row['ci_low']:.2f}, "
                         f"{row['ci_high']:.2f}] | {seeds} | {versus} |")
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for ax, (task, rows) in zip(axes[0], results.items()):
        names = sorted(rows, key=lambda n: rows[n]["iqm"])
        iqm = [rows[n]["iqm"] for n in names]
        err = [[rows[n]["iqm"] - rows[n]["ci_low"] for n in names], [rows[n]["ci_high"] - rows[n]["iqm"] for n in names]]
        colors = ["tab:orange" if n.isupper() else "tab:gray" if n.endswith("*") else "tab:blue" for n in names]
        ax.barh(names, iqm, xerr=err, color=colors)
        ax.set_title(f"{task}: test worlds")
        ax.set_xlabel(f"IQM {TASKS[task].score} (95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="*", default=list(TASKS), help=f"task ids (default: all: {', '.join(TASKS)})")
    p.add_argument("--seeds", type=int, default=5, help="runs per policy (>= 5 for a claim; default 5): runs 0..N-1")
    p.add_argument("--runs", type=int, nargs="+", metavar="R",
                   help="run these indices instead (e.g. --runs 3 4): a long task in pieces, on several machines or "
                        "days; the file keeps the other runs of each policy")
    p.add_argument("--learners", nargs="*", default=list(LEARNERS), choices=list(LEARNED),
                   help=f"learned policies to train (default: {' '.join(LEARNERS)}; also: "
                        f"{' '.join(n for n in LEARNED if n not in LEARNERS)})")
    p.add_argument("--scripted", nargs="*", metavar="ROW",
                   help="run only these scripted rows (default: all; none with a bare --scripted): e.g. --scripted "
                        f"memory. Users' tasks: {', '.join(USER_ROWS)}; creators' tasks: {', '.join(ITEM_ROWS)}")
    p.add_argument("--reps", type=int, default=20_000, help="bootstrap resamples")
    p.add_argument("--quick", action="store_true", help="every task shrunk to seconds: a smoke run, not a result")
    p.add_argument("--out", default="benchmarks/results/protocol.json")
    p.add_argument("--fresh", action="store_true", help="start --out anew instead of adding to its rows")
    args = p.parse_args(argv)
    unknown = [t for t in args.tasks if t not in TASKS]
    if unknown:
        p.error(f"unknown task {unknown}; tasks: {', '.join(TASKS)}")
    known = set(USER_ROWS) | set(ITEM_ROWS)
    if args.scripted is not None and not set(args.scripted) <= known:
        p.error(f"unknown scripted row(s) {sorted(set(args.scripted) - known)} in --scripted; the rows are: "
                f"{', '.join(USER_ROWS)} (users' tasks) and {', '.join(ITEM_ROWS)} (creators' tasks)")
    for name in args.tasks if args.scripted else ():  # a row of the other kind of task is not run there
        kind = ITEM_ROWS if TASKS[name].learn == "items" else USER_ROWS
        if not set(args.scripted) & set(kind):
            p.error(f"--scripted {' '.join(args.scripted)}: no row of task {name} (its rows: {', '.join(kind)})")
    if args.seeds < 1:
        p.error("--seeds must be >= 1")
    runs = sorted(set(args.runs)) if args.runs else list(range(args.seeds))
    if min(runs) < 0 or max(runs) > 9:
        p.error(f"--runs must be indices in 0..9 (run r tunes the ranker on seeds {TUNING_SEED} + 100 r ..., below the "
                f"validation seeds), got {args.runs}")
    out = Path(args.out)
    t_all = time.perf_counter()
    command = "python -m benchmarks.protocol " + " ".join(argv if argv is not None else sys.argv[1:])
    made_by = {"command": command, "commit": commit(), "hardware": hardware()}
    results, seconds = {}, {}
    for name in args.tasks:
        task = TASKS[name]
        if args.quick:
            task = dataclasses.replace(task, overrides={**task.overrides, **QUICK["overrides"]},
                                       eval_episodes=QUICK["eval_episodes"], total_steps=QUICK["total_steps"])
        t = time.perf_counter()
        print(f"{name}: {task.scenario}, runs {runs}, learners {args.learners or 'none'}", flush=True)
        results[name] = run_task(task, runs, tuple(args.learners), out.parent, args.quick,
                                 None if args.scripted is None else tuple(args.scripted))
        seconds[name] = time.perf_counter() - t
        for row in results[name].values():
            row["made_by"] = {**made_by, "task_seconds": round(seconds[name], 1)}
            for info in row["info"]:
                info["commit"] = made_by["commit"]  # runs merged from several invocations keep their own
    payload = merged(out, results, fresh=args.fresh or args.quick, reps=args.reps)
    payload.update(quick=args.quick, last_run={**made_by, "seconds": seconds, "total_seconds": time.perf_counter() - t_all})
    text = payload["table"] = table(payload["results"])
    print("\n" + text)
    write_json(out, payload)
    out.with_suffix(".md").write_text(text + "\n")
    try:
        plot(payload["results"], out.with_suffix(".png"))
    except ImportError:  # matplotlib is in the [train] and [dev] extras
        pass
    print(f"\nwrote {out} ({payload['last_run']['total_seconds']:.0f}s)")
    return payload


if __name__ == "__main__":
    main()
