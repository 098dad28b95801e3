"""How much better than the linear ranker can a policy that sees only the observation do? A diagnostic
of a task's worlds that never reads the test split, so it can guide what to build without spending the
held-out worlds: it plays the validation split (new items and people drawn as the training pool's, which
no learner trains and no tuner tunes on; seeds 2,000 and up), or with ``--split train`` the training
pool's own items and people on those seeds (where a learner that memorised the training items looks
better than it will on new ones).

It plays, on the same worlds:

- the simple policies: model-based and the linear ranker (tuned by CEM as in the protocol);
- the privileged references: the myopic and the farsighted oracle (and, with ``--planner``, the rollout
  planner), which read the hidden state;
- the farsighted oracle with its hidden inputs replaced, one group at a time, by what the platform
  observes in their place: the person's traits by the median person's, each item's appeal by 0 (unknown),
  its quality by its noisy rating, the person's interest and boredom by the platform's estimate and
  click history. What the oracle loses with each replacement is what knowing that hidden input is worth;
  a learner can only earn it by inferring the input from what it observes;
- the other way round, the oracle's formula on observed inputs given one hidden group at a time (the
  true interest comes with the true boredom; the median person's traits weigh both): what knowing only
  that input is worth to this formula, which otherwise sees what the platform sees; and both the
  interest and the traits (everything hidden about the person but trust). Not a bound: the formula's
  look-ahead is one step with a fixed weight;
- a policy with memory (``memory``): it keeps its own estimate of each person's interest, updated after
  every recommendation by what the platform logged (the click, and whether the person watched it all:
  reconstructed from the observation's moving averages), as an online logistic regression of clicks and
  satisfaction on the item's content, and picks by the farsighted oracle's formula applied to that
  estimate and the observed rating (``agents.baselines.MemoryPolicy``, tuned on the tuning seeds); with
  slates also the same values ranked top-S instead of built slot by slot under the choice model (why a
  learner's slate policy is sequential).

    python -m benchmarks.headroom                          # retention-v2, 20 validation-split worlds
    python -m benchmarks.headroom --task boredom-v2 --planner
    python -m benchmarks.headroom --checkpoint runs/mappo/checkpoint.pt   # a learner on the same worlds
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from agents.args import LEARNERS, learner_module
from agents.baselines import (
    FarsightedOraclePolicy,
    LinearRankerPolicy,
    MemoryPolicy,
    ModelBasedPolicy,
    MyopicOraclePolicy,
    RolloutPlannerPolicy,
    episode_returns,
    scripted_policy,
    top,
    tune_linear_ranker,
    tune_memory,
    tuning_budget,
)
from agents.checkpoint import load_checkpoint
from benchmarks.common import hardware, write_json
from benchmarks.protocol import QUICK
from recsim_marl.core.observation import observation_layout
from recsim_marl.protocol import EVAL_SEED, TASKS, VALIDATION_SEED

REPLACEMENTS = {
    "traits": "the median person's traits",
    "appeal": "appeal 0 (unknown)",
    "quality": "the noisy rating",
    "interest": "the platform's estimate and click history",
    "trust": "full trust (1)",
}
"""The hidden inputs of the farsighted oracle and what the platform observes in their place."""


class ObservedOracle(FarsightedOraclePolicy):
    """The farsighted oracle with the hidden inputs named in ``replace`` (keys of :data:`REPLACEMENTS`)
    taken from the observation instead. PRIVILEGED unless all are replaced."""

    def __init__(self, config, replace: tuple[str, ...]):
        super().__init__(config)
        self.replace, self.lay, self._obs = replace, observation_layout(config)["users"], None

    def truth(self) -> dict:
        x, c = super().truth(), self.config
        m, lay, obs = self._env().user_model, self.lay, self._obs
        median = m.population(c)
        if "traits" in self.replace:
            x["tr"] = median
        if "appeal" in self.replace:
            x["appeal"] = torch.zeros_like(x["appeal"])
        if "quality" in self.replace:
            x["quality"] = lay.read(obs, "candidate_rating")
        if "trust" in self.replace:
            x["trust"] = torch.ones_like(x["trust"])
        if "interest" in self.replace:
            x["aff"] = m.affinity(c, x["tr"], lay.read(obs, "estimate").unsqueeze(-2), lay.read(obs, "history").unsqueeze(-2),
                                  lay.read(obs, "candidate_content"))
        elif "traits" in self.replace:  # the true interest and boredom, weighed with the median's traits (how
            x["aff"] = self.true_affinity(x["tr"])  # much boredom counts is a trait: it must not leak)
        return x

    def act(self, obs, mask):
        self._obs = obs
        return super().act(obs, mask)


class RankedMemory(MemoryPolicy):
    """The memory policy with its slate ranked: the S candidates of highest value, best on top, instead
    of the slate built slot by slot under the choice model (what a learner that scores candidates and
    ranks them, as Plackett-Luce does, would show with the memory's values)."""

    def build_slate(self, p, value, mask):
        return top(value if mask is None else value.masked_fill(~mask, float("-inf")), self.config.slate_size)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="retention-v2", choices=list(TASKS))
    p.add_argument("--worlds", type=int, default=20, help="worlds played (seeds 2,000 and up)")
    p.add_argument("--split", default="validation", choices=("validation", "train"),
                   help="the worlds' split: validation (new items and people; default) or train (the training "
                        "pool's)")
    p.add_argument("--planner", action="store_true", help="also the privileged rollout planner (minutes)")
    p.add_argument("--quick", action="store_true", help="the task shrunk to seconds: a smoke run, not a result")
    p.add_argument("--checkpoint", nargs="+", default=[], metavar="PATH",
                   help="checkpoints of the task's user learners to play on the same worlds (only load checkpoints "
                        "you made or trust)")
    p.add_argument("--out", help="default: benchmarks/results/headroom_<task>.json (and .md)")
    args = p.parse_args(argv)
    if not 1 <= args.worlds <= EVAL_SEED - VALIDATION_SEED:
        p.error(f"--worlds must be in 1..{EVAL_SEED - VALIDATION_SEED} (seeds {VALIDATION_SEED} and up, below the "
                f"evaluation seeds {EVAL_SEED}+), got {args.worlds}")
    task = TASKS[args.task]
    if args.planner and task.config("train").slate_size > 1:
        p.error(f"--planner: the rollout planner recommends single items and {args.task} shows slates; drop --planner "
                "(the farsighted oracle* is the slate reference)")
    args.out = args.out or f"benchmarks/results/headroom_{args.task}.json"
    c, played = task.config("train"), task.config(args.split)  # tuned on the training split, played on `split`
    budget = tuning_budget(c)
    if args.quick:
        c, played = c.replace(**QUICK["overrides"]), played.replace(**QUICK["overrides"])
        budget = dict(episodes=2, population=4, elite=2, generations=1)
    items = scripted_policy(task.items_policy, c, "items")
    worlds = torch.arange(VALIDATION_SEED, VALIDATION_SEED + args.worlds)
    rows, t0 = {}, time.perf_counter()

    def play(name, policy, info=None):
        t = time.perf_counter()
        r = episode_returns(played, policy, items, worlds)
        rows[name] = {"mean": float(r.mean()), "se": float(r.std() / len(r) ** 0.5), "per_world": r.tolist(),
                      **(info or {})}
        print(f"  {name:58s} {rows[name]['mean']:7.2f} ± {rows[name]['se']:.2f}  ({time.perf_counter() - t:.0f}s)",
              flush=True)

    print(f"{args.task}, {args.split} split, worlds {worlds[0]}..{worlds[-1]}:", flush=True)
    play("model-based", ModelBasedPolicy(c))
    tuned = tune_linear_ranker(c, items_policy=items, progress=False, **budget)
    play("linear ranker", LinearRankerPolicy(c, tuned["weights"]), {"weights": tuned["weights"]})
    play("myopic oracle*", MyopicOraclePolicy(c))
    play("farsighted oracle*", FarsightedOraclePolicy(c))
    for hidden, proxy in REPLACEMENTS.items():
        play(f"farsighted oracle*, {hidden} -> {proxy}", ObservedOracle(c, (hidden,)))
    play("farsighted formula on observations only (all replaced)", ObservedOracle(c, tuple(REPLACEMENTS)))
    for known in [(h,) for h in REPLACEMENTS] + [("interest", "traits")]:
        play(f"farsighted formula on observations and the true {' and '.join(known)}*",
             ObservedOracle(c, tuple(h for h in REPLACEMENTS if h not in known)))
    memory = tune_memory(c, episodes=2 if args.quick else 16, items_policy=items)
    play("memory (own interest estimate from clicks and watched shares)", MemoryPolicy(c, *memory["settings"]), memory)
    if c.slate_size > 1:
        play("memory, its values ranked top-S (not built under the choice model)", RankedMemory(c, *memory["settings"]))
    if args.planner:
        play("rollout planner*", RolloutPlannerPolicy(c))
    for path in args.checkpoint:
        ck = load_checkpoint(path)
        algorithm, scenario = ck.get("algorithm"), ck.get("args", {}).get("scenario")
        if algorithm not in LEARNERS:
            p.error(f"--checkpoint {path}: written by unknown algorithm {algorithm!r}")
        if scenario != task.scenario:
            p.error(f"--checkpoint {path}: trained on {scenario!r}, not on {args.task}'s scenario {task.scenario!r}")
        play(f"{algorithm.upper()} ({path})", learner_module(algorithm).load_policy(path, "users"))
    ranker = rows["linear ranker"]["mean"]
    payload = {"task": args.task, "split": args.split, "quick": args.quick, "worlds": [int(worlds[0]), int(worlds[-1])],
               "made_by": {"command": "python -m benchmarks.headroom " + " ".join(sys.argv[1:] if argv is None else argv),
                           "hardware": hardware(), "seconds": round(time.perf_counter() - t0, 1)},
               "rows": rows}
    lines = ["| policy | mean return per person ± s.e. | vs linear ranker |", "|---|---|---|"]
    lines += [f"| {n} | {r['mean']:.1f} ± {r['se']:.1f} | {r['mean'] / ranker:.2f}x |" for n, r in rows.items()]
    payload["table"] = "\n".join(lines)
    print(payload["table"])
    out = write_json(args.out, payload)
    Path(out).with_suffix(".md").write_text(payload["table"] + "\n")
    print(f"wrote {out} ({time.perf_counter() - t0:.0f}s)")
    return payload


if __name__ == "__main__":
    main()
