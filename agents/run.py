"""What a learner sets up besides its algorithm: the env batch, the scripted groups, the generators,
checkpoint save / restore (with the check that a resumed run is the same run) and the final result.

A learner (``agents/mappo.py``, ``agents/iql.py``) builds a :class:`Run`, trains, calls
:meth:`Run.save` now and then, and returns :meth:`Run.finish`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

import recsim_marl
from agents.args import NOT_PART_OF_THE_RUN, RunArgs
from agents.baselines import scripted_policy
from agents.checkpoint import (
    CheckpointError,
    config_dict,
    load_checkpoint,
    restore_state,
    save_checkpoint,
    state_tensors,
)
from agents.distributed import Ranks, digest
from agents.evaluation import evaluate
from agents.logger import RunLogger
from agents.policy import GROUPS, LearnedPolicy
from recsim_marl.protocol import EVAL_SEED, held_out

__all__ = ["Run", "RunArgs", "learned_groups", "load_group_policy", "args_differences"]


def learned_groups(learn: str) -> tuple[str, ...]:
    if learn == "both":
        return GROUPS
    if learn in GROUPS:
        return (learn,)
    raise ValueError(f"learn={learn!r} is invalid: use 'users', 'items' or 'both'")


def args_differences(stored: dict, args) -> dict[str, tuple]:
    """The options of ``args`` that change what a run learns and differ from the checkpoint's
    ``stored`` args: ``{name: (checkpoint value, new value)}``."""
    out = {}
    for f in dataclasses.fields(args):
        if f.name in NOT_PART_OF_THE_RUN:
            continue
        old, new = stored.get(f.name, "(absent)"), getattr(args, f.name)
        if old != new:
            out[f.name] = (old, new)
    return out


def _flag(name: str, value) -> str:
    if name == "env":
        return " ".join(f"--env {k}={v!r}" for k, v in value.items()) if isinstance(value, dict) and value else "no --env"
    if isinstance(value, bool):
        return f"--{'' if value else 'no-'}{name.replace('_', '-')}"
    return f"--{name.replace('_', '-')} {value}"


class Run:
    """What a learner sets up before its algorithm: the env batch, the scripted groups, the generator
    every sample comes from, the generator the networks are initialised from (torch's global random
    state is never touched), and the bookkeeping that makes checkpoints resume exactly."""

    def __init__(self, args: RunArgs, algorithm: str):
        self.args, self.algorithm = args, algorithm
        self.groups = learned_groups(args.learn)
        # launched by torchrun: join the process group; each rank its own device, env seeds and samples
        self.ranks = Ranks(torch.device(args.device))
        self.device = self.ranks.device
        self.env_seed = args.seed + self.ranks.rank * args.num_envs  # disjoint seeds: env b of rank r
        self.gen = torch.Generator(device=self.device).manual_seed(args.seed + 1_000_003 * self.ranks.rank)
        self.init_gen = torch.Generator().manual_seed(args.seed)  # network initialisation (on the CPU)
        self.venv = recsim_marl.make_vec(num_envs=args.num_envs, device=self.device, scenario=args.scenario,
                                         validate=False, **args.env)
        self.config = self.venv.config
        if args.eval_episodes > 0:  # the final evaluation's worlds must exist before hours of training, not after
            from recsim_marl.core.world import check_pool

            test = held_out(self.config)
            try:
                check_pool(test)
            except ValueError as exc:
                raise ValueError(f"the final evaluation runs on held-out worlds ({test.split} split) and {exc}; or "
                                 "pass --eval-episodes 0 and evaluate yourself") from None
        self.scripted = {
            g: scripted_policy(args.users_policy if g == "users" else args.items_policy, self.config, g,
                               args.seed, self.device)
            for g in GROUPS if g not in self.groups
        }
        for p in self.scripted.values():
            if hasattr(p, "bind"):  # model-based users read the env's user model
                p.bind(self.venv)
        self.log_dir = Path(args.log_dir)
        self.checkpoint_path = self.log_dir / "checkpoint.pt"
        # rank 0 logs in log_dir; the others in log_dir/rank<r> (their own training episodes)
        self.logger_dir = self.log_dir if self.ranks.main else self.log_dir / f"rank{self.ranks.rank}"
        self.env_config = config_dict(self.config)
        self._last_payload: dict | None = None

    def _own_state(self) -> dict:
        return {"gen": self.gen.get_state(), "env_state": state_tensors(self.venv),
                "scripted_gen": {g: p.gen.get_state() for g, p in self.scripted.items() if hasattr(p, "gen")}}

    def save(self, payload: dict, per_rank: dict | None = None) -> None:
        """Checkpoint the learner's ``payload`` (the same on every rank: networks, optimiser) and
        ``per_rank`` (each rank's own: a replay buffer), plus everything of the run's own state (with
        several ranks: every rank's, gathered; rank 0 writes). :meth:`own` gives a rank its part back."""
        self._last_payload = payload
        own = self._own_state()
        if per_rank is not None:
            own["learner"] = per_rank
        ranks = self.ranks.gather({k: _cpu(v) for k, v in own.items()}) if self.ranks.active else None
        if self.ranks.main:
            save_checkpoint(self.checkpoint_path, {
                "algorithm": self.algorithm, "args": dataclasses.asdict(self.args), "env_config": self.env_config,
                **own, **({"world": self.ranks.world, "ranks": ranks} if ranks else {}), **payload,
            })
        self.ranks.barrier()  # no rank goes on (and may read it) before the checkpoint is written

    def load(self) -> dict:
        """This run's checkpoint, checked to belong to the same algorithm, world and options."""
        ck = load_checkpoint(self.checkpoint_path, self.algorithm, self.env_config)
        if ck.get("world", 1) != self.ranks.world:
            raise CheckpointError(
                f"checkpoint {self.checkpoint_path} was trained on {ck.get('world', 1)} rank(s), this run has "
                f"{self.ranks.world}: resume it with the same number of processes (torchrun --nproc_per_node)")
        diff = args_differences(ck["args"], self.args)
        if diff:
            lines = "\n".join(f"  {k}: checkpoint {old!r}, now {new!r}" for k, (old, new) in diff.items())
            keep = " ".join(_flag(k, old) for k, (old, _) in diff.items())
            raise CheckpointError(
                f"checkpoint {self.checkpoint_path} was trained with other options:\n{lines}\n"
                f"To resume it, pass the checkpoint's values ({keep}); to train with the new ones, use another "
                f"--log-dir (or drop --resume). Only {', '.join(sorted(NOT_PART_OF_THE_RUN & {f.name for f in dataclasses.fields(self.args)}))} "
                "may change on resume."
            )
        return ck

    def own(self, ck: dict) -> dict:
        """This rank's part of checkpoint ``ck`` (its simulator, generators and ``per_rank`` state)."""
        return ck["ranks"][self.ranks.rank] if "ranks" in ck else ck

    def restore(self, ck: dict, **modules) -> dict:
        """Put the run's own state back from ``ck``, load each of ``modules`` (networks, optimisers:
        anything with ``load_state_dict``) from the entry of the same name, and return ``ck``."""
        own = self.own(ck)
        self.gen.set_state(own["gen"])
        for g, st in own["scripted_gen"].items():
            self.scripted[g].gen.set_state(st)
        restore_state(self.venv, own["env_state"])
        for name, module in modules.items():
            module.load_state_dict(ck[name])
        return ck

    def finished(self, ck: dict) -> dict:
        """The stored result of a run that had already finished when resumed (nothing is trained,
        evaluated or written)."""
        res = dict(ck.get("result") or {})
        res.update(log_dir=str(self.log_dir), checkpoint=str(self.checkpoint_path), finished_before=True)
        print(f"recsim-marl: the run in {self.log_dir} is already finished ({ck.get('global_step', '?')} of "
              f"{self.args.total_steps} steps); nothing to do. Raise --total-steps to train on, or use "
              "another --log-dir for a new run.")
        return res

    def past_total(self, global_step: int) -> None:
        """Say that a stopped run, resumed with a --total-steps it already has, is evaluated as it is."""
        print(f"recsim-marl: the run in {self.log_dir} stopped at {global_step} steps, already at least "
              f"--total-steps {self.args.total_steps}: finishing it without training further (final "
              "evaluation and learning curve).", flush=True)

    def finish(self, nets, logger: RunLogger, completed: bool, title: str, global_step: int, **result) -> dict:
        """The learner's result: paths, learning curve and, once training is complete, a deterministic
        evaluation of the learned groups on held-out worlds (the test split's seeds 10,000 ..., with the
        scripted baselines of each learned group as references) and the learning-curve PNG. The result is stored in the checkpoint, so
        resuming a finished run returns it without running anything."""
        first = self.groups[0]
        result = {"log_dir": str(self.log_dir), "checkpoint": str(self.checkpoint_path),
                  "curve": logger.curve(f"charts/{first}/episodic_return"), "global_step": global_step,
                  "nets": nets, **result}
        if self.ranks.active:  # equal digests on every rank: the ranks trained one set of networks together
            result["digest"] = digest(nets)
            print(f"rank {self.ranks.rank} parameters digest {result['digest']}", flush=True)
        if completed and self.args.eval_episodes > 0 and self.ranks.main:
            ev = dict(episodes=self.args.eval_episodes, seed=EVAL_SEED, device=self.device)
            pols = {g: LearnedPolicy(nets[g]) if g in self.groups else self.scripted[g] for g in GROUPS}
            test = held_out(self.config)
            result["eval"] = evaluate(test, pols, **ev)
            metric = {"users": "user_return", "items": "provider_profit"}
            refs, final = {}, {}
            for g in self.groups:
                refs[g] = {}
                for name in (("greedy", "random") if g == "users" else ("fixed:0", "random")):
                    p = scripted_policy(name, test, g, 0, self.device)
                    refs[g][name] = evaluate(test, {**pols, g: p}, **ev)[metric[g]]
                final[g] = (global_step, *result["eval"][metric[g]])
            result["references"] = refs
            result["plot"] = str(logger.plot(title, self.groups, refs, final))
        logger.close()
        if completed and self._last_payload is not None:
            stored = {k: v for k, v in result.items() if k in ("eval", "references", "plot", "curve", "global_step")}
            self.save({**self._last_payload, "result": stored})
        return result



def _cpu(x):
    """``x`` with every tensor moved to the CPU (to gather it from every rank)."""
    if isinstance(x, torch.Tensor):
        return x.cpu()
    if isinstance(x, dict):
        return {k: _cpu(v) for k, v in x.items()}
    return x


def load_group_policy(checkpoint, algorithm: str, args_cls, nets_key: str, group: str, device="cpu",
                      q_values: bool = False) -> LearnedPolicy:
    """The network of ``group`` stored under ``nets_key`` in a learner's checkpoint, as a
    deterministic Policy (argmax over allowed actions; ``q_values``: a Q-learner's, whose slates are
    built by :class:`agents.networks.SlateQ`)."""
    from agents.networks import group_head

    ck = load_checkpoint(checkpoint, algorithm)
    args = args_cls(**ck["args"])
    if group not in learned_groups(args.learn):
        raise ValueError(f"checkpoint {checkpoint} did not learn {group!r} (learn={args.learn!r})")
    net = group_head(recsim_marl.make_config(args.scenario, **args.env), group, args.hidden, args.agent_id,
                     getattr(args, "memory", False), q_values, args.content, getattr(args, "online_estimate", False),
                     getattr(args, "online_prior", 0.0))
    net.load_state_dict({k.split(".", 1)[1]: v for k, v in ck[nets_key].items() if k.startswith(group + ".")})
    return LearnedPolicy(net.to(device))
