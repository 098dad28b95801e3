"""What every learner needs besides its algorithm: scripted groups, logs, checkpoints, curves.

- :func:`scripted_policy` names the baselines a learner can pit its agents against.
- :class:`RunLogger` writes TensorBoard scalars and a CSV (``charts/episodic_return``,
  ``charts/SPS``, ``losses/*``) and draws a learning-curve PNG.
- :func:`save_checkpoint` writes atomically (temporary file, fsync, rename), so an interrupted write
  never leaves an unreadable checkpoint; :func:`load_checkpoint` checks it belongs to this run.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

import recsim_marl
from agents.baselines import FixedLevelPolicy, GreedyPolicy, PopularityPolicy, RandomPolicy
from agents.policy import GROUPS, LearnedPolicy, evaluate

CHECKPOINT_FORMAT = 1


@dataclass
class RunArgs:
    """The options every learner shares; each learner's ``Args`` adds its algorithm's own."""

    scenario: str = "boredom"
    """Scenario to train on (``recsim_marl.SCENARIOS``)."""
    env: dict = field(default_factory=dict)
    """Config overrides of the scenario, e.g. ``{"num_users": 32}`` (CLI: ``--env key=value``)."""
    learn: str = "users"
    """Groups to learn: 'users', 'items' or 'both'. The others follow the scripted policies below."""
    users_policy: str = "greedy"
    """Scripted user policy when users are not learned: random, greedy, popularity."""
    items_policy: str = "fixed:0"
    """Scripted item policy when items are not learned: random or fixed:LEVEL."""
    total_steps: int = 30_000
    """Environment steps summed over all envs (each moves every agent once)."""
    num_envs: int = 16
    """Worlds simulated in parallel."""
    hidden: int = 64
    """Hidden units of the networks."""
    agent_id: bool = False
    """Append a one-hot agent id to the policy / Q-network input."""
    seed: int = 0
    """Seeds the envs (env b gets seed + b), the networks and every sample the learner draws."""
    device: str = "cpu"
    """'cpu' or 'cuda'."""
    log_dir: str = "runs/learner"
    """TensorBoard events, scalars.csv, learning_curve.png and checkpoint.pt go here."""
    resume: bool = False
    """Continue from ``log_dir/checkpoint.pt``; the result equals an uninterrupted run's."""
    eval_episodes: int = 5
    """Episodes (seeds 10_000 + i) of the final deterministic evaluation; 0 skips it."""
    tensorboard: bool = True
    """Write TensorBoard event files (the CSV is always written)."""
    progress: bool = True
    """Show a progress bar with SPS and return."""


def learned_groups(learn: str) -> tuple[str, ...]:
    if learn == "both":
        return GROUPS
    if learn in GROUPS:
        return (learn,)
    raise ValueError(f"learn={learn!r} is invalid: use 'users', 'items' or 'both'")


class Run:
    """What a learner sets up before its algorithm: the env batch, the scripted groups, the
    generator every sample comes from, and the bookkeeping that makes checkpoints resume exactly."""

    def __init__(self, args: RunArgs, algorithm: str):
        self.args, self.algorithm = args, algorithm
        self.groups = learned_groups(args.learn)
        self.device = torch.device(args.device)
        torch.manual_seed(args.seed)  # network initialisation only; every sample below uses `gen`
        self.gen = torch.Generator(device=self.device).manual_seed(args.seed)
        self.venv = recsim_marl.make_vec(num_envs=args.num_envs, device=self.device, scenario=args.scenario,
                                         validate=False, **args.env)
        self.config = self.venv.config
        self.scripted = {
            g: scripted_policy(args.users_policy if g == "users" else args.items_policy, self.config, g,
                               args.seed, self.device)
            for g in GROUPS if g not in self.groups
        }
        self.log_dir = Path(args.log_dir)
        self.checkpoint_path = self.log_dir / "checkpoint.pt"
        self.env_config = config_dict(self.config)

    def save(self, payload: dict) -> None:
        """Checkpoint the learner's ``payload`` plus everything of the run's own state."""
        save_checkpoint(self.checkpoint_path, {
            "algorithm": self.algorithm, "args": dataclasses.asdict(self.args), "env_config": self.env_config,
            "gen": self.gen.get_state(), "env_state": state_tensors(self.venv),
            "scripted_gen": {g: p.gen.get_state() for g, p in self.scripted.items() if hasattr(p, "gen")},
            **payload,
        })

    def restore(self, **modules) -> dict:
        """Load this run's checkpoint, put the run's own state back, load each of ``modules`` (networks,
        optimisers: anything with ``load_state_dict``) from the entry of the same name, and return the
        checkpoint for the rest of the learner's state."""
        ck = load_checkpoint(self.checkpoint_path, self.algorithm, self.env_config)
        if ck["args"]["learn"] != self.args.learn or ck["args"]["num_envs"] != self.args.num_envs:
            raise CheckpointError(f"checkpoint {self.checkpoint_path} was trained with other learn/num_envs settings")
        self.gen.set_state(ck["gen"])
        for g, st in ck["scripted_gen"].items():
            self.scripted[g].gen.set_state(st)
        restore_state(self.venv, ck["env_state"])
        for name, module in modules.items():
            module.load_state_dict(ck[name])
        return ck

    def finish(self, nets, logger: RunLogger, completed: bool, title: str, **result) -> dict:
        """The learner's result: paths, learning curve and, once training is complete, a deterministic
        evaluation of the learned groups on held-out seeds and the learning-curve PNG."""
        result = {"log_dir": str(self.log_dir), "checkpoint": str(self.checkpoint_path), "curve": logger.curve(),
                  **result}
        if completed and self.args.eval_episodes > 0:
            pols = {g: LearnedPolicy(nets[g]) if g in self.groups else self.scripted[g] for g in GROUPS}
            result["eval"] = evaluate(self.config, pols, episodes=self.args.eval_episodes, seed=10_000,
                                      device=self.device)
            result["plot"] = str(logger.plot(title))
        logger.close()
        return result


