"""MAPPO on the vectorized core: shared actor per group, centralised critic (``state()``, own obs, own state entries).

Reads top to bottom: ``Args`` (options, documented in ``agents/args.py``) -> networks -> ``gae`` / ``ValueNorm`` / ``normalize_advantages`` (the
three places where MAPPO implementations have shipped learning-killing bugs, each pinned by a test) ->
``train``. Learned groups use this file's policy; the other group is driven by a scripted policy.

Known bugs this implementation is tested against:
- marlbenchmark/on-policy #12: value-normalised critics must be de-normalised before GAE.
- JaxMARL #169: ``done[t]`` ends the transition *from* t: it cuts ``V(s_{t+1})`` and the GAE chain there.
- BenchMARL #255: with parameter sharing, normalise advantages per agent, not mixed across agents.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

import recsim_marl
from agents.args import MappoArgs, validate
from agents.logger import ReturnTracker, RunLogger
from agents.networks import PerGroup, build, group_head, masked_logits, mlp
from agents.policy import GROUPS, LearnedPolicy, checked_act, log_prob, sample
from agents.run import Run, load_group_policy
from recsim_marl.core import PER_AGENT_STATE

ALGORITHM = "mappo"


Args = MappoArgs
"""Every option (``agents/args.py``, where each is documented; the CLI flags are built from it)."""


class Critic(nn.Module):
    """V(state, own observation, own entries of the state) -> ``[B, N]`` (normalised units when
    value_norm is on).

    The state alone does not say which of its per-agent entries is this agent's (a person's remaining
    budget, satisfaction memory and trust decide how long they stay and how soon they return), so each
    agent also gets its own entries of the state's per-agent fields (``PER_AGENT_STATE``): MAPPO's
    agent-specific global state (Yu et al. 2022). The first layer is split,
    ``W [s; o; e] = W_s s + W_o o + W_e e``, so the state's share is computed once per world and
    broadcast over its N agents instead of copying the state N times (with 1,024 item agents that copy
    would be gigabytes per rollout).
    """

    def __init__(self, state_layout, group: str, obs_dim: int, hidden: int):
        super().__init__()
        self.own = [state_layout[f] for f in PER_AGENT_STATE[group]]
        self.state_in = nn.Linear(state_layout.size, hidden)
        self.obs_in = nn.Linear(obs_dim, hidden, bias=False)
        self.own_in = nn.Linear(len(self.own), hidden, bias=False)
        self.body = mlp(hidden, hidden, 1, layers=1)

    def forward(self, state: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        own = torch.stack([state[..., sl] for sl in self.own], dim=-1)  # [B, N, F]
        h = torch.tanh(self.state_in(state).unsqueeze(-2) + self.obs_in(obs) + self.own_in(own))
        return self.body(h).squeeze(-1)


class ValueNorm(nn.Module):
    """Running mean/variance of value targets (Welford over all targets seen)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("var", torch.ones(()))
        self.register_buffer("count", torch.zeros(()))

    def update(self, x: torch.Tensor) -> None:
        n = x.numel()
        if n == 0:
            return
        bm, bv = x.mean(), x.var(unbiased=False)
        tot = self.count + n
        delta = bm - self.mean
        self.var.copy_((self.var * self.count + bv * n + delta**2 * self.count * n / tot) / tot)
        self.mean.add_(delta * n / tot)
        self.count.copy_(tot)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.var.clamp_min(1e-8).sqrt()

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.var.clamp_min(1e-8).sqrt() + self.mean


def gae(rewards, values, next_value, dones, gamma: float, lam: float):
    """Generalised advantage estimation over time dim 0.

    rewards, values, dones: ``[T, ...]``; next_value: ``[...]``, the value of the observation after
    the last step. ``dones[t]`` = the transition from t ended the agent's episode (terminated,
    truncated with its bootstrap already added to ``rewards[t]``, or auto-reset): then
    ``V(s_{t+1})`` (which belongs to the next episode) is not used and the chain is cut.
    ``values`` must be in reward units (de-normalised). Returns (advantages, returns).
    """
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        nxt = next_value if t == rewards.shape[0] - 1 else values[t + 1]
        live = 1.0 - dones[t]
        delta = rewards[t] + gamma * nxt * live - values[t]
        last = delta + gamma * lam * live * last
        adv[t] = last
    return adv, adv + values


