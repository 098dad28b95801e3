"""Independent Q-learning: one shared Q-network per group, double Q, target network, epsilon schedule,
replay buffer on the simulation device, action masks; with slates (``slate_size`` S > 1), SlateQ.

Every agent of a learned group is an independent learner that shares the group's network (and,
optionally, sees its one-hot id). Transitions of agents that are present are stored; a truncated
agent bootstraps from its final observation, a terminated one (a person who left) does not.

Slates: the users' Q-network is :class:`agents.networks.SlateQ` (Ie et al. 2019): it learns the value of
what a person consumed (the chosen candidate, or nothing), the transition stored with that choice, and
bootstraps from the value of the slate it would show next, ``Q(s', A*)`` under the choice model as the
platform estimates it. Exploration shows a uniformly random slate of distinct allowed candidates.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
from torch import nn

import recsim_marl
from agents.args import IqlArgs, validate
from agents.baselines import top
from agents.logger import ReturnTracker, RunLogger
from agents.networks import PerGroup, SlateQ, build, group_head, masked_logits
from agents.policy import GROUPS, LearnedPolicy, checked_act
from agents.run import Run, load_group_policy

ALGORITHM = "iql"


Args = IqlArgs
"""Every option (``agents/args.py``, where each is documented; the CLI flags are built from it)."""


class Replay:
    """Circular buffer of one group's agent transitions, all tensors on ``device``."""

    def __init__(self, capacity: int, obs_dim: int, num_actions: int, device):
        self.capacity, self.ptr, self.size = capacity, 0, 0
        z = dict(device=device)
        self.data = {
            "obs": torch.zeros(capacity, obs_dim, **z), "next_obs": torch.zeros(capacity, obs_dim, **z),
            "act": torch.zeros(capacity, dtype=torch.long, **z), "rew": torch.zeros(capacity, **z),
            "done": torch.zeros(capacity, **z), "agent": torch.zeros(capacity, dtype=torch.long, **z),
            "next_mask": torch.zeros(capacity, num_actions, dtype=torch.bool, **z),
        }

    def add(self, rows: dict) -> None:
        n = rows["act"].shape[0]
        if n == 0:
            return
        if n > self.capacity:
            rows = {k: v[-self.capacity:] for k, v in rows.items()}
            n = self.capacity
        idx = (self.ptr + torch.arange(n, device=rows["act"].device)) % self.capacity
        for k, v in rows.items():
            self.data[k][idx] = v
        self.ptr = (self.ptr + n) % self.capacity
        self.size = min(self.capacity, self.size + n)

    def sample(self, batch: int, gen: torch.Generator) -> dict:
        idx = torch.randint(0, self.size, (batch,), generator=gen, device=gen.device)
        return {k: v[idx] for k, v in self.data.items()}

    def state_dict(self) -> dict:
        return {"ptr": self.ptr, "size": self.size, "data": {k: v[: self.size].cpu() for k, v in self.data.items()}}

    def load_state_dict(self, st: dict) -> None:
        self.ptr, self.size = st["ptr"], st["size"]
        for k, v in st["data"].items():
            self.data[k][: self.size] = v.to(self.data[k].device)


def td_target(q_next_online, q_next_target, next_mask, rew, done, gamma: float, double_q: bool, net=None,
              next_obs=None):
    """``r + gamma (1 - done) V(s')``, ``V`` from :func:`next_value` (``net`` and ``next_obs``: a :class:`SlateQ`
    network and the next observation, which its slate needs)."""
    return rew + gamma * (1.0 - done) * next_value(net, q_next_online, q_next_target, next_obs, next_mask, double_q)


def next_value(net, q_online, q_target, next_obs, next_mask, double_q: bool) -> torch.Tensor:
    """The value of the next state as the target network sees it: of the best allowed action (double Q: the
    one the online network picks, else the target network's own), or with :class:`SlateQ` of the slate
    it would show, ``Q(s', A*)``."""
    chooser = q_online if double_q else q_target
    if isinstance(net, SlateQ):
        attraction = net.attraction(next_obs)
        return net.slate_value(q_target, attraction, net.slate(chooser, attraction, next_mask))
    a_star = masked_logits(chooser, next_mask).argmax(-1, keepdim=True)
    return q_target.gather(-1, a_star).squeeze(-1)