def load_group_policy(checkpoint, algorithm: str, args_cls, nets_key: str, group: str, device="cpu") -> LearnedPolicy:
    """The network of ``group`` stored under ``nets_key`` in a learner's checkpoint, as a
    deterministic Policy (argmax over allowed actions)."""
    from agents.networks import group_head

    ck = load_checkpoint(checkpoint, algorithm)
    args = args_cls(**ck["args"])
    if group not in learned_groups(args.learn):
        raise ValueError(f"checkpoint {checkpoint} did not learn {group!r} (learn={args.learn!r})")
    net = group_head(recsim_marl.make_config(args.scenario, **args.env), group, args.hidden, args.agent_id)
    net.load_state_dict({k.split(".", 1)[1]: v for k, v in ck[nets_key].items() if k.startswith(group + ".")})
    return LearnedPolicy(net.to(device))


def scripted_policy(name: str, config, group: str, seed: int = 0, device="cpu"):
    """'random', 'greedy', 'popularity' (users) or 'fixed:L' (items, level L) as a Policy."""
    n_actions = config.num_candidates if group == "users" else config.num_levels
    if name == "random":
        return RandomPolicy(n_actions, seed=seed, device=device)
    if group == "users" and name == "greedy":
        return GreedyPolicy(config)
    if group == "users" and name == "popularity":
        return PopularityPolicy(config)
    if group == "items" and name.startswith("fixed:"):
        level = int(name.split(":", 1)[1])
        if not 0 <= level < config.num_levels:
            raise ValueError(f"fixed level {level} is out of range 0..{config.num_levels - 1}")
        return FixedLevelPolicy(level)
    allowed = "random, greedy, popularity" if group == "users" else f"random, fixed:0..fixed:{config.num_levels - 1}"
    raise ValueError(f"unknown scripted policy {name!r} for {group}: use one of {allowed}")


class RunLogger:
    """TensorBoard + CSV scalars in ``log_dir``; a learning-curve PNG of ``charts/episodic_return``."""

    def __init__(self, log_dir: str | Path, resume_step: int | None = None, tensorboard: bool = True):
        self.dir = Path(log_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.csv_path = self.dir / "scalars.csv"
        rows = []
        if resume_step is not None and self.csv_path.exists():  # keep what was logged up to the checkpoint
            with open(self.csv_path) as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with open(self.csv_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["step", "tag", "value"])
            w.writeheader()
            w.writerows(rows)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.dir), purge_step=resume_step)

    def scalar(self, tag: str, value: float, step: int) -> None:
        value = float(value)
        with open(self.csv_path, "a", newline="") as f:
            csv.writer(f).writerow([step, tag, value])
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def curve(self, tag: str = "charts/episodic_return") -> list[tuple[int, float]]:
        with open(self.csv_path) as f:
            return [(int(r["step"]), float(r["value"])) for r in csv.DictReader(f) if r["tag"] == tag]

    def plot(self, title: str, path: str | Path | None = None, references: dict[str, float] | None = None) -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        pts = self.curve()
        path = Path(path) if path else self.dir / "learning_curve.png"
        fig, ax = plt.subplots(figsize=(6, 4))
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label="training episodes")
        for name, value in (references or {}).items():
            ax.axhline(value, linestyle="--", linewidth=1, label=name, color=None)
        ax.set_xlabel("environment steps (all envs)")
        ax.set_ylabel("mean user return per person")
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` atomically: a crash mid-write leaves the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": CHECKPOINT_FORMAT, **payload}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class CheckpointError(ValueError):
    """A checkpoint is unreadable, truncated, or belongs to a different algorithm or world."""


def load_checkpoint(path: str | Path, algorithm: str | None = None, env_config: dict | None = None) -> dict:
    """Read a checkpoint and check it was written by ``algorithm`` for the same world config."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"checkpoint {path} is unreadable or truncated ({type(exc).__name__}: {exc})") from exc
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a recsim_marl checkpoint (format {CHECKPOINT_FORMAT})")
    if algorithm is not None and ck.get("algorithm") != algorithm:
        raise CheckpointError(f"checkpoint {path} was written by {ck.get('algorithm')!r}, not {algorithm!r}")
    if env_config is not None and ck.get("env_config") != env_config:
        diff = sorted(k for k in env_config if ck.get("env_config", {}).get(k) != env_config[k])
        raise CheckpointError(
            f"checkpoint {path} is for a different world config (differs in: {', '.join(diff)}); "
            "resume with the same scenario and overrides"
        )
    return ck


def config_dict(config) -> dict:
    """The config as plain data (a user model instance by its class path), for checkpoints."""
    out = {k: v for k, v in dataclasses.asdict(config).items()}
    if not isinstance(config.user_model, str):
        out["user_model"] = f"{type(config.user_model).__module__}.{type(config.user_model).__qualname__}"
    return out


def state_tensors(venv) -> dict:
    """The env's dynamic state as a dict of CPU tensors (checkpointable)."""
    s = venv.get_state()
    return {f.name: getattr(s, f.name).cpu() for f in dataclasses.fields(s)}


def restore_state(venv, tensors: dict) -> None:
    from recsim_marl.core.state import State

    venv.set_state(State(**tensors))