def normalize_advantages(adv: torch.Tensor, valid: torch.Tensor, mode: str) -> torch.Tensor:
    """Normalise ``adv [T, B, N]`` over valid entries: per agent (stats over T, B for each n), or
    over the whole group ('group'), or not at all ('none')."""
    if mode == "none":
        return adv
    w = valid.to(adv.dtype)
    dims = (0, 1) if mode == "per_agent" else (0, 1, 2)
    cnt = w.sum(dims, keepdim=True).clamp_min(1.0)
    mean = (adv * w).sum(dims, keepdim=True) / cnt
    var = (((adv - mean) ** 2) * w).sum(dims, keepdim=True) / cnt
    return (adv - mean) / (var.sqrt() + 1e-8) * w


def advantages_and_targets(rewards, values, next_value, dones, valid, value_norm: ValueNorm | None,
                           gamma: float, lam: float, adv_norm: str, acting=None):
    """From a rollout ``[T, B, N]`` (critic outputs in normalised units when ``value_norm`` is given)
    to (normalised advantages, value targets in the critic's units). Updates ``value_norm``'s stats.

    ``valid``: the agent is in the episode (its value is learned; a person away between visits is, so
    that the value of coming back flows across the gap through GAE); ``acting``: the agent chose its
    action (the advantages are normalised over those; default ``valid``).

    The critic's outputs are de-normalised *before* GAE (on-policy #12): GAE must add rewards to
    values in reward units; feeding it normalised values silently wrecks the advantages.
    """
    if value_norm is not None:
        values, next_value = value_norm.denormalize(values), value_norm.denormalize(next_value)
    adv, ret = gae(rewards, values, next_value, dones, gamma, lam)
    if value_norm is not None:
        value_norm.update(ret[valid])
        target = value_norm.normalize(ret)
    else:
        target = ret
    return normalize_advantages(adv, valid if acting is None else acting, adv_norm), target