def consumed(actions: torch.Tensor, info: dict, num_actions: int) -> torch.Tensor:
    """``[B, U]`` what each person consumed from their slate ``actions [B, U, S]``: the chosen candidate's
    index, or ``num_actions`` (K) for nothing (SlateQ's transition)."""
    slot = info["chosen"]
    chosen = actions.gather(-1, slot.clamp_min(0).unsqueeze(-1)).squeeze(-1)
    return torch.where(slot >= 0, chosen, num_actions)


def epsilon(args: Args, step: int, total: int) -> float:
    frac = min(1.0, step / max(1.0, args.eps_fraction * total))
    return args.eps_start + frac * (args.eps_end - args.eps_start)


def train(args: Args) -> dict:
    """Train; return final evaluation, learning curve and paths."""
    validate(args)  # every option in its range (agents/args.py), named as its flag
    run = Run(args, ALGORITHM)
    venv, c, groups, scripted, gen, device = run.venv, run.config, run.groups, run.scripted, run.gen, run.device
    lay = recsim_marl.observation_layout(c)
    B, world = args.num_envs, run.ranks.world
    # under torchrun each rank steps its own worlds into its own replay buffer; gradients are averaged
    # over the ranks, so the Q-networks (and the targets copied from them) stay one set
    total_iters = max(1, args.total_steps // (B * world))
    ck = run.load() if args.resume else None
    if ck is not None and ck["iteration"] >= total_iters and ck.get("result") is not None:
        return run.finished(ck)
    qnets = PerGroup({g: build(lambda g=g: group_head(c, g, args.hidden, args.agent_id, q_values=True, content=args.content), run.init_gen)
                      for g in groups}).to(device)
    run.ranks.broadcast_(qnets)  # the same start on every rank
    targets = copy.deepcopy(qnets)
    optim = torch.optim.Adam(qnets.parameters(), lr=args.lr)
    buffers = {g: Replay(args.buffer_size, lay[g].size, venv.num_actions[g], device) for g in groups}
    tracker = ReturnTracker(groups, device)

    it, grad_steps = 0, 0
    obs = venv.reset(seed=args.seed)
    if ck is not None:
        run.restore(ck, qnets=qnets, targets=targets, optim=optim, tracker=tracker)
        mine = run.own(ck)["learner"]["buffers"]  # this rank's replay buffers
        for g in groups:
            buffers[g].load_state_dict(mine[g])
        obs = venv.observe()
        it, grad_steps = ck["iteration"], ck["grad_steps"]
    logger = RunLogger(run.logger_dir, resume_step=it * B * world if args.resume else None, tensorboard=args.tensorboard)

    def checkpoint():
        run.save({"qnets": qnets.state_dict(), "targets": targets.state_dict(), "optim": optim.state_dict(),
                  "tracker": tracker.state_dict(), "iteration": it, "grad_steps": grad_steps},
                 per_rank={"buffers": {g: buffers[g].state_dict() for g in groups}})

    bar = None
    if args.progress:
        from tqdm import tqdm

        bar = tqdm(total=total_iters, initial=it, desc="iql", unit="step")
    stop = total_iters if args.stop_after_steps is None else min(total_iters, it + args.stop_after_steps)
    t_log, it_log, loss = time.perf_counter(), it, None
    while it < stop:
        eps = epsilon(args, it * B * world, args.total_steps)
        actions = {}
        with torch.no_grad():
            for g in GROUPS:
                mask = obs["action_mask"][g]
                if g in groups:
                    s = venv.slate_size(g)
                    if isinstance(qnets[g], SlateQ):
                        greedy = qnets[g].choose(obs[g], mask)
                    else:
                        greedy = masked_logits(qnets[g](obs[g]), mask).argmax(-1)
                    rand = top(torch.rand(mask.shape, generator=gen, device=device).masked_fill(~mask, -1.0), s)
                    explore = torch.rand(greedy.shape[:2], generator=gen, device=device) < eps
                    actions[g] = torch.where(explore.unsqueeze(-1) if s > 1 else explore, rand, greedy)
                else:
                    actions[g] = checked_act(scripted[g], g, obs[g], mask, venv.num_actions[g], venv.slate_size(g))
            nobs, rew, term, trunc, info = venv.step(actions)
            final = info["final_observation"]
            done_env = info["done"]
            for g in groups:
                ended = done_env.view(B, 1, 1)
                next_obs = torch.where(ended, final[g], nobs[g])
                next_mask = torch.where(ended, final["action_mask"][g], nobs["action_mask"][g])
                # every agent still in the episode: the steps of a person away between visits (one allowed
                # action, no reward) carry the value of their return across the gap
                valid = obs["alive"][g]
                n = venv.num_agents[g]
                agent = torch.arange(n, device=device).expand(B, n)
                act = consumed(actions[g], info, venv.num_actions[g]) if isinstance(qnets[g], SlateQ) else actions[g]
                buffers[g].add({
                    "obs": obs[g][valid], "next_obs": next_obs[valid], "act": act[valid],
                    "rew": rew[g][valid], "done": term[g][valid].to(torch.float32), "agent": agent[valid],
                    "next_mask": next_mask[valid],
                })
        obs = nobs
        it += 1
        tracker.step(it * B * world, rew, info)  # on the device: no host sync per step
        if it * B * world >= args.learning_starts:
            for _ in range(args.gradient_steps):
                loss = 0.0
                for g in groups:
                    bt = buffers[g].sample(args.batch_size, gen)
                    ids = bt["agent"].unsqueeze(1) if args.agent_id else None
                    one = {k: v.unsqueeze(1) for k, v in bt.items()}  # [batch, 1, ...]: one agent per world
                    q_a = qnets[g](one["obs"], ids).gather(-1, one["act"].unsqueeze(-1)).squeeze(-1).squeeze(1)
                    with torch.no_grad():
                        nq_t = targets[g](one["next_obs"], ids)
                        nq_o = qnets[g](one["next_obs"], ids) if args.double_q else nq_t
                        y = td_target(nq_o, nq_t, one["next_mask"], one["rew"], one["done"], args.gamma, args.double_q,
                                      qnets[g], one["next_obs"]).squeeze(1)
                    loss = loss + nn.functional.smooth_l1_loss(q_a, y)
                optim.zero_grad()
                loss.backward()
                run.ranks.average_([p.grad for p in qnets.parameters()])  # data-parallel: the ranks' mean gradient
                nn.utils.clip_grad_norm_(qnets.parameters(), 10.0)
                optim.step()
                grad_steps += 1
                if grad_steps % args.target_every == 0:
                    targets.load_state_dict(qnets.state_dict())
        if it % 10 == 0 or it == stop:  # the only host syncs: one every 10 vectorised steps
            tracker.flush(logger)
            now = time.perf_counter()
            sps = (it - it_log) * B * world / max(now - t_log, 1e-9)
            t_log, it_log = now, it
            rows = [("charts/SPS", sps, it * B * world), ("charts/epsilon", eps, it * B * world)]
            if loss is not None:
                rows.append(("losses/td_loss", loss.item(), it * B * world))
            logger.scalars(rows)
            if bar is not None:
                bar.set_postfix(SPS=f"{sps:,.0f}", eps=f"{eps:.2f}", **{f"{g}_ret": f"{tracker.last[g]:.2f}" for g in groups})
        if bar is not None:
            bar.update(1)
        if it % args.checkpoint_every == 0 or it == stop:
            checkpoint()
    if bar is not None:
        bar.close()

    if ck is not None and it == ck["iteration"] >= total_iters:  # stopped run resumed with a smaller --total-steps
        run.past_total(it * B * world)
        checkpoint()
    return run.finish(qnets, logger, it >= total_iters, f"IQL on {args.scenario}", it * B * world, qnets=qnets)


def load_policy(checkpoint: str | Path, group: str = "users", device: str = "cpu") -> LearnedPolicy:
    """The greedy policy of ``group``'s Q-network from an IQL checkpoint."""
    return load_group_policy(checkpoint, ALGORITHM, Args, "qnets", group, device, q_values=True)


if __name__ == "__main__":  # python -m agents.iql ...
    import sys

    from agents.cli import main

    sys.exit(main(["train", "iql", *sys.argv[1:]]))
