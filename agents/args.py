"""Every option of the learners, as dataclasses (CleanRL-style ``Args``): :class:`RunArgs` (shared),
:class:`MappoArgs` and :class:`IqlArgs`. This module imports nothing heavy, so the command line can
build its help from these classes without loading torch.

Each field is declared with :func:`option`: its default, the range it allows and its help text, kept in
the field's metadata; ``agents.cli`` turns every field into a flag (``total_steps`` -> ``--total-steps``,
a bool ``value_norm`` -> ``--value-norm/--no-value-norm``) and :func:`validate` checks every field that
has a range, naming the flag, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import sys
from dataclasses import dataclass, field
from typing import Any

NOT_PART_OF_THE_RUN = frozenset({
    "total_steps", "log_dir", "resume", "progress", "tensorboard", "eval_episodes", "device",
    "checkpoint_every", "stop_after_updates", "stop_after_steps",
})
"""Options that may differ between a run and its resumption: where and how long it runs, how it
reports, not what it learns. Every other option must match the checkpoint's."""


@functools.cache
def light_module(name: str):
    """``recsim_marl.<name>`` (a module that imports nothing heavy: config, protocol) run on its own,
    without running ``recsim_marl/__init__``, which imports torch: the command line's help stays fast."""
    import importlib.util
    from pathlib import Path

    package = importlib.util.find_spec("recsim_marl")  # locates the package without running its __init__
    path = Path(next(iter(package.submodule_search_locations))) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_recsim_marl_{name}_light", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses looks a class's module up while building it
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def config_module():
    """``recsim_marl.config``: the imported module once recsim_marl is imported, else the same file run on
    its own (:func:`light_module`), so that the command line's help does not import torch."""
    return sys.modules.get("recsim_marl.config") or light_module("config")


_config = config_module()
Check, above, at_least, between, one_of, or_none = (  # the range declarations EnvConfig uses too
    _config.Check, _config.above, _config.at_least, _config.between, _config.one_of, _config.or_none)


DEVICE = Check(lambda v: isinstance(v, str) and re.fullmatch(r"cpu|cuda(:\d+)?", v) is not None,
               "cpu, cuda or cuda:N (N the index of a GPU)")
"""A torch device the learners run on."""


def scenario_names() -> tuple[str, ...]:
    """The registered scenarios (``recsim_marl.SCENARIOS``), read without importing torch: from the
    registry itself once recsim_marl is imported (so a scenario added at run time counts), else from
    ``recsim_marl/config.py`` run on its own (``recsim_marl/__init__`` would import the torch core)."""
    return tuple(config_module().SCENARIOS)


SCENARIO = Check(lambda v: v in scenario_names(), lambda: "one of " + ", ".join(scenario_names()), scenario_names,
                 noun="scenario")
"""A name in ``recsim_marl.SCENARIOS``."""


def flag(name: str) -> str:
    """The command-line flag of field ``name``: ``num_steps`` -> ``--num-steps``."""
    return "--" + name.replace("_", "-")