def clipped_surrogate(ratio: torch.Tensor, adv: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's policy loss per sample: ``max(-A r, -A clip(r, 1 - eps, 1 + eps))`` (the pessimistic bound)."""
    return torch.max(-adv * ratio, -adv * ratio.clamp(1 - clip, 1 + clip))


def replay(actor: nn.Module, obs: torch.Tensor, act: torch.Tensor, memory: torch.Tensor):
    """A recurrent actor's ``(logits [T, B, N, A], h [T, B, N, H])`` over a stored rollout ``obs [T, B, N, O]``,
    ``act [T, B, N]`` from the memory it started with: the same steps the rollout took, now with gradients
    through time (``h``: what each step's ``step`` returned beside its logits)."""
    out, hs = [], []
    for t in range(obs.shape[0]):
        logits, h = actor.step(obs[t], memory)
        memory = actor.after(obs[t], act[t], h)
        out.append(logits)
        hs.append(h)
    return torch.stack(out), torch.stack(hs)


def masked_mean(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    w = valid.to(x.dtype)
    return (x * w).sum() / w.sum().clamp_min(1.0)


def train(args: Args) -> dict:
    """Train; return final evaluation, learning curve and paths. See ``Args`` for every option."""
    validate(args)  # every option in its range (agents/args.py), named as its flag
    if args.adv_norm not in ("per_agent", "group", "none"):
        raise ValueError(f"adv_norm={args.adv_norm!r} is invalid: use 'per_agent', 'group' or 'none'")
    for flag, on in (("--memory", args.memory), ("--online-estimate", args.online_estimate),
                     ("--online-prior", args.online_prior > 0)):
        if on and args.learn == "items":
            raise ValueError(f"{flag} gives the user actor a memory; with --learn items no user actor is trained: "
                             f"drop {flag} or learn users")
        if on and args.num_minibatches > args.num_envs:
            raise ValueError(f"--num-minibatches {args.num_minibatches} > --num-envs {args.num_envs}: with {flag} a "
                             "minibatch takes whole rollouts of envs; use --num-minibatches <= --num-envs")
    run = Run(args, ALGORITHM)
    venv, c, groups, scripted, gen, device = run.venv, run.config, run.groups, run.scripted, run.gen, run.device
    lay = recsim_marl.observation_layout(c)
    B, T, world = args.num_envs, args.num_steps, run.ranks.world
    num_updates = max(1, args.total_steps // (B * T * world))  # total_steps counts every rank's env steps
    ck = run.load() if args.resume else None
    if ck is not None and ck["update"] >= num_updates and ck.get("result") is not None:
        return run.finished(ck)
    actors = PerGroup({g: build(lambda g=g: group_head(c, g, args.hidden, args.agent_id, args.memory, content=args.content,
                                                        online_estimate=args.online_estimate,
                                                        online_prior=args.online_prior), run.init_gen)
                       for g in groups}).to(device)
    tuned = None
    if args.online_prior > 0 and ck is None:  # a resumed run's checkpoint has the start and what came of it
        from agents.baselines import scripted_policy, tune_memory, tuning_budget

        # the memory policy as the protocol tunes it (same seeds, same budget): training worlds only
        tuned = tune_memory(c, episodes=tuning_budget(c)["episodes"],
                            items_policy=scripted_policy(args.items_policy, c, "items", args.seed))
        actors["users"].start_as_memory(tuned["settings"])
        if run.ranks.main:
            print(f"mappo: the users' network starts as the memory policy {tuned['settings']} ({tuned['episodes']} "
                  f"tuning episodes, seeds {tuned['seeds'][0]}-{tuned['seeds'][1]}: {tuned['tuning_return']:.2f}); "
                  f"slot softmax scale {args.online_prior}")
    recurrent = {g for g in groups if hasattr(actors[g], "step")}
    sequential = {g for g in groups if getattr(actors[g], "sequential", False)}  # they build their own slates
    memory = {g: actors[g].initial(B, c.num_users, device) for g in recurrent}  # carried across rollouts
    critics = PerGroup({g: build(lambda g=g: Critic(lay["state"], g, lay[g].size, args.hidden), run.init_gen)
                        for g in groups}).to(device)
    vnorm = PerGroup({g: ValueNorm() for g in groups}).to(device)
    run.ranks.broadcast_(actors)  # the same start on every rank (same generator seed; made sure)
    run.ranks.broadcast_(critics)
    params = list(actors.parameters()) + list(critics.parameters())
    optim = torch.optim.Adam(params, lr=args.lr, eps=1e-5)
    tracker = ReturnTracker(groups, device)

    update, global_step = 0, 0
    obs = venv.reset(seed=run.env_seed)
    if ck is not None:
        run.restore(ck, actors=actors, critics=critics, vnorm=vnorm, optim=optim, tracker=tracker)
        obs = venv.observe()
        memory = {g: m.to(device) for g, m in run.own(ck).get("learner", {}).get("memory", {}).items()}
        update, global_step = ck["update"], ck["global_step"]
    logger = RunLogger(run.logger_dir, resume_step=global_step if args.resume else None, tensorboard=args.tensorboard)

    def checkpoint():
        run.save({"actors": actors.state_dict(), "critics": critics.state_dict(), "vnorm": vnorm.state_dict(),
                  "optim": optim.state_dict(), "tracker": tracker.state_dict(), "update": update,
                  "global_step": global_step}, per_rank={"memory": memory} if memory else None)

    bar = None
    if args.progress:
        from tqdm import tqdm

        bar = tqdm(total=num_updates, initial=update, desc="mappo", unit="update")
    stop = num_updates if args.stop_after_updates is None else min(num_updates, update + args.stop_after_updates)
    while update < stop:
        t0 = time.perf_counter()
        frac = 1.0 - update / num_updates
        for pg in optim.param_groups:
            pg["lr"] = frac * args.lr
        buf = {g: {k: [] for k in ("obs", "mask", "act", "logp", "val", "rew", "done", "valid", "alive")}
               for g in groups}
        states = []
        memory0 = dict(memory)  # the memory each rollout starts from: the update replays the rollout from it
        with torch.no_grad():
            for _ in range(T):
                state = venv.state()
                states.append(state)
                actions = {}
                for g in GROUPS:
                    if g in groups:
                        if g in recurrent:
                            logits, h = actors[g].step(obs[g], memory[g])
                        else:
                            logits = actors[g](obs[g])
                        if g in sequential:  # slot by slot under the choice model
                            a, logp, _ = actors[g].slate(logits, h, obs["action_mask"][g], gen)
                        else:
                            logits = masked_logits(logits, obs["action_mask"][g])
                            a = sample(logits, gen, venv.slate_size(g))  # users' slates: Plackett-Luce
                            logp = log_prob(logits, a)
                        if g in recurrent:
                            memory[g] = actors[g].after(obs[g], a, h)
                        b = buf[g]
                        b["obs"].append(obs[g])
                        b["mask"].append(obs["action_mask"][g])
                        b["act"].append(a)
                        b["logp"].append(logp)
                        b["val"].append(critics[g](state, obs[g]))
                        b["valid"].append(obs["active"][g])  # acting now: the policy loss
                        b["alive"].append(obs["alive"][g])  # in the episode (also away): the value loss
                        actions[g] = a
                    else:
                        actions[g] = checked_act(scripted[g], g, obs[g], obs["action_mask"][g], venv.num_actions[g], venv.slate_size(g))
                obs, rew, term, trunc, info = venv.step(actions)
                final = info["final_observation"]
                for g in groups:
                    # a truncated agent's future is worth V(final observation): add it to the reward
                    boot = vnorm[g].denormalize(critics[g](final["state"], final[g])) if args.value_norm \
                        else critics[g](final["state"], final[g])
                    r = rew[g] + args.gamma * boot * trunc[g].to(boot.dtype)
                    done = (term[g] | trunc[g] | info["done"].unsqueeze(-1)).to(r.dtype)
                    buf[g]["rew"].append(r)
                    buf[g]["done"].append(done)
                global_step += B * world
                tracker.step(global_step, rew, info)
            next_state = venv.state()

        losses = {}
        for g in groups:
            b = {k: torch.stack(v) for k, v in buf[g].items()}  # [T, B, N, ...]
            st = torch.stack(states)  # [T, B, S]
            with torch.no_grad():
                adv, target = advantages_and_targets(
                    b["rew"], b["val"], critics[g](next_state, obs[g]), b["done"], b["alive"],
                    vnorm[g] if args.value_norm else None, args.gamma, args.gae_lambda, args.adv_norm,
                    acting=b["valid"],
                )
            run.ranks.average_(list(vnorm[g].buffers()))  # one value normalisation for all ranks
            flat = {k: v.reshape(T * B, *v.shape[2:]) for k, v in b.items()}
            flat_st, flat_adv, flat_tgt = st.reshape(T * B, -1), adv.reshape(T * B, -1), target.reshape(T * B, -1)
            mb = max(1, (T * B) // args.num_minibatches)
            warm = update < args.critic_warmup  # the critic learns the start's values before the actor moves
            for _ in range(args.update_epochs):
                if g in recurrent:  # whole rollouts of a few envs: the actor's memory is replayed through time
                    envs = torch.randperm(B, generator=gen, device=device).tensor_split(args.num_minibatches)
                    steps = torch.arange(T, device=device)[:, None] * B  # flat index of (t, env): t * B + env
                    chunks = [((steps + e).reshape(-1), e) for e in envs]
                else:
                    idx = torch.randperm(T * B, generator=gen, device=device)  # a fresh minibatch order each epoch
                    chunks = [(idx[start:start + mb], None) for start in range(0, T * B, mb)]
                for j, e in chunks:
                    v_ok, in_ep = flat["valid"][j], flat["alive"][j]
                    v_new = critics[g](flat_st[j], flat["obs"][j])
                    v_old = flat["val"][j]
                    v_clip = v_old + (v_new - v_old).clamp(-args.clip_coef, args.clip_coef)
                    tgt = flat_tgt[j]
                    v_loss = masked_mean(0.5 * torch.max((v_new - tgt) ** 2, (v_clip - tgt) ** 2), in_ep)
                    if warm:  # the critic alone: the actor keeps its start
                        pg_loss = ent = torch.zeros(())
                    else:
                        if e is not None:
                            logits, hs = replay(actors[g], b["obs"][:, e], b["act"][:, e], memory0[g][e])
                            logits, hs = logits.flatten(0, 1), hs.flatten(0, 1)
                        else:
                            logits = actors[g](flat["obs"][j])
                        if g in sequential:  # (a recurrent head: hs from the replay) the entropy of the top slot's choice
                            _, logp, entropy = actors[g].slate(logits, hs, flat["mask"][j], slate=flat["act"][j])
                        else:
                            logits = masked_logits(logits, flat["mask"][j])
                            logp_all = torch.log_softmax(logits, -1)
                            logp = log_prob(logits, flat["act"][j])  # a slate's: the Plackett-Luce log-probability
                            probs = logp_all.exp()  # with slates: the entropy of the top slot's choice
                            entropy = -(probs * logp_all.clamp_min(-1e4)).sum(-1)
                        pg = clipped_surrogate(torch.exp(logp - flat["logp"][j]), flat_adv[j], args.clip_coef)
                        pg_loss, ent = masked_mean(pg, v_ok), masked_mean(entropy, v_ok)
                    loss = args.vf_coef * v_loss if warm else pg_loss + args.vf_coef * v_loss - args.ent_coef * ent
                    optim.zero_grad()
                    loss.backward()
                    run.ranks.average_([p.grad for p in params])  # data-parallel: the mean gradient of all ranks
                    nn.utils.clip_grad_norm_(params, args.max_grad_norm)
                    optim.step()
            losses[g] = (pg_loss.item(), v_loss.item(), ent.item())
        update += 1
        sps = B * T / (time.perf_counter() - t0)
        tracker.flush(logger)
        rows = [("charts/SPS", sps, global_step)]
        for g, (pl, vl, en) in losses.items():
            rows += [(f"losses/{g}/policy_loss", pl, global_step), (f"losses/{g}/value_loss", vl, global_step),
                     (f"losses/{g}/entropy", en, global_step)]
        logger.scalars(rows)
        if bar is not None:
            bar.set_postfix(SPS=f"{sps:,.0f}", **{f"{g}_ret": f"{tracker.last[g]:.2f}" for g in groups})
            bar.update(1)
        if update % args.checkpoint_every == 0 or update == stop:
            checkpoint()
    if bar is not None:
        bar.close()
    if ck is not None and update == ck["update"] >= num_updates:  # stopped run resumed with a smaller --total-steps
        run.past_total(global_step)
        checkpoint()
    return run.finish(actors, logger, update >= num_updates, f"MAPPO on {args.scenario}", global_step,
                      updates=update, actors=actors, **({"memory_prior": tuned} if tuned else {}))


def load_policy(checkpoint: str | Path, group: str = "users", device: str = "cpu") -> LearnedPolicy:
    """The trained actor of ``group`` from a MAPPO checkpoint, as a deterministic Policy."""
    return load_group_policy(checkpoint, ALGORITHM, Args, "actors", group, device)


if __name__ == "__main__":  # python -m agents.mappo ... / torchrun ... -m agents.mappo ...
    import sys

    from agents.cli import main

    sys.exit(main(["train", "mappo", *sys.argv[1:]]))
