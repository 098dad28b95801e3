"""The ``Policy`` protocol over group tensors and a PettingZoo adapter (``evaluate`` lives in
:mod:`agents.evaluation`; importing it from here still works).

A policy maps one group's observations to actions for a whole batch at once::

    act(obs [B, N, O] float32, mask [B, N, A] bool | None) -> actions [B, N] long

Any mix works: learned users with scripted items, or the reverse. :class:`DictPolicy` drives a
PettingZoo ``parallel_env`` with such policies (agent-name dicts in and out).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

GROUPS = ("users", "items")


@runtime_checkable
class Policy(Protocol):
    def act(self, obs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor: ...


def checked_act(policy: Policy, group: str, obs: torch.Tensor, mask: torch.Tensor | None, num_actions: int,
                slate_size: int = 1) -> torch.Tensor:
    """Call ``policy.act`` and check what comes back: shape ``[B, N]`` (``[B, N, S]`` for users' slates,
    ``slate_size`` S > 1), integer, in range."""
    a = policy.act(obs, mask)
    name = type(policy).__name__
    shape = tuple(obs.shape[:2]) + ((slate_size,) if slate_size > 1 else ())
    if not isinstance(a, torch.Tensor):
        raise TypeError(f"{name}.act for {group!r} returned {type(a).__name__}; it must return a torch.Tensor {list(shape)}")
    if tuple(a.shape) != shape:
        raise ValueError(f"{name}.act for {group!r} returned shape {tuple(a.shape)}, expected {shape}"
                         + (" (a slate of candidate indices per agent)" if slate_size > 1 else ""))
    if a.dtype.is_floating_point or a.dtype == torch.bool:
        raise TypeError(f"{name}.act for {group!r} returned dtype {a.dtype}; actions are indices (torch.long)")
    a = a.long()
    if bool(((a < 0) | (a >= num_actions)).any()):
        raise ValueError(f"{name}.act for {group!r} returned actions outside 0..{num_actions - 1}")
    return a


class LearnedPolicy:
    """A trained network ``[B, N, O] -> [B, N, A]`` (policy logits or Q-values) as a :class:`Policy`:
    argmax over allowed actions, or a sample from the masked softmax when not deterministic.

    A network that builds its own slate (``choose(obs, mask)``, as :class:`agents.networks.SlateQ`) acts its
    slate, deterministic or not (its values are no distribution to sample). A sequential slate policy
    (``sequential``, as :class:`agents.networks.OnlineEstimateScorer` with a prior) builds its slate slot by
    slot: each slot its most likely candidate, or a sample.

    A network with memory (``step``/``after``/``initial``, as :class:`agents.networks.MemoryScorer`) keeps
    its memory here between calls: call ``act`` once per step of the same batch of worlds; the memory
    starts afresh at each episode's first step, and when the batch's shape changes."""

    def __init__(self, net: torch.nn.Module, deterministic: bool = True, generator: torch.Generator | None = None):
        self.net, self.deterministic, self.gen = net, deterministic, generator
        self.memory = None

    @torch.no_grad()
    def act(self, obs, mask):
        from agents.networks import masked_logits

        if hasattr(self.net, "choose"):
            return self.net.choose(obs, mask)
        if hasattr(self.net, "step"):
            b, n = obs.shape[:2]
            if self.memory is None or self.memory.shape[:2] != (b, n):
                self.memory = self.net.initial(b, n, obs.device)
            logits, h = self.net.step(obs, self.memory)
        else:
            logits = self.net(obs)
        s = getattr(self.net, "slate_size", 1)
        if getattr(self.net, "sequential", False):  # it builds its slate slot by slot
            gen = self.gen
            if not self.deterministic and gen is None:  # no generator given: seeded from torch's global one
                gen = torch.Generator(device=obs.device).manual_seed(int(torch.randint(2**62, (1,))))
            a = self.net.slate(logits, h, mask, None if self.deterministic else gen)[0]
        elif self.deterministic:
            logits = masked_logits(logits, mask)
            a = logits.argmax(-1) if s == 1 else logits.topk(s, -1).indices
        else:
            a = sample(masked_logits(logits, mask), self.gen, s)
        if hasattr(self.net, "step"):
            self.memory = self.net.after(obs, a, h)
        return a


def sample(logits: torch.Tensor, gen: torch.Generator | None, slate_size: int = 1) -> torch.Tensor:
    """Gumbel-max sampling from ``logits [..., A]`` with an explicit generator (reproducible, resumable);
    ``slate_size`` S > 1: an ordered slate ``[..., S]`` of distinct actions from the Plackett-Luce model of
    the logits (Gumbel top-S: the first drawn from the softmax, each next from the softmax of the rest)."""
    u = torch.rand(logits.shape, generator=gen, device=logits.device).clamp_(1e-9, 1 - 1e-9)
    perturbed = logits - torch.log(-torch.log(u))
    return perturbed.argmax(-1) if slate_size == 1 else perturbed.topk(slate_size, -1).indices


def log_prob(logits: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``log P(a)`` under the softmax of ``logits [..., A]``: of an action ``a [...]``, or of an ordered slate
    ``a [..., S]`` under the Plackett-Luce model, ``sum_k (l_{a_k} - logsumexp of the logits not yet
    chosen)``."""
    if a.dim() == logits.dim() - 1:
        return torch.log_softmax(logits, -1).gather(-1, a.unsqueeze(-1)).squeeze(-1)
    out = torch.zeros(a.shape[:-1], dtype=logits.dtype, device=logits.device)
    rest = logits
    for k in range(a.shape[-1]):
        pick = a[..., k:k + 1]
        out = out + (rest.gather(-1, pick).squeeze(-1) - torch.logsumexp(rest, -1))
        rest = rest.scatter(-1, pick, -1e9)  # chosen: out of the rest (below any masked logit's -1e8)
    return out


class DictPolicy:
    """Turns group policies into a PettingZoo dict policy: ``actions = DictPolicy(env, pols)(obs, infos)``."""

    def __init__(self, env, policies: dict[str, Policy]):
        self.env = env.unwrapped if hasattr(env, "unwrapped") else env
        self.policies = policies
        c = self.env.config
        self.names = {"users": self.env.user_agents, "items": self.env.item_agents}
        self.num_actions = {"users": c.num_candidates, "items": c.num_item_actions}

    def __call__(self, obs: dict, infos: dict | None = None) -> dict:
        actions = {}
        acting = set(self.env.agents)  # obs also holds agents that finished last step: they don't act
        for g in GROUPS:
            live = [a for a in self.names[g] if a in acting]
            if not live:
                continue
            o = torch.as_tensor(np.stack([obs[a] for a in live]))[None]
            m = None
            slate = self.env.config.slate_size if g == "users" else 1
            if infos is not None:  # a slate's mask is one [K] mask per slot (gymnasium's MultiDiscrete mask)
                masks = [infos[a]["action_mask"] for a in live]
                m = torch.as_tensor(np.stack([x[0] if isinstance(x, tuple) else x for x in masks]).astype(bool))[None]
            act = checked_act(self.policies[g], g, o, m, self.num_actions[g], slate)[0]
            actions.update(zip(live, act.numpy() if slate > 1 else act.tolist()))
        return actions



def __getattr__(name: str):
    """``evaluate`` and its constants, moved to :mod:`agents.evaluation`, still import from here."""
    if name in ("evaluate", "RELEVANT_AFFINITY", "_gini"):
        from agents import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