def check_value(name: str, value: Any, check: Check) -> None:
    """Raise :class:`ValueError` naming flag ``--name``, ``value`` and what is allowed when ``check``
    refuses ``value``."""
    if check(value):
        return
    close = difflib.get_close_matches(value, check.choices, n=1) if isinstance(value, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if check.noun:
        raise ValueError(f"{flag(name)} must be {check.allowed}; unknown {check.noun} {value!r}{hint}")
    raise ValueError(f"{flag(name)} must be {check.allowed}; got {value!r}{hint}")


def validate(args: Any) -> Any:
    """Check every option that declares an allowed range (its field's ``metadata["check"]``) and return
    ``args``; the first value out of range raises :class:`ValueError` naming the flag, the value and what
    is allowed, e.g. ``--num-steps must be >= 1, got 0``."""
    if not dataclasses.is_dataclass(args) or isinstance(args, type):
        raise TypeError(f"validate takes a learner's Args instance, got {args!r}")
    for f in dataclasses.fields(args):
        if "check" in f.metadata:
            check_value(f.name, getattr(args, f.name), f.metadata["check"])
    return args


def option(default: Any = None, check: Check | None = None, *, help: str, factory=None):  # noqa: A002
    """A learner option: its default (``factory`` builds a mutable one), the range it allows (``check``,
    or None) and its help text, all beside the field; the command line reads each from the field's
    metadata."""
    meta = {"help": help, **({"check": check} if check is not None else {})}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class RunArgs:
    """The options every learner shares; each learner's ``Args`` adds its algorithm's own."""

    scenario: str = option("boredom", SCENARIO, help="Scenario to train on: a name in recsim_marl.SCENARIOS.")
    env: dict = option(factory=dict,
            help='Config overrides of the scenario, e.g. {"num_users": 32} (CLI: --env num_users=32, repeatable).')
    learn: str = option("users", one_of("users", "items", "both"),
            help="Groups to learn: 'users', 'items' or 'both'. The others follow the scripted policies below.")
    users_policy: str = option("greedy",
            help="Scripted user policy when users are not learned: random, greedy, popularity, model-based.")
    items_policy: str = option("fixed:0",
            help="Scripted item policy when items are not learned: random, fixed:LEVEL, or (with num_drafts > 0) "
                 "a creator rule: never-publish, quality-first, clickbait-first, copy-trend.")
    total_steps: int = option(30_000, at_least(1),
            help="Environment steps summed over all envs (each moves every agent once).")
    num_envs: int = option(16, at_least(1), help="Worlds simulated in parallel.")
    hidden: int = option(64, at_least(1), help="Hidden units of the networks.")
    agent_id: bool = option(False, help="Append a one-hot agent id to the policy / Q-network input.")
    content: bool = option(True,
            help="Feed each candidate's content embedding to the users' network. Off: it reads only what the "
                 "platform observes of a candidate (relevance, familiarity, rating, click-through rate, ...) and "
                 "the person's context, so it cannot learn the training items by their content (their quality "
                 "and appeal are drawn apart from the text) and meets new items as it met the old.")
    seed: int = option(0, at_least(0),
            help="Seeds the envs (env b gets seed + b), the networks and every sample the learner draws.")
    device: str = option("cpu", DEVICE,
            help="Torch device of the simulation and the networks: 'cpu', 'cuda' or 'cuda:N'.")
    log_dir: str = option("runs/learner",
            help="TensorBoard events, scalars.csv, learning_curve.png and checkpoint.pt go here.")
    resume: bool = option(False, help="Continue from log_dir/checkpoint.pt; the result equals an uninterrupted run's.")
    eval_episodes: int = option(5, at_least(0),
            help="Episodes of the final deterministic evaluation, on the held-out seeds "
                 "(recsim_marl.protocol.EVAL_SEED + i, 10000 + i); 0 skips it.")
    tensorboard: bool = option(True, help="Write TensorBoard event files (the CSV is always written).")
    progress: bool = option(True, help="Show a progress bar with SPS and return.")


@dataclass
class MappoArgs(RunArgs):
    """MAPPO (agents/mappo.py): shared actor per group, centralised critic."""

    total_steps: int = option(100_000, at_least(1),
            help="Environment steps summed over all envs (each moves every agent once).")
    num_envs: int = option(32, at_least(1), help="Worlds simulated in parallel.")
    log_dir: str = option("runs/mappo",
            help="TensorBoard events, scalars.csv, learning_curve.png and checkpoint.pt go here.")
    num_steps: int = option(25, at_least(1), help="Rollout length per update.")
    lr: float = option(1e-3, above(0), help="Adam learning rate (annealed linearly to 0).")
    gamma: float = option(0.95, between(0, 1), help="Discount.")
    gae_lambda: float = option(0.9, between(0, 1), help="GAE lambda.")
    update_epochs: int = option(4, at_least(1),
            help="Passes over each rollout (each in a fresh random minibatch order).")
    num_minibatches: int = option(4, at_least(1),
            help="Minibatches per pass (split over time x env, all agents of a group together).")
    clip_coef: float = option(0.2, at_least(0, float), help="PPO ratio clip, also used for the clipped value loss.")
    ent_coef: float = option(0.01, at_least(0, float), help="Entropy bonus.")
    vf_coef: float = option(0.5, at_least(0, float), help="Value loss weight.")
    max_grad_norm: float = option(0.5, above(0), help="Gradient clipping.")
    value_norm: bool = option(True, help="Normalise value targets with running statistics (de-normalised for GAE).")
    adv_norm: str = option("per_agent", one_of("per_agent", "group", "none"),
            help="Advantage normalisation: 'per_agent', 'group' (mixed over agents) or 'none'.")
    checkpoint_every: int = option(10, at_least(1),
            help="Write the checkpoint every this many updates (and at the end).")
    memory: bool = option(False,
            help="A recurrent user actor (a GRU over each person's steps: what was shown, clicked and watched; "
                 "reset at each episode's start). The critic is unchanged; minibatches take whole rollouts of "
                 "envs, so num_minibatches <= num_envs.")
    online_estimate: bool = option(False,
            help="The users' network keeps an online estimate of each person's interest (the memory policy's: "
                 "moved after every recommendation by what the person clicked and watched) and reads five numbers "
                 "per candidate made with it. Works with slates; minibatches take whole rollouts of envs, so "
                 "num_minibatches <= num_envs.")
    online_prior: float = option(0.0, at_least(0, float),
            help="With --online-estimate, > 0: learn a residual on the memory policy. The run tunes it on its tuning "
                 "seeds as the protocol does (the estimate's two rates, the look-ahead weight); each candidate's reward "
                 "once chosen is the memory policy's plus what the network adds (zero at the start), and slates are "
                 "drawn slot by slot under the choice model from the softmax of this number times the slate's expected "
                 "reward with each candidate. 0: rates 0.1 and 0.1, scores learned from scratch (Plackett-Luce slates).")
    critic_warmup: int = option(0, at_least(0),
            help="The first this many updates train the critic alone (the actors keep their start): with "
                 "--online-prior, so that the first policy updates read advantages from a critic that knows the "
                 "memory policy's values instead of an untrained one.")
    stop_after_updates: int | None = option(None, or_none(at_least(1)),
            help="Stop early after this many updates (for tests of resuming); unset runs to total_steps.")


@dataclass
class IqlArgs(RunArgs):
    """Independent Q-learning (agents/iql.py): one shared Q-network per group."""

    log_dir: str = option("runs/iql",
            help="TensorBoard events, scalars.csv, learning_curve.png and checkpoint.pt go here.")
    buffer_size: int = option(100_000, at_least(1),
            help="Replay capacity in agent transitions (per group), kept on the device.")
    batch_size: int = option(512, at_least(1), help="Transitions per gradient step.")
    lr: float = option(5e-4, above(0), help="Adam learning rate.")
    gamma: float = option(0.95, between(0, 1), help="Discount.")
    double_q: bool = option(True,
            help="Choose next actions with the online network, value them with the target network.")
    target_every: int = option(100, at_least(1),
            help="Copy the online network into the target network every this many gradient steps.")
    eps_start: float = option(1.0, between(0, 1), help="Initial exploration rate.")
    eps_end: float = option(0.05, between(0, 1), help="Final exploration rate.")
    eps_fraction: float = option(0.3, between(0, 1), help="Fraction of training over which epsilon decays linearly.")
    learning_starts: int = option(2_000, at_least(0),
            help="Environment steps (over all envs, and all ranks under torchrun) before the first gradient step.")
    gradient_steps: int = option(1, at_least(1), help="Gradient steps per vectorised env step.")
    checkpoint_every: int = option(500, at_least(1),
            help="Write the checkpoint (replay buffer included) every this many vectorised steps and at the end.")
    stop_after_steps: int | None = option(None, or_none(at_least(1)),
            help="Stop early after this many vectorised steps (for tests of resuming); unset runs to total_steps.")


LEARNERS: dict[str, tuple[str, str]] = {"mappo": ("agents.mappo", "MappoArgs"), "iql": ("agents.iql", "IqlArgs")}
"""The learners by name: the module that trains one (its ``train``, ``load_policy``, ``Args``) and its
options class in this module. The command line, the protocol and the benchmarks all read this one."""


def learner_module(name: str):
    """The module of learner ``name`` (imports torch)."""
    import importlib

    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; learners: {', '.join(LEARNERS)}")
    return importlib.import_module(LEARNERS[name][0])


def learner_args(name: str) -> type:
    """The options dataclass of learner ``name`` (no torch)."""
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; learners: {', '.join(LEARNERS)}")
    return globals()[LEARNERS[name][1]]
