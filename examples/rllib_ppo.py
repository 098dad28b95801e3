"""Stock RLlib PPO (its default model, no masking) on both groups, one module each, with two env runners
on a local Ray.

    pip install -e ".[rllib]"
    python examples/rllib_ppo.py --iterations 15

Prints, per training iteration, the mean episode return of the user module and of the item module, then
the users' return of the trained PPO and of greedy and random recommenders on the same held-out seeds
(the framework's own numbers are per episode summed over all users; the table's are per person).
"""

from __future__ import annotations

import argparse

import numpy as np


def rollout_return(env, act, seeds) -> float:
    """Mean per-person user return over one episode per seed; ``act(obs, infos) -> actions``."""
    totals = []
    for s in seeds:
        obs, infos = env.reset(seed=s)
        total = 0.0
        while env.agents:
            obs, rew, term, trunc, infos = env.step(act(obs, infos))
            total += sum(r for a, r in rew.items() if a.startswith("user_"))
        totals.append(total / env.config.num_users)
    return float(np.mean(totals))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenario", default="tiny")
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--env-runners", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import ray
    import torch
    from ray.rllib.algorithms.ppo import PPOConfig

    import recsim_marl
    from recsim_marl.integrations.rllib import RecSimMultiAgentEnv, group_of, policy_mapping_fn
    from recsim_marl.protocol import EVAL_SEED

    ray.init(num_cpus=args.env_runners + 1, include_dashboard=False, log_to_driver=False)
    config = (
        PPOConfig()
        .environment(RecSimMultiAgentEnv, env_config={"scenario": args.scenario})
        .multi_agent(policies={"users", "items"}, policy_mapping_fn=policy_mapping_fn)
        .env_runners(num_env_runners=args.env_runners)
        .training(train_batch_size_per_learner=1000, minibatch_size=250, num_epochs=4, lr=3e-4)
        .debugging(seed=args.seed)
    )
    algo = config.build_algo()
    history = []
    for it in range(args.iterations):
        res = algo.train()["env_runners"]
        means = res.get("module_episode_returns_mean", {})
        history.append({g: float(means.get(g, float("nan"))) for g in ("users", "items")})
        print(f"iteration {it + 1:>3}: episode return users {history[-1]['users']:8.3f}  items {history[-1]['items']:8.3f}")

    modules = {g: algo.get_module(g) for g in ("users", "items")}

    def trained(obs, infos):
        acts = {}
        for g in ("users", "items"):
            names = [a for a in obs if group_of(a) == g]
            x = torch.as_tensor(np.stack([obs[a] for a in names]))
            with torch.no_grad():
                logits = modules[g].forward_inference({"obs": x})["action_dist_inputs"]
            acts.update(zip(names, logits.argmax(-1).tolist()))
        return acts

    env = RecSimMultiAgentEnv({"scenario": args.scenario})
    lay = recsim_marl.observation_layout(env.config)["users"]

    def greedy(obs, infos):
        return {a: int(np.argmax(o[lay["candidate_relevance"]])) if a.startswith("user_") else 0
                for a, o in obs.items()}

    rng = np.random.default_rng(0)

    def random_users(obs, infos):
        return {a: int(rng.integers(env.config.num_candidates)) if a.startswith("user_") else 0 for a in obs}

    seeds = range(EVAL_SEED, EVAL_SEED + 20)
    table = {"rllib ppo": rollout_return(env, trained, seeds), "greedy": rollout_return(env, greedy, seeds),
             "random": rollout_return(env, random_users, seeds)}
    print(f"\nuser return per person, held-out seeds {seeds[0]}-{seeds[-1]} (items: PPO's / no promotion for the scripted rows)")
    for name, v in table.items():
        print(f"  {name:<10} {v:8.3f}")
    algo.stop()
    ray.shutdown()
    return {"history": history, "table": table}


if __name__ == "__main__":
    main()
