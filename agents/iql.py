"""Independent Q-learning: one shared Q-network per group, double Q, target network, epsilon schedule,
replay buffer on the simulation device, action masks.

Every agent of a learned group is an independent learner that shares the group's network (and,
optionally, sees its one-hot id). Transitions of agents that are present are stored; a truncated
agent bootstraps from its final observation, a terminated one (a person who left) does not.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

import recsim_marl
from agents import common
from agents.networks import PerGroup, group_head, masked_logits
from agents.policy import GROUPS, LearnedPolicy, checked_act, evaluate

ALGORITHM = "iql"


@dataclass
class Args:
    scenario: str = "boredom"
    """Scenario to train on (``recsim_marl.SCENARIOS``)."""
    env: dict = field(default_factory=dict)
    """Config overrides of the scenario (CLI: ``--env key=value``)."""
    learn: str = "users"
    """Groups to learn: 'users', 'items' or 'both'."""
    users_policy: str = "greedy"
    """Scripted user policy when users are not learned."""
    items_policy: str = "fixed:0"
    """Scripted item policy when items are not learned."""
    total_steps: int = 30_000
    """Environment steps summed over all envs."""
    num_envs: int = 16
    """Worlds simulated in parallel."""
    buffer_size: int = 100_000
    """Replay capacity in agent transitions (per group), kept on the device."""
    batch_size: int = 512
    """Transitions per gradient step."""
    lr: float = 5e-4
    """Adam learning rate."""
    gamma: float = 0.95
    """Discount."""
    double_q: bool = True
    """Choose next actions with the online network, value them with the target network."""
    target_every: int = 100
    """Copy the online network into the target network every this many gradient steps."""
    eps_start: float = 1.0
    """Initial exploration rate."""
    eps_end: float = 0.05
    """Final exploration rate."""
    eps_fraction: float = 0.3
    """Fraction of training over which epsilon decays linearly."""
    learning_starts: int = 2_000
    """Environment steps (over all envs) before the first gradient step."""
    gradient_steps: int = 1
    """Gradient steps per vectorised env step."""
    hidden: int = 64
    """Hidden units of the Q-network."""
    agent_id: bool = False
    """Append a one-hot agent id to the Q-network's input."""
    seed: int = 0
    """Seeds the envs, the networks, exploration and replay sampling."""
    device: str = "cpu"
    """'cpu' or 'cuda'."""
    log_dir: str = "runs/iql"
    """TensorBoard events, scalars.csv, learning_curve.png and checkpoint.pt go here."""
    checkpoint_every: int = 500
    """Write the checkpoint (replay buffer included) every this many vectorised steps and at the end."""
    resume: bool = False
    """Continue from ``log_dir/checkpoint.pt``; the result equals an uninterrupted run's."""
    stop_after_steps: int | None = None
    """Stop early after this many vectorised steps (for tests of resuming)."""
    eval_episodes: int = 5
    """Episodes (seeds 10_000 + i) of the final greedy evaluation; 0 skips it."""
    tensorboard: bool = True
    """Write TensorBoard event files (the CSV is always written)."""
    progress: bool = True
    """Show a progress bar with SPS and return."""


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


def td_target(q_next_online, q_next_target, next_mask, rew, done, gamma: float, double_q: bool):
    """r + gamma (1 - done) Q_target(s', a*), with a* = argmax over allowed actions of the online net
    (double Q) or of the target net itself."""
    chooser = q_next_online if double_q else q_next_target
    a_star = masked_logits(chooser, next_mask).argmax(-1, keepdim=True)
    return rew + gamma * (1.0 - done) * q_next_target.gather(-1, a_star).squeeze(-1)


def epsilon(args: Args, step: int, total: int) -> float:
    frac = min(1.0, step / max(1.0, args.eps_fraction * total))
    return args.eps_start + frac * (args.eps_end - args.eps_start)


def train(args: Args) -> dict:
    """Train; return final evaluation, learning curve and paths."""
    from agents.mappo import learned_groups

    groups = learned_groups(args.learn)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)  # network initialisation only
    gen = torch.Generator(device=device).manual_seed(args.seed)
    venv = recsim_marl.make_vec(num_envs=args.num_envs, device=device, scenario=args.scenario, validate=False, **args.env)
    c = venv.config
    lay = recsim_marl.observation_layout(c)
    B = args.num_envs
    scripted = {
        g: common.scripted_policy(args.users_policy if g == "users" else args.items_policy, c, g, args.seed, device)
        for g in GROUPS if g not in groups
    }
    qnets = PerGroup({g: group_head(c, g, args.hidden, args.agent_id) for g in groups}).to(device)
    targets = copy.deepcopy(qnets)
    optim = torch.optim.Adam(qnets.parameters(), lr=args.lr)
    buffers = {g: Replay(args.buffer_size, lay[g].size, venv.num_actions[g], device) for g in groups}
    total_iters = max(1, args.total_steps // B)

    log_dir = Path(args.log_dir)
    ck_path = log_dir / "checkpoint.pt"
    env_cfg = common.config_dict(c)
    it, grad_steps = 0, 0
    obs = venv.reset(seed=args.seed)
    if args.resume:
        ck = common.load_checkpoint(ck_path, ALGORITHM, env_cfg)
        if ck["args"]["learn"] != args.learn or ck["args"]["num_envs"] != B:
            raise common.CheckpointError(f"checkpoint {ck_path} was trained with other learn/num_envs settings")
        qnets.load_state_dict(ck["qnets"])
        targets.load_state_dict(ck["targets"])
        optim.load_state_dict(ck["optim"])
        gen.set_state(ck["gen"])
        for g, st in ck["scripted_gen"].items():
            scripted[g].gen.set_state(st)
        for g in groups:
            buffers[g].load_state_dict(ck["buffers"][g])
        common.restore_state(venv, ck["env_state"])
        obs = venv.observe()
        it, grad_steps = ck["iteration"], ck["grad_steps"]
    logger = common.RunLogger(log_dir, resume_step=it * B if args.resume else None, tensorboard=args.tensorboard)

    def checkpoint():
        common.save_checkpoint(ck_path, {
            "algorithm": ALGORITHM, "args": dataclasses.asdict(args), "env_config": env_cfg,
            "qnets": qnets.state_dict(), "targets": targets.state_dict(), "optim": optim.state_dict(),
            "gen": gen.get_state(), "buffers": {g: buffers[g].state_dict() for g in groups},
            "scripted_gen": {g: p.gen.get_state() for g, p in scripted.items() if hasattr(p, "gen")},
            "env_state": common.state_tensors(venv), "iteration": it, "grad_steps": grad_steps,
        })

    bar = None
    if args.progress:
        from tqdm import tqdm

        bar = tqdm(total=total_iters, initial=it, desc="iql", unit="step")
    stop = total_iters if args.stop_after_steps is None else min(total_iters, it + args.stop_after_steps)
    last_return, t_log, it_log, loss_val = float("nan"), time.perf_counter(), it, float("nan")
    while it < stop:
        eps = epsilon(args, it * B, args.total_steps)
        actions = {}
        with torch.no_grad():
            for g in GROUPS:
                mask = obs["action_mask"][g]
                if g in groups:
                    greedy = masked_logits(qnets[g](obs[g]), mask).argmax(-1)
                    rand = torch.rand(mask.shape, generator=gen, device=device).masked_fill(~mask, -1.0).argmax(-1)
                    explore = torch.rand(greedy.shape, generator=gen, device=device) < eps
                    actions[g] = torch.where(explore, rand, greedy)
                else:
                    actions[g] = checked_act(scripted[g], g, obs[g], mask, venv.num_actions[g])
            nobs, rew, term, trunc, info = venv.step(actions)
            final = info["final_observation"]
            done_env = info["done"]
            for g in groups:
                ended = done_env.view(B, 1, 1)
                next_obs = torch.where(ended, final[g], nobs[g])
                next_mask = torch.where(ended, final["action_mask"][g], nobs["action_mask"][g])
                valid = obs["active"][g]
                n = venv.num_agents[g]
                agent = torch.arange(n, device=device).expand(B, n)
                buffers[g].add({
                    "obs": obs[g][valid], "next_obs": next_obs[valid], "act": actions[g][valid],
                    "rew": rew[g][valid], "done": term[g][valid].to(torch.float32), "agent": agent[valid],
                    "next_mask": next_mask[valid],
                })
        obs = nobs
        it += 1
        if done_env.any():
            last_return = float(info["episode"]["user_return"][done_env].mean())
            logger.scalar("charts/episodic_return", last_return, it * B)
        if it * B >= args.learning_starts:
            for _ in range(args.gradient_steps):
                loss = 0.0
                for g in groups:
                    bt = buffers[g].sample(args.batch_size, gen)
                    ids = bt["agent"].unsqueeze(1) if args.agent_id else None
                    q = qnets[g](bt["obs"].unsqueeze(1), ids).squeeze(1)
                    q_a = q.gather(-1, bt["act"].unsqueeze(-1)).squeeze(-1)
                    with torch.no_grad():
                        nq_t = targets[g](bt["next_obs"].unsqueeze(1), ids).squeeze(1)
                        nq_o = qnets[g](bt["next_obs"].unsqueeze(1), ids).squeeze(1) if args.double_q else nq_t
                        y = td_target(nq_o, nq_t, bt["next_mask"], bt["rew"], bt["done"], args.gamma, args.double_q)
                    loss = loss + nn.functional.smooth_l1_loss(q_a, y)
                optim.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(qnets.parameters(), 10.0)
                optim.step()
                grad_steps += 1
                loss_val = loss.item()
                if grad_steps % args.target_every == 0:
                    targets.load_state_dict(qnets.state_dict())
        if it % 50 == 0 or it == stop:
            now = time.perf_counter()
            sps = (it - it_log) * B / max(now - t_log, 1e-9)
            t_log, it_log = now, it
            logger.scalar("charts/SPS", sps, it * B)
            logger.scalar("charts/epsilon", eps, it * B)
            logger.scalar("losses/td_loss", loss_val, it * B)
            if bar is not None:
                bar.set_postfix(SPS=f"{sps:,.0f}", ret=f"{last_return:.2f}", eps=f"{eps:.2f}")
        if bar is not None:
            bar.update(1)
        if it % args.checkpoint_every == 0 or it == stop:
            checkpoint()
    if bar is not None:
        bar.close()

    result = {"log_dir": str(log_dir), "checkpoint": str(ck_path), "global_step": it * B,
              "curve": logger.curve(), "qnets": qnets}
    if args.eval_episodes > 0 and it == total_iters:
        pols = {g: LearnedPolicy(qnets[g]) if g in groups else scripted[g] for g in GROUPS}
        result["eval"] = evaluate(c, pols, episodes=args.eval_episodes, seed=10_000)
        result["plot"] = str(logger.plot(f"IQL on {args.scenario} ({args.learn} learned)"))
    logger.close()
    return result


def load_policy(checkpoint: str | Path, group: str = "users", device: str = "cpu") -> LearnedPolicy:
    """The greedy policy of ``group``'s Q-network from an IQL checkpoint."""
    from agents.mappo import learned_groups

    ck = common.load_checkpoint(checkpoint, ALGORITHM)
    args = Args(**ck["args"])
    config = recsim_marl.make_config(args.scenario, **args.env)
    if group not in learned_groups(args.learn):
        raise ValueError(f"checkpoint {checkpoint} did not learn {group!r} (learn={args.learn!r})")
    net = group_head(config, group, args.hidden, args.agent_id)
    net.load_state_dict({k.split(".", 1)[1]: v for k, v in ck["qnets"].items() if k.startswith(group + ".")})
    return LearnedPolicy(net.to(device))
